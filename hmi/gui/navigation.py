"""Navigation by the project's ISA-95 tree (L1 area -> L2 line -> L3 unit, L4 diagnostics),
with the station's other screens below it, and a back/forward history like a browser's.

A place is `(screen, asset)`; the tree, the header's counts, a tile's title and the keyboard
all navigate the same way, so history and the tree's selection always agree. Screens are found
by name through `hmi.gui.registry` and built on first visit; a screen whose module is not in
this build shows a placeholder that says so. GUI thread only.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from hmi.displays import Plant
from hmi.gui.registry import SCREENS

log = logging.getLogger(__name__)

Place = tuple[str, str]  # (screen name, asset path or "")
OTHER_SCREENS = (("alarms", "Alarm summary"), ("journal", "Alarm journal"),
                 ("trends", "Trends"), ("production", "Production"),
                 ("diagnostics", "Diagnostics (L4)"), ("users", "Users"))
HISTORY_MAX = 50


class PlaceholderScreen(QWidget):
    """Stands in for a screen this build does not have, or one that failed to build."""

    def __init__(self, name: str, why: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = name.capitalize()
        self.why = why
        layout = QVBoxLayout(self)
        label = QLabel(f"The {name} screen is not available: {why}", self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        layout.addWidget(label)


def screen_class(name: str) -> tuple[type | None, str]:
    """The class registered as `name`, or (None, why not)."""
    spec = SCREENS.get(name)
    if spec is None:
        return None, f"unknown screen {name!r}"
    module_name, _, cls_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None, "not in this build"
        raise
    return getattr(module, cls_name), ""


def build_screen(name: str, context: Any, parent: QWidget | None = None) -> QWidget:
    """Construct screen `name`; a failure is logged, notified and shown as a placeholder."""
    try:
        cls, why = screen_class(name)
        if cls is None:
            return PlaceholderScreen(name, why, parent)
        return cls(context, parent)
    except Exception as exc:
        # down: the runtime keeps recording, the operator reads why, the log has the traceback
        log.exception("screen %s failed to build", name)
        context.notify(f"screen {name} failed: {type(exc).__name__}: {exc}", "error")
        return PlaceholderScreen(name, f"it failed to build ({type(exc).__name__}: {exc})",
                                 parent)


class History:
    """Back/forward over places. Visiting a new place drops the forward part."""

    def __init__(self) -> None:
        self.places: list[Place] = []
        self.index = -1

    def visit(self, place: Place) -> None:
        if self.index >= 0 and self.places[self.index] == place:
            return
        del self.places[self.index + 1:]
        self.places.append(place)
        del self.places[:-HISTORY_MAX]
        self.index = len(self.places) - 1

    def back(self) -> Place | None:
        if self.index > 0:
            self.index -= 1
            return self.places[self.index]
        return None

    def forward(self) -> Place | None:
        if self.index < len(self.places) - 1:
            self.index += 1
            return self.places[self.index]
        return None

    def can_back(self) -> bool:
        return self.index > 0

    def can_forward(self) -> bool:
        return self.index < len(self.places) - 1


class NavTree(QTreeWidget):
    """Area -> lines -> units, then the station's other screens. Activating an item (click,
    Enter) asks to go there."""

    place_requested = Signal(str, str)

    def __init__(self, plant: Plant, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NavTree")
        self.setHeaderHidden(True)
        self.setAccessibleName("navigation")
        self.items: dict[Place, QTreeWidgetItem] = {}
        for area in plant.areas:
            top = self._add(None, f"{area.title} (L1)", ("overview", ""))
            for line in area.children:
                line_item = self._add(top, f"{line.title} (L2)", ("line", line.path))
                for unit in line.children:
                    self._add(line_item, f"{unit.title} (L3)", ("unit", unit.path))
        for name, label in OTHER_SCREENS:
            available = screen_class(name)[0] is not None if name in SCREENS else False
            item = self._add(None, label if available else f"{label} (not in this build)",
                             (name, ""))
            if not available:
                item.setToolTip(0, "this screen's module is not installed in this build")
        self.expandAll()
        self.itemActivated.connect(self._on_activated)
        self.itemClicked.connect(self._on_activated)

    def _add(self, parent: QTreeWidgetItem | None, text: str, place: Place) -> QTreeWidgetItem:
        item = QTreeWidgetItem([text])
        item.setData(0, Qt.ItemDataRole.UserRole, place)
        if parent is None:
            self.addTopLevelItem(item)
        else:
            parent.addChild(item)
        self.items.setdefault(place, item)
        return item

    def _on_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        screen, asset = item.data(0, Qt.ItemDataRole.UserRole)
        self.place_requested.emit(screen, asset)

    def select(self, place: Place) -> None:
        item = self.items.get(place) or self.items.get((place[0], ""))
        if item is not None:
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)
