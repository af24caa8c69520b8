"""The user screen's one dialog, in five shapes: add a user (name, role, password twice),
change a role, reset a password (twice), disable (a confirmation), and lift a lockout (asked
only when signed). When the project signs user changes (`[security.signatures] users = true`),
the admin's signature and its reason are asked in the same dialog.

It only collects and checks as you type (name given, passwords equal and long enough); the
command layer (`Commands.change_user`) checks the admin's role and the signature and the users
store refuses bad names and short passwords again. Opened with `open()` (non-modal:
`widgets.dialogs`), never `exec()`. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from hmi.commands import Signature
from hmi.security.roles import ROLES
from widgets.dialogs import NonModalDialog
from widgets.signature_fields import SignatureFields

TITLES = {"add": "Add a user", "role": "Change the role", "passwd": "Reset the password",
          "disable": "Disable the user", "unlock": "Lift the lockout"}
OK_TEXT = {"add": "Add", "role": "Change role", "passwd": "Set password", "disable": "Disable",
           "unlock": "Lift lockout"}


class UserDialog(NonModalDialog):
    """`change`: add | role | passwd | disable | unlock (asked only when signed); `name`: the
    user (fixed except for add)."""

    def __init__(self, change: str, name: str, role: str, min_length: int,
                 rule: bool | str = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UserDialog")
        self.setWindowTitle(TITLES[change])
        self.change = change
        self.min_length = min_length
        layout = QVBoxLayout(self)
        text = {
            "add": "A new user. Names are never reused: a user is disabled, not deleted.",
            "role": f"The role of {name}. It applies to their next action, even in a session "
                    "already open.",
            "passwd": f"A new password for {name}; tell them to change it (hmi users passwd).",
            "disable": f"Disable {name}? They can no longer log in or act; the name stays in "
                       "the audit trail and is never given to anyone else.",
            "unlock": f"Lift the lockout of {name} and forget their failed logins.",
        }[change]
        intro = QLabel(text, self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.name = QLineEdit(name, self)
        self.name.setObjectName("userName")
        self.name.setMaxLength(64)
        self.name.setReadOnly(change != "add")
        self.role = QComboBox(self)
        self.role.setObjectName("userRole")
        for item in ROLES:
            self.role.addItem(item, item)
        self.role.setCurrentIndex(max(0, self.role.findData(role or "operator")))
        self.password = self._secret("userPassword")
        self.repeat = self._secret("userRepeat")
        form.addRow("&User:", self.name)
        if change in ("add", "role"):
            form.addRow("&Role:", self.role)
        if change in ("add", "passwd"):
            form.addRow("&Password:", self.password)
            form.addRow("Re&peat:", self.repeat)
        self.reason = QLineEdit(self)
        self.reason.setObjectName("userReason")
        self.reason.textChanged.connect(self._on_text)
        self.fields: SignatureFields | None = None
        if rule:
            form.addRow("Rea&son:", self.reason)
        layout.addLayout(form)
        if rule:
            self.fields = SignatureFields(rule, self)
            self.fields.changed.connect(self._on_changed)
            layout.addWidget(self.fields)
        self.message = QLabel("", self)
        self.message.setObjectName("Muted")
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(OK_TEXT[change])
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.name.textChanged.connect(self._on_text)
        self.setMinimumWidth(420)
        self._on_changed()

    def _secret(self, name: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.textChanged.connect(self._on_text)
        return edit

    def _on_text(self, _text: str) -> None:
        self._on_changed()

    def problem(self) -> str | None:
        if not self.name.text().strip():
            return "enter a user name"
        if self.change in ("add", "passwd"):
            if len(self.password.text()) < self.min_length:
                return f"the password needs at least {self.min_length} characters"
            if self.password.text() != self.repeat.text():
                return "the two passwords differ"
        if self.fields is not None:
            if not self.reason.text().strip():
                return "a signed change needs a reason"
            if not self.fields.complete():
                return "the signature is incomplete"
        return None

    def _on_changed(self) -> None:
        why = self.problem()
        self.ok_button.setEnabled(why is None)
        self.message.setText(why or "")

    def choice(self) -> tuple[str, str, str]:
        """(name, role, password) as entered."""
        return self.name.text().strip(), str(self.role.currentData()), self.password.text()

    def signature(self) -> Signature | None:
        if self.fields is None:
            return None
        return self.fields.signature(self.reason.text().strip())

    def clear_secrets(self) -> None:
        for edit in (self.password, self.repeat):
            edit.clear()
        if self.fields is not None:
            self.fields.password.clear()
            self.fields.second_password.clear()
