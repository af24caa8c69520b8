"""L1: the area at a glance. Per line: its rate, good and rejected counts, the shift's OEE with
its three factors (when the project tracks production), standing alarms per priority, device
health. No controls (ISA-101 level 1 is for seeing, not doing); a line's
title opens its L2 display, a figure opens its faceplate. GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from hmi.displays import Item, Node
from screens.panels import DeviceStates, PriorityCounts, item_widget, oee_for
from widgets.equipment import EquipmentSymbol
from widgets.value_label import ValueLabel

TILE_COLUMNS = 3


class LineTile(QFrame):
    """One line on the overview."""

    def __init__(self, context: Any, line: Node, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LineTile")
        self.context = context
        self.line = line
        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        title = QPushButton(f"{line.title}  \u203a", self)
        title.setObjectName("TileTitle")
        title.setToolTip(f"Open the {line.title} display (L2)")
        title.clicked.connect(self._on_open)
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(PriorityCounts(context, [line.path], self))
        layout.addLayout(head)
        for unit in line.children:  # each unit: its equipment states and alarm counts
            row = QHBoxLayout()
            name = QLabel(unit.title, self)
            name.setObjectName("SectionTitle")
            name.setMinimumWidth(90)
            row.addWidget(name)
            for item in unit.items:
                if item.kind in ("motor", "valve"):
                    symbol = EquipmentSymbol(context, item.tag, item.label, kind=item.kind,
                                             fault=item.fault, compact=True, parent=self)
                    symbol.faceplate_tag = item.tag  # L1 has no controls: the signal's faceplate
                    symbol.show_label = item.label != unit.title
                    row.addWidget(symbol)
            row.addStretch(1)
            row.addWidget(PriorityCounts(context, [unit.path], self))
            layout.addLayout(row)
        figures = QHBoxLayout()
        if line.rate:
            figures.addWidget(ValueLabel(context, line.rate, "Rate", parent=self))
        figures.addStretch(1)
        layout.addLayout(figures)
        counts = QHBoxLayout()
        for tag, label in ((line.good, "Good"), (line.reject, "Rejected")):
            if tag:
                counts.addWidget(item_widget(context, Item("counter", tag, label), self))
        if not (line.good or line.reject or line.rate):
            counts.addWidget(QLabel("No rate or counters named for this line "
                                    "([[displays]] rate/good/reject).", self))
        layout.addLayout(counts)
        self.oee = oee_for(context, line, ("shift",), compact=True, parent=self)
        if self.oee is not None:
            layout.addWidget(self.oee)
        layout.addWidget(DeviceStates(context, line.devices, self))

    def _on_open(self) -> None:
        self.context.show_screen("line", self.line.path)


class OverviewScreen(QWidget):
    title = "Overview"

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        plant = context.meta.plant
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll)
        page = QWidget()
        page.setObjectName("Panel")
        layout = QVBoxLayout(page)
        self.tiles: list[LineTile] = []
        for area in plant.areas:
            box = QGroupBox(f"{area.title}" + (f" · {area.path}" if area.path else ""), page)
            grid = QGridLayout(box)
            for n, line in enumerate(area.children):
                tile = LineTile(context, line, box)
                self.tiles.append(tile)
                grid.addWidget(tile, n // TILE_COLUMNS, n % TILE_COLUMNS)
            for column in range(TILE_COLUMNS):
                grid.setColumnStretch(column, 1)
            layout.addWidget(box)
        layout.addStretch(1)
        scroll.setWidget(page)

    def refresh(self) -> None:
        """Nothing depends on the user here (no controls)."""
