"""Reading history: raw rows, decimated trends, the value at a time, statistics.

Any thread may own a `HistoryReader`; each has its own SQLite connection (WAL: readers never
block the writer, nor it them). Times in and out are epoch seconds (float); the database keeps
integer milliseconds (see `hmi.historian.schema`).

Decimation is what a trend asks for: a range and a pixel width. It runs in SQL as ONE grouped
scan (`GROUP BY (t - t0) / width`: min, max, first time, last time, count) plus primary-key
lookups of the first/last values; measured on 86,400 rows, that is ~35 ms where one scan per
aggregate (min with its time, max with its time, ...) took ~100 ms. Each bucket yields two plot
points, min and max, at the bucket's first and last sample times, in the order the signal moved
(min first when it rose), which is what pyqtgraph's 'peak' downsampling does: the envelope and
every spike are kept, to the pixel. Gap markers (BAD rows) become NaN points so the line breaks.
Ranges whose buckets are at least a minute (an hour) wide read the 1-min (1-h) rollup table,
plus raw rows after the rollup watermark.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hmi.historian.rollup import HOUR_MS, MINUTE_MS
from hmi.historian.schema import get_meta, open_db
from hmi.tags import Quality, Sample

NAN = float("nan")


class UnknownTag(LookupError):
    """The history has no such tag."""


@dataclass
class Decimated:
    """A trend's data for one tag: `t`/`v` feed pyqtgraph's `setData` directly (NaN = gap).
    Per-bucket arrays (index = bucket) keep min/max/first/last for cursors and tests."""

    t: np.ndarray  # epoch seconds, ascending
    v: np.ndarray  # float, NaN where the history has a gap
    source: str  # "raw", "rollup_1m" or "rollup_1h" (+ "raw" tail)
    bucket_s: float
    buckets: dict[int, dict[str, Any]] = field(default_factory=dict)


def _ms(t: float) -> int:
    return round(t * 1000)


def _sample(tag: str, t: int, value: float | None, quality: int, text: str | None,
            reason: str | None) -> Sample:
    v: Any = text if value is None and text is not None else value
    return Sample(tag, v, t / 1000, Quality(quality), reason or "")


_GROUP = """
WITH g AS (
  SELECT b, min(value) AS vmin, max(value) AS vmax, min(t) AS tf, max(t) AS tl, count(*) AS n
  FROM (SELECT (t - :t0) / :w AS b, t, value FROM {table}
        WHERE tag_id = :id AND t >= :lo AND t < :hi AND value IS NOT NULL)
  GROUP BY b)
SELECT g.b, g.vmin, g.vmax, g.tf, g.tl, g.n, f.value, l.value FROM g
JOIN {table} f ON f.tag_id = :id AND f.t = g.tf
JOIN {table} l ON l.tag_id = :id AND l.t = g.tl
"""
_GROUP_ROLLUP = """
WITH g AS (
  SELECT b, min(vmin) AS vmin, max(vmax) AS vmax, min(t) AS rf, max(t) AS rl, sum(n) AS n
  FROM (SELECT (t - :t0) / :w AS b, t, vmin, vmax, n FROM {table}
        WHERE tag_id = :id AND t >= :lo AND t < :hi AND n > 0)
  GROUP BY b)
