"""The shift calendar: which shift (and which planned break) covers a moment, in the plant's
local time.

Why wall-clock arithmetic in a time zone, not "start + 8 h": a shift from 06:00 to 14:00 is
06:00 to 14:00 on the clock even on the night the clocks change, so the instance boundaries
are built per date with `zoneinfo` (or the station's local time when no zone is configured).
A shift whose end is at or before its start ends the next day; `days` are the days it starts
on. Pure and thread-safe (instances are cached per date, immutable).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass

from hmi.mes.config import WEEKDAYS, ShiftConfig, clock_minutes


@dataclass(frozen=True, slots=True)
class ShiftInstance:
    """One occurrence of a shift. Times in epoch seconds; `breaks` are (start, end, name)."""

    name: str
    start: float
    end: float
    breaks: tuple[tuple[float, float, str], ...] = ()

    @property
    def key(self) -> str:
        """Stable id of this occurrence, e.g. 'Early@1795932000'."""
        return f"{self.name}@{int(self.start)}"

    def break_at(self, ts: float) -> tuple[float, float, str] | None:
        for brk in self.breaks:
            if brk[0] <= ts < brk[1]:
                return brk
        return None

    def break_seconds(self, t0: float, t1: float) -> float:
        """Planned break time inside [t0, t1)."""
        return sum(max(0.0, min(t1, b1) - max(t0, b0)) for b0, b1, _ in self.breaks)


class ShiftCalendar:
    """The `[[shifts]]` of a project. With no shifts, every moment is planned operating time
    and there is no shift name."""

    def __init__(self, shifts: list[ShiftConfig], timezone: str = "") -> None:
        self.shifts = list(shifts)
        self.zone = zoneinfo.ZoneInfo(timezone) if timezone else None

    @property
    def empty(self) -> bool:
        return not self.shifts

    def _local_date(self, ts: float) -> dt.date:
        return dt.datetime.fromtimestamp(ts, self.zone).date()

    def _at_clock(self, day: dt.date, minutes: int) -> float:
        naive = dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60)
        if self.zone is None:
            return naive.timestamp()  # naive = the station's local time, DST included
        return naive.replace(tzinfo=self.zone).timestamp()

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one calendar per project, lives as long
    def _on_date(self, day: dt.date) -> tuple[ShiftInstance, ...]:
        out = []
        weekday = WEEKDAYS[day.weekday()]
        for shift in self.shifts:
            if weekday not in shift.days:
                continue
            s_min, e_min = clock_minutes(shift.start), clock_minutes(shift.end)
            start = self._at_clock(day, s_min)
            end_day = day + dt.timedelta(days=1) if e_min <= s_min else day
            end = self._at_clock(end_day, e_min)
            breaks = []
            for brk in shift.breaks:
                b0, b1 = clock_minutes(brk.start), clock_minutes(brk.end)
                b0_day = day + dt.timedelta(days=1) if b0 < s_min else day
                b1_day = day + dt.timedelta(days=1) if b1 <= s_min else day
                breaks.append((self._at_clock(b0_day, b0), self._at_clock(b1_day, b1), brk.name))
            out.append(ShiftInstance(shift.name, start, end, tuple(sorted(breaks))))
        return tuple(out)

    def instances(self, t0: float, t1: float) -> list[ShiftInstance]:
        """Shift occurrences overlapping [t0, t1), in time order."""
        if self.empty or t1 <= t0:
            return []
        day = self._local_date(t0) - dt.timedelta(days=1)
        last = self._local_date(t1)
        out: list[ShiftInstance] = []
        while day <= last:
            out += [s for s in self._on_date(day) if s.start < t1 and s.end > t0]
            day += dt.timedelta(days=1)
        out.sort(key=lambda s: s.start)
        return out

    def at(self, ts: float) -> ShiftInstance | None:
        """The shift covering `ts`, or None (between shifts, or no calendar)."""
        found = self.instances(ts, ts + 1e-6)
        return found[0] if found else None

    def in_break(self, ts: float) -> bool:
        shift = self.at(ts)
        return shift is not None and shift.break_at(ts) is not None

    def latest(self, name: str, now: float) -> ShiftInstance | None:
        """The current occurrence of shift `name`, else the most recent one (within 8 days)."""
        candidates = [s for s in self.instances(now - 8 * 86400, now + 1e-6)
                      if s.name == name and s.start <= now]
        return candidates[-1] if candidates else None

    def planned_operating(self, t0: float, t1: float) -> list[tuple[float, float]]:
        """The parts of [t0, t1) inside a shift (all of it without a calendar)."""
        if self.empty:
            return [(t0, t1)] if t1 > t0 else []
        return [(max(t0, s.start), min(t1, s.end)) for s in self.instances(t0, t1)]

    def boundaries(self, t0: float, t1: float) -> list[float]:
        """Moments in (t0, t1] where a shift or a break starts or ends, in order."""
        points: set[float] = set()
        for shift in self.instances(t0 - 1, t1 + 1):
            points.update((shift.start, shift.end))
            for b0, b1, _ in shift.breaks:
                points.update((b0, b1))
        return sorted(p for p in points if t0 < p <= t1)
