"""`hmi bench --only gui_alarms`: the alarm summary in a flood (3,000 standing alarms, then a
burst of 500 transitions). The measurement itself needs Qt, so it lives in
`hmi.gui.bench_alarms`; this module only imports it when the area runs, which keeps
`hmi.bench` importable (and `hmi bench --only alarms` runnable) without Qt."""

from __future__ import annotations

from hmi.bench.harness import BenchResult


def run(quick: bool) -> list[BenchResult]:
    from hmi.gui.bench_alarms import run as run_gui_alarms

    return run_gui_alarms(quick)
