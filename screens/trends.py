"""The trend screen: a `TrendPlot` with its tag picker, pens, trend groups, range buttons,
statistics and export.

"What did the filler level do during last night's shift, and which alarms came with it":
pick the "Filler" group (or search a tag and add it), press "Last shift"; alarm journal marks
sit on the time axis with their message on hover, the statistics panel gives min/max/mean and
time in alarm for what is in view, two cursors give values and differences. "Shift" and "Last
shift" follow the project's `[[shifts]]`, as the alarm journal does (`hmi.trends.ranges`).

Wiring for the main window (StationContext's request signal):
    `context.trend_requested.connect(main_window._on_trend_requested)`, where that slot shows
    the "trends" screen and calls `screen.show_around(tags, t0, t1)`. With one tag, the other
    numeric tags of its asset are added (`hmi.trends.groups.tags_around`).

`configure(options)` takes the screenshot flags: `group` (a project or saved group name),
`range` (`-1h`, `shift`, `last_shift`, `FROM..TO`, ...), `tag` (one pen, or a comma list),
`cursors` (times, comma separated: ISO or relative). GUI thread only.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from hmi.timeparse import TimeParseError, parse_time
from hmi.trends.config import TrendGroupConfig, TrendPenConfig
from hmi.trends.groups import NOBODY, GroupStore, GroupStoreError, tags_around
from hmi.trends.ranges import RangeError, calendar_of, parse_range
from screens.trend_panels import GroupList, PenTable, TagPicker
from widgets.dialogs import open_nonmodal
from widgets.trend_plot import TrendPlot
from widgets.trend_stats import StatsPanel

RANGE_BUTTONS = (("1 h", "-1h", "the last hour, live"),
                 ("Shift", "shift", "the shift running now, live (the project's shifts)"),
                 ("Last shift", "last_shift", "the last shift that has ended (the project's "
                  "shifts)"),
                 ("24 h", "day", "the last 24 hours, live"),
                 ("7 d", "week", "the last 7 days, live"))


class TrendScreen(QWidget):
    """Live and historical trends of up to 8 pens. See the module docstring."""

    title = "Trends"

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        runtime = context.runtime
        self.project = getattr(runtime, "project", None)
        self.calendar = calendar_of(self.project)
        self.store = GroupStore(runtime.data_dir)
        self.plot = TrendPlot(context, self)
        self.stats = StatsPanel(self.plot)
        self.stats.setVisible(False)
        self.pen_table = PenTable(self.plot, notify=context.notify)
        self.picker = TagPicker(self.plot, self.project, context.notify)
        self.group_list = GroupList()
        self._csv_dialog: QFileDialog | None = None
        self._png_dialog: QFileDialog | None = None
        self._opened_once = False
        self._build()
        self.group_list.chosen.connect(self.apply_group)
        self.group_list.save_requested.connect(self.save_group)
        self.group_list.delete_requested.connect(self.delete_group)
        self.plot.live_changed.connect(self._on_live_changed)
        self.plot.view_settled.connect(self._on_view_settled)
        context.actor_changed.connect(self._on_actor)
        self.refresh()

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        bar = QHBoxLayout()
        self.live_button = QPushButton("Live")
        self.live_button.setCheckable(True)
        self.live_button.setChecked(True)
        self.live_button.clicked.connect(self._on_live_button)
        bar.addWidget(self.live_button)
        for label, text, tip in RANGE_BUTTONS:
            button = QPushButton(label)
            button.setToolTip(tip)
            button.clicked.connect(functools.partial(self.set_range_text, text))
            bar.addWidget(button)
        bar.addSpacing(12)
        self.from_edit, self.to_edit = QDateTimeEdit(), QDateTimeEdit()
        for label, edit in (("From", self.from_edit), ("to", self.to_edit)):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setCalendarPopup(True)
            bar.addWidget(QLabel(label))
            bar.addWidget(edit)
        show = QPushButton("Show")
        show.clicked.connect(self._on_show_from_to)
        bar.addWidget(show)
        bar.addStretch(1)
        tools = QHBoxLayout()  # a second row: one row needed ~1,400 px and squeezed the
        # station's navigation tree on narrower windows
        for label, slot, tip in (
                ("Fit", self.plot.nav.fit, "Fit the value axes to the data in view (F)"),
                ("Undo zoom", self.plot.nav.undo, "Back to the previous view (Backspace)"),
                ("Cursor", self.plot.add_cursor, "Add a cursor (C; double-click the plot); "
                 "Shift+Left/Right move it, 1 / 2 choose which"),
                ("CSV...", self._on_csv, "Export the visible data to CSV"),
                ("PNG...", self._on_png, "Save the plot as a picture")):
            button = QPushButton(label)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            tools.addWidget(button)
        self.shared_box = QCheckBox("One axis")
        self.shared_box.setToolTip("All pens on one value axis (else one axis per unit)")
        self.shared_box.toggled.connect(self._on_shared)
        self.stats_box = QCheckBox("Statistics")
        self.stats_box.toggled.connect(self.stats.setVisible)
        tools.addWidget(self.shared_box)
        tools.addWidget(self.stats_box)
        tools.addStretch(1)

        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.pen_table)
        side.addWidget(self.picker)
        side.addWidget(self.group_list)
        side.setSizes([200, 320, 200])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(self.plot)
        main.addWidget(self.stats)
        main.setSizes([600, 160])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(side)
        split.addWidget(main)
        split.setStretchFactor(1, 1)
        split.setSizes([300, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addLayout(tools)
        layout.addWidget(split, 1)

    # ---- the registry's contract ----------------------------------------------------------------
    def configure(self, options: dict[str, Any]) -> None:
        """Screenshot / deep-link flags: group, range, tag, cursors. Bad values are notified."""
        if options.get("group"):
            group = self.group_list.find(str(options["group"]))
            if group is None:
                self.context.notify(f"no trend group {options['group']!r}", "warning")
            else:
                self.apply_group(group)
        if options.get("tag"):
            self.plot.clear_pens()
            for tag in str(options["tag"]).split(","):
                self.picker.add(tag.strip())
        if options.get("range"):
            self.set_range_text(str(options["range"]))
        if options.get("cursors"):
            self.plot.cursors.clear()
            try:
                for text in str(options["cursors"]).split(","):
                    self.plot.add_cursor(parse_time(text.strip(), self.plot.clock()))
            except TimeParseError as exc:
                self.context.notify(str(exc), "warning")

    def showEvent(self, event: QShowEvent) -> None:
        """The first time the screen is shown with no pens, open the project's first trend
        group: an empty plot answers nothing (a request that brings its own pens, such as
        "trend around this alarm", replaces them right after)."""
        super().showEvent(event)
        if self._opened_once:
            return
        self._opened_once = True
        groups = list(self.project.model.trend_groups) if self.project is not None else []
        if groups and not self.plot.pens():
            group = self.group_list.find(groups[0].name)
            if group is not None:
                self.apply_group(group)

    def refresh(self) -> None:
        """The user changed: show their saved groups."""
        project = list(self.project.model.trend_groups) if self.project is not None else []
        self.group_list.set_groups(project, self.store.load(self._user()), self._user())

    def loading(self) -> bool:
        """A query (plot or statistics) is in flight: `hmi screenshot` waits for this."""
        return bool(self.plot.loading() or self.stats.queries.busy())

    def show_around(self, tags: list[str], t0: float, t1: float) -> None:
        """"Trend around this alarm": these tags (one tag: with the rest of its asset's) over
        [t0, t1], historical, with the alarm marks of the journal."""
        if len(tags) == 1 and self.project is not None:
            tags = tags_around(self.project, tags[0])
        self.plot.clear_pens()
        for tag in tags[:8]:
            self.plot.add_pen(tag)
        self.plot.set_range(t0, t1)

    # ---- ranges ---------------------------------------------------------------------------------
    def set_range_text(self, text: str) -> bool:
        try:
            spec = parse_range(text, self.plot.clock(), self.calendar)
        except RangeError as exc:
            self.context.notify(str(exc), "warning")
            return False
        self.plot.nav.push()
        self.plot.set_range_spec(spec)
        return True

    def _on_live_button(self, checked: bool) -> None:
        if checked:
            self.plot.set_live()
        else:
            self.plot.freeze()

    def _on_live_changed(self, live: bool) -> None:
        self.live_button.setChecked(live)

    def _on_view_settled(self, t0: float, t1: float) -> None:
        if not self.from_edit.hasFocus() and not self.to_edit.hasFocus():
            self.from_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(t0)))
            self.to_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(t1)))

    def _on_show_from_to(self) -> None:
        t0 = self.from_edit.dateTime().toSecsSinceEpoch()
        t1 = self.to_edit.dateTime().toSecsSinceEpoch()
        if t1 <= t0:
            self.context.notify("the 'to' time must be after the 'from' time", "warning")
            return
        self.plot.nav.push()
        self.plot.set_range(float(t0), float(t1))

    def _on_shared(self, shared: bool) -> None:
        self.plot.set_axes_mode("shared" if shared else "separate")

    # ---- groups ---------------------------------------------------------------------------------
    def _user(self) -> str:
        actor = self.context.actor
        return actor.user if actor is not None else NOBODY

    def _on_actor(self, _actor: Any) -> None:
        self.refresh()

    def apply_group(self, group: TrendGroupConfig) -> None:
        """Show a group: its pens (colours, visibility, scales), axes and range."""
        self.plot.clear_pens()
        self.plot.set_axes_mode(group.axes)
        self.shared_box.setChecked(group.axes == "shared")
        for pen in group.pens:
            self.plot.add_pen(pen.tag, pen.colour, visible=pen.visible, lo=pen.min, hi=pen.max)
        self.set_range_text(group.range)

    def current_group(self, name: str) -> TrendGroupConfig:
        """The trend as it is now, as a group: pens with colours, visibility and the scale of
        their axis, the range (live span or from-to) and the axes mode."""
        pens = []
        for pen in self.plot.pens():
            group = next(g for g in self.plot.groups() if pen in g.pens)
            pens.append(TrendPenConfig(tag=pen.tag, colour=pen.colour, visible=pen.visible,
                                       min=group.lo, max=group.hi))
        t0, t1 = self.plot.visible_range()
        live = f"-{round(self.plot.span_s)}s"
        text = live if self.plot.live else f"{_iso(t0)}..{_iso(t1)}"
        return TrendGroupConfig(name=name, pens=pens, range=text, axes=self.plot.axes_mode)

    def save_group(self, name: str) -> None:
        if not self.plot.pens():
            self.context.notify("add pens before saving a trend group", "warning")
            return
        try:
            self.store.save(self._user(), self.current_group(name))
        except GroupStoreError as exc:
            self.context.notify(str(exc), "error")
            return
        self.context.notify(f"trend group {name!r} saved for {self._user()}")
        self.refresh()

    def delete_group(self, name: str) -> None:
        if self.store.delete(self._user(), name):
            self.context.notify(f"trend group {name!r} deleted")
        self.refresh()

    # ---- export ---------------------------------------------------------------------------------
    def _on_csv(self) -> None:
        if self._csv_dialog is None:
            self._csv_dialog = self._save_dialog("Export visible data", "CSV files (*.csv)",
                                                 self._on_csv_chosen)
        self._csv_dialog.selectFile(f"trend-{time.strftime('%Y%m%d-%H%M%S')}.csv")
        open_nonmodal(self._csv_dialog)  # F9 / Silence stay usable

    def _on_png(self) -> None:
        if self._png_dialog is None:
            self._png_dialog = self._save_dialog("Save plot", "PNG images (*.png)",
                                                 self._on_png_chosen)
        self._png_dialog.selectFile(f"trend-{time.strftime('%Y%m%d-%H%M%S')}.png")
        open_nonmodal(self._png_dialog)

    def _save_dialog(self, caption: str, filter_: str, slot: Any) -> QFileDialog:
        dialog = QFileDialog(self, caption, str(Path.home()), filter_)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(slot)
        return dialog

    def _on_csv_chosen(self, path: str) -> None:
        try:
            self.plot.export_csv(path)
        except RuntimeError as exc:
            self.context.notify(str(exc), "warning")

    def _on_png_chosen(self, path: str) -> None:
        if self.plot.export_png(path):
            self.context.notify(f"trend saved to {path}")
        else:
            self.context.notify(f"could not write {path}", "error")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
