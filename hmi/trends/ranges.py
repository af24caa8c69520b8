"""Time ranges a trend shows: live spans that follow now, and fixed from-to windows.

Why one small parser for all of them: the project file (`[[trend_groups]] range = "-8h"`), the
saved groups, the screen's range buttons and `hmi screenshot --range` must mean the same thing
by the same words. Relative ranges (`-1h`, `-30m`, `-2d`, `-1w`) and the named ones `hour`,
`shift`, `day` and `week` follow now (live); `last_shift` and `FROM..TO` (ISO-8601 or relative
ends, as `hmi history` accepts them) are fixed.

Shifts are the project's `[[shifts]]` (`hmi.mes.calendar.ShiftCalendar`, the calendar the
alarm journal and production use: `calendar_of(project)`): "shift" is the one running now (the
last one that ran, between shifts), "last_shift" the last one that has ended (at 07:00 with
the demo's Early/Late/Night, last night's 22:00-06:00). A project without shifts, or without
one in the last 8 days, uses 06:00, 14:00 and 22:00 local time (`SHIFT_STARTS_H`).

Qt-free; any thread. Times are epoch seconds (UTC), spans seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hmi.mes.calendar import ShiftCalendar
from hmi.timeparse import TimeParseError, parse_time

SHIFT_STARTS_H = (6, 14, 22)
NAMED_SPANS_S = {"hour": 3600.0, "day": 86_400.0, "week": 7 * 86_400.0}
NAMES = ("hour", "shift", "last_shift", "day", "week")
MIN_SPAN_S = 1.0
LOOK_BACK_S = 8 * 86_400.0  # how far back a calendar's last shift is looked for


class RangeError(ValueError):
    """A range text that is none of the forms above; the message lists them."""


@dataclass(frozen=True)
class RangeSpec:
    """What a trend was asked to show. `live`: [now - span_s, now], following now (or, for
    `shift`, from the shift's start). Fixed: [t0, t1]. `calendar`: the shifts "shift" and
    "last_shift" mean (None: `SHIFT_STARTS_H`)."""

    text: str  # as written, kept for saving and showing
    live: bool
    span_s: float = 0.0
    t0: float = 0.0
    t1: float = 0.0
    calendar: ShiftCalendar | None = field(default=None, compare=False, repr=False)

    def resolve(self, now: float | None = None) -> tuple[float, float]:
        """(t0, t1) in epoch seconds at `now`."""
        now = time.time() if now is None else now
        if self.text == "shift":
            return shift_bounds(now, calendar=self.calendar)[0], now
        if self.text == "last_shift":
            return shift_bounds(now, previous=True, calendar=self.calendar)
        if self.live:
            return now - self.span_s, now
        return self.t0, self.t1


def calendar_of(project: Any) -> ShiftCalendar | None:
    """The shift calendar of a loaded project (None when it declares no `[[shifts]]`)."""
    model = getattr(project, "model", None)
    shifts = list(getattr(model, "shifts", None) or [])
    if not shifts:
        return None
    return ShiftCalendar(shifts, model.production.timezone)  # type: ignore[union-attr]


def shift_bounds(now: float, previous: bool = False,
                 calendar: ShiftCalendar | None = None) -> tuple[float, float]:
    """(start, end) of the shift running at `now` (between shifts: the last one that ran), or
    with `previous` of the last one that has ended; from `calendar` when it has shifts, else
    `SHIFT_STARTS_H` local time."""
    if calendar is not None and not calendar.empty:
        ran = [s for s in calendar.instances(now - LOOK_BACK_S, now + 1e-6) if s.start <= now]
        if previous:
            ran = [s for s in ran if s.end <= now]
        if ran:
            shift = max(ran, key=lambda s: (s.start, s.end))
            return shift.start, shift.end
    local = datetime.fromtimestamp(now).astimezone()
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [day + timedelta(days=d, hours=h) for d in (-1, 0) for h in SHIFT_STARTS_H]
    starts.append(day + timedelta(days=1, hours=SHIFT_STARTS_H[0]))
    current = max(s for s in starts if s <= local)
    index = starts.index(current)
    if previous:
        return starts[index - 1].timestamp(), current.timestamp()
    return current.timestamp(), starts[index + 1].timestamp()


def parse_range(text: str, now: float | None = None,
                calendar: ShiftCalendar | None = None) -> RangeSpec:
    """A `RangeSpec` from the words above, or `RangeError` saying what is accepted.
    `calendar`: the project's shifts (`calendar_of`), for "shift" and "last_shift"."""
    value = (text or "").strip()
    key = value.lower()
    if key in NAMED_SPANS_S:
        return RangeSpec(key, True, NAMED_SPANS_S[key])
    if key == "shift":
        return RangeSpec(key, True, 8 * 3600.0, calendar=calendar)
    if key == "last_shift":
        t0, t1 = shift_bounds(time.time() if now is None else now, previous=True,
                              calendar=calendar)
        return RangeSpec(key, False, t1 - t0, t0, t1, calendar=calendar)
    if ".." in value:
        start, _, end = value.partition("..")
        try:
            t0, t1 = parse_time(start, now), parse_time(end or "now", now)
        except TimeParseError as exc:
            raise RangeError(str(exc)) from None
        if t1 - t0 < MIN_SPAN_S:
            raise RangeError(f"the range {value!r} is empty or runs backwards")
        return RangeSpec(value, False, t1 - t0, t0, t1)
    if value.startswith("-"):
        try:
            span = -parse_time(value, 0.0)
        except TimeParseError:
            span = 0.0
        if span >= MIN_SPAN_S:
            return RangeSpec(value, True, span)
    raise RangeError(f"unknown range {value!r}: use -1h, -30m, -2d, -1w, "
                     f"{', '.join(NAMES)} or FROM..TO")
