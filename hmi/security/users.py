"""Users, passwords and lockout in `security.db`; every change audited in the same transaction.

Rules from the issue: names are unique and never reused (a user is disabled, not deleted); the
first user must be an admin; passwords are argon2id hashes (`hmi.security.passwords`), at least
`min_password_length` characters, no composition rules. Lockout is kept per *name*, whether or
not the name exists, so lockout behaviour does not reveal which names are real: after
`lockout_attempts` failures within `lockout_window_min` the name is locked for `lockout_min`,
doubling with each further lockout (up to `lockout_max_min`) until a successful login or an
admin's unlock resets it. Hashing runs outside the database lock; any thread, never the Qt one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hmi.security import passwords
from hmi.security.audit import AuditTrail, AuditWriteError
from hmi.security.config import SecuritySettings
from hmi.security.db import SecurityDb
from hmi.security.roles import ROLES, role_rank
from hmi.tags import iso_utc

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
BAD_CREDENTIALS = "wrong user name or password"


class AuthError(Exception):
    """A login or signature refused. `kind`: credentials | locked | disabled | audit."""

    def __init__(self, message: str, kind: str = "credentials") -> None:
        super().__init__(message)
        self.kind = kind


class UserError(ValueError):
    """A user-management request that cannot be done (bad name, short password, ...)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    enabled: bool
    created: float
    created_by: str

    def to_json(self, locked_until: float | None = None) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "enabled": self.enabled,
                "created": iso_utc(self.created), "created_by": self.created_by,
                "locked_until": iso_utc(locked_until) if locked_until else None}


