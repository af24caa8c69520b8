"""`hmi bench --only gui_alarms --quick` runs and reports every figure (600 standing alarms,
bursts of 100 transitions): a smoke test of the bench itself, with loose time bounds (this
machine is shared; the goal figures come from the full bench)."""

from __future__ import annotations


def test_bench_quick_reports_every_figure(qapp) -> None:
    from hmi.bench import gui_alarms

    results = {r.name: r for r in gui_alarms.run(quick=True)}
    kept = results["selected row still selected after every burst"]
    assert kept.value == 1.0
    assert kept.note == "moved at most 0 px on screen"
    median = next(r for n, r in results.items() if n.startswith("summary refresh") and
                  n.endswith("(median)"))
    assert 0 < median.value < 1000
    assert median.baseline is not None
    assert median.baseline > 0
    assert any(n.startswith("initial load of 600") for n in results)
