"""`hmi write PROJECT TAG VALUE --user NAME [--password-stdin] [--reason TEXT]`.

The same checks as the GUI (session, role, lockout, disabled, writable, finite, range, type,
signature), every outcome audited. The user is authenticated first, so a refused value is
never audited under a name whose password was wrong. Exit 0 confirmed by read-back; 3 denied
(role, lockout, disabled user, wrong password, signature) with the reason; 2 bad input (unknown
tag, NaN, out of range, "12,5"); 1 rejected or timed out by the device (or the audit trail
cannot be written). While a station runs (its security heartbeat in `security.db` is fresh),
the write is queued for it and applied by its command layer; otherwise it goes directly to the
device.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from hmi.cli.auth import Passwords, add_actor_args, authenticate, signature_from
from hmi.cli.base import CliDenied, CliError
from hmi.device_runner import check_write_value
from hmi.paths import data_dir
from hmi.project import load_project, point_of
from hmi.project_models import TagConfig
from hmi.security import station_commands
from hmi.security.api import Security
from hmi.security.audit import AuditWriteError, plain_value
from hmi.security.signatures import SignatureError

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$",
                    re.IGNORECASE)
EXIT = {"confirmed": 0, "denied": 3, "invalid": 2}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("write", help="write a tag (role-checked, audited, read back)",
                       description=__doc__)
    p.add_argument("project", type=Path)
    p.add_argument("tag")
    p.add_argument("value")
    add_actor_args(p)
    p.add_argument("--reason", default="", help="why (audited; required by a signature)")
    p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--data", metavar="DIR", help="data directory")
    p.set_defaults(func=cmd_write)


def parse_value(tag: TagConfig, text: str) -> Any:
    """The typed value from the command line; CliError for text that is no value of the type.
    Numbers use a dot: "12,5" is refused rather than guessed."""
    kind = tag.type or ""
    if kind == "string":
        return text
    if kind == "bool" or (tag.address and "." in tag.address.split(":")[-1]) \
            or (tag.address or "").split(":")[0] in ("coil", "di"):
        lowered = text.strip().lower()
        if lowered in ("1", "true", "on", "yes"):
            return True
        if lowered in ("0", "false", "off", "no"):
            return False
        raise CliError(f"{tag.name} takes true/false, found {text!r}")
    if not NUMBER.match(text.strip()):
        hint = " (use a dot as the decimal separator)" if "," in text else ""
        raise CliError(f"{tag.name}: {text!r} is not a number{hint}")
    value = float(text)
    if kind.startswith(("int", "uint")) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def cmd_write(args: argparse.Namespace) -> int:
    project = load_project(args.project)
    tag = project.tag(args.tag)
    folder = data_dir(args.data)
    if args.timeout <= 0:
        raise CliError(f"--timeout must be positive, found {args.timeout}")
    security = Security(folder, project.model.security)
    try:
        # who first: a refused value is audited under the user it names only once the
        # password (or the trusted OS account) vouched for them; a wrong password exits 3
        passwords = Passwords(args.password_stdin)
        actor = authenticate(security, args, folder, passwords)
        try:
            if tag is None:
                _audit(security, actor.user, args.tag, {"new": args.value},
                       "invalid: unknown tag")
                raise CliError(f"unknown tag {args.tag!r}")
            try:
                value = parse_value(tag, args.value)
            except CliError as exc:
                _audit(security, actor.user, tag.name, {"new": args.value}, f"invalid: {exc}")
                raise
            return _write(args, project, tag, value, security, actor, passwords)
        finally:
            security.sessions.logout(actor.session)
    finally:
        security.close()


def _audit(security: Security, user: str, tag: str, details: dict[str, Any],
           result: str) -> None:
    try:
        security.record(user, "write", tag, details, result)
    except AuditWriteError as exc:
        print(f"hmi: audit entry lost: {exc}", file=sys.stderr)


def _write(args: argparse.Namespace, project: Any, tag: TagConfig, value: Any,
           security: Security, actor: Any, passwords: Passwords) -> int:
    db = security.db
    if station_commands.station_running(db):
        details = {"tag": tag.name, "new": plain_value(value)}
        why = security.authorize(actor, "write", tag.write_role) if tag.writable else \
            f"{tag.name} is not writable"
        if why is not None:
            kind = "invalid" if not tag.writable else "denied"
            _audit(security, actor.user, tag.name, details, f"{kind}: {why}")
            raise CliDenied(why) if kind == "denied" else CliError(why)
        problem = check_write_value(point_of(tag), value)
        if problem is not None:
            _audit(security, actor.user, tag.name, details, f"invalid: {problem}")
            raise CliError(problem)
        signature = None
        rule = security.signature_rule("write", tag.signature)
        if rule:
            try:
                signature = security.verify_signature(
                    actor, rule, signature_from(args, rule, passwords)).to_json()
            except SignatureError as exc:
                _audit(security, actor.user, tag.name, details, f"denied: {exc}")
                raise CliDenied(str(exc)) from None
        command = station_commands.submit(db, "write", actor.user, {
            "tag": tag.name, "value": value, "reason": args.reason, "signature": signature,
            "timeout_s": args.timeout, "auth": "password" if args.password_stdin else "os"})
        status, text = station_commands.wait(db, command, args.timeout + 10)
        return _answer(status, text)
    return _direct(args, project, tag, value, security, actor, passwords)


def _direct(args: argparse.Namespace, project: Any, tag: TagConfig, value: Any,
            security: Security, actor: Any, passwords: Passwords) -> int:
    from hmi.commands import Commands
    from hmi.runtime import Runtime

    runtime = Runtime(project, security.data_dir, services=())
    commands = Commands(runtime, security)
    signature = None
    rule = commands.needs_signature("write", tag.name)
    if rule and commands.check(actor, "write", tag.name) is None \
            and check_write_value(point_of(tag), value) is None:
        signature = signature_from(args, rule, passwords)
    if commands.check(actor, "write", tag.name) is None \
            and check_write_value(point_of(tag), value) is None:
        runtime.start()  # only now: a refused write never connects to the device
        runtime.wait_first_cycle(args.timeout)
    try:
        result = commands.write(actor, tag.name, value, reason=args.reason,
                                timeout_s=args.timeout, signature=signature
                                ).result(args.timeout + 10)
    finally:
        runtime.stop()
    return _answer(result.refused or str(result.status),
                   result.message or f"{tag.name} = {result.value!r} confirmed by read-back")


def _answer(status: str, text: str) -> int:
    if status == "confirmed":
        print(text)
        return 0
    if status == "denied":
        raise CliDenied(text.removeprefix("denied: "))
    if status == "invalid":
        raise CliError(text.removeprefix("invalid: "))
    print(f"hmi: {status}: {text}", file=sys.stderr)
    return 1
