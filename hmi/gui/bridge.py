"""The one bridge from the core's threads to Qt.

Why a timer and not a queued call per change: qasync collapses under thousands of pending
callbacks, and a plant changes thousands of values a second. Core threads only `post()` into a
dict under a lock (latest value per tag, latest summary per alarm); one `QTimer` in the GUI
thread drains it at most `hz` times a second and emits **one** signal per kind per flush.

Widgets do not connect to every change: they `watch()` the tags they show and get one call per
flush with just their tags, and only while visible. A hidden screen does not repaint; when it is
shown again it asks `replay()` for the current values of its tags. Device health rides the same
timer (polled once a second, emitted only when it changed).

GUI thread only, except `post()` and `post_alarms()`, which any thread may call.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QWidget

from hmi.tags import Sample

log = logging.getLogger(__name__)

SamplesSlot = Callable[[dict[str, Sample]], None]
HEALTH_PERIOD_S = 1.0


class _Watch:
    """One watcher: a QObject owner (its lifetime bounds the watch) and a bound-method slot held
    weakly, so a closed screen is never kept alive nor called."""

    __slots__ = ("owner", "slot", "tags")

    def __init__(self, owner: QObject, slot: SamplesSlot, tags: set[str]) -> None:
        self.owner = weakref.ref(owner)
        self.slot = weakref.WeakMethod(slot) if hasattr(slot, "__self__") else (lambda: slot)
        self.tags = tags

    def target(self) -> tuple[QObject, SamplesSlot] | None:
        owner, slot = self.owner(), self.slot()
        if owner is None or slot is None or not shiboken6.isValid(owner):
            return None
        return owner, slot


class TagBridge(QObject):
    """Carries tag samples, alarm transitions and device health into the GUI thread."""

    # Declared `object`, not `dict`/`list`: PySide6 converts a `Signal(dict)` payload into a
    # QVariantMap entry by entry on every emit (3.6 ms for 10,000 tags, most of a flush);
    # `object` passes the Python dict itself. Slots receive the same dict / list as before.
    samples_changed = Signal(object)  # {tag: latest Sample} changed since the last flush
    alarms_changed = Signal(object)  # [alarm summary dict], latest per alarm, in arrival order
    health_changed = Signal(object)  # runtime.device_health(): {device: {...}}
    flushed = Signal(float)  # the flush's own duration in seconds (bench, diagnostics)
    error = Signal(str)  # a watcher's slot raised: "<slot>: <Error>: <text>", once per slot

    def __init__(self, hz: float = 10.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: dict[str, Sample] = {}
        self._pending_alarms: dict[str, dict[str, Any]] = {}
        self.current: dict[str, Sample] = {}  # GUI thread: the latest sample of every tag seen
        self._watches: list[_Watch] = []
        self._by_tag: dict[str, list[_Watch]] = {}
        self._runtime: Any = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._next_health = 0.0
        self._last_health: dict[str, Any] | None = None
        self.flushes = 0
        self._failed: set[str] = set()  # slots already reported as failing
        self.flush_times_s: list[float] = []  # the last 1,000 flush durations
        self._timer = QTimer(self)
        # precise: a coarse timer may fire 5 % early, i.e. more than `hz` flushes a second
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(1000 / hz)))
        self._timer.timeout.connect(self._flush)
        self._timer.start()

    # ---- wiring to the core -------------------------------------------------------------------
    def attach(self, runtime: Any) -> None:
        """Listen to `runtime`'s tag table and alarm manager (call before `runtime.start()` so no
        change is missed; `current` starts from the tag table's snapshot)."""
        self._runtime = runtime
        self.current.update(runtime.tags.snapshot())
        self._unsubscribe.append(runtime.tags.subscribe(self.post))
        for service in getattr(runtime, "services", ()):
            manager = getattr(service, "manager", None)
            if manager is not None and hasattr(manager, "add_listener"):
                self._unsubscribe.append(manager.add_listener(self.post_alarms))
                if callable(getattr(service, "call", None)):
                    # the standing alarms (restored from the journal) as the first flush; posted
                    # from the alarm thread, so no transition can overtake the snapshot
                    service.call(self._seed_alarms)

    def detach(self) -> None:
        """Stop listening and stop the timer (before the runtime stops)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._timer.stop()
        self._runtime = None

    def post(self, batch: Iterable[Sample]) -> None:
        """Any thread; never touches Qt. Keeps only the latest sample per tag."""
        with self._lock:
            self._pending.update((s.tag, s) for s in batch)

    def _seed_alarms(self, manager: Any) -> None:
        """Alarm thread: post every standing alarm once (attach, before the first flush)."""
        self.post_alarms(manager.active())

    def post_alarms(self, rows: Iterable[dict[str, Any]]) -> None:
        """Any thread (the alarm manager's listener). Keeps the latest summary per alarm."""
        with self._lock:
            for row in rows:
                self._pending_alarms.pop(row["name"], None)  # re-insert: arrival order
                self._pending_alarms[row["name"]] = row

    # ---- widgets ------------------------------------------------------------------------------
    def watch(self, owner: QObject, tags: Iterable[str], slot: SamplesSlot) -> None:
        """Call `slot({tag: Sample})` once per flush with the changes among `tags`, while `owner`
        (a QWidget) is visible. Held weakly: ends when the owner is deleted or `unwatch`ed."""
        watch = _Watch(owner, slot, set(tags))
        self._watches.append(watch)
        for tag in watch.tags:
            self._by_tag.setdefault(tag, []).append(watch)

    def unwatch(self, owner: QObject) -> None:
        self._watches = [w for w in self._watches if w.owner() not in (owner, None)]
        self._reindex()

    def replay(self, owner: QObject) -> None:
        """Send `owner`'s watchers the current value of each of their tags (on show)."""
        for watch in self._watches:
            if watch.owner() is owner:
                target = watch.target()
                if target is not None:
                    subset = {t: self.current[t] for t in watch.tags if t in self.current}
                    if subset:
                        target[1](subset)

    def _reindex(self) -> None:
        self._by_tag = {}
        for watch in self._watches:
            for tag in watch.tags:
                self._by_tag.setdefault(tag, []).append(watch)

    # ---- the flush ------------------------------------------------------------------------------
    def flush_now(self) -> None:
        """Drain immediately (tests, shutdown); the timer does this on its own."""
        self._flush()

    def _flush(self) -> None:
        started = time.perf_counter()
        with self._lock:
            latest, self._pending = self._pending, {}
            alarms, self._pending_alarms = self._pending_alarms, {}
        try:
            if latest:
                self.current.update(latest)
                self._deliver(latest)
                self.samples_changed.emit(latest)
            if alarms:
                self.alarms_changed.emit(list(alarms.values()))
            self._poll_health()
        except Exception:  # GUI-thread boundary: one broken widget must not
            # stop the flow of values to every other screen; the traceback goes to the log
            log.exception("bridge flush failed")
        if latest or alarms:
            self.flushes += 1
            elapsed = time.perf_counter() - started
            self.flush_times_s.append(elapsed)
            del self.flush_times_s[:-1000]
            self.flushed.emit(elapsed)

    def _deliver(self, latest: dict[str, Sample]) -> None:
        per_watch: dict[int, tuple[_Watch, dict[str, Sample]]] = {}
        if len(latest) < len(self._by_tag):
            for tag, sample in latest.items():
                for watch in self._by_tag.get(tag, ()):
                    per_watch.setdefault(id(watch), (watch, {}))[1][tag] = sample
        else:
            for watch in self._watches:
                subset = {t: latest[t] for t in watch.tags if t in latest}
                if subset:
                    per_watch[id(watch)] = (watch, subset)
        dead = False
        for watch, subset in per_watch.values():
            target = watch.target()
            if target is None:
                dead = True
                continue
            owner, slot = target
            if isinstance(owner, QWidget) and not owner.isVisible():
                continue  # a hidden screen does not repaint; replay() on show
            try:
                slot(subset)
            except Exception as exc:  # noqa: BLE001 - one broken widget must not keep the
                # others from their values; reported once per slot (log + `error` signal)
                self._report(slot, exc)
        if dead:
            self._watches = [w for w in self._watches if w.target() is not None]
            self._reindex()

    def _report(self, slot: SamplesSlot, exc: Exception) -> None:
        key = getattr(slot, "__qualname__", repr(slot))
        if key in self._failed:
            return
        self._failed.add(key)
        log.error("watcher %s failed", key, exc_info=exc)
        self.error.emit(f"{key}: {type(exc).__name__}: {exc}")

    def _poll_health(self) -> None:
        if self._runtime is None or time.monotonic() < self._next_health:
            return
        self._next_health = time.monotonic() + HEALTH_PERIOD_S
        health = self._runtime.device_health()
        if health != self._last_health:
            self._last_health = health
            self.health_changed.emit(health)
