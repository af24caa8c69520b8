"""Sessions: who is logged in at this station, and whether their controls are usable now.

Model (what the GUI dialogs wrap): `login` opens a session and returns an `Actor` carrying its
id. A session is *active*, *locked* or *ended*. It locks after `idle_lock_min` minutes without
`touch()` (any operator input, reported by the GUI) or on request (`lock`); a locked session
keeps nothing usable but what needs no login (alarm banner, counts, horn silence, values: the
GUI keeps those). `unlock` needs the same user's password (the session resumes) or the password
of a user with a *higher* role (the session passes to them, the old one ends). `switch_user`
ends the session and opens one for another user. The command layer asks `check()` before every
action, so an actor kept from a locked or ended session cannot replay a write.

In-memory and per process: a station's GUI sessions die with it; the CLI opens one per command.
Thread-safe (one lock); idle locking happens lazily in `check()` and in `tick()`, which the
station's security thread calls every cycle so the GUI learns of an idle lock via listeners.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from hmi.security.audit import AuditTrail
from hmi.security.config import SecuritySettings
from hmi.security.roles import Actor, role_rank
from hmi.security.users import AuthError, UserStore

SessionListener = Callable[["Session"], None]


@dataclass(frozen=True)
class Session:
    id: str
    user: str
    role: str
    origin: str  # gui | cli | station
    started: float
    last_activity: float
    state: str = "active"  # active | locked | ended
    locked_reason: str = ""  # "idle" | "request"

    @property
    def actor(self) -> Actor:
        return Actor(self.user, self.role, self.id)


class SessionManager:
    def __init__(self, users: UserStore, audit: AuditTrail, settings: SecuritySettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.users = users
        self.audit = audit
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._listeners: list[SessionListener] = []

    def add_listener(self, fn: SessionListener) -> Callable[[], None]:
        """`fn(session)` after each state change (login, lock, unlock, logout), in the thread
        that caused it (for idle locks: the station's `hmi-security`). Returns the unsubscribe."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def _notify(self, session: Session) -> None:
        for fn in list(self._listeners):
            fn(session)

    def get(self, session_id: str) -> Session | None:
        with self._lock:
            return self._sessions.get(session_id)

    def active(self) -> list[Session]:
        with self._lock:
            return [s for s in self._sessions.values() if s.state != "ended"]

    # ---- opening and closing -----------------------------------------------------------------
    def login(self, name: str, password: str, origin: str = "gui") -> Session:
        """Raises AuthError (audited). Hashes: call from a worker thread."""
        user = self.users.authenticate(name, password, purpose="login")
        return self._open(user.name, user.role, origin)

    def open_trusted(self, name: str, origin: str, via: str) -> Session:
        """A session for a user vouched for by something other than a password: the OS account
        that owns the data dir (CLI), or the station applying a command the CLI authenticated.
        Audited with `via`. AuthError if the user is unknown, disabled or locked out."""
        user = self.users.get(name)
        if user is None or not user.enabled:
            why = "unknown user" if user is None else "disabled"
            self.audit.append(name, "", "login.denied", name, {"via": via}, why)
            raise AuthError(f"no enabled user {name!r}" if user is None
                            else f"account {name} is disabled", "disabled")
        if self.users.locked_until(name) is not None:
            self.audit.append(name, user.role, "login.denied", name, {"via": via}, "locked")
            raise AuthError(f"account {name} is locked out", "locked")
        self.audit.append(name, user.role, "login", name, {"via": via}, "ok")
        return self._open(name, user.role, origin)

    def _open(self, user: str, role: str, origin: str) -> Session:
        now = self.clock()
        session = Session(secrets.token_urlsafe(16), user, role, origin, now, now)
        with self._lock:
            self._sessions[session.id] = session
        self._notify(session)
        return session

    def logout(self, session_id: str, why: str = "") -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            return
        ended = replace(session, state="ended")
        self.audit.append(session.user, session.role, "logout", session.user,
                          {"why": why} if why else {}, "ok")
        self._notify(ended)

    def switch_user(self, session_id: str, name: str, password: str) -> Session:
        """Authenticate `name` first; only then end the old session (a wrong password keeps
        the current user logged in)."""
        user = self.users.authenticate(name, password, purpose="login")
        self.logout(session_id, f"switch to {name}")
        return self._open(user.name, user.role, "gui")

    # ---- locking -----------------------------------------------------------------------------
    def lock(self, session_id: str, reason: str = "request") -> Session | None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.state != "active":
                return session
            session = replace(session, state="locked", locked_reason=reason)
            self._sessions[session_id] = session
        self.audit.append(session.user, session.role, "session.lock", session.user,
                          {"reason": reason}, "ok")
        self._notify(session)
        return session

    def unlock(self, session_id: str, name: str, password: str) -> Session:
        """The same user resumes; a user with a higher role takes over (the old session ends).
        AuthError otherwise (audited)."""
        session = self.get(session_id)
        if session is None or session.state == "ended":
            raise AuthError("this session has ended: log in again", "ended")
        user = self.users.authenticate(name, password, purpose="unlock")
        if user.name == session.user:
            now = self.clock()
            with self._lock:
                session = replace(session, state="active", locked_reason="", last_activity=now)
                self._sessions[session_id] = session
            self.audit.append(session.user, session.role, "session.unlock", session.user, {},
                              "ok")
            self._notify(session)
            return session
        if role_rank(user.role) <= role_rank(session.role):
            self.audit.append(user.name, user.role, "session.unlock", session.user,
                              {"session_role": session.role}, "denied: role not higher")
            raise AuthError(f"only {session.user} or a user with a role above {session.role} "
                            f"can unlock this session", "role")
        self.logout(session_id, f"session taken over by {user.name}")
        self.audit.append(user.name, user.role, "session.unlock", session.user,
                          {"took_over": True}, "ok")
        return self._open(user.name, user.role, session.origin)

    def touch(self, session_id: str) -> None:
        """Operator activity: restarts the idle timer of an active session."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.state == "active":
                self._sessions[session_id] = replace(session, last_activity=self.clock())

    def tick(self) -> list[Session]:
        """Lock every active session idle for longer than `idle_lock_min`; returns them."""
        limit_s = self.settings.idle_lock_min * 60
        if limit_s <= 0:
            return []
        now = self.clock()
        with self._lock:
            idle = [s.id for s in self._sessions.values()
                    if s.state == "active" and s.origin == "gui"
                    and now - s.last_activity > limit_s]
        return [s for s in (self.lock(i, "idle") for i in idle) if s is not None]

    def check(self, actor: Actor) -> str | None:
        """None if `actor`'s session may act now, else the reason."""
        if not actor.session:
            return "not logged in (no session)"
        self.tick()
        session = self.get(actor.session)
        if session is None or session.state == "ended":
            return "the session has ended: log in again"
        if session.user != actor.user:
            return "the session belongs to another user"
        if session.state == "locked":
            return f"the session is locked ({session.locked_reason}): unlock it first"
        return None
