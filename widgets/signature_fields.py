"""Electronic signature fields for an action dialog: the user's password and meaning, and for a
"double" signature a second user with their password (issue 14's `[security.signatures]`).

Why fields inside the action's own dialog and not a dialog of their own: the alarm dialogs
already ask for the reason the signature binds (shelve reason, out-of-service reason, comment),
so the operator answers one dialog, not two. The password is checked by the command layer in a
worker (argon2 takes ~20 ms: never on the Qt thread); here the fields only refuse to be empty.

GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLineEdit, QWidget

from hmi.commands import Signature
from hmi.security.roles import MEANINGS


class SignatureFields(QGroupBox):
    """`rule`: True (one signer) or "double" (a second, different user approves)."""

    changed = Signal()

    def __init__(self, rule: bool | str, parent: QWidget | None = None) -> None:
        double = rule == "double"
        super().__init__("Double electronic signature" if double else "Electronic signature",
                         parent)
        self.setObjectName("signatureFields")
        self.double = double
        form = QFormLayout(self)
        self.meaning = QComboBox(self)
        self.meaning.setObjectName("signatureMeaning")
        for meaning in MEANINGS:
            self.meaning.addItem(meaning, meaning)
        form.addRow("&Meaning:", self.meaning)
        self.password = self._secret("signaturePassword")
        form.addRow("Your &password:", self.password)
        self.second_user = QLineEdit(self)
        self.second_user.setObjectName("signatureSecondUser")
        self.second_password = self._secret("signatureSecondPassword")
        if double:
            self.second_user.textChanged.connect(self._on_changed)
            form.addRow("Second &user:", self.second_user)
            form.addRow("Second pass&word:", self.second_password)
        else:
            self.second_user.hide()
            self.second_password.hide()

    def _secret(self, name: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.textChanged.connect(self._on_changed)
        return edit

    def _on_changed(self, _text: str) -> None:
        self.changed.emit()

    def complete(self) -> bool:
        if not self.password.text():
            return False
        return not self.double or bool(self.second_user.text().strip()
                                       and self.second_password.text())

    def signature(self, reason: str) -> Signature:
        return Signature(self.meaning.currentData(), reason, self.password.text(),
                         self.second_user.text().strip() if self.double else "",
                         self.second_password.text() if self.double else "")
