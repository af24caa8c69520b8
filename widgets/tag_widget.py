"""What every widget that shows a tag shares: its samples from the bridge, the alarms on its
tags, blinking, the faceplate on click or Enter, and the BAD/UNCERTAIN drawing rules.

Why a small base and not a mixin chain (PyDM's `PyDMWidget` is the warning): it holds only the
wiring; each widget paints itself. Samples arrive through `TagBridge.watch` (one call per flush,
only while visible, `replay` on show), alarms through the station's `AlarmTable` (one
`changed` per flush; a widget looks only at alarms on its own tags).

GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QMouseEvent, QPainter, QPen, QShowEvent
from PySide6.QtWidgets import QWidget

from hmi.gui import theme
from hmi.gui.alarm_table import RTN_UNACK, SUPPRESSED, UNACK
from hmi.project_models import TagConfig
from hmi.tags import Quality, Sample
from widgets.alarm_style import paint_alarm_mark
from widgets.formatting import quality_tooltip

ACTIVATE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)


class TagWidget(QWidget):
    """A widget bound to one main tag (its faceplate) and maybe a few more (setpoint, fault)."""

    def __init__(self, context: Any, tag: str, extra_tags: tuple[str | None, ...] = (),
                 label: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tag = tag
        self.label = label
        self.cfg: TagConfig | None = context.meta.tag(tag)
        self.faceplate_tag = tag
        tags = [tag, *(t for t in extra_tags if t)]
        self.tags = tags
        current = context.bridge.current
        self.samples: dict[str, Sample] = {t: current[t] for t in tags if t in current}
        self._alarm_names = {a["name"] for t in tags for a in context.meta.alarms.get(t, ())}
        self.alarm_rows: list[dict[str, Any]] = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName(label or tag)
        context.bridge.watch(self, tags, self._on_samples)
        if self._alarm_names:
            context.alarms.changed.connect(self._on_alarms_changed)
            context.alarms.blink.connect(self._on_blink)
            self._refresh_alarms()
        TagWidget._update_tooltip(self)  # subclasses refresh theirs once they are built

    # ---- data in ----------------------------------------------------------------------------
    def sample(self, tag: str | None = None) -> Sample | None:
        return self.samples.get(tag or self.tag)

    def _on_samples(self, samples: dict[str, Sample]) -> None:
        self.samples.update(samples)
        if self.tag in samples:
            self._update_tooltip()
        self.update()

    def _on_alarms_changed(self, names: list[str]) -> None:
        if self._alarm_names.intersection(names):
            self._refresh_alarms()
            self.update()

    def _refresh_alarms(self) -> None:
        rows = []
        for tag in self.tags:
            rows += self.context.alarms.for_tag(tag)
        self.alarm_rows = rows

    def _on_blink(self, _phase: float) -> None:
        if self.isVisible() and any(r["state"] in (UNACK, RTN_UNACK) for r in self.alarm_rows):
            self.update()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.context.bridge.replay(self)

    def _update_tooltip(self) -> None:
        self.setToolTip(quality_tooltip(self.tag, self.sample(), self.cfg))

    # ---- operator input ---------------------------------------------------------------------
    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
                event.position().toPoint()):
            self.context.open_faceplate(self.faceplate_tag)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in ACTIVATE_KEYS:
            self.context.open_faceplate(self.faceplate_tag)
            return
        super().keyPressEvent(event)

    # ---- drawing helpers --------------------------------------------------------------------
    def top_alarm(self, tag: str | None = None) -> dict[str, Any] | None:
        """The mark to show: the most important annunciated alarm, else a shelved or
        out-of-service one (S / X: the operator should know the value is not being watched);
        an alarm suppressed by design is not shown (the plant state explains it)."""
        rows = [r for r in self.alarm_rows if (tag is None or r["tag"] == tag)
                and r["state"] != SUPPRESSED]
        return rows[0] if rows else None

    def paint_alarm(self, painter: QPainter, rect: QRectF, tag: str | None = None) -> bool:
        """The most important alarm on the widget's tags as its priority mark; False if none."""
        row = self.top_alarm(tag)
        if row is None:
            return False
        paint_alarm_mark(painter, rect, row.get("priority", "low"), row["state"],
                         self.context.alarms.phase())
        return True

    def paint_focus(self, painter: QPainter) -> None:
        if self.hasFocus():
            painter.save()
            pen = QPen(theme.colour("focus"), 2, Qt.PenStyle.SolidLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
            painter.restore()


def paint_quality_field(painter: QPainter, rect: QRectF, sample: Sample | None) -> None:
    """The background of a value field: plain when GOOD, hatched when BAD, dotted outline when
    UNCERTAIN (readable in greyscale: the pattern carries the meaning, not a colour)."""
    painter.save()
    painter.setPen(QPen(theme.colour("border"), 1))
    painter.setBrush(theme.colour("field"))
    painter.drawRect(rect)
    if sample is not None and sample.quality is Quality.BAD:
        painter.setBrush(QBrush(theme.colour("bad_hatch"), Qt.BrushStyle.BDiagPattern))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRect(rect)
    elif sample is not None and sample.quality is Quality.UNCERTAIN:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(theme.colour("text"), 1.5, Qt.PenStyle.DotLine))
        painter.drawRect(rect.adjusted(1, 1, -1, -1))
    painter.restore()


def text_colour(sample: Sample | None) -> QColor:
    if sample is None or sample.quality is Quality.BAD:
        return theme.colour("bad_text")
    return theme.colour("text")
