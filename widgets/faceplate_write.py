"""The faceplate's write section: enter a value, confirm old -> new, send it off the GUI
thread, show what the read-back said.

Flow: the entry refuses NaN and out-of-range input as you type (`SetpointEntry`); "Write…" opens
a confirmation (a non-modal `QMessageBox` + `finished`, never `exec()`: qasync) naming the tag, old
value -> new value with units; on Yes the write goes through `context.commands.write` (role
check, audit, then `Runtime.submit_write` in the device's thread) and the future's outcome comes
back through `context.when_done` in the GUI thread: "confirmed" (with the read-back value),
"rejected: <reason>" or "timed out". Bool tags get two buttons (ON / OFF) that go through the
same confirmation. A tag with `signature = true | "double"` asks for the electronic signature
instead of the plain confirmation (`SignatureDialog`: old -> new, reason, password, meaning,
second signer); the command starts in a worker (its audit entry is written with
`synchronous=FULL`, the signature's passwords are hashed), and a refusal ("denied: ...") is shown
like any other result. Controls the user may not use are disabled with the reason as tooltip.
GUI thread only.
"""

from __future__ import annotations

import functools
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from widgets.dialogs import open_nonmodal
from widgets.formatting import format_number
from widgets.setpoint_entry import SetpointEntry
from widgets.signature_dialog import SignatureDialog

INTEGER_TYPES = ("int16", "uint16", "int32", "uint32")


