"""The one thread that writes history: `hmi-historian`.

Why one thread: SQLite allows one writer at a time, and a dedicated thread keeps the runtime's
dispatch thread free (it only appends a batch to a queue). Each batch (or, when the thread has
fallen behind, every batch waiting) becomes one transaction of a raw `sqlite3.executemany` of
tuples: no ORM objects on the hot path. A batch counts as *acknowledged* once its COMMIT returned;
`kill -9` then loses at most the batches still queued or in flight (WAL keeps committed frames)
plus, while the disk refuses writes, the rows held in memory (see below).
Between batches the thread runs rollups and retention in small steps (`hmi.historian.rollup`).

When the database refuses a write (disk full, I/O error, locked by another program: any
`sqlite3.DatabaseError` but a constraint error) the rows are kept in a `RowBuffer`
(`hmi.writebuffer`) and retried with backoff (1 s doubling to 10 s). That is said once when
writing stops (the reason and the buffer's limit) and once when it resumes (how many rows were
caught up), never a traceback per batch (issue 11 measured 467 in 40 s). Only when the shared
budget is exhausted are the oldest rows dropped: counted, logged once, and recorded when writing
resumes as a `gaps` row plus a BAD marker per tag at its first lost sample, so a trend breaks.

Every sample is kept even when two of a tag get the same millisecond (a source whose clock went
back, a duplicate): rows whose time is not after the tag's last written time take the next free
millisecond instead of overwriting (issue 11: 29 of 201 counter values were overwritten after a
5 s clock step). Rows in time order, the normal case, cost one dict lookup each.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from hmi.historian.filter import Row, StorageFilter
from hmi.historian.rollup import Maintenance
from hmi.tags import Quality, Sample
from hmi.writebuffer import (
    MB,
    RowBuffer,
    Usage,
    WriteBudget,
    is_disk_trouble,
)

log = logging.getLogger(__name__)

INSERT_SQL = ("INSERT INTO samples (tag_id, t, value, quality, text, reason) "
              "VALUES (?, ?, ?, ?, ?, ?)")
MAX_COALESCE = 64  # batches per transaction when catching up
CATCH_UP_ROWS = 50_000  # rows per transaction when writing the buffer back
RETRY_START_S = 1.0
RETRY_MAX_S = 10.0
MAX_BUMP_MS = 100_000  # a tag with this many samples on one millisecond is a bug upstream
LOST = "not recorded: history buffer full while the disk refused writes"
_STOP = object()


class Gap(NamedTuple):
    """A station-wide interval for the `gaps` table (a clock step, lost rows): epoch ms."""

    t0: int
    t1: int
    reason: str


class TagIds:
    """Tag name -> id, created on first sight. Writer thread only (after `load`)."""

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self._conn = conn
        self._clock = clock
        self.ids: dict[str, int] = dict(conn.execute("SELECT name, id FROM tags"))

    def ensure(self, names: Sequence[str]) -> None:
        """Create missing tags. Caller owns the transaction."""
        now = round(self._clock() * 1000)
        for name in names:
            if name not in self.ids:
                cur = self._conn.execute("INSERT INTO tags (name, created_ms) VALUES (?, ?)",
                                         (name, now))
                self.ids[name] = int(cur.lastrowid)


class HistorianWriter:
    """Owns the write connection from `start()` to `stop()`. `submit`, `flush`, `gap` and the
    read-only properties from any thread; everything else runs in the thread."""

    def __init__(self, conn: sqlite3.Connection, tag_ids: TagIds, storage: StorageFilter,
                 maintenance: Maintenance, clock: Callable[[], float],
                 maintenance_s: float = 10.0, budget: WriteBudget | None = None,
                 retry_start_s: float = RETRY_START_S, retry_max_s: float = RETRY_MAX_S) -> None:
        self._conn = conn
        self._ids = tag_ids
        self._filter = storage
        self._maint = maintenance
        self._clock = clock
        self.maintenance_s = maintenance_s
        self.budget = budget or WriteBudget()
        self.retry_start_s = retry_start_s
        self.retry_max_s = retry_max_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="hmi-historian", daemon=True)
        self.committed_batches = 0
        self.committed_rows = 0
        self.failed_batches = 0  # batches that met a refused write (held, not lost)
        self.last_commit_ts: float | None = None
        self.last_error = ""  # the last refusal, kept for diagnostics after recovery
        self.error = ""  # the current refusal; "" while writing works
        self.failing_since: float | None = None
        self.buffer = RowBuffer(self.budget.history)
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._submitted: deque[float] = deque()  # monotonic submit time per queued batch
        self._last_t: dict[int, int] = {}  # tag_id -> last written t (ms)
        self._gaps: list[Gap] = []  # waiting for the next transaction
        self._waiters: list[threading.Event] = []  # flushes waiting for writes to resume
        self._retry_at = 0.0
        self._backoff = retry_start_s
        self._episode_rows = 0  # rows held since writing stopped
        self._lost_first: dict[int, int] = {}  # tag_id -> first dropped t (ms), for markers
        self._lost_range: list[int] = []  # [t0, t1] of rows dropped in this episode
        self._maint_error = ""

    # ---- any thread -------------------------------------------------------------------------
    def submit(self, batch: list[Sample]) -> None:
        if batch:
            with self._pending_lock:
                self._pending += 1
                self._submitted.append(time.monotonic())
            self._queue.put(batch)

    def gap(self, t0: float, t1: float, reason: str) -> None:
        """Record a station-wide interval (epoch seconds) in `gaps`, with the next write."""
        self._queue.put(Gap(round(t0 * 1000), round(t1 * 1000), reason))

    @property
    def pending(self) -> int:
        """Batches queued or being written: what a kill now would lose (plus `buffer`)."""
        return self._pending

    @property
    def usage(self) -> Usage:
        return self.budget.history

    @property
    def writing(self) -> bool:
        """False while the database refuses writes (rows are being held)."""
        return not self.error

    def lag_s(self) -> float:
        """Age of the oldest sample not yet on disk (queued or held), 0 when none. Any thread."""
        oldest = [m for m in (self.buffer.oldest_mono,
                              self._submitted[0] if self._submitted else None) if m is not None]
        return max(0.0, time.monotonic() - min(oldest)) if oldest else 0.0

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every batch submitted before this call is committed. False on timeout,
        e.g. while the disk refuses writes (the rows are held, not lost)."""
        if not self._thread.is_alive():
            return self._pending == 0 and not self.buffer.usage.rows
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def call(self, fn: Callable[[], Any], timeout_s: float = 10.0) -> Any:
        """Run `fn` in the writer thread (after everything queued) and return its result."""
        if not self._thread.is_alive():
            return fn()
        box: dict[str, Any] = {}
        done = threading.Event()
        self._queue.put((fn, box, done))
        if not done.wait(timeout_s):
            raise TimeoutError("historian writer did not answer in time")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout_s)

    # ---- writer thread ----------------------------------------------------------------------
    def write_rows(self, rows: list[Row]) -> None:
        """One transaction, every row kept (see the module docstring). Writer thread (or
        before `start` / after `stop`). Raises the database's error; nothing is half-written."""
        conn = self._conn
        gaps, self._gaps = self._gaps, []
        last_t = dict(self._last_t) if rows else self._last_t
        try:
            conn.execute("BEGIN IMMEDIATE")
            fast, slow = self._partition(rows, last_t)
            conn.executemany(INSERT_SQL, fast)
            for row in slow:
                conn.execute(INSERT_SQL, self._free_slot(row, last_t))
            if gaps:
                conn.executemany("INSERT INTO gaps (t0, t1, reason) VALUES (?, ?, ?)", gaps)
            conn.execute("COMMIT")
        except BaseException:
            self._gaps = gaps + self._gaps
            if conn.in_transaction:  # SQLITE_FULL may already have rolled it back
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        self._last_t = last_t
        if rows:
            self._maint.note_written(min(r[1] for r in rows))

    def _partition(self, rows: list[Row], last_t: dict[int, int]
                   ) -> tuple[list[Row], list[Row]]:
        """Rows after their tag's last time (insert as they are) and the rest (find a slot)."""
        fast: list[Row] = []
        slow: list[Row] = []
        get = last_t.get
        for row in rows:
            tag_id, t = row[0], row[1]
            last = get(tag_id)
            if last is None:
                found = self._conn.execute("SELECT max(t) FROM samples WHERE tag_id = ?",
                                           (tag_id,)).fetchone()[0]
                last = -1 if found is None else found
            if t > last:
                last_t[tag_id] = t
                fast.append(row)
            else:
                last_t[tag_id] = last
                slow.append(row)
        return fast, slow

    def _free_slot(self, row: Row, last_t: dict[int, int]) -> Row:
        """`row` at its time, or the next millisecond nobody holds (its own transaction sees
        the rows inserted just before)."""
        tag_id, t = row[0], row[1]
        taken = self._conn.execute
        for bump in range(MAX_BUMP_MS):
            if taken("SELECT 1 FROM samples WHERE tag_id = ? AND t = ?",
                     (tag_id, t + bump)).fetchone() is None:
                if bump:
                    row = (tag_id, t + bump, *row[2:])
                if t + bump > last_t.get(tag_id, -1):
                    last_t[tag_id] = t + bump
                return row
        raise sqlite3.IntegrityError(f"no free millisecond for tag id {tag_id} near {t}")

    def _ingest(self, batches: list[list[Sample]]) -> None:
        ids = self._ids.ids
        missing = sorted({s.tag for batch in batches for s in batch if s.tag not in ids})
        if missing:
            try:
                self.write_tags(missing)
            except sqlite3.DatabaseError as exc:
                if not is_disk_trouble(exc):
                    raise
                self.refused(exc)
        rows = self._filter.filter((ids[s.tag], s) for batch in batches for s in batch
                                   if s.tag in ids)
        with self._pending_lock:
            self._pending -= len(batches)
            for _ in batches:
                if self._submitted:
                    self._submitted.popleft()
        if self.error or self.buffer.usage.rows:
            self.failed_batches += len(batches)
            self.hold(rows)
            return
        try:
            self.write_rows(rows)
        except sqlite3.DatabaseError as exc:
            if not is_disk_trouble(exc):
                raise
            self.failed_batches += len(batches)
            self.refused(exc)
            self.hold(rows)
            return
        self.committed_batches += len(batches)
        self.committed_rows += len(rows)
        self.last_commit_ts = self._clock()

    def write_tags(self, names: Sequence[str]) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._ids.ensure(names)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            for name in names:  # ids handed out in the rolled-back transaction are void
                self._ids.ids.pop(name, None)
            raise

    def defer_gap(self, gap: Gap) -> None:
        """A `gaps` row for the next transaction. Writer thread (or before `start`)."""
        self._gaps.append(gap)

    def refused(self, exc: BaseException) -> None:
        """Writing stopped: say so once, with the reason and what the buffer can take. Writer
        thread (or before `start`)."""
        self.last_error = str(exc)
        if self.error:
            self.error = str(exc)
            return
        self.error = str(exc)
        self.failing_since = self._clock()
        self._episode_rows = 0
        self._backoff = self.retry_start_s
        self._retry_at = time.monotonic() + self._backoff
        rows, room = self.budget.history_room()
        log.error("history: writing stopped: %s; holding samples in memory (up to %d rows / "
                  "%.0f MB) and retrying", exc, rows, room / MB)

    def hold(self, rows: list[Row]) -> None:
        """Keep rows the database refused; shed the oldest beyond the budget (counted, gapped
        on resume). Writer thread (or before `start`)."""
        self.buffer.add(rows)
        self._episode_rows += len(rows)
        max_rows, max_bytes = self.budget.history_room()
        dropped = self.buffer.trim(max_rows, max_bytes)
        if not dropped:
            return
        if not self._lost_range:
            log.error("history: memory buffer full (%d rows, %.0f MB): dropping the oldest "
                      "samples from now on; they are counted and recorded as a gap when "
                      "writing resumes", self.buffer.usage.rows, self.buffer.usage.bytes / MB)
            self._lost_range = [dropped[0][1], dropped[0][1]]
        first = self._lost_first
        for row in dropped:
            t = row[1]
            if row[0] not in first or t < first[row[0]]:
                first[row[0]] = t
            if t < self._lost_range[0]:
                self._lost_range[0] = t
            if t > self._lost_range[1]:
                self._lost_range[1] = t

    def _retry(self) -> None:
        """Write the held rows back, oldest first, in bounded transactions."""
        caught_up = 0
        try:
            if self._lost_first:
                self._record_lost()
            while self.buffer.usage.rows:
                chunk = self.buffer.peek(CATCH_UP_ROWS)
                self.write_rows(chunk)
                self.buffer.pop(len(chunk))
                caught_up += len(chunk)
                self.committed_rows += len(chunk)
            if self._gaps:
                self.write_rows([])
        except sqlite3.DatabaseError as exc:
            if not is_disk_trouble(exc):
                raise
            self.error = self.last_error = str(exc)
            self._backoff = min(self._backoff * 2, self.retry_max_s)
            self._retry_at = time.monotonic() + self._backoff
            return
        self._resumed(caught_up)

    def _record_lost(self) -> None:
        """Dropped rows become a `gaps` row and a BAD marker per tag at its first lost time."""
        t0, t1 = self._lost_range
        count = self.buffer.usage.dropped
        self._gaps.append(Gap(t0, t1 + 1, f"{LOST} ({count} rows dropped so far)"))
        markers = [(tag_id, t, None, int(Quality.BAD), None, LOST)
                   for tag_id, t in sorted(self._lost_first.items())]
        self.write_rows(markers)
        self._lost_first = {}
        self._lost_range = []

    def _resumed(self, caught_up: int) -> None:
        since = self.failing_since
        down_s = self._clock() - since if since is not None else 0.0
        dropped = self.buffer.usage.dropped
        log.warning("history: writing resumed after %.1f s: %d rows caught up from memory%s",
                    down_s, caught_up,
                    f", {dropped} rows dropped in all (buffer full; gap recorded)"
                    if dropped else ", nothing lost")
        self.error = ""
        self.failing_since = None
        self.last_commit_ts = self._clock()
        waiters, self._waiters = self._waiters, []
        for event in waiters:
            event.set()

    def _maintain(self) -> None:
        now_ms = round(self._clock() * 1000)
        try:  # bounded steps; ingest goes first whenever a batch is waiting
            while self._maint.rollup_step(now_ms) and self._queue.empty():
                pass
            while self._maint.purge_step(now_ms) and self._queue.empty():
                pass
        except sqlite3.DatabaseError as exc:
            if not is_disk_trouble(exc):
                raise
            if str(exc) != self._maint_error:  # said once, not every 10 s
                log.warning("history: rollup/retention step failed: %s (retried later)", exc)
            self._maint_error = str(exc)
        else:
            self._maint_error = ""

    def maintain_all(self) -> None:
        """Rollups and retention until nothing is left. Writer thread (via `call`)."""
        now_ms = round(self._clock() * 1000)
        while self._maint.rollup_step(now_ms):
            pass
        while self._maint.purge_step(now_ms):
            pass

    def _main(self) -> None:
        next_maint = time.monotonic() + self.maintenance_s
        while True:
            wake = next_maint if not self.error else min(next_maint, self._retry_at)
            try:
                item = self._queue.get(timeout=max(0.0, wake - time.monotonic()))
            except queue.Empty:
                item = None
            batches: list[list[Sample]] = []
            while isinstance(item, list):
                batches.append(item)
                if len(batches) >= MAX_COALESCE:
                    item = None
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            if batches:
                self._ingest(batches)
            now = time.monotonic()
            if self.error and now >= self._retry_at:
                self._retry()
            elif not self.error and now >= next_maint:
                self._maintain()
                next_maint = time.monotonic() + self.maintenance_s
            if item is None:
                continue
            if item is _STOP:
                if self.error:
                    self._retry()  # one last try; Historian.stop says what was lost
                return
            if isinstance(item, Gap):
                self.defer_gap(item)
            elif isinstance(item, threading.Event):
                if self.error or self.buffer.usage.rows:
                    self._waiters.append(item)
                else:
                    item.set()
            elif isinstance(item, tuple):
                fn, box, done = item
                try:
                    box["result"] = fn()
                except Exception as exc:  # noqa: BLE001 - handed back to the caller's thread,
                    # which re-raises it from call(); the writer thread must keep running
                    box["error"] = exc
                done.set()
