"""`Security`: the Qt-free API the GUI's dialogs and the command layer call.

One per data directory and process: the station's `SecurityService` owns one; the CLI makes
its own. It ties the users database, the audit trail, sessions and signatures together and
answers the one question the command layer asks before every action: may this actor do this
now, and if not, why (`authorize`). Methods that hash a password (login, unlock, switch user,
signatures, first admin) block for tens of milliseconds: call them from a worker thread. The
rest are quick and any thread may call them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hmi.security import keyring_store
from hmi.security.audit import AuditEntry, AuditTrail, AuditWriteError
from hmi.security.config import SecuritySettings
from hmi.security.db import SecurityDb
from hmi.security.roles import ROLES, Actor, needed_role, role_rank
from hmi.security.sessions import Session, SessionManager
from hmi.security.signatures import Signature, SignatureRecord, verify
from hmi.security.users import AuthError, UserError, UserStore

AuditFailureListener = Callable[[str], None]


class Security:
    def __init__(self, data_dir: Path | str, settings: SecuritySettings | None = None,
                 clock: Callable[[], float] = time.time, busy_timeout_s: float = 5.0) -> None:
        self.data_dir = Path(data_dir)
        self.settings = settings or SecuritySettings()
        self.clock = clock
        self.db = SecurityDb(self.data_dir / "security.db", busy_timeout_s)
        self.audit = AuditTrail(self.db, self.data_dir, clock)
        self.audit.restore_triggers()  # a dropped trigger: back, and on record (issue 14)
        self.users = UserStore(self.db, self.audit, self.settings, clock)
        self.sessions = SessionManager(self.users, self.audit, self.settings, clock)
        self._audit_failure_listeners: list[AuditFailureListener] = []

    def close(self) -> None:
        self.db.close()

    # ---- the GUI's dialogs -------------------------------------------------------------------
    def needs_first_admin(self) -> bool:
        """True until a user exists: the first `hmi gui` then asks to create the admin."""
        return self.users.count() == 0

    def create_first_admin(self, name: str, password: str) -> Actor:
        """Create the first user (an admin) and log them in. UserError if users exist."""
        if not self.needs_first_admin():
            raise UserError("users exist already; an admin adds more")
        self.users.add(name, "admin", password, by=name, by_role="admin")
        return self.login(name, password)

    def login(self, name: str, password: str) -> Actor:
        """AuthError with the message to show ("wrong user name or password", "account
        locked ...", "account X is disabled"); the same message and time for an unknown
        name and a wrong password."""
        return self.sessions.login(name, password).actor

    def logout(self, actor: Actor) -> None:
        self.sessions.logout(actor.session)

    def switch_user(self, actor: Actor, name: str, password: str) -> Actor:
        return self.sessions.switch_user(actor.session, name, password).actor

    def lock(self, actor: Actor, reason: str = "request") -> None:
        self.sessions.lock(actor.session, reason)

    def unlock(self, actor: Actor, name: str, password: str) -> Actor:
        """Same user: the same actor back. A higher role: a new actor (the old one ends)."""
        return self.sessions.unlock(actor.session, name, password).actor

    def touch(self, actor: Actor) -> None:
        self.sessions.touch(actor.session)

    def session(self, actor: Actor) -> Session | None:
        return self.sessions.get(actor.session)

    # ---- the command layer's questions -------------------------------------------------------
    def authorize(self, actor: Actor | None, action: str, tag_role: str | None = None
                  ) -> str | None:
        """None if `actor` may do `action` now (session active, user enabled and not locked
        out, current role high enough), else the reason to show and audit."""
        if actor is None:
            return "nobody is logged in"
        why = self.sessions.check(actor)
        return why or self.authorize_user(actor.user, action, tag_role)

    def authorize_user(self, user: str, action: str, tag_role: str | None = None
                       ) -> str | None:
        """The same without a session: for commands the CLI authenticated and queued."""
        needed = needed_role(action, tag_role)
        if needed is None:
            return f"unknown action {action!r}"
        record = self.users.get(user)
        if record is None:
            return f"no user {user!r}"
        if not record.enabled:
            return f"account {user} is disabled"
        if self.users.locked_until(user) is not None:
            return f"account {user} is locked out"
        if role_rank(record.role) < role_rank(needed):
            return f"needs role {needed} (you are {record.role})"
        return None

    def current_role(self, user: str) -> str:
        record = self.users.get(user)
        return record.role if record else ""

    def signature_rule(self, action: str, tag_rule: bool | str | None = None) -> bool | str:
        """False, True or "double": the tag's own rule for writes, else `[security.signatures]`."""
        if tag_rule:
            return tag_rule
        return self.settings.signatures.get(action, False)

    def verify_signature(self, actor: Actor, rule: bool | str,
                         signature: Signature | SignatureRecord | None) -> SignatureRecord:
        return verify(self.users, actor, self.current_role(actor.user), rule, signature)

    # ---- the audit trail ---------------------------------------------------------------------
    def record(self, actor: Actor | str, action: str, obj: str = "",
               details: dict[str, Any] | None = None, result: str = "ok") -> AuditEntry:
        """Append an audit entry for `actor`. AuditWriteError (the listeners are told, so the
        station raises its alarm) means: refuse the action this entry would record."""
        user, role = (actor.user, self.current_role(actor.user) or actor.role) \
            if isinstance(actor, Actor) else (actor, self.current_role(actor))
        try:
            return self.audit.append(user, role, action, obj, details, result)
        except AuditWriteError as exc:
            for fn in list(self._audit_failure_listeners):
                fn(str(exc))
            raise

    def on_audit_failure(self, fn: AuditFailureListener) -> None:
        """`fn(message)` whenever an entry cannot be written (any thread)."""
        self._audit_failure_listeners.append(fn)

    def status(self) -> dict[str, Any]:
        """For the status line and diagnostics: keyring, key location, last verify, lockouts."""
        ring = keyring_store.probe()
        last = self.audit.last_verify
        return {
            "keyring": ring.line(),
            "audit_key": self.audit.key_status(),
            "audit_entries": self.db.select("SELECT count(*) FROM audit")[0][0],
            "audit_verify": last.message if last else "not verified yet",
            "audit_ok": None if last is None else last.ok,
            "audit_verified_at": self.audit.last_verify_at,
            "audit_write_failures": self.audit.write_failures,
            "audit_last_error": self.audit.last_error,
            "users": self.users.count(),
            "locked_out": self.users.locked_names(),
            "sessions": [{"user": s.user, "state": s.state, "origin": s.origin}
                         for s in self.sessions.active()],
        }


def os_account() -> str:
    """The OS account running this process (audited as `os:<name>` for CLI user management)."""
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def owns_data_dir(data_dir: Path) -> bool:
    return Path(data_dir).stat().st_uid == os.geteuid()


__all__ = ["ROLES", "AuthError", "Security", "Signature", "UserError"]
