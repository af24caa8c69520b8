"""The header's alarm banner (top 5 alarms) and alarm counts, visible on every screen.

Order (ISA-18.2 / EEMUA 191 practice): unacknowledged first, then active, then priority, then
newest; shelved, suppressed and out-of-service alarms are not annunciated here (the counts say
how many there are). Each row: priority mark (blinking while unacknowledged), time raised,
message, tag and value (the tag's decimals and unit), state; the message has the width first.
Click a row or select it with Up/Down and press Enter: the faceplate of its tag. GUI thread
only.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from hmi.gui import theme
from hmi.gui.alarm_table import STATE_COUNTS
from widgets.alarm_style import PRIORITIES, paint_alarm_mark
from widgets.formatting import format_number

ROWS = 5
ROW_H = 22
GAP_PX = 14  # between a row's message and its tag


def _clock(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts else "--:--:--"


class AlarmBanner(QWidget):
    """The five most important standing alarms."""

    selection_changed = Signal(str)  # alarm name ("" = none)

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.context = context
        self.rows: list[dict[str, Any]] = []
        self.selected = ""
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("alarm banner")
        context.alarms.changed.connect(self._on_alarms)
        context.alarms.blink.connect(self._on_blink)
        self._on_alarms([])

    def sizeHint(self) -> QSize:
        return QSize(700, ROWS * ROW_H + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(400, ROWS * ROW_H + 4)

    def _on_alarms(self, _names: list[str]) -> None:
        self.rows = self.context.alarms.top(ROWS)
        if self.selected and self.selected not in {r["name"] for r in self.rows}:
            self.selected = ""
            self.selection_changed.emit("")
        self.setToolTip(f"{len(self.context.alarms.annunciated())} standing alarm(s); "
                        "click a row or Up/Down + Enter: faceplate")
        self.update()

    def _on_blink(self, _phase: float) -> None:
        if self.isVisible():
            self.update()

    def selected_row(self) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["name"] == self.selected), None)

    def select(self, name: str) -> None:
        self.selected = name
        self.selection_changed.emit(name)
        self.update()

    # ---- input ---------------------------------------------------------------------------------
    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        index = int((event.position().y() - 2) // ROW_H)
        if 0 <= index < len(self.rows):
            self.select(self.rows[index]["name"])
            self.context.open_faceplate(self.rows[index]["tag"])
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        names = [r["name"] for r in self.rows]
        if not names:
            super().keyPressEvent(event)
            return
        at = names.index(self.selected) if self.selected in names else -1
        if event.key() == Qt.Key.Key_Down:
            self.select(names[min(len(names) - 1, at + 1)])
        elif event.key() == Qt.Key.Key_Up:
            self.select(names[max(0, at - 1)])
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and at >= 0:
            self.context.open_faceplate(self.rows[at]["tag"])
        else:
            super().keyPressEvent(event)

    # ---- drawing ------------------------------------------------------------------------------
    def value_text(self, row: dict[str, Any]) -> str:
        """The value as the rest of the station shows it: the tag's decimals and unit
        (`format_number`); on/off for a boolean, as the alarm summary writes it."""
        value = row.get("value")
        if value is None:
            return ""
        if isinstance(value, bool):
            return "on" if value else "off"
        return format_number(value, self.context.meta.tag(row.get("tag", "")), with_unit=True)

    def row_cells(self, row: dict[str, Any], left: float, right: float
                  ) -> dict[str, tuple[float, float, str]]:
        """Where the message and "tag = value" go between x = `left` and `right`, and their
        texts elided to fit: {"message": (x, width, text), "tag": (x, width, text)}.

        The message comes first (it says what is wrong): it gets its whole width while the
        tag keeps at least its value ("...= 96.0 %"); only then is the message cut. Measured
        in the font it is drawn in (bold while unacknowledged), with GAP_PX between the two:
        measuring bold text with the normal font ran them into each other."""
        metrics = QFontMetrics(self.font())
        bold = QFont(self.font())
        bold.setBold(True)
        message_metrics = QFontMetrics(bold) if row["state"] in ("B", "D") else metrics
        message = row.get("message") or row["name"]
        shown = self.value_text(row)
        suffix = f" = {shown}" if shown else ""
        suffix_w = metrics.horizontalAdvance(suffix)
        room = max(0.0, right - left)
        tag_full = metrics.horizontalAdvance(row["tag"]) + suffix_w + 2
        tag_least = min(tag_full, metrics.horizontalAdvance("\u2026") + suffix_w + 2) \
            if suffix else 0  # with no value to show, the path may go altogether
        message_full = message_metrics.horizontalAdvance(message) + GAP_PX + 2  # rounding
        message_w = max(60.0, min(message_full, room - tag_least))
        tag_w = max(0.0, min(tag_full, room - message_w))
        # the path gives way from the left ("...Filler.Level"); the value stays whole
        path = metrics.elidedText(row["tag"], Qt.TextElideMode.ElideLeft,
                                  max(0, int(tag_w - suffix_w)))
        return {
            "message": (left, message_w, message_metrics.elidedText(
                message, Qt.TextElideMode.ElideRight, max(0, int(message_w - GAP_PX)))),
            "tag": (right - tag_w, tag_w, path + suffix),
        }

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w = self.width()
        painter.fillRect(self.rect(), theme.colour("field"))
        painter.setPen(QPen(theme.colour("border"), 1))
        painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        metrics = QFontMetrics(self.font())
        time_w = metrics.horizontalAdvance("00:00:00") + 12
        state_w = metrics.horizontalAdvance("returned unacknowledged") + 10
        phase = self.context.alarms.phase()
        bold = QFont(self.font())
        bold.setBold(True)
        if not self.rows:
            painter.setPen(theme.colour("muted"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No standing alarms")
        for i, row in enumerate(self.rows):
            top = 2 + i * ROW_H
            if row["name"] == self.selected:
                painter.fillRect(QRectF(1, top, w - 2, ROW_H), theme.colour("band"))
                painter.setPen(QPen(theme.colour("focus"), 2))
                painter.drawRect(QRectF(2, top + 1, w - 4, ROW_H - 2))
            paint_alarm_mark(painter, QRectF(6, top + 2, ROW_H - 4, ROW_H - 4),
                             row.get("priority", "low"), row["state"], phase)
            x = ROW_H + 10
            unacked = row["state"] in ("B", "D")
            painter.setFont(bold if unacked else self.font())
            painter.setPen(theme.colour("text"))
            painter.drawText(QRectF(x, top, time_w, ROW_H), Qt.AlignmentFlag.AlignVCenter,
                             _clock(row.get("raised_ts")))
            x += time_w
            cells = self.row_cells(row, x, w - state_w - 8)
            message_x, message_w, message = cells["message"]
            painter.drawText(QRectF(message_x, top, message_w, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter, message)
            painter.setFont(self.font())
            painter.setPen(theme.colour("muted"))
            right_x, right_w, right = cells["tag"]
            painter.drawText(QRectF(right_x, top, right_w, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, right)
            painter.setPen(theme.colour("text"))
            painter.drawText(QRectF(w - state_w, top, state_w - 6, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             row.get("state_name", row["state"]))
        if self.hasFocus():
            painter.setPen(QPen(theme.colour("focus"), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        painter.end()


class AlarmCounts(QWidget):
    """Counts per priority (mark + number) and per state (unacked, acked, shelved, suppressed,
    out of service). Click: the alarm summary."""

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AlarmCounts")
        self.context = context
        self.counts: dict[str, int] = {}
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Alarm counts per priority and per state; click: alarm summary")
        context.alarms.changed.connect(self._on_alarms)
        self._on_alarms([])

    def _columns(self) -> tuple[int, int]:
        metrics = QFontMetrics(self.font())
        left = ROW_H + 8 + metrics.horizontalAdvance("medium") + 56
        right = metrics.horizontalAdvance("unacknowledged") + 64
        return left, right

    def sizeHint(self) -> QSize:
        left, right = self._columns()
        return QSize(left + right, ROWS * ROW_H + 4)

    def _on_alarms(self, _names: list[str]) -> None:
        self.counts = self.context.alarms.counts()
        self.setAccessibleName(", ".join(f"{k} {v}" for k, v in self.counts.items()))
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.context.show_screen("alarms", "")
        super().mouseReleaseEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        half, _right = self._columns()
        bold = QFont(self.font())
        bold.setBold(True)
        for i, name in enumerate(PRIORITIES):
            top = 2 + i * ROW_H
            paint_alarm_mark(painter, QRectF(4, top + 2, ROW_H - 4, ROW_H - 4), name, "C")
            painter.setPen(theme.colour("text"))
            painter.setFont(self.font())
            painter.drawText(QRectF(ROW_H + 8, top, half - ROW_H - 50, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter, name)
            painter.setFont(bold)
            painter.drawText(QRectF(half - 50, top, 40, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             str(self.counts.get(name, 0)))
        for i, (key, label) in enumerate(STATE_COUNTS):
            top = 2 + i * ROW_H
            painter.setFont(self.font())
            painter.setPen(theme.colour("muted"))
            painter.drawText(QRectF(half + 4, top, self.width() - half - 50, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter, label)
            painter.setFont(bold)
            painter.setPen(theme.colour("text"))
            painter.drawText(QRectF(self.width() - 46, top, 40, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             str(self.counts.get(key, 0)))
        painter.end()
