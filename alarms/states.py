"""ISA-18.2 alarm states and the per-alarm record the engine keeps.

The state letter is derived, never stored: an alarm holds a few independent facts (is the
condition active, acknowledged, latched, shelved, suppressed by design, out of service) and
`AlarmRecord.state` maps them onto the ISA-18.2 states A-H in a fixed precedence
(out of service > shelved > suppressed > the annunciated states). Deriving keeps impossible
combinations (e.g. "normal but unacknowledged") out of the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from alarms.config import AlarmConfig
from alarms.suppression import Condition
from hmi.tags import iso_utc


class State(StrEnum):
    """ISA-18.2 states by their letter in the standard's state diagram."""

    NORMAL = "A"
    UNACK = "B"
    ACKED = "C"
    RTN_UNACK = "D"
    LATCHED = "E"
    SHELVED = "F"
    SUPPRESSED = "G"
    OUT_OF_SERVICE = "H"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    State.NORMAL: "normal", State.UNACK: "unacknowledged", State.ACKED: "acknowledged",
    State.RTN_UNACK: "returned unacknowledged", State.LATCHED: "latched",
    State.SHELVED: "shelved", State.SUPPRESSED: "suppressed by design",
    State.OUT_OF_SERVICE: "out of service",
}


class Event(StrEnum):
    """What the journal records; one row per transition or operator action."""

    RAISE = "raise"
    RTN = "rtn"
    ACK = "ack"
    REALARM = "realarm"
    RESET = "reset"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"
    OOS = "oos"
    IN_SERVICE = "in_service"
    COMMENT = "comment"
    STATION = "station"  # the station's own events (clock step, lost journal rows), no alarm
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class AlarmDef:
    """One alarm as the engine needs it, resolved once from the project file."""

    name: str
    config: AlarmConfig
    area: str
    priority: str
    severity: int
    suppress: Condition | None = None

    @property
    def tag(self) -> str:
        return self.config.tag


@dataclass(slots=True)
class AlarmRecord:
    """The live state of one alarm. Owned by the engine's thread; copied out as dicts."""

    name: str
    active: bool = False  # the condition, after on/off delays
    acked: bool = True
    latched: bool = False  # a latched alarm that returned to normal and waits for reset
    shelved: bool = False
    shelved_until: float | None = None  # None while shelved = one-shot (until RTN)
    shelve_reason: str = ""
    suppressed: bool = False
    oos: bool = False
    first_out: bool = False
    value: Any = None
    raised_at: float | None = None
    annunciated_at: float | None = None  # last raise or re-alarm, for re-alarm timing
    acked_by: str = ""
    # delay timers: when the raw condition started to differ from `active`
    pending_since: float | None = None
    raw: bool = False  # the instantaneous condition (with deadband)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hidden(self) -> bool:
        return self.oos or self.shelved or self.suppressed

    @property
    def state(self) -> State:
        if self.oos:
            return State.OUT_OF_SERVICE
        if self.shelved:
            return State.SHELVED
        if self.suppressed:
            return State.SUPPRESSED
        if self.active:
            return State.ACKED if self.acked else State.UNACK
        if self.latched:
            return State.LATCHED
        return State.NORMAL if self.acked else State.RTN_UNACK

    def persisted(self) -> dict[str, Any]:
        """The fields that survive a restart (timers and raw conditions are re-derived)."""
        data = asdict(self)
        for key in ("pending_since", "raw", "extra"):
            data.pop(key)
        value = data["value"]
        if not isinstance(value, bool | int | float | str | type(None)):
            data["value"] = str(value)
        return data

    @classmethod
    def restored(cls, data: dict[str, Any]) -> AlarmRecord:
        known = {k: v for k, v in data.items() if k in cls.__slots__}
        record = cls(**known)
        record.raw = record.active
        return record

    def summary(self, alarm: AlarmDef) -> dict[str, Any]:
        """The alarm summary row (what `hmi alarms active --json` and the GUI show)."""
        state = self.state
        value = self.value
        if not isinstance(value, bool | int | float | str | type(None)):
            value = str(value)
        cfg = alarm.config
        return {
            "name": self.name,
            "tag": cfg.tag,
            "type": cfg.type,
            "state": state.value,
            "state_name": state.label,
            "priority": alarm.priority,
            "severity": alarm.severity,
            "message": cfg.message,
            "value": value,
            "limit": cfg.limit,
            "raised": iso_utc(self.raised_at) if self.raised_at else None,
            "raised_ts": self.raised_at,
            "acked": self.acked,
            "acked_by": self.acked_by,
            "active": self.active,
            "latched": self.latched,
            "shelved_until": (iso_utc(self.shelved_until) if self.shelved_until else None),
            "shelved_one_shot": self.shelved and self.shelved_until is None,
            "area": alarm.area,
            "group": cfg.group,
            "first_out": self.first_out,
            "consequence": cfg.consequence,
            "corrective_action": cfg.corrective_action,
        }
