"""Every keyboard shortcut of the station, in one table: the main window binds it, F1 shows it,
the README lists it. Everything works without a mouse.

GUI thread only (the help dialog).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# (key sequence, MainWindow method, what it does)
SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    ("F1", "show_help", "this list of shortcuts"),
    ("F2", "go_alarms", "alarm summary"),
    ("F3", "go_overview", "overview (L1)"),
    ("F4", "go_journal", "alarm journal"),
    ("F6", "go_trends", "trends"),
    ("F7", "go_diagnostics", "diagnostics (L4)"),
    ("F8", "ack_selected", "acknowledge the selected alarm (summary, else banner)"),
    ("F9", "silence_horn", "silence the horn (alarms stay unacknowledged)"),
    ("Alt+Left", "go_back", "back"),
    ("Alt+Right", "go_forward", "forward"),
    ("Alt+Up", "go_up", "up the asset tree (unit -> line -> overview)"),
    ("Ctrl+F", "ask_faceplate", "open the faceplate of a tag by name"),
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


class HelpDialog(QDialog):
    """F1: the shortcut table. Opened with `open()`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        layout = QVBoxLayout(self)
        rows = [(key, text) for key, _method, text in SHORTCUTS] + list(WIDGET_KEYS)
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
