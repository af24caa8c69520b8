"""Background upkeep of the history database: 1-minute and 1-hour rollups, and retention.

Both run in the writer thread between batches, in small bounded steps (`ROLLUP_SPAN_MS` of data
per step, `PURGE_CHUNK` rows per delete), each its own short transaction: ingest waits at most one
step, never for a whole day's purge.

Rollups are kept per tag up to a watermark (`meta.rollup_1m_until`); samples that arrive late
(older than the watermark) mark their minute dirty and it is rolled up again. The 1-hour table is
built from the 1-minute table, not from raw rows.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence

from hmi.historian.schema import get_meta, set_meta

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
ROLLUP_SPAN_MS = 6 * HOUR_MS  # raw data rolled up per step, at most
ROLLUP_LAG_MS = 5_000  # a minute is rolled up this long after it ends (late batches)
PURGE_CHUNK = 5_000

_INSERT = ("INSERT OR REPLACE INTO {table} (tag_id, t, n, vmin, tmin, vmax, tmax, vfirst, tfirst, "
           "vlast, tlast, vsum, nbad, tbad) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _aggregate(tag_id: int, rows: Iterable[Sequence], width_ms: int) -> list[tuple]:
    """Rollup rows from (t, value) raw rows or from finer rollup rows, ordered by time.

    Raw rows are (t, value); rollup rows are the table's columns from `n` on, prefixed by t.
    """
    out: list[tuple] = []
    bucket = None
    acc: list = []

    def flush() -> None:
        if bucket is not None:
            out.append((tag_id, bucket, *acc))

    for row in rows:
        b = row[0] - row[0] % width_ms
        if b != bucket:
            flush()
            bucket = b
            acc = [0, None, None, None, None, None, None, None, None, 0.0, 0, None]
        if len(row) == 2:  # raw: (t, value)
            t, v = row
            part = (1, v, t, v, t, v, t, v, t, v, 0, None) if v is not None else (
                0, None, None, None, None, None, None, None, None, 0.0, 1, t)
        else:
            part = row[1:]
        _merge(acc, part)
    flush()
    return out


def _merge(acc: list, part: Sequence) -> None:
    n, vmin, tmin, vmax, tmax, vfirst, tfirst, vlast, tlast, vsum, nbad, tbad = part
    if n:
        if acc[0] == 0:
            acc[5], acc[6] = vfirst, tfirst
        if acc[1] is None or vmin < acc[1]:
            acc[1], acc[2] = vmin, tmin
        if acc[3] is None or vmax > acc[3]:
            acc[3], acc[4] = vmax, tmax
        acc[7], acc[8] = vlast, tlast
        acc[0] += n
        acc[9] += vsum
    if nbad:
        acc[10] += nbad
        if acc[11] is None:
            acc[11] = tbad


class Maintenance:
    """Rollup and retention state. Writer thread only; every method commits its own work."""

    def __init__(self, conn: sqlite3.Connection, raw_days: float, rollup_days: float) -> None:
        self._conn = conn
        self.raw_days = raw_days
        self.rollup_days = rollup_days
        until = get_meta(conn, "rollup_1m_until")
        self.until_ms: int | None = int(until) if until is not None else None
        self._dirty_from: int | None = None
        self.purged_rows = 0

    def note_written(self, min_t_ms: int) -> None:
        """A batch reached the disk; its oldest time may reopen rolled-up minutes."""
        if self.until_ms is not None and min_t_ms < self.until_ms and (
                self._dirty_from is None or min_t_ms < self._dirty_from):
            self._dirty_from = min_t_ms

    def rollup_step(self, now_ms: int) -> bool:
        """Roll up at most `ROLLUP_SPAN_MS` more raw data. True if more work remains."""
        conn = self._conn
        end_limit = (now_ms - ROLLUP_LAG_MS) // MINUTE_MS * MINUTE_MS
        if self.until_ms is None:
            starts = [r[0] for r in conn.execute(
                "SELECT (SELECT t FROM samples s WHERE s.tag_id = tags.id ORDER BY t LIMIT 1) "
                "FROM tags")]
            starts = [s for s in starts if s is not None]
            if not starts:
                return False
            self.until_ms = min(starts) // HOUR_MS * HOUR_MS
        start = self.until_ms
        if self._dirty_from is not None:
            start = min(start, self._dirty_from // HOUR_MS * HOUR_MS)
            self._dirty_from = None
        if start >= end_limit:
            return False
        end = min(end_limit, start + ROLLUP_SPAN_MS)
        tag_ids = [r[0] for r in conn.execute("SELECT id FROM tags")]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for tag_id in tag_ids:
                raw = conn.execute("SELECT t, value FROM samples WHERE tag_id = ? AND t >= ? "
                                   "AND t < ? AND (value IS NOT NULL OR quality = 0) ORDER BY t",
                                   (tag_id, start, end))
                conn.executemany(_INSERT.format(table="rollup_1m"),
                                 _aggregate(tag_id, raw, MINUTE_MS))
                h0, h1 = start // HOUR_MS * HOUR_MS, end
                minutes = conn.execute(
                    "SELECT t, n, vmin, tmin, vmax, tmax, vfirst, tfirst, vlast, tlast, vsum, "
                    "nbad, tbad FROM rollup_1m WHERE tag_id = ? AND t >= ? AND t < ? ORDER BY t",
                    (tag_id, h0, h1))
                conn.executemany(_INSERT.format(table="rollup_1h"),
                                 _aggregate(tag_id, minutes, HOUR_MS))
            set_meta(conn, "rollup_1m_until", end)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLITE_FULL may already have rolled it back
                conn.execute("ROLLBACK")
            raise
        self.until_ms = max(self.until_ms, end)
        return end < end_limit

    def purge_step(self, now_ms: int) -> bool:
        """Delete at most `PURGE_CHUNK` expired rows per table. True if more remain."""
        more = False
        raw_cut = now_ms - round(self.raw_days * DAY_MS)
        roll_cut = now_ms - round(self.rollup_days * DAY_MS)
        for table, cut in (("samples", raw_cut), ("rollup_1m", roll_cut),
                           ("rollup_1h", roll_cut)):
            for (tag_id,) in self._conn.execute("SELECT id FROM tags").fetchall():
                more |= self._purge_tag(table, tag_id, cut)
        self._conn.execute(f"DELETE FROM gaps WHERE t1 < {int(roll_cut)}")
        return more

    def _purge_tag(self, table: str, tag_id: int, cut: int) -> bool:
        conn = self._conn
        nth = conn.execute(f"SELECT t FROM {table} WHERE tag_id = ? AND t < ? ORDER BY t "
                           f"LIMIT 1 OFFSET {PURGE_CHUNK}", (tag_id, cut)).fetchone()
        if nth is None and conn.execute(
                f"SELECT 1 FROM {table} WHERE tag_id = ? AND t < ? LIMIT 1",
                (tag_id, cut)).fetchone() is None:
            return False
        bound = min(cut, nth[0]) if nth else cut
        conn.execute("BEGIN IMMEDIATE")
        try:
            n = conn.execute(f"DELETE FROM {table} WHERE tag_id = ? AND t < ?",
                             (tag_id, bound)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLITE_FULL may already have rolled it back
                conn.execute("ROLLBACK")
            raise
        self.purged_rows += max(0, n)
        return nth is not None
