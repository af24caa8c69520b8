"""The alarm journal: every transition and operator action, durable, in `<data_dir>/alarms.db`.

Why SQLite with `synchronous=FULL` and WAL: a row the engine reported as written must survive a
power cut or `kill -9` (the journal is the record an incident review reads), and the CLI must be
able to read while the station writes. Rows are buffered by the engine's thread and committed
in one transaction per service cycle (a few per second), so the fsync cost is paid per cycle,
not per row: that is what makes 10,000 alarms affordable (see `hmi bench --only alarms`).

The same file holds the current alarm states (`alarm_state`, for `hmi alarms active` from
another process and for a restart), the heartbeat of the running service (`alarm_heartbeat`)
and operator commands queued by the CLI for that service (`alarm_commands`; see
`alarms.commands`). One connection per `Journal`; thread-safe by a lock, used mainly by one
thread (the service's `hmi-alarms`, or a CLI command).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmi.tags import iso_utc
from hmi.writebuffer import JOURNAL_ROW_BYTES, Usage

SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm_journal (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    alarm TEXT NOT NULL,
    tag TEXT,
    area TEXT,
    priority TEXT,
    severity INTEGER,
    event TEXT NOT NULL,
    state TEXT,
    value,
    limit_value REAL,
    user TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ix_alarm_journal_ts ON alarm_journal(ts);
CREATE INDEX IF NOT EXISTS ix_alarm_journal_alarm ON alarm_journal(alarm, ts);
CREATE INDEX IF NOT EXISTS ix_alarm_journal_event ON alarm_journal(event, ts);
CREATE TABLE IF NOT EXISTS alarm_state (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS alarm_commands (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    action TEXT NOT NULL,
    alarm TEXT,
    args TEXT NOT NULL DEFAULT '{}',
    user TEXT NOT NULL DEFAULT '',
    role TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    result TEXT NOT NULL DEFAULT '',
    done_ts REAL
);
CREATE TABLE IF NOT EXISTS alarm_heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    ts REAL NOT NULL,
    pid INTEGER NOT NULL
);
"""

