"""`hmi bench --only mes` runs end to end in its quick form (the figures are for `hmi bench`,
not asserted: a loaded CI box must not fail a test on speed)."""

from __future__ import annotations

from hmi.bench import mes


def test_quick_bench_enqueues_and_drains_to_a_stub_process() -> None:
    results = {r.name: r for r in mes.run(quick=True)}
    assert set(results) == {"enqueue events/s (FULL sync, 1,000/commit)",
                            "delivered events/s to a loopback MES",
                            "drain a 10,000-event backlog", "CPU of the station while draining"}
    for result in results.values():
        assert result.value > 0
    enqueue = results["enqueue events/s (FULL sync, 1,000/commit)"]
    assert enqueue.baseline is not None
    assert enqueue.baseline > 0