class UserStore:
    def __init__(self, db: SecurityDb, audit: AuditTrail, settings: SecuritySettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.audit = audit
        self.settings = settings
        self.clock = clock

    @property
    def params(self) -> tuple[int, int, int]:
        s = self.settings
        return s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism

    # ---- reading -----------------------------------------------------------------------------
    def get(self, name: str) -> User | None:
        rows = self.db.select("SELECT name, role, enabled, created, created_by FROM users "
                              "WHERE name = ?", (name,))
        return User(rows[0][0], rows[0][1], bool(rows[0][2]), rows[0][3], rows[0][4]) \
            if rows else None

    def list(self) -> list[User]:
        return [User(r[0], r[1], bool(r[2]), r[3], r[4]) for r in self.db.select(
            "SELECT name, role, enabled, created, created_by FROM users ORDER BY name")]

    def count(self) -> int:
        return int(self.db.select("SELECT count(*) FROM users")[0][0])

    def locked_until(self, name: str, now: float | None = None) -> float | None:
        now = self.clock() if now is None else now
        rows = self.db.select("SELECT until FROM lockouts WHERE name = ? AND until > ?",
                              (name, now))
        return rows[0][0] if rows else None

    def locked_names(self, now: float | None = None) -> list[str]:
        now = self.clock() if now is None else now
        return [r[0] for r in self.db.select("SELECT name FROM lockouts WHERE until > ? "
                                             "ORDER BY name", (now,))]

    # ---- management (audited under `by`) -----------------------------------------------------
    def _check_password(self, password: str) -> None:
        if len(password) < self.settings.min_password_length:
            raise UserError(f"the password must have at least "
                            f"{self.settings.min_password_length} characters")

    def add(self, name: str, role: str, password: str, *, by: str, by_role: str) -> User:
        if not NAME.match(name):
            raise UserError(f"user names start with a letter, then up to 63 letters, digits, "
                            f"'.', '_' or '-'; found {name!r}")
        if role not in ROLES:
            raise UserError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        self._check_password(password)
        digest = passwords.hash_password(password, self.params)
        now = self.clock()
        with self.db.transaction() as tx:
            if tx.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"user {name!r} exists (names are never reused; "
                                f"a user is disabled, not deleted)")
            if not tx.execute("SELECT 1 FROM users LIMIT 1").fetchone() and role != "admin":
                raise UserError("the first user must be an admin (--role admin)")
            tx.execute("INSERT INTO users (name, role, hash, enabled, created, created_by, "
                       "changed) VALUES (?, ?, ?, 1, ?, ?, ?)", (name, role, digest, now, by, now))
            entry = self.audit.append(by, by_role, "user.add", name, {"role": role}, "ok", tx)
        self.audit.advance_anchor(entry)
        return User(name, role, True, now, by)

    def set_password(self, name: str, password: str, *, by: str, by_role: str) -> None:
        self._check_password(password)
        digest = passwords.hash_password(password, self.params)
        self._update(name, "user.passwd", by, by_role, {},
                     "UPDATE users SET hash = ?, changed = ? WHERE name = ?",
                     (digest, self.clock(), name))

    def disable(self, name: str, *, by: str, by_role: str) -> None:
        user = self.get(name)
        if user is not None and user.role == "admin" and user.enabled:
            admins = self.db.select("SELECT count(*) FROM users WHERE role = 'admin' "
                                    "AND enabled = 1")[0][0]
            if admins <= 1:
                raise UserError(f"{name} is the last enabled admin; add another admin first")
        self._update(name, "user.disable", by, by_role, {},
                     "UPDATE users SET enabled = 0, changed = ? WHERE name = ?",
                     (self.clock(), name))

    def set_role(self, name: str, role: str, *, by: str, by_role: str) -> None:
        if role not in ROLES:
            raise UserError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        self._update(name, "user.role", by, by_role, {"role": role},
                     "UPDATE users SET role = ?, changed = ? WHERE name = ?",
                     (role, self.clock(), name))

    def unlock(self, name: str, *, by: str, by_role: str) -> bool:
        """Lift a lockout (and forget the failures). Returns whether the name was locked."""
        now = self.clock()
        with self.db.transaction() as tx:
            was = tx.execute("SELECT until FROM lockouts WHERE name = ? AND until > ?",
                             (name, now)).fetchone()
            tx.execute("DELETE FROM lockouts WHERE name = ?", (name,))
            tx.execute("DELETE FROM login_failures WHERE name = ?", (name,))
            entry = self.audit.append(by, by_role, "unlock", name,
                                      {"was_locked_until": iso_utc(was[0]) if was else None},
                                      "ok", tx)
        self.audit.advance_anchor(entry)
        return was is not None

    def _update(self, name: str, action: str, by: str, by_role: str, details: dict[str, Any],
                sql: str, params: tuple[Any, ...]) -> None:
        with self.db.transaction() as tx:
            if not tx.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"no user {name!r}")
            tx.execute(sql, params)
            entry = self.audit.append(by, by_role, action, name, details, "ok", tx)
        self.audit.advance_anchor(entry)

    # ---- authentication ----------------------------------------------------------------------
    def authenticate(self, name: str, password: str, *, purpose: str = "login") -> User:
        """The user if `password` is theirs; else AuthError (audited, counted for lockout).
        `purpose` ("login", "unlock", "signature", "cli") goes into the audit entry.
        Takes one argon2 verification whatever the outcome (~19 ms here)."""
        now = self.clock()
        rows = self.db.select("SELECT hash, role, enabled FROM users WHERE name = ?", (name,))
        stored, role, enabled = rows[0] if rows else (None, "", 0)
        ok = passwords.verify(stored, password, self.params)
        locked = self.locked_until(name, now)
        try:
            if locked is not None:
                self._audit(name, role, f"{purpose}.denied", "locked", now)
                minutes = max(1, round((locked - now) / 60))
                raise AuthError(f"account locked for {minutes} more min (until "
                                f"{iso_utc(locked)[11:16]} UTC); an admin can unlock it", "locked")
            if not ok:
                self._failure(name, role, purpose, now)
                raise AuthError(BAD_CREDENTIALS)
            if not enabled:
                self._audit(name, role, f"{purpose}.denied", "disabled", now)
                raise AuthError(f"account {name} is disabled", "disabled")
            with self.db.transaction() as tx:
                tx.execute("DELETE FROM login_failures WHERE name = ?", (name,))
                tx.execute("DELETE FROM lockouts WHERE name = ? AND until <= ?", (name, now))
                if passwords.needs_rehash(stored, self.params):
                    tx.execute("UPDATE users SET hash = ? WHERE name = ?",
                               (passwords.hash_password(password, self.params), name))
                entry = self.audit.append(name, role, purpose, name, {}, "ok", tx)
            self.audit.advance_anchor(entry)
        except AuditWriteError as exc:
            raise AuthError(f"refused: {exc}", "audit") from None
        return User(name, role, True, 0.0, "")

    def _audit(self, name: str, role: str, action: str, result: str, now: float) -> None:
        self.audit.append(name, role, action, name, {}, result)

    def _failure(self, name: str, role: str, purpose: str, now: float) -> None:
        s = self.settings
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO login_failures (name, ts) VALUES (?, ?)", (name, now))
            failures = tx.execute("SELECT count(*) FROM login_failures WHERE name = ? AND ts > ?",
                                  (name, now - s.lockout_window_min * 60)).fetchone()[0]
            entry = self.audit.append(name, role, f"{purpose}.failed", name,
                                      {"failures": failures}, "wrong password or unknown user", tx)
            if failures >= s.lockout_attempts:
                prior = tx.execute("SELECT count FROM lockouts WHERE name = ?",
                                   (name,)).fetchone()
                count = (prior[0] if prior else 0) + 1
                minutes = min(s.lockout_min * 2 ** (count - 1), s.lockout_max_min)
                until = now + minutes * 60
                tx.execute("INSERT INTO lockouts (name, until, count, since) VALUES (?, ?, ?, ?)"
                           " ON CONFLICT(name) DO UPDATE SET until = excluded.until, "
                           "count = excluded.count, since = excluded.since",
                           (name, until, count, now))
                tx.execute("DELETE FROM login_failures WHERE name = ?", (name,))
                entry = self.audit.append(name, role, "lockout", name,
                                          {"failures": failures, "minutes": minutes,
                                           "lockout_count": count, "until": iso_utc(until)},
                                          "locked", tx)
        self.audit.advance_anchor(entry)


def rank_at_least(role: str, other: str) -> bool:
    return role_rank(role) >= role_rank(other)
