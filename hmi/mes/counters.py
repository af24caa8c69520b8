"""Cumulative PLC counters turned into increments that are never negative and never huge.

A PLC counter counts up and, now and then, wraps (an int16 goes 32767 -> -32768, a uint16
65535 -> 0) or is reset to 0 (a new batch, a PLC restart). Subtracting two readings would then
give a negative count, or, read as unsigned, one of ~4 billion bottles. The rule here, on the
counter's unsigned view (value mod 2**bits):

- the reading went up: the increment is the difference;
- it went down from the top quarter of the range into the bottom quarter: a wrap; the
  increment is the distance through the top;
- it went down otherwise: a reset; what was counted since the reset (the new value) is the
  increment.

A reset from a value in the top quarter straight to the bottom quarter is indistinguishable
from a wrap; with 16-bit counters that is the price of counting through wraps at all.
BAD-quality or non-numeric readings are skipped (the next good one carries the count).
"""

from __future__ import annotations

import math
from typing import Any

BITS_OF_TYPE = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32}


class CounterTracker:
    """One counter. `last` is the last raw unsigned reading, persisted by the caller so a
    restart counts what the PLC counted while the station was down."""

    def __init__(self, bits: int = 32, last: int | None = None) -> None:
        self.bits = bits
        self.modulus = 1 << bits
        self.last = last
        self.resets = 0
        self.wraps = 0

    def unsigned(self, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return round(value) % self.modulus

    def update(self, value: Any) -> int:
        """The increment since the previous reading (0 for the first one)."""
        current = self.unsigned(value)
        if current is None:
            return 0
        previous, self.last = self.last, current
        if previous is None or current == previous:
            return 0
        if current > previous:
            return current - previous
        quarter = self.modulus // 4
        if previous >= self.modulus - quarter and current < quarter:
            self.wraps += 1
            return self.modulus - previous + current
        self.resets += 1
        return current