SELECT g.b, g.vmin, g.vmax, f.tfirst, l.tlast, g.n, f.vfirst, l.vlast FROM g
JOIN {table} f ON f.tag_id = :id AND f.t = g.rf
JOIN {table} l ON l.tag_id = :id AND l.t = g.rl
"""


class HistoryReader:
    """Queries on one connection. One thread at a time; cheap to create (~1 ms)."""

    def __init__(self, path: Path, busy_timeout_s: float = 5.0) -> None:
        self.path = path
        self.conn: sqlite3.Connection = open_db(path, busy_timeout_s, create=False,
                                                recover=False)
        self._ids: dict[str, int] = {}

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> HistoryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- lookups ----------------------------------------------------------------------------
    def tag_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM tags ORDER BY name")]

    def tag_id(self, tag: str) -> int:
        if tag not in self._ids:
            row = self.conn.execute("SELECT id FROM tags WHERE name = ?", (tag,)).fetchone()
            if row is None:
                raise UnknownTag(f"no history for tag {tag!r}")
            self._ids[tag] = row[0]
        return self._ids[tag]

    def has_tag(self, tag: str) -> bool:
        try:
            self.tag_id(tag)
        except UnknownTag:
            return False
        return True

    # ---- raw --------------------------------------------------------------------------------
    def raw(self, tag: str, t0: float, t1: float, limit: int | None = None) -> list[Sample]:
        """Every stored sample with t0 <= ts < t1, gap markers included (value None, BAD)."""
        return list(self.iter_raw(tag, t0, t1, limit))

    def iter_raw(self, tag: str, t0: float, t1: float, limit: int | None = None):
        tag_id = self.tag_id(tag)
        sql = ("SELECT t, value, quality, text, reason FROM samples WHERE tag_id = ? AND t >= ? "
               "AND t < ? ORDER BY t")
        args: tuple = (tag_id, _ms(t0), _ms(t1))
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        for t, value, quality, text, reason in self.conn.execute(sql, args):
            yield _sample(tag, t, value, quality, text, reason)

    def count(self, tag: str, t0: float, t1: float) -> int:
        return self.conn.execute("SELECT count(*) FROM samples WHERE tag_id = ? AND t >= ? "
                                 "AND t < ?", (self.tag_id(tag), _ms(t0), _ms(t1))).fetchone()[0]

    def value_at(self, tag: str, t: float) -> Sample | None:
        """The sample in force at `t` (the last stored at or before it), or None. A gap marker
        comes back as a BAD sample: the value was not known then."""
        row = self.conn.execute("SELECT t, value, quality, text, reason FROM samples "
                                "WHERE tag_id = ? AND t <= ? ORDER BY t DESC LIMIT 1",
                                (self.tag_id(tag), _ms(t))).fetchone()
        return _sample(tag, *row) if row else None

    def gaps(self, tag: str, t0: float, t1: float) -> list[tuple[float, float, str]]:
        """(start, end, reason) of each stretch in [t0, t1) where the tag had no good value."""
        tag_id = self.tag_id(tag)
        rows = self.conn.execute(
            "SELECT t, reason, (SELECT min(n.t) FROM samples n WHERE n.tag_id = s.tag_id "
            "AND n.t > s.t AND n.quality > 0) FROM samples s WHERE tag_id = ? AND t >= ? "
            "AND t < ? AND value IS NULL AND quality = 0 ORDER BY t",
            (tag_id, _ms(t0), _ms(t1))).fetchall()
        out: list[tuple[float, float, str]] = []
        for t, reason, end in rows:
            if out and out[-1][1] * 1000 >= t:  # still inside the previous gap
                continue
            out.append((t / 1000, (end if end is not None else _ms(t1)) / 1000, reason or ""))
        return out

    # ---- decimation -------------------------------------------------------------------------
    def decimated(self, tag: str, t0: float, t1: float, buckets: int = 2000) -> Decimated:
        """About two points per bucket over [t0, t1); see the module docstring."""
        if t1 <= t0:
            raise ValueError(f"empty or backwards range: {t0} .. {t1}")
        tag_id = self.tag_id(tag)
        buckets = max(1, int(buckets))
        m0, m1 = _ms(t0), _ms(t1)
        width = max(1, math.ceil((m1 - m0) / buckets))
        table = "rollup_1h" if width >= HOUR_MS else "rollup_1m" if width >= MINUTE_MS else None
        rows: list[tuple] = []
        gap_times: list[int] = []
        raw_from = m0
        source = "raw"
        if table is not None:
            until = get_meta(self.conn, "rollup_1m_until")
            until_ms = min(int(until), m1) if until is not None else m0
            if until_ms > m0:
                args = {"t0": m0, "w": width, "id": tag_id, "lo": m0, "hi": until_ms}
                rows += self.conn.execute(_GROUP_ROLLUP.format(table=table), args).fetchall()
                gap_times += [r[0] for r in self.conn.execute(
                    f"SELECT tbad FROM {table} WHERE tag_id = ? AND t >= ? AND t < ? "
                    "AND tbad IS NOT NULL", (tag_id, m0, until_ms))]
                raw_from = until_ms
                source = table + ("+raw" if until_ms < m1 else "")
        if raw_from < m1:
            args = {"t0": m0, "w": width, "id": tag_id, "lo": raw_from, "hi": m1}
            rows += self.conn.execute(_GROUP.format(table="samples"), args).fetchall()
            gap_times += [r[0] for r in self.conn.execute(
                "SELECT t FROM samples WHERE tag_id = ? AND t >= ? AND t < ? AND value IS NULL "
                "AND quality = 0", (tag_id, raw_from, m1))]
        return _assemble(rows, gap_times, width, source)

    # ---- statistics -------------------------------------------------------------------------
    def statistics(self, tag: str, t0: float, t1: float) -> dict[str, Any]:
        """min, max, mean (of stored samples), time-weighted mean (values held until the next
        sample; gaps excluded), good/bad seconds, and for booleans seconds in each state."""
        if t1 <= t0:
            raise ValueError(f"empty or backwards range: {t0} .. {t1}")
        tag_id = self.tag_id(tag)
        m0, m1 = _ms(t0), _ms(t1)
        before = self.conn.execute("SELECT value, quality FROM samples WHERE tag_id = ? AND "
                                   "t < ? ORDER BY t DESC LIMIT 1", (tag_id, m0)).fetchone()
        seed = ("SELECT :t0 AS t, :v0 AS value, :q0 AS quality, 0 AS own UNION ALL "
                if before is not None else "")
        sql = f"""
        WITH s AS (SELECT t, value, quality, own, lead(t, 1, :t1) OVER (ORDER BY t, own) AS tn
            FROM ({seed}SELECT t, value, quality, 1 AS own FROM samples WHERE tag_id = :id
            AND t >= :t0 AND t < :t1))
        SELECT count(CASE WHEN own THEN value END), min(CASE WHEN own THEN value END),
               max(CASE WHEN own THEN value END), avg(CASE WHEN own THEN value END),
               sum(value * (tn - t)), sum(CASE WHEN value IS NOT NULL THEN tn - t END),
               sum(CASE WHEN quality = 0 THEN tn - t END), min(t)
        FROM s"""
        args = {"id": tag_id, "t0": m0, "t1": m1,
                "v0": before[0] if before else None, "q0": before[1] if before else None}
        n, vmin, vmax, mean, area, good_ms, bad_ms, first = self.conn.execute(sql, args).fetchone()
        stats: dict[str, Any] = {
            "tag": tag, "from": t0, "to": t1, "count": n, "min": vmin, "max": vmax, "mean": mean,
            "time_weighted_mean": area / good_ms if good_ms else None,
            "good_s": (good_ms or 0) / 1000, "bad_s": (bad_ms or 0) / 1000,
            "unknown_s": ((first if first is not None else m1) - m0) / 1000,
        }
        states = self.conn.execute(f"""
            WITH s AS (SELECT t, value, lead(t, 1, :t1) OVER (ORDER BY t, own) AS tn FROM (
                {seed}SELECT t, value, quality, 1 AS own FROM samples WHERE tag_id = :id
                AND t >= :t0 AND t < :t1))
            SELECT value, sum(tn - t) FROM s WHERE value IS NOT NULL GROUP BY value LIMIT 3
            """, args).fetchall()
        if states and len(states) <= 2 and all(v in (0.0, 1.0) for v, _ in states):
            seconds = {bool(v): ms / 1000 for v, ms in states}
            stats["time_true_s"] = seconds.get(True, 0.0)
            stats["time_false_s"] = seconds.get(False, 0.0)
        return stats


def _assemble(rows: list[tuple], gap_times: list[int], width: int, source: str) -> Decimated:
    merged: dict[int, list] = {}
    for b, vmin, vmax, tf, tl, n, vf, vl in rows:
        cur = merged.get(b)
        if cur is None:
            merged[b] = [vmin, vmax, tf, tl, n, vf, vl]
            continue
        cur[0], cur[1] = min(cur[0], vmin), max(cur[1], vmax)
        if tf < cur[2]:
            cur[2], cur[5] = tf, vf
        if tl > cur[3]:
            cur[3], cur[6] = tl, vl
        cur[4] += n
    points: list[tuple[int, float]] = []
    buckets: dict[int, dict[str, Any]] = {}
    for b, (vmin, vmax, tf, tl, n, vf, vl) in merged.items():
        buckets[b] = {"min": vmin, "max": vmax, "first": vf, "last": vl, "count": n,
                      "t_first": tf / 1000, "t_last": tl / 1000}
        if n == 1 or tf == tl:
            points.append((tf, vf))
        elif vl >= vf:  # rising: the low came first
            points += [(tf, vmin), (tl, vmax)]
        else:
            points += [(tf, vmax), (tl, vmin)]
    points += [(t, NAN) for t in gap_times]
    points.sort(key=lambda p: p[0])
    t = np.fromiter((p[0] for p in points), dtype=np.float64, count=len(points)) / 1000
    v = np.fromiter((p[1] for p in points), dtype=np.float64, count=len(points))
    return Decimated(t=t, v=v, source=source, bucket_s=width / 1000, buckets=buckets)
