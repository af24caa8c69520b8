"""Shelving policy: a reason is mandatory, timed shelves are capped project-wide.

Why a cap and a mandatory reason: shelving hides an alarm from the operator, so ISA-18.2 wants
it deliberate, explained and temporary. One-shot shelving (no time) lasts until the alarm
returns to normal; timed shelving ends on expiry (default `shelve_default_min`, at most
`shelve_max_min`), or earlier by hand. Times are minutes here because operators think in
minutes; the engine stores the expiry in epoch seconds.
"""

from __future__ import annotations

import math

from alarms.config import AlarmSettings
from alarms.permissions import AlarmCommandError
from alarms.states import AlarmRecord


def shelve_until(minutes: float | None, reason: str, now: float,
                 settings: AlarmSettings) -> float | None:
    """The expiry (epoch s) of a shelve request, None for one-shot; refuses bad requests."""
    if not reason or not reason.strip():
        raise AlarmCommandError("shelving needs a reason (--reason TEXT)")
    if minutes is None:
        return None
    if not math.isfinite(minutes) or minutes <= 0:
        raise AlarmCommandError(f"shelve time must be a positive number of minutes, "
                                f"found {minutes!r}")
    if minutes > settings.shelve_max_min:
        raise AlarmCommandError(f"{minutes:g} min is above the project's maximum shelve time "
                                f"of {settings.shelve_max_min:g} min")
    return now + minutes * 60.0


def expired(record: AlarmRecord, now: float) -> bool:
    """A timed shelve whose time is up (one-shot shelves never expire by time)."""
    return record.shelved and record.shelved_until is not None and now >= record.shelved_until
