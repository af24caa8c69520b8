"""Who is at the station, in the GUI: log in, switch user, log out, lock and unlock, first admin,
and operator activity for the idle lock. The Qt side of `hmi.security.sessions`.

The core decides everything (passwords, lockout, who may unlock, what a locked session may do);
this controller only asks it from a worker (`context.submit`: every call hashes or writes an
audit entry with `synchronous=FULL`) and shows the answer: the actor goes into
`context.set_actor`, a lock or unlock into `context.recheck()` (same actor, different rights),
so every control re-asks `context.why_not` and disables itself with the reason.

Idle locks happen in the core's `hmi-security` thread (`SessionManager.tick`). Its listener
runs in that thread (or in whichever thread changed a session) and only emits `_session_event`,
connected *queued*, so the GUI applies the lock once, in the GUI thread, between two events
(never in the middle of a widget's `why_not`, which can itself trigger the lazy idle check).

Operator input (keys, clicks, wheel, touch anywhere in the application: an application event
filter) calls `security.touch(actor)` at most once every `TOUCH_EVERY_S` (a dict update under a
lock: no I/O). GUI thread only, except `_from_core`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from hmi.gui.login_dialogs import FirstAdminDialog, LoginDialog
from hmi.security.sessions import Session

log = logging.getLogger(__name__)
TOUCH_EVERY_S = 5.0  # activity reaches the core at most this often (shorter for tiny idle locks)
INPUT_EVENTS = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress,
                          QEvent.Type.Wheel, QEvent.Type.TouchBegin})


class ActivityFilter(QObject):
    """Application event filter: operator input restarts the idle timer. Cheap on purpose
    (one type test per event); it never consumes an event."""

    def __init__(self, controller: SessionController) -> None:
        super().__init__(controller)
        self._controller = controller

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS:
            self._controller.on_input()
        return False


class SessionController(QObject):
    """One per station window. `dialog` is the open credentials dialog (tests fill it in)."""

    changed = Signal()  # actor, lock state or "no users yet" changed (user area, session bar)
    locked = Signal(str)  # the session locked ("idle" | "request"): close the faceplates
    _session_event = Signal(object)  # Session, from any thread; connected queued

    def __init__(self, context: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.security = context.commands.security
        self.locked_reason = ""  # "" | "idle" | "request": the GUI's view of the lock
        self.locked_since = 0.0
        self.dialog: QDialog | None = None
        self._no_users = self.security.needs_first_admin()
        idle_s = self.security.settings.idle_lock_min * 60
        self.touch_every_s = min(TOUCH_EVERY_S, idle_s / 4) if idle_s > 0 else TOUCH_EVERY_S
        self._last_touch = 0.0
        self._guard = threading.Lock()
        self._closed = False
        self._session_event.connect(self._on_session_event, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = self.security.sessions.add_listener(self._from_core)
        self.activity = ActivityFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.activity)
        context.actor_changed.connect(self._on_actor)

    # ---- state ----------------------------------------------------------------------------------
    @property
    def actor(self) -> Any:
        return self.context.actor

    @property
    def is_locked(self) -> bool:
        return bool(self.locked_reason) and self.actor is not None

    @property
    def no_users(self) -> bool:
        """No user exists yet: the first login creates the admin."""
        return self._no_users

    def describe(self) -> str:
        """The header's line: who, with which role, and whether the session is locked."""
        actor = self.actor
        if actor is None:
            return "no users yet" if self._no_users else "nobody logged in"
        text = f"{actor.user} ({actor.role})"
        return f"{text} · LOCKED" if self.is_locked else text

    def _on_actor(self, actor: object) -> None:
        if actor is not None:  # someone logged in: users exist
            self._no_users = False
        self.changed.emit()

    # ---- what the header, the shortcuts and the app call ----------------------------------------
    def prompt(self) -> None:
        """At start: the first-admin dialog when there are no users, else the login dialog."""
        if self.actor is None:
            self.log_in()

    def log_in(self) -> None:
        """Ctrl+Shift+U and the header's button: unlock a locked session, create the first
        admin, log in, or switch user, whichever applies now."""
        if self._no_users:  # someone may have run `hmi users add` meanwhile
            self._no_users = self.security.needs_first_admin()
        if self.is_locked:
            self.unlock()
        elif self._no_users and self.actor is None:
            self._show(FirstAdminDialog(self.context, self.security.create_first_admin,
                                        self.security.settings.min_password_length,
                                        self._parent_widget()), self._on_first_admin)
        elif self.actor is None:
            self._show(LoginDialog(self.context, "Log in", "Log in to operate the plant. "
                                   "Values and alarms are shown without a login.",
                                   self.security.login, parent=self._parent_widget()),
                       self._on_logged_in)
        else:
            self.switch_user()

    def switch_user(self) -> None:
        """Another user logs in; the current session ends only once their password is right
        (from a locked session too: the next shift takes over a station its predecessor
        left locked, without gaining the predecessor's rights)."""
        actor = self.actor
        if actor is None:
            self.log_in()
            return
        who = f"{actor.user} ({actor.role})"
        prompt = (f"The session of {who} is locked. Log in as yourself to end it and take "
                  f"the station over." if self.is_locked else
                  f"Log in as another user; {who} is logged out once the password is right.")
        self._show(LoginDialog(self.context, "Switch user", prompt,
                               functools.partial(self.security.switch_user, actor),
                               ok_text="Switch", parent=self._parent_widget()),
                   self._on_logged_in)

    def unlock(self) -> None:
        actor = self.actor
        if actor is None or not self.is_locked:
            return
        self._show(LoginDialog(
            self.context, "Unlock",
            f"Session of {actor.user} ({actor.role}) locked. {actor.user} unlocks it, or a "
            f"user with a role above {actor.role} takes it over.",
            functools.partial(self.security.unlock, actor), name=actor.user,
            ok_text="Unlock", parent=self._parent_widget()), self._on_unlocked)

    def log_out(self) -> None:
        """Controls disable at once; the core ends the session (and audits it) in a worker."""
        actor = self.actor
        if actor is None:
            return
        self._close_dialog()
        self.locked_reason = ""
        self.context.set_actor(None)
        self.context.submit(self.security.logout, actor)
        self.context.notify(f"{actor.user} logged out")

    def lock(self, reason: str = "request") -> None:
        """Ctrl+Shift+L and the header's button: lock now. The station keeps annunciating;
        controls disable once the core has locked the session."""
        actor = self.actor
        if actor is None or self.is_locked:
            return
        self._apply_lock(reason)
        self.context.submit(self.security.lock, actor, reason, slot=self._on_core_locked,
                            error_slot=self._on_core_lock_failed)

    def log_in_as(self, name: str, password: str) -> None:
        """Log in without a dialog (the demo's operator); a refusal opens the login dialog."""
        self.context.submit(self.security.login, name, password, slot=self._on_logged_in,
                            error_slot=self._on_auto_login_failed)

    # ---- answers --------------------------------------------------------------------------------
    def _on_first_admin(self, actor: Any) -> None:
        self._no_users = False
        self._on_logged_in(actor)

    def _on_logged_in(self, actor: Any) -> None:
        self.locked_reason = ""
        self.context.set_actor(actor)
        self.context.recheck()  # the same actor object can come back after an unlock
        self.context.notify(f"{actor.user} ({actor.role}) logged in")

    def _on_unlocked(self, actor: Any) -> None:
        before = self.actor
        self.locked_reason = ""
        if before is not None and actor.user != before.user:
            self.context.notify(f"{actor.user} ({actor.role}) took over the session of "
                                f"{before.user}")
        else:
            self.context.notify(f"{actor.user} unlocked the session")
        self.context.set_actor(actor)
        self.context.recheck()

    def _on_auto_login_failed(self, exc: BaseException) -> None:
        self.context.notify(f"automatic login refused: {exc}", "warning")
        self.log_in()

    def _on_core_locked(self, _result: object) -> None:
        self.context.recheck()

    def _on_core_lock_failed(self, exc: BaseException) -> None:
        """The lock's audit entry failed (the core locked the session before writing it, so
        the controls are refused anyway): say so, re-check."""
        self.context.notify(f"session lock: {type(exc).__name__}: {exc}", "error")
        self.context.recheck()

    def _apply_lock(self, reason: str) -> None:
        self._close_dialog()
        self.locked_reason = reason or "request"
        self.locked_since = time.time()
        self.locked.emit(self.locked_reason)
        self.changed.emit()
        actor = self.actor
        why = (f"after {self.security.settings.idle_lock_min:g} min without input"
               if reason == "idle" else "on request")
        self.context.notify(f"session of {actor.user if actor else '?'} locked {why}: "
                            "values and alarms stay live, horn silence works")

    # ---- the core's session events (any thread) -------------------------------------------------
    def _from_core(self, session: Session) -> None:
        """Listener of `SessionManager`: runs in the thread that changed the session."""
        with self._guard:
            if not self._closed:
                self._session_event.emit(session)

    def _on_session_event(self, session: Session) -> None:
        actor = self.actor
        if actor is None or session.id != actor.session:
            return
        if session.state == "locked" and not self.locked_reason:
            self._apply_lock(session.locked_reason)  # once: later events find it locked
            self.context.recheck()

    # ---- activity -------------------------------------------------------------------------------
    def on_input(self) -> None:
        """A key, click, wheel or touch anywhere in the application (GUI thread)."""
        now = time.monotonic()
        if now - self._last_touch < self.touch_every_s:
            return
        self._last_touch = now
        actor = self.actor
        if actor is not None and not self.locked_reason:
            self.security.touch(actor)

    # ---- dialogs --------------------------------------------------------------------------------
    def _parent_widget(self) -> QWidget | None:
        parent = self.parent()
        return parent if isinstance(parent, QWidget) else None

    def _show(self, dialog: QDialog, on_success: Any) -> None:
        self._close_dialog()
        self.dialog = dialog
        dialog.succeeded.connect(on_success)
        dialog.finished.connect(self._on_dialog_finished)
        dialog.open()

    def _on_dialog_finished(self, _result: int) -> None:
        if self.sender() is self.dialog:
            self.dialog = None

    def _close_dialog(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None and dialog.isVisible() and not getattr(dialog, "busy", False):
            dialog.close()

    def shutdown(self) -> None:
        """Window closing: no more events from the core into this object."""
        with self._guard:
            self._closed = True
        self._unsubscribe()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.activity)
        self._close_dialog()