class WriteSection(QWidget):
    """Entry + Write… + result line for one writable tag."""

    write_finished = Signal(object)  # WriteResult, after the result is shown

    def __init__(self, context: Any, tag: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tag = tag
        self.cfg = context.meta.tag(tag)
        self.is_bool = self.cfg is not None and self.cfg.type == "bool"
        self.pending: Any = None  # the value awaiting confirmation
        self.confirm: QMessageBox | None = None
        self.sign_dialog: SignatureDialog | None = None  # a signed tag's confirmation
        self.last_result: Any = None  # drivers.base.WriteResult (widgets don't import drivers)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.entry: SetpointEntry | None = None
        self.on_button: QPushButton | None = None
        self.off_button: QPushButton | None = None
        unit = self.cfg.unit if self.cfg is not None else ""
        if self.is_bool:
            self.on_button = QPushButton("ON…", self)
            self.off_button = QPushButton("OFF…", self)
            self.on_button.clicked.connect(self._on_on)
            self.off_button.clicked.connect(self._on_off)
            row.addWidget(QLabel("Command:", self))
            row.addWidget(self.on_button)
            row.addWidget(self.off_button)
            row.addStretch(1)
        else:
            integer = self.cfg is not None and self.cfg.type in INTEGER_TYPES
            low = self.cfg.min if self.cfg is not None else None
            high = self.cfg.max if self.cfg is not None else None
            self.entry = SetpointEntry(low, high, integer, self)
            self.entry.setAccessibleName(f"new value for {tag}")
            self.entry.returnPressed.connect(self.request_write)
            self.entry.textChanged.connect(self._on_text)
            row.addWidget(QLabel("New value:", self))
            row.addWidget(self.entry, 1)
            if unit:
                row.addWidget(QLabel(unit, self))
            self.write_button = QPushButton("Write…", self)
            self.write_button.clicked.connect(self.request_write)
            row.addWidget(self.write_button)
        layout.addLayout(row)
        reason_row = QHBoxLayout()
        signed = context.commands.needs_signature("write", tag)
        reason_row.addWidget(QLabel("Reason (signed write: required):" if signed
                                    else "Reason (optional):", self))
        self.reason = QLineEdit(self)
        self.reason.setMaxLength(200)
        reason_row.addWidget(self.reason, 1)
        layout.addLayout(reason_row)
        self.result_label = QLabel("", self)
        self.result_label.setObjectName("WriteResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result_label)
        context.actor_changed.connect(self._on_actor)
        self._on_actor(context.actor)

    # ---- permissions ------------------------------------------------------------------------
    def _controls(self) -> list[QWidget]:
        if self.is_bool:
            return [b for b in (self.on_button, self.off_button) if b is not None]
        return [w for w in (self.entry, self.write_button) if w is not None]

    def _on_actor(self, _actor: object) -> None:
        why = self.context.why_not("write", self.tag)
        for control in self._controls():
            control.setEnabled(why is None)
            control.setToolTip(f"not allowed: {why}" if why else "")
        self.reason.setEnabled(why is None)
        if not self.is_bool:
            self._on_text(self.entry.text() if self.entry is not None else "")

    def _on_text(self, _text: str) -> None:
        if self.entry is not None and self.context.why_not("write", self.tag) is None:
            ok = self.entry.hasAcceptableInput()
            self.write_button.setEnabled(ok)
            self.write_button.setToolTip("" if ok else "enter a value within the range first")

    # ---- the write ----------------------------------------------------------------------------
    def _on_on(self) -> None:
        self.request_write(True)

    def _on_off(self) -> None:
        self.request_write(False)

    def current_text(self) -> str:
        sample = self.context.bridge.current.get(self.tag)
        if sample is None or sample.quality.name == "BAD":
            return "BAD (unknown)"
        return format_number(sample.value, self.cfg, with_unit=True)

    def request_write(self, value: Any = None) -> None:
        """Validate, then ask for confirmation (non-blocking)."""
        why = self.context.why_not("write", self.tag)
        if why is not None:
            self.show_result(f"not allowed: {why}", "rejected")
            return
        if value is None or not isinstance(value, bool):
            if self.entry is None or self.entry.value() is None:
                self.show_result("enter a value within the range first", "rejected")
                return
            value = self.entry.value()
        self.pending = value
        # asked on the next turn of the event loop: the Return that got us here is still being
        # delivered, and a QDialog ancestor would hand it to the new box's default button
        QTimer.singleShot(0, self._ask)

    def _ask(self) -> None:
        if self.pending is None or self.confirm is not None or self.sign_dialog is not None:
            return
        new_text = format_number(self.pending, self.cfg, with_unit=True)
        rule = self.context.commands.needs_signature("write", self.tag)
        if rule:  # the signature dialog is the confirmation, with the reason it binds
            dialog = SignatureDialog(
                "Sign the write", f"Write {self.tag}?\n\n{self.current_text()}  →  {new_text}",
                rule, self.reason.text().strip(), "Sign and write", self)
            dialog.finished.connect(self._on_sign_finished)
            self.sign_dialog = dialog
            dialog.open()
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Confirm write",
                          f"Write {self.tag}?\n\n{self.current_text()}  →  {new_text}",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.button(QMessageBox.StandardButton.Yes).setText("Write")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(self._on_confirm_finished)
        self.confirm = box
        open_nonmodal(box)

    def _on_confirm_finished(self, result: int) -> None:
        box, self.confirm = self.confirm, None
        if box is not None:
            box.deleteLater()
        if result != QMessageBox.StandardButton.Yes.value:
            self.show_result("write cancelled", "")
            self.pending = None
            return
        self.send(self.pending)

    def _on_sign_finished(self, result: int) -> None:
        dialog, self.sign_dialog = self.sign_dialog, None
        if dialog is None:
            return
        dialog.deleteLater()
        if result != SignatureDialog.DialogCode.Accepted.value:
            dialog.clear_secrets()
            self.show_result("write cancelled", "")
            self.pending = None
            return
        signature = dialog.signature()
        dialog.clear_secrets()
        self.reason.setText(signature.reason)
        self.send(self.pending, signature)

    def send(self, value: Any, signature: Any = None) -> None:
        """Send `value` without asking (after confirmation; tests call it directly).

        The command starts in a worker: it writes the "requested" audit entry
        (`synchronous=FULL`) and checks a signature's passwords (argon2, ~20 ms a signer)
        before the device is touched; the read-back then comes back through `when_done`."""
        self.pending = None
        shown = format_number(value, self.cfg, with_unit=True)
        self.show_result(f"checking the signature, then sending {shown}…" if signature
                         else f"sending {shown}…", "sending")
        start = functools.partial(self.context.commands.write, self.context.actor, self.tag,
                                  value, reason=self.reason.text().strip(), signature=signature)
        self.context.submit(start, slot=self._on_write_started, error_slot=self._on_write_error)

    def _on_write_started(self, future: Any) -> None:
        self.context.when_done(future, self._on_write_done, self._on_write_error)

    def _on_write_done(self, result: Any) -> None:
        self.last_result = result
        if result.status == "confirmed":  # WriteStatus is a StrEnum
            read_back = format_number(result.value, self.cfg, with_unit=True)
            self.show_result(f"confirmed: {self.tag} reads back {read_back}", "confirmed")
        elif result.status == "timed out":
            self.show_result(f"timed out: {result.message or 'no read-back in time'}",
                             "timed out")
        elif getattr(result, "refused", ""):  # never sent: "denied: <why>", "invalid: <why>"
            self.show_result(result.message, "rejected")
        else:
            self.show_result(f"rejected: {result.message}", "rejected")
        self.write_finished.emit(result)

    def _on_write_error(self, exc: BaseException) -> None:
        self.show_result(f"rejected: {type(exc).__name__}: {exc}", "rejected")
        self.write_finished.emit(None)

    def show_result(self, text: str, outcome: str) -> None:
        self.result_label.setText(text)
        self.result_label.setProperty("outcome", outcome)
        self.result_label.style().unpolish(self.result_label)
        self.result_label.style().polish(self.result_label)
