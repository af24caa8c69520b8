"""Every keyboard shortcut of the station, in one table: the main window binds it, F1 shows it,
the README lists it. Everything works without a mouse.

One key, one meaning at a time: a screen's own key (e.g. the alarm summary's Ctrl+F, focus
the filter) that is also a window key here is taken over by the main window, which triggers
the screen's action while that screen is shown (`MainWindow._adopt_keys`): Qt would otherwise
see two shortcuts for one key and fire neither. A test checks no other key is bound twice.

GUI thread only (the help dialog).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialogButtonBox,
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
        table.setHorizontalHeaderLabels(["Key", "Does"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (key, text) in enumerate(rows):
            table.setItem(row, 0, QTableWidgetItem(key))
            table.setItem(row, 1, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 520)
