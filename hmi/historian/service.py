"""The local SQLite historian: records tag samples to `<data_dir>/history.db` and answers trends.

`Historian` is the whole thing for direct use (tests, tools, the bench); `HistorianService` is
its runtime face: `on_batch` runs in the runtime's dispatch thread and only queues the batch for
the writer thread `hmi-historian` (see `hmi.historian.writer`), so a slow disk never delays
alarms or the GUI.

Gaps are history too. A BAD sample is stored with a NULL value (a device outage starts there);
`stop()` stores a "runtime stopped" marker for every tag, and `start()` stores a "runtime down"
marker after the last recorded row when the previous run did not stop cleanly (a kill, a power
cut), plus a row in `gaps` for the whole interval. A trend therefore shows a break, never a
straight line across a night the station was off.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from hmi.historian.filter import Row, StorageFilter, StoragePolicy, policy_for
from hmi.historian.query import Decimated, HistoryReader
from hmi.historian.rollup import Maintenance
from hmi.historian.schema import DB_NAME, db_size_bytes, get_meta, open_db, set_meta
from hmi.historian.writer import (
    RETRY_MAX_S,
    RETRY_START_S,
    Gap,
    HistorianWriter,
    TagIds,
)
from hmi.tags import Quality, Sample
from hmi.writebuffer import MB, WriteBudget, is_disk_trouble

log = logging.getLogger(__name__)

STOPPED = "runtime stopped"
DOWN = "runtime down (not stopped cleanly)"


class Historian:
    """Records samples and answers queries. `start()`/`stop()` from one thread; `submit`,
    `flush` and the query methods from any thread (each thread gets its own reader)."""

    def __init__(self, path: Path | str, *, tags: Iterable[str] = (),
                 policies: Mapping[str, StoragePolicy] | None = None,
                 raw_days: float = 30, rollup_days: float = 400, heartbeat_s: float = 300,
                 clock: Callable[[], float] = time.time, maintenance_s: float = 10.0,
                 busy_timeout_s: float = 5.0, budget: WriteBudget | None = None,
                 retry_start_s: float = RETRY_START_S, retry_max_s: float = RETRY_MAX_S
                 ) -> None:
        self.path = Path(path)
        self.budget = budget or WriteBudget()
        self.retry_start_s = retry_start_s
        self.retry_max_s = retry_max_s
        self.clock = clock
        self.raw_days = raw_days
        self.rollup_days = rollup_days
        self.maintenance_s = maintenance_s
        self.busy_timeout_s = busy_timeout_s
        self._tag_names = list(tags)
        self.filter = StorageFilter(heartbeat_s)
        for name, policy in (policies or {}).items():
            self.filter.set_policy(name, policy)
        self.writer: HistorianWriter | None = None
        self.maintenance: Maintenance | None = None
        self._readers: list[HistoryReader] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    @classmethod
    def from_project(cls, project: Any, data_dir: Path, clock: Callable[[], float] = time.time,
                     **kwargs: Any) -> Historian:
        """A historian with the project's `[historian]` settings and per-tag storage rules."""
        settings = project.model.historian
        policies = {t.name: policy_for(t, settings.heartbeat_s) for t in project.tags}
        return cls(Path(data_dir) / DB_NAME, tags=[t.name for t in project.tags],
                   policies=policies, raw_days=settings.raw_days,
                   rollup_days=settings.rollup_days, heartbeat_s=settings.heartbeat_s,
                   clock=clock, **kwargs)

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Open (or create, upgrade, recover) the database, record the downtime gap, start the
        writer thread. Raises `HistoryDbError` if the file is locked by another process.
        Idempotent."""
        if self.writer is not None:
            return
        conn = open_db(self.path, self.busy_timeout_s)
        ids = TagIds(conn, self.clock)
        self.maintenance = Maintenance(conn, self.raw_days, self.rollup_days)
        self.writer = HistorianWriter(conn, ids, self.filter, self.maintenance, self.clock,
                                      self.maintenance_s, self.budget, self.retry_start_s,
                                      self.retry_max_s)
        self._conn = conn
        self._ids = ids
        try:
            self.writer.write_tags(self._tag_names)
        except sqlite3.DatabaseError as exc:  # a full disk at start: run, hold, retry
            if not is_disk_trouble(exc):
                raise
            self.writer.refused(exc)
        self._record_restart()
        self.writer.start()
        log.info("historian recording to %s", self.path)

    def _record_restart(self) -> None:
        conn = self._conn
        lasts: list[Row] = []
        for tag_id in self._ids.ids.values():
            row = conn.execute("SELECT tag_id, t, value, quality, text, reason FROM samples "
                               "WHERE tag_id = ? ORDER BY t DESC LIMIT 1", (tag_id,)).fetchone()
            if row:
                lasts.append(row)
                self.filter.remember(row)
        clean = get_meta(conn, "clean_stop")
        now_ms = round(self.clock() * 1000)
        markers: list[Row] = []
        gap: tuple[int, str] | None = None
        if clean == "1":
            gap = (int(get_meta(conn, "stop_ms") or now_ms), STOPPED)
        elif lasts:
            last_ms = max(r[1] for r in lasts)
            gap = (last_ms, DOWN)
            markers = [(r[0], last_ms + 1, None, int(Quality.BAD), None, DOWN)
                       for r in lasts if r[3] != Quality.BAD]
            log.warning("history: the runtime was not stopped cleanly; gap recorded from %s",
                        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last_ms / 1000)))
        for row in markers:
            self.filter.remember(row)
        writer = self.writer
        if gap is not None and gap[0] < now_ms:
            writer.defer_gap(Gap(gap[0], now_ms, gap[1]))
        refused = self._mark(writer, markers, {"clean_stop": 0})
        if refused is not None:  # held and retried by the writer thread
            writer.refused(refused)
            writer.hold(markers)

    def _mark(self, writer: HistorianWriter, markers: list[Row], meta: dict[str, object]
              ) -> sqlite3.DatabaseError | None:
        """Write `markers`, then `meta` in one transaction. Returns the database's refusal (a
        full disk, a lock: rolled back), None once written; any other error is raised."""
        conn = self._conn
        try:
            writer.write_rows(markers)
            conn.execute("BEGIN IMMEDIATE")
            for key, value in meta.items():
                set_meta(conn, key, value)
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if not is_disk_trouble(exc):
                raise
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return exc
        return None

    def stop(self) -> None:
        """Write everything queued, mark every tag "runtime stopped", close. Idempotent.

        With the disk still refusing writes this ends cleanly too: one line says how many held
        rows are lost, the file is closed, and the next start records the downtime as a gap
        (the clean-stop mark could not be written)."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        writer.stop()
        now = self.clock()
        with self._lock:
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        conn = self._conn
        markers = self.filter.filter(
            (tag_id, Sample(name, None, now, Quality.BAD, STOPPED))
            for name, tag_id in self._ids.ids.items())
        held = writer.buffer.usage.rows
        refused = (sqlite3.OperationalError(writer.error or "rows still held") if held
                   else self._mark(writer, markers,
                                   {"clean_stop": 1, "stop_ms": round(now * 1000)}))
        conn.close()
        if refused is not None:
            log.error("history: stopped while the database refuses writes (%s): %d held rows "
                      "are lost; the next start records the downtime as a gap", refused, held)
        log.info("historian stopped: %d batches, %d rows written", writer.committed_batches,
                 writer.committed_rows)

    def __enter__(self) -> Historian:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- ingest -----------------------------------------------------------------------------
    def submit(self, batch: list[Sample]) -> None:
        """Queue a batch for the writer. Any thread; never blocks."""
        if self.writer is not None:
            self.writer.submit(batch)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything submitted so far is committed (acknowledged)."""
        return self.writer.flush(timeout_s) if self.writer is not None else True

    def maintain(self, timeout_s: float = 60.0) -> None:
        """Run rollups and retention to completion now (tests, bench, `hmi history`)."""
        if self.writer is not None and self.maintenance is not None:
            self.writer.call(self.writer.maintain_all, timeout_s)

    # ---- queries (any thread) ---------------------------------------------------------------
    def reader(self) -> HistoryReader:
        """This thread's reader, opened on first use and closed by `stop()`."""
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = HistoryReader(self.path, self.busy_timeout_s)
            with self._lock:
                self._readers.append(reader)
        return reader

    def raw(self, tag: str, t0: float, t1: float) -> list[Sample]:
        return self.reader().raw(tag, t0, t1)

    def decimated(self, tag: str, t0: float, t1: float, buckets: int = 2000) -> Decimated:
        return self.reader().decimated(tag, t0, t1, buckets)

    def value_at(self, tag: str, t: float) -> Sample | None:
        return self.reader().value_at(tag, t)

    def statistics(self, tag: str, t0: float, t1: float) -> dict[str, Any]:
        return self.reader().statistics(tag, t0, t1)

    def gaps(self, tag: str, t0: float, t1: float) -> list[tuple[float, float, str]]:
        return self.reader().gaps(tag, t0, t1)

    def diagnostics(self) -> dict[str, Any]:
        """What `hmi diag` and the diagnostics screen show. Any thread."""
        writer = self.writer
        maint = self.maintenance
        usage = self.budget.history
        return {
            "path": str(self.path),
            "size_bytes": db_size_bytes(self.path),
            "running": writer is not None,
            "state": ("stopped" if writer is None else "writing" if writer.writing
                      else "holding in memory"),
            "write_error": writer.error if writer else "",  # now; "" once writing works
            "failing_since": writer.failing_since if writer else None,
            "buffered_rows": usage.rows,
            "buffered_mb": round(usage.bytes / MB, 3),
            "buffer_limit_rows": self.budget.max_rows,
            "buffer_limit_mb": self.budget.max_bytes / MB,
            "dropped_rows": usage.dropped,
            "lag_s": round(writer.lag_s(), 3) if writer else 0.0,
            "committed_batches": writer.committed_batches if writer else None,
            "committed_rows": writer.committed_rows if writer else None,
            "failed_batches": writer.failed_batches if writer else None,
            "pending_batches": writer.pending if writer else 0,
            "last_commit_ts": writer.last_commit_ts if writer else None,
            "last_error": writer.last_error if writer else "",  # the last refusal, for history
            "samples_seen": self.filter.seen,
            "samples_stored": self.filter.stored,
            "purged_rows": maint.purged_rows if maint else 0,
            "rollup_until_ts": maint.until_ms / 1000 if maint and maint.until_ms else None,
        }


