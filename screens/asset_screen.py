"""What the line and unit displays share: one page per asset, built on first visit and kept,
inside a scroll area; `set_asset` switches pages.

Why keep pages: switching between the filler and the packer must be instant and must not
re-subscribe widgets; a hidden page's widgets are not repainted (the bridge skips invisible
watchers and replays their values when the page shows again). GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from hmi.displays import Node


class AssetScreen(QWidget):
    """Subclasses set `level` ("line" | "unit") and implement `build_page(node)`."""

    title = "Asset"
    level = "line"

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.plant = context.meta.plant
        self.pages: dict[str, QWidget] = {}
        self.node: Node | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack)
        nodes = self.nodes()
        if nodes:
            self.set_asset(nodes[0].path)
        else:
            self.stack.addWidget(QLabel(f"This project has no {self.level} to show.", self))

    def nodes(self) -> list[Node]:
        return self.plant.lines if self.level == "line" else self.plant.units

    def set_asset(self, path: str) -> None:
        """Show the node at `path` (full path, relative path or title); unknown: unchanged."""
        node = self.plant.find(path, self.level) if path else (self.nodes() or [None])[0]
        if node is None:
            return
        self.node = node
        self.title = f"{type(self).title}: {node.title}"
        page = self.pages.get(node.path)
        if page is None:
            scroll = QScrollArea(self)
            scroll.setWidgetResizable(True)
            scroll.setWidget(self.build_page(node))
            self.pages[node.path] = page = scroll
            self.stack.addWidget(page)
        self.stack.setCurrentWidget(page)

    def build_page(self, node: Node) -> QWidget:
        raise NotImplementedError

    def configure(self, options: dict[str, Any]) -> None:
        if options.get("asset"):
            self.set_asset(str(options["asset"]))

    def refresh(self) -> None:
        """Nothing to redo on a user change: faceplates check permissions themselves."""
