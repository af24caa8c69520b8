"""A tag's faceplate: everything about one tag in one dialog, and the only place it is written.

Contents: the tag, its description and asset; the value with quality and the reason when not
GOOD; units, range and alarm limits; the alarms on the tag with their states and actions (and
"trend around" each); a mini trend of the last 10 minutes (the trend screen's `TrendPlot`,
history then live); for a writable tag the write section
(as-you-type validation, confirmation old -> new, write off the GUI thread, read-back result).

Why non-modal (`open()` is overridden): an operator compares two or three faceplates side by
side while the station keeps annunciating behind them; `QDialog.open()` would make each one
window-modal and block the station. It is still never `exec()`ed (qasync). GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hmi.tags import Quality, Sample
from widgets.faceplate_alarms import AlarmSection
from widgets.faceplate_write import WriteSection
from widgets.value_label import ValueLabel

MINI_SPAN_S = 600.0  # the mini trend's window: the last 10 minutes


class Faceplate(QDialog):
    """One tag's faceplate. Several can be open at once (one per tag)."""

    def __init__(self, context: Any, tag: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tag = tag
        self.cfg = context.meta.tag(tag)
        cfg = self.cfg
        self.setObjectName("Faceplate")
        self.setWindowTitle(f"Faceplate: {tag}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        layout = QVBoxLayout(self)
        title = QLabel(tag, self)
        font = QFont(title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        title.setFont(font)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(title)
        asset = context.runtime.project.tag_asset(cfg) if cfg is not None else ""
        subtitle = QLabel(" · ".join(x for x in (cfg.description if cfg else "", asset) if x)
                          or "no description", self)
        subtitle.setObjectName("Muted")
        layout.addWidget(subtitle)

        value_box = QGroupBox("Value", self)
        form = QFormLayout(value_box)
        self.value = ValueLabel(context, tag, field_chars=12, parent=value_box)
        self.value.faceplate_tag = ""  # already here: a click must not open a second one
        self.value.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        form.addRow("Value:", self.value)
        self.quality = QLabel("", value_box)
        self.quality.setWordWrap(True)
        form.addRow("Quality:", self.quality)
        form.addRow("Units:", QLabel(cfg.unit if cfg and cfg.unit else "none", value_box))
        low = "-∞" if cfg is None or cfg.min is None else f"{cfg.min:g}"
        high = "+∞" if cfg is None or cfg.max is None else f"{cfg.max:g}"
        form.addRow("Range:", QLabel(f"{low} … {high}", value_box))
        limits = context.meta.limits.get(tag, [])
        if limits:
            form.addRow("Limits:", QLabel("   ".join(
                f"{lim.mark} {lim.value:g} ({lim.priority})" for lim in limits), value_box))
        if cfg is not None:
            where = cfg.address or cfg.node or ""
            form.addRow("Source:", QLabel(f"device {cfg.device}" + (f", {where}" if where
                                                                   else ""), value_box))
            form.addRow("Writable:", QLabel("yes" if cfg.writable else "no (read only)",
                                            value_box))
        layout.addWidget(value_box)

        alarm_box = QGroupBox("Alarms", self)
        QVBoxLayout(alarm_box).addWidget(AlarmSection(context, tag, alarm_box))
        self.alarms = alarm_box.findChild(AlarmSection)
        layout.addWidget(alarm_box)

        trend_box = QGroupBox("Last 10 minutes", self)
        # imported here, not at module level: pyqtgraph (and its numpy views) would load at
        # station startup, before anyone opens a faceplate
        from widgets.trend_plot import TrendPlot

        # the trend screen's own plot, small: history from the historian (min/max per pixel),
        # then live from the bridge, steps held as stored, gaps as gaps, alarm marks kept
        self.trend = TrendPlot.mini_trend(context, [tag], trend_box, span_s=MINI_SPAN_S)
        self.trend.setMinimumHeight(140)
        self.trend.setMaximumHeight(190)  # a plot grows to any height: the dialog must not
        QVBoxLayout(trend_box).addWidget(self.trend)
        layout.addWidget(trend_box)

        self.write: WriteSection | None = None
        if cfg is not None and cfg.writable:
            write_box = QGroupBox("Write", self)
            self.write = WriteSection(context, tag, write_box)
            QVBoxLayout(write_box).addWidget(self.write)
            layout.addWidget(write_box)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        for button in self.findChildren(QPushButton):  # Enter in the entry must not close us
            button.setAutoDefault(False)
            button.setDefault(False)
        layout.addWidget(buttons)
        context.bridge.watch(self, [tag], self._on_samples)
        self._show_quality(context.bridge.current.get(tag))
        self.resize(560, self.sizeHint().height())

    def open(self) -> None:
        """Show without blocking the station or other faceplates (see the module docstring)."""
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setResult(0)
        self.show()
        self.raise_()
        self.activateWindow()
        if self.write is not None and self.write.entry is not None:
            self.write.entry.setFocus()

    def _on_samples(self, samples: dict[str, Sample]) -> None:
        self._show_quality(samples.get(self.tag))

    def _show_quality(self, sample: Sample | None) -> None:
        if sample is None:
            self.quality.setText("no value yet")
        elif sample.quality is Quality.GOOD:
            self.quality.setText("GOOD")
        else:
            self.quality.setText(f"{sample.quality.name}: {sample.reason or 'no reason given'}")
