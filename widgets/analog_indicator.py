"""The ISA-101 moving analog indicator: where a value sits in its range, at a glance.

A horizontal bar over the tag's range (min..max) with the normal band (between the highest low
limit and the lowest high limit) lighter, the alarm limits as ticks marked L/LL/H/HH, the
setpoint as a hollow marker below the bar, and the value as a solid pointer above it. While an
alarm on a limit is active (unacknowledged, acknowledged or latched), the band beyond that
limit takes the alarm's priority colour (from `widgets.alarm_style`, nothing else here has
colour) and the priority mark shows by the value. Once the value has returned but the alarm
is still unacknowledged the band is only outlined (dashed, with the priority number): a full
band there read as "still high" with the value back in the normal band.
BAD: the bar is hatched, no pointer, "BAD" instead of a number.

GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from hmi.gui import theme
from hmi.tags import Quality
from widgets.alarm_style import ACKED, LATCHED, RTN_UNACK, UNACK, style_of
from widgets.formatting import as_float, display_text
from widgets.tag_widget import TagWidget, paint_quality_field, text_colour

ACTIVE = (UNACK, ACKED, LATCHED)  # the limit is (or stays latched) violated: a filled band
LABEL_H = 20
BAR_H = 14
TICK_H = 14


class AnalogIndicator(TagWidget):
    """Label and value on top, the bar below, limit and range labels under the bar."""

    def __init__(self, context: Any, tag: str, label: str = "", setpoint: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(context, tag, (setpoint,), label=label or tag, parent=parent)
        self.setpoint_tag = setpoint
        cfg = self.cfg
        self.low = cfg.min if cfg is not None and cfg.min is not None else 0.0
        self.high = cfg.max if cfg is not None and cfg.max is not None else 100.0
        if self.high <= self.low:
            self.high = self.low + 1.0
        self.limits = context.meta.limits.get(tag, [])
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMaximumWidth(620)  # wider bars read no better; eyes travel further

    def sizeHint(self) -> QSize:
        return QSize(260, LABEL_H + BAR_H + TICK_H + 12)

    def minimumSizeHint(self) -> QSize:
        metrics = QFontMetrics(self.font())
        unit = self.cfg.unit if self.cfg is not None else ""
        bold = QFont(self.font())
        bold.setBold(True)
        need = (metrics.horizontalAdvance(self.label) + metrics.horizontalAdvance(unit)
                + QFontMetrics(bold).horizontalAdvance("00000.00 ?") + 60)
        return QSize(max(200, need), LABEL_H + BAR_H + TICK_H + 12)

    def text(self) -> str:
        sample = self.sample()
        shown = display_text(sample, self.cfg)
        if sample is not None and sample.quality is Quality.UNCERTAIN:
            shown += " ?"
        return shown

    def violated(self) -> list[tuple[Any, dict[str, Any]]]:
        """(limit, alarm row) for each limit whose alarm is active (filled band)."""
        return self._limits_in(ACTIVE)

    def returned(self) -> list[tuple[Any, dict[str, Any]]]:
        """(limit, alarm row) for each limit whose alarm returned unacknowledged (outlined)."""
        return self._limits_in((RTN_UNACK,))

    def _limits_in(self, states: tuple[str, ...]) -> list[tuple[Any, dict[str, Any]]]:
        rows = {r["name"]: r for r in self.alarm_rows if r["state"] in states}
        return [(lim, rows[lim.alarm]) for lim in self.limits if lim.alarm in rows]

    def _x(self, bar: QRectF, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return bar.left() + max(0.0, min(1.0, share)) * bar.width()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w = self.width()
        sample = self.sample()
        value = as_float(sample)
        # top row: [mark] label ........ value unit
        has_mark = self.paint_alarm(painter, QRectF(2, 1, 18, 18))
        x0 = 24 if has_mark else 4
        painter.setPen(theme.colour("muted"))
        painter.drawText(QRectF(x0, 0, w * 0.55, LABEL_H),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.label)
        unit = self.cfg.unit if self.cfg is not None else ""
        metrics = QFontMetrics(self.font())
        unit_w = metrics.horizontalAdvance(unit) + 6 if unit else 0
        bold = QFont(self.font())
        bold.setBold(True)
        value_w = QFontMetrics(bold).horizontalAdvance("00000.00 ?") + 10
        field = QRectF(w - unit_w - value_w - 4, 1, value_w, LABEL_H - 2)
        paint_quality_field(painter, field, sample)
        painter.setFont(bold)
        painter.setPen(text_colour(sample))
        painter.drawText(field.adjusted(2, 0, -5, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self.text())
        painter.setFont(self.font())
        if unit:
            painter.setPen(theme.colour("muted"))
            painter.drawText(QRectF(field.right() + 4, 0, unit_w, LABEL_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, unit)
        bar = QRectF(10, LABEL_H + 8, w - 20, BAR_H)
        self._paint_bar(painter, bar, sample, value)
        self.paint_focus(painter)
        painter.end()

    def _paint_bar(self, painter: QPainter, bar: QRectF, sample: Any, value: float | None
                   ) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.colour("track"))
        painter.drawRect(bar)
        lows = [lim.value for lim in self.limits if lim.mark in ("L", "LL")]
        highs = [lim.value for lim in self.limits if lim.mark in ("H", "HH")]
        if lows or highs:
            band_lo = max(lows) if lows else self.low
            band_hi = min(highs) if highs else self.high
            painter.setBrush(theme.colour("band"))
            painter.drawRect(QRectF(QPointF(self._x(bar, band_lo), bar.top()),
                                    QPointF(self._x(bar, band_hi), bar.bottom())))
        marked = [(lim, row, True) for lim, row in self.violated()]
        marked += [(lim, row, False) for lim, row in self.returned()]
        for limit, row, active in marked:  # the violated band in the priority colour,
            # outlined and numbered so it reads without colour too (yellow is as light as the
            # normal band in greyscale); returned: outline and number only
            style = style_of(row.get("priority", limit.priority))
            end = self.high if limit.mark in ("H", "HH") else self.low
            x1, x2 = sorted((self._x(bar, limit.value), self._x(bar, end)))
            band = QRectF(x1, bar.top(), max(2.0, x2 - x1), bar.height())
            if active:
                painter.setBrush(QColor(style.colour))
                painter.setPen(QPen(theme.colour("pointer"), 1.5))
            else:
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.setPen(QPen(QColor(style.colour), 2.5))
                painter.drawRect(band.adjusted(1, 1, -1, -1))
                painter.setPen(QPen(theme.colour("pointer"), 1.5, Qt.PenStyle.DashLine))
            painter.drawRect(band)
            if band.width() >= 16:
                number = QFont(self.font())
                number.setBold(True)
                number.setPixelSize(int(bar.height()) - 3)
                painter.setFont(number)
                painter.setPen(QColor(style.text_colour) if active else theme.colour("text"))
                inner = band.adjusted(3, 0, -3, 0)
                align = (Qt.AlignmentFlag.AlignRight if limit.mark in ("H", "HH")
                         else Qt.AlignmentFlag.AlignLeft)
                painter.drawText(inner, align | Qt.AlignmentFlag.AlignVCenter, str(style.number))
                painter.setFont(self.font())
            painter.setPen(Qt.PenStyle.NoPen)
        if sample is None or sample.quality is Quality.BAD:
            painter.setBrush(QBrush(theme.colour("bad_hatch"), Qt.BrushStyle.BDiagPattern))
            painter.drawRect(bar)
        painter.setPen(QPen(theme.colour("border"), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(bar)
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, self.font().pointSizeF() * 0.8))
        painter.setFont(small)
        tick_y = bar.bottom() + 1
        label_rect_h = TICK_H
        limit_rects = []
        for limit in self.limits:
            x = self._x(bar, limit.value)
            painter.setPen(QPen(theme.colour("text"), 1.5))
            painter.drawLine(QPointF(x, bar.top() - 3), QPointF(x, bar.bottom() + 2))
            rect = QRectF(x - 14, tick_y, 28, label_rect_h)
            painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             limit.mark)
            limit_rects.append(rect)
        painter.setPen(theme.colour("muted"))
        metrics = painter.fontMetrics()
        for end, left in ((self.low, True), (self.high, False)):
            text = f"{end:g}"
            width = metrics.horizontalAdvance(text) + 2
            left_x = bar.left() - 4 if left else bar.right() + 4 - width
            rect = QRectF(left_x, tick_y, width, label_rect_h)
            if not any(rect.intersects(r) for r in limit_rects):  # a limit mark wins
                painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                                 text)
        setpoint = as_float(self.sample(self.setpoint_tag)) if self.setpoint_tag else None
        if setpoint is not None:  # hollow marker below the bar
            x = self._x(bar, setpoint)
            painter.setPen(QPen(theme.colour("pointer"), 1.5))
            painter.setBrush(theme.colour("background"))
            painter.drawPolygon(QPolygonF([QPointF(x, bar.bottom() - 3),
                                           QPointF(x - 6, bar.bottom() + 8),
                                           QPointF(x + 6, bar.bottom() + 8)]))
        if value is not None:  # solid pointer above the bar, line through it
            x = self._x(bar, value)
            painter.setPen(QPen(theme.colour("pointer"), 2))
            painter.drawLine(QPointF(x, bar.top()), QPointF(x, bar.bottom()))
            painter.setBrush(theme.colour("pointer"))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawPolygon(QPolygonF([QPointF(x, bar.top() + 2), QPointF(x - 6, bar.top() - 8),
                                           QPointF(x + 6, bar.top() - 8)]))
