"""What a trend draws besides its curves: value axes in engineering units, BAD periods, alarm
journal markers.

The BAD bands and the alarm marks are drawn in *pixels* at data times: they sit in the ViewBox
(so they pan and zoom with the curves) but a mark stays 14 px wide at any zoom, so each paints
with the ViewBox's transform reset, mapping only its x positions. Both answer hover with a
tooltip (the alarm's message; the gap's reason), found by pixel distance.

Alarm marks (ISA-101: colour is reserved for alarms, and comes only from `widgets.alarm_style`):
raise (and re-alarm) is the priority's filled shape with its number, acknowledge the same shape
hollow in the priority colour with a tick, return to normal the shape hollow in grey. A raise
also draws a dotted grey line down the plot, so the curves' behaviour at that moment is easy to
read. Greys and the tick come from the look in use (`widgets.trend_look`), read at paint time.

GUI thread only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from hmi.trends.data import AlarmEvent
from widgets.alarm_style import ACKED, paint_alarm_mark, shape_path, style_of
from widgets.trend_look import ink, look
from widgets.trend_pens import AxisGroup

MARK_PX = 14.0
HIT_PX = 8.0
STRIP_PX = 5.0
SWATCH_PX = 6.0
HATCH_MIN_PX = 2.0


def local_time(ts: float, seconds: bool = True) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M",
                         time.localtime(ts))


class ScaleAxis(pg.AxisItem):
    """A value axis for one axis group: shows the ViewBox's 0..1 window in the group's units."""

    def __init__(self, group: AxisGroup) -> None:
        super().__init__("left")
        self.group = group
        self.setWidth(52)
        self.apply_style()

    def apply_style(self) -> None:
        colour = QColor(self.group.colour())
        self.setPen(pg.mkPen(colour))
        self.setTextPen(pg.mkPen(colour))
        self.setLabel(self.group.title(), color=colour.name())

    def show_view(self, y0: float, y1: float) -> None:
        self.setRange(self.group.unmap(y0), self.group.unmap(y1))


class _PixelItem(pg.GraphicsObject):
    """Covers the whole view; subclasses paint in device pixels at data times."""

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptHoverEvents(True)
        self.setZValue(20)

    def boundingRect(self) -> QRectF:
        rect = self.viewRect()
        return QRectF() if rect is None else rect

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()
        super().viewTransformChanged()

    def _device(self, painter: QPainter) -> tuple[Any, QRectF] | None:
        rect = self.viewRect()
        if rect is None:
            return None
        transform = painter.transform()
        return transform, transform.mapRect(rect)

    def _x_px(self, ts: float) -> float | None:
        point = self.mapToDevice(QPointF(ts, 0.0))
        return None if point is None else point.x()

    def hoverEvent(self, ev: Any) -> None:
        if ev.isExit():
            self.setToolTip("")
            return
        device = self.mapToDevice(ev.pos())
        self.setToolTip(self.text_at(device.x(), device.y()) if device is not None else "")

    def text_at(self, x_px: float, y_px: float) -> str:  # pragma: no cover - overridden
        return ""


class AlarmMarkers(_PixelItem):
    """The alarm journal's raise / acknowledge / return-to-normal events on the time axis."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[AlarmEvent] = []

    def set_events(self, events: Sequence[AlarmEvent]) -> None:
        self.events = list(events)
        self.update()

    def positions(self) -> list[tuple[float, AlarmEvent]]:
        """(x in device pixels, event) of every event: what is drawn, for tests and hover."""
        out = []
        for event in self.events:
            x = self._x_px(event.ts)
            if x is not None:
                out.append((x, event))
        return out

    def paint(self, painter: QPainter, *args: Any) -> None:
        device = self._device(painter)
        if device is None or not self.events:
            return
        transform, area = device
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        top = area.top() + 2
        line = QPen(QColor(look().mark_grey), 1, Qt.PenStyle.DotLine)
        for event in self.events:
            x = transform.map(QPointF(event.ts, 0.0)).x()
            if x < area.left() - MARK_PX or x > area.right() + MARK_PX:
                continue
            rect = QRectF(x - MARK_PX / 2, top, MARK_PX, MARK_PX)
            if event.event in ("raise", "realarm"):
                painter.setPen(line)
                painter.drawLine(QPointF(x, top + MARK_PX), QPointF(x, area.bottom()))
                paint_alarm_mark(painter, rect, event.priority, ACKED)
            else:
                self._paint_hollow(painter, rect, event)
        painter.restore()

    @staticmethod
    def _paint_hollow(painter: QPainter, rect: QRectF, event: AlarmEvent) -> None:
        style = style_of(event.priority)
        colour = QColor(style.colour if event.event == "ack" else look().mark_grey)
        painter.setPen(QPen(colour, 2.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(shape_path(style.shape, rect))
        if event.event == "ack":  # a tick inside the hollow shape
            painter.setPen(QPen(QColor(look().text), 1.6))
            c = rect.center()
            painter.drawPolyline([QPointF(c.x() - 3, c.y()), QPointF(c.x() - 1, c.y() + 2.5),
                                  QPointF(c.x() + 3.5, c.y() - 2.5)])

    def text_at(self, x_px: float, y_px: float) -> str:
        near = [e for x, e in self.positions() if abs(x - x_px) <= HIT_PX]
        return "\n".join(f"{local_time(e.ts)}  {e.describe()}" for e in near[:12])


class GapBands(_PixelItem):
    """Where a pen had no good value: a faint hatch over the plot's height and, one row per pen
    along the bottom, a grey hatched strip led by a small swatch in the pen's colour, so it is
    clear whose data is missing. The strip is grey, not the pen's colour: a coloured line along
    the bottom of a gap read as the value falling to zero. A mini trend (`strips=False`) draws
    the hatch only: its one or two pens are named by the faceplate around it."""

    def __init__(self, strips: bool = True) -> None:
        super().__init__()
        self.setZValue(-5)
        self.strips = strips
        self.bands: list[tuple[int, str, str, float, float, str]] = []

    def set_bands(self, bands: Sequence[tuple[int, str, str, float, float, str]]) -> None:
        """(row, tag, colour, start, end, reason) per band."""
        self.bands = list(bands)
        self.update()

    def paint(self, painter: QPainter, *args: Any) -> None:
        device = self._device(painter)
        if device is None or not self.bands:
            return
        transform, area = device
        in_look = look()
        painter.save()
        painter.resetTransform()
        spans = []
        strip_fill = QBrush(QColor(in_look.strip), Qt.BrushStyle.Dense5Pattern)
        for row, _tag, colour, start, end, _reason in self.bands:
            x0 = max(area.left(), transform.map(QPointF(start, 0.0)).x())
            x1 = min(area.right(), transform.map(QPointF(end, 0.0)).x())
            if x1 <= x0:
                continue
            spans.append((x0, x1))
            if not self.strips:
                continue
            strip = QRectF(x0, area.bottom() - STRIP_PX * (row + 1), max(1.0, x1 - x0),
                           STRIP_PX - 1)
            painter.fillRect(strip, strip_fill)
            painter.fillRect(QRectF(strip.left(), strip.top(), min(SWATCH_PX, strip.width()),
                                    strip.height()), QColor(ink(colour)))
        # the hatch once per merged stretch, and only where it is wide enough to read: a
        # translucent pattern over the plot's height is the costly part of this item
        hatch = QBrush(QColor(*in_look.hatch), Qt.BrushStyle.BDiagPattern)
        for x0, x1 in _merge(spans):
            if x1 - x0 >= HATCH_MIN_PX:
                painter.fillRect(QRectF(x0, area.top(), x1 - x0, area.height()), hatch)
        painter.restore()

    def text_at(self, x_px: float, y_px: float) -> str:
        lines = []
        for _row, tag, _colour, start, end, reason in self.bands:
            x0, x1 = self._x_px(start), self._x_px(end)
            if x0 is not None and x1 is not None and x0 - 2 <= x_px <= x1 + 2:
                why = f" ({reason})" if reason else ""
                lines.append(f"{tag}: no good value {local_time(start)} to "
                             f"{local_time(end)}{why}")
        return "\n".join(lines)


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for x0, x1 in sorted(spans):
        if out and x0 <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], x1))
        else:
            out.append((x0, x1))
    return out
