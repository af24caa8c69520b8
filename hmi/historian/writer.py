"""The one thread that writes history: `hmi-historian`.

Why one thread: SQLite allows one writer at a time, and a dedicated thread keeps the runtime's
dispatch thread free (it only appends a batch to a queue). Each batch (or, when the thread has
fallen behind, every batch waiting) becomes one transaction of a raw `sqlite3.executemany` of
tuples: no ORM objects on the hot path. A batch counts as *acknowledged* once its COMMIT returned;
`kill -9` then loses at most the batches still queued or in flight (WAL keeps committed frames).
Between batches the thread runs rollups and retention in small steps (`hmi.historian.rollup`).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from hmi.historian.filter import Row, StorageFilter
from hmi.historian.rollup import Maintenance
from hmi.tags import Sample

log = logging.getLogger(__name__)

INSERT_SQL = ("INSERT OR REPLACE INTO samples (tag_id, t, value, quality, text, reason) "
              "VALUES (?, ?, ?, ?, ?, ?)")
MAX_COALESCE = 64  # batches per transaction when catching up
_STOP = object()


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
    """Owns the write connection from `start()` to `stop()`. `submit` and `flush` from any
    thread; everything else runs in the thread."""

    def __init__(self, conn: sqlite3.Connection, tag_ids: TagIds, storage: StorageFilter,
                 maintenance: Maintenance, clock: Callable[[], float],
                 maintenance_s: float = 10.0) -> None:
        self._conn = conn
        self._ids = tag_ids
        self._filter = storage
        self._maint = maintenance
        self._clock = clock
        self.maintenance_s = maintenance_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="hmi-historian", daemon=True)
        self.committed_batches = 0
        self.committed_rows = 0
        self.failed_batches = 0
        self.last_commit_ts: float | None = None
        self.last_error = ""
        self._pending = 0
        self._pending_lock = threading.Lock()

    # ---- any thread -------------------------------------------------------------------------
    def submit(self, batch: list[Sample]) -> None:
        if batch:
            with self._pending_lock:
                self._pending += 1
            self._queue.put(batch)

    @property
    def pending(self) -> int:
        """Batches queued or being written: what a kill now would lose."""
        return self._pending

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every batch submitted before this call is committed."""
        if not self._thread.is_alive():
            return self._pending == 0
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
        """One transaction. Writer thread (or before `start`)."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(INSERT_SQL, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if rows:
            self._maint.note_written(min(r[1] for r in rows))

    def _write_batches(self, batches: list[list[Sample]]) -> None:
        ids = self._ids.ids
        missing = sorted({s.tag for batch in batches for s in batch if s.tag not in ids})
        conn = self._conn
        try:
            if missing:
                conn.execute("BEGIN IMMEDIATE")
                self._ids.ensure(missing)
                conn.execute("COMMIT")
            rows = self._filter.filter((ids[s.tag], s) for batch in batches for s in batch)
            self.write_rows(rows)
        except Exception as exc:  # thread boundary (logged below): a full disk or a bad value
            # loses these batches (logged, counted in diagnostics), not the historian
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self.failed_batches += len(batches)
            self.last_error = str(exc)
            log.exception("historian could not write %d batch(es)", len(batches))
        else:
            self.committed_batches += len(batches)
            self.committed_rows += len(rows)
            self.last_commit_ts = self._clock()
        with self._pending_lock:
            self._pending -= len(batches)

    def _maintain(self) -> None:
        now_ms = round(self._clock() * 1000)
        try:  # bounded steps; ingest goes first whenever a batch is waiting
            while self._maint.rollup_step(now_ms) and self._queue.empty():
                pass
            while self._maint.purge_step(now_ms) and self._queue.empty():
                pass
        except sqlite3.Error as exc:
            self.last_error = str(exc)
            log.exception("historian rollup/retention step failed")

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
            try:
                item = self._queue.get(timeout=max(0.0, next_maint - time.monotonic()))
            except queue.Empty:
                self._maintain()
                next_maint = time.monotonic() + self.maintenance_s
                continue
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
                self._write_batches(batches)
            if item is None:
                continue
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
            elif isinstance(item, tuple):
                fn, box, done = item
                try:
                    box["result"] = fn()
                except Exception as exc:  # noqa: BLE001 - handed back to the caller's thread,
                    # which re-raises it from call(); the writer thread must keep running
                    box["error"] = exc
                done.set()
