"""Time ranges a trend shows: live spans that follow now, and fixed from-to windows.

Why one small parser for all of them: the project file (`[[trend_groups]] range = "-8h"`), the
saved groups, the screen's range buttons and `hmi screenshot --range` must mean the same thing
by the same words. Relative ranges (`-1h`, `-30m`, `-2d`, `-1w`) and the named ones `hour`,
`shift`, `day` and `week` follow now (live); `last_shift` and `FROM..TO` (ISO-8601 or relative
ends, as `hmi history` accepts them) are fixed.

Shifts start at 06:00, 14:00 and 22:00 local time (`SHIFT_STARTS_H`): "shift" is the one
running now, "last_shift" the one before it (at 07:00, last night's 22:00-06:00 shift).

Qt-free; any thread. Times are epoch seconds (UTC), spans seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from hmi.timeparse import TimeParseError, parse_time

SHIFT_STARTS_H = (6, 14, 22)
NAMED_SPANS_S = {"hour": 3600.0, "day": 86_400.0, "week": 7 * 86_400.0}
NAMES = ("hour", "shift", "last_shift", "day", "week")
MIN_SPAN_S = 1.0


class RangeError(ValueError):
    """A range text that is none of the forms above; the message lists them."""


@dataclass(frozen=True)
class RangeSpec:
    """What a trend was asked to show. `live`: [now - span_s, now], following now (or, for
    `shift`, from the shift's start). Fixed: [t0, t1]."""

    text: str  # as written, kept for saving and showing
    live: bool
    span_s: float = 0.0
    t0: float = 0.0
    t1: float = 0.0

    def resolve(self, now: float | None = None) -> tuple[float, float]:
        """(t0, t1) in epoch seconds at `now`."""
        now = time.time() if now is None else now
        if self.text == "shift":
            return shift_bounds(now)[0], now
        if self.text == "last_shift":
            return shift_bounds(now, previous=True)
        if self.live:
            return now - self.span_s, now
        return self.t0, self.t1


def shift_bounds(now: float, previous: bool = False) -> tuple[float, float]:
    """(start, end) of the shift running at `now` (or of the one before it), local time."""
    local = datetime.fromtimestamp(now).astimezone()
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [day + timedelta(days=d, hours=h) for d in (-1, 0) for h in SHIFT_STARTS_H]
    starts.append(day + timedelta(days=1, hours=SHIFT_STARTS_H[0]))
    current = max(s for s in starts if s <= local)
    index = starts.index(current)
    if previous:
        return starts[index - 1].timestamp(), current.timestamp()
    return current.timestamp(), starts[index + 1].timestamp()


def parse_range(text: str, now: float | None = None) -> RangeSpec:
    """A `RangeSpec` from the words above, or `RangeError` saying what is accepted."""
    value = (text or "").strip()
    key = value.lower()
    if key in NAMED_SPANS_S:
        return RangeSpec(key, True, NAMED_SPANS_S[key])
    if key == "shift":
        return RangeSpec(key, True, 8 * 3600.0)
    if key == "last_shift":
        t0, t1 = shift_bounds(time.time() if now is None else now, previous=True)
        return RangeSpec(key, False, t1 - t0, t0, t1)
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
