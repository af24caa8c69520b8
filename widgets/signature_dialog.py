"""The electronic signature asked at the moment of a signed action (a faceplate write to a tag
with `signature = true | "double"`, or an alarm action listed in `[security.signatures]` that
has no dialog of its own).

It is also the confirmation: it names the action (tag, old value -> new value with units) and
collects the reason the signature binds, the signer's password and meaning (performed /
reviewed / approved) and, for "double", a second user (`SignatureFields`, shared with the alarm
dialogs). It only collects; the command layer verifies the passwords in a worker and refuses a
blank reason, a wrong password or another user's. Opened with `open()` + `finished`, never
`exec()` (qasync), and non-modal (`widgets.dialogs`: the horn can be silenced meanwhile).
GUI thread only.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from hmi.commands import Signature
from hmi.security.signatures import describe
from widgets.dialogs import NonModalDialog
from widgets.signature_fields import SignatureFields


class SignatureDialog(NonModalDialog):
    """`summary`: what is signed, in words the signer checks ("Write X: 1.0 % -> 2.0 %")."""

    def __init__(self, title: str, summary: str, rule: bool | str, reason: str = "",
                 ok_text: str = "Sign", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SignatureDialog")
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        what = QLabel(summary, self)
        what.setObjectName("SignatureSummary")
        what.setWordWrap(True)
        font = what.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        what.setFont(font)
        layout.addWidget(what)
        layout.addSpacing(4)
        note = QLabel(f"This action needs {describe(rule)}. The signature goes into the audit "
                      "trail with the action.", self)
        note.setObjectName("Muted")
        note.setWordWrap(True)
        layout.addWidget(note)
        form = QFormLayout()
        self.reason = QLineEdit(reason, self)
        self.reason.setObjectName("signatureReason")
        self.reason.setPlaceholderText("required: why")
        self.reason.setMaxLength(200)
        self.reason.textChanged.connect(self._on_text)
        form.addRow("&Reason:", self.reason)
        layout.addLayout(form)
        self.fields = SignatureFields(rule, self)
        self.fields.changed.connect(self._on_changed)
        layout.addWidget(self.fields)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(440)
        self._on_changed()
        (self.fields.password if reason else self.reason).setFocus()

    def _on_text(self, _text: str) -> None:
        self._on_changed()

    def _on_changed(self) -> None:
        reason = bool(self.reason.text().strip())
        signed = self.fields.complete()
        self.ok_button.setEnabled(reason and signed)
        self.ok_button.setToolTip("" if reason and signed else "a reason is required"
                                  if not reason else "the signature is incomplete")

    def signature(self) -> Signature:
        return self.fields.signature(self.reason.text().strip())

    def clear_secrets(self) -> None:
        """After use: the passwords leave the widgets (they were handed to the command)."""
        self.fields.password.clear()
        self.fields.second_password.clear()
