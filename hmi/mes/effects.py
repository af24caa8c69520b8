"""What one cycle of production tracking changed, written to `mes.db` in one transaction.

Why collect instead of writing at once: the cause (a state row, a context, the alarm journal
cursor) and the events it produces must commit together, once per cycle (one fsync, not one
per change). If the commit fails (a full disk), the same `Effects` is kept and tried again, so
nothing is dropped; events keep their ids across those tries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hmi.mes.events import PendingEvent
from hmi.mes.store import MesStore

Deferred = Callable[[sqlite3.Connection], list[PendingEvent]]


@dataclass
class Effects:
    # events in order; a callable stands for events that need the records below written first
    # (the OEE of a shift or a work order) and is expanded in its place
    events: list[PendingEvent | Deferred] = field(default_factory=list)
    states: list[tuple[str, float, str]] = field(default_factory=list)  # line, ts, state
    # line, t0, t1, product, work_order, good, reject
    counts: list[tuple[str, float, float, str, str, int, int]] = field(default_factory=list)
    downtimes: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> latest version
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)  # line -> persisted data
    wo_started: list[tuple[str, str, str, str, float]] = field(default_factory=list)
    wo_completed: list[tuple[str, float, float]] = field(default_factory=list)  # line, s, end
    meta: dict[str, Any] = field(default_factory=dict)
    heartbeat: tuple[float, int] | None = None  # wall clock, pid: the running station's beat
    changed: set[str] = field(default_factory=set)  # what listeners hear: context, state, ...

    def empty(self) -> bool:
        return not (self.events or self.states or self.counts or self.downtimes
                    or self.contexts or self.wo_started or self.wo_completed or self.meta
                    or self.heartbeat)

    def write(self, db: sqlite3.Connection) -> list[PendingEvent]:
        """Write the records (inside the caller's transaction); returns every event in order,
        the deferred ones computed in their place."""
        if self.states:
            db.executemany("INSERT INTO state_log (line, ts, state) VALUES (?, ?, ?)",
                           self.states)
        if self.counts:
            db.executemany("INSERT INTO count_log (line, t0, t1, product, work_order, good, "
                           "reject) VALUES (?, ?, ?, ?, ?, ?, ?)", self.counts)
        for downtime in self.downtimes.values():
            MesStore.upsert_downtime(db, downtime)
        for line, data in self.contexts.items():
            MesStore.save_context(db, line, data, data.get("updated", 0.0))
        for row in self.wo_started:
            db.execute("INSERT OR REPLACE INTO work_orders (line, work_order, product, lot, "
                       "started) VALUES (?, ?, ?, ?, ?)", row)
        for line, started, completed in self.wo_completed:
            db.execute("UPDATE work_orders SET completed = ? WHERE line = ? AND started = ?",
                       (completed, line, started))
        if self.meta:
            MesStore.set_meta(db, self.meta)
        if self.heartbeat:
            MesStore.write_heartbeat(db, *self.heartbeat)
        events: list[PendingEvent] = []
        for item in self.events:
            if isinstance(item, PendingEvent):
                events.append(item)
            else:
                events += item(db)
        return events
