"""The bench module runs end to end (figures themselves are for `hmi bench`, not asserted: a
loaded CI box must not fail a test on speed)."""

from __future__ import annotations

from hmi.bench import modbus


def test_throughput_reports_both_baselines_from_one_run() -> None:
    results = modbus.throughput(quick=True)
    assert [r.area for r in results] == ["modbus", "modbus"]
    for result in results:
        assert result.value > 0
        assert result.baseline is not None
        assert result.baseline > 0
        assert result.ratio is not None
        assert result.ratio > 0


def test_demo_project_needs_fewer_reads_than_tags() -> None:
    result = modbus.demo_plan()
    assert result is not None
    assert result.baseline is not None
    assert result.value < result.baseline
