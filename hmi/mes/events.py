"""MES events: what the station reports upstream, as JSON objects

    {"id": UUID, "source": station_id, "seq": n, "ts": ISO-8601 UTC, "type": ..., "asset": ISA-95
     path, "context": {"work_order", "product", "lot", "shift", "operator"}, "data": {...}}

An event is built as a `PendingEvent` (no seq yet) and gets its `seq` when the store inserts it,
inside the transaction that commits its cause (see `hmi.mes.store`). Events made from alarm
journal rows get a name-based UUID (uuid5 of station, journal row id and time): if a crash ever
made the station re-read a journal row, the MES would see the same id and drop the copy.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from hmi.tags import iso_utc

CONTEXT_KEYS = ("work_order", "product", "lot", "shift", "operator")
TYPES = (
    "alarm.raised", "alarm.acknowledged", "alarm.cleared", "alarm.shelved", "state.changed",
    "downtime.started", "downtime.ended", "downtime.reason_set", "production.count",
    "workorder.started", "workorder.completed", "lot.changed", "setpoint.changed",
    "shift.summary", "context.changed",
    "alarm.unshelved", "alarm.realarmed", "alarm.reset", "alarm.out_of_service",
    "alarm.in_service", "alarm.suppressed", "alarm.unsuppressed", "alarm.commented",
)
# alarm journal event -> MES event type ("refused" actions are not plant events: not sent)
ALARM_TYPES = {
    "raise": "alarm.raised", "ack": "alarm.acknowledged", "rtn": "alarm.cleared",
    "shelve": "alarm.shelved", "unshelve": "alarm.unshelved", "realarm": "alarm.realarmed",
    "reset": "alarm.reset", "oos": "alarm.out_of_service", "in_service": "alarm.in_service",
    "suppress": "alarm.suppressed", "unsuppress": "alarm.unsuppressed",
    "comment": "alarm.commented",
}
_NS = uuid.UUID("6f1c2a52-8d1e-4c55-9a0e-3b8f3c1d2e15")  # this project's uuid5 namespace


@dataclass(slots=True)
class PendingEvent:
    """An event before it has a seq. `ts` in epoch seconds (when it happened)."""

    type: str
    ts: float
    asset: str
    context: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


# One encoder for every event: json.dumps with non-default arguments builds a new encoder per
# call, which was a quarter of the enqueue cost (`hmi bench --only mes`).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
_PLAIN = (str, int, bool, type(None))


def _clean(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def encode(event: PendingEvent, source: str, seq: int) -> str:
    """The event's JSON text, compact and ASCII (so its length is its size in bytes)."""
    context = event.context
    return _ENCODER.encode({
        "id": event.id, "source": source, "seq": seq, "ts": iso_utc(event.ts),
        "type": event.type, "asset": event.asset,
        "context": {k: context.get(k) for k in CONTEXT_KEYS},
        "data": {k: _clean(v) for k, v in event.data.items()},
    })


def alarm_event_id(source: str, journal_id: int, ts: float) -> str:
    return str(uuid.uuid5(_NS, f"{source}:alarm-journal:{journal_id}:{ts!r}"))


def alarm_event(row: dict[str, Any], source: str, context: dict[str, Any]) -> PendingEvent | None:
    """The event for one alarm journal row (`hmi.mes.alarm_tail` columns), None if not sent."""
    kind = ALARM_TYPES.get(row["event"])
    if kind is None:
        return None
    data = {"alarm": row["alarm"], "tag": row["tag"], "priority": row["priority"],
            "severity": row["severity"], "state": row["state"], "value": row["value"],
            "limit": row["limit_value"], "journal_id": row["id"]}
    if row["user"]:
        data["user"] = row["user"]
    if row["comment"]:
        data["comment"] = row["comment"]
    return PendingEvent(kind, row["ts"], row["area"] or "", dict(context), data,
                        alarm_event_id(source, row["id"], row["ts"]))
