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

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmi.tags import iso_utc

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
        self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            self._db.executescript(SCHEMA)
        self._rows: list[tuple] = []
        self._states: dict[str, tuple[str, float]] = {}
        self._beat: tuple[float, int] | None = None
        self.rows_written = 0

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

    def flush(self) -> int:
        """Commit everything buffered in one durable transaction; returns journal rows written."""
        with self._lock:
            rows, self._rows = self._rows, []
            states, self._states = self._states, {}
            beat, self._beat = self._beat, None
            if not rows and not states and beat is None:
                return 0
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
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
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self.rows_written += len(rows)
            return len(rows)

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
        return [{"id": r[0], "ts": r[1], "action": r[2], "alarm": r[3],
                 "args": json.loads(r[4]), "user": r[5], "role": r[6]} for r in rows]

    def finish_command(self, command_id: int, status: str, result: str, now: float) -> None:
        with self._lock:
            self._db.execute("UPDATE alarm_commands SET status = ?, result = ?, done_ts = ? "
                             "WHERE id = ?", (status, result, now, command_id))

    def command_status(self, command_id: int) -> tuple[str, str] | None:
        rows = self._select("SELECT status, result FROM alarm_commands WHERE id = ?",
                            (command_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()
