"""The alarm service: runs the `AlarmManager` inside the station, in its own thread.

Why a thread of its own (`hmi-alarms`): `on_batch` is called in the runtime's dispatch thread,
which every other consumer shares, so it only enqueues. The alarm thread evaluates the batches,
ticks the timers about four times a second, applies commands queued by the CLI
(`alarms.commands`), rewrites the heartbeat each second, and commits the journal once per
cycle (one fsync per cycle, not per row). Other threads (the GUI bridge) reach the manager
through `call()`, which runs a function in the alarm thread and returns a future.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from alarms.commands import HEARTBEAT_S, run_pending
from alarms.engine import AlarmManager, defs_from_project
from alarms.journal import Journal
from alarms.permissions import AlarmPermissions

log = logging.getLogger(__name__)
T = TypeVar("T")
_STOP = object()


class AlarmService:
    """Constructed by the runtime as `AlarmService(runtime)`; `start`/`stop` from one thread."""

    period_s = 0.25  # tick and journal-commit cycle

    def __init__(self, runtime: Any, permissions: AlarmPermissions | None = None) -> None:
        self.runtime = runtime
        project = runtime.project
        self.clock: Callable[[], float] = getattr(runtime, "clock", time.time)
        self.journal = Journal(runtime.data_dir / "alarms.db")
        # the station's own alarms and permissions, registered by services built before this
        # one (the security service: $security.* alarms, roles from the users database)
        defs = defs_from_project(project) + list(getattr(runtime, "system_alarms", ()))
        self.manager = AlarmManager(defs, project.model.alarm_settings, self.clock,
                                    self.journal,
                                    permissions or getattr(runtime, "permissions", None))
        self.manager.restore(self.journal.load_states())
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="hmi-alarms", daemon=True)
        self._started = False
        self._closed = False
        self._next_purge = 0.0

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.journal.beat(self.clock(), os.getpid())
        self.journal.flush()
        self._purge()
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (if started), commit, clear the heartbeat and close the file."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            self._started = False
            self._queue.put(_STOP)
            self._thread.join(10.0)
        self.journal.clear_heartbeat()
        self.journal.close()

    def status_summary(self) -> str:
        """One line for `hmi run`'s status output (any thread: reads counters only)."""
        states = [r.state.value for r in list(self.manager.records.values())]
        standing = sum(s in "BCDE" for s in states)
        unacked = sum(s in "BD" for s in states)
        return (f"alarms: {standing} standing, {unacked} unacked, "
                f"{self.journal.rows_written} journaled")

    def diagnostics(self) -> dict[str, Any]:
        """What the diagnostics screen shows (`Runtime.diagnostics()["services"]`). Any thread:
        reads counters and derived states only, never waits for the alarm thread."""
        counts = dict.fromkeys("ABCDEFGH", 0)
        for record in list(self.manager.records.values()):
            counts[record.state.value] += 1
        return {
            "running": self._started and self._thread.is_alive(),
            "alarms": sum(counts.values()),
            "standing": counts["B"] + counts["C"] + counts["D"] + counts["E"],
            "unacked": counts["B"] + counts["D"],
            "shelved": counts["F"],
            "suppressed": counts["G"],
            "out_of_service": counts["H"],
            "transitions": self.manager.transitions,
            "journal_path": str(self.journal.path),
            "journal_rows_written": self.journal.rows_written,
            "journal_pending": self.journal.pending(),
            "queued": self._queue.qsize(),
        }

    def on_batch(self, batch: list[Any]) -> None:
        """Dispatch thread: hand the batch over and return."""
        self._queue.put(batch)

    def call(self, fn: Callable[[AlarmManager], T]) -> concurrent.futures.Future[T]:
        """Run `fn(manager)` in the alarm thread (any thread may call; e.g. an ack from the
        GUI). The future carries the result or the AlarmCommandError."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put((fn, future))
        return future

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued so far is evaluated and committed (tests, shutdown)."""
        try:
            self.call(lambda m: None).result(timeout_s)
        except concurrent.futures.TimeoutError:
            return False
        return True

    def _main(self) -> None:
        next_tick = time.monotonic()
        next_beat = next_tick + HEARTBEAT_S
        while True:
            timeout = max(0.0, next_tick - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            items = [] if item is None else [item]
            while True:  # drain: evaluate everything that arrived before committing once
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = any(i is _STOP for i in items)
            futures = self._handle(items)
            now = time.monotonic()
            if now >= next_tick or stopping:
                next_tick = now + self.period_s
                self._cycle(now >= next_beat and not stopping)
                if now >= next_beat:
                    next_beat = now + HEARTBEAT_S
            self._commit()
            for future, result, error in futures:
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(result)
            if stopping:
                return

    def _handle(self, items: list[Any]) -> list[tuple[Any, Any, BaseException | None]]:
        futures = []
        for item in items:
            if item is _STOP:
                continue
            if isinstance(item, tuple):
                fn, future = item
                try:
                    futures.append((future, fn(self.manager), None))
                except Exception as exc:  # noqa: BLE001 - handed to the caller's future
                    futures.append((future, None, exc))
                continue
            try:
                self.manager.on_batch(item)
            except Exception:
                # thread boundary: one bad batch must not stop alarm evaluation for the rest
                log.exception("alarm evaluation failed for a batch of %d samples", len(item))
        return futures

    def _cycle(self, beat: bool) -> None:
        try:
            self.manager.tick()
            run_pending(self.manager, self.journal, self.clock)
            if beat:
                self.journal.beat(time.time(), os.getpid())
            if time.monotonic() >= self._next_purge:
                self._purge()
        except Exception:
            # thread boundary: log it and keep ticking on the next cycle
            log.exception("alarm tick failed")

    def _purge(self) -> None:
        """Keep `journal_days` of journal (at start and hourly: a DELETE, not a VACUUM)."""
        self._next_purge = time.monotonic() + 3600.0
        days = self.runtime.project.model.alarm_settings.journal_days
        deleted = self.journal.purge(self.clock() - days * 86400.0)
        if deleted:
            log.info("alarm journal: purged %d rows older than %g days", deleted, days)

    def _commit(self) -> None:
        try:
            self.journal.flush()
        except Exception:
            # thread boundary: the rows of this cycle are lost; say so loudly, keep running
            log.exception("alarm journal commit failed")
