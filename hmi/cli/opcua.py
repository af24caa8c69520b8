"""`hmi browse` and `hmi certs`: the OPC UA commissioning commands.

`hmi browse URL` lists a server's variables with their types; with `--toml` it prints
`[[tags]]` tables to paste into a project. `hmi certs list|trust` manages the certificate
folders the OPC UA driver uses (`<data>/pki/{own,trusted,rejected}`): when the driver refuses
an unknown server certificate, it saves it to rejected/ and its message names the
`hmi certs trust FILE` command to run after checking the fingerprint with the PLC's owner.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from hmi.cli.base import CliError
from hmi.paths import data_dir


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the `hmi` parser."""
    p = sub.add_parser(
        "browse", help="list an OPC UA server's variables (or print them as [[tags]])",
        description="Browse an OPC UA server (no security) from --root down --depth levels and "
                    "list its variables: node id, type, access, path. --toml prints [[tags]] "
                    "tables (node ids as nsu=URI;... so a namespace renumbering does not break "
                    "them). Exit 2 if the server cannot be reached.")
    p.add_argument("url", help="opc.tcp://HOST:PORT")
    p.add_argument("--root", default="i=85", metavar="NODE",
                   help="node to start from (default i=85, the Objects folder)")
    p.add_argument("--depth", type=int, default=6, metavar="N",
                   help="levels below the root (default 6)")
    p.add_argument("--toml", action="store_true", help="print [[tags]] ready to paste")
    p.add_argument("--device", default="opcua1", metavar="NAME",
                   help="device name for the [[tags]] (default opcua1)")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S",
                   help="request timeout in seconds (default 5)")
    p.set_defaults(func=cmd_browse)

    c = sub.add_parser("certs", help="OPC UA certificates: list, trust a rejected server",
                       description="Manage <data>/pki: own (our client certificate), trusted "
                                   "(servers we accept), rejected (servers refused so far).")
    csub = c.add_subparsers(dest="certs_command", metavar="ACTION", required=True)
    lst = csub.add_parser("list", help="list own, trusted and rejected certificates")
    lst.add_argument("--data", metavar="DIR", help="data directory")
    lst.add_argument("--json", action="store_true", help="print as JSON")
    lst.set_defaults(func=cmd_certs_list)
    trust = csub.add_parser("trust", help="trust a server certificate (copy into trusted/)")
    trust.add_argument("file", type=Path, help="certificate file (.der or .pem)")
    trust.add_argument("--data", metavar="DIR", help="data directory")
    trust.set_defaults(func=cmd_certs_trust)


def cmd_browse(args: argparse.Namespace) -> int:
    from drivers.base import CommError
    from drivers.opcua_browse import browse, to_toml
    from drivers.opcua_types import node_problem

    if not args.url.startswith("opc.tcp://"):
        raise CliError(f"expected a URL like opc.tcp://HOST:PORT, found {args.url!r}")
    if args.depth < 1 or args.depth > 50:
        raise CliError(f"--depth must be 1..50, found {args.depth}")
    problem = node_problem(args.root)
    if problem:
        raise CliError(f"--root: {problem}")
    try:
        variables = asyncio.run(browse(args.url, args.root, args.depth, args.timeout))
    except CommError as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:
        raise CliError(f"--root {args.root}: {exc}") from None
    if args.toml:
        print(to_toml(variables, args.device, args.url), end="")
        return 0
    width = max((len(v.node) for v in variables), default=10)
    for var in variables:
        kind = f"{var.data_type}[]" if var.array else var.data_type
        access = "rw" if var.writable else "r"
        print(f"{var.node:<{width}}  {kind:<14} {access:<2}  {'.'.join(var.path)}")
    print(f"({len(variables)} variables)")
    return 0


def _pki(data: str | None):  # -> drivers.opcua_security.Pki
    from drivers.opcua_security import Pki

    return Pki.under(data_dir(data))


def cmd_certs_list(args: argparse.Namespace) -> int:
    from drivers.opcua_security import list_certificates

    pki = _pki(args.data)
    listing = list_certificates(pki)
    if args.json:
        print(json.dumps({"pki": str(pki.root), **listing}, indent=2))
        return 0
    print(f"certificates in {pki.root}")
    for label, certs in listing.items():
        print(f"{label}:")
        if not certs:
            print("  (none)")
        for cert in certs:
            print(f"  {cert['subject']:<40} expires {cert['expires']:<10} "
                  f"sha256 {cert['sha256']}  {cert['file']}")
    return 0


def cmd_certs_trust(args: argparse.Namespace) -> int:
    from drivers.opcua_security import describe, trust_file

    if not args.file.is_file():
        raise CliError(f"no such certificate file: {args.file}")
    try:
        target = trust_file(_pki(args.data), args.file)
    except ValueError as exc:
        raise CliError(f"{args.file} is not a certificate (DER or PEM): {exc}") from None
    info = describe(target)
    print(f"trusted {info['subject']} (sha256 {info['sha256']}...): {target}")
    return 0
