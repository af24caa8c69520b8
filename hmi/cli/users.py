"""`hmi users ...`: the station's users, for the OS account that owns the data directory.

Audited under that account's name (`os:<account>`). The first user must be an admin. A user is
disabled, never deleted, so a name in the audit trail always means one person. Passwords come
from `--password-stdin` or a terminal prompt (asked twice), never from an argument.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hmi.cli.auth import Passwords, owner_only
from hmi.cli.base import CliError
from hmi.paths import data_dir
from hmi.project import load_project
from hmi.security.api import Security
from hmi.security.audit import AuditWriteError
from hmi.security.config import SecuritySettings
from hmi.security.roles import ROLES
from hmi.security.users import UserError
from hmi.tags import iso_utc


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR", help="data directory (default: HMI_DATA_DIR or the "
                                                 "platform's user data dir)")
    p.add_argument("--project", type=Path, metavar="FILE",
                   help="take [security] settings (password length, argon2 cost) from here")


def register(sub: argparse._SubParsersAction) -> None:
    parent = sub.add_parser("users", help="users and roles of this station", description=__doc__)
    usub = parent.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    p = usub.add_parser("add", help="add a user (the first must be an admin)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _common(p)
    p.set_defaults(func=cmd_add)

    p = usub.add_parser("list", help="users, roles, enabled, lockouts")
    p.add_argument("--json", action="store_true")
    _common(p)
    p.set_defaults(func=cmd_list)

    p = usub.add_parser("passwd", help="set a user's password")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _common(p)
    p.set_defaults(func=cmd_passwd)

    for action, text in (("disable", "disable a user (names are never deleted or reused)"),
                         ("unlock", "lift a lockout after failed logins")):
        p = usub.add_parser(action, help=text)
        p.add_argument("name")
        _common(p)
        p.set_defaults(func=cmd_disable if action == "disable" else cmd_unlock)


def _open(args: argparse.Namespace) -> tuple[Security, str]:
    folder = data_dir(args.data)
    by = owner_only(folder)
    settings = load_project(args.project).model.security if args.project else SecuritySettings()
    return Security(folder, settings), by


def _new_password(args: argparse.Namespace, name: str) -> str:
    passwords = Passwords(args.password_stdin)
    password = passwords.take(f"new password of {name}")
    if not args.password_stdin and password != passwords.take("again"):
        raise CliError("the two passwords differ")
    return password


def _run(fn, *a, **kw):  # type: ignore[no-untyped-def]
    try:
        return fn(*a, **kw)
    except UserError as exc:
        raise CliError(str(exc)) from None
    except AuditWriteError as exc:
        print(f"hmi: refused: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_add(args: argparse.Namespace) -> int:
    security, by = _open(args)
    try:
        password = _new_password(args, args.name)
        _run(security.users.add, args.name, args.role, password, by=by, by_role="os-account")
    finally:
        security.close()
    print(f"user {args.name} added ({args.role})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    security, _ = _open(args)
    try:
        now = time.time()
        rows = [u.to_json(security.users.locked_until(u.name, now))
                for u in security.users.list()]
    finally:
        security.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = "enabled" if r["enabled"] else "disabled"
        locked = f"  locked until {r['locked_until']}" if r["locked_until"] else ""
        print(f"{r['name']:<20} {r['role']:<9} {state:<8}  created {r['created'][:16]} by "
              f"{r['created_by']}{locked}")
    print(f"({len(rows)} users)", file=sys.stderr)
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    security, by = _open(args)
    try:
        if security.users.get(args.name) is None:
            raise CliError(f"no user {args.name!r}")
        password = _new_password(args, args.name)
        _run(security.users.set_password, args.name, password, by=by, by_role="os-account")
    finally:
        security.close()
    print(f"password of {args.name} changed")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    security, by = _open(args)
    try:
        _run(security.users.disable, args.name, by=by, by_role="os-account")
    finally:
        security.close()
    print(f"user {args.name} disabled")
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    security, by = _open(args)
    try:
        until = security.users.locked_until(args.name)
        _run(security.users.unlock, args.name, by=by, by_role="os-account")
    finally:
        security.close()
    print(f"{args.name} unlocked" + (f" (was locked until {iso_utc(until)})" if until else
                                     " (was not locked)"))
    return 0
