"""Who may do what to an alarm: a question the engine asks, the security layer answers.

The security layer (users, roles, audit) comes with its own issue. Until then the engine asks
an `AlarmPermissions` object, `AllowAll` by default, and tests pass their own. A refused action
raises `PermissionDenied` and is journaled as `refused`, so an attempt is never silent.
"""

from __future__ import annotations

from typing import Protocol

ACTIONS = ("ack", "shelve", "unshelve", "reset", "oos", "comment")


class AlarmPermissions(Protocol):
    """Answers whether `user` acting in `role` may perform `action` (one of ACTIONS)."""

    def can(self, user: str, role: str | None, action: str) -> bool: ...


class AllowAll:
    """Everyone may do everything: the default until the security layer exists."""

    def can(self, user: str, role: str | None, action: str) -> bool:
        return True


class RoleTable:
    """A fixed role -> allowed actions table, e.g. {"operator": {"ack"}, "supervisor": {...}}."""

    def __init__(self, table: dict[str, set[str]]) -> None:
        self._table = {role: set(actions) for role, actions in table.items()}

    def can(self, user: str, role: str | None, action: str) -> bool:
        return action in self._table.get(role or "", set())


class AlarmCommandError(Exception):
    """An operator command that cannot be carried out (unknown alarm, missing reason, ...)."""


class PermissionDenied(AlarmCommandError):
    """The permissions interface refused the action; the refusal is journaled."""
