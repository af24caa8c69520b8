"""A tag's value in a field, with its units, its quality and its alarm mark.

BAD shows "BAD" on a hatched, greyed field with the reason in the tooltip, never the last good
number; UNCERTAIN shows the number with "?" and a dotted outline; a tag in alarm shows the
priority mark (shape + number + colour) left of the field. Click or Enter opens the faceplate.
GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from hmi.gui import theme
from hmi.tags import Quality
from widgets.formatting import display_text
from widgets.tag_widget import TagWidget, paint_quality_field, text_colour

MARK_W = 20


class ValueLabel(TagWidget):
    """`[label]  [mark][  value][unit]` in one row."""

    def __init__(self, context: Any, tag: str, label: str = "", label_width: int | None = None,
                 field_chars: int = 9, parent: QWidget | None = None) -> None:
        super().__init__(context, tag, label=label, parent=parent)
        metrics = QFontMetrics(self.font())
        self._label_min = label_width or 0
        self._label_w = self._label_width(metrics)
        if self.cfg is not None and self.cfg.type == "string":  # room for the text it holds
            field_chars = max(field_chars, min(24, self.cfg.length or 12))
        self._field_w = metrics.horizontalAdvance("0" * field_chars) + 16
        unit = self.cfg.unit if self.cfg is not None else ""
        self._unit_w = metrics.horizontalAdvance(unit) + 8 if unit else 0
        # a value reads best in a compact field next to its label, not stretched across a page
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def _label_width(self, metrics: QFontMetrics) -> int:
        """At least the width asked for (a column of labels aligns), never less than the text
        needs in the font actually painted (a stylesheet may change it after construction)."""
        if not self.label:
            return 0
        return max(self._label_min, metrics.horizontalAdvance(self.label) + 12)

    def sizeHint(self) -> QSize:
        self._label_w = self._label_width(QFontMetrics(self.font()))
        height = QFontMetrics(self.font()).height() + 10
        return QSize(self._label_w + MARK_W + self._field_w + self._unit_w + 4, max(26, height))

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def text(self) -> str:
        """What the field shows now (tests and accessibility)."""
        sample = self.sample()
        shown = display_text(sample, self.cfg)
        if sample is not None and sample.quality is Quality.UNCERTAIN:
            shown += " ?"
        return shown

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        h = self.height()
        x = 0
        self._label_w = self._label_width(painter.fontMetrics())
        if self.label:
            painter.setPen(theme.colour("muted"))
            painter.drawText(QRectF(0, 0, self._label_w - 6, h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             self.label)
            x = self._label_w
        self.paint_alarm(painter, QRectF(x + 1, (h - 18) / 2, 18, 18))
        x += MARK_W
        field_w = max(30, self.width() - x - self._unit_w - 2)
        field = QRectF(x, 2, field_w, h - 4)
        sample = self.sample()
        paint_quality_field(painter, field, sample)
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(text_colour(sample))
        painter.drawText(field.adjusted(4, 0, -6, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self.text())
        if self._unit_w and self.cfg is not None:
            painter.setFont(self.font())
            painter.setPen(theme.colour("muted"))
            painter.drawText(QRectF(field.right() + 4, 0, self._unit_w, h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             self.cfg.unit)
        self.paint_focus(painter)
        painter.end()
