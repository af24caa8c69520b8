"""The alarm journal screen: what happened to the alarms over a time range, and CSV export.

Queries and exports run in a worker (`context.submit`) with their own SQLite connection, so a
year of journal never freezes the window nor holds up the alarm thread's commits. A query
shows at most `DISPLAY_LIMIT` rows (newest first) and says so; the export writes every
matching row, with a progress bar and a Cancel button, through a temporary file (a cancelled
export leaves nothing behind).

Ranges: last hour, this shift, last 24 hours, or from-to. "This shift" follows the project's
`[[shifts]]` calendar (`hmi.mes.calendar`); a project without shifts uses `SHIFT_STARTS_H`
local time (06:00, 14:00, 22:00). Filters are those of
`hmi alarms journal` (area and below, priority, event, state) plus free text.

GUI thread only, except what runs in the worker.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QDateTime, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from alarms import journal_export
from alarms.config import alarm_name
from alarms.journal_export import JournalFilter
from alarms.states import Event, State
from hmi.gui.context import StationContext
from hmi.gui.trend_around import trend_around
from hmi.mes.calendar import ShiftCalendar
from hmi.trends.ranges import RangeError, parse_range
from widgets.alarm_filter import PRIORITY_ORDER, areas_with_parents
from widgets.alarm_table import AlarmMarkDelegate
from widgets.dialogs import open_nonmodal
from widgets.flow_layout import FlowLayout, shrinkable_combo
from widgets.journal_table import COLUMN, EVENT_TEXT, JournalTableModel

DISPLAY_LIMIT = 20_000
SHIFT_STARTS_H = (6, 14, 22)
RANGES = (("Last hour", "hour"), ("This shift", "shift"), ("Last 24 hours", "day"),
          ("From - to", "custom"))
TEXT_DELAY_MS = 300
COLUMN_WIDTHS = {"mark": 34, "time": 96, "event": 130, "alarm": 210, "value": 110,
                 "limit": 90, "state": 90, "user": 70, "comment": 160, "area": 140}
# After each query the columns are sized to the text of the first FIT_ROWS rows, up to these
# widths, and Message takes the rest: with fixed widths the Message was cut ("Filler tank
# le...") and a horizontal scrollbar hid the Area at 1600 px.
MAX_WIDTHS = {"time": 170, "event": 150, "alarm": 250, "value": 140, "limit": 120,
              "state": 120, "user": 110, "comment": 180, "area": 200}  # longer: the tooltip
FIT_ROWS = 300
CELL_PAD_PX, HEADER_PAD_PX = 12, 20


def shift_start(now: float, starts_h: tuple[int, ...] = SHIFT_STARTS_H) -> float:
    """When the shift running at `now` began (local time; epoch seconds)."""
    lt = time.localtime(now)
    midnight = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
    candidates = [midnight + h * 3600 for h in starts_h]
    candidates.append(midnight - 86400 + max(starts_h) * 3600)
    return max(c for c in candidates if c <= now)


def time_range(kind: str, now: float, calendar: ShiftCalendar | None = None
               ) -> tuple[float, float]:
    """(start, end) in epoch seconds. "shift": the shift running now from the project's
    `[[shifts]]` (issue 15's calendar), else the last one that ran (start to end); a project
    without shifts uses `SHIFT_STARTS_H`."""
    if kind == "hour":
        return now - 3600.0, now
    if kind == "shift":
        if calendar is not None and not calendar.empty:
            current = calendar.at(now)
            if current is not None:
                return current.start, now
            past = [s for s in calendar.instances(now - 8 * 86400.0, now) if s.end <= now]
            if past:
                return past[-1].start, past[-1].end
        return shift_start(now), now
    return now - 86400.0, now


def describe(manager: Any) -> tuple[dict[str, str], list[str]]:
    """Alarm thread: every alarm's message and area, as the running manager knows them."""
    return ({name: d.config.message for name, d in manager.defs.items()},
            sorted({d.area for d in manager.defs.values()}))


def query_job(path: Path, messages: dict[str, str], seq: int, flt: JournalFilter
              ) -> tuple[int, list[dict[str, Any]]]:
    """Worker thread: one page of journal rows, tagged with the query's sequence number."""
    return seq, journal_export.query(path, flt, messages, limit=DISPLAY_LIMIT + 1)


class _Progress(QObject):
    """Carries an export's progress from the worker to the GUI thread (queued signal), a few
    dozen times per export, never per row."""

    progressed = Signal(int, int)  # rows written, total (0 = still querying)

    def report(self, done: int, total: int) -> None:  # worker thread
        if shiboken6.isValid(self):  # the screen may have been closed during the export
            self.progressed.emit(done, total)


class AlarmJournalScreen(QWidget):
    """The alarm journal (registry name "journal")."""

    title = "Alarm journal"
    query_finished = Signal(int)  # rows shown
    export_finished = Signal(str, int)  # file, rows written ("" and -1: failed or cancelled)

    def __init__(self, context: StationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmJournal")
        self._context = context
        project = context.runtime.project
        service = context.commands.alarm_service()
        self.journal_path = Path(service.journal.path) if service is not None else \
            Path(context.runtime.data_dir) / "alarms.db"
        self._messages = {alarm_name(cfg): cfg.message for cfg in project.alarms}
        areas = {project.tag_asset(t) for t in project.tags}
        units = {t.name: (t.unit, t.decimals) for t in project.tags}
        self._root = project.model.project.asset.strip("/")
        self.calendar = ShiftCalendar(project.model.shifts, project.model.production.timezone)
        self._seq = 0  # the latest query; older answers are dropped
        self._queried = False
        self._cancel: threading.Event | None = None
        self._progress = _Progress(self)
        self._progress.progressed.connect(self._on_export_progress)
        bools = frozenset(t.name for t in project.tags if t.type == "bool" or (
            t.type is None and (t.address or "").split(":")[0] in ("coil", "di")))
        self.model = JournalTableModel(units, self, self._root, bools)
        self._build(areas_with_parents({a for a in areas if a}, self._root))
        if service is not None:  # the station's own alarms (security) too
            context.when_done(service.call(describe), self._on_described)
        self._text_timer = QTimer(self)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(TEXT_DELAY_MS)
        self._text_timer.timeout.connect(self.run_query)

    # ---- layout ----------------------------------------------------------------------------------
    def _build(self, areas: list[str]) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        # two groups (range, filters) that wrap onto a second row in a narrow window: in one
        # row they were about 1,100 px wide, and once the journal had been opened the screen
        # stack (as wide as its widest screen) squeezed the navigation tree at 1280 px
        self.filter_groups = QWidget(self)
        flow = FlowLayout(self.filter_groups, spacing=12)
        range_group = QWidget(self.filter_groups)
        row = QHBoxLayout(range_group)
        row.setContentsMargins(0, 0, 0, 0)
        self.range = QComboBox(self)
        self.range.setObjectName("journalRange")
        for text, kind in RANGES:
            self.range.addItem(text, kind)
        self.range.setCurrentIndex(1)
        self.range.currentIndexChanged.connect(self._on_range_changed)
        row.addWidget(QLabel("&Range:", self, buddy=self.range))
        row.addWidget(self.range)
        self.start = QDateTimeEdit(self)
        self.end = QDateTimeEdit(self)
        for edit, name in ((self.start, "journalFrom"), (self.end, "journalTo")):
            edit.setObjectName(name)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setCalendarPopup(True)
            edit.dateTimeChanged.connect(self._on_custom_changed)
            row.addWidget(edit)
        self.area = QComboBox(self)
        self.area.setObjectName("journalArea")
        self.area.addItem("All areas", None)
        for area in areas:
            shown = area.removeprefix(self._root + "/") if self._root and area != self._root \
                else area
            self.area.addItem(shown, area)
        self.priority = QComboBox(self)
        self.priority.setObjectName("journalPriority")
        self.priority.addItem("All priorities", None)
        for number, priority in enumerate(PRIORITY_ORDER, 1):
            self.priority.addItem(f"{number} {priority}", priority)
        self.event = QComboBox(self)
        self.event.setObjectName("journalEvent")
        self.event.addItem("All events", None)
        for event in Event:
            self.event.addItem(EVENT_TEXT.get(event.value, event.value), event.value)
        self.state = QComboBox(self)
        self.state.setObjectName("journalState")
        self.state.addItem("All states", None)
        for state in State:
            self.state.addItem(state.label, state.value)
        flow.addWidget(range_group)
        filter_group = QWidget(self.filter_groups)
        row = QHBoxLayout(filter_group)
        row.setContentsMargins(0, 0, 0, 0)
        for combo, characters in ((self.area, 14), (self.priority, 10), (self.event, 12),
                                  (self.state, 12)):
            shrinkable_combo(combo, characters)
            combo.currentIndexChanged.connect(self.run_query)
            row.addWidget(combo)
        flow.addWidget(filter_group)
        layout.addWidget(self.filter_groups)
        row = QHBoxLayout()  # text and actions on a second row: one row crushed the text box
        self.text = QLineEdit(self)
        self.text.setObjectName("journalText")
        self.text.setPlaceholderText("Text: alarm, tag, message, user, comment (Ctrl+F)")
        self.text.setClearButtonEnabled(True)
        self.text.textChanged.connect(self._on_text_changed)
        row.addWidget(self.text, 1)
        self.query_button = QPushButton("&Query", self)
        self.query_button.setObjectName("journalQuery")
        self.query_button.setToolTip("read the journal again (F5)")
        self.query_button.clicked.connect(self.run_query)
        row.addWidget(self.query_button)
        self.export_button = QPushButton("&Export CSV...", self)
        self.export_button.setObjectName("journalExport")
        self.export_button.setToolTip("every matching row, not only those shown (Ctrl+E)")
        self.export_button.clicked.connect(self._on_export_clicked)
        row.addWidget(self.export_button)
        self.trend_button = QPushButton("&Trend around", self)
        self.trend_button.setObjectName("journalTrend")
        self.trend_button.setToolTip("the selected event's tag and its asset's tags, 10 minutes "
                                     "either side of the alarm's raise (Ctrl+T; right click "
                                     "for more)")
        self.trend_button.setEnabled(False)
        self.trend_button.clicked.connect(self.trend_selected)
        layout.addLayout(row)

        self.table = QTableView(self)
        self.table.setObjectName("journalTable")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(COLUMN["mark"], AlarmMarkDelegate(self.table,
                                                                              blink=False))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        for key, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(COLUMN[key], width)
        self.table.horizontalHeader().setSectionResizeMode(COLUMN["message"],
                                                           QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.model.modelReset.connect(self._on_selection)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for text, slot in (("Trend around this event", self.trend_selected),
                           ("Open faceplate", self._on_faceplate)):
            menu_action = QAction(text, self.table)
            menu_action.triggered.connect(slot)
            self.table.addAction(menu_action)

        bottom = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setObjectName("journalStatus")
        bottom.addWidget(self.trend_button)  # (the filter row above is full)
        bottom.addWidget(self.status, 1)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("journalExportProgress")
        self.progress.setVisible(False)
        bottom.addWidget(self.progress)
        self.cancel_button = QPushButton("Cancel export", self)
        self.cancel_button.setObjectName("journalExportCancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_export)
        bottom.addWidget(self.cancel_button)
        layout.addLayout(bottom)

        for key, slot in (("F5", self.run_query), ("Ctrl+E", self._on_export_clicked),
                          ("Ctrl+F", self._on_focus_text), ("Ctrl+T", self.trend_selected)):
            action = QAction(self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        self._on_range_changed()

    # ---- the query -------------------------------------------------------------------------------
    def current_filter(self) -> JournalFilter:
        kind = self.range.currentData()
        if kind == "custom":
            start = self.start.dateTime().toSecsSinceEpoch()
            end = self.end.dateTime().toSecsSinceEpoch() + 59.999  # the whole "to" minute
        else:
            start, end = time_range(kind, time.time(), self.calendar)
        return JournalFilter(float(start), float(end), area=self.area.currentData(),
                             priority=self.priority.currentData(),
                             event=self.event.currentData(), state=self.state.currentData(),
                             text=self.text.text().strip())

    def _on_described(self, answer: tuple[dict[str, str], list[str]]) -> None:
        messages, areas = answer
        self._messages = {**messages, **self._messages}
        for area in areas_with_parents(set(areas), self._root):
            if self.area.findData(area) < 0:
                shown = area.removeprefix(self._root + "/") if self._root and area != \
                    self._root else area
                self.area.addItem(shown, area)

    def run_query(self, *_: object) -> None:
        """Read the journal for the current range and filters (in a worker)."""
        self._text_timer.stop()
        self._seq += 1
        self._queried = True
        self.status.setText("Reading the journal...")
        self._context.submit(query_job, self.journal_path, dict(self._messages), self._seq,
                             self.current_filter(), slot=self._on_query_done,
                             error_slot=self._on_query_failed)

    def _on_query_done(self, answer: tuple[int, list[dict[str, Any]]]) -> None:
        seq, rows = answer
        if seq != self._seq:
            return  # an older query answered late
        capped = len(rows) > DISPLAY_LIMIT
        rows = rows[:DISPLAY_LIMIT]
        self.model.set_rows(rows)
        self.fit_columns()
        if capped:
            self.status.setText(f"Showing the first {DISPLAY_LIMIT:,} rows of the range: narrow "
                                "it, or export the whole range to CSV.")
        else:
            self.status.setText(f"{len(rows):,} journal rows")
        self.query_finished.emit(len(rows))

    def fit_columns(self) -> None:
        """Each column as wide as its header and the text of the first `FIT_ROWS` rows (at
        most `MAX_WIDTHS`); the Message column stretches over the rest."""
        cells = self.table.fontMetrics()
        heads = self.table.horizontalHeader().fontMetrics()
        rows = min(self.model.rowCount(), FIT_ROWS)
        for key, cap in MAX_WIDTHS.items():
            col = COLUMN[key]
            title = str(self.model.headerData(col, Qt.Orientation.Horizontal) or "")
            width = heads.horizontalAdvance(title) + HEADER_PAD_PX
            for row in range(rows):
                text = self.model.index(row, col).data()
                if text:
                    width = max(width, cells.horizontalAdvance(str(text)) + CELL_PAD_PX)
            self.table.setColumnWidth(col, min(width, cap))

    def _on_query_failed(self, exc: BaseException) -> None:
        self.status.setText(f"Cannot read the journal: {exc}")
        self._context.notify(f"alarm journal: {exc}", "error")

    # ---- export ----------------------------------------------------------------------------------
    def _on_export_clicked(self) -> None:
        if self._cancel is not None:
            return  # one export at a time
        dialog = QFileDialog(self, "Export the alarm journal",
                             str(Path.home() / time.strftime("alarm-journal-%Y%m%d-%H%M.csv")),
                             "CSV files (*.csv)")
        dialog.setObjectName("journalExportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(self.export_csv)
        dialog.finished.connect(dialog.deleteLater)
        open_nonmodal(dialog)  # F9 / Silence stay usable

    def export_csv(self, path: str) -> None:
        """Write every row matching the current range and filters to `path` (in a worker)."""
        if self._cancel is not None:
            return
        self._cancel = threading.Event()
        self.progress.setRange(0, 0)  # busy until the query is done
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.export_button.setEnabled(False)
        self._export_path = path
        self._context.submit(journal_export.export, self.journal_path, self.current_filter(),
                             Path(path), dict(self._messages), self._progress.report,
                             self._cancel,
                             slot=self._on_export_done, error_slot=self._on_export_failed)

    def cancel_export(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def _on_export_progress(self, done: int, total: int) -> None:
        if total <= 0:
            self.progress.setRange(0, 0)
            self.progress.setFormat("reading...")
        else:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"{done:,} / {total:,} rows")

    def _end_export(self) -> None:
        self._cancel = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.export_button.setEnabled(True)

    def _on_export_done(self, rows: int) -> None:
        self._end_export()
        self.status.setText(f"Exported {rows:,} rows to {self._export_path}")
        self._context.notify(f"alarm journal: {rows:,} rows exported to {self._export_path}")
        self.export_finished.emit(self._export_path, rows)

    def _on_export_failed(self, exc: BaseException) -> None:
        self._end_export()
        if isinstance(exc, journal_export.ExportCancelled):
            self.status.setText(str(exc).capitalize() + ": nothing written.")
        else:
            self.status.setText(f"Export failed: {exc}")
            self._context.notify(f"alarm journal export failed: {exc}", "error")
        self.export_finished.emit("", -1)

    # ---- controls --------------------------------------------------------------------------------
    def _on_range_changed(self, *_: object) -> None:
        kind = self.range.currentData()
        custom = kind == "custom"
        if not custom:
            start, end = time_range(kind, time.time(), self.calendar)
            for edit, ts in ((self.start, start), (self.end, end)):
                edit.blockSignals(True)
                edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(ts)))
                edit.blockSignals(False)
        self.start.setEnabled(custom)
        self.end.setEnabled(custom)
        if self._queried or self.isVisible():
            self.run_query()

    def _on_custom_changed(self, *_: object) -> None:
        if self.range.currentData() == "custom":
            self.run_query()

    def _on_text_changed(self, _text: str) -> None:
        self._text_timer.start()

    def _on_focus_text(self) -> None:
        self.text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text.selectAll()

    # ---- trend around, faceplate ----------------------------------------------------------------
    def selected_row(self) -> dict[str, Any] | None:
        index = self.table.currentIndex()
        rows = self.model.rows()
        if not index.isValid() or index.row() >= len(rows):
            return None
        return rows[index.row()]

    def _on_selection(self, *_: object) -> None:
        row = self.selected_row()
        self.trend_button.setEnabled(bool(row and row.get("tag")))

    def trend_selected(self) -> None:
        """The selected event's tag (and its asset's) around the alarm's raise: the row's
        time for a raise, else the last raise before it (an acknowledge or return to normal
        row centres on the raise it belongs to, from the journal)."""
        row = self.selected_row()
        if row is None or not row.get("tag"):
            return
        if row.get("event") == "raise":
            trend_around(self._context, str(row["tag"]), raised=row.get("ts"))
        else:
            trend_around(self._context, str(row["tag"]), row.get("ts"),
                         alarm=row.get("alarm") or None)

    def _on_faceplate(self) -> None:
        row = self.selected_row()
        if row is not None and row.get("tag"):
            self._context.open_faceplate(str(row["tag"]))

    # ---- the screen contract ---------------------------------------------------------------------
    def configure(self, options: dict[str, Any]) -> None:
        """Screenshot / deep-link options: range (any range the trends take: hour, shift,
        day, -1h, -30m, last_shift, week, FROM..TO), text, event, priority."""
        if options.get("range"):
            self.set_range_text(str(options["range"]))
        if "text" in options:
            self.text.setText(str(options["text"]))
        for key, combo in (("event", self.event), ("priority", self.priority)):
            if options.get(key):
                index = combo.findData(options[key])
                if index >= 0:
                    combo.setCurrentIndex(index)
        self.run_query()

    def set_range_text(self, text: str) -> bool:
        """Show the range `text` means (`hmi.trends.ranges.parse_range`, the same words as the
        trend screen and `hmi screenshot --range`): the last hour, this shift and the last 24
        hours as those choices, anything else as from-to (to the minute). False, with a
        notification, for a text that is no range."""
        now = time.time()
        try:
            spec = parse_range(text, now, self.calendar)
        except RangeError as exc:
            self._context.notify(f"alarm journal: {exc}", "warning")
            return False
        kind = spec.text if spec.text in ("hour", "shift", "day") else None
        if kind is None and spec.live and spec.span_s in (3600.0, 86400.0):
            kind = "hour" if spec.span_s == 3600.0 else "day"
        if kind is None:
            start, end = spec.resolve(now)
            for edit, ts in ((self.start, start), (self.end, end)):
                edit.blockSignals(True)
                edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(ts)))
                edit.blockSignals(False)
            kind = "custom"
        self.range.blockSignals(True)
        self.range.setCurrentIndex(self.range.findData(kind))
        self.range.blockSignals(False)
        self._on_range_changed()  # one query (when shown), with the edits already set
        return True

    def refresh(self) -> None:
        self.run_query()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._queried:
            self.run_query()
