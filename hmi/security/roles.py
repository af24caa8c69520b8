"""Roles and the lowest role each action needs: the one table the command layer enforces.

Each role has every right of the roles before it (viewer < operator < engineer < admin), so a
permission is a single comparison. A tag's `write_role` can only raise what "write" needs.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("viewer", "operator", "engineer", "admin")

ACTION_ROLES: dict[str, str] = {
    "view": "viewer",  # log in, see values and alarms
    "write": "operator",  # a writable tag whose write_role is operator (the default)
    "ack": "operator",
    "shelve": "operator",
    "unshelve": "operator",
    "reset": "operator",
    "comment": "operator",
    "context": "operator",  # production context (work order, lot, ...)
    "oos": "engineer",
    "in_service": "engineer",
    "alarm_settings": "engineer",
    "audit": "engineer",  # read and export the audit trail from the GUI
    "users": "admin",
    "project": "admin",
}

MEANINGS = ("performed", "reviewed", "approved")  # electronic signature meanings (Part 11)


def role_rank(role: str | None) -> int:
    """Position in ROLES; -1 for no role or an unknown one (never allowed anything)."""
    return ROLES.index(role) if role in ROLES else -1


def needed_role(action: str, tag_role: str | None = None) -> str | None:
    """The lowest role allowed `action`; for "write", the higher of operator and the tag's
    write_role. None for an unknown action (refused)."""
    needed = ACTION_ROLES.get(action)
    if needed is not None and action == "write" and tag_role:
        needed = max(needed, tag_role, key=role_rank)
    return needed


@dataclass(frozen=True)
class Actor:
    """Who is acting: the logged-in user, the role they held at login, and the session that
    vouches for them. Only `Security.login` (and the CLI's authentication) makes actors with a
    session; the command layer refuses an actor whose session is missing, locked or ended, and
    re-reads the role and the enabled flag from the users database on every action."""

    user: str
    role: str  # one of ROLES, as of login; the command layer uses the database's current role
    session: str = ""  # session id; "" is never accepted by the command layer
