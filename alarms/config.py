"""How alarms are declared in the project file (`[[alarms]]`, `[alarm_settings]`).

Pydantic checks shapes and ranges; cross-references (does the tag exist?) are checked by the
project loader, which knows every table. Field names are the file keys users write.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alarms.suppression import ExpressionError, parse_condition

AlarmType = Literal[
    "high", "highhigh", "low", "lowlow", "digital", "deviation", "roc", "bad_quality"
]
Priority = Literal["urgent", "high", "medium", "low"]

# Severity bands for priorities when a 1-1000 severity is given instead (OPC UA A&C convention).
PRIORITY_SEVERITY: dict[str, int] = {"urgent": 900, "high": 700, "medium": 500, "low": 300}


class AlarmConfig(BaseModel):
    """One configured alarm: the master alarm database row for it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None  # default: "<tag>.<TYPE>", e.g. Line1.Filler.Level.HI
    tag: str
    type: AlarmType
    limit: float | None = None  # analog limits; deviation band; roc units per second
    setpoint_tag: str | None = None  # deviation: the tag holding the setpoint
    on_state: bool = True  # digital: the state that is abnormal
    deadband: float = Field(0.0, ge=0)
    on_delay_s: float = Field(0.0, ge=0)
    off_delay_s: float = Field(0.0, ge=0)
    priority: Priority = "medium"
    severity: int | None = Field(None, ge=1, le=1000)
    message: str = ""
    consequence: str = ""
    corrective_action: str = ""
    alarm_class: str = Field("process", alias="class")
    area: str | None = None  # default: the tag's ISA-95 asset path
    group: str | None = None  # first-out group
    latched: bool = False
    realarm_min: float | None = Field(None, gt=0)
    # the longest this alarm may be shelved, within [alarm_settings] shelve_max_min (a safety
    # alarm may allow 30 min where the project allows 8 h); unset: the project's
    shelve_max_min: float | None = Field(None, gt=0)
    suppress_when: str | None = None  # state-based suppression expression on other tags
    enabled: bool = True

    @field_validator("limit", "deadband", "on_delay_s", "off_delay_s")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class AlarmSettings(BaseModel):
    """Project-wide alarm policy (`[alarm_settings]`)."""

    model_config = ConfigDict(extra="forbid")

    shelve_default_min: float = Field(15.0, gt=0)
    shelve_max_min: float = Field(480.0, gt=0)
    flood_threshold: int = Field(10, ge=1)  # alarms per 10 minutes (EEMUA 191)
    chatter_count: int = Field(3, ge=2)  # activations within chatter_window_s
    chatter_window_s: float = Field(60.0, gt=0)
    stale_hours: float = Field(24.0, gt=0)
    fleeting_s: float = Field(2.0, ge=0)  # raise to RTN quicker than this is "fleeting"
    journal_days: float = Field(400.0, gt=0)  # journal rows older than this are purged

    @model_validator(mode="after")
    def _default_within_max(self) -> AlarmSettings:
        if self.shelve_default_min > self.shelve_max_min:
            raise ValueError(f"shelve_default_min ({self.shelve_default_min}) is above "
                             f"shelve_max_min ({self.shelve_max_min})")
        return self


ALARM_SUFFIX: dict[str, str] = {
    "high": "HI", "highhigh": "HH", "low": "LO", "lowlow": "LL",
    "digital": "DI", "deviation": "DEV", "roc": "ROC", "bad_quality": "BAD",
}
NEEDS_LIMIT = {"high", "highhigh", "low", "lowlow", "deviation", "roc"}


def severity_of(alarm: AlarmConfig) -> int:
    """1-1000 severity: the given one, else the priority's band value."""
    return alarm.severity or PRIORITY_SEVERITY[alarm.priority]


def priority_of(alarm: AlarmConfig) -> str:
    """The priority shown to operators. A severity given without a priority picks the band."""
    if alarm.severity is not None and "priority" not in alarm.model_fields_set:
        for name, floor in (("urgent", 800), ("high", 600), ("medium", 400)):
            if alarm.severity >= floor:
                return name
        return "low"
    return alarm.priority


def alarm_name(alarm: AlarmConfig) -> str:
    """The alarm's id: its `name`, else `<tag>.<SUFFIX>` (Line1.Filler.Level.HI)."""
    return alarm.name or f"{alarm.tag}.{ALARM_SUFFIX[alarm.type]}"


def cross_check(alarms: list[AlarmConfig], tag_names: set[str],
                settings: AlarmSettings | None = None) -> list[tuple[tuple, str]]:
    """Problems that need the whole project: (loc, message) pairs, loc as pydantic reports it."""
    problems: list[tuple[tuple, str]] = []
    seen: dict[str, int] = {}
    for i, alarm in enumerate(alarms):
        if (settings is not None and alarm.shelve_max_min is not None
                and alarm.shelve_max_min > settings.shelve_max_min):
            problems.append((("alarms", i, "shelve_max_min"),
                             f"{alarm.shelve_max_min:g} min is above the project's "
                             f"[alarm_settings] shelve_max_min ({settings.shelve_max_min:g})"))
        name = alarm_name(alarm)
        if name in seen:
            problems.append(((("alarms", i, "name")), f"duplicate alarm name {name!r} "
                             f"(first in alarm #{seen[name] + 1})"))
        seen.setdefault(name, i)
        if alarm.tag not in tag_names:
            problems.append((("alarms", i, "tag"), f"unknown tag {alarm.tag!r}"))
        if alarm.type in NEEDS_LIMIT and alarm.limit is None:
            problems.append((("alarms", i, "limit"), f"a {alarm.type} alarm needs a limit"))
        if alarm.type == "deviation":
            if not alarm.setpoint_tag:
                problems.append((("alarms", i, "setpoint_tag"), "a deviation alarm needs "
                                 "setpoint_tag"))
            elif alarm.setpoint_tag not in tag_names:
                problems.append((("alarms", i, "setpoint_tag"),
                                 f"unknown tag {alarm.setpoint_tag!r}"))
        if alarm.suppress_when:
            try:
                condition = parse_condition(alarm.suppress_when)
            except ExpressionError as exc:
                problems.append((("alarms", i, "suppress_when"), str(exc)))
            else:
                for tag in sorted(condition.tags - tag_names):
                    problems.append((("alarms", i, "suppress_when"), f"unknown tag {tag!r}"))
    return problems
