"""Everything a trend asks of the station's files: decimated series, gaps, the value at a
cursor, alarm journal events. Qt-free.

Why its own object: a trend's queries run in worker threads (`StationContext.submit`), never in
the GUI thread, and each worker needs its own SQLite connections (WAL: readers never block the
historian's writer, nor it them). `TrendData` opens one `HistoryReader` and one read-only
journal connection per thread on first use and closes them all in `close()`.

A station that has recorded nothing yet (no `history.db`) is not an error: every series comes
back empty and marked `known=False`, which the plot shows as "no data".

Any thread. Times are epoch seconds (UTC).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hmi.historian.query import HistoryReader, UnknownTag
from hmi.historian.schema import DB_NAME, HistoryDbError
from hmi.tags import Quality, Sample
from hmi.trends.buffer import TrendBuffer

JOURNAL_NAME = "alarms.db"
MARKER_EVENTS = ("raise", "realarm", "ack", "rtn")
MAX_EVENTS = 5000  # per query; a month of a flooding alarm is not drawn mark by mark


@dataclass
class Series:
    """One pen's data for one view: `t`/`v` go to `setData` as they are (NaN = break)."""

    tag: str
    t0: float
    t1: float
    buckets: int
    t: np.ndarray
    v: np.ndarray
    bucket_s: float = 0.0
    source: str = ""
    known: bool = True  # False: the tag has never had a stored value
    gaps: list[tuple[float, float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class AlarmEvent:
    """One journal row drawn as a marker: raise (and re-alarm), acknowledge, return to normal."""

    ts: float
    alarm: str
    tag: str
    priority: str
    event: str
    state: str
    value: Any
    user: str
    message: str

    def describe(self) -> str:
        what = {"raise": "raised", "realarm": "re-alarmed", "ack": "acknowledged",
                "rtn": "returned to normal"}.get(self.event, self.event)
        who = f" by {self.user}" if self.user else ""
        value = f" (value {self.value:.4g})" if isinstance(self.value, float) else ""
        return f"{self.alarm} {what}{who}{value}: {self.message or self.alarm}"


class TrendData:
    """Queries for trends on per-thread connections. See the module docstring."""

    def __init__(self, data_dir: Path | str, buffer: TrendBuffer | None = None,
                 messages: Mapping[str, str] | None = None,
                 alarm_tags: Mapping[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.history_path = self.data_dir / DB_NAME
        self.journal_path = self.data_dir / JOURNAL_NAME
        self.buffer = buffer
        self.messages = dict(messages or {})  # alarm name -> its message (project file)
        self._alarms_of: dict[str, list[str]] = {}  # tag -> its alarms (project file)
        for alarm, tag in (alarm_tags or {}).items():
            self._alarms_of.setdefault(tag, []).append(alarm)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[Any] = []
        self._ever: set[str] = set()  # tags known to have had a value (never un-learned)

    @classmethod
    def for_runtime(cls, runtime: Any, buffer: TrendBuffer | None = None) -> TrendData:
        """Queries on `runtime`'s data dir, with its project's alarm messages for the marks."""
        from alarms.config import alarm_name  # the alarm package is optional in a build

        alarms = getattr(getattr(runtime, "project", None), "alarms", [])
        return cls(runtime.data_dir, buffer, {alarm_name(a): a.message for a in alarms},
                   {alarm_name(a): a.tag for a in alarms})

    # ---- connections ----------------------------------------------------------------------------
    def reader(self) -> HistoryReader | None:
        """This thread's history reader, or None while there is no history file."""
        reader = getattr(self._local, "reader", None)
        if reader is None:
            try:
                reader = HistoryReader(self.history_path, busy_timeout_s=2.0)
            except HistoryDbError:
                return None
            self._local.reader = reader
            with self._lock:
                self._conns.append(reader)
        return reader

    def _journal(self) -> sqlite3.Connection | None:
        conn = getattr(self._local, "journal", None)
        if conn is None:
            if not self.journal_path.exists():
                return None
            conn = sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True, timeout=2.0,
                                   check_same_thread=False)
            self._local.journal = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connections (the trend is closing). Any thread."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # ---- series ---------------------------------------------------------------------------------
    def has_data(self, tag: str) -> bool:
        """Whether `tag` ever had a stored value (raw or rolled up) or a live sample; gap
        markers alone (the historian writes one per tag at every stop) do not count."""
        if tag in self._ever:
            return True
        reader = self.reader()
        found = False
        if reader is not None:
            try:
                tag_id = reader.tag_id(tag)
            except UnknownTag:
                tag_id = None
            if tag_id is not None:
                found = any(reader.conn.execute(sql, (tag_id,)).fetchone() for sql in (
                    "SELECT 1 FROM samples WHERE tag_id = ? AND value IS NOT NULL LIMIT 1",
                    "SELECT 1 FROM rollup_1h WHERE tag_id = ? AND n > 0 LIMIT 1"))
        if not found and self.buffer is not None:
            found = self.buffer.first_ts(tag) is not None
        if found:
            self._ever.add(tag)
        return found

    def series(self, tag: str, t0: float, t1: float, buckets: int) -> Series:
        """Min/max per bucket of [t0, t1) from the historian (rollups for wide buckets), the
        live buffer's samples after the history's last row, and the BAD stretches."""
        buckets = max(1, int(buckets))
        empty = np.empty(0)
        if not self.has_data(tag):
            return Series(tag, t0, t1, buckets, empty, empty, known=False)
        reader = self.reader()
        t, v, bucket_s, source, gaps = empty, empty, (t1 - t0) / buckets, "", []
        if reader is not None and reader.has_tag(tag):
            dec = reader.decimated(tag, t0, t1, buckets)
            t, v, bucket_s, source = dec.t, dec.v, dec.bucket_s, dec.source
            t, v, gaps = _edges(reader, tag, t0, t1, t, v)
        if self.buffer is not None:
            lt, lv = self.buffer.since(tag, t[-1] if len(t) else t0)
            keep = lt < t1
            if keep.any():
                t, v = np.concatenate([t, lt[keep]]), np.concatenate([v, lv[keep]])
                source = f"{source}+live" if source else "live"
        return Series(tag, t0, t1, buckets, t, v, bucket_s, source, True, gaps)

    def value_at(self, tag: str, ts: float) -> Sample | None:
        """The sample in force at `ts`: the live buffer's when it still holds that time (the
        historian may lag or have thinned it by its deadband), else the historian's."""
        if self.buffer is not None:
            first = self.buffer.first_ts(tag)
            if first is not None and first <= ts:
                t, v = self.buffer.since(tag)
                i = int(np.searchsorted(t, ts, side="right")) - 1
                if i >= 0:
                    value = float(v[i])
                    if value != value:  # NaN: BAD then
                        return Sample(tag, None, float(t[i]), Quality.BAD, "bad quality")
                    return Sample(tag, value, float(t[i]))
        reader = self.reader()
        if reader is None or not reader.has_tag(tag):
            return None
        return reader.value_at(tag, ts)

    def values_at(self, tags: Iterable[str], times: Iterable[float]
                  ) -> tuple[list[float], dict[str, list[float | None]]]:
        """(times, {tag: value at each time}): what the cursors show; None where the value
        was BAD, unknown or not a number."""
        times = list(times)
        values: dict[str, list[float | None]] = {}
        for tag in tags:
            row: list[float | None] = []
            for ts in times:
                sample = self.value_at(tag, ts)
                ok = (sample is not None and sample.quality is not Quality.BAD
                      and isinstance(sample.value, int | float))
                row.append(float(sample.value) if ok else None)  # type: ignore[union-attr]
            values[tag] = row
        return times, values

    # ---- alarm journal ----------------------------------------------------------------------
    def alarm_events(self, tags: Iterable[str], t0: float, t1: float,
                     limit: int = MAX_EVENTS) -> list[AlarmEvent]:
        """Raise / re-alarm / acknowledge / return-to-normal rows of alarms on `tags`."""
        tags = list(dict.fromkeys(tags))
        conn = self._journal()
        if conn is None or not tags:
            return []
        marks = ",".join("?" * len(tags))
        events = ",".join("?" * len(MARKER_EVENTS))
        try:
            rows = conn.execute(
                "SELECT ts, alarm, tag, priority, event, state, value, user FROM alarm_journal "
                f"WHERE ts >= ? AND ts <= ? AND tag IN ({marks}) AND event IN ({events}) "
                f"ORDER BY ts, id LIMIT {int(limit)}",
                (t0, t1, *tags, *MARKER_EVENTS)).fetchall()
        except sqlite3.OperationalError:  # a journal file without the table yet
            return []
        return [AlarmEvent(ts, alarm, tag or "", priority or "low", event, state or "", value,
                           user or "", self.messages.get(alarm, ""))
                for ts, alarm, tag, priority, event, state, value, user in rows]

    def alarm_intervals(self, tag: str, t0: float, t1: float) -> list[tuple[float, float]]:
        """Stretches of [t0, t1) in which some alarm of `tag` was active (ISA-18.2 states B
        and C), merged across the tag's alarms: the statistics panel's "time in alarm"."""
        conn = self._journal()
        if conn is None:
            return []
        try:
            alarms = self._alarms_of.get(tag) or [r[0] for r in conn.execute(
                "SELECT DISTINCT alarm FROM alarm_journal WHERE tag = ?", (tag,))]
            before = [(a, conn.execute(  # the state each alarm was in at t0 (index alarm, ts)
                "SELECT state FROM alarm_journal WHERE alarm = ? AND ts < ? "
                "ORDER BY ts DESC, id DESC LIMIT 1", (a, t0)).fetchone()) for a in alarms]
            marks = ",".join("?" * len(alarms))
            rows = conn.execute(f"SELECT ts, alarm, state FROM alarm_journal WHERE alarm IN "
                                f"({marks}) AND ts >= ? AND ts < ? ORDER BY ts, id",
                                (*alarms, t0, t1)).fetchall() if alarms else []
        except sqlite3.OperationalError:
            return []
        active_since: dict[str, float] = {a: t0 for a, s in before if s and s[0] in ("B", "C")}
        spans: list[tuple[float, float]] = []
        for ts, alarm, state in rows:
            if state in ("B", "C"):
                active_since.setdefault(alarm, ts)
            elif alarm in active_since:
                spans.append((active_since.pop(alarm), ts))
        spans += [(start, t1) for start in active_since.values()]
        return merge_spans(spans)


def last_raise(journal_path: Path | str, alarm: str, at: float) -> float | None:
    """When `alarm` was last raised at or before `at` (its journal's "raise" rows; None when
    it never was, or there is no journal yet): where "trend around this alarm" centres, also
    for an alarm that has cleared or for its acknowledge row. Worker thread (opens and closes
    its own read-only connection)."""
    path = Path(journal_path)
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
    try:
        row = conn.execute("SELECT MAX(ts) FROM alarm_journal WHERE alarm = ? AND event = ? "
                           "AND ts <= ?", (alarm, "raise", at)).fetchone()
    except sqlite3.OperationalError:  # a journal file without the table yet
        return None
    finally:
        conn.close()
    return None if row is None or row[0] is None else float(row[0])


def merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of [start, end) spans, sorted and non-overlapping."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif end > start:
            out.append((start, end))
    return out


def nan_runs(t: np.ndarray, v: np.ndarray, end: float) -> list[tuple[float, float]]:
    """(start, end) of each stretch that begins at a NaN point, up to the next finite point
    (or `end` when none follows): where a plotted line is broken."""
    if not len(v):
        return []
    bad = ~np.isfinite(v)
    if not bad.any():
        return []
    starts = np.flatnonzero(bad & np.r_[True, ~bad[:-1]])
    good = np.flatnonzero(~bad)
    after = np.searchsorted(good, starts)  # the first good point after each start
    stops = np.where(after < len(good), t[good[np.minimum(after, max(len(good) - 1, 0))]]
                     if len(good) else end, end)
    keep = stops > t[starts]
    return list(zip(t[starts][keep].tolist(), np.asarray(stops, dtype=float)[keep].tolist(),
                    strict=True))


def _edges(reader: HistoryReader, tag: str, t0: float, t1: float, t: np.ndarray,
           v: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float, str]]]:
    """The historian stores on change (deadband, heartbeat): the value in force at t0 was
    stored before it, and the last value holds until the next row. So the line starts at t0
    with that value (or a break, if it was BAD: the view opens inside a gap) and, when a later
    row proves the value held, runs on to t1. Also returns the line's breaks with the reason
    of the gap marker that opened each (one indexed query: the partial index on gap rows)."""
    lead = ""
    if not len(t) or t[0] > t0:
        before = reader.value_at(tag, t0)
        if before is not None and before.quality is Quality.BAD:
            lead = before.reason
            t, v = np.r_[t0, t], np.r_[np.nan, v]
        elif before is not None and isinstance(before.value, int | float):
            t, v = np.r_[t0, t], np.r_[float(before.value), v]
    if len(t) and t[-1] < t1 and np.isfinite(v[-1]):
        later = reader.conn.execute("SELECT 1 FROM samples WHERE tag_id = ? AND t >= ? LIMIT 1",
                                    (reader.tag_id(tag), round(t1 * 1000))).fetchone()
        if later is not None:
            t, v = np.r_[t, t1], np.r_[v, v[-1]]
    markers = reader.conn.execute(  # without INDEXED BY the planner walked the primary key:
        # 160 ms a pen over 30 days of 1 s rows instead of < 1 ms (no ANALYZE statistics)
        "SELECT t, reason FROM samples INDEXED BY ix_samples_gap WHERE tag_id = ? AND t >= ? "
        "AND t < ? AND value IS NULL AND quality = 0 ORDER BY t LIMIT 10000",
        (reader.tag_id(tag), round(t0 * 1000), round(t1 * 1000))).fetchall()
    at = np.array([m[0] / 1000 for m in markers])
    gaps = []
    for start, end in nan_runs(t, v, min(t1, time.time())):
        i = int(np.searchsorted(at, start + 1e-3, side="right")) - 1  # the marker that opened it
        reason = markers[i][1] if i >= 0 and at[i] <= end else lead if start == t0 else ""
        gaps.append((start, end, reason or ""))
    return t, v, gaps


def step_points(t: np.ndarray, v: np.ndarray, min_hold_s: float = 0.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Sample-and-hold drawing: each value holds until the next point, as the historian
    stores it (on change), instead of a straight line that would invent a ramp between two
    stored values. NaN points still break the line.

    Only holds longer than `min_hold_s` (a bucket, i.e. a pixel) get the extra corner point:
    where points are a pixel apart a hold is invisible, and every point costs drawing time
    on each frame of a pan (pyqtgraph re-clips and re-bounds every curve per view change)."""
    if len(t) < 2:
        return t, v
    at = np.flatnonzero(np.diff(t) > min_hold_s) + 1  # a corner before each of these points
    if not len(at):
        return t, v
    return np.insert(t, at, t[at]), np.insert(v, at, v[at - 1])
