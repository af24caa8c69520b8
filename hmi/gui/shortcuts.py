"""Every keyboard shortcut of the station, in one table: the main window binds it, F1 shows it,
the README lists it. Everything works without a mouse.

One key, one meaning at a time: a screen's own key (e.g. the alarm summary's Ctrl+F, focus
the filter) that is also a window key here is taken over by the main window, which triggers
the screen's action while that screen is shown (`MainWindow._adopt_keys`): Qt would otherwise
see two shortcuts for one key and fire neither. A test checks no other key is bound twice.

GUI thread only (the help dialog).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.dialogs import NonModalDialog

# (key sequence, MainWindow method, what it does)
SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    ("F1", "show_help", "this list of shortcuts"),
    ("F2", "go_alarms", "alarm summary"),
    ("F3", "go_overview", "overview (L1)"),
    ("F4", "go_journal", "alarm journal"),
    ("F6", "go_trends", "trends"),
    ("F7", "go_diagnostics", "diagnostics (L4)"),
    ("F8", "ack_selected", "acknowledge the selected alarm (summary, else banner)"),
    ("F10", "go_production", "production: work order, lot, stops and their reasons, OEE"),
    ("F9", "silence_horn", "silence the horn (alarms stay unacknowledged)"),
    ("Alt+Left", "go_back", "back"),
    ("Alt+Right", "go_forward", "forward"),
    ("Alt+Up", "go_up", "up the asset tree (unit -> line -> overview)"),
    ("Ctrl+F", "ask_faceplate", "find: the filter of the alarm summary or journal when "
     "shown, else open the faceplate of a tag by name"),
    ("Ctrl+O", "ask_faceplate", "open the faceplate of a tag by name (on every screen)"),
    ("Ctrl+B", "focus_banner", "focus the alarm banner (Up/Down, Enter: faceplate)"),
    ("Ctrl+L", "focus_navigation", "focus the navigation tree"),
    ("Ctrl+Shift+T", "toggle_theme", "day / night theme"),
    ("Ctrl+Shift+W", "close_faceplates", "close every faceplate"),
    ("Ctrl+Shift+U", "log_in", "log in, switch user, or unlock a locked session"),
    ("Ctrl+Shift+L", "lock_session", "lock the session (values and alarms stay live)"),
)
TEXT_MAX_PX = 620  # the help's text column: longer texts wrap
# Keys handled by the widgets themselves, listed in the help too.
WIDGET_KEYS: tuple[tuple[str, str], ...] = (
    ("Tab / Shift+Tab", "move between values on a display"),
    ("Enter / Space", "open the focused value's faceplate"),
    ("Esc", "close the faceplate"),
    ("Enter (in a faceplate's entry)", "write: asks for confirmation first"),
)


class HelpDialog(NonModalDialog):
    """F1: the shortcut table. Opened with `open()` (non-modal: `widgets.dialogs`)."""

    def __init__(self, parent: QWidget | None = None,
                 screen_keys: list[tuple[str, str]] | None = None, screen: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        layout = QVBoxLayout(self)
        rows = [(key, text) for key, _method, text in SHORTCUTS] + list(WIDGET_KEYS)
        if screen_keys:  # the current screen's own keys (active while it has the focus)
            rows += [(key, f"{screen}: {text}" if screen else text)
                     for key, text in screen_keys]
        table = QTableWidget(len(rows), 2, self)
        table.setObjectName("shortcutTable")
        table.setHorizontalHeaderLabels(["Key", "What it does"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (key, text) in enumerate(rows):
            table.setItem(row, 0, QTableWidgetItem(key))
            table.setItem(row, 1, QTableWidgetItem(text))
        # sized to the texts, long ones wrapped, never a horizontal scrollbar (seen on Xvfb:
        # a 560 px dialog cut "Does" to "D" and half of the ack line)
        header = table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        table.setWordWrap(True)
        table.setTextElideMode(Qt.TextElideMode.ElideNone)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.table = table
        self.resize(self._fitting_size(rows))

    def _fitting_size(self, rows: list[tuple[str, str]]) -> QSize:
        """Wide enough for the keys and the longest text (at most TEXT_MAX_PX, then wrapped),
        as tall as the rows need, within the screen."""
        metrics = self.table.fontMetrics()
        pad = 4 * metrics.horizontalAdvance("M")  # cell padding, grid, the vertical bar
        keys = max(metrics.horizontalAdvance(k) for k, _t in [*rows, ("Key", "")]) + pad
        texts = min(max(metrics.horizontalAdvance(t) for _k, t in rows) + pad, TEXT_MAX_PX)
        width = keys + texts + 40
        height = len(rows) * (metrics.height() + 12) + 120
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None:
            width = min(width, screen.width() - 40)
            height = min(height, screen.height() - 80)
        return QSize(width, height)
