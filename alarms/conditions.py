"""The instantaneous alarm condition of each alarm type, with its deadband.

A pure function of the sample, the alarm's previous raw condition and (for deviation and rate
of change) one more input. It answers True (abnormal), False (normal) or None (unknown: BAD
quality or a value that is not a number); the engine holds the alarm's state on None, because
a device that stopped answering says nothing about the tank level. Only `bad_quality` alarms
look at quality itself.

Deadband is hysteresis on the clearing side (ISA-18.2): a high alarm raises at `value >= limit`
and clears only below `limit - deadband`, so a value hovering at the limit does not chatter.
"""

from __future__ import annotations

import math
from typing import Any

from alarms.config import AlarmConfig
from hmi.tags import Quality, Reason, Sample


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _above(x: float, limit: float, deadband: float, was: bool) -> bool:
    return x >= limit - deadband if was else x >= limit


def _below(x: float, limit: float, deadband: float, was: bool) -> bool:
    return x <= limit + deadband if was else x <= limit


def evaluate(cfg: AlarmConfig, sample: Sample, was: bool, setpoint: Any = None,
             previous: Sample | None = None) -> bool | None:
    """The raw condition for `cfg` given `sample`; `was` is the previous raw condition.

    `setpoint`: the deviation alarm's setpoint value (None if unknown). `previous`: the tag's
    previous GOOD sample, for rate of change (units of the tag per second).
    """
    kind = cfg.type
    if kind == "bad_quality":
        # a device disabled in the project is out of service by design, not a comm failure
        return (sample.quality is Quality.BAD
                and not sample.reason.startswith(str(Reason.OUT_OF_SERVICE)))
    if sample.quality is Quality.BAD:
        return None
    if kind == "digital":
        if sample.value is None:
            return None
        return bool(sample.value) == cfg.on_state
    x = _number(sample.value)
    limit = cfg.limit
    if x is None or limit is None:
        return None
    db = cfg.deadband
    if kind in ("high", "highhigh"):
        return _above(x, limit, db, was)
    if kind in ("low", "lowlow"):
        return _below(x, limit, db, was)
    if kind == "deviation":
        sp = _number(setpoint)
        if sp is None:
            return None
        return _above(abs(x - sp), limit, db, was)
    if kind == "roc":
        if previous is None:
            return None
        px = _number(previous.value)
        dt = sample.ts - previous.ts
        if px is None or dt <= 0:
            return None
        return _above(abs(x - px) / dt, limit, db, was)
    return None
