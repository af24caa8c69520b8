"""The command layer: the one door every action a person takes on the plant goes through.

Why one door: a write, an alarm acknowledgement, a context change or a user change must get the
same checks (role, lockout, signature) and the same audit entry whether it comes from the GUI,
the CLI or a test. Screens ask `check()` to disable what the user may not do (with the reason
in a tooltip), but the check that counts is the one `write()` and `alarm()` make themselves.

This first version carries the contract the GUI is built on; the security layer
(`hmi.security`) plugs its role table, lockout, signatures and audit trail in behind the same
methods. Any thread may call; nothing here blocks: results come back as futures.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass
from typing import Any

from drivers.base import WriteResult, WriteStatus
from hmi.tags import Scalar

ROLES = ("viewer", "operator", "engineer", "admin")  # each has every right of those before it

# The lowest role allowed each action (a tag's own `write_role` can raise "write").
ACTION_ROLES: dict[str, str] = {
    "write": "operator",
    "ack": "operator",
    "shelve": "operator",
    "unshelve": "operator",
    "reset": "operator",
    "comment": "operator",
    "oos": "engineer",
    "in_service": "engineer",
    "context": "operator",
    "users": "admin",
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: the logged-in user and the role they hold at this station."""

    user: str
    role: str  # one of ROLES


class CommandDenied(Exception):
    """The actor may not do this; the message is the reason shown to them (and audited)."""


def role_rank(role: str | None) -> int:
    return ROLES.index(role) if role in ROLES else -1


class Commands:
    """Role-checked actions on a running `Runtime`. Construct once per station."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self._tag_roles = {t.name: getattr(t, "write_role", "operator") or "operator"
                           for t in runtime.project.model.tags}

    # ---- questions the GUI asks before enabling a control --------------------------------------
    def check(self, actor: Actor | None, action: str, target: str = "") -> str | None:
        """None when `actor` may do `action` (on `target`, e.g. a tag), else the reason."""
        if actor is None:
            return "nobody is logged in"
        needed = ACTION_ROLES.get(action)
        if needed is None:
            return f"unknown action {action!r}"
        if action == "write":
            needed = max(needed, self._tag_roles.get(target, "operator"), key=role_rank)
        if role_rank(actor.role) < role_rank(needed):
            return f"needs role {needed} (you are {actor.role})"
        return None

    # ---- actions ----------------------------------------------------------------------------
    def write(self, actor: Actor | None, tag: str, value: Scalar, *, reason: str = "",
              timeout_s: float = 5.0) -> concurrent.futures.Future[WriteResult]:
        """Write a tag in engineering units, then read it back. Never raises: a refusal is a
        REJECTED result whose message says why."""
        why = self.check(actor, "write", tag)
        if why is not None:
            future: concurrent.futures.Future[WriteResult] = concurrent.futures.Future()
            future.set_result(WriteResult(tag, WriteStatus.REJECTED, value, None, f"denied: {why}"))
            return future
        return self.runtime.submit_write(tag, value, timeout_s)

    def alarm(self, actor: Actor | None, action: str, alarm: str | None,
              **args: Any) -> concurrent.futures.Future[str]:
        """An alarm action (`ack`, `shelve`, `unshelve`, `reset`, `oos`, `in_service`,
        `comment`) applied in the alarm thread exactly as a CLI command is (same validation,
        same journal). The future gives the one-line result or raises AlarmCommandError /
        CommandDenied."""
        from alarms.commands import apply  # the alarm package is optional in a build

        why = self.check(actor, action, alarm or "")
        service = self.alarm_service()
        if why is not None or service is None or actor is None:
            future: concurrent.futures.Future[str] = concurrent.futures.Future()
            future.set_exception(CommandDenied(why or "the alarm service is not running"))
            return future
        user, role = actor.user, actor.role

        def run(manager: Any) -> str:
            return apply(manager, action, alarm, args, user, role)

        return service.call(run)

    def set_context(self, actor: Actor | None, line: str | None = None, *,
                    work_order: str | None = None, product: str | None = None,
                    lot: str | None = None, operator: str | None = None
                    ) -> concurrent.futures.Future[str]:
        """Change a line's production context (None: unchanged). A new work order completes
        the current one and starts it; `work_order=""` only completes it. Applied in the MES
        thread exactly as `hmi context set` is; the future gives the one-line result or raises
        MesCommandError / CommandDenied."""
        why, service = self._production(actor, line)
        if why is not None:
            return _denied(why)
        return service.set_context(line, work_order=work_order, product=product, lot=lot,
                                   operator=operator, user=actor.user)  # type: ignore[union-attr]

    def set_downtime_reason(self, actor: Actor | None, downtime: str, code: str,
                            comment: str = "") -> concurrent.futures.Future[str]:
        """Give a downtime (by its id) a reason from the tree; role as for `set_context`."""
        why, service = self._production(actor, downtime)
        if why is not None:
            return _denied(why)
        return service.set_downtime_reason(downtime, code, actor.user,  # type: ignore[union-attr]
                                           comment)

    def _production(self, actor: Actor | None, target: str | None) -> tuple[str | None, Any]:
        service = next((s for s in getattr(self.runtime, "services", ())
                        if type(s).__name__ == "MesService" and s.active), None)
        why = self.check(actor, "context", target or "")
        if why is None and service is None:
            why = "production tracking is not configured"
        return why, service

    def alarm_service(self) -> Any | None:
        for service in getattr(self.runtime, "services", ()):
            if type(service).__name__ == "AlarmService":
                return service
        return None


def _denied(why: str) -> concurrent.futures.Future[Any]:
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_exception(CommandDenied(why))
    return future
