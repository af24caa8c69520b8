"""A production counter: a big whole number with its unit (good bottles, rejects, cases).

Counters are read at a distance, so the number is large and thousands are separated; BAD shows
"BAD" greyed on a hatched field like every other value. GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from hmi.gui import theme
from widgets.formatting import display_text
from widgets.tag_widget import TagWidget, paint_quality_field, text_colour


class Counter(TagWidget):
    """Label above, number below."""

    def __init__(self, context: Any, tag: str, label: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(context, tag, label=label or tag, parent=parent)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def _big(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(self.font().pointSizeF() * 1.6)
        return font

    def sizeHint(self) -> QSize:
        metrics = QFontMetrics(self._big())
        label_w = QFontMetrics(self.font()).horizontalAdvance(self.label + " [bottles/min]")
        return QSize(max(220, metrics.horizontalAdvance("000 000 000") + 40, label_w + 12),
                     22 + metrics.height() + 8)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def text(self) -> str:
        return display_text(self.sample(), self.cfg)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w, h = self.width(), self.height()
        unit = self.cfg.unit if self.cfg is not None and self.cfg.unit else ""
        painter.setPen(theme.colour("muted"))
        painter.drawText(QRectF(4, 0, w - 8, 20),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         f"{self.label}" + (f" [{unit}]" if unit else ""))
        field = QRectF(2, 21, w - 4, h - 23)
        sample = self.sample()
        paint_quality_field(painter, field, sample)
        self.paint_alarm(painter, QRectF(field.left() + 3, field.center().y() - 9, 18, 18))
        painter.setFont(self._big())
        painter.setPen(text_colour(sample))
        painter.drawText(field.adjusted(24, 0, -8, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self.text())
        self.paint_focus(painter)
        painter.end()
