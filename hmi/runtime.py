"""The headless station: device runners, the tag table, and one dispatch path to the services.

Every batch from every device thread goes through one queue into one thread, `hmi-dispatch`,
which applies it to the `TagStore` and hands it to each service (historian, alarms, MES outbox,
GUI bridge) in a fixed order. One path means consumers see batches in the same order, never
concurrently, and a slow consumer shows up in one place (`dispatch_lag_s`). Runs without Qt:
the GUI subscribes through `hmi.gui.bridge` like any other listener.

The runtime also owns what keeps the data honest (issue 11): the step-safe station clock every
driver and service stamps with (`hmi.clock`; a detected step becomes a station event in the
journal and the history), the memory budget the historian and the journal share while their
databases refuse writes (`hmi.writebuffer`), and the `$station` device's monitor
(`hmi.station.monitor`), whose samples take the same path as any device's.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import importlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from drivers.base import WriteResult, WriteStatus
from hmi.clock import ClockStep, StationClock
from hmi.device_runner import DeviceRunner
from hmi.paths import data_dir as default_data_dir
from hmi.project import Project, ProjectInvalid
from hmi.station.config import STATION
from hmi.station.monitor import StationMonitor
from hmi.station_lock import DataDirInUse, StationLock
from hmi.tags import Reason, Sample, Scalar, TagStore, bad
from hmi.writebuffer import WriteBudget

log = logging.getLogger(__name__)

SERVICES: tuple[str, ...] = (
    "hmi.security.service:SecurityService",  # first: registers system alarms and permissions
    "hmi.historian.service:HistorianService",
    "alarms.service:AlarmService",
    "hmi.mes.service:MesService",
)
_STOP = object()


class StartError(Exception):
    """A service could not start (e.g. its database is locked by another station). Everything
    already started has been stopped again; the message says which service and why, in one
    line. `bad_input`: the project is at fault (the CLI exits 2, which a service manager does
    not retry); otherwise the machine is (a full disk, an I/O error, a lock held by another
    program: exit 1, and the station is restarted once the cause is gone)."""

    def __init__(self, message: str, bad_input: bool = False) -> None:
        super().__init__(message)
        self.bad_input = bad_input

    @classmethod
    def of(cls, service: object, exc: BaseException) -> StartError:
        """`service`: the service or its class."""
        name = service.__name__ if isinstance(service, type) else type(service).__name__
        return cls(f"{name} could not start: {first_line(exc)}",
                   bad_input=any(isinstance(e, ProjectInvalid) for e in _chain(exc)))


def first_line(exc: BaseException) -> str:
    """An error's own first line: SQLAlchemy's wrapper gives way to the sqlite3 error inside,
    without its "[SQL: CREATE TABLE ...]" text."""
    orig = getattr(exc, "orig", None)  # sqlalchemy.exc.DBAPIError
    if isinstance(orig, BaseException):
        exc = orig
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


class Service(Protocol):
    """A consumer of tag batches with a lifecycle. `on_batch` runs in `hmi-dispatch`: be quick."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def on_batch(self, batch: list[Sample]) -> None: ...


def load_services(names: Iterable[str], runtime: Runtime) -> list[Any]:
    """Instantiate services by `module:Class`; a module not yet in this build is skipped.
    A service that cannot be built (its database cannot be opened: a full disk on a fresh
    data directory) is a `StartError`, one line, as one that cannot start."""
    services = []
    for spec in names:
        module_name, _, cls_name = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                log.info("service %s not available", spec)
                continue
            raise
        cls = getattr(module, cls_name)
        try:
            services.append(cls(runtime))
        except Exception as exc:  # construction boundary: like a start (see Runtime.start)
            log.debug("service %s could not be built", cls_name, exc_info=True)
            for built in reversed(services):
                with contextlib.suppress(Exception):
                    built.stop()
            raise StartError.of(cls, exc) from exc
    return services


