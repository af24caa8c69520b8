"""A setpoint entry that refuses what must never be sent: NaN, infinity, text, out-of-range.

Why a validator that says Invalid (the keystroke is not accepted) and not only a red message
after the fact: an operator typing "950" into a 0-600 field should see the third digit refused
while typing, and there is no way to type "nan" at all. Values that could still become valid
("1" on the way to "15" with a minimum of 10) are Intermediate: kept, but the Write button stays
disabled until the text is Acceptable. Plain decimal notation only (no exponents): operators
type numbers, and "95e-1" would defeat the as-you-type range check. GUI thread only.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import QObject
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QLineEdit, QWidget

_NUMBER = re.compile(r"^[+-]?\d*(\.\d*)?$")
_INTEGER = re.compile(r"^[+-]?\d*$")


class RangeValidator(QValidator):
    """Acceptable: a finite number within [low, high] (either may be None = unbounded)."""

    def __init__(self, low: float | None, high: float | None, integer: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.low, self.high, self.integer = low, high, integer

    def check(self, text: str) -> QValidator.State:
        """The verdict on `text` (the same rule `validate` applies as you type)."""
        text = text.strip().replace(",", ".")
        if text in ("", "+", "-", ".", "+.", "-."):
            return QValidator.State.Intermediate
        if not (_INTEGER if self.integer else _NUMBER).match(text):
            return QValidator.State.Invalid  # letters (nan, inf), exponents, spaces
        value = float(text)
        if not math.isfinite(value):
            return QValidator.State.Invalid
        # more digits only move a number away from zero: once past a bound on that side, no
        # keystroke can bring it back, so the keystroke is refused
        if self.high is not None and value > self.high:
            return QValidator.State.Invalid if value >= 0 else QValidator.State.Intermediate
        if self.low is not None and value < self.low:
            return QValidator.State.Invalid if value < 0 else QValidator.State.Intermediate
        return QValidator.State.Acceptable

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        return self.check(text), text, pos


class SetpointEntry(QLineEdit):
    """A line edit bound to a tag's write range; `value()` is the number once acceptable."""

    def __init__(self, low: float | None, high: float | None, integer: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.range_validator = RangeValidator(low, high, integer, self)
        self.setValidator(self.range_validator)
        self.integer = integer
        lo = "-∞" if low is None else f"{low:g}"
        hi = "+∞" if high is None else f"{high:g}"
        self.setPlaceholderText(f"{lo} … {hi}")
        self.textChanged.connect(self._on_text)
        self._on_text(self.text())

    def _on_text(self, _text: str) -> None:
        invalid = bool(self.text()) and not self.hasAcceptableInput()
        if self.property("invalid") != invalid:
            self.setProperty("invalid", invalid)
            self.style().unpolish(self)
            self.style().polish(self)

    def value(self) -> float | int | None:
        if not self.hasAcceptableInput():
            return None
        number = float(self.text().strip().replace(",", "."))
        return int(number) if self.integer else number
