"""`<data_dir>/mes.db`: the outbox and everything production tracking must not forget.

Why one SQLite file with `synchronous=FULL` and WAL: an event whose cause was committed must
never be lost, so the cause and its event are written in one transaction: a state change and
its `state.changed` row, a context change and its `workorder.started`, and (for alarms) the
alarm journal cursor and the events made from the rows up to it. A crash at any moment then
leaves either both or neither, and a restart resumes from what was committed. WAL lets the CLI
and the sender read while the station writes.

Tables: `outbox` (pending events, gapless `seq`), `quarantine` (refused events with the
reason), `meta` (next seq, journal cursor, counter readings, last error), `context` (per line),
`state_log`, `count_log`, `downtimes`, `work_orders` (what OEE is computed from),
`mes_commands` and `mes_heartbeat` (CLI -> running station, as `alarms.commands` does).

One `MesStore` per process writes: the station's `hmi-mes` thread, or a CLI command when no
station runs. Its lock makes it safe to call from other threads, but writes belong to one.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from hmi.mes.events import PendingEvent, encode

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ts REAL NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    size INTEGER NOT NULL,
    enqueued REAL NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS quarantine (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    ts REAL NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    size INTEGER NOT NULL,
    enqueued REAL NOT NULL,
    tries INTEGER NOT NULL,
    reason TEXT NOT NULL,
    quarantined REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS context (line TEXT PRIMARY KEY, data TEXT NOT NULL,
                                    updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS state_log (id INTEGER PRIMARY KEY, line TEXT NOT NULL,
                                      ts REAL NOT NULL, state TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_state_log ON state_log(line, ts);
CREATE TABLE IF NOT EXISTS count_log (id INTEGER PRIMARY KEY, line TEXT NOT NULL,
    t0 REAL NOT NULL, t1 REAL NOT NULL, product TEXT NOT NULL, work_order TEXT NOT NULL,
    good INTEGER NOT NULL, reject INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_count_log ON count_log(line, t1);
CREATE TABLE IF NOT EXISTS downtimes (
    id TEXT PRIMARY KEY,
    line TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL,
    state TEXT NOT NULL,
    reason TEXT,
    reason_source TEXT NOT NULL DEFAULT '',
    shift TEXT NOT NULL DEFAULT '',
    continues TEXT,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ix_downtimes ON downtimes(line, start);
CREATE TABLE IF NOT EXISTS work_orders (
    line TEXT NOT NULL,
    work_order TEXT NOT NULL,
    product TEXT NOT NULL,
    lot TEXT NOT NULL,
    started REAL NOT NULL,
    completed REAL,
    PRIMARY KEY (line, started)
);
CREATE TABLE IF NOT EXISTS mes_commands (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    action TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '{}',
    user TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending',
    result TEXT NOT NULL DEFAULT '',
    done_ts REAL
);
CREATE TABLE IF NOT EXISTS mes_heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1),
                                          ts REAL NOT NULL, pid INTEGER NOT NULL);
"""

DOWNTIME_COLUMNS = ("id", "line", "start", "end", "state", "reason", "reason_source", "shift",
                    "continues", "comment")


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, FULL sync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA busy_timeout=10000")
    if not readonly:
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


