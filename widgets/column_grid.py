"""A grid that chooses how many columns it has from the width it gets.

Why: a QGridLayout with a fixed column count is as wide as its widest row, and that minimum
propagates up to the window. At 1280 px (a common control-room monitor) the diagnostics panels
(five in a row) and the line display's units (two indicators side by side each) made the
window wider than the screen or ran off the right edge. This grid takes the most columns of
`choices` that fit (each column at least `preferred_px`, and never narrower than its widest
item's minimum) and asks its parent only for the fewest (at the items' minimum width). Items
stay in reading order, row by row; spare height goes below the last row. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QWidget


class ColumnGrid(QWidget):
    """`choices`: the column counts allowed, e.g. (5, 3) or (2, 1). `fill`: the columns share
    the spare width (bars), else it goes to the right of them (compact fields)."""

    def __init__(self, choices: tuple[int, ...], preferred_px: int = 0,
                 parent: QWidget | None = None, spacing: int | None = None,
                 fill: bool = True) -> None:
        super().__init__(parent)
        self.choices = tuple(sorted(set(choices), reverse=True))
        self.preferred_px = preferred_px
        self.fill = fill
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        if spacing is not None:
            self.grid.setHorizontalSpacing(spacing)
        self.items: list[QWidget] = []
        self.columns = 0

    def set_items(self, items: list[QWidget]) -> None:
        self.items = list(items)
        self.columns = 0
        self._place(self.choices[-1])

    def width_for(self, columns: int) -> int:
        """The narrowest this grid can be with `columns` (the widest items side by side; each
        at least `preferred_px` unless it is the fewest columns allowed)."""
        widths = sorted((w.minimumSizeHint().expandedTo(w.minimumSize()).width()
                         for w in self.items), reverse=True)[:columns]
        if columns != self.choices[-1]:
            widths = [max(w, self.preferred_px) for w in widths]
        return sum(widths) + max(0, len(widths) - 1) * self._spacing()

    def _spacing(self) -> int:
        return max(0, self.grid.horizontalSpacing())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        fewest = self.choices[-1]
        return QSize(min(hint.width(), self.width_for(fewest)), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = event.size().width()
        self._place(next((c for c in self.choices if self.width_for(c) <= width),
                         self.choices[-1]))

    def _place(self, columns: int) -> None:
        columns = max(1, min(columns, len(self.items) or 1))
        if columns == self.columns or not self.items:
            return
        self.columns = columns
        for item in self.items:
            self.grid.removeWidget(item)
        for i, item in enumerate(self.items):
            self.grid.addWidget(item, i // columns, i % columns)
        for c in range(max(self.choices) + 1):
            used = c < columns
            self.grid.setColumnStretch(c, int(used if self.fill else c == columns))
        rows = -(-len(self.items) // columns)
        for r in range(len(self.items) + 1):
            self.grid.setRowStretch(r, 1 if r == rows else 0)  # spare height below
