"""The side panels of the trend screen: the pens (recolour, hide, remove), the tag picker with
search, and the list of trend groups (the project's and the user's own).

Dialogs answer through signals, never `exec()` (qasync: a nested event loop inside a coroutine
stalls the station), and the colour dialog is not even window-modal (`open()` would be): while
it is up the main window keeps its keys, F9 silences the horn. A colour that reads like an
alarm colour (`alarms.colours`) is refused with a notification. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QColorDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from alarms.colours import alarm_likeness
from hmi.trends.config import MAX_PENS, TrendGroupConfig
from widgets.dialogs import open_nonmodal
from widgets.trend_look import ink, logical_colour, look
from widgets.trend_plot import TrendPlot


class PenTable(QTableWidget):
    """One row per pen: colour (click to change), shown, tag, unit, remove."""

    def __init__(self, plot: TrendPlot, parent: QWidget | None = None,
                 notify: Callable[..., Any] | None = None) -> None:
        super().__init__(0, 5, parent)
        self.plot = plot
        self._notify = notify
        self.setHorizontalHeaderLabels(["", "", "Pen", "Unit", ""])
        self.verticalHeader().hide()
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.horizontalHeader()
        for col in (0, 1, 3, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self._colour_tag: str | None = None
        self._dialog: QColorDialog | None = None
        plot.pens_changed.connect(self.rebuild)
        plot.look_changed.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        pens = self.plot.pens()
        self.setRowCount(len(pens))
        for row, pen in enumerate(pens):
            swatch = QToolButton()
            swatch.setStyleSheet(f"background: {ink(pen.colour)}; border: 1px solid #505050;")
            swatch.setFixedSize(22, 18)
            swatch.setToolTip("Change colour")
            swatch.setProperty("tag", pen.tag)
            swatch.clicked.connect(self._on_swatch)
            self.setCellWidget(row, 0, swatch)
            shown = QCheckBox()
            shown.setChecked(pen.visible)
            shown.setToolTip("Show or hide this pen")
            shown.setProperty("tag", pen.tag)
            shown.toggled.connect(self._on_shown)
            self.setCellWidget(row, 1, shown)
            name = QTableWidgetItem(pen.tag)
            name.setToolTip(pen.meta.description or pen.tag)
            self.setItem(row, 2, name)
            self.setItem(row, 3, QTableWidgetItem(pen.meta.unit))
            remove = QToolButton()
            remove.setText("x")
            remove.setToolTip(f"Remove {pen.tag} from the trend")
            remove.setProperty("tag", pen.tag)
            remove.clicked.connect(self._on_remove)
            self.setCellWidget(row, 4, remove)

    def _on_shown(self, checked: bool) -> None:
        self.plot.set_pen_visible(self.sender().property("tag"), checked)

    def _on_remove(self) -> None:
        self.plot.remove_pen(self.sender().property("tag"))

    def _on_swatch(self) -> None:
        tag = self.sender().property("tag")
        pen = self.plot.pen(tag)
        if pen is None:
            return
        self._colour_tag = tag
        if self._dialog is None:
            self._dialog = QColorDialog(self)
            self._dialog.colorSelected.connect(self._on_colour)
        for i, colour in enumerate(look().palette):  # the palette as drawn in this theme
            QColorDialog.setCustomColor(i, QColor(colour))
        self._dialog.setWindowTitle(f"Colour of {tag}")
        self._dialog.setCurrentColor(QColor(ink(pen.colour)))
        open_nonmodal(self._dialog)

    def _on_colour(self, colour: QColor) -> None:
        tag = self._colour_tag
        if tag is None or self.plot.pen(tag) is None:
            return
        why = alarm_likeness(colour.name())
        if why:
            if self._notify is not None:
                self._notify(f"pen colour for {tag} not changed: {why}", "warning")
            return
        self.plot.set_pen_colour(tag, logical_colour(colour.name()))
        self.rebuild()


class TagPicker(QWidget):
    """Search the project's numeric tags; double-click, Enter or Add puts one on the trend."""

    def __init__(self, plot: TrendPlot, project: Any, notify: Any,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self._notify = notify
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search tags (name, description, unit)")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.add_button = QPushButton("Add pen")
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.add_button)
        tags = [t for t in (project.tags if project is not None else []) if t.type != "string"]
        for tag in tags:
            item = QListWidgetItem(tag.name)
            item.setData(Qt.ItemDataRole.UserRole, f"{tag.name} {tag.description} "
                                                   f"{tag.unit}".lower())
            item.setToolTip(" | ".join(x for x in (tag.description, tag.unit) if x) or tag.name)
            self.list.addItem(item)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._on_enter)
        self.list.itemActivated.connect(self._on_item)
        self.add_button.clicked.connect(self._on_add)

    def filter(self, text: str) -> None:
        """Show the tags matching every word of `text` (case-insensitive)."""
        words = text.lower().split()
        for i in range(self.list.count()):
            item = self.list.item(i)
            haystack = item.data(Qt.ItemDataRole.UserRole)
            item.setHidden(not all(w in haystack for w in words))

    def visible_tags(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def add(self, tag: str) -> bool:
        if len(self.plot.pens()) >= MAX_PENS and self.plot.pen(tag) is None:
            self._notify(f"a trend holds at most {MAX_PENS} pens; remove one first", "warning")
            return False
        self.plot.add_pen(tag)
        return True

    def _on_enter(self) -> None:
        shown = self.visible_tags()
        if len(shown) == 1:
            self.add(shown[0])

    def _on_item(self, item: QListWidgetItem) -> None:
        self.add(item.text())

    def _on_add(self) -> None:
        item = self.list.currentItem()
        if item is not None and not item.isHidden():
            self.add(item.text())


class GroupList(QWidget):
    """The project's groups and the user's saved ones; pick one, save the current view."""

    chosen = Signal(object)  # TrendGroupConfig
    save_requested = Signal(str)  # name
    delete_requested = Signal(str)  # name of one of the user's groups

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Trend groups"))
        self.list = QListWidget()
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("New group name")  # (a longer text was cut at 1280 px)
        self.name.setToolTip("save the current pens and range as a trend group by this name")
        self.save_button = QPushButton("Save")
        self.delete_button = QPushButton("Delete")
        row.addWidget(self.name, 1)
        row.addWidget(self.save_button)
        row.addWidget(self.delete_button)
        layout.addLayout(row)
        self.groups: list[tuple[TrendGroupConfig, bool]] = []  # (group, the user's own)
        self.list.itemActivated.connect(self._on_item)
        self.list.itemClicked.connect(self._on_item)
        self.save_button.clicked.connect(self._on_save)
        self.name.returnPressed.connect(self._on_save)
        self.delete_button.clicked.connect(self._on_delete)

    def set_groups(self, project: list[TrendGroupConfig], own: list[TrendGroupConfig],
                   user: str) -> None:
        self.list.clear()
        self.groups = [(g, False) for g in project] + [(g, True) for g in own]
        for group, mine in self.groups:
            item = QListWidgetItem(f"{group.name}   ({user if mine else 'project'})")
            item.setToolTip(group.description or ", ".join(p.tag for p in group.pens))
            self.list.addItem(item)

    def find(self, name: str) -> TrendGroupConfig | None:
        """The user's group of that name, else the project's."""
        own = [g for g, mine in self.groups if mine and g.name == name]
        return own[0] if own else next((g for g, _ in self.groups if g.name == name), None)

    def _on_item(self, item: QListWidgetItem) -> None:
        group, mine = self.groups[self.list.row(item)]
        if mine:
            self.name.setText(group.name)
        self.chosen.emit(group)

    def _on_save(self) -> None:
        name = self.name.text().strip()
        if name:
            self.save_requested.emit(name)

    def _on_delete(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.groups) and self.groups[row][1]:
            self.delete_requested.emit(self.groups[row][0].name)