class MesStore:
    """The writer side of `mes.db` (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = connect(self.path)
        self.lock = threading.RLock()
        with self.lock:
            self.db.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (e.g. a full disk)."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back itself
                    self.db.execute("ROLLBACK")
                raise

    def select(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self.lock:
            return self.db.execute(sql, tuple(params)).fetchall()

    # ---- meta ---------------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        rows = self.select("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def meta_prefix(self, prefix: str) -> dict[str, Any]:
        rows = self.select("SELECT key, value FROM meta WHERE key >= ? AND key < ?",
                           (prefix, prefix + "\uffff"))
        return dict(rows)

    @staticmethod
    def set_meta(db: sqlite3.Connection, items: dict[str, Any]) -> None:
        db.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO "
                       "UPDATE SET value = excluded.value", list(items.items()))

    # ---- outbox (inside a transaction) --------------------------------------------------------
    @staticmethod
    def append_events(db: sqlite3.Connection, events: Sequence[PendingEvent], source: str,
                      now: float) -> tuple[int, int]:
        """Give the events the next seqs and insert them; returns (count, bytes). The counter
        is read inside the transaction, so two writers (a CLI racing a starting station)
        still never share a seq, and a rolled-back transaction uses none."""
        if not events:
            return 0, 0
        row = db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
        seq = int(row[0]) if row else 1
        rows = []
        size = 0
        for event in events:
            body = encode(event, source, seq)
            rows.append((seq, event.id, event.ts, event.type, body, len(body), now))
            size += len(body)
            seq += 1
        db.executemany("INSERT INTO outbox (seq, id, ts, type, body, size, enqueued) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        MesStore.set_meta(db, {"next_seq": seq})
        return len(rows), size

    def pending_totals(self) -> tuple[int, int, float | None]:
        """(events, bytes, oldest enqueue time) of the outbox."""
        count, size, oldest = self.select(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(enqueued) FROM outbox")[0]
        return int(count), int(size), oldest

    # ---- context and records (inside a transaction) -------------------------------------------
    def load_contexts(self) -> dict[str, dict[str, Any]]:
        return {line: json.loads(data)
                for line, data in self.select("SELECT line, data FROM context")}

    @staticmethod
    def save_context(db: sqlite3.Connection, line: str, data: dict[str, Any], now: float
                     ) -> None:
        db.execute("INSERT INTO context (line, data, updated) VALUES (?, ?, ?) ON CONFLICT(line) "
                   "DO UPDATE SET data = excluded.data, updated = excluded.updated",
                   (line, json.dumps(data), now))

    @staticmethod
    def upsert_downtime(db: sqlite3.Connection, downtime: dict[str, Any]) -> None:
        values = tuple(downtime.get(c) for c in DOWNTIME_COLUMNS)
        db.execute(f"INSERT OR REPLACE INTO downtimes ({', '.join(DOWNTIME_COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(DOWNTIME_COLUMNS))})",
                   tuple("" if v is None and c in ("reason_source", "shift", "comment") else v
                         for c, v in zip(DOWNTIME_COLUMNS, values, strict=True)))

    # ---- commands from other processes --------------------------------------------------------
    def beat(self, wall: float, pid: int, last_seen: float) -> None:
        """The running station's heartbeat (`wall`: time.time(), which the CLI compares with
        its own clock) and the last moment its line states were known (the station clock)."""
        with self.transaction() as db:
            self.write_heartbeat(db, wall, pid)
            self.set_meta(db, {"last_seen": last_seen})

    @staticmethod
    def write_heartbeat(db: sqlite3.Connection, wall: float, pid: int) -> None:
        db.execute("INSERT OR REPLACE INTO mes_heartbeat (id, ts, pid) VALUES (1, ?, ?)",
                   (wall, pid))

    def clear_heartbeat(self) -> None:
        with self.lock:
            self.db.execute("DELETE FROM mes_heartbeat")

    def heartbeat(self) -> tuple[float, int] | None:
        rows = self.select("SELECT ts, pid FROM mes_heartbeat WHERE id = 1")
        return (rows[0][0], rows[0][1]) if rows else None

    def submit_command(self, now: float, action: str, args: dict[str, Any], user: str) -> int:
        with self.lock:
            cur = self.db.execute("INSERT INTO mes_commands (ts, action, args, user) "
                                  "VALUES (?, ?, ?, ?)", (now, action, json.dumps(args), user))
            return int(cur.lastrowid or 0)

    def pending_commands(self) -> list[dict[str, Any]]:
        rows = self.select("SELECT id, ts, action, args, user FROM mes_commands "
                           "WHERE status = 'pending' ORDER BY id")
        return [{"id": r[0], "ts": r[1], "action": r[2], "args": json.loads(r[3]),
                 "user": r[4]} for r in rows]

    def finish_command(self, command_id: int, status: str, result: str, now: float) -> None:
        with self.lock:
            self.db.execute("UPDATE mes_commands SET status = ?, result = ?, done_ts = ? "
                            "WHERE id = ?", (status, result, now, command_id))

    def command_status(self, command_id: int) -> tuple[str, str] | None:
        rows = self.select("SELECT status, result FROM mes_commands WHERE id = ?",
                           (command_id,))
        return (rows[0][0], rows[0][1]) if rows else None
