"""Building blocks the generated displays share: one widget per display item, a unit's panel
(sections by kind), alarm counts of a subtree, device states of a node.

Why here and not in `widgets/`: these know the display model (`hmi.displays`) and compose
widgets into screen parts; widgets stay ignorant of screens. GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hmi.displays import GROUPS, Item, Node
from hmi.gui import theme
from hmi.gui.mes_bridge import MesBridge, line_for_node
from widgets.alarm_style import PRIORITIES, paint_alarm_mark
from widgets.analog_indicator import AnalogIndicator
from widgets.column_grid import ColumnGrid
from widgets.counter import Counter
from widgets.equipment import EquipmentSymbol
from widgets.oee_figures import OeeFigures
from widgets.value_label import ValueLabel

COMPACT_MAX = 6  # items per section on a line display; the unit display shows them all

def item_widget(context: Any, item: Item, parent: QWidget | None = None,
                label_width: int | None = None) -> QWidget:
    """The widget for one display item."""
    if item.kind == "analog":
        return AnalogIndicator(context, item.tag, item.label, setpoint=item.setpoint,
                               parent=parent)
    if item.kind in ("motor", "valve"):
        return EquipmentSymbol(context, item.tag, item.label, kind=item.kind, fault=item.fault,
                               command=item.command, parent=parent)
    if item.kind == "counter":
        return Counter(context, item.tag, item.label, parent=parent)
    return ValueLabel(context, item.tag, item.label, label_width=label_width, parent=parent)


class UnitPanel(QGroupBox):
    """A unit (or a line's own tags) as sections: Equipment, Process, Counters, Setpoints,
    Status. `compact` (line display): equipment, process and counters only, one or two
    columns as the width allows."""

    def __init__(self, context: Any, node: Node, compact: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.node = node
        self.setObjectName("UnitPanel")
        self.setTitle(node.title)
        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        if compact:
            open_unit = QPushButton(f"Open {node.title} (L3)", self)
            open_unit.setToolTip(f"The {node.title} unit display")
            open_unit.clicked.connect(self._on_open_unit)
            layout.addWidget(open_unit, 0, Qt.AlignmentFlag.AlignLeft)
        self.item_widgets: list[QWidget] = []
        shown = ("Equipment", "Process", "Counters") if compact else GROUPS
        by_group: dict[str, list[Item]] = {}
        for item in node.items:
            by_group.setdefault(item.group or "Status", []).append(item)
        groups = [g for g in GROUPS if g in by_group] + [g for g in by_group if g not in GROUPS]
        for group in groups:
            if group not in shown and group in GROUPS:
                continue
            items = by_group[group]
            title = QLabel(group, self)
            title.setObjectName("SectionTitle")
            layout.addWidget(title)
            if compact:  # two columns when the line display is wide enough, else one
                self._add_compact(group, items, layout)
                continue
            grid = QGridLayout()
            grid.setHorizontalSpacing(14)
            grid.setVerticalSpacing(6)
            columns = 3 if group in ("Equipment", "Counters") else 2
            width = None
            if group in ("Setpoints", "Status"):
                width = max(self.fontMetrics().horizontalAdvance(i.label) for i in items) + 12
            for n, item in enumerate(items):
                widget = item_widget(context, item, self, label_width=width)
                self.item_widgets.append(widget)
                grid.addWidget(widget, n // columns, n % columns)
            if group == "Process":  # bars share the width (each capped at a readable size)
                for column in range(columns):
                    grid.setColumnStretch(column, 1)
            else:  # spare width goes right, fields stay compact
                grid.setColumnStretch(columns, 1)
            layout.addLayout(grid)
        if not node.items:
            layout.addWidget(QLabel("No tags on this unit.", self))
        layout.addStretch(1)

    def _add_compact(self, group: str, items: list[Item], layout: QVBoxLayout) -> None:
        """A section of the line display: its key values (COMPACT_MAX), two to a row when
        there is room (a fixed two made the line display run off a 1280 px window)."""
        hidden = max(0, len(items) - COMPACT_MAX)
        grid = ColumnGrid((2, 1), parent=self, spacing=14, fill=group == "Process")
        widgets = [item_widget(self.context, item, grid) for item in items[:COMPACT_MAX]]
        self.item_widgets += widgets
        grid.set_items(widgets)
        layout.addWidget(grid)
        if hidden:
            more = QLabel(f"+ {hidden} more on the {self.node.title} display", self)
            more.setObjectName("Muted")
            layout.addWidget(more)

    def _on_open_unit(self) -> None:
        self.context.show_screen("unit", self.node.path)


class PriorityCounts(QWidget):
    """Standing alarms under some asset paths, per priority: four marks with numbers."""

    def __init__(self, context: Any, paths: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.paths = paths
        self.counts: dict[str, int] = {}
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        context.alarms.changed.connect(self._on_alarms)
        self._on_alarms([])

    def sizeHint(self) -> QSize:
        return QSize(4 * 64, 26)

    def _on_alarms(self, _names: list[str]) -> None:
        counts = self.context.alarms.counts_in(self.paths)
        if counts != self.counts:
            self.counts = counts
            self.setToolTip("standing alarms: " + ", ".join(f"{k} {v}" for k, v in
                                                            counts.items()))
            self.setAccessibleName(self.toolTip())
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        for i, name in enumerate(PRIORITIES):
            x = i * 64
            paint_alarm_mark(painter, QRectF(x + 2, 2, 22, 22), name, "C")
            painter.setPen(theme.colour("text") if self.counts.get(name) else
                           theme.colour("muted"))
            painter.drawText(QRectF(x + 28, 0, 34, 26),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             str(self.counts.get(name, 0)))
        painter.end()


class DeviceStates(QLabel):
    """The connection state of some devices, as text ("filler: ok  packer: DOWN")."""

    def __init__(self, context: Any, devices: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.devices = devices
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        context.bridge.health_changed.connect(self._on_health)
        self._on_health(context.runtime.device_health())

    def _on_health(self, health: dict[str, dict[str, Any]]) -> None:
        parts = []
        for name in self.devices:
            state = str(health.get(name, {}).get("state", "unknown"))
            text = {"connected": "ok", "down": "DOWN"}.get(state, state)
            parts.append(f"<b><u>{name}: {text}</u></b>" if state == "down"
                         else f"{name}: {text}")
        self.setText("Devices: " + (" &nbsp; ".join(parts) or "none"))


def oee_for(context: Any, node: Node, windows: tuple[str, ...], compact: bool = False,
            parent: QWidget | None = None) -> OeeFigures | None:
    """OEE figures of the MES line shown on `node` (matched by ISA-95 asset, else by name), or
    None when the project tracks no production there."""
    bridge = MesBridge.of(context)
    if not bridge.active:
        return None
    line = line_for_node(bridge.snapshot, node.path, node.title)
    if line is None:
        return None
    return OeeFigures(context, line, windows, compact=compact, parent=parent)


def title_row(text: str, parent: QWidget, *extra: QWidget) -> QHBoxLayout:
    """A screen's title line: big bold text, then `extra` widgets right-aligned."""
    row = QHBoxLayout()
    title = QLabel(text, parent)
    title.setObjectName("TileTitle")
    row.addWidget(title)
    row.addStretch(1)
    for widget in extra:
        row.addWidget(widget)
    return row
