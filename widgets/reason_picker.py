"""The downtime reason picker: the project's reason tree (`[[downtime_reasons]]`) in one combo
box, children indented under their parents, each with its category.

Why every node is selectable (not only leaves): an operator who knows only "Mechanical" must
still be able to give the stop a reason now; a more precise one can be set later (the MES
refers an edit to the same downtime, never a second one). The item data is the reason code.
Reads `MesService.reasons()` (the tree as nested dicts). GUI thread only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from PySide6.QtWidgets import QComboBox, QWidget

PLACEHOLDER = "choose a reason..."


def flatten(tree: list[dict[str, Any]], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """(depth, node) for every node, parents before their children."""
    for node in tree:
        yield depth, node
        yield from flatten(node.get("children") or [], depth + 1)


class ReasonPicker(QComboBox):
    """`code()`: the chosen reason code, or None while the placeholder is shown."""

    def __init__(self, tree: list[dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReasonPicker")
        self.setAccessibleName("downtime reason")
        self.addItem(PLACEHOLDER, None)
        for depth, node in flatten(tree):
            name = node.get("name") or node["code"]
            self.addItem(f"{'    ' * depth}{node['code']}  {name}  ({node.get('category', '')})",
                         node["code"])
        self.setMaxVisibleItems(20)

    def code(self) -> str | None:
        data = self.currentData()
        return str(data) if data else None

    def set_code(self, code: str | None) -> bool:
        index = self.findData(code) if code else 0
        if index < 0:
            return False
        self.setCurrentIndex(index)
        return True

    def codes(self) -> list[str]:
        return [str(self.itemData(i)) for i in range(1, self.count())]
