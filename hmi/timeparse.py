"""Times as people type them on the command line: ISO-8601 (`2026-11-23T06:00:00Z`, local time
when no zone is given), relative (`-8h`, `-2d`, `-30m`, `-45s`, `-1w`) or `now`.
Returns seconds since the epoch (UTC)."""

from __future__ import annotations

import re
import time
from datetime import datetime

_RELATIVE = re.compile(r"^\s*([+-])\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


class TimeParseError(ValueError):
    """A time the user typed that is neither ISO-8601, relative, nor `now`."""


def parse_time(text: str, now: float | None = None) -> float:
    now = time.time() if now is None else now
    value = text.strip()
    if value.lower() == "now":
        return now
    match = _RELATIVE.match(value)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        return now + sign * float(match.group(2)) * _UNIT_S[match.group(3).lower()]
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise TimeParseError(
            f"cannot read time {text!r}: use ISO-8601 (2026-11-23T06:00:00Z), "
            "relative (-8h, -2d, -30m) or 'now'"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # local time, as the operator's clock shows it
    return parsed.timestamp()


def parse_range(start: str | None, end: str | None, default_start: str = "-24h",
                now: float | None = None) -> tuple[float, float]:
    """(from, to) in epoch seconds; raises TimeParseError if the range runs backwards."""
    now = time.time() if now is None else now
    t0 = parse_time(start or default_start, now)
    t1 = parse_time(end or "now", now)
    if t1 < t0:
        raise TimeParseError(f"the range runs backwards: --from {start} is after --to {end}")
    return t0, t1
