"""The command layer: the one door every action a person takes on the plant goes through.

Why one door: a write, an alarm acknowledgement, a context change or a user change must get the
same checks (session, role, lockout, signature) and the same audit entries whether it comes
from the GUI, the CLI or a test. Screens ask `check()` to disable what the user may not do (with
the reason in a tooltip), but the check that counts is the one `write()` and `alarm()` make
themselves, against the users database (`hmi.security`), every time.

Every action leaves audit entries: a denial one entry (`result = "denied: ..."`, or
`"invalid: ..."` for a refused value); an allowed action one entry *before* it is carried out
(`result = "requested"`, with old and new value and any signature) and one with the outcome. If
the "requested" entry cannot be written, the action is refused (and the station raises its
audit alarm). Any thread may call; nothing here blocks on the device: results come back as
futures (a signature check hashes a password: call from a worker, not the Qt thread).
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from typing import Any

from drivers.base import WriteResult, WriteStatus
from hmi.device_runner import check_write_value
from hmi.project import point_of
from hmi.security.api import Security
from hmi.security.audit import AuditWriteError, plain_value
from hmi.security.roles import ACTION_ROLES, ROLES, Actor, needed_role, role_rank
from hmi.security.signatures import Signature, SignatureError, SignatureRecord
from hmi.security.users import UserError
from hmi.tags import Scalar

log = logging.getLogger(__name__)

__all__ = ["ACTION_ROLES", "ROLES", "Actor", "CommandDenied", "Commands", "Signature",
           "role_rank"]

ALARM_ACTIONS = ("ack", "shelve", "unshelve", "reset", "oos", "in_service", "comment")
USER_CHANGES = ("add", "passwd", "role", "disable", "unlock")  # Commands.change_user


class CommandDenied(Exception):
    """The actor may not do this; the message is the reason shown to them (and audited)."""


def _done(result: Any) -> concurrent.futures.Future[Any]:
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_result(result)
    return future


def _failed(exc: BaseException) -> concurrent.futures.Future[Any]:
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_exception(exc)
    return future


class Commands:
    """Role-checked, audited actions on a running `Runtime`. Construct once per station.

    `security`: the station's (default: the runtime's SecurityService's, else one made on the
    runtime's data dir with the project's `[security]` settings)."""

    def __init__(self, runtime: Any, security: Security | None = None) -> None:
        self.runtime = runtime
        self.security = security or self._find_security(runtime)
        project = runtime.project
        self._tags = {t.name: t for t in project.model.tags}

    @staticmethod
    def _find_security(runtime: Any) -> Security:
        for service in getattr(runtime, "services", ()):
            found = getattr(service, "security", None)
            if isinstance(found, Security):
                return found
        return Security(runtime.data_dir, runtime.project.model.security,
                        getattr(runtime, "clock", None) or time.time)

    # ---- questions the GUI asks before enabling a control --------------------------------------
    def check(self, actor: Actor | None, action: str, target: str = "") -> str | None:
        """None when `actor` may do `action` (on `target`, e.g. a tag) now, else the reason.
        Quick (no hashing), not audited: the GUI may ask on every repaint."""
        if action == "write" and target:
            tag = self._tags.get(target)
            if tag is None:
                return f"unknown tag {target!r}"
            if not tag.writable:
                return f"{target} is not writable"
            return self.security.authorize(actor, "write", tag.write_role)
        if action not in ACTION_ROLES:
            return f"unknown action {action!r}"
        return self.security.authorize(actor, action)

    def needs_signature(self, action: str, target: str = "") -> bool | str:
        """False, True or "double": whether `action` (on tag `target`) needs a signature
        dialog before it is sent."""
        tag = self._tags.get(target) if action == "write" else None
        return self.security.signature_rule(action, tag.signature if tag else None)

    def _sign(self, actor: Actor | None, action: str, target: str,
              signature: Signature | SignatureRecord | None, details: dict[str, Any]
              ) -> str | None:
        """The one signature step of every command: when `action` (on `target`) needs a
        signature, verify it and put the record into `details` (the audit entry carries it);
        returns why it is refused, or None. Call after `check` passed (an actor is known)."""
        rule = self.needs_signature(action, target)
        if not rule:
            return None
        assert actor is not None
        try:
            details["signature"] = self.security.verify_signature(actor, rule, signature).to_json()
        except SignatureError as exc:
            return str(exc)
        return None

    def needed_role(self, action: str, target: str = "") -> str | None:
        tag = self._tags.get(target) if action == "write" else None
        return needed_role(action, tag.write_role if tag else None)

    # ---- actions ----------------------------------------------------------------------------
    def write(self, actor: Actor | None, tag: str, value: Scalar, *, reason: str = "",
              timeout_s: float = 5.0, signature: Signature | SignatureRecord | None = None
              ) -> concurrent.futures.Future[WriteResult]:
        """Write a tag in engineering units, then read it back. Never raises: a refusal is a
        REJECTED result whose `refused` says "denied", "invalid" or "audit" and whose message
        says why; nothing reaches the device then."""
        details: dict[str, Any] = {"tag": tag, "new": plain_value(value)}
        if reason:
            details["reason"] = reason

        def refuse(kind: str, why: str) -> concurrent.futures.Future[WriteResult]:
            self._audit(actor, "write", tag, details, f"{kind}: {why}")
            return _done(WriteResult(tag, WriteStatus.REJECTED, value, None, f"{kind}: {why}",
                                     refused=kind))

        config = self._tags.get(tag)
        if config is None:
            return refuse("invalid", f"unknown tag {tag!r}")
        why = self.check(actor, "write", tag)
        if why is not None:
            return refuse("invalid" if why.endswith("is not writable") else "denied", why)
        assert actor is not None
        problem = check_write_value(point_of(config), value)
        if problem is not None:
            return refuse("invalid", problem)
        why = self._sign(actor, "write", tag, signature, details)
        if why is not None:
            return refuse("denied", why)
        details["old"] = plain_value(self.runtime.tags.value(tag))
        try:
            requested = self.security.record(actor, "write", tag, details, "requested")
        except AuditWriteError as exc:
            return _done(WriteResult(tag, WriteStatus.REJECTED, value, None,
                                     f"refused: {exc}", refused="audit"))
        self.security.touch(actor)
        inner = self.runtime.submit_write(tag, value, timeout_s)
        outer: concurrent.futures.Future[WriteResult] = concurrent.futures.Future()

        def finish(done: concurrent.futures.Future[WriteResult]) -> None:
            # runs in the device thread (or here, if already done): audit, then hand over
            try:
                result = done.result()
            except Exception as exc:  # noqa: BLE001 - future boundary: becomes a result
                result = WriteResult(tag, WriteStatus.REJECTED, value, None, str(exc))
            outcome = {**details, "read_back": plain_value(result.value),
                       "requested_seq": requested.seq}
            if result.message:
                outcome["message"] = result.message
            self._audit(actor, "write", tag, outcome, str(result.status))
            outer.set_result(result)

        inner.add_done_callback(finish)
        return outer

    def alarm(self, actor: Actor | None, action: str, alarm: str | None, *,
              signature: Signature | SignatureRecord | None = None,
              **args: Any) -> concurrent.futures.Future[str]:
        """An alarm action (`ack`, `shelve`, `unshelve`, `reset`, `oos`, `in_service`,
        `comment`) applied in the alarm thread exactly as a CLI command is (same validation,
        same journal). The future gives the one-line result or raises AlarmCommandError /
        CommandDenied."""
        from alarms.commands import apply  # the alarm package is optional in a build

        target = alarm or (f"area {args['area']}" if args.get("area") else "*")
        details: dict[str, Any] = {k: plain_value(v) for k, v in args.items() if v is not None}
        why = self.check(actor, action, alarm or "")
        if why is None and action not in ALARM_ACTIONS:
            why = f"{action} is not an alarm action"
        service = self.alarm_service()
        if why is None and service is None:
            why = "the alarm service is not running"
        if why is None:
            why = self._sign(actor, action, target, signature, details)
        if why is not None:
            self._audit(actor, action, target, details, f"denied: {why}")
            return _failed(CommandDenied(why))
        assert actor is not None
        assert service is not None
        try:
            requested = self.security.record(actor, action, target, details, "requested")
        except AuditWriteError as exc:
            return _failed(CommandDenied(f"refused: {exc}"))
        self.security.touch(actor)
        user, role = actor.user, self.security.current_role(actor.user)

        def run(manager: Any) -> str:
            return apply(manager, action, alarm, args, user, role)

        inner = service.call(run)
        outer: concurrent.futures.Future[str] = concurrent.futures.Future()

        def finish(done: concurrent.futures.Future[str]) -> None:
            error = done.exception()
            result = f"refused: {error}" if error is not None else done.result()
            self._audit(actor, action, target, {**details, "requested_seq": requested.seq},
                        result)
            if error is not None:
                outer.set_exception(error)
            else:
                outer.set_result(result)

        inner.add_done_callback(finish)
        return outer

    def _audit(self, actor: Actor | None, action: str, obj: str, details: dict[str, Any],
               result: str) -> None:
        """An entry for a denial or an outcome; a failure to write it is logged and alarmed
        (the action was refused anyway, or has already happened)."""
        try:
            self.security.record(actor or "(nobody)", action, obj, details, result)
        except AuditWriteError:
            log.exception("audit entry lost: %s %s %s", action, obj, result)

    def set_context(self, actor: Actor | None, line: str | None = None, *,
                    work_order: str | None = None, product: str | None = None,
                    lot: str | None = None, operator: str | None = None,
                    signature: Signature | SignatureRecord | None = None
                    ) -> concurrent.futures.Future[str]:
        """Change a line's production context (None: unchanged). A new work order completes
        the current one and starts the new one; `work_order=""` only completes it. Applied in
        the MES thread exactly as `hmi context set` is, audited like an alarm action (and
        signed when `[security.signatures] context` asks); the future gives the one-line
        result or raises MesCommandError / CommandDenied."""
        changes = {k: v for k, v in (("work_order", work_order), ("product", product),
                                     ("lot", lot), ("operator", operator)) if v is not None}

        def call(service: Any, user: str) -> concurrent.futures.Future[str]:
            return service.set_context(line, user=user, **changes)

        return self._production(actor, f"line {line}" if line else "line", dict(changes), call,
                                signature)

    def start_work_order(self, actor: Actor | None, work_order: str, *,
                         product: str | None = None, lot: str | None = None,
                         line: str | None = None,
                         signature: Signature | SignatureRecord | None = None
                         ) -> concurrent.futures.Future[str]:
        """Start `work_order` (with its product and first lot) on a line; the current one, if
        any, is completed first (`workorder.completed` with its OEE). Checked and audited as
        `set_context`; an empty name is refused by the MES (MesCommandError)."""
        details = {k: v for k, v in (("work_order", work_order), ("product", product),
                                     ("lot", lot)) if v is not None}

        def call(service: Any, user: str) -> concurrent.futures.Future[str]:
            return service.start_work_order(work_order, product, lot, line, user)

        return self._production(actor, f"line {line}" if line else "line",
                                {"action": "start_work_order", **details}, call, signature)

    def complete_work_order(self, actor: Actor | None, line: str | None = None, *,
                            signature: Signature | SignatureRecord | None = None
                            ) -> concurrent.futures.Future[str]:
        """Complete the line's current work order (MesCommandError when it has none)."""

        def call(service: Any, user: str) -> concurrent.futures.Future[str]:
            return service.complete_work_order(line, user)

        return self._production(actor, f"line {line}" if line else "line",
                                {"action": "complete_work_order"}, call, signature)

    def set_downtime_reason(self, actor: Actor | None, downtime: str, code: str,
                            comment: str = "", *,
                            signature: Signature | SignatureRecord | None = None
                            ) -> concurrent.futures.Future[str]:
        """Give a downtime (by its id) a reason from the tree; checked and audited as
        `set_context`."""
        details = {"code": code, **({"comment": comment} if comment else {})}

        def call(service: Any, user: str) -> concurrent.futures.Future[str]:
            return service.set_downtime_reason(downtime, code, user, comment)

        return self._production(actor, f"downtime {downtime}", details, call, signature)

    def _production(self, actor: Actor | None, target: str, details: dict[str, Any],
                    call: Any, signature: Signature | SignatureRecord | None = None
                    ) -> concurrent.futures.Future[str]:
        """The production actions' one path: role "context", the signature
        `[security.signatures] context` asks for, audit before and after, then
        `call(mes_service, user)` in the MES thread."""
        service = self.mes_service()
        why = self.check(actor, "context", target)
        if why is None and service is None:
            why = "production tracking is not configured"
        if why is None:
            why = self._sign(actor, "context", target, signature, details)
        if why is not None:
            self._audit(actor, "context", target, details, f"denied: {why}")
            return _failed(CommandDenied(why))
        assert actor is not None
        try:
            requested = self.security.record(actor, "context", target, details, "requested")
        except AuditWriteError as exc:
            return _failed(CommandDenied(f"refused: {exc}"))
        self.security.touch(actor)
        inner: concurrent.futures.Future[str] = call(service, actor.user)
        outer: concurrent.futures.Future[str] = concurrent.futures.Future()

        def finish(done: concurrent.futures.Future[str]) -> None:
            error = done.exception()
            result = f"refused: {error}" if error is not None else done.result()
            self._audit(actor, "context", target, {**details, "requested_seq": requested.seq},
                        result)
            if error is not None:
                outer.set_exception(error)
            else:
                outer.set_result(result)

        inner.add_done_callback(finish)
        return outer

    def change_user(self, actor: Actor | None, change: str, name: str, *, role: str = "",
                    password: str = "", signature: Signature | SignatureRecord | None = None
                    ) -> str:
        """An admin's user change from the GUI: `add` (with role and password), `passwd`,
        `role`, `disable`, `unlock`. Checked here (role "users", signature if the project asks
        one), then done by the users store, which audits the change in the same transaction
        as `user.<change>` under the admin's name. Returns the one-line result; raises
        CommandDenied (audited) or UserError (bad name, short password, last admin: audited
        as invalid). Blocking (add and passwd hash a password): call from a worker."""
        action = f"user.{change}"
        details: dict[str, Any] = {"role": role} if role else {}
        why = self.check(actor, "users")
        if why is None and change not in USER_CHANGES:
            why = f"unknown user change {change!r} (changes: {', '.join(USER_CHANGES)})"
        if why is None:
            why = self._sign(actor, "users", name, signature, details)
        if why is not None:
            self._audit(actor, action, name, details, f"denied: {why}")
            raise CommandDenied(why)
        assert actor is not None
        if "signature" in details:  # the store's own entry carries no signature: bind it here
            try:
                self.security.record(actor, action, name, details, "requested")
            except AuditWriteError as exc:
                raise CommandDenied(f"refused: {exc}") from None
        self.security.touch(actor)
        try:
            return self._apply_user_change(actor, change, name, role, password)
        except UserError as exc:
            self._audit(actor, action, name, details, f"invalid: {exc}")
            raise
        except AuditWriteError as exc:
            raise CommandDenied(f"refused: {exc}") from None

    def _apply_user_change(self, actor: Actor, change: str, name: str, role: str,
                           password: str) -> str:
        users = self.security.users
        by = {"by": actor.user, "by_role": self.security.current_role(actor.user)}
        if change == "add":
            users.add(name, role, password, **by)
            return f"user {name} added as {role}"
        if change == "passwd":
            users.set_password(name, password, **by)
            return f"password of {name} set"
        if change == "role":
            users.set_role(name, role, **by)
            return f"{name} is now {role}"
        if change == "disable":
            users.disable(name, **by)
            return f"user {name} disabled"
        was = users.unlock(name, **by)
        return f"{name} unlocked" if was else f"{name} was not locked out (failures reset)"

    def mes_service(self) -> Any | None:
        """The station's MES service when production tracking is configured."""
        for service in getattr(self.runtime, "services", ()):
            if type(service).__name__ == "MesService" and getattr(service, "active", False):
                return service
        return None

    def alarm_service(self) -> Any | None:
        for service in getattr(self.runtime, "services", ()):
            if type(service).__name__ == "AlarmService":
                return service
        return None