class Runtime:
    """Owns the devices, the tag table and the services. `start()`/`stop()` from one thread."""

    def __init__(self, project: Project, data_dir: Path | str | None = None,
                 services: Sequence[str] | None = SERVICES,
                 clock: Callable[[], float] = time.time) -> None:
        """`clock` is the wall clock (injectable for tests); what the station stamps data
        with is `self.clock`, the step-safe `StationClock.now` built on it (`hmi.clock`)."""
        self.project = project
        self.data_dir = default_data_dir(data_dir)
        station = project.model.station
        self.time = StationClock(clock, step_s=station.clock_step_s,
                                 slew_max_s=station.clock_slew_max_s)
        self.clock = self.time.now
        self.write_budget = WriteBudget(station.buffer_rows, station.buffer_mb)
        self.tags = TagStore(t.name for t in project.tags)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._dispatch = threading.Thread(target=self._dispatch_main, name="hmi-dispatch",
                                          daemon=True)
        self.runners: dict[str, DeviceRunner] = {}
        self._disabled: list[str] = []
        for device in project.devices:
            if not device.enabled:
                self._disabled.append(device.name)
                continue
            spec = dataclasses.replace(project.device_spec(device, self.data_dir),
                                       clock=self.clock, skew_s=station.source_skew_s)
            self.runners[device.name] = DeviceRunner(spec, project.points(device.name), self.post)
        # filled by services as they are built, read by those built after them: alarm defs of
        # the station itself (e.g. $security.lockout) and the alarm permissions (users DB)
        self.system_alarms: list[Any] = []
        self.permissions: Any = None
        self.services: list[Any] = load_services(services or (), self)
        self._tag_device = {t.name: t.device for t in project.tags}
        self.dispatched_batches = 0
        self.dispatch_lag_s = 0.0
        self._started = False
        # one station per data directory, while services write there (`hmi.station_lock`)
        self._lock = StationLock(self.data_dir) if self.services else None
        self.monitor = StationMonitor(self)
        self.time.add_listener(self._on_clock_step)

    @property
    def disabled_devices(self) -> list[str]:
        return list(self._disabled)

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        if self._lock is not None:
            try:
                self._lock.acquire(str(self.project.path))
            except DataDirInUse as exc:
                raise StartError(str(exc)) from None
        self._started = True
        started: list[Any] = []
        for service in self.services:
            try:
                service.start()
            except Exception as exc:  # start boundary: undo what started and
                # report one readable error instead of a half-running station
                log.debug("service %s failed to start", type(service).__name__, exc_info=True)
                for done in reversed(started):
                    with contextlib.suppress(Exception):
                        done.stop()
                self._started = False
                if self._lock is not None:
                    self._lock.release()
                raise StartError.of(service, exc) from exc
            started.append(service)
        self._dispatch.start()
        self.monitor.start()
        for name in self._disabled:
            self.post([bad(t.name, Reason.OUT_OF_SERVICE, f"device {name} disabled")
                       for t in self.project.tags if t.device == name])
        for runner in self.runners.values():
            runner.start()
        log.info("runtime started: %d devices, %d tags", len(self.runners), len(self.tags.names()))

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        for runner in self.runners.values():
            runner.stop()
        self.monitor.stop()
        self._queue.put(_STOP)
        self._dispatch.join(10.0)
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:  # one service failing to stop must not keep the
                # others (e.g. the historian's final commit) from stopping
                log.exception("service %s failed to stop", type(service).__name__)
        if self._lock is not None:
            self._lock.release()
        log.info("runtime stopped")

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_first_cycle(self, timeout_s: float = 10.0) -> bool:
        """Block until every device has tried one read (good or bad) and it was dispatched."""
        deadline = time.monotonic() + timeout_s
        for runner in self.runners.values():
            if not runner.first_cycle.wait(max(0.0, deadline - time.monotonic())):
                return False
        return self.flush(max(0.1, deadline - time.monotonic()))

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything posted so far has been dispatched."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    # ---- data path --------------------------------------------------------------------------
    def post(self, batch: list[Sample]) -> None:
        """Hand a batch to the dispatch thread. Any thread; never blocks."""
        if batch:
            self._queue.put((time.monotonic(), batch))

    def _dispatch_main(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            posted, batch = item
            try:
                self._deliver(batch)
            except Exception:  # thread boundary: one bad batch or consumer must
                # not stop the data path for every other tag
                log.exception("dispatch failed for a batch of %d samples", len(batch))
            self.dispatch_lag_s = time.monotonic() - posted
            self.dispatched_batches += 1

    def _deliver(self, batch: list[Sample]) -> None:
        accepted = self.tags.apply(batch)
        if not accepted:
            return
        for service in self.services:
            try:
                service.on_batch(accepted)
            except Exception:  # a failing consumer is logged; the others still get data
                log.exception("service %s failed on a batch", type(service).__name__)
        for listener in self.tags.listeners():
            try:
                listener(accepted)
            except Exception:  # a listener bug must not stop dispatch
                log.exception("tag listener failed")

    def _on_clock_step(self, step: ClockStep) -> None:
        """A wall-clock step (any thread, from `StationClock.now`): a station event in the
        alarm journal and the history, and the `$station.clock.*` tags at once. Quick: each
        service only queues."""
        for service in self.services:
            note = getattr(service, "note_clock_step", None)
            if callable(note):
                try:
                    note(step)
                except Exception:  # one service must not keep the others from the event
                    log.exception("service %s failed on a clock step", type(service).__name__)
        self.monitor.note_clock_step(step)

    # ---- commands ---------------------------------------------------------------------------
    def submit_write(self, tag: str, value: Scalar, timeout_s: float = 5.0
                     ) -> concurrent.futures.Future[WriteResult]:
        """Write a tag (engineering units); the future gives the confirmed/rejected result.
        Role checks and the audit trail sit above this, in the command layer."""
        device = self._tag_device.get(tag)
        runner = self.runners.get(device) if device else None
        if runner is None:
            future: concurrent.futures.Future[WriteResult] = concurrent.futures.Future()
            why = (f"unknown tag {tag!r}" if device is None
                   else f"{tag} is measured by the station: read-only" if device == STATION
                   else f"device {device} is disabled")
            future.set_result(WriteResult(tag, WriteStatus.REJECTED, value, None, why))
            return future
        return runner.submit_write(tag, value, timeout_s)

    def write(self, tag: str, value: Scalar, timeout_s: float = 5.0) -> WriteResult:
        """Blocking `submit_write`; for CLI and tests, never the GUI thread."""
        return self.submit_write(tag, value, timeout_s).result(timeout_s + 2)

    def diagnostics(self) -> dict[str, object]:
        """Everything a diagnostics screen shows: devices, services (historian size, alarm
        journal), and the dispatch path's own lag. Any thread."""
        services = {}
        for service in self.services:
            report = getattr(service, "diagnostics", None)
            if callable(report):
                try:
                    services[type(service).__name__] = report()
                except Exception as exc:  # noqa: BLE001 - a report must not break the screen
                    services[type(service).__name__] = {"error": str(exc)}
        return {
            "devices": self.device_health(),
            "services": services,
            "dispatch": {"batches": self.dispatched_batches,
                         "lag_s": round(self.dispatch_lag_s, 4),
                         "queued": self._queue.qsize()},
            "station": self.monitor.health(),
        }

    def device_health(self) -> dict[str, dict[str, object]]:
        health = {name: runner.health() for name, runner in self.runners.items()}
        for name in self._disabled:
            health[name] = {"device": name, "state": "disabled"}
        return health