BUSY_TIMEOUT_S = 2.0
_INSERT = ("INSERT INTO alarm_journal (ts, alarm, tag, area, priority, severity, event, state, "
           "value, limit_value, user, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
COLUMNS = ("ts", "alarm", "tag", "area", "priority", "severity", "event", "state", "value",
           "limit", "user", "comment")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal row. `ts` in epoch seconds; `state` is the ISA-18.2 letter after the event."""

    ts: float
    alarm: str
    tag: str
    area: str
    priority: str
    severity: int
    event: str
    state: str
    value: Any = None
    limit: float | None = None
    user: str = ""
    comment: str = ""


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


class Journal:
    """The SQLite file behind the alarm manager. See the module docstring for why."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # 2 s, not longer: a commit waiting on another program's lock blocks the alarm
        # thread; past 2 s the rows are held in memory and retried (issue 11)
        self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        with self._lock:
            self._db.executescript(SCHEMA)
        self._rows: list[tuple] = []
        self._states: dict[str, tuple[str, float]] = {}
        self._beat: tuple[float, int] | None = None
        self._finished: dict[int, tuple[str, str, float]] = {}  # command id -> status, result
        self.rows_written = 0
        # rows waiting for the disk (see hmi.writebuffer); the owner (service) shares it with
        # the historian's budget
        self.usage = Usage(JOURNAL_ROW_BYTES)

    # ---- writing (buffered, one transaction per flush) ---------------------------------------
    def append(self, entry: JournalEntry) -> None:
        e = entry  # a plain tuple, not dataclasses.astuple: that deep-copies and was 3x slower
        row = (e.ts, e.alarm, e.tag, e.area, e.priority, e.severity, e.event, e.state,
               _scalar(e.value), e.limit, e.user, e.comment)
        with self._lock:
            self._rows.append(row)

    def save_state(self, name: str, data: dict[str, Any], now: float) -> None:
        with self._lock:
            self._states[name] = (json.dumps(data, default=str), now)

    def beat(self, now: float, pid: int) -> None:
        """Record that a service owns this journal (written with the next flush)."""
        with self._lock:
            self._beat = (now, pid)

    def pending(self) -> int:
        with self._lock:
            return len(self._rows) + len(self._states)

    def buffered_rows(self) -> int:
        """Journal rows not yet on disk (any thread)."""
        return len(self._rows)

    def flush(self) -> int:
        """Commit everything buffered in one durable transaction; returns journal rows written.

        If the database refuses (disk full, locked, I/O error), everything is kept for the next
        flush, in order (states merged, newer over older) and the error is raised: a journal
        row is never lost to a failing commit (issue 11), only to `trim` when over budget."""
        with self._lock:
            rows, self._rows = self._rows, []
            states, self._states = self._states, {}
            beat, self._beat = self._beat, None
            finished, self._finished = self._finished, {}
            if not rows and not states and beat is None and not finished:
                return 0
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                if rows:
                    db.executemany(_INSERT, rows)
                if states:
                    db.executemany(
                        "INSERT INTO alarm_state (name, data, updated) VALUES (?, ?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET data = excluded.data, "
                        "updated = excluded.updated",
                        [(name, data, ts) for name, (data, ts) in states.items()])
                if beat is not None:
                    db.execute("INSERT OR REPLACE INTO alarm_heartbeat (id, ts, pid) "
                               "VALUES (1, ?, ?)", beat)
                if finished:
                    db.executemany("UPDATE alarm_commands SET status = ?, result = ?, "
                                   "done_ts = ? WHERE id = ?",
                                   [(*answer, cid) for cid, answer in finished.items()])
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLITE_FULL may already have rolled it back
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                self._rows = rows + self._rows
                states.update(self._states)
                self._states = states
                self._beat = self._beat or beat
                finished.update(self._finished)
                self._finished = finished
                self._account()
                raise
            self.rows_written += len(rows)
            self._account()
            return len(rows)

    def _account(self) -> None:
        self.usage.rows = len(self._rows)

    def trim(self, max_rows: int, max_bytes: int) -> tuple[int, float | None, float | None]:
        """Drop the oldest unwritten rows beyond the limits: (count, first ts, last ts) of the
        rows dropped. Only when the journal alone exceeds the whole budget (history goes
        first: see `hmi.writebuffer`)."""
        with self._lock:
            limit = min(max_rows, max_bytes // JOURNAL_ROW_BYTES)
            excess = len(self._rows) - limit
            if excess <= 0:
                return 0, None, None
            dropped, self._rows = self._rows[:excess], self._rows[excess:]
            self.usage.dropped += excess
            self._account()
            return excess, dropped[0][0], dropped[-1][0]

    def purge(self, before: float) -> int:
        """Delete journal rows older than `before` and answered commands; returns rows deleted."""
        with self._lock:
            deleted = self._db.execute("DELETE FROM alarm_journal WHERE ts < ?",
                                       (before,)).rowcount
            self._db.execute("DELETE FROM alarm_commands WHERE status != 'pending' AND ts < ?",
                             (before,))
            return deleted

    def clear_heartbeat(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM alarm_heartbeat")

    # ---- reading -------------------------------------------------------------------------------
    def _select(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def query(self, start: float | None = None, end: float | None = None, *,
              alarm: str | None = None, area: str | None = None, priority: str | None = None,
              tag: str | None = None, state: str | None = None, event: str | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:
        """Journal rows in time order, filtered. `area` matches the area and everything below."""
        where, params = [], []
        for column, value in (("alarm", alarm), ("priority", priority), ("tag", tag),
                              ("state", state), ("event", event)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if area is not None:
            where.append("(area = ? OR area LIKE ?)")
            params += [area, area.rstrip("/") + "/%"]
        if start is not None:
            where.append("ts >= ?")
            params.append(start)
        if end is not None:
            where.append("ts <= ?")
            params.append(end)
        sql = ("SELECT ts, alarm, tag, area, priority, severity, event, state, value, "
               "limit_value, user, comment FROM alarm_journal")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        out = []
        for row in self._select(sql, params):
            item = dict(zip(COLUMNS, row, strict=True))
            item["time"] = iso_utc(item["ts"])
            out.append(item)
        return out

    def load_states(self) -> dict[str, dict[str, Any]]:
        return {name: json.loads(data)
                for name, data in self._select("SELECT name, data FROM alarm_state")}

    def heartbeat(self) -> tuple[float, int] | None:
        rows = self._select("SELECT ts, pid FROM alarm_heartbeat WHERE id = 1")
        return (rows[0][0], rows[0][1]) if rows else None

    # ---- commands from other processes -------------------------------------------------------
    def submit_command(self, now: float, action: str, alarm: str | None, args: dict[str, Any],
                       user: str, role: str | None) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO alarm_commands (ts, action, alarm, args, user, role) "
                "VALUES (?, ?, ?, ?, ?, ?)", (now, action, alarm, json.dumps(args), user, role))
            return int(cur.lastrowid or 0)

    def pending_commands(self) -> list[dict[str, Any]]:
        rows = self._select("SELECT id, ts, action, alarm, args, user, role FROM alarm_commands "
                            "WHERE status = 'pending' ORDER BY id")
        with self._lock:
            done = set(self._finished)  # answered, but the answer is not on disk yet
        return [{"id": r[0], "ts": r[1], "action": r[2], "alarm": r[3],
                 "args": json.loads(r[4]), "user": r[5], "role": r[6]} for r in rows
                if r[0] not in done]

    def finish_command(self, command_id: int, status: str, result: str, now: float) -> None:
        """Answer a command; written with the next `flush` (so a refused write cannot make the
        service apply the command twice)."""
        with self._lock:
            self._finished[command_id] = (status, result, now)

    def command_status(self, command_id: int) -> tuple[str, str] | None:
        with self._lock:
            answer = self._finished.get(command_id)
        if answer is not None:
            return answer[0], answer[1]
        rows = self._select("SELECT status, result FROM alarm_commands WHERE id = ?",
                            (command_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    def close(self) -> None:
        """Flush and close. A refused final flush is raised after the file is closed."""
        try:
            self.flush()
        finally:
            with self._lock:
                self._db.close()
