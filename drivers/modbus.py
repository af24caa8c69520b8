"""Modbus TCP and RTU: the only module that calls pymodbus's client API (pinned to 3.16.x).

One `ModbusDriver` per device, living in its device thread and loop (`hmi.device_runner`). Three
choices shape it:

- **The runner owns reconnects.** Each `connect()` builds a fresh pymodbus client with
  `reconnect_delay=0` (pymodbus's own reconnect loop off) and `retries=0`: a failed request
  raises `CommError` at once, the runner marks the device BAD, closes us and reconnects with its
  capped, jittered backoff. Two owners of reconnects would fight (pymodbus reconnecting a socket
  the runner is about to drop), and retries would push "device dead" past two poll periods.
- **Two kinds of failure** (as pymodbus's own example separates them): no usable answer
  (refused, timeout, connection dropped, garbage, a short frame, a reply with the wrong
  transaction id) is a `CommError` with a `kind` for diagnostics; an exception *response*
  (illegal address, device busy, ...) is a valid answer and makes BAD samples for just that
  request's points: "device error: illegal data address (exception 2)".
- **Reads are planned** (`drivers.modbus_plan`): points are merged into the fewest reads and
  decoded with precompiled structs (`drivers.modbus_codec`). If a merged read that bridges a gap
  gets "illegal data address", it is split into its gap-free runs and the split is kept.

pymodbus turns a garbled or wrong-id reply into a silent skip and then a timeout, and a dropped
connection into a request that waits out its timeout. So the client's `trace_packet` hook keeps
the bytes of the current exchange (to name the fault: garbage, short, wrong transaction id) and
`trace_connect` cancels a request in flight when the device drops the connection, so a drop is
reported at once as "closed" instead of after the timeout.

A decoded float that is NaN or infinite is reported BAD "bad value" (no value): PLCs use NaN to
flag a failed input, and a trend or alarm must not treat it as a number.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from drivers.base import CommError, DriverHealth, WriteRejected, poll_groups
from drivers.modbus_codec import (
    AddressError,
    check_range,
    effective_type,
    encode,
    parse_address,
    problems,
)
from drivers.modbus_plan import FUNCTION, Plan, Request, build_plan, split, summary
from hmi.tags import DeviceSpec, Point, Quality, Reason, Sample, SampleSink, Scalar, bad

EXCEPTION_NAMES = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value",
    4: "device failure", 5: "acknowledge", 6: "device busy", 7: "negative acknowledge",
    8: "memory parity error", 10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
_PLAN_CACHE_MAX = 256
_READ_METHODS = {"hr": "read_holding_registers", "ir": "read_input_registers",
                 "coil": "read_coils", "di": "read_discrete_inputs"}


def check_point(point: Point) -> list[tuple[str, str]]:
    """Problems with a Modbus point's address/type/length/writable, as (field, message)."""
    return problems(point.data_type, point.address, point.length, point.writable)


def _setting(settings: Any, key: str, default: int) -> int:
    """An integer device key; None means unset (0 is a valid unit id, so no `or default`)."""
    value = settings.get(key)
    return default if value is None else int(value)


def exception_text(code: int) -> str:
    return f"{EXCEPTION_NAMES.get(code, 'unknown exception')} (exception {code})"


def registers_for(point: Point, kind: str, value: Scalar) -> list[int]:
    """The registers a write sends: limits in engineering units, then the type's own range."""
    if kind == "string":
        return encode(kind, point.byte_order, point.length, value)
    check_range("float64", value)  # a finite number, before scaling
    assert isinstance(value, int | float)
    if point.low is not None and value < point.low:
        raise ValueError(f"{value} is below the minimum {point.low}")
    if point.high is not None and value > point.high:
        raise ValueError(f"{value} is above the maximum {point.high}")
    return encode(kind, point.byte_order, point.length, point.to_raw(value))


class DeviceException(Exception):
    """The device answered with a Modbus exception code: a valid answer, not a comm fault."""

    def __init__(self, code: int, what: str) -> None:
        super().__init__(f"{exception_text(code)} for {what}")
        self.code = code


