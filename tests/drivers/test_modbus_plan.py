"""Request planning: the fewest reads within the protocol's limits, gaps bridged, holes split."""

from __future__ import annotations

from drivers.modbus_plan import build_plan, split, summary
from hmi.tags import Point


def p(tag: str, address: str, data_type: str = "auto", **kw: object) -> Point:
    return Point(tag, "d", data_type=data_type, address=address, **kw)  # type: ignore[arg-type]


def test_adjacent_and_overlapping_points_share_one_read() -> None:
    points = [p("a", "hr:0"), p("b", "hr:1", "float32"), p("c", "hr:3"), p("d", "hr:3.4"),
              p("e", "hr:3.5"), p("f", "hr:4", "float64")]
    plan = build_plan(points)
    assert [(r.space, r.start, r.count) for r in plan.requests] == [("hr", 0, 8)]
    offsets = {i.point.tag: i.offset for i in plan.requests[0].items}
    assert offsets == {"a": 0, "b": 1, "c": 3, "d": 3, "e": 3, "f": 4}


def test_gaps_up_to_max_gap_are_bridged() -> None:
    points = [p("a", "hr:0"), p("b", "hr:9"), p("c", "hr:30")]
    assert [(r.start, r.count) for r in build_plan(points, max_gap=8).requests] == [
        (0, 10), (30, 1)]
    assert len(build_plan(points, max_gap=0).requests) == 3
    assert len(build_plan(points, max_gap=29).requests) == 1


def test_spaces_never_mix() -> None:
    points = [p("a", "hr:0"), p("b", "ir:0"), p("c", "coil:0"), p("d", "di:0"), p("e", "hr:1")]
    plan = build_plan(points)
    assert sorted((r.space, r.count) for r in plan.requests) == [
        ("coil", 1), ("di", 1), ("hr", 2), ("ir", 1)]


def test_limits_125_registers_and_2000_bits_per_read() -> None:
    registers = [p(f"r{i}", f"hr:{i}") for i in range(300)]
    plan = build_plan(registers)
    assert [r.count for r in plan.requests] == [125, 125, 50]
    bits = [p(f"b{i}", f"coil:{i}") for i in range(4500)]
    assert [r.count for r in build_plan(bits).requests] == [2000, 2000, 500]
    # a float64 never straddles two reads
    floats = [p(f"f{i}", f"hr:{4 * i}", "float64") for i in range(40)]
    assert all(r.count <= 125 and r.count % 4 == 0 for r in build_plan(floats).requests)


def test_bits_bridge_sixteen_times_the_register_gap() -> None:
    points = [p("a", "coil:0"), p("b", "coil:128"), p("c", "coil:300")]
    assert len(build_plan(points, max_gap=8).requests) == 2


def test_invalid_points_are_set_aside() -> None:
    plan = build_plan([p("a", "hr:0"), p("bad", "hr:x"), p("c", "coil:1", "float32")])
    assert [pt.tag for pt, _ in plan.invalid] == ["bad", "c"]
    assert plan.tags == 3


def test_split_returns_the_gap_free_runs() -> None:
    request = build_plan([p("a", "hr:0"), p("b", "hr:1"), p("c", "hr:5", "float32")]).requests[0]
    parts = split(request)
    assert [(r.start, r.count, [i.offset for i in r.items]) for r in parts] == [
        (0, 2, [0, 1]), (5, 2, [0])]
    assert split(parts[0]) == [parts[0]]


def test_summary_counts_requests_per_group() -> None:
    fast = [p(f"r{i}", f"hr:{2 * i}") for i in range(20)]
    slow = [p("s1", "ir:0", poll_s=10.0), p("s2", "ir:100", poll_s=10.0)]
    out = summary([(1.0, fast), (10.0, slow)], max_gap=8)
    assert out["tags"] == 22
    assert out["naive_requests_per_cycle"] == 22
    assert out["requests_per_cycle"] == 3
    assert out["requests_per_s"] == 1.2
