"""The dialogs that ask who is there: log in, switch user, unlock, and the first admin.

Why every check runs in a worker: each one verifies (or makes) an argon2id hash, ~20 ms here and
more on a small panel PC, and writes audit entries with `synchronous=FULL`; the Qt thread must
keep annunciating meanwhile. The dialog disables itself, hands `attempt(name, password)` to
`context.submit`, and in the GUI thread either emits `succeeded(actor)` and closes, or shows the
core's message as it is (the same "wrong user name or password" for an unknown name and a wrong
password, the lockout with its end time, a disabled account) and asks again.

Why non-modal (`open()` is overridden, as the faceplate does): a login or unlock dialog stays
open while the operator reads the alarm banner, silences the horn or waits for a colleague; a
window-modal dialog would block all of that. Never `exec()` (qasync). GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from hmi.security.users import AuthError, UserError

Attempt = Callable[[str, str], Any]  # (name, password) -> Actor; runs in a worker


class _AskDialog(QDialog):
    """What the credential dialogs share: a message line, OK/Cancel, busy while checking."""

    succeeded = Signal(object)  # the Actor the attempt returned

    def __init__(self, context: Any, title: str, ok_text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.busy = False
        self.layout_ = QVBoxLayout(self)
        self.prompt = QLabel("", self)
        self.prompt.setWordWrap(True)
        self.layout_.addWidget(self.prompt)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.message = QLabel("", self)
        self.message.setObjectName("LoginMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # room for two lines from the start: the dialog does not jump when a message comes
        self.message.setMinimumHeight(2 * self.message.fontMetrics().lineSpacing() + 14)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.message.setMargin(5)  # inside the error outline (QSS padding is not honoured)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

    def _finish_layout(self) -> None:
        self.layout_.addWidget(self.message)
        self.layout_.addWidget(self.buttons)
        self.setMinimumWidth(420)

    def open(self) -> None:
        """Non-modal: the station behind stays usable (see the module docstring)."""
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.show()
        self.raise_()
        self.activateWindow()

    def say(self, text: str, level: str = "error") -> None:
        self.message.setText(text)
        self.message.setProperty("level", level)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def _fields(self) -> list[QWidget]:
        return []

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        for widget in (*self._fields(), self.buttons):
            widget.setEnabled(not busy)
        if busy:
            self.say("checking…", "info")

    def run(self, attempt: Attempt, name: str, password: str) -> None:
        """Hand the check to a worker; the answer comes back in the GUI thread."""
        self.set_busy(True)
        self.context.submit(attempt, name, password, slot=self._on_success,
                            error_slot=self._on_failure)

    def _on_success(self, actor: Any) -> None:
        self.set_busy(False)
        self.say("", "info")
        self.succeeded.emit(actor)
        self.accept()

    def _on_failure(self, exc: BaseException) -> None:
        self.set_busy(False)
        if isinstance(exc, AuthError | UserError):
            self.say(str(exc))  # the core's words: never more specific than it chose to be
        else:
            self.say(f"{type(exc).__name__}: {exc}")
        self._after_failure()

    def _after_failure(self) -> None:
        """Clear what must be typed again."""

    def reject(self) -> None:
        if not self.busy:  # an answer on its way would log someone in behind a closed dialog
            super().reject()

    def submit(self) -> None:
        raise NotImplementedError


class LoginDialog(_AskDialog):
    """User name + password for log in, switch user and unlock (`attempt` decides which)."""

    def __init__(self, context: Any, title: str, prompt: str, attempt: Attempt, *,
                 name: str = "", ok_text: str = "Log in", parent: QWidget | None = None
                 ) -> None:
        super().__init__(context, title, ok_text, parent)
        self.setObjectName("LoginDialog")
        self.attempt = attempt
        self.prompt.setText(prompt)
        self.user = QLineEdit(name, self)
        self.user.setObjectName("loginUser")
        self.user.setMaxLength(64)
        self.password = QLineEdit(self)
        self.password.setObjectName("loginPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow("&User:", self.user)
        self.form.addRow("&Password:", self.password)
        self._finish_layout()
        (self.password if name else self.user).setFocus()

    def _fields(self) -> list[QWidget]:
        return [self.user, self.password]

    def submit(self) -> None:
        name, password = self.user.text().strip(), self.password.text()
        if not name or not password:
            self.say("enter your user name and password")
            return
        self.run(self.attempt, name, password)

    def _after_failure(self) -> None:
        self.password.clear()
        self.password.setFocus()

    def _on_success(self, actor: Any) -> None:
        self.password.clear()
        super()._on_success(actor)


class FirstAdminDialog(_AskDialog):
    """No user exists yet: make the first one, an admin, and log them in. There is no default
    account (issue 14); this admin adds the others."""

    def __init__(self, context: Any, attempt: Attempt, min_length: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(context, "Create the first administrator", "Create and log in",
                         parent)
        self.setObjectName("FirstAdminDialog")
        self.attempt = attempt
        self.min_length = min_length
        self.prompt.setText(
            "This station has no users yet, and no default account. Create the first "
            "administrator; they add the other users (Users screen, or hmi users add). "
            f"Passwords need at least {min_length} characters; any characters count.")
        self.user = QLineEdit(self)
        self.user.setObjectName("adminUser")
        self.user.setMaxLength(64)
        self.password = self._secret("adminPassword")
        self.repeat = self._secret("adminRepeat")
        self.form.addRow("&User name:", self.user)
        self.form.addRow("&Password:", self.password)
        self.form.addRow("&Repeat:", self.repeat)
        self.user.textChanged.connect(self._on_text)
        self._finish_layout()
        self._on_text("")
        self.user.setFocus()

    def _secret(self, name: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.textChanged.connect(self._on_text)
        return edit

    def _fields(self) -> list[QWidget]:
        return [self.user, self.password, self.repeat]

    def problem(self) -> str | None:
        """What keeps OK disabled, as you type (the core checks again)."""
        if not self.user.text().strip():
            return "enter a user name"
        if len(self.password.text()) < self.min_length:
            return f"the password needs at least {self.min_length} characters"
        if self.password.text() != self.repeat.text():
            return "the two passwords differ"
        return None

    def _on_text(self, _text: str) -> None:
        if self.busy:
            return
        why = self.problem()
        self.ok_button.setEnabled(why is None)
        self.say(why or "", "info")

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        if not busy:
            self.ok_button.setEnabled(self.problem() is None)

    def submit(self) -> None:
        if self.problem() is None:
            self.run(self.attempt, self.user.text().strip(), self.password.text())

    def _after_failure(self) -> None:
        self.user.setFocus()

    def _on_success(self, actor: Any) -> None:
        self.password.clear()
        self.repeat.clear()
        super()._on_success(actor)
