"""The alarm summary: every alarm not normal, filtered, sorted, and acted on from the keyboard.

Why it is shaped this way (issue 12): in a flood the operator must not lose the row they are
reading. Rows arrive once per bridge flush (<= 10 Hz) and go into the model in one step
(`AlarmTableModel.apply`); the model re-sorts once, and the view scrolls so that the selected
row stays at the same height on screen. Freeze stops re-sorting altogether. While the screen is
hidden, flushes are only merged (latest per alarm) and applied once when it is shown again.

Views: standing (B-E), shelved (F), suppressed by design (G), out of service (H). Colour is
used for the priority mark only (`widgets.alarm_style` through the delegate); unacknowledged
rows are bold, states are written out. Object names (`alarmTable`, `alarmViews`, ...) and the
`frozen` property are there for the theme's QSS.

GUI thread only.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QHideEvent, QIcon, QKeySequence, QPainter, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTabBar,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from alarms.engine import defs_from_project
from alarms.shelving import max_shelve_min
from hmi.gui.context import StationContext
from screens.alarm_actions import SPECS, AlarmActions
from widgets.alarm_filter import (
    PRIORITY_ORDER,
    UNACKED,
    VIEW_TITLES,
    VIEWS,
    AlarmFilter,
    Row,
    areas_with_parents,
    view_counts,
)
from widgets.alarm_style import paint_alarm_mark
from widgets.alarm_table import COLUMN, AlarmMarkDelegate, AlarmTableModel
from widgets.flow_layout import FlowLayout, shrinkable_combo

log = logging.getLogger(__name__)

BLINK_TICK_MS = 250
FILTER_DELAY_MS = 200  # typing in the filter box re-filters once the typing pauses
STATE_CHOICES: tuple[tuple[str, str], ...] = (
    ("All states", ""),
    ("Unacknowledged (new or returned)", "BD"),
    ("Active, unacknowledged", "B"),
    ("Active, acknowledged", "C"),
    ("Returned, unacknowledged", "D"),
    ("Latched", "E"),
)
# the Message column takes the rest: at 1280 px wide about 220 px, at 1600 about 550
COLUMN_WIDTHS = {"mark": 34, "first": 38, "time": 90, "name": 210, "value": 90, "limit": 80,
                 "state": 140, "area": 120}


def snapshot(manager: Any) -> tuple[list[Row], list[str]]:
    """Alarm thread: the full summary the screen starts from, and every alarm's area (the
    manager's, so the station's own alarms, e.g. security, are filterable too)."""
    return manager.active(), sorted({d.area for d in manager.defs.values()})


def priority_icon(priority: str, size: int = 18) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    paint_alarm_mark(painter, QRectF(0, 0, size, size), priority, "C")
    painter.end()
    return QIcon(pixmap)


class AlarmSummaryScreen(QWidget):
    """The alarm summary screen (registry name "alarms")."""

    title = "Alarm summary"
    SHORTCUTS: ClassVar[list[tuple[str, str]]] = [
        *((s.shortcut, s.help) for s in SPECS),
        ("Ctrl+F", "focus the filter box (Esc returns to the table)"),
        ("Ctrl+Shift+F", "freeze / unfreeze the order"),
        ("Alt+1..4", "views: standing, shelved, suppressed, out of service"),
        ("Menu, Shift+F10", "the context menu of the current alarm"),
    ]

    def __init__(self, context: StationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmSummary")
        self._context = context
        project = context.runtime.project
        settings = project.model.alarm_settings
        self._units = {t.name: (t.unit, t.decimals) for t in project.tags}
        self._root = project.model.project.asset.strip("/")
        defs = defs_from_project(project)
        self._areas = areas_with_parents({d.area for d in defs}, self._root)
        self._loading = False
        self._early: list[Row] = []  # flushes that arrived before the snapshot
        self._hidden_pending: dict[str, Row] = {}  # flushes merged while hidden
        self.last_refresh_s = 0.0  # the last flush's model + view work (bench)

        self.model = AlarmTableModel(self._units, self, project.model.project.asset)
        self.table = QTableView(self)
        self.actions_ = AlarmActions(self, context, self.table, self.model,
                                     settings.shelve_default_min, settings.shelve_max_min,
                                     {d.name: max_shelve_min(d.config, settings) for d in defs})
        self._build()
        self._blink = QTimer(self)
        self._blink.setInterval(BLINK_TICK_MS)
        self._blink.timeout.connect(self._on_blink)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self._apply_filter)

        context.bridge.alarms_changed.connect(self._on_alarms_changed)
        context.actor_changed.connect(self._on_actor_changed)
        self._load()

    # ---- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.views = QTabBar(self)
        self.views.setObjectName("alarmViews")
        self.views.setExpanding(False)
        for view in VIEWS:
            self.views.addTab(VIEW_TITLES[view])
        self.views.currentChanged.connect(self._on_view_changed)
        layout.addWidget(self.views)

        filters = QHBoxLayout()
        self.text = QLineEdit(self)
        self.text.setObjectName("alarmFilterText")
        self.text.setPlaceholderText("Filter: alarm, tag, message, area (Ctrl+F)")
        self.text.setClearButtonEnabled(True)
        self.text.textChanged.connect(self._on_text_changed)
        self.text.returnPressed.connect(self._focus_table)
        self.text.setMinimumWidth(220)  # the placeholder says what it filters
        filters.addWidget(self.text, 4)  # (at 3 its placeholder was cut at 1280 px)
        self.area = QComboBox(self)
        self.area.setObjectName("alarmFilterArea")
        self.area.addItem("All areas", "")
        self._add_areas(self._areas)
        self.area.setToolTip("area (and everything below it)")
        self.area.currentIndexChanged.connect(self._apply_filter)
        shrinkable_combo(self.area, 12)
        filters.addWidget(self.area, 1)
        self.priority_buttons: dict[str, QToolButton] = {}
        for number, priority in enumerate(PRIORITY_ORDER, 1):
            button = QToolButton(self)
            button.setObjectName("alarmFilterPriority")
            button.setProperty("priority", priority)
            button.setCheckable(True)
            button.setIcon(priority_icon(priority))
            button.setIconSize(QSize(18, 18))
            button.setText(f"{number} {priority}")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setToolTip(f"show priority {number} ({priority}); none checked = all")
            button.toggled.connect(self._apply_filter)
            filters.addWidget(button)
            self.priority_buttons[priority] = button
        self.state = QComboBox(self)
        self.state.setObjectName("alarmFilterState")
        for text, states in STATE_CHOICES:
            self.state.addItem(text, states)
        self.state.currentIndexChanged.connect(self._apply_filter)
        shrinkable_combo(self.state, 10)
        filters.addWidget(self.state, 1)
        layout.addLayout(filters)

        bar = QHBoxLayout()
        # three groups of buttons that wrap onto a second row in a narrow window (1280 px:
        # in one row they made the window 1302 px wide and squeezed the navigation)
        self.action_groups = QWidget(self)
        flow = FlowLayout(self.action_groups, spacing=12)
        for keys in (("ack", "ack_comment", "ack_page"), ("shelve", "unshelve", "reset"),
                     ("oos", "in_service", "comment")):
            group = QWidget(self.action_groups)
            row = QHBoxLayout(group)
            row.setContentsMargins(0, 0, 0, 0)
            for key in keys:
                button = QToolButton(group)
                button.setObjectName(f"alarmButton_{key}")
                button.setDefaultAction(self.actions_.actions[key])
                row.addWidget(button)
            flow.addWidget(group)
        bar.addWidget(self.action_groups, 1)
        self.frozen_notice = QLabel("Frozen: new alarms are added at the bottom, cleared "
                                    "alarms stay until you unfreeze", self)
        self.frozen_notice.setObjectName("alarmFrozenNotice")
        self.frozen_notice.setWordWrap(True)
        self.frozen_notice.setMaximumWidth(330)
        self.frozen_notice.setVisible(False)
        bar.addWidget(self.frozen_notice, 0, Qt.AlignmentFlag.AlignTop)
        self.freeze_action = QAction("&Freeze", self)
        self.freeze_action.setObjectName("alarmAction_freeze")
        self.freeze_action.setCheckable(True)
        self.freeze_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        self.freeze_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.freeze_action.setToolTip("stop re-sorting while you work (Ctrl+Shift+F)")
        self.freeze_action.toggled.connect(self._on_freeze)
        self.addAction(self.freeze_action)
        self.freeze = QToolButton(self)
        self.freeze.setObjectName("alarmFreeze")
        self.freeze.setDefaultAction(self.freeze_action)
        bar.addWidget(self.freeze, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(bar)

        table = self.table
        table.setObjectName("alarmTable")
        table.setModel(self.model)
        self.mark_delegate = AlarmMarkDelegate(table)
        table.setItemDelegateForColumn(COLUMN["mark"], self.mark_delegate)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(24)
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        for key, width in COLUMN_WIDTHS.items():
            table.setColumnWidth(COLUMN[key], width)
        header.setSectionResizeMode(COLUMN["message"], QHeaderView.ResizeMode.Stretch)
        header.setSortIndicator(COLUMN["mark"], Qt.SortOrder.AscendingOrder)
        table.setSortingEnabled(True)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._on_context_menu)
        table.activated.connect(self._on_activated)
        table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        layout.addWidget(table, 1)

        self.status = QLabel(self)
        self.status.setObjectName("alarmStatus")
        layout.addWidget(self.status)

        for keys, slot in ((("Ctrl+F",), self.focus_filter),
                           (("Menu", "Shift+F10"), self._on_menu_key)):
            action = QAction(self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        for i in range(len(VIEWS)):
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Alt+{i + 1}"))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setData(i)
            action.triggered.connect(self._on_view_key)
            self.addAction(action)
        escape = QAction(self.text)
        escape.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        escape.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        escape.triggered.connect(self._focus_table)
        self.text.addAction(escape)
        self.setFocusProxy(table)

    # ---- data in ---------------------------------------------------------------------------------
    def _load(self) -> None:
        service = self._context.commands.alarm_service()
        if service is None:
            self.status.setText("The alarm service is not running: no alarms to show.")
            return
        self._loading = True
        self._context.when_done(service.call(snapshot), self._on_snapshot, self._on_load_error)

    def _add_areas(self, areas: list[str]) -> None:
        for area in areas:
            if self.area.findData(area) < 0:
                root = self._root
                shown = area.removeprefix(root + "/") if root and area != root else area
                self.area.addItem(shown, area)

    def _on_snapshot(self, answer: tuple[list[Row], list[str]]) -> None:
        rows, areas = answer
        self._add_areas(areas_with_parents(set(areas), self._root))
        self._loading = False
        self.model.set_rows(rows)
        early, self._early = self._early, []
        if early:
            self.model.apply(early)  # changes that raced the snapshot, in arrival order
        self._after_change()

    def _on_load_error(self, exc: BaseException) -> None:
        self._loading = False
        early, self._early = self._early, []
        self.model.apply(early)  # at least what changed since: better than an empty list
        self._after_change()
        self._context.notify(f"alarm summary: cannot read the alarms: {exc}", "error")

    def _on_alarms_changed(self, rows: list[Row]) -> None:
        if self._loading:
            self._early.extend(rows)
        elif not self.isVisible():
            for row in rows:
                self._hidden_pending[row["name"]] = row  # a hidden screen does not repaint
        else:
            self._refresh(rows)

    def _refresh(self, rows: list[Row]) -> None:
        """One flush into the model, keeping the selected row where the operator sees it."""
        started = time.perf_counter()
        anchor = self._anchor()
        self.model.apply(rows)
        if anchor is not None:
            name, y = anchor
            pos = self.model.position(name)
            if pos is not None:
                bar = self.table.verticalScrollBar()
                bar.setValue(bar.value() + self.table.rowViewportPosition(pos) - y)
        self._after_change()
        self.last_refresh_s = time.perf_counter() - started

    def _anchor(self) -> tuple[str, int] | None:
        index = self.table.currentIndex()
        selection = self.table.selectionModel()
        if not index.isValid() or not selection.isRowSelected(index.row(), index.parent()):
            rows = selection.selectedRows(0)
            if not rows:
                return None
            index = rows[0]
        return self.model.row(index.row())["name"], self.table.rowViewportPosition(index.row())

    def _after_change(self) -> None:
        by_state = self.model.state_counts()
        counts = view_counts(by_state)
        for i, view in enumerate(VIEWS):
            text = f"{VIEW_TITLES[view]} {counts[view]}"
            if self.views.tabText(i) != text:  # a tab text change re-lays out the bar
                self.views.setTabText(i, text)
        unacked = sum(by_state[s] for s in UNACKED)
        shown = self.model.rowCount() - self.model.cleared_shown()
        self.status.setText(f"{shown} shown of {counts[self.model.filter.view]} in this view"
                            f"  ·  {unacked} unacknowledged"
                            + ("  ·  frozen" if self.model.frozen else ""))
        self.actions_.update()

    # ---- filters and views -----------------------------------------------------------------------
    def current_filter(self) -> AlarmFilter:
        view = list(VIEWS)[max(0, self.views.currentIndex())]
        states = (self.state.currentData() or "") if view == "standing" else ""
        return AlarmFilter(
            view=view, area=self.area.currentData() or "",
            priorities=frozenset(p for p, b in self.priority_buttons.items() if b.isChecked()),
            states=frozenset(states), text=self.text.text().strip())

    def _apply_filter(self, *_: object) -> None:
        self._filter_timer.stop()
        self.model.set_filter(self.current_filter())
        self._after_change()

    def _on_text_changed(self, _text: str) -> None:
        self._filter_timer.start()

    def _on_view_changed(self, index: int) -> None:
        self.state.setEnabled(index == 0)
        self._apply_filter()

    def _on_view_key(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.views.setCurrentIndex(int(action.data()))
            self._focus_table()

    def _on_freeze(self, frozen: bool) -> None:
        self.model.set_frozen(frozen)
        self.setProperty("frozen", frozen)
        self.frozen_notice.setVisible(frozen)
        self.style().unpolish(self)
        self.style().polish(self)
        self._after_change()

    # ---- interaction -----------------------------------------------------------------------------
    def _on_selection_changed(self, *_: object) -> None:
        self.actions_.update()

    def _on_actor_changed(self, _actor: object) -> None:
        self.actions_.update()

    def _on_activated(self, index: Any) -> None:
        row = self.model.row(index.row())
        if row.get("tag"):
            self._context.open_faceplate(row["tag"])

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid() and not self.table.selectionModel().isRowSelected(index.row()):
            self.table.selectRow(index.row())
        self.actions_.show_menu(self.table.viewport().mapToGlobal(pos))

    def _on_menu_key(self) -> None:
        index = self.table.currentIndex()
        rect = self.table.visualRect(index) if index.isValid() else QRect()
        pos = rect.bottomLeft() if index.isValid() else QPoint(0, 0)
        self.actions_.show_menu(self.table.viewport().mapToGlobal(pos))

    def _on_blink(self) -> None:
        if any(r.get("state") in UNACKED for r in self.actions_.on_screen()):
            column = COLUMN["mark"]
            x = self.table.columnViewportPosition(column)
            self.table.viewport().update(x, 0, self.table.columnWidth(column),
                                         self.table.viewport().height())

    def _focus_table(self) -> None:
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if not self.table.selectionModel().selectedRows(0) and self.model.rowCount():
            self.table.selectRow(0)  # a current cell without a selection is not "selected"

    # ---- the screen contract ---------------------------------------------------------------------
    def focus_filter(self) -> None:
        self.text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text.selectAll()

    def acknowledge_selected(self) -> None:
        """For the main window's global "acknowledge selected" key (F8). With nothing
        selected, the first press selects the top alarm (and focuses the table) instead of
        acknowledging: the operator acknowledges only what they have seen selected."""
        if not self.table.selectionModel().selectedRows(0):
            self._focus_table()
            return
        self.actions_.actions["ack"].trigger()

    def configure(self, options: dict[str, Any]) -> None:
        """Screenshot / deep-link options: view, text, area, priority, frozen, and blink
        (False: marks drawn steady, so a screenshot does not catch the "off" half)."""
        if "blink" in options:
            self.mark_delegate.blink = bool(options["blink"])
        view = options.get("view")
        if view in VIEWS:
            self.views.setCurrentIndex(list(VIEWS).index(view))
        if "text" in options:
            self.text.setText(str(options["text"]))
        if options.get("area"):
            index = self.area.findData(options["area"])
            if index >= 0:
                self.area.setCurrentIndex(index)
        if options.get("priority") in self.priority_buttons:
            self.priority_buttons[options["priority"]].setChecked(True)
        if "frozen" in options:
            self.freeze_action.setChecked(bool(options["frozen"]))
        self._apply_filter()

    def refresh(self) -> None:
        self.actions_.update()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        pending, self._hidden_pending = self._hidden_pending, {}
        if pending:
            self._refresh(list(pending.values()))
        self._blink.start()
        # keyboard first: on arrival the table has the focus and the top alarm is selected, so
        # F8 / Ctrl+K acknowledge what the operator sees first, Ctrl+H shelves it
        QTimer.singleShot(0, self, self._focus_table)

    def hideEvent(self, event: QHideEvent) -> None:
        self._blink.stop()
        super().hideEvent(event)
