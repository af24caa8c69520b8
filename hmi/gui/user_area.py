"""The user in the header, and the session bar under it.

`UserArea` (hosted by the header, always visible): who is logged in and with which role, or
"nobody logged in", with the buttons for log in / switch user / unlock, lock and log out.
`SessionBar` (under the header, shown only when it matters): a locked session (who, since when,
Unlock / Switch user), a station nobody is logged in to (read-only, Log in), or one with no users
yet (Create the first admin). Grey and text only, a heavy outline when locked: ISA-101 keeps
colour for alarms.

Both only read `SessionController` and call it; they decide nothing. GUI thread only.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from hmi.gui.session import SessionController


def _restyle(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class UserArea(QWidget):
    """`session=None` (a window built without one): the label only."""

    def __init__(self, context: Any, session: SessionController | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UserArea")
        self.context = context
        self.session = session
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        self.label = QLabel("", self)
        self.label.setObjectName("UserLabel")
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight)
        column.addWidget(self.label)
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addStretch(1)
        self.login_button = self._button("Log in…", "UserLogin")
        self.lock_button = self._button("Lock", "UserLock")
        self.logout_button = self._button("Log out", "UserLogout")
        for button in (self.login_button, self.lock_button, self.logout_button):
            row.addWidget(button)
        column.addLayout(row)
        if session is not None:
            self.login_button.clicked.connect(session.log_in)
            self.lock_button.clicked.connect(self._on_lock)
            self.logout_button.clicked.connect(session.log_out)
            session.changed.connect(self.update_state)
        else:
            for button in (self.login_button, self.lock_button, self.logout_button):
                button.hide()
        context.actor_changed.connect(self._on_actor)
        self.update_state()

    def _button(self, text: str, name: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setObjectName(name)
        return button

    def _on_actor(self, _actor: object) -> None:
        self.update_state()

    def _on_lock(self) -> None:
        if self.session is not None:
            self.session.lock()

    def update_state(self) -> None:
        session = self.session
        actor = self.context.actor
        if session is None:
            self.label.setText(f"{actor.user} ({actor.role})" if actor else "nobody logged in")
            return
        self.label.setText(session.describe())
        locked = session.is_locked
        self.label.setProperty("locked", locked)
        _restyle(self.label)
        idle = session.security.settings.idle_lock_min
        self.label.setToolTip(
            "" if actor is None else
            f"{actor.user}, role {actor.role}" + (f"; the session locks after {idle:g} min "
                                                  "without input" if idle else ""))
        if locked:
            text, tip = "Unlock…", "unlock (the same user, or a higher role takes over)"
        elif actor is None:
            text, tip = (("Create admin…", "no users yet: create the first administrator")
                         if session.no_users else ("Log in…", "log in (Ctrl+Shift+U)"))
        else:
            text, tip = "Switch user…", "another user logs in (Ctrl+Shift+U)"
        self.login_button.setText(text)
        self.login_button.setToolTip(tip)
        self.lock_button.setEnabled(actor is not None and not locked)
        self.lock_button.setToolTip("lock the session now (Ctrl+Shift+L); values and alarms "
                                    "stay live" if actor is not None else "nobody logged in")
        self.logout_button.setEnabled(actor is not None and not locked)
        self.logout_button.setToolTip(
            "log out: the station stays read-only" if actor is not None and not locked else
            "a locked session is unlocked or taken over, not logged out" if locked else
            "nobody logged in")


class SessionBar(QFrame):
    """The strip under the header that says why the controls are disabled, with the way out."""

    def __init__(self, session: SessionController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SessionBar")
        self.session = session
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.text = QLabel("", self)
        self.text.setObjectName("SessionText")
        self.text.setWordWrap(True)
        row.addWidget(self.text, 1)
        self.primary = QToolButton(self)
        self.primary.setObjectName("SessionPrimary")
        self.primary.clicked.connect(session.log_in)
        row.addWidget(self.primary)
        self.switch = QToolButton(self)
        self.switch.setObjectName("SessionSwitch")
        self.switch.setText("Switch user…")
        self.switch.setToolTip("log in as yourself: the locked session ends")
        self.switch.clicked.connect(session.switch_user)
        row.addWidget(self.switch)
        self.state = ""
        session.changed.connect(self.update_state)
        self.update_state()

    def update_state(self) -> None:
        session = self.session
        actor = session.actor
        if session.is_locked and actor is not None:
            since = time.strftime("%H:%M", time.localtime(session.locked_since))
            idle = session.security.settings.idle_lock_min
            why = (f"after {idle:g} min without input" if session.locked_reason == "idle"
                   else "on request")
            self.state = "locked"
            self.text.setText(
                f"<b>Session locked</b> at {since} {why}: {actor.user} ({actor.role}). "
                "Values, alarms and horn silence stay live; controls are disabled.")
            self.primary.setText("Unlock…")
            self.primary.setToolTip(f"{actor.user}, or a user with a role above {actor.role}")
            self.switch.show()
        elif actor is None:
            self.state = "nobody"
            if session.no_users:
                self.text.setText("<b>No users yet.</b> Create the first administrator to "
                                  "operate the plant; values and alarms are shown meanwhile.")
                self.primary.setText("Create admin…")
            else:
                self.text.setText("<b>Read-only:</b> nobody is logged in. Values, alarms and "
                                  "horn silence work; log in to operate.")
                self.primary.setText("Log in…")
            self.primary.setToolTip("Ctrl+Shift+U")
            self.switch.hide()
        else:
            self.state = ""
        self.setProperty("state", self.state)
        _restyle(self)
        self.setVisible(bool(self.state))