class HistorianService:
    """The historian as a runtime service (`hmi.runtime.SERVICES`). `on_batch` runs in the
    dispatch thread and only queues; a project with `[historian] enabled = false` records
    nothing."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        settings = runtime.project.model.historian
        self.historian: Historian | None = None
        if settings.enabled:
            self.historian = Historian.from_project(
                runtime.project, runtime.data_dir, clock=runtime.clock,
                budget=getattr(runtime, "write_budget", None))

    def start(self) -> None:
        if self.historian is not None:
            self.historian.start()

    def stop(self) -> None:
        if self.historian is not None:
            self.historian.stop()

    def on_batch(self, batch: list[Sample]) -> None:
        if self.historian is not None:
            self.historian.submit(batch)

    def diagnostics(self) -> dict[str, Any]:
        return self.historian.diagnostics() if self.historian else {"running": False}

    def status_summary(self) -> str:
        """One line for `hmi run`'s status output: rows stored and the file's size."""
        if self.historian is None:
            return "history: off"
        d = self.historian.diagnostics()
        size_mb = (d.get("size_bytes") or 0) / 1e6
        pending = d.get("pending_batches") or 0
        line = (f"history: {d.get('committed_rows') or 0} rows, {size_mb:.1f} MB"
                + (f", {pending} batches pending" if pending else ""))
        if d.get("write_error"):  # the current state only: no stale error once writing resumed
            line += (f", NOT WRITING ({d['write_error']}): {d['buffered_rows']} rows held in "
                     f"memory ({d['buffered_mb']:.1f} of {d['buffer_limit_mb']:.0f} MB)")
        if d.get("dropped_rows"):
            line += f", {d['dropped_rows']} rows dropped (buffer full)"
        return line

    def note_clock_step(self, step: Any) -> None:
        """A wall-clock step becomes a `gaps` row over the interval it made ambiguous (back)
        or skipped (forward). Any thread."""
        if step.step_s < 0:
            why = (f"clock stepped back {-step.step_s:.1f} s: times in this interval were "
                   f"seen twice (samples with a source time may interleave)")
        else:
            why = f"clock stepped forward {step.step_s:.1f} s: no samples in this interval"
        self.gap(step.before, step.after, why)

    def gap(self, t0: float, t1: float, reason: str) -> None:
        """Record a station-wide event interval (a clock step) in the history. Any thread."""
        writer = self.historian.writer if self.historian is not None else None
        if writer is not None:
            writer.gap(min(t0, t1), max(t0, t1), reason)
