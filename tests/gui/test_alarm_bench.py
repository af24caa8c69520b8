"""`hmi bench --only gui --quick`'s alarm flood runs and reports every figure (600 standing alarms,
bursts of 100 transitions): a smoke test of the bench itself, with loose time bounds (this
machine is shared; the goal figures come from the full bench)."""

from __future__ import annotations


def test_bench_quick_reports_every_figure(qapp) -> None:
    from hmi.bench import gui

    found = gui.alarm_flood(quick=True)
    assert {r.area for r in found} == {"gui"}  # folded into the gui area (issue 12's figures)
    results = {r.name: r for r in found}
    kept = results["selected row still selected after every burst"]
    assert kept.value == 1.0
    assert kept.note == "moved at most 0 px on screen"
    median = next(r for n, r in results.items() if n.startswith("summary refresh") and
                  n.endswith("(median)"))
    assert 0 < median.value < 1000
    assert median.baseline is not None
    assert median.baseline > 0
    assert any(n.startswith("initial load of 600") for n in results)
