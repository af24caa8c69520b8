"""One device, one thread, one asyncio loop: the coordinator between a driver and the runtime.

Why a thread per device: a PLC that stops answering must not slow any other device, and
pymodbus/asyncua clients are not thread-safe, so each client lives and dies in its own loop.
The runner owns the poll schedule (with jitter so devices don't fire together), reconnects with
capped exponential backoff (never a busy loop), marks the device's tags BAD with the reason when
it cannot be read, and logs "down" once and "recovered" once (Home Assistant's
`log-when-unavailable` rule). Writes from any thread are validated, sent in the device loop and
read back; the caller gets a `WriteResult`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from drivers.base import CommError, WriteRejected, WriteResult, WriteStatus, poll_groups
from drivers.registry import create_driver
from hmi.tags import DeviceSpec, Point, Reason, Sample, Scalar, bad

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0
BatchSink = Callable[[list[Sample]], None]
# raw integer ranges: a value that scales outside them would wrap or be refused by the device
INT_RANGE = {"int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
             "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1)}


def check_write_value(point: Point, value: Any) -> str | None:
    """Why `value` may not be written to `point`, or None. Checked before anything is sent."""
    if not point.writable:
        return f"{point.tag} is not writable"
    if point.data_type == "bool" or (point.address and "." in point.address.split(":")[-1]):
        if not isinstance(value, bool | int) or value not in (0, 1, True, False):
            return f"{point.tag} takes true/false, found {value!r}"
        return None
    if point.data_type == "string":
        return None if isinstance(value, str) else f"{point.tag} takes text, found {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{point.tag} takes a number, found {value!r}"
    if not math.isfinite(value):
        return f"{point.tag}: {value!r} is not a finite number"
    if point.low is not None and value < point.low:
        return f"{point.tag}: {value} is below the minimum {point.low}"
    if point.high is not None and value > point.high:
        return f"{point.tag}: {value} is above the maximum {point.high}"
    bounds = INT_RANGE.get(point.data_type)
    if bounds is not None and not bounds[0] <= point.to_raw(value) <= bounds[1]:
        return (f"{point.tag}: {value} does not fit {point.data_type} "
                f"({bounds[0]}..{bounds[1]} raw)")
    return None


def same_value(point: Point, sent: Any, read_back: Any) -> bool:
    """Read-back matches what was sent, allowing float32 rounding and scaling."""
    if isinstance(sent, bool) or isinstance(read_back, bool):
        return bool(sent) == bool(read_back)
    if isinstance(sent, int | float) and isinstance(read_back, int | float):
        tolerance = max(1e-6, abs(sent) * 1e-5, abs(point.scale) * 0.5 if point.data_type
                        in ("int16", "uint16", "int32", "uint32") else 0.0)
        return abs(float(sent) - float(read_back)) <= tolerance
    return sent == read_back


class DeviceRunner:
    """Runs one device's driver in thread `hmi-device-<name>`. Thread-safe public methods."""

    def __init__(self, spec: DeviceSpec, points: Sequence[Point], sink: BatchSink) -> None:
        self.spec = spec
        self.points = list(points)
        self._by_tag = {p.tag: p for p in self.points}
        self._sink = sink
        self._thread = threading.Thread(target=self._thread_main, name=f"hmi-device-{spec.name}",
                                        daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self.first_cycle = threading.Event()  # set after the first read attempt, good or bad
        self.driver: Any = None
        self.state = "stopped"  # connecting | connected | down | stopped
        self.down_since: float | None = None
        self.last_good_ts: float | None = None
        self.cycles = 0
        self.reconnects = 0  # successful connects after being down; the runner owns reconnects
        self._health_cache: dict[str, object] = {}
        self._health_ts = 0.0

    # ---- any thread -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5.0)

    def stop(self, timeout_s: float = 5.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed between check and call
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("device %s did not stop within %.1f s", self.spec.name, timeout_s)

    def health(self) -> dict[str, object]:
        """Diagnostics for screens and `hmi diag`: driver counters plus runner state."""
        out = dict(self._health_cache)
        out.update({
            "device": self.spec.name,
            "protocol": self.spec.protocol,
            "state": self.state,
            "down_since": self.down_since,
            "last_good_ts": self.last_good_ts,
            "cycles": self.cycles,
            "reconnects": self.reconnects,
            "poll_s": self.spec.poll_s,
            "tags": len(self.points),
        })
        return out

    def submit_write(self, tag: str, value: Scalar, timeout_s: float = 5.0
                     ) -> concurrent.futures.Future[WriteResult]:
        """Queue a write in the device loop; the future resolves to a WriteResult (never raises)."""
        point = self._by_tag.get(tag)
        future: concurrent.futures.Future[WriteResult] = concurrent.futures.Future()
        problem = f"unknown tag {tag!r}" if point is None else check_write_value(point, value)
        loop = self._loop
        if problem is None and (loop is None or loop.is_closed() or self.state == "stopped"):
            problem = f"device {self.spec.name} is not running"
        if problem is not None:
            future.set_result(WriteResult(tag, WriteStatus.REJECTED, value, None, problem))
            return future
        assert point is not None
        assert loop is not None
        return asyncio.run_coroutine_threadsafe(self._write(point, value, timeout_s), loop)

    # ---- device thread ----------------------------------------------------------------------
    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except Exception:  # thread boundary: a crash must be logged and shown as BAD, not lost
            log.exception("device %s runner crashed", self.spec.name)
            self._emit_bad(Reason.COMM_FAILURE, "runner crashed (see log)")
        finally:
            self.state = "stopped"
            self._ready.set()
            self.first_cycle.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self.driver = create_driver(self.spec, self.points)
        self._ready.set()
        backoff = BACKOFF_START_S
        while not self._stop.is_set():
            self.state = "connecting"
            try:
                await asyncio.wait_for(self.driver.connect(), self.spec.timeout_s * 3 + 2)
                self._on_up()
                backoff = BACKOFF_START_S
                if getattr(self.driver, "push", False):
                    await self._run_push()
                else:
                    await self._run_poll()
            except (CommError, TimeoutError, OSError) as exc:
                self._on_down(exc)
            except Exception as exc:  # runner boundary: a driver bug marks the
                # device BAD with the traceback logged, and the runner retries with backoff
                log.exception("device %s: unexpected driver error", self.spec.name)
                self._on_down(exc)
            finally:
                await self._close_driver()
            if self._stop.is_set():
                break
            delay = backoff * random.uniform(0.8, 1.2)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            await self._sleep(delay)
        self._refresh_health(force=True)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless asked to stop; True if stopping."""
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), max(0.0, seconds))
        except TimeoutError:
            return False
        return True

    async def _close_driver(self) -> None:
        try:
            await asyncio.wait_for(self.driver.close(), 3.0)
        except Exception:  # close must never stop the reconnect loop
            log.debug("device %s: close failed", self.spec.name, exc_info=True)

    async def _run_poll(self) -> None:
        groups = poll_groups(self.points, self.spec.poll_s)
        now = time.monotonic()
        # jitter: devices (and groups) started together don't all hit the network together
        due = [now + (0 if i == 0 else random.uniform(0, 0.1) * period)
               for i, (period, _) in enumerate(groups)]
        guard_s = self.spec.timeout_s * 2 + 1
        while not self._stop.is_set():
            now = time.monotonic()
            for i, (period, points) in enumerate(groups):
                if now < due[i]:
                    continue
                batch = await asyncio.wait_for(self.driver.read(points), guard_s)
                self._emit(batch)
                due[i] = max(due[i] + period, time.monotonic())
            self.cycles += 1
            self.first_cycle.set()
            self._refresh_health()
            if await self._sleep(min(due) - time.monotonic()):
                return

    async def _run_push(self) -> None:
        assert self._stop is not None
        await self.driver.subscribe(self.points, self._emit_from_driver)
        self.first_cycle.set()
        supervise = asyncio.ensure_future(self.driver.supervise())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            while True:
                done, _ = await asyncio.wait({supervise, stopping}, timeout=0.5,
                                             return_when=asyncio.FIRST_COMPLETED)
                self._refresh_health()
                if stopping in done:
                    return
                if supervise in done:
                    supervise.result()  # raises CommError if the driver says so
                    raise CommError("connection lost", kind="closed")
        finally:
            for task in (supervise, stopping):
                task.cancel()
            await asyncio.gather(supervise, stopping, return_exceptions=True)

    def _emit_from_driver(self, batch: list[Sample]) -> None:
        self._emit(batch)

    def _emit(self, batch: list[Sample]) -> None:
        if batch:
            if any(s.good for s in batch):
                self.last_good_ts = time.time()
            self._sink(batch)

    def _emit_bad(self, reason: Reason, detail: str) -> None:
        now = self.spec.clock()  # station time: a BAD marker never lands before the last sample
        self._sink([bad(p.tag, reason, detail, now) for p in self.points])

    def _on_up(self) -> None:
        if self.down_since is not None:
            log.warning("device %s recovered after %.1f s", self.spec.name,
                        time.time() - self.down_since)
            self.reconnects += 1
        self.down_since = None
        self.state = "connected"

    def _on_down(self, exc: BaseException) -> None:
        if isinstance(exc, TimeoutError):
            kind, text = "timeout", f"no answer within {self.spec.timeout_s:g} s"
        elif isinstance(exc, CommError):
            kind, text = exc.kind, str(exc)
        else:
            kind, text = type(exc).__name__, str(exc) or type(exc).__name__
        if self.driver is not None:
            self.driver.health().count_error(kind, text)
        first = self.down_since is None
        if first:
            self.down_since = time.time()
            log.warning("device %s down: %s", self.spec.name, text)
        self.state = "down"
        self._emit_bad(Reason.COMM_FAILURE, text)
        self.first_cycle.set()
        self._refresh_health(force=True)

    def _refresh_health(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.driver is not None and (force or now - self._health_ts > 0.5):
            self._health_ts = now
            self._health_cache = self.driver.health().snapshot()

    async def _write(self, point: Point, value: Scalar, timeout_s: float) -> WriteResult:
        if self.state != "connected":
            return WriteResult(point.tag, WriteStatus.REJECTED, value, None,
                               f"device {self.spec.name} is {self.state}")
        try:
            await asyncio.wait_for(self.driver.write(point, value), timeout_s)
            samples = await asyncio.wait_for(self.driver.read([point]), timeout_s)
        except WriteRejected as exc:
            return WriteResult(point.tag, WriteStatus.REJECTED, value, None, str(exc))
        except TimeoutError:
            return WriteResult(point.tag, WriteStatus.TIMED_OUT, value, None,
                               f"no confirmation within {timeout_s:g} s")
        except CommError as exc:
            return WriteResult(point.tag, WriteStatus.TIMED_OUT, value, None, str(exc))
        self._emit(samples)
        read_back = samples[0] if samples else None
        if read_back is None or not read_back.good:
            reason = read_back.reason if read_back else "no read-back"
            return WriteResult(point.tag, WriteStatus.REJECTED, value, None,
                               f"read-back failed: {reason}")
        if not same_value(point, value, read_back.value):
            return WriteResult(point.tag, WriteStatus.REJECTED, value, read_back.value,
                               f"device holds {read_back.value!r}, not {value!r}")
        return WriteResult(point.tag, WriteStatus.CONFIRMED, value, read_back.value, "")
