"""Read the alarm journal (`<data>/alarms.db`) from a cursor: the MES's source of alarm events.

Why tail the journal instead of listening to the alarm manager: the journal row is the
committed cause. The MES thread turns rows after its cursor into events and commits the new
cursor in the same `mes.db` transaction as those events, so after a crash at any moment it
resumes exactly where its last commit ended: no alarm transition is lost, none is sent twice
(and the event ids are derived from the row, so even a re-read would be deduplicated upstream).

Read-only use of a file the alarm service writes (WAL: readers never block it). Opened lazily:
a station without alarms has no journal.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from hmi.mes.store import connect

log = logging.getLogger(__name__)
COLUMNS = ("id", "ts", "alarm", "tag", "area", "priority", "severity", "event", "state", "value",
           "limit_value", "user", "comment")


class AlarmTail:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection | None:
        if self._db is None and self.path.exists():
            self._db = connect(self.path, readonly=True)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def read(self, cursor: int, limit: int) -> list[dict[str, Any]]:
        """Journal rows with id > cursor, in id order (= commit order)."""
        db = self._open()
        if db is None:
            return []
        try:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM alarm_journal WHERE id > ? "
                              "ORDER BY id LIMIT ?", (cursor, limit)).fetchall()
        except sqlite3.OperationalError as exc:  # the alarm service has not made the table yet
            log.debug("alarm journal not readable yet: %s", exc)
            return []
        return [dict(zip(COLUMNS, row, strict=True)) for row in rows]

    def last_id(self) -> int:
        db = self._open()
        if db is None:
            return 0
        try:
            return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM alarm_journal").fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    def active_alarms(self) -> dict[str, float]:
        """{alarm: raised at} of the alarms the journal's state table says are active (to
        know, after a restart, which alarms can still explain a stop)."""
        db = self._open()
        if db is None:
            return {}
        try:
            rows = db.execute("SELECT name, data FROM alarm_state").fetchall()
        except sqlite3.OperationalError:
            return {}
        out = {}
        for name, data in rows:
            state = json.loads(data)
            if state.get("active"):
                out[name] = float(state.get("raised_at") or 0.0)
        return dict(sorted(out.items(), key=lambda item: item[1]))