class ModbusDriver:
    """Polls one Modbus TCP or RTU device. Device thread only; calls are serialized by a lock."""

    push: ClassVar[bool] = False

    def __init__(self, device: DeviceSpec, points: Sequence[Point]) -> None:
        self.spec = device
        settings = device.settings
        self.rtu = device.protocol == "modbus-rtu"
        self.unit = _setting(settings, "unit", 1)
        self.max_gap = _setting(settings, "max_gap", 8)
        self.points = list(points)
        self._plans: dict[tuple[str, ...], Plan] = {}
        self._plans_by_list: dict[int, tuple[Sequence[Point], int, Plan]] = {}
        self._health = DriverHealth()
        self._client: Any = None
        self._lock: asyncio.Lock | None = None
        self._write_lock = asyncio.Lock()  # bit writes are read-modify-write: one at a time
        self._inflight: asyncio.Task[Any] | None = None
        self._lost: str | None = None  # set by trace_connect when the peer drops mid-request
        self._tx = b""  # last frame sent / bytes received in the current exchange
        self._rx = b""
        if self.rtu:
            self.endpoint = str(settings.get("port") or "")
        else:
            self.endpoint = f"{settings.get('host') or '127.0.0.1'}:{self._tcp_port()}"
        self._health.extra.update({"endpoint": self.endpoint, "unit": self.unit,
                                   "plan": self.plan_summary()})

    # ---- lifecycle ------------------------------------------------------------------------------
    def _tcp_port(self) -> int:
        port = self.spec.settings.get("port")
        return 502 if port is None else int(port)

    def _new_client(self) -> Any:
        common = {"timeout": self.spec.timeout_s, "retries": 0, "reconnect_delay": 0,
                  "trace_packet": self._trace_packet, "name": self.spec.name}
        if self.rtu:
            s = self.spec.settings
            return AsyncModbusSerialClient(
                self.endpoint, framer=FramerType.RTU, baudrate=int(s.get("baudrate") or 19200),
                bytesize=int(s.get("bytesize") or 8), parity=str(s.get("parity") or "N"),
                stopbits=int(s.get("stopbits") or 1), trace_connect=self._trace_connect_rtu,
                **common)
        host = str(self.spec.settings.get("host") or "127.0.0.1")
        return AsyncModbusTcpClient(host, port=self._tcp_port(),
                                    trace_connect=self._trace_connect_tcp, **common)

    async def connect(self) -> None:
        """Open a fresh client. CommError kind: refused | timeout (TCP), open (serial)."""
        await self.close()
        self._lock = asyncio.Lock()
        client = self._new_client()
        started = time.monotonic()
        ok = await client.connect()
        if not ok:
            client.close()
            if self.rtu:
                raise CommError(f"cannot open serial port {self.endpoint}", kind="open")
            if time.monotonic() - started >= self.spec.timeout_s * 0.9:
                raise CommError(f"no connection to {self.endpoint} within "
                                f"{self.spec.timeout_s:g} s", kind="timeout")
            raise CommError(f"connection to {self.endpoint} refused", kind="refused")
        self._client = client
        self._lost = None
        self._health.connected = True

    async def close(self) -> None:
        """Drop the client. Never raises; safe to call twice or before connect()."""
        client, self._client = self._client, None
        self._health.connected = False
        if client is not None:
            client.close()

    def health(self) -> DriverHealth:
        return self._health

    def plan_summary(self) -> dict[str, object]:
        """Requests per cycle for this device's points, grouped as the runner polls them."""
        return summary(poll_groups(self.points, self.spec.poll_s), self.max_gap)

    # ---- pymodbus hooks (device loop) ----------------------------------------------------------
    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self._tx = data
        else:
            self._rx = data
        return data

    def _trace_connect_tcp(self, connected: bool) -> None:
        self._on_connection(connected, "connection closed by the device")

    def _trace_connect_rtu(self, connected: bool) -> None:
        self._on_connection(connected, "serial port closed")

    def _on_connection(self, connected: bool, why: str) -> None:
        if connected:
            return
        self._health.connected = False
        task = self._inflight
        if task is not None and not task.done() and self._lost is None:
            self._lost = why
            task.cancel()

    # ---- one request ---------------------------------------------------------------------------
    async def _call(self, what: str, method_name: str, *args: Any, **kwargs: Any) -> Any:
        """Run one client request under the lock; map every no-answer case to CommError."""
        client = self._client
        if client is None or not client.connected or self._lock is None:
            raise CommError(f"not connected to {self.endpoint}", kind="closed")
        async with self._lock:
            task = asyncio.current_task()
            self._inflight, self._lost, self._rx = task, None, b""
            started = time.perf_counter()
            try:
                response = await getattr(client, method_name)(*args, device_id=self.unit,
                                                              **kwargs)
            except asyncio.CancelledError:
                if self._lost is not None and task is not None and task.uncancel() == 0:
                    raise CommError(f"{self._lost} during {what}", kind="closed") from None
                raise
            except ConnectionException as exc:
                raise CommError(f"{self._lost or 'not connected'} ({what}): {exc}",
                                kind="closed") from None
            except ModbusIOException:
                raise self._no_answer(what) from None
            except ModbusException as exc:
                raise CommError(f"unusable reply to {what}: {exc}", kind="garbage") from None
            finally:
                self._inflight = None
            self._health.record_rtt(time.perf_counter() - started)
        if self._lost is not None:
            raise CommError(f"{self._lost} during {what}", kind="closed")
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            self._health.count_error(f"exception_{code}", f"{exception_text(code)} ({what})")
            raise DeviceException(code, what)
        return response

    def _no_answer(self, what: str) -> CommError:
        """Name a request that got no usable answer from what arrived meanwhile."""
        rx, tx = self._rx, self._tx
        if not rx:
            return CommError(f"no answer within {self.spec.timeout_s:g} s ({what})",
                             kind="timeout")
        if self.rtu:
            return CommError(f"unusable reply to {what} ({len(rx)} bytes, bad CRC or frame)",
                             kind="garbage")
        if len(rx) >= 8 and rx[2:4] == b"\0\0":
            expected = int.from_bytes(rx[4:6], "big") + 6
            if len(rx) < expected:
                return CommError(f"short reply to {what}: {len(rx)} of {expected} bytes",
                                 kind="short")
            if len(tx) >= 2 and rx[0:2] != tx[0:2]:
                return CommError(
                    f"reply to {what} has transaction id {int.from_bytes(rx[0:2], 'big')}, "
                    f"expected {int.from_bytes(tx[0:2], 'big')}", kind="wrong_tid")
        elif len(rx) < 8:
            return CommError(f"short reply to {what}: {len(rx)} bytes", kind="short")
        return CommError(f"garbage reply to {what} ({len(rx)} bytes: {rx[:12].hex()})",
                         kind="garbage")

    async def _read_block(self, request: Request) -> list[Any]:
        method = _READ_METHODS[request.space]
        what = f"read {request.describe()}"
        response = await self._call(what, method, request.start, count=request.count)
        if response.function_code != FUNCTION[request.space]:
            raise CommError(f"reply to {what} has function code {response.function_code}",
                            kind="garbage")
        values = response.bits if request.is_bits else response.registers
        if len(values) < request.count:
            raise CommError(f"short reply to {what}: {len(values)} of {request.count}",
                            kind="short")
        return values

    # ---- reads -------------------------------------------------------------------------------
    def _plan_for(self, points: Sequence[Point]) -> Plan:
        # the runner passes the same list object every cycle: a hit costs one dict lookup
        # instead of hashing every tag (measured: 5% of a 284-tag cycle)
        hit = self._plans_by_list.get(id(points))
        if hit is not None and hit[0] is points and hit[1] == len(points):
            return hit[2]
        key = tuple(p.tag for p in points)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _PLAN_CACHE_MAX:
                self._plans.clear()
                self._plans_by_list.clear()
            plan = self._plans[key] = build_plan(points, self.max_gap)
        self._plans_by_list[id(points)] = (points, len(points), plan)
        return plan

    async def read(self, points: Sequence[Point]) -> list[Sample]:
        """One sample per point; CommError if the device gives no usable answer. Modbus has no
        source timestamp: samples are stamped with the station clock when the reply arrives
        (`spec.clock`, step-safe: a wall-clock step cannot reorder them)."""
        plan = self._plan_for(points)
        clock = self.spec.clock
        out = [bad(p.tag, Reason.CONFIG_ERROR, why, clock()) for p, why in plan.invalid]
        pending = list(plan.requests)
        while pending:
            request = pending.pop(0)
            try:
                values = await self._read_block(request)
            except DeviceException as exc:
                parts = split(request) if exc.code == 2 else [request]
                if len(parts) > 1 and request in plan.requests:
                    # the bridged gap is a hole in the device's map: keep reading the runs
                    at = plan.requests.index(request)
                    plan.requests[at:at + 1] = parts
                    pending[0:0] = parts
                    continue
                now = clock()
                detail = exception_text(exc.code)
                out += [bad(i.point.tag, Reason.DEVICE_ERROR, detail, now) for i in request.items]
                continue
            out += self._decode(request, values, clock())
        return out

    @staticmethod
    def _decode(request: Request, values: list[Any], ts: float) -> list[Sample]:
        """Samples for one reply. Why two passes: most blocks have no scaled tag and no
        NaN/inf, so the checks run only over the float and scaled indices and the Samples
        come from one comprehension that calls `tuple.__new__` directly (measured: the
        per-tag loop with a NamedTuple call per tag was the driver's largest own cost)."""
        decoded = request.decode(values)
        tags, floats, scaled = request.layout
        bad_at: dict[int, str] = {}
        if floats:
            isfinite = math.isfinite
            for index in floats:
                if not isfinite(decoded[index]):
                    bad_at[index] = f"{Reason.BAD_VALUE}: {decoded[index]} from the device"
        for index, point in scaled:
            if index not in bad_at:
                decoded[index] = point.to_engineering(decoded[index])
        new, good = tuple.__new__, Quality.GOOD
        out = [new(Sample, (tag, value, ts, good, "", None)) for tag, value in zip(tags, decoded,
                                                                           strict=True)]
        for index, reason in bad_at.items():
            out[index] = Sample(tags[index], None, ts, Quality.BAD, reason)
        return out

    # ---- writes ------------------------------------------------------------------------------
    async def write(self, point: Point, value: Scalar) -> None:
        """Encode, range-check and send; WriteRejected before sending if the value can't go."""
        if not point.writable:
            raise WriteRejected(f"{point.tag} is not writable")
        try:
            address = parse_address(point.address)
        except AddressError as exc:
            raise WriteRejected(f"{point.tag}: {exc}") from None
        if address.space in ("ir", "di"):
            raise WriteRejected(f"{point.tag}: {address.space} is read-only")
        kind = effective_type(point.data_type, address)
        if kind == "bool":
            if isinstance(value, str) or value not in (0, 1):
                raise WriteRejected(f"{point.tag} takes true/false, found {value!r}")
            await self._write_bool(point, address.space, address.index, address.bit, bool(value))
            return
        registers = self._registers_for(point, kind, value)
        what = f"write {point.address}"
        try:
            if len(registers) == 1:
                await self._call(what, "write_register", address.index, registers[0])
            else:
                await self._call(what, "write_registers", address.index, registers)
        except DeviceException as exc:
            raise WriteRejected(f"{point.tag}: device error: {exception_text(exc.code)}") from None

    @staticmethod
    def _registers_for(point: Point, kind: str, value: Scalar) -> list[int]:
        try:
            return registers_for(point, kind, value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise WriteRejected(f"{point.tag}: {exc}") from None

    async def _write_bool(self, point: Point, space: str, index: int, bit: int | None,
                          value: bool) -> None:
        what = f"write {point.address}"
        try:
            if space == "coil":
                await self._call(what, "write_coil", index, value)
            elif bit is None:
                await self._call(what, "write_register", index, 1 if value else 0)
            else:
                # read-modify-write: FC22 (mask write) is optional and many PLCs lack it; the
                # write lock keeps two operator writes to bits of one word from interleaving
                async with self._write_lock:
                    response = await self._call(f"read {point.address}",
                                                "read_holding_registers", index, count=1)
                    word = int(response.registers[0])
                    word = word | (1 << bit) if value else word & ~(1 << bit)
                    await self._call(what, "write_register", index, word & 0xFFFF)
        except DeviceException as exc:
            raise WriteRejected(f"{point.tag}: device error: {exception_text(exc.code)}") from None

    # ---- push interface (unused: Modbus is polled) -------------------------------------------
    async def subscribe(self, points: Sequence[Point], sink: SampleSink) -> None:
        raise NotImplementedError("Modbus is polled; the runner calls read()")

    async def supervise(self) -> None:
        raise NotImplementedError("Modbus is polled; the runner calls read()")


# ---- the bench's baseline ---------------------------------------------------------------------
RawRead = tuple[str, int, int, Sequence[tuple[int, int, str]]]  # space, start, count, decodes


async def raw_poll_rate(host: str, port: int, reads: Sequence[RawRead], cycles: int,
                        unit: int = 1, decode: bool = False) -> float:
    """Cycles per second of a bare pymodbus loop doing `reads` (what `hmi bench` compares the
    driver with). It lives here so pymodbus's client API stays in one module. With `decode`,
    each (offset, count, type) of a read is converted by `client.convert_from_registers`, as a
    hand-written application would."""
    client = AsyncModbusTcpClient(host, port=port, timeout=3.0, retries=0, reconnect_delay=0)
    if not await client.connect():
        raise CommError(f"bench baseline cannot connect to {host}:{port}", kind="refused")
    types = client.DATATYPE
    calls = [(getattr(client, _READ_METHODS[space]), start, count,
              [(o, n, types[t.upper()]) for o, n, t in items] if decode else [])
             for space, start, count, items in reads]
    try:
        started = time.perf_counter()
        for _ in range(cycles):
            for method, start, count, conversions in calls:
                response = await method(start, count=count, device_id=unit)
                if response.isError():
                    raise CommError(f"bench baseline got {response}", kind="exception")
                registers = response.registers
                for offset, n, data_type in conversions:
                    client.convert_from_registers(registers[offset:offset + n], data_type)
        return cycles / (time.perf_counter() - started)
    finally:
        client.close()
