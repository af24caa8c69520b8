"""Writes from the CLI to a running station, through `security.db`'s command table.

The same pattern as alarm commands (`alarms.commands`): one writer of a device at a time. While
a station runs (its security thread rewrites a heartbeat row every second), `hmi write` checks
the person (password or OS account, and the signature if one is needed), then queues the write
here; the station re-checks the user's role, enabled flag and lockout against the database,
sends the write through its command layer (audited like a GUI write) and answers with a status
and a one-line result. Rows older than `COMMAND_TTL_S` are dropped, never applied late.
Passwords never enter this table: a signature arrives as the verified `SignatureRecord`.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from hmi.security.db import SecurityDb

HEARTBEAT_S = 1.0
ALIVE_S = 5.0
COMMAND_TTL_S = 30.0


def beat(db: SecurityDb, now: float) -> None:
    db.execute("INSERT OR REPLACE INTO station_heartbeat (id, ts, pid) VALUES (1, ?, ?)",
               (now, os.getpid()))


def clear_heartbeat(db: SecurityDb) -> None:
    db.execute("DELETE FROM station_heartbeat")


def station_running(db: SecurityDb, now: float | None = None) -> bool:
    rows = db.select("SELECT ts FROM station_heartbeat WHERE id = 1")
    now = time.time() if now is None else now
    return bool(rows) and now - rows[0][0] < ALIVE_S


def submit(db: SecurityDb, kind: str, user: str, args: dict[str, Any]) -> int:
    cur = db.execute("INSERT INTO station_commands (ts, kind, user, args) VALUES (?, ?, ?, ?)",
                     (time.time(), kind, user, json.dumps(args)))
    return int(cur.lastrowid or 0)


def pending(db: SecurityDb) -> list[dict[str, Any]]:
    rows = db.select("SELECT id, ts, kind, user, args FROM station_commands "
                     "WHERE status = 'pending' ORDER BY id")
    return [{"id": r[0], "ts": r[1], "kind": r[2], "user": r[3], "args": json.loads(r[4])}
            for r in rows]


def claim(db: SecurityDb, command_id: int) -> bool:
    """Mark a command as being applied; False if another station took it (or it is done)."""
    cur = db.execute("UPDATE station_commands SET status = 'running' WHERE id = ? "
                     "AND status = 'pending'", (command_id,))
    return cur.rowcount == 1


def finish(db: SecurityDb, command_id: int, status: str, result: str) -> None:
    db.execute("UPDATE station_commands SET status = ?, result = ?, done_ts = ? WHERE id = ?",
               (status, result, time.time(), command_id))


def wait(db: SecurityDb, command_id: int, timeout_s: float) -> tuple[str, str]:
    """(status, result) once the station answered, ("timeout", why) otherwise (CLI side)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = db.select("SELECT status, result FROM station_commands WHERE id = ?",
                         (command_id,))
        if rows and rows[0][0] not in ("pending", "running"):
            return rows[0][0], rows[0][1]
        time.sleep(0.05)  # polling another process's row: there is no event to wait on
    return "timeout", (f"the running station did not answer within {timeout_s:g} s "
                       f"(command #{command_id})")
