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
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from alarms.commands import HEARTBEAT_S, run_pending
from alarms.engine import AlarmManager, defs_from_project
from alarms.journal import Journal, JournalEntry
from alarms.permissions import AlarmPermissions
from alarms.states import Event
from hmi.tags import iso_utc
from hmi.writebuffer import MB, WriteBudget, is_disk_trouble

log = logging.getLogger(__name__)
T = TypeVar("T")
_STOP = object()
RETRY_START_S = 1.0
RETRY_MAX_S = 10.0


class AlarmService:
    """Constructed by the runtime as `AlarmService(runtime)`; `start`/`stop` from one thread."""

    period_s = 0.25  # tick and journal-commit cycle
    retry_max_s = RETRY_MAX_S  # backoff cap while the journal cannot be written

    def __init__(self, runtime: Any, permissions: AlarmPermissions | None = None) -> None:
        self.runtime = runtime
        project = runtime.project
        self.clock: Callable[[], float] = getattr(runtime, "clock", time.time)
        self.journal = Journal(runtime.data_dir / "alarms.db")
        self.budget: WriteBudget = getattr(runtime, "write_budget", None) or WriteBudget()
        self.journal.usage = self.budget.journal  # one budget with the historian's buffer
        self.error = ""  # why the journal cannot be written now; "" while it can
        self.failing_since: float | None = None
        self._retry_at = 0.0
        self._backoff = RETRY_START_S
        self._written_at_failure = 0
        self._lost: list[Any] = []  # [count, first ts, last ts] of rows dropped over budget
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
        self._commit()  # a full disk at start: the station runs, the journal holds and retries
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
        held = self.journal.buffered_rows()
        refused: sqlite3.DatabaseError | None = None
        try:
            self.journal.clear_heartbeat()
        except sqlite3.DatabaseError as exc:
            refused = exc
        try:
            self.journal.close()
        except sqlite3.DatabaseError as exc:  # ends cleanly: one line, the file closed
            refused = exc
        if refused is not None:
            log.error("alarm journal: stopped while the database refuses writes (%s): %d "
                      "journal rows not written are lost", refused, held)

    def status_summary(self) -> str:
        """One line for `hmi run`'s status output (any thread: reads counters only)."""
        states = [r.state.value for r in list(self.manager.records.values())]
        standing = sum(s in "BCDE" for s in states)
        unacked = sum(s in "BD" for s in states)
        line = (f"alarms: {standing} standing, {unacked} unacked, "
                f"{self.journal.rows_written} journaled")
        if self.error:  # the current state only: gone once the journal is written again
            line += (f", JOURNAL NOT WRITING ({self.error}): "
                     f"{self.journal.buffered_rows()} rows held in memory")
        if self.budget.journal.dropped:
            line += f", {self.budget.journal.dropped} journal rows dropped (buffer full)"
        return line

    @property
    def writing(self) -> bool:
        return not self.error

    def note_clock_step(self, step: Any) -> None:
        """A wall-clock step (`hmi.clock.ClockStep`) as a station event. Any thread."""
        self.station_event(step.describe(), round(step.step_s, 3), "$station.clock.last_step_s")

    def station_event(self, text: str, value: Any = None, tag: str = "$station") -> None:
        """A journal row for the station itself (a clock step, lost rows): event "station",
        no alarm state. Any thread (the journal buffer is locked)."""
        self.journal.append(JournalEntry(self.clock(), "$station", tag, "", "", 0,
                                         Event.STATION.value, "", value, None, "system", text))

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
            # the journal's write state (issue 11): "" / 0 while it writes
            "state": "writing" if not self.error else "holding in memory",
            "write_error": self.error,  # "error" alone means the report failed (screens)
            "failing_since": self.failing_since,
            "buffered_rows": self.journal.buffered_rows(),
            "dropped_rows": self.budget.journal.dropped,
            "rows_written": self.journal.rows_written,
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
            if not self.error:  # commands wait while the journal cannot record them
                run_pending(self.manager, self.journal, self.clock)
            if beat:
                self.journal.beat(self.clock(), os.getpid())
            if time.monotonic() >= self._next_purge:
                self._purge()
        except Exception:
            # thread boundary: log it and keep ticking on the next cycle
            log.exception("alarm tick failed")

    def _purge(self) -> None:
        """Keep `journal_days` of journal (at start and hourly: a DELETE, not a VACUUM)."""
        self._next_purge = time.monotonic() + 3600.0
        days = self.runtime.project.model.alarm_settings.journal_days
        try:
            deleted = self.journal.purge(self.clock() - days * 86400.0)
        except sqlite3.DatabaseError as exc:
            if not is_disk_trouble(exc):
                raise
            self._next_purge = time.monotonic() + 60.0  # retried; the commit path logs it
            return
        if deleted:
            log.info("alarm journal: purged %d rows older than %g days", deleted, days)

    def _commit(self) -> None:
        """Write the cycle's journal rows. While the database refuses, the rows stay in memory
        and the commit is retried with backoff (1 s doubling to 10 s): one log line when it
        stops, one when it resumes, none per cycle (issue 11)."""
        if self.error and time.monotonic() < self._retry_at:
            self._enforce_budget()
            return
        if self._lost and not self.error:
            self._record_lost()
        try:
            self.journal.flush()
        except sqlite3.DatabaseError as exc:
            if not is_disk_trouble(exc):
                raise
            self._failed(exc)
            self._enforce_budget()
            return
        if self.error:
            self._resumed()

    def _failed(self, exc: BaseException) -> None:
        if self.error:
            self.error = str(exc)
            self._backoff = min(self._backoff * 2, self.retry_max_s)
        else:
            self.error = str(exc)
            self.failing_since = self.clock()
            self._written_at_failure = self.journal.rows_written
            self._backoff = RETRY_START_S
            rows, room = self.budget.journal_room()
            log.error("alarm journal: writing stopped: %s; holding journal rows in memory (up "
                      "to %d rows / %.0f MB, history is shed first) and retrying", exc, rows,
                      room / MB)
        self._retry_at = time.monotonic() + self._backoff

    def _resumed(self) -> None:
        since = self.failing_since
        down_s = self.clock() - since if since is not None else 0.0
        written = self.journal.rows_written - self._written_at_failure
        log.warning("alarm journal: writing resumed after %.1f s: %d journal rows caught up "
                    "from memory%s", down_s, written,
                    f", {self._lost[0]} rows dropped (buffer full; journaled)" if self._lost
                    else ", nothing lost")
        self.error = ""
        self.failing_since = None  # a lost-rows event is written by the next commit

    def _enforce_budget(self) -> None:
        max_rows, max_bytes = self.budget.journal_room()
        count, first, last = self.journal.trim(max_rows, max_bytes)
        if not count:
            return
        if not self._lost:
            log.error("alarm journal: memory buffer full (the whole write budget): dropping "
                      "the oldest journal rows from now on; counted and journaled on resume")
            self._lost = [0, first, last]
        self._lost[0] += count
        self._lost[2] = last

    def _record_lost(self) -> None:
        count, first, last = self._lost
        self._lost = []
        self.station_event(f"{count} journal rows lost: memory buffer full while the database "
                           f"refused writes ({iso_utc(first)} .. {iso_utc(last)})", count)
