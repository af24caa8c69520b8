"""The alarm manager's permissions answered from the users database (replacing `AllowAll`).

The alarm manager asks `can(user, role, action)` before every operator action, including the
commands the CLI queued for a running station. The role passed in is ignored: the database's
current role, enabled flag and lockout decide, and a refusal is audited here (the manager
journals it as `refused` too).
"""

from __future__ import annotations

import contextlib

from hmi.security.api import Security
from hmi.security.audit import AuditWriteError


class SecurityPermissions:
    def __init__(self, security: Security) -> None:
        self.security = security

    def can(self, user: str, role: str | None, action: str) -> bool:
        why = self.security.authorize_user(user, action)
        if why is None:
            return True
        # refused anyway; a failure to write this entry raises the audit alarm by itself
        with contextlib.suppress(AuditWriteError):
            self.security.record(user, action, "alarm", {"claimed_role": role},
                                 f"denied: {why}")
        return False
