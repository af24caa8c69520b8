"""`hmi secrets set NAME [--stdin]`, `hmi secrets list`: device and MES passwords in the keyring.

The project file refers to a secret by name (`password_secret = "plc1-operator"`). With no
usable keyring backend, `set` refuses (exit 1) and says why: a secret is never written to a
plain file behind the user's back.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from hmi.cli.base import CliError
from hmi.paths import data_dir
from hmi.security import keyring_store, secrets
from hmi.tags import iso_utc


def register(sub: argparse._SubParsersAction) -> None:
    parent = sub.add_parser("secrets", help="passwords for devices and the MES (OS keyring)",
                            description=__doc__)
    ssub = parent.add_subparsers(dest="secrets_command", metavar="ACTION", required=True)
    p = ssub.add_parser("set", help="store a secret in the OS keyring")
    p.add_argument("name")
    p.add_argument("--stdin", action="store_true", help="read the secret from stdin (one line)")
    p.add_argument("--data", metavar="DIR", help="data directory")
    p.set_defaults(func=cmd_set)
    p = ssub.add_parser("list", help="names of the stored secrets (never their values)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--data", metavar="DIR", help="data directory")
    p.set_defaults(func=cmd_list)


def cmd_set(args: argparse.Namespace) -> int:
    problem = secrets.check_name(args.name)
    if problem:
        raise CliError(problem)
    if args.stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        value = getpass.getpass(f"secret {args.name}: ")
    else:
        raise CliError("no terminal to ask for the secret: use --stdin")
    if not value:
        raise CliError("the secret is empty")
    try:
        secrets.store(data_dir(args.data), args.name, value)
    except keyring_store.KeyringUnavailable as exc:
        print(f"hmi: NOT STORED: no usable keyring ({exc}). Install or unlock an OS keyring "
              f"(Secret Service, KWallet, macOS Keychain, Windows Credential Locker); secrets "
              f"are never kept in plain files.", file=sys.stderr)
        return 1
    print(f"secret {args.name} stored in the keyring")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    status = keyring_store.probe()
    names = secrets.names(data_dir(args.data))
    rows = [{"name": n, "set": iso_utc(ts),
             "present": secrets.present(n) if status.usable else None}
            for n, ts in sorted(names.items())]
    if args.json:
        print(json.dumps({"keyring": status.line(), "usable": status.usable, "secrets": rows},
                         indent=2))
        return 0
    print(status.line())
    for r in rows:
        present = {True: "in keyring", False: "MISSING", None: "unknown"}[r["present"]]
        print(f"{r['name']:<40} set {r['set'][:16]}  {present}")
    return 0
