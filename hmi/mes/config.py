"""The project-file tables of production and MES sync: `[mes]`, `[production]`, `[[shifts]]`,
`[[downtime_reasons]]`, `[[products]]` and `[[lines]]`.

Why a mixin (`ProductionTables`): the issue's tables are top-level keys of the project file, and
`hmi.project_models.ProjectModel` inherits them from here in one line, so this subsystem's
models live with it and parallel branches touching `ProjectModel` merge cleanly. Cross-table
checks (does the tag exist? overlapping shifts?) are in `cross_check`, called by
`hmi.project.load_project` like the alarm checks.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

STATES = ("running", "idle", "down", "changeover", "blocked", "starved", "planned_stop")
State = Literal["running", "idle", "down", "changeover", "blocked", "starved", "planned_stop"]
Category = Literal["planned", "unplanned", "changeover"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Security = Literal["none", "Basic256Sha256-Sign", "Basic256Sha256-SignAndEncrypt"]
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def clock_minutes(text: str) -> int:
    """'06:30' -> 390 (minutes after midnight). ValueError for anything but HH:MM."""
    match = _CLOCK.match(text)
    if not match:
        raise ValueError(f"must be a time of day HH:MM (00:00..23:59), found {text!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


class MesConfig(_Strict):
    """`[mes]`: the upstream MES (OPC UA `SubmitEvents`) and the outbox that feeds it."""

    enabled: bool = False
    url: str = ""
    security: Security = "none"
    username: str | None = None
    password_secret: str | None = None  # keyring secret name (hmi secrets set NAME); default
    # "opcua:mes:<username>"; the password itself never lives in the project file
    namespace: str = "urn:hmi-station:mes"
    station_id: str = ""  # the events' `source`; default: the project name as a slug
    batch_size: int = Field(500, ge=1, le=100_000)  # events per SubmitEvents call, at most
    batch_bytes: int = Field(1_000_000, ge=1024, le=64_000_000)  # JSON bytes per call, at most
    retry_max_s: float = Field(30.0, gt=0, le=3600)  # backoff cap while the MES is unreachable
    quarantine_after: int = Field(5, ge=1, le=1000)  # refusals of one event before quarantine
    outbox_limit_mb: float = Field(512.0, gt=0)  # pending events above this raise an alarm
    timeout_s: float = Field(10.0, gt=0, le=600)  # one call; longer counts as a lost ack
    setpoint_tags: list[str] | None = None  # setpoint.changed for these; default every writable


class ProductionSettings(_Strict):
    """`[production]`: how stops are classified and how often counts are reported."""

    timezone: str = ""  # IANA name of the shift calendar's clock; "" = the station's local time
    microstop_s: float = Field(0.0, ge=0)  # stops shorter than this are micro-stops (0: none)
    microstop_loss: Literal["performance", "availability"] = "performance"
    reason_required_s: float = Field(300.0, ge=0)  # stops longer than this need a reason
    count_interval_s: float = Field(60.0, ge=1, le=86400)  # production.count at most this often
    # A counter rising faster than this many times the ideal rate is a preset or a bad
    # reading, not production (3 -> 40000 is not 39,997 bottles); 0: no bound.
    max_count_rate: float = Field(10.0, ge=0)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (e.g. \"Europe/Berlin\", "
                                 "\"UTC\")") from None
        return value


class BreakConfig(_Strict):
    name: str = ""
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        clock_minutes(value)
        return value


class ShiftConfig(_Strict):
    """A shift: `days` are the days it starts on; an end at or before the start is the next
    day (a night shift 22:00-06:00). Breaks are planned stops inside it."""

    name: str = Field(min_length=1)
    start: str
    end: str
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))
    breaks: list[BreakConfig] = Field(default_factory=list)

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        clock_minutes(value)
        return value


class DowntimeReasonConfig(_Strict):
    """A node of the reason tree. `category` is inherited from the parent (top level:
    unplanned). A stop is given the reason automatically when its fault code, an active alarm
    or its state matches (`fault_codes`, `alarms`, `states`); otherwise the operator picks."""

    code: str = Field(min_length=1)
    name: str = ""
    category: Category | None = None
    fault_codes: list[int] = Field(default_factory=list)
    alarms: list[str] = Field(default_factory=list)
    states: list[State] = Field(default_factory=list)
    children: list[DowntimeReasonConfig] = Field(default_factory=list)


class ProductConfig(_Strict):
    code: str = Field(min_length=1)
    name: str = ""
    ideal_cycle_s: float = Field(gt=0)  # ISO 22400 PRI: planned run time per unit, seconds


class LineConfig(_Strict):
    """A line (ISA-95 asset) whose production context, state and counts are tracked.

    State: `state_tag` drives it directly (PackML/ISA-TR88 state numbers or names, or any value
    through `state_map`); otherwise it is derived from the boolean tags, see `hmi.mes.states`.
    Counters are cumulative PLC counters (`counter_bits` 16/32; default from the tag's type).
    """

    name: str = Field(min_length=1)
    asset: str = ""  # ISA-95 path; relative paths hang under [project].asset
    state_tag: str | None = None
    state_map: dict[str, State] = Field(default_factory=dict)
    running_tag: str | None = None
    fault_tag: str | None = None
    fault_code_tag: str | None = None
    changeover_tag: str | None = None
    blocked_tag: str | None = None
    starved_tag: str | None = None
    planned_stop_tag: str | None = None
    good_tag: str | None = None
    reject_tag: str | None = None
    total_tag: str | None = None
    counter_bits: Literal[16, 32, 64] | None = None
    ideal_cycle_s: float | None = Field(None, gt=0)  # when the product has none

    def tag_fields(self) -> dict[str, str]:
        """{field: tag} for every tag this line reads."""
        names = ("state_tag", "running_tag", "fault_tag", "fault_code_tag", "changeover_tag",
                 "blocked_tag", "starved_tag", "planned_stop_tag", "good_tag", "reject_tag",
                 "total_tag")
        return {n: getattr(self, n) for n in names if getattr(self, n)}


class ProductionTables(_Strict):
    """The tables `ProjectModel` inherits (see the module docstring for why a mixin)."""

    mes: MesConfig = Field(default_factory=MesConfig)
    production: ProductionSettings = Field(default_factory=ProductionSettings)
    shifts: list[ShiftConfig] = Field(default_factory=list)
    downtime_reasons: list[DowntimeReasonConfig] = Field(default_factory=list)
    products: list[ProductConfig] = Field(default_factory=list)
    lines: list[LineConfig] = Field(default_factory=list)


def walk_reasons(reasons: Iterable[DowntimeReasonConfig], loc: tuple = ("downtime_reasons",),
                 parent: str | None = None
                 ) -> Iterable[tuple[tuple, DowntimeReasonConfig, str | None]]:
    """Every reason in the tree, depth first: (pydantic loc, reason, parent code)."""
    for i, reason in enumerate(reasons):
        here = (*loc, i)
        yield here, reason, parent
        yield from walk_reasons(reason.children, (*here, "children"), reason.code)


def _shift_spans(shift: ShiftConfig) -> list[tuple[int, int]]:
    """Minutes of the week the shift covers, as (start, end) with end possibly past a week."""
    start, end = clock_minutes(shift.start), clock_minutes(shift.end)
    length = (end - start) % 1440 or 1440
    return [(WEEKDAYS.index(d) * 1440 + start, WEEKDAYS.index(d) * 1440 + start + length)
            for d in shift.days]


def _check_shifts(shifts: list[ShiftConfig]) -> list[tuple[tuple, str]]:
    problems: list[tuple[tuple, str]] = []
    seen: set[str] = set()
    spans: list[tuple[int, int, str]] = []
    for i, shift in enumerate(shifts):
        if shift.name in seen:
            problems.append((("shifts", i, "name"), f"duplicate shift name {shift.name!r}"))
        seen.add(shift.name)
        try:
            start, end = clock_minutes(shift.start), clock_minutes(shift.end)
        except ValueError:
            continue  # reported by pydantic already
        length = (end - start) % 1440 or 1440
        for j, brk in enumerate(shift.breaks):
            b0 = (clock_minutes(brk.start) - start) % 1440
            b1 = (clock_minutes(brk.end) - start) % 1440 or 1440
            if b1 <= b0 or b1 > length:
                problems.append((("shifts", i, "breaks", j),
                                 f"break {brk.start}-{brk.end} is not inside the shift "
                                 f"{shift.start}-{shift.end}"))
        for a0, a1 in _shift_spans(shift):
            for b0, b1, other in spans:
                week = 7 * 1440
                if any(a0 + k < b1 and b0 < a1 + k for k in (-week, 0, week)):
                    problems.append((("shifts", i, "start"),
                                     f"overlaps shift {other!r}"))
                    break
            else:
                continue
            break
        spans += [(a0, a1, shift.name) for a0, a1 in _shift_spans(shift)]
    return problems


def cross_check(model: ProductionTables, tags: dict[str, object], alarm_names: set[str]
                ) -> list[tuple[tuple, str]]:
    """Problems that need the whole project, as (loc, message); `tags` maps tag names to their
    configs (for writability), `alarm_names` are the configured alarms."""
    problems: list[tuple[tuple, str]] = []
    mes = model.mes
    if mes.enabled and not mes.url.startswith("opc.tcp://"):
        problems.append((("mes", "url"),
                         f"the MES needs url = \"opc.tcp://host:port\", found {mes.url!r}"))
    if mes.username and mes.security == "none":  # as for OPC UA devices (issue 14)
        problems.append((("mes", "username"),
                         "a user name needs security = \"Basic256Sha256-SignAndEncrypt\" (or "
                         "-Sign): with \"none\" the MES password would cross the network in "
                         "clear"))
    for tag in mes.setpoint_tags or ():
        if tag not in tags:
            problems.append((("mes", "setpoint_tags"), f"unknown tag {tag!r}"))
    problems += _check_shifts(model.shifts)
    codes: dict[str, tuple] = {}
    fault_codes: dict[int, str] = {}
    for loc, reason, _ in walk_reasons(model.downtime_reasons):
        if reason.code in codes:
            problems.append(((*loc, "code"), f"duplicate reason code {reason.code!r}"))
        codes[reason.code] = loc
        for code in reason.fault_codes:
            if code in fault_codes:
                problems.append(((*loc, "fault_codes"), f"fault code {code} is already mapped "
                                 f"to reason {fault_codes[code]!r}"))
            fault_codes.setdefault(code, reason.code)
        for alarm in reason.alarms:
            if alarm not in alarm_names:
                problems.append(((*loc, "alarms"), f"unknown alarm {alarm!r}"))
    products: set[str] = set()
    for i, product in enumerate(model.products):
        if product.code in products:
            problems.append((("products", i, "code"), f"duplicate product {product.code!r}"))
        products.add(product.code)
    lines: set[str] = set()
    for i, line in enumerate(model.lines):
        if line.name in lines:
            problems.append((("lines", i, "name"), f"duplicate line name {line.name!r}"))
        lines.add(line.name)
        for key, tag in line.tag_fields().items():
            if tag not in tags:
                problems.append((("lines", i, key), f"unknown tag {tag!r}"))
        if not (line.state_tag or line.running_tag):
            problems.append((("lines", i), "a line needs state_tag or running_tag to know "
                                           "whether it runs"))
        if line.reject_tag and not (line.good_tag or line.total_tag):
            problems.append((("lines", i, "reject_tag"),
                             "a reject counter needs good_tag or total_tag as well"))
    return problems
