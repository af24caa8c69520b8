"""One alarm mark as a widget: the priority shape, number and colour, blinking by state.

Used where a mark stands alone (faceplate alarm rows, header counts); value widgets paint the
same mark themselves through `widgets.alarm_style.paint_alarm_mark`. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from widgets.alarm_style import RTN_UNACK, UNACK, paint_alarm_mark


class AlarmIndicator(QWidget):
    """Shows `priority` in `state` ("" = nothing); `set_phase` advances a blink."""

    def __init__(self, priority: str = "", state: str = "", size: int = 20,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.priority = priority
        self.state = state
        self._phase = 0.0
        self._size = size
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._update_accessible()

    def sizeHint(self) -> QSize:
        return QSize(self._size, self._size)

    def set_alarm(self, priority: str, state: str) -> None:
        if (priority, state) != (self.priority, self.state):
            self.priority, self.state = priority, state
            self._update_accessible()
            self.update()

    def set_phase(self, phase_s: float) -> None:
        self._phase = phase_s
        if self.state in (UNACK, RTN_UNACK):
            self.update()

    def _update_accessible(self) -> None:
        self.setAccessibleName(f"{self.priority} alarm, state {self.state}"
                               if self.state else "no alarm")

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.state:
            return
        painter = QPainter(self)
        side = min(self.width(), self.height())
        paint_alarm_mark(painter, QRectF(0, 0, side, side), self.priority, self.state,
                         self._phase)
        painter.end()
