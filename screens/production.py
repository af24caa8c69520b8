"""The production panel (issue 15): per line the current work order, product, lot, shift and
operator, the state and the open stop, the work order / lot actions, reasons for stops, and OEE
for the shift, the work order and the last hour. One `LinePanel` per MES line
(`screens.production_line`), stacked in a scroll area.

Fed by the MES bridge (`hmi.gui.mes_bridge.MesBridge`: the service's listener, coalesced, at
most 10 Hz); a 1 s timer updates durations and the "reason needed" flag **while shown only**.
Without `[[lines]]` in the project it says so. GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from hmi.gui.mes_bridge import MesBridge
from screens.production_line import LinePanel

TICK_MS = 1000


class ProductionScreen(QWidget):
    """Registry name "production"."""

    title = "Production"

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("production")
        self.context = context
        self.bridge = MesBridge.of(context)
        self.panels: dict[str, LinePanel] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll)
        page = QWidget()
        page.setObjectName("Panel")
        layout = QVBoxLayout(page)
        service = self.bridge.service
        if service is None:
            layout.addWidget(QLabel("This project tracks no production: declare [[lines]] "
                                    "(and [mes] to report upstream) in the project file.",
                                    page))
        else:
            for line in service.lines():
                panel = LinePanel(context, line, service, page)
                self.panels[line] = panel
                layout.addWidget(panel, 1)
        layout.addStretch(0)
        scroll.setWidget(page)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_tick)
        self.bridge.changed.connect(self._on_changed)
        context.actor_changed.connect(self._on_actor)
        self.show_snapshot(self.bridge.snapshot, frozenset({"downtime"}))

    def panel(self, line: str | None = None) -> LinePanel:
        """The panel of `line` (default: the first)."""
        return self.panels[line] if line is not None else next(iter(self.panels.values()))

    def _on_changed(self, snapshot: dict[str, Any], topics: frozenset[str]) -> None:
        self.show_snapshot(snapshot, topics)

    def show_snapshot(self, snapshot: dict[str, Any], topics: frozenset[str]) -> None:
        lines = snapshot.get("lines") or {}
        for name, panel in self.panels.items():
            entry = lines.get(name)
            if entry is not None:
                panel.show_line(entry)
            if "downtime" in topics and self.isVisible():
                panel.ask_downtimes()

    def _on_tick(self) -> None:
        for panel in self.panels.values():
            panel.tick()

    def _on_actor(self, _actor: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        """The user changed: re-check what they may do."""
        for panel in self.panels.values():
            panel.update_controls()

    def configure(self, options: dict[str, Any]) -> None:
        """Screenshot options: `line` (scroll to it)."""
        line = options.get("line")
        if line in self.panels:
            self.panels[line].setFocus()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()
        for panel in self.panels.values():
            panel.ask_downtimes()
        self._on_tick()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)
