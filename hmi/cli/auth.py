"""How a CLI command learns who is acting, and how it reads passwords.

The choice (documented in docs/notes/issue-14.md): `--user NAME --password-stdin` checks the
password like a GUI login (counted for lockout, audited). Without `--password-stdin`, the
command acts for `--user NAME` only when run by the OS account that owns the data directory
(that account can change every file there anyway, so asking it for a password adds nothing),
and only if the project allows it (`[security] cli_trust_os_account`, default true); the
audit entry then says `via os:<account>`, never "password". User management (`hmi users`) is
always for that OS account, as the issue asks. Passwords come from stdin (one per line: the
user's, then a second signer's) or a terminal prompt, never from an argument (ps would show it).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from hmi.cli.base import CliDenied, CliError
from hmi.security.api import Security, os_account, owns_data_dir
from hmi.security.audit import AuditWriteError
from hmi.security.roles import MEANINGS, Actor
from hmi.security.signatures import Signature
from hmi.security.users import AuthError


def add_actor_args(p: argparse.ArgumentParser, *, signature: bool = True) -> None:
    p.add_argument("--user", required=True, help="who acts (a user of this station)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the user's password from the first line of stdin (a second "
                        "signer's from the second line)")
    if signature:
        add_signature_args(p)


def add_signature_args(p: argparse.ArgumentParser) -> None:
    """The flags of an electronic signature (`signature_from` reads them); the command adds
    its own `--reason`, which the signature binds."""
    p.add_argument("--meaning", choices=MEANINGS, default="performed",
                   help="signature meaning, where the action needs a signature")
    p.add_argument("--second-user", metavar="NAME",
                   help="second signer, where the action needs a double signature")
    p.add_argument("--second-meaning", choices=MEANINGS, default="approved")


class Passwords:
    """Lines read once from stdin (or prompted from a terminal), handed out in order."""

    def __init__(self, from_stdin: bool) -> None:
        self.from_stdin = from_stdin
        self._lines: list[str] | None = None
        self.first: str | None = None  # the first password taken (the acting user's)

    def take(self, prompt: str) -> str:
        if self.from_stdin:
            if self._lines is None:
                self._lines = [line.rstrip("\r\n") for line in sys.stdin.readlines()]
            if not self._lines:
                raise CliError(f"stdin has no line for {prompt}")
            value = self._lines.pop(0)
        elif not sys.stdin.isatty():
            raise CliError(f"no terminal to ask for {prompt}: use --password-stdin")
        else:
            value = getpass.getpass(f"{prompt}: ")
        if self.first is None:
            self.first = value
        return value


def authenticate(security: Security, args: argparse.Namespace, data_dir: Path,
                 passwords: Passwords) -> Actor:
    """An actor with a one-command session, or CliDenied (exit 3, audited)."""
    try:
        if args.password_stdin:
            return security.sessions.login(args.user, passwords.take(f"password of {args.user}"),
                                           origin="cli").actor
        if not security.settings.cli_trust_os_account:
            raise CliDenied("this project needs a password on the command line "
                            "(--password-stdin)")
        if not owns_data_dir(data_dir):
            raise CliDenied(f"only the OS account that owns {data_dir} may act without a "
                            f"password; use --password-stdin")
        return security.sessions.open_trusted(args.user, "cli", f"os:{os_account()}").actor
    except AuthError as exc:
        raise CliDenied(str(exc)) from None
    except AuditWriteError as exc:
        raise CliDenied(f"refused: {exc}") from None


def signature_from(args: argparse.Namespace, rule: bool | str,
                   passwords: Passwords) -> Signature:
    """The signature the action needs. With --password-stdin the first line (already checked
    at login: a CLI command is one moment) is the first signer's password and the second line
    the second signer's; without it, both are asked on the terminal."""
    if passwords.first is not None:
        password = passwords.first
    elif sys.stdin.isatty():
        password = passwords.take(f"password of {args.user} (signature)")
    else:
        raise CliDenied("this action needs an electronic signature: give the password with "
                        "--password-stdin, a --meaning and a --reason")
    second_password = ""
    if rule == "double" and args.second_user:
        second_password = passwords.take(f"password of {args.second_user}")
    return Signature(meaning=args.meaning, reason=getattr(args, "reason", "") or "",
                     password=password, second_user=args.second_user or "",
                     second_password=second_password, second_meaning=args.second_meaning)


def owner_only(data_dir: Path) -> str:
    """User management and audit export: the OS account that owns the data dir, or CliDenied.
    Returns the audit name (`os:<account>`)."""
    if not owns_data_dir(data_dir):
        raise CliDenied(f"user management on the command line is for the OS account that owns "
                        f"{data_dir}")
    return f"os:{os_account()}"
