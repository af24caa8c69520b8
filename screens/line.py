"""L2: a line with its units in process order (filler -> packer), generated from the asset
tree: each unit's equipment, process values and counters, and the line's own figures (rate,
good and rejected, and OEE with its factors for the shift, the work order and the last hour
when the project tracks production) on top. "Open <unit>" goes to its L3 display. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from hmi.displays import Item, Node
from screens.asset_screen import AssetScreen
from screens.panels import (
    DeviceStates,
    PriorityCounts,
    UnitPanel,
    item_widget,
    oee_for,
    title_row,
)
from widgets.value_label import ValueLabel


class LineScreen(AssetScreen):
    title = "Line"
    level = "line"

    def build_page(self, node: Node) -> QWidget:
        page = QWidget()
        page.setObjectName("Panel")
        layout = QVBoxLayout(page)
        layout.addLayout(title_row(node.title, page, PriorityCounts(self.context, [node.path],
                                                                   page)))
        figures = QHBoxLayout()
        figures.setSpacing(24)
        if node.rate:
            figures.addWidget(ValueLabel(self.context, node.rate, "Rate", parent=page))
        for tag, label in ((node.good, "Good"), (node.reject, "Rejected")):
            if tag:
                figures.addWidget(item_widget(self.context, Item("counter", tag, label), page))
        figures.addStretch(1)
        figures.addWidget(DeviceStates(self.context, node.devices, page))
        layout.addLayout(figures)
        oee = oee_for(self.context, node, ("shift", "work_order", "hour"), parent=page)
        if oee is not None:
            layout.addWidget(oee, 0, Qt.AlignmentFlag.AlignLeft)
        units = QGridLayout()
        units.setHorizontalSpacing(4)
        column = 0
        parts = list(node.children)
        if node.items:  # tags on the line itself, not in a unit
            parts.insert(0, Node(node.path, f"{node.title} (line)", "unit", items=node.items))
        for i, unit in enumerate(parts):
            if i:
                arrow = QLabel("\u2192", page)  # process flow, left to right
                arrow.setObjectName("BigFigure")
                arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
                units.addWidget(arrow, 0, column)
                column += 1
            panel = UnitPanel(self.context, unit, compact=unit.path != node.path, parent=page)
            units.addWidget(panel, 0, column)
            # the width goes where the values are (a filler with six indicators gets more
            # than a packer with two): each can then show two to a row sooner
            units.setColumnStretch(column, max(1, len(panel.item_widgets)))
            column += 1
        layout.addLayout(units, 1)
        return page
