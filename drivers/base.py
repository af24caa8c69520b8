"""The one interface the runtime needs from a protocol, and the errors and counters around it.

A driver runs in its device's own thread and asyncio loop (see `hmi.device_runner`); it never
touches Qt or other devices. Connection-level trouble is one exception type, `CommError`, which
makes the runner mark the whole device BAD and reconnect with backoff. Trouble with single points
(a Modbus exception code, an OPC UA bad status) comes back as BAD samples for just those points.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Protocol

from hmi.tags import DeviceSpec, Point, Sample, SampleSink, Scalar


class CommError(Exception):
    """The device cannot be reached or stopped answering: every point of it is BAD."""

    def __init__(self, message: str, kind: str = "comm") -> None:
        super().__init__(message)
        self.kind = kind  # "refused", "timeout", "closed", "garbage", ... for diagnostics


class WriteRejected(Exception):
    """A write refused before or by the device (bad value, not writable, exception code)."""


class WriteStatus(StrEnum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    TIMED_OUT = "timed out"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What an operator's write came to. `value` is what the read-back returned."""

    tag: str
    status: WriteStatus
    requested: Scalar
    value: Scalar | None = None
    message: str = ""
    # why nothing was sent, when the command layer refused it: "denied" (who: role, session,
    # signature), "invalid" (what: NaN, range, type), "audit" (the trail cannot be written)
    refused: str = ""

    @property
    def ok(self) -> bool:
        return self.status is WriteStatus.CONFIRMED


@dataclass
class DriverHealth:
    """Counters a device diagnostics screen and `hmi diag` show. Owned by the device thread;
    readers get a copy from `snapshot()`."""

    connected: bool = False
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0
    last_error: str = ""
    last_error_ts: float | None = None
    notifications: int = 0
    rtt_s: deque[float] = field(default_factory=lambda: deque(maxlen=500))
    extra: dict[str, object] = field(default_factory=dict)

    def count_error(self, kind: str, message: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.last_error = message
        self.last_error_ts = time.time()

    def record_rtt(self, seconds: float) -> None:
        self.requests += 1
        self.rtt_s.append(seconds)

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready copy: round-trip mean and p95 in milliseconds."""
        rtts = sorted(self.rtt_s)
        mean = sum(rtts) / len(rtts) if rtts else None
        p95 = rtts[min(len(rtts) - 1, int(0.95 * len(rtts)))] if rtts else None
        return {
            "connected": self.connected,
            "requests": self.requests,
            "errors": dict(self.errors),
            "error_total": sum(self.errors.values()),
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "last_error_ts": self.last_error_ts,
            "notifications": self.notifications,
            "rtt_mean_ms": None if mean is None else round(mean * 1000, 3),
            "rtt_p95_ms": None if p95 is None else round(p95 * 1000, 3),
            **self.extra,
        }


def poll_groups(points: Iterable[Point], device_poll_s: float) -> list[tuple[float, list[Point]]]:
    """Points grouped by poll period, fastest first. A tag's own `poll_s` can only slow it down
    (never below the device's period). The runner polls by these groups and the Modbus read plan
    is built per group, so both must use this one rule."""
    groups: dict[float, list[Point]] = {}
    for point in points:
        groups.setdefault(max(point.poll_s or device_poll_s, device_poll_s), []).append(point)
    return sorted(groups.items())


class Driver(Protocol):
    """What the runtime needs from a protocol. Runs in its device's thread and loop."""

    push: ClassVar[bool]  # True: the runner calls subscribe(); False: it polls read()

    def __init__(self, device: DeviceSpec, points: Sequence[Point]) -> None: ...

    async def connect(self) -> None:
        """Open the connection; raise `CommError` if the device cannot be reached."""

    async def read(self, points: Sequence[Point]) -> list[Sample]:
        """One sample per point. `CommError` if the device is unreachable."""

    async def write(self, point: Point, value: Scalar) -> None:
        """Send a value (engineering units). `WriteRejected` if refused. The caller reads back."""

    async def subscribe(self, points: Sequence[Point], sink: SampleSink) -> None:
        """Push drivers: start delivering samples to `sink`, then return."""

    async def supervise(self) -> None:
        """Push drivers: return or raise `CommError` when the connection is lost."""

    def health(self) -> DriverHealth: ...

    async def close(self) -> None:
        """Release the connection. Must not raise."""
