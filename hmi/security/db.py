"""`<data>/security.db`: users, login failures, lockouts, the audit trail, station commands.

Why one file: a user change and its audit entry commit in one transaction, so neither exists
without the other; and restoring an older copy of the file is caught by the audit anchor for
the users table too. WAL (the CLI reads while the station writes) and `synchronous=FULL`
(a committed audit entry survives a power cut). Several processes write (the station, the
CLI): every write is one `BEGIN IMMEDIATE` transaction. One connection per `SecurityDb`,
guarded by a lock; any thread may call. The audit table is append-only by triggers as well as
by the program; the triggers are a speed bump, the HMAC chain is the proof. A trigger found
missing when an existing file is opened is not put back here: `AuditTrail.restore_triggers`
re-creates it in the same transaction as an `audit.trigger_restored` entry, so the drop stays
on record instead of healing silently. The file holds password hashes and the trail: it is
created 0600 (SQLite gives its -wal and -shm the database's mode) in a folder created 0700,
and an existing one of ours readable by others is tightened on open.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    hash TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created REAL NOT NULL,
    created_by TEXT NOT NULL,
    changed REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    name TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_login_failures ON login_failures(name, ts);
CREATE TABLE IF NOT EXISTS lockouts (
    name TEXT PRIMARY KEY,
    until REAL NOT NULL,
    count INTEGER NOT NULL,
    since REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    station TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    details TEXT NOT NULL,
    result TEXT NOT NULL,
    tag TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_audit_ts ON audit(ts);
CREATE TABLE IF NOT EXISTS station_commands (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    user TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    result TEXT NOT NULL DEFAULT '',
    done_ts REAL
);
CREATE TABLE IF NOT EXISTS station_heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    ts REAL NOT NULL,
    pid INTEGER NOT NULL
);
"""
TRIGGER_SQL = {  # name -> statement; CREATE ... IF NOT EXISTS, so re-running is harmless
    "audit_no_update": "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
                       "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
    "audit_no_delete": "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
                       "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
}
TRIGGERS = tuple(TRIGGER_SQL)
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_file(path: Path) -> None:
    """Create `path` 0600 before SQLite opens it, or tighten it (and its -wal, -shm) if it is
    ours and others may read it. Another account's file is left alone (chmod would fail)."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass
    else:
        return
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if name.stat().st_mode & 0o077:
                os.chmod(name, PRIVATE_FILE)


class SecurityDb:
    """The connection to security.db. `busy_timeout_s`: how long a write waits for another
    process's lock before giving up (then the action it would record is refused)."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        private_file(self.path)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(self.path, timeout=busy_timeout_s, check_same_thread=False,
                                    isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        self._closed = False
        with self.lock:
            if not self._has_audit(self.conn):
                with self.transaction() as tx:  # a new trail, made whole in one go, so no
                    if not self._has_audit(tx):  # other process sees it without triggers
                        for statement in filter(str.strip, SCHEMA.split(";")):
                            tx.execute(statement)
                        for statement in TRIGGER_SQL.values():
                            tx.execute(statement)
            self.conn.executescript(SCHEMA)  # tables added since an older file was made
            # on an existing trail a dropped trigger waits for AuditTrail.restore_triggers,
            # which puts it back together with an audit entry saying so
            self.missing_triggers = self.absent_triggers()

    @staticmethod
    def _has_audit(conn: sqlite3.Connection) -> bool:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                            "name = 'audit'").fetchone() is not None

    def absent_triggers(self, conn: sqlite3.Connection | None = None) -> list[str]:
        """The append-only triggers not in the schema now."""
        with self.lock:
            present = {r[0] for r in (conn or self.conn).execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        return [t for t in TRIGGERS if t not in present]

    def create_triggers(self, conn: sqlite3.Connection) -> list[str]:
        """Inside `conn`'s open transaction: re-create the absent triggers (checked again
        under the write lock, so two processes opening the file restore them once)."""
        absent = self.absent_triggers(conn)
        for name in absent:
            conn.execute(TRIGGER_SQL[name])
        return absent

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE ... COMMIT`; rolled back on any error. sqlite3.Error escapes."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def select(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, params)

    def close(self) -> None:
        with self.lock:
            if not self._closed:
                self._closed = True
                self.conn.close()
