"""User administration for admins ("users" in `hmi.gui.registry`): the station's users with
role, state and lockout; add, change role, reset password, disable, lift a lockout.

Every change goes through `Commands.change_user` (role "users", signature when the project
asks one), which the users store audits in the same transaction as the change, under the
admin's name. The list and the changes run in workers: adding a user or setting a password
hashes it (argon2, ~20 ms), and every change writes an audit entry with `synchronous=FULL`.
Anyone who is not an admin sees why not, not the list (user names are who can act on the
plant). A user is disabled, never deleted: names are never reused. GUI thread only.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from screens.user_dialogs import UserDialog

COLUMNS = ("User", "Role", "State", "Locked out until", "Created", "Created by")


def load_users(security: Any) -> list[dict[str, Any]]:
    """Worker: every user with their lockout (SQLite reads)."""
    now = time.time()
    rows = []
    for user in security.users.list():
        until = security.users.locked_until(user.name, now)
        rows.append({"name": user.name, "role": user.role, "enabled": user.enabled,
                     "locked_until": until, "created": user.created,
                     "created_by": user.created_by})
    return rows


def _local(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


class UsersScreen(QWidget):
    title = "Users"

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UsersScreen")
        self.context = context
        self.security = context.commands.security
        self.rows: list[dict[str, Any]] = []
        self.dialog: UserDialog | None = None
        self._dialog_change = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.notice = QLabel("", self)
        self.notice.setObjectName("UsersNotice")
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("UsersTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for change, text in (("add", "Add user…"), ("role", "Change role…"),
                             ("passwd", "Reset password…"), ("disable", "Disable…"),
                             ("unlock", "Lift lockout")):
            button = QPushButton(text, self)
            button.setObjectName(f"users_{change}")
            button.setProperty("change", change)
            button.clicked.connect(self._on_button)
            self.buttons[change] = button
            row.addWidget(button)
        row.addStretch(1)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)
        context.actor_changed.connect(self._on_actor)
        self.refresh()

    # ---- the list -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the users (registry contract: also after the user changed)."""
        why = self.context.why_not("users")
        self.table.setVisible(why is None)
        if why is not None:
            self.rows = []
            self.table.setRowCount(0)
            self.notice.setText(f"User administration is for admins: {why}.")
            self._update_buttons()
            return
        self.notice.setText("Users of this station. Changes are audited under your name; "
                            "a user is disabled, never deleted.")
        self.context.submit(load_users, self.security, slot=self._on_rows)

    def _on_rows(self, rows: list[dict[str, Any]]) -> None:
        if self.context.why_not("users") is not None:  # logged out while reading
            return
        selected = self.selected_name()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, user in enumerate(rows):
            state = "enabled" if user["enabled"] else "disabled"
            cells = (user["name"], user["role"], state, _local(user["locked_until"]),
                     _local(user["created"]), user["created_by"])
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, user["name"])
                self.table.setItem(r, c, item)
            if user["name"] == selected:
                self.table.selectRow(r)
        self._update_buttons()

    def selected_name(self) -> str:
        items = self.table.selectedItems()
        return str(items[0].data(Qt.ItemDataRole.UserRole)) if items else ""

    def select(self, name: str) -> None:
        for r, user in enumerate(self.rows):
            if user["name"] == name:
                self.table.selectRow(r)

    def _selected_row(self) -> dict[str, Any] | None:
        name = self.selected_name()
        return next((u for u in self.rows if u["name"] == name), None)

    def _update_buttons(self) -> None:
        why = self.context.why_not("users")
        user = self._selected_row()
        for change, button in self.buttons.items():
            reason = why
            if reason is None and change != "add":
                if user is None:
                    reason = "select a user first"
                elif change in ("role", "passwd", "disable") and not user["enabled"]:
                    reason = f"{user['name']} is disabled"
                elif change == "unlock" and not user["locked_until"]:
                    reason = f"{user['name']} is not locked out"
            button.setEnabled(reason is None)
            button.setToolTip(f"not possible: {reason}" if reason else "")

    def _on_actor(self, _actor: object) -> None:
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    # ---- changes --------------------------------------------------------------------------------
    def _on_button(self) -> None:
        button = self.sender()
        change = str(button.property("change")) if button is not None else ""
        if change:
            self.start(change)

    def start(self, change: str) -> None:
        """Open the dialog for `change` on the selected user (unlock asks nothing)."""
        user = self._selected_row()
        name = "" if change == "add" else user["name"] if user else ""
        if change != "add" and not name:
            return
        rule = self.context.commands.needs_signature("users")
        if change == "unlock" and not rule:
            self.send("unlock", name)
            return
        if self.dialog is not None:
            self.dialog.reject()
        dialog = UserDialog(change, name, user["role"] if user else "operator",
                            self.security.settings.min_password_length, rule, self)
        self.dialog, self._dialog_change = dialog, change
        dialog.finished.connect(self._on_dialog_finished)
        dialog.open()

    def _on_dialog_finished(self, result: int) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is None:
            return
        dialog.deleteLater()
        if result == UserDialog.DialogCode.Accepted.value:
            name, role, password = dialog.choice()
            self.send(self._dialog_change, name, role=role, password=password,
                      signature=dialog.signature())
        dialog.clear_secrets()

    def send(self, change: str, name: str, *, role: str = "", password: str = "",
             signature: Any = None) -> None:
        """The change in a worker; the answer in the notification line, then a fresh list."""
        keep_role = role if change in ("add", "role") else ""
        start = functools.partial(self.context.commands.change_user, self.context.actor,
                                  change, name, role=keep_role, password=password,
                                  signature=signature)
        self.context.submit(start, slot=self._on_done, error_slot=self._on_failed)

    def _on_done(self, text: str) -> None:
        self.context.notify(text)
        self.refresh()

    def _on_failed(self, exc: BaseException) -> None:
        self.context.notify(f"refused: {exc}", "warning")
        self.refresh()
