"""A driver with no device behind it: values are computed from the tag's `sim` table.

It exists for tests and for trying a project without hardware. Signals: sine, ramp, square,
random, counter, constant (default). A write stores the value, which later reads return, as a
real writable register would. Keys in `[tags.sim]`: signal, amplitude, center, period_s, value,
step.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from drivers.base import DriverHealth, WriteRejected
from hmi.tags import DeviceSpec, Point, Quality, Sample, SampleSink, Scalar

SIGNALS = ("sine", "ramp", "square", "random", "counter", "constant")


def check_point(point: Point) -> list[tuple[str, str]]:
    signal = point.options.get("signal", "constant")
    if signal not in SIGNALS:
        return [("sim.signal", f"must be one of {', '.join(SIGNALS)}, found {signal!r}")]
    period = point.options.get("period_s", 10.0)
    if not isinstance(period, int | float) or period <= 0:
        return [("sim.period_s", f"must be a positive number, found {period!r}")]
    return []


class SimDriver:
    """Computes values from time; `read()` never fails, so a sim device is always GOOD."""

    push: ClassVar[bool] = False

    def __init__(self, device: DeviceSpec, points: Sequence[Point]) -> None:
        self._device = device
        self._health = DriverHealth()
        self._written: dict[str, Scalar] = {}
        self._counters: dict[str, int] = {}
        self._rng = random.Random(device.name)
        self._clock = device.clock  # the station's step-safe time, not time.time
        self._t0 = self._clock()

    async def connect(self) -> None:
        self._health.connected = True

    async def close(self) -> None:
        self._health.connected = False

    def health(self) -> DriverHealth:
        return self._health

    def _value(self, point: Point, now: float) -> Any:
        if point.tag in self._written:
            return self._written[point.tag]
        opts = point.options
        signal = opts.get("signal", "constant")
        amplitude = float(opts.get("amplitude", 1.0))
        center = float(opts.get("center", 0.0))
        period = float(opts.get("period_s", 10.0))
        phase = ((now - self._t0) % period) / period
        if signal == "sine":
            value: Any = center + amplitude * math.sin(2 * math.pi * phase)
        elif signal == "ramp":
            value = center + amplitude * phase
        elif signal == "square":
            value = phase < 0.5
        elif signal == "random":
            value = center + amplitude * (self._rng.random() * 2 - 1)
        elif signal == "counter":
            value = self._counters[point.tag] = self._counters.get(point.tag, 0) + int(
                opts.get("step", 1))
        else:
            value = opts.get("value", 0)
        if point.data_type == "bool":
            return bool(value)
        integer = point.data_type in ("int16", "uint16", "int32", "uint32")
        if integer and not isinstance(value, bool):
            return round(value)
        return value

    async def read(self, points: Sequence[Point]) -> list[Sample]:
        started = time.perf_counter()
        now = self._clock()
        samples = [Sample(p.tag, self._value(p, now), now, Quality.GOOD) for p in points]
        self._health.record_rtt(time.perf_counter() - started)
        return samples

    async def write(self, point: Point, value: Scalar) -> None:
        if not point.writable:
            raise WriteRejected(f"{point.tag} is not writable")
        self._written[point.tag] = value

    async def subscribe(self, points: Sequence[Point], sink: SampleSink) -> None:
        raise NotImplementedError("the sim driver is polled")

    async def supervise(self) -> None:
        raise NotImplementedError("the sim driver is polled")
