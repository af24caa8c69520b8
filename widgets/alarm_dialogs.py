"""Small dialogs for alarm actions: shelve (duration + reason) and text (comment, reason), with
electronic signature fields when the project asks a signature for the action.

Opened with `open()` and answered through `finished` (never `exec()`: a nested event loop
inside qasync re-enters coroutines), and non-modal (`widgets.dialogs`: the station, its horn
silence above all, stays usable while one is open). They only collect input; the caller sends
the command, and the alarm manager validates again (the cap and the mandatory reason hold for
the CLI too).

GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from hmi.commands import Signature
from widgets.dialogs import NonModalDialog
from widgets.signature_fields import SignatureFields


def _signature_fields(rule: bool | str, dialog: QDialog, layout: QVBoxLayout,
                      slot: Callable[[], None]) -> SignatureFields | None:
    """Signature fields under the dialog's own fields when the action needs a signature."""
    if not rule:
        return None
    fields = SignatureFields(rule, dialog)
    fields.changed.connect(slot)
    layout.addWidget(fields)
    return fields


def _describe(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    shown = ", ".join(names[:3])
    return f"{len(names)} alarms ({shown}{', ...' if len(names) > 3 else ''})"


class ShelveDialog(NonModalDialog):
    """Shelve for N minutes (at most the alarm's maximum, `whose` says which) or one-shot,
    with a reason."""

    def __init__(self, names: list[str], default_min: float, max_min: float,
                 parent: QWidget | None = None, signature: bool | str = False,
                 whose: str = "the project's") -> None:
        super().__init__(parent)
        self.setObjectName("shelveDialog")
        self.setWindowTitle("Shelve alarm")
        self.names = list(names)
        self.max_min = max_min
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Shelve {_describe(self.names)}"))
        form = QFormLayout()
        self.minutes = QDoubleSpinBox()
        self.minutes.setObjectName("shelveMinutes")
        self.minutes.setDecimals(0)
        self.minutes.setRange(1, max_min)
        self.minutes.setValue(min(default_min, max_min))
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip(f"at most {max_min:g} min ({whose} maximum)")
        form.addRow("&Duration:", self.minutes)
        self.one_shot = QCheckBox("until it returns to &normal (one-shot)")
        self.one_shot.setObjectName("shelveOneShot")
        self.one_shot.toggled.connect(self._on_one_shot)
        form.addRow("", self.one_shot)
        self.reason = QLineEdit()
        self.reason.setObjectName("shelveReason")
        self.reason.setPlaceholderText("required: why is it shelved?")
        self.reason.textChanged.connect(self._on_reason)
        form.addRow("&Reason:", self.reason)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"Maximum {max_min:g} min ({whose}); the alarm returns by "
                                "itself."))
        self.signature_fields = _signature_fields(signature, self, layout, self._on_changed)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Shelve")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._on_changed()
        self.reason.setFocus()

    def _on_one_shot(self, checked: bool) -> None:
        self.minutes.setEnabled(not checked)

    def _on_reason(self, _text: str) -> None:
        self._on_changed()

    def _on_changed(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        reason = bool(self.reason.text().strip())
        signed = self.signature_fields is None or self.signature_fields.complete()
        ok.setEnabled(reason and signed)
        ok.setToolTip("" if reason and signed else
                      "a reason is required" if not reason else "the signature is incomplete")

    def choice(self) -> tuple[float | None, str]:
        """(minutes or None for one-shot, reason)."""
        minutes = None if self.one_shot.isChecked() else float(self.minutes.value())
        return minutes, self.reason.text().strip()

    def signature(self) -> Signature | None:
        """The signature the operator gave (the shelve reason is what it signs), if asked."""
        if self.signature_fields is None:
            return None
        return self.signature_fields.signature(self.reason.text().strip())


class TextDialog(NonModalDialog):
    """A question with one line of text: an optional comment or a required reason."""

    def __init__(self, title: str, prompt: str, ok_text: str, required: bool,
                 parent: QWidget | None = None, placeholder: str = "",
                 signature: bool | str = False) -> None:
        super().__init__(parent)
        self.setObjectName("alarmTextDialog")
        self.setWindowTitle(title)
        self.required = required or bool(signature)  # a signature binds a reason
        layout = QVBoxLayout(self)
        label = QLabel(prompt)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.text = QLineEdit()
        self.text.setObjectName("alarmDialogText")
        self.text.setPlaceholderText("required" if self.required and not required else
                                     placeholder or ("required" if required else "optional"))
        self.text.textChanged.connect(self._on_text)
        layout.addWidget(self.text)
        self.signature_fields = _signature_fields(signature, self, layout, self._on_changed)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._on_changed()
        self.text.setFocus()

    def _on_text(self, _text: str) -> None:
        self._on_changed()

    def _on_changed(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        text = bool(self.text.text().strip()) or not self.required
        signed = self.signature_fields is None or self.signature_fields.complete()
        ok.setEnabled(text and signed)

    def value(self) -> str:
        return self.text.text().strip()

    def signature(self) -> Signature | None:
        if self.signature_fields is None:
            return None
        return self.signature_fields.signature(self.value())
