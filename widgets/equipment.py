"""Motor and valve symbols whose state is told by fill and text, never by red/green (ISA-101).

RUNNING / OPEN: the symbol is filled solid (dark by day, light by night) and the state text
says so; STOPPED / CLOSED: hollow outline; FAULT: the state text reads FAULT with the fault
alarm's priority mark; BAD: hatched symbol, state "BAD", reason in the tooltip. Click or Enter
opens the faceplate of the command tag when there is one (that is where Start/Stop is), else of
the running signal. GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from hmi.gui import theme
from hmi.tags import Quality
from widgets.tag_widget import TagWidget

SYMBOL = 46


class EquipmentSymbol(TagWidget):
    """`kind` "motor" (a circle with M) or "valve" (a bow tie)."""

    def __init__(self, context: Any, tag: str, label: str = "", kind: str = "motor",
                 fault: str | None = None, command: str | None = None, compact: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(context, tag, (fault, command), label=label or tag, parent=parent)
        self.kind = kind
        self.compact = compact  # overview: "label [STATE] mark" in one row, no symbol
        self.show_label = True  # compact: False when the row already names the equipment
        self.fault_tag = fault
        self.command_tag = command
        self.faceplate_tag = command or tag
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._update_tooltip()

    def sizeHint(self) -> QSize:
        if self.compact:
            label_w = self.fontMetrics().horizontalAdvance(self.label) + 10 if self.show_label \
                else 0
            return QSize(label_w + 130, 26)
        return QSize(150, SYMBOL + 48)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint() if self.compact else QSize(120, SYMBOL + 48)

    def state(self) -> str:
        """RUNNING | STOPPED | FAULT | BAD | ---- (OPEN/CLOSED for valves)."""
        sample = self.sample()
        if sample is None or sample.reason == "not yet read":
            return "----"
        if sample.quality is Quality.BAD:
            return "BAD"
        fault = self.sample(self.fault_tag) if self.fault_tag else None
        if fault is not None and fault.quality is not Quality.BAD and fault.value:
            return "FAULT"
        on = bool(sample.value)
        if self.kind == "valve":
            return "OPEN" if on else "CLOSED"
        return "RUNNING" if on else "STOPPED"

    def _update_tooltip(self) -> None:
        sample = self.sample()
        lines = [self.label, f"state: {self.state()}", f"signal: {self.tag}"]
        if sample is not None and sample.quality is not Quality.GOOD:
            lines.append(f"{sample.quality.name}: {sample.reason}")
        if self.command_tag:
            lines.append(f"command: {self.command_tag}")
        lines.append("Click or Enter: faceplate")
        self.setToolTip("\n".join(lines))

    def _on_samples(self, samples: dict[str, Any]) -> None:
        super()._on_samples(samples)
        self._update_tooltip()

    def _paint_plate(self, painter: QPainter, plate: QRectF, state: str) -> None:
        """The state text on a filled plate (RUNNING/OPEN) or an outlined one (others)."""
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        if state in ("RUNNING", "OPEN"):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.colour("running_fill"))
            painter.drawRect(plate)
            painter.setPen(theme.colour("running_text"))
        else:
            painter.setPen(QPen(theme.colour("text"), 2 if state == "FAULT" else 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(plate)
            painter.setPen(theme.colour("bad_text") if state == "BAD" else theme.colour("text"))
        painter.drawText(plate, Qt.AlignmentFlag.AlignCenter, state)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w = self.width()
        state = self.state()
        if self.compact:
            label_w = self.fontMetrics().horizontalAdvance(self.label) + 10 if self.show_label \
                else 0
            painter.setPen(theme.colour("text"))
            if self.show_label:
                painter.drawText(QRectF(2, 0, label_w, self.height()),
                                 Qt.AlignmentFlag.AlignVCenter, self.label)
            plate = QRectF(label_w + 2, 3, 96, self.height() - 6)
            self._paint_plate(painter, plate, state)
            self.paint_alarm(painter, QRectF(plate.right() + 4, 3, 20, 20))
            self.paint_focus(painter)
            painter.end()
            return
        painter.setPen(theme.colour("text"))
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(QRectF(0, 0, w, 18), Qt.AlignmentFlag.AlignCenter, self.label)
        box = QRectF((w - SYMBOL) / 2, 20, SYMBOL, SYMBOL)
        on = state in ("RUNNING", "OPEN")
        fill = theme.colour("running_fill") if on else theme.colour("stopped_fill")
        painter.setPen(QPen(theme.colour("text"), 2))
        painter.setBrush(fill)
        path = QPainterPath()
        if self.kind == "valve":
            path.moveTo(box.left(), box.top() + 8)
            path.lineTo(box.right(), box.bottom() - 8)
            path.lineTo(box.right(), box.top() + 8)
            path.lineTo(box.left(), box.bottom() - 8)
            path.closeSubpath()
        else:
            path.addEllipse(box.adjusted(2, 2, -2, -2))
        painter.drawPath(path)
        if state == "BAD":
            painter.setBrush(QBrush(theme.colour("bad_hatch"), Qt.BrushStyle.BDiagPattern))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawPath(path)
        if self.kind == "motor":
            painter.setPen(theme.colour("running_text") if on else theme.colour("text"))
            big = QFont(bold)
            big.setPixelSize(20)
            painter.setFont(big)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "M")
        plate = QRectF((w - 96) / 2, box.bottom() + 5, 96, 20)
        self._paint_plate(painter, plate, state)
        self.paint_alarm(painter, QRectF(plate.right() + 4, plate.top(), 20, 20))
        self.paint_focus(painter)
        painter.end()
