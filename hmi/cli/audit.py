"""`hmi audit verify|export|show`: check, export and read the tamper-evident audit trail.

`verify` exits 0 with "N entries, chain intact", or 1 naming the first altered, missing or
out-of-order entry, or a truncated tail. Recorded events an auditor must see, though the chain
is intact (an append-only trigger that had been dropped and was restored, with its entry),
are printed as warning lines naming the entry, on every run; they alone do not fail it.
`export` verifies first and still writes the file when the chain is broken (it is evidence),
but then exits 1. Reading the trail is for the OS account that owns the data directory (file
permissions); an export is itself audited.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hmi.cli.auth import owner_only
from hmi.cli.base import CliError, accept_relative_times
from hmi.paths import data_dir
from hmi.security.api import Security
from hmi.security.audit import AuditWriteError
from hmi.timeparse import TimeParseError, parse_range


def register(sub: argparse._SubParsersAction) -> None:
    parent = sub.add_parser("audit", help="the tamper-evident audit trail", description=__doc__)
    asub = parent.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    p = asub.add_parser("verify", help="check the HMAC chain and its anchor")
    p.add_argument("--json", action="store_true")
    p.add_argument("--data", metavar="DIR", help="data directory")
    p.set_defaults(func=cmd_verify)

    p = asub.add_parser("export", help="entries in a time range as CSV (verified first)")
    p.add_argument("--from", dest="start", metavar="T", required=True)
    p.add_argument("--to", dest="end", metavar="T", required=True)
    p.add_argument("--csv", metavar="FILE", type=Path, required=True)
    p.add_argument("--data", metavar="DIR", help="data directory")
    accept_relative_times(p)
    p.set_defaults(func=cmd_export)

    p = asub.add_parser("show", help="print entries")
    p.add_argument("--user")
    p.add_argument("--action")
    p.add_argument("--from", dest="start", metavar="T")
    p.add_argument("--to", dest="end", metavar="T")
    p.add_argument("--limit", type=int, metavar="N")
    p.add_argument("--json", action="store_true")
    p.add_argument("--data", metavar="DIR", help="data directory")
    accept_relative_times(p)
    p.set_defaults(func=cmd_show)


def _open(args: argparse.Namespace) -> Security:
    folder = data_dir(args.data)
    if not (folder / "security.db").exists():
        raise CliError(f"no audit trail in {folder} (security.db missing)")
    return Security(folder)


def cmd_verify(args: argparse.Namespace) -> int:
    security = _open(args)
    try:
        report = security.audit.verify()
        key = security.audit.key_status()
    finally:
        security.close()
    if args.json:
        print(json.dumps({**report.to_json(), "key": key}, indent=2))
        return 0 if report.ok else 1
    if report.ok:
        print(report.message)
    for problem in report.problems:
        print(f"hmi: audit: {problem}", file=sys.stderr)
    for warning in report.warnings:
        print(f"hmi: audit: warning: {warning}", file=sys.stderr)
    return 0 if report.ok else 1


def _range(start: str | None, end: str | None) -> tuple[float | None, float | None]:
    if start is None and end is None:
        return None, None
    try:
        return parse_range(start, end)
    except TimeParseError as exc:
        raise CliError(str(exc)) from None


def cmd_export(args: argparse.Namespace) -> int:
    security = _open(args)
    by = owner_only(security.data_dir)
    start, end = _range(args.start, args.end)
    try:
        report = security.audit.verify()
        try:
            count = security.audit.export_csv(args.csv, start, end)
        except OSError as exc:
            raise CliError(f"cannot write {args.csv}: {exc}") from None
        try:
            security.record(by, "audit.export", str(args.csv),
                            {"from": args.start, "to": args.end, "rows": count,
                             "verify": report.message}, "ok" if report.ok else "chain broken")
        except AuditWriteError as exc:
            print(f"hmi: the export itself could not be audited: {exc}", file=sys.stderr)
    finally:
        security.close()
    print(f"{args.csv}: {count} entries; {report.message}")
    for warning in report.warnings:
        print(f"hmi: audit: warning: {warning}", file=sys.stderr)
    if not report.ok:
        print(f"hmi: audit: {report.message}", file=sys.stderr)
        return 1
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    security = _open(args)
    start, end = _range(args.start, args.end)
    try:
        entries = security.audit.query(user=args.user, action=args.action, start=start, end=end,
                                       limit=args.limit)
    finally:
        security.close()
    if args.json:
        print(json.dumps([e.to_json() for e in entries], indent=2, ensure_ascii=False))
        return 0
    for e in entries:
        details = json.dumps(e.details, ensure_ascii=False, separators=(",", ":"))
        print(f"{e.seq:>6} {e.time} {e.user:<14} {e.role or '-':<9} {e.action:<16} "
              f"{e.object:<28} {e.result:<22} {details}")
    print(f"({len(entries)} entries)", file=sys.stderr)
    return 0
