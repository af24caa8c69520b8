"""The historian's tables, how a database file is opened, and how its schema is upgraded.

Why these shapes:
- Time is INTEGER milliseconds since the epoch (UTC). In a `WITHOUT ROWID` table the key
  (tag_id, t) *is* the row's place in the B-tree, and a 6-byte integer varint keeps it compact
  (a REAL is always 8 bytes) and compares exactly, so "the sample at t" is a key lookup. Drivers
  poll at >= 10 ms, so millisecond resolution loses nothing an operator can see.
- Values are REAL (bools 0/1) so the numeric path stays one column; strings (and arrays, as JSON)
  go in the nullable `text` column. A NULL value with quality BAD is a *gap marker*: the device
  was unreachable or the runtime was down from that time until the tag's next sample, so a trend
  draws a break there instead of a straight line. `reason` is NULL for GOOD samples (one byte).
- `gaps` keeps whole-station intervals (runtime down / stopped) for diagnostics and exports.
- Rollups (1 min, 1 h) keep min and max *with their times*, first/last, sum and count, plus the
  first bad time in the bucket, so a 30-day trend is drawn from ~43k rows instead of millions.
- The schema version is SQLite's `user_version`; `MIGRATIONS[n]` upgrades version n to n+1.

Pragmas: WAL so readers (trends, exports) never block the writer; `synchronous=NORMAL`, since a
killed process cannot lose committed WAL frames (only an OS crash or power cut could lose the
last transactions, and they are samples, not the audit trail, which uses FULL).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DB_NAME = "history.db"

metadata = MetaData()

tags_table = Table(
    "tags", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("created_ms", Integer, nullable=False),
)

samples_table = Table(
    "samples", metadata,
    Column("tag_id", Integer, primary_key=True, autoincrement=False),
    Column("t", Integer, primary_key=True, autoincrement=False),  # epoch ms, UTC
    Column("value", Float, nullable=True),  # NULL: a string value or a gap (quality BAD)
    Column("quality", Integer, nullable=False),  # hmi.tags.Quality
    Column("text", String, nullable=True),  # string values, arrays as JSON
    Column("reason", String, nullable=True),  # why not GOOD; NULL when GOOD
    sqlite_with_rowid=False,
)
# Partial index over gap markers only: a trend finds the breaks in a range without a scan.
Index("ix_samples_gap", samples_table.c.tag_id, samples_table.c.t,
      sqlite_where=samples_table.c.value.is_(None))


def _rollup(name: str) -> Table:
    return Table(
        name, metadata,
        Column("tag_id", Integer, primary_key=True, autoincrement=False),
        Column("t", Integer, primary_key=True, autoincrement=False),  # bucket start, epoch ms
        Column("n", Integer, nullable=False),  # numeric samples in the bucket
        Column("vmin", Float), Column("tmin", Integer),
        Column("vmax", Float), Column("tmax", Integer),
        Column("vfirst", Float), Column("tfirst", Integer),
        Column("vlast", Float), Column("tlast", Integer),
        Column("vsum", Float),
        Column("nbad", Integer, nullable=False),  # gap markers in the bucket
        Column("tbad", Integer),  # first gap marker's time, or NULL
        sqlite_with_rowid=False,
    )


rollup_1m_table = _rollup("rollup_1m")
rollup_1h_table = _rollup("rollup_1h")

gaps_table = Table(
    "gaps", metadata,
    Column("id", Integer, primary_key=True),
    Column("t0", Integer, nullable=False),  # epoch ms, last data before the gap
    Column("t1", Integer, nullable=False),  # epoch ms, runtime back
    Column("reason", String, nullable=False),
)

meta_table = Table(
    "meta", metadata,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)


class HistoryDbError(Exception):
    """The history database cannot be used (locked, unreadable). The message says what to do."""


def _create_v1(conn: sqlite3.Connection, path: Path) -> None:
    """Version 0 -> 1: create every table through SQLAlchemy (one source of truth for DDL)."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


MIGRATIONS: dict[int, Callable[[sqlite3.Connection, Path], None]] = {0: _create_v1}


def connect(path: Path, busy_timeout_s: float = 5.0) -> sqlite3.Connection:
    """A raw connection in autocommit mode (we issue BEGIN/COMMIT ourselves) with our pragmas.
    Raises `sqlite3.DatabaseError` if the file is not a database, `OperationalError` if locked."""
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-16000")  # 16 MB: a day of one tag stays cached
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _upgrade(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryDbError(f"{path} has schema version {version}, newer than this program "
                             f"({SCHEMA_VERSION}): upgrade hmi-station or use another --data dir")
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](conn, path)
        version += 1
        conn.execute(f"PRAGMA user_version={version}")
        log.info("history database %s upgraded to schema version %d", path, version)


def _move_aside(path: Path, why: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    log.error("HISTORY DATABASE %s IS CORRUPT (%s): moved aside to %s and a new one started. "
              "Keep the old file for recovery; recorded history is NOT in the new one.",
              path, why, target)
    return target


def _locked(exc: sqlite3.Error) -> bool:
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def open_db(path: Path, busy_timeout_s: float = 5.0, create: bool = True,
            recover: bool = True) -> sqlite3.Connection:
    """Open (creating or upgrading) the history database.

    A corrupt file is never overwritten: with `recover` it is renamed to
    `history.db.corrupt-<time>` with a loud log line and a fresh database is started; without it,
    `HistoryDbError` explains. A locked file raises `HistoryDbError` naming the cause.
    """
    if not create and not path.exists():
        raise HistoryDbError(f"no history database at {path} (has the runtime recorded here?)")
    try:
        conn = connect(path, busy_timeout_s)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            _upgrade(conn, path)
        except BaseException:
            conn.close()
            raise
    except sqlite3.OperationalError as exc:
        if _locked(exc):
            raise HistoryDbError(f"{path} is locked by another process ({exc}); "
                                 "stop it or try again") from None
        raise HistoryDbError(f"cannot open {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        if not recover:
            raise HistoryDbError(f"{path} is not a usable database ({exc}); "
                                 "the runtime moves it aside on its next start") from None
        _move_aside(path, str(exc))
        return open_db(path, busy_timeout_s, create=True, recover=False)
    return conn


def db_size_bytes(path: Path) -> int:
    """File size including the WAL: what the database costs on disk right now."""
    total = 0
    for suffix in ("", "-wal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            total += side.stat().st_size
    return total


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: object) -> None:
    """Caller owns the transaction."""
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))
