"""The statistics panel of a trend: per pen, for the visible range, min, max, mean,
time-weighted mean, time in alarm and time without a good value (`hmi.trends.stats`).

Why it waits: statistics read more rows than a drawing does (a day of raw samples per pen), so
the panel asks only while it is visible, once the view has rested for `SETTLE_S`, coalesced
per pen like the plot's own queries; long ranges come from the 1-minute rollups and are marked
with "~". GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from hmi.trends.stats import pen_statistics
from widgets.trend_cursors import format_duration
from widgets.trend_plot import TrendPlot
from widgets.trend_queries import QueryQueue

SETTLE_S = 0.5
COLUMNS = ("Pen", "Min", "Max", "Mean", "Time-wtd mean", "In alarm", "No good value")


class StatsPanel(QTableWidget):
    """One row per pen of `plot`; refreshed when the plot's view settles."""

    updated = Signal()  # every pen's row reflects the current view

    def __init__(self, plot: TrendPlot, parent: Any = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.plot = plot
        self.rows: dict[str, dict[str, Any]] = {}
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.queries = QueryQueue(plot.context, self._on_answer, self)
        self.queries.idle.connect(self.updated)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(round(SETTLE_S * 1000))
        self._timer.timeout.connect(self.refresh)
        plot.view_settled.connect(self._on_view)
        plot.pens_changed.connect(self._on_view)

    def _on_view(self, *_args: Any) -> None:
        if self.isVisible():
            self._timer.start()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._timer.start()

    def refresh(self) -> None:
        """Ask for every pen's figures over the plot's visible range now."""
        t0, t1 = self.plot.visible_range()
        pens = self.plot.pens()
        self.rows = {t: r for t, r in self.rows.items() if any(p.tag == t for p in pens)}
        self.setRowCount(len(pens))
        for row, pen in enumerate(pens):
            self._show(row, pen.tag)
            self.queries.ask(pen.tag, pen_statistics, self.plot.data, pen.tag, t0, t1)

    def _on_answer(self, key: str, args: tuple, value: Any, error: BaseException | None) -> None:
        if error is not None:
            self.plot.context.notify(f"statistics for {key} failed: {error}", "error")
            return
        self.rows[key] = value
        for row, pen in enumerate(self.plot.pens()):
            if pen.tag == key:
                self._show(row, key)

    def _show(self, row: int, tag: str) -> None:
        pen = self.plot.pen(tag)
        stats = self.rows.get(tag)
        if pen is None:
            return
        if stats is None:
            cells = [tag] + ["..."] * (len(COLUMNS) - 1)
        else:
            approx = "~" if stats.get("approx") else ""
            cells = [tag, pen.format(stats["min"]), pen.format(stats["max"]),
                     approx + pen.format(stats["mean"]),
                     approx + pen.format(stats["time_weighted_mean"]),
                     _duration(stats.get("alarm_s", 0.0), stats.get("alarms", 0)),
                     _duration(stats.get("bad_s", 0.0))]
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if col == 0:
                item.setForeground(self.palette().text())
                item.setToolTip(pen.meta.description or tag)
            self.setItem(row, col, item)


def _duration(seconds: float, count: int | None = None) -> str:
    if not seconds:
        return "-"
    text = format_duration(seconds)
    return f"{text} ({count}x)" if count else text
