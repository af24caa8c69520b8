"""The outbox's delivery side: reading batches in seq order, deleting what the MES acknowledged,
counting refusals and moving a poison event to quarantine (and back on request).

`OutboxReader` has a connection of its own (the sender's thread, or a CLI command) and only
reads. `Outbox` changes rows and runs where the store's writer runs (the station's `hmi-mes`
thread, or a CLI command with no station running): an event leaves the outbox only in `ack`,
after the MES confirmed it, or in `refuse` into quarantine, with the reason, never silently.
"""

from __future__ import annotations

import concurrent.futures
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmi.mes.store import MesStore, connect


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    id: str
    body: str
    size: int
    tries: int


class OutboxReader:
    """Read-only access to `mes.db` for the sender and the CLI. One thread at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db: sqlite3.Connection = connect(self.path, readonly=True)

    def close(self) -> None:
        self.db.close()

    def peek(self, count: int, max_bytes: int) -> list[Pending]:
        """The oldest events by seq: at most `count`, and at most `max_bytes` of JSON (the
        first event is returned even if bigger: the caller decides what to do with it)."""
        rows = self.db.execute("SELECT seq, id, body, size, tries FROM outbox ORDER BY seq "
                               "LIMIT ?", (count,)).fetchall()
        out: list[Pending] = []
        total = 2  # the brackets of the JSON array
        for row in rows:
            size = row[3] + 1  # and a comma
            if out and total + size > max_bytes:
                break
            out.append(Pending(*row))
            total += size
        return out

    def depth(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def status(self, now: float) -> dict[str, Any]:
        """What `hmi mes status` prints: depth, bytes, oldest age, quarantined, delivered..."""
        count, size = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox").fetchone()
        oldest = self.db.execute("SELECT enqueued FROM outbox ORDER BY seq LIMIT 1").fetchone()
        quarantined = self.db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
        meta = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('delivered', "
                                    "'last_delivered', 'last_error', 'last_error_ts', "
                                    "'next_seq')").fetchall())
        beat = self.db.execute("SELECT ts, pid FROM mes_heartbeat WHERE id = 1").fetchone()
        return {
            "depth": int(count),
            "bytes": int(size),
            "oldest_age_s": round(max(0.0, now - oldest[0]), 3) if oldest else None,
            "quarantined": int(quarantined),
            "delivered": int(meta.get("delivered") or 0),
            "last_delivered": meta.get("last_delivered"),
            "last_error": meta.get("last_error") or "",
            "last_error_ts": meta.get("last_error_ts"),
            "next_seq": int(meta.get("next_seq") or 1),
            "station_heartbeat": beat[0] if beat else None,
        }

    def quarantined(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT seq, id, ts, type, tries, reason, quarantined, body "
                               "FROM quarantine ORDER BY seq").fetchall()
        return [{"seq": r[0], "id": r[1], "ts": r[2], "type": r[3], "tries": r[4],
                 "reason": r[5], "quarantined": r[6], "event": json.loads(r[7])} for r in rows]


class Outbox:
    """Row changes after delivery attempts, on the writer's `MesStore`."""

    def __init__(self, store: MesStore, quarantine_after: int) -> None:
        self.store = store
        self.quarantine_after = quarantine_after

    def ack(self, seqs: list[int], now: float) -> int:
        """The MES acknowledged these events: delete them. Returns bytes freed."""
        if not seqs:
            return 0
        with self.store.transaction() as db:
            marks = ",".join("?" * len(seqs))
            freed = db.execute(f"SELECT COALESCE(SUM(size), 0) FROM outbox WHERE seq IN "
                               f"({marks})", seqs).fetchone()[0]
            deleted = db.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", seqs).rowcount
            row = db.execute("SELECT value FROM meta WHERE key = 'delivered'").fetchone()
            MesStore.set_meta(db, {"delivered": int(row[0] if row else 0) + deleted,
                                   "last_delivered": now, "last_error": ""})
        return int(freed)

    def refuse(self, seq: int, error: str, now: float) -> bool:
        """The MES refused this event once more; quarantined (True) after
        `quarantine_after` refusals."""
        with self.store.transaction() as db:
            db.execute("UPDATE outbox SET tries = tries + 1, last_error = ? WHERE seq = ?",
                       (error, seq))
            row = db.execute("SELECT tries FROM outbox WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                return False
            if row[0] < self.quarantine_after:
                return False
            self._move(db, seq, f"refused {row[0]} times: {error}", now)
        return True

    def quarantine(self, seq: int, reason: str, now: float) -> None:
        """Quarantine at once (an event no batch can carry, e.g. over the message size)."""
        with self.store.transaction() as db:
            self._move(db, seq, reason, now)

    @staticmethod
    def _move(db: sqlite3.Connection, seq: int, reason: str, now: float) -> None:
        db.execute("INSERT OR REPLACE INTO quarantine (seq, id, ts, type, body, size, enqueued, "
                   "tries, reason, quarantined) SELECT seq, id, ts, type, body, size, enqueued, "
                   "tries, ?, ? FROM outbox WHERE seq = ?", (reason, now, seq))
        db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def retry(self, seqs: list[int] | None = None) -> int:
        """Put quarantined events back in the outbox (all, or these seqs), with their own
        seq and id: the MES sees them late, never twice."""
        where, params = "", []
        if seqs:
            where = f" WHERE seq IN ({','.join('?' * len(seqs))})"
            params = list(seqs)
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO outbox (seq, id, ts, type, body, size, enqueued, "
                       "tries, last_error) SELECT seq, id, ts, type, body, size, enqueued, 0, "
                       f"'' FROM quarantine{where}", params)
            return int(db.execute(f"DELETE FROM quarantine{where}", params).rowcount)

    def set_error(self, error: str, now: float) -> None:
        """Keep the sender's last error for `hmi mes status` in another process."""
        with self.store.transaction() as db:
            MesStore.set_meta(db, {"last_error": error, "last_error_ts": now})


class DirectSink:
    """The sender's row changes done at once in the sender's thread: for a process that is
    itself the only writer (`hmi mes drain` with no station running, tests, the bench). The
    station uses `hmi.mes.service`'s sink, which runs them in `hmi-mes` instead."""

    def __init__(self, outbox: Outbox, clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self.clock = clock

    @staticmethod
    def _done(fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn())
        except Exception as exc:  # noqa: BLE001 - handed to the sender through the future
            future.set_exception(exc)
        return future

    def ack(self, seqs: list[int]) -> concurrent.futures.Future[Any]:
        return self._done(lambda: self.outbox.ack(seqs, self.clock()))

    def refuse(self, seq: int, error: str) -> concurrent.futures.Future[Any]:
        return self._done(lambda: self.outbox.refuse(seq, error, self.clock()))

    def quarantine(self, seq: int, reason: str) -> concurrent.futures.Future[Any]:
        return self._done(lambda: self.outbox.quarantine(seq, reason, self.clock()))

    def error(self, text: str) -> None:
        self._done(lambda: self.outbox.set_error(text, self.clock()))
