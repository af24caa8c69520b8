"""L3: one unit in detail (the filler, the packer), generated from its tags.

Sections by kind: equipment symbols with state text, analog indicators for the process values
(level, flows, temperatures, pressure) with limits and setpoint markers, counters, setpoints,
status values. Every value opens its faceplate on click or Enter. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from hmi.displays import Node
from screens.asset_screen import AssetScreen
from screens.panels import DeviceStates, PriorityCounts, UnitPanel, title_row


class UnitScreen(AssetScreen):
    title = "Unit"
    level = "unit"

    def build_page(self, node: Node) -> QWidget:
        page = QWidget()
        page.setObjectName("Panel")
        layout = QVBoxLayout(page)
        layout.addLayout(title_row(node.title, page, PriorityCounts(self.context, [node.path],
                                                                   page)))
        subtitle = QLabel(" · ".join(x for x in (node.description, node.path) if x), page)
        subtitle.setObjectName("Muted")
        layout.addWidget(subtitle)
        layout.addWidget(DeviceStates(self.context, node.devices, page))
        panel = UnitPanel(self.context, node, compact=False, parent=page)
        panel.setTitle("")
        layout.addWidget(panel, 1)
        return page
