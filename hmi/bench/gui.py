"""`hmi bench --only gui`: the operator station under plant load, offscreen.

Load: 10,000 tags (10 lines x 10 units x 100 analog tags, one sim device per line polled once a
second with random values), so every tag changes every second; the real runtime with its
historian and alarm service; the window showing a line display (10 unit panels, about 70 live
widgets) and the header. Measured over 20 s (5 s with --quick):

- the GUI thread's busy share: its CPU time (`time.thread_time()` in that thread) over the wall
  time, goal <= 20 % of one core;
- the bridge's flush time p95 (drain + deliver to the visible widgets + emit), goal <= 50 ms;
- startup: `hmi gui` on the same 10,000-tag project in a fresh process, from spawn to the
  window's first paint event, goal <= 3 s; and its resident memory after 5 s of running,
  goal <= 300 MB.

There is no raw-library baseline for the load figures (ratio left empty). The alarm flood:
3,000 standing alarms, then bursts of 500 transitions on the alarm summary (`alarm_flood()`,
measured in `hmi.gui.bench_alarms`): refresh time against a QStandardItemModel + sorting proxy
fed the same changes, the selected row kept, post to shown.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hmi.bench.harness import BenchResult

LINES, UNITS, TAGS_PER_UNIT = 10, 10, 100


def project_text(lines: int = LINES, units: int = UNITS, per_unit: int = TAGS_PER_UNIT) -> str:
    """A project of lines x units x per_unit analog tags on one sim device per line."""
    out = ['[project]\nname = "GUI bench"\nasset = "Bench/Site/Area"\n']
    for line in range(lines):
        out.append(f'[[devices]]\nname = "line{line}"\nprotocol = "sim"\npoll_ms = 1000\n')
    for line in range(lines):
        for unit in range(units):
            for tag in range(per_unit):
                out.append(
                    f'[[tags]]\nname = "L{line}.U{unit}.T{tag:03d}"\ndevice = "line{line}"\n'
                    f'asset = "Line{line}/Unit{unit}"\ntype = "float32"\nunit = "%"\n'
                    'min = 0\nmax = 100\nhistory_deadband = 1.0\n'
                    'sim = { signal = "random", center = 50.0, amplitude = 40.0 }\n')
    return "\n".join(out)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def load(seconds: float, folder: Path, text: str | None = None,
         warmup_s: float = 3.0) -> list[BenchResult]:
    """In this process: the station on the 10,000-tag project (or `text`), the line display
    visible."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from hmi.gui import theme
    from hmi.gui.app import application
    from hmi.gui.screenshot import wait
    from hmi.gui.station import Station
    from hmi.project import load_project

    path = folder / "bench.toml"
    path.write_text(text or project_text(), encoding="utf-8")
    app = application()
    theme.apply(app, "day")
    station = Station(load_project(path), folder / "data", settings=None)
    try:
        station.start()
        station.window.resize(1600, 1000)
        station.window.show()
        station.window.go("line", "Line0")
        wait(warmup_s)  # every device has delivered, widgets built, caches warm
        station.bridge.flush_times_s.clear()
        flushes = station.bridge.flushes
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        wait(seconds)
        busy = (time.thread_time() - cpu0) / (time.perf_counter() - wall0)
        times = list(station.bridge.flush_times_s)
        flushes = station.bridge.flushes - flushes
        samples = sum(1 for _ in station.bridge.current)
    finally:
        station.close()
    p95_ms = _percentile(times, 0.95) * 1000
    note = (f"{flushes} flushes in {seconds:g} s, {samples} tags, mean "
            f"{statistics.fmean(times) * 1000 if times else 0:.1f} ms; line display visible")
    return [
        BenchResult("gui", "GUI thread busy, 10k tags/s (share of a core)", busy * 100, "%",
                    goal="<=20 %", passed=busy <= 0.20, note=note),
        BenchResult("gui", "bridge flush time p95, 10k tags/s", p95_ms, "ms",
                    goal="<=50 ms", passed=p95_ms <= 50.0,
                    note=f"max {max(times) * 1000 if times else 0:.1f} ms"),
    ]


def _spawn(folder: Path, path: Path, run_s: float, n: int) -> dict[str, float]:
    report = folder / f"startup{n}.json"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HMI_GUI_REPORT=str(report),
               HMI_GUI_REPORT_AFTER=str(run_s), HMI_GUI_T0=repr(time.time()))
    proc = subprocess.run([sys.executable, "-m", "hmi.cli", "gui", str(path), "--data",
                           str(folder / f"startup-data{n}"), "--for", str(run_s + 1.0)],
                          env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not report.exists():
        raise RuntimeError(f"hmi gui exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    figures: dict[str, float] = json.loads(report.read_text(encoding="utf-8"))
    if figures.get("first_paint_s") is None:
        raise RuntimeError("hmi gui never painted its window")
    return figures


def _startup(folder: Path, runs: int, run_s: float = 5.0) -> list[BenchResult]:
    """Fresh `hmi gui` processes: spawn -> first paint (the median of `runs`), and RSS after
    `run_s` seconds of running."""
    path = folder / "startup.toml"
    path.write_text(project_text(), encoding="utf-8")
    spawns = [_spawn(folder, path, run_s, n) for n in range(runs)]
    firsts = sorted(f["first_paint_s"] for f in spawns)
    first = statistics.median(firsts)
    rss = max(f["rss_mb"] or 0.0 for f in spawns) or None
    peak = max(f.get("rss_peak_mb") or 0.0 for f in spawns)
    return [
        BenchResult("gui", "hmi gui to first painted frame, 10k tags", first, "s",
                    goal="<=3 s", passed=first is not None and first <= 3.0,
                    note=f"median of {runs} fresh processes, spawn to the window's first "
                         f"paint event ({', '.join(f'{x:.2f}' for x in firsts)} s)"),
        BenchResult("gui", f"hmi gui resident memory after {run_s:g} s, 10k tags", rss, "MB",
                    goal="<=300 MB", passed=rss is not None and rss <= 300.0,
                    note=f"peak {peak:.0f} MB"),
    ]


def alarm_flood(quick: bool) -> list[BenchResult]:
    """3,000 standing alarms (600 with --quick), then bursts of 500 transitions (100): the
    alarm summary's refresh time (goal <= 100 ms), the selected row still selected, post to
    shown, and the raw-Qt way for comparison. The measurement is in `hmi.gui.bench_alarms`
    (Qt), imported only when this runs."""
    from hmi.gui.bench_alarms import run as run_alarm_flood

    return run_alarm_flood(quick)


def run(quick: bool) -> list[BenchResult]:
    seconds = 5.0 if quick else 20.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # the stations' audit keys stay in the throw-away folder (the spawned `hmi gui`
        # processes inherit it), not in the user's config dir
        previous = os.environ.get("HMI_AUDIT_KEY_DIR")
        os.environ["HMI_AUDIT_KEY_DIR"] = str(folder / "audit-keys")
        try:
            results = load(seconds, folder)
            results += _startup(folder, 1 if quick else 3)
            results += alarm_flood(quick)
        finally:
            if previous is None:
                os.environ.pop("HMI_AUDIT_KEY_DIR", None)
            else:
                os.environ["HMI_AUDIT_KEY_DIR"] = previous
    return results
