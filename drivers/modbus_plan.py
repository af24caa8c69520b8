"""Request planning: turn a device's points into the fewest Modbus reads.

Why: a poll cycle's cost is dominated by round trips (a loopback read is ~0.3 ms, a serial one at
19200 baud ~10 ms), not by register count, so points are merged per address space into blocks of
at most 125 registers / 2000 bits (the protocol's limits for FC3/FC4 and FC1/FC2), bridging gaps
of up to `max_gap` registers (16 x `max_gap` bits). A bridged gap costs 2 bytes per register on
the wire and nothing per round trip. The catch: a device may answer "illegal data address" for a
block that spans a hole in its map; `split()` gives the block back as its gap-free runs, and the
driver keeps that split for later cycles (see `drivers.modbus`).

Pure data, no I/O: the plan is built once per point set and reused every cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from drivers.modbus_codec import (
    AddressError,
    BlockDecoder,
    compile_block,
    effective_type,
    parse_address,
    problems,
    width,
)
from hmi.tags import Point

MAX_REGISTERS = 125
MAX_BITS = 2000
FUNCTION = {"hr": 3, "ir": 4, "coil": 1, "di": 2}


@dataclass(frozen=True, slots=True)
class Item:
    """One point inside a request: where its data starts and how to decode it."""

    point: Point
    kind: str  # effective data type
    start: int  # absolute register / bit number
    count: int  # registers / bits it occupies
    offset: int  # from the request start, in registers / bits
    bit: int | None = None  # bit-in-register

    @property
    def is_float(self) -> bool:
        return self.kind in ("float32", "float64")


@dataclass(slots=True)
class Request:
    """One Modbus read: function `FUNCTION[space]` at `start` for `count` registers/bits."""

    space: str
    start: int
    count: int
    items: list[Item] = field(default_factory=list)
    _decoder: BlockDecoder | None = field(default=None, repr=False, compare=False)
    _fields: list[tuple[str, bool, Any]] | None = field(default=None, repr=False, compare=False)
    _layout: tuple[list[str], list[int], list[tuple[int, Any]]] | None = field(
        default=None, repr=False, compare=False)

    @property
    def is_bits(self) -> bool:
        return self.space in ("coil", "di")

    def decode(self, values: list[Any]) -> list[Any]:
        """Raw value per item (item order) from the reply's registers or bits."""
        if self._decoder is None:
            if self.is_bits:
                offsets = [i.offset for i in self.items]
                self._decoder = lambda bits: [bool(bits[o]) for o in offsets]
            else:
                self._decoder = compile_block([
                    (i.kind, i.point.byte_order, i.point.length, i.bit, i.offset)
                    for i in self.items])
        return self._decoder(values)

    @property
    def fields(self) -> list[tuple[str, bool, Any]]:
        """Per item: (tag, is a float, the Point if it needs scaling else None)."""
        if self._fields is None:
            self._fields = [(i.point.tag, i.is_float,
                             i.point if (i.point.scale != 1.0 or i.point.offset != 0.0)
                             and i.kind not in ("bool", "string") else None)
                            for i in self.items]
        return self._fields

    @property
    def layout(self) -> tuple[list[str], list[int], list[tuple[int, Any]]]:
        """(tags in item order, indices of float items, (index, Point) of scaled items)."""
        if self._layout is None:
            fields = self.fields
            self._layout = (
                [tag for tag, _, _ in fields],
                [i for i, (_, is_float, _) in enumerate(fields) if is_float],
                [(i, point) for i, (_, _, point) in enumerate(fields) if point is not None])
        return self._layout

    def describe(self) -> str:
        return f"{self.space}:{self.start}+{self.count}"


@dataclass(slots=True)
class Plan:
    """The reads for one set of points, plus the points that cannot be read at all."""

    requests: list[Request]
    invalid: list[tuple[Point, str]]  # (point, why): reported BAD "config error"

    @property
    def tags(self) -> int:
        return sum(len(r.items) for r in self.requests) + len(self.invalid)


def _item(point: Point) -> Item:
    issues = problems(point.data_type, point.address, point.length, writable=False)
    if issues:
        raise AddressError(f"{issues[0][0]}: {issues[0][1]}")
    address = parse_address(point.address)
    kind = effective_type(point.data_type, address)
    count = width(kind, point.length, address)
    return Item(point, kind, address.index, count, 0, address.bit)


def build_plan(points: Sequence[Point], max_gap: int = 8) -> Plan:
    """Merge `points` into requests; points sharing registers (bits of a word) share a read."""
    by_space: dict[str, list[Item]] = {}
    invalid: list[tuple[Point, str]] = []
    for point in points:
        try:
            item = _item(point)
        except AddressError as exc:
            invalid.append((point, str(exc)))
            continue
        by_space.setdefault(parse_address(point.address).space, []).append(item)
    requests: list[Request] = []
    for space in ("coil", "di", "hr", "ir"):
        items = by_space.get(space)
        if items:
            bits = space in ("coil", "di")
            limit = MAX_BITS if bits else MAX_REGISTERS
            requests += _merge(space, items, (max_gap * 16) if bits else max_gap, limit)
    return Plan(requests, invalid)


def _merge(space: str, items: list[Item], gap: int, limit: int) -> list[Request]:
    items = sorted(items, key=lambda i: (i.start, i.count))
    out: list[Request] = []
    start = end = -1
    members: list[Item] = []
    for item in items:
        item_end = item.start + item.count
        if members and item.start - end <= gap and max(end, item_end) - start <= limit:
            end = max(end, item_end)
            members.append(item)
            continue
        if members:
            out.append(_request(space, start, end, members))
        start, end, members = item.start, item_end, [item]
    if members:
        out.append(_request(space, start, end, members))
    return out


def _request(space: str, start: int, end: int, members: list[Item]) -> Request:
    items = [Item(i.point, i.kind, i.start, i.count, i.start - start, i.bit) for i in members]
    return Request(space, start, end - start, items)


def split(request: Request) -> list[Request]:
    """The request as its gap-free runs; a single run comes back as [request]."""
    runs = _merge(request.space, list(request.items), 0, request.count)
    return runs if len(runs) > 1 else [request]


def summary(groups: Sequence[tuple[float, Sequence[Point]]], max_gap: int) -> dict[str, object]:
    """Requests per cycle versus one read per tag, per poll group: for `hmi diag` and the bench."""
    out_groups = []
    total_requests = total_tags = 0
    per_second = 0.0
    for period_s, points in groups:
        plan = build_plan(points, max_gap)
        n = len(plan.requests)
        total_requests += n
        total_tags += len(points)
        per_second += n / period_s if period_s > 0 else 0.0
        out_groups.append({"poll_s": period_s, "tags": len(points), "requests": n,
                           "reads": [r.describe() for r in plan.requests]})
    return {"tags": total_tags, "requests_per_cycle": total_requests,
            "naive_requests_per_cycle": total_tags, "requests_per_s": round(per_second, 3),
            "groups": out_groups}
