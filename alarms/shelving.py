"""Shelving policy: a reason is mandatory, timed shelves are capped (per alarm, within the
project's cap).

Why a cap and a mandatory reason: shelving hides an alarm from the operator, so ISA-18.2 wants
it deliberate, explained and temporary. One-shot shelving (no time) lasts until the alarm
returns to normal; timed shelving ends on expiry (default `shelve_default_min`, at most
`shelve_max_min`: the alarm's own if it has one, never above the project's), or earlier by
hand. Times are minutes here because operators think in
minutes; the engine stores the expiry in epoch seconds.
"""

from __future__ import annotations

import math

from alarms.config import AlarmConfig, AlarmSettings
from alarms.permissions import AlarmCommandError
from alarms.states import AlarmRecord


def max_shelve_min(config: AlarmConfig | None, settings: AlarmSettings) -> float:
    """The longest `config`'s alarm may be shelved: its own maximum, capped by the project's
    (the loader refuses a larger one; the cap holds for a hand-built config too)."""
    own = config.shelve_max_min if config is not None else None
    return settings.shelve_max_min if own is None else min(own, settings.shelve_max_min)


def shelve_until(minutes: float | None, reason: str, now: float,
                 settings: AlarmSettings, config: AlarmConfig | None = None) -> float | None:
    """The expiry (epoch s) of a shelve request, None for one-shot; refuses bad requests.
    `config`: the alarm's (its own `shelve_max_min`)."""
    if not reason or not reason.strip():
        raise AlarmCommandError("shelving needs a reason (--reason TEXT)")
    if minutes is None:
        return None
    if not math.isfinite(minutes) or minutes <= 0:
        raise AlarmCommandError(f"shelve time must be a positive number of minutes, "
                                f"found {minutes!r}")
    limit = max_shelve_min(config, settings)
    if minutes > limit:
        whose = "the project's" if limit == settings.shelve_max_min else "this alarm's"
        raise AlarmCommandError(f"{minutes:g} min is above {whose} maximum shelve time "
                                f"of {limit:g} min")
    return now + minutes * 60.0


def expired(record: AlarmRecord, now: float) -> bool:
    """A timed shelve whose time is up (one-shot shelves never expire by time)."""
    return record.shelved and record.shelved_until is not None and now >= record.shelved_until
