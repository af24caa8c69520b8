"""The faceplate's small trend: the last 10 minutes of one tag, history then live.

Deliberately small (a QPainter polyline, no plotting library): the trend issue's `TrendPlot`
replaces it in faceplates once it lands. The history comes from the historian in a worker
(`context.submit`), decimated in SQL to about two points per pixel; live samples are appended as
the bridge delivers them. BAD samples and historian gaps break the line (NaN), so an outage
reads as a gap, never as a straight line across it. GUI thread only.
"""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from hmi.gui import theme
from hmi.tags import Quality, Sample
from widgets.formatting import format_number

WINDOW_S = 600.0
BUCKETS = 300


def load_history(historian: Any, tag: str, t0: float, t1: float) -> list[tuple[float, float]]:
    """Worker thread: (t, v) pairs for `tag` in [t0, t1], NaN at gaps. Empty if unknown."""
    if historian is None:
        return []
    try:
        data = historian.decimated(tag, t0, t1, BUCKETS)
        before = historian.value_at(tag, t0)
    except LookupError:  # never recorded (history = false, or a new tag)
        return []
    points = [(float(t), float(v)) for t, v in zip(data.t, data.v, strict=False)]
    # the value in force when the window opens: a setpoint stored 20 minutes ago (on change
    # or heartbeat) still holds now, and its line must start at the left edge
    if before is not None and isinstance(before.value, int | float) and \
            not isinstance(before.value, bool) and before.quality is not Quality.BAD:
        points.insert(0, (t0, float(before.value)))
    return points


class MiniTrend(QWidget):
    """`points` are (epoch s, value or NaN), oldest first, trimmed to the last 10 minutes."""

    def __init__(self, context: Any, tag: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tag = tag
        self.cfg = context.meta.tag(tag)
        self.points: list[tuple[float, float]] = []
        self.history_loaded = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(f"trend of {tag}, last 10 minutes")
        now = time.time()
        context.submit(load_history, context.historian(), tag, now - WINDOW_S, now,
                       slot=self._on_history, error_slot=self._on_history_error)
        context.bridge.watch(self, [tag], self._on_samples)

    def sizeHint(self) -> QSize:
        return QSize(420, 130)

    def _on_history(self, points: list[tuple[float, float]]) -> None:
        live = [p for p in self.points if not points or p[0] > points[-1][0]]
        self.points = points + live
        self.history_loaded = True
        self.update()

    def _on_history_error(self, exc: BaseException) -> None:
        self.history_loaded = True
        self.setToolTip(f"history unavailable: {exc}")
        self.update()

    def _on_samples(self, samples: dict[str, Sample]) -> None:
        sample = samples.get(self.tag)
        if sample is None:
            return
        value = sample.value
        usable = (sample.quality is not Quality.BAD and isinstance(value, int | float)
                  and not isinstance(value, bool))
        self.points.append((sample.ts, float(value) if usable else math.nan))
        cutoff = time.time() - WINDOW_S
        while self.points and self.points[0][0] < cutoff:
            self.points.pop(0)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, self.font().pointSizeF() * 0.85))
        painter.setFont(small)
        area = QRectF(52, 6, self.width() - 60, self.height() - 24)
        painter.fillRect(area, theme.colour("field"))
        painter.setPen(QPen(theme.colour("border"), 1))
        painter.drawRect(area)
        now = time.time()
        t0 = now - WINDOW_S
        values = [v for _, v in self.points if not math.isnan(v)]
        painter.setPen(theme.colour("muted"))
        painter.drawText(QRectF(area.left(), area.bottom() + 2, 80, 16),
                         Qt.AlignmentFlag.AlignLeft, "-10 min")
        painter.drawText(QRectF(area.right() - 80, area.bottom() + 2, 80, 16),
                         Qt.AlignmentFlag.AlignRight, "now")
        if not values:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter,
                             "no history yet" if self.history_loaded else "loading history…")
            painter.end()
            return
        lo, hi = min(values), max(values)
        if self.cfg is not None and self.cfg.min is not None and self.cfg.max is not None:
            lo, hi = min(lo, self.cfg.min), max(hi, self.cfg.max)
        if hi - lo < 1e-9:
            lo, hi = lo - 1, hi + 1
        painter.drawText(QRectF(0, area.top() - 2, 48, 16), Qt.AlignmentFlag.AlignRight,
                         format_number(hi, self.cfg))
        painter.drawText(QRectF(0, area.bottom() - 14, 48, 16), Qt.AlignmentFlag.AlignRight,
                         format_number(lo, self.cfg))
        # steps, not slopes: the historian stores on change (deadband) and a value holds
        # until the next sample, so a straight line between two samples would invent values;
        # the last good value holds until now
        path = QPainterPath()
        last_y: float | None = None
        for t, v in [*self.points, (now, math.nan if not self.points else self.points[-1][1])]:
            x = area.left() + (max(t, t0) - t0) / WINDOW_S * area.width()
            if last_y is not None:
                path.lineTo(QPointF(x, last_y))
            if math.isnan(v):
                last_y = None
                continue
            y = area.bottom() - (v - lo) / (hi - lo) * area.height()
            if last_y is None:
                path.moveTo(QPointF(x, y))
            else:
                path.lineTo(QPointF(x, y))
            last_y = y
        painter.setClipRect(area)
        painter.setPen(QPen(theme.colour("trend"), 1.6))
        painter.drawPath(path)
        painter.end()
