"""`hmi context ...` and `hmi oee`: the production context of a line and its OEE (ISO 22400-2).

Context changes are made by a user of the station (`--user`, authenticated as for `hmi alarms
ack`: `--password-stdin`, or trusted as the OS account owning the data dir), need the role
`context`, are signed when the project asks (`[security.signatures] context`: the password,
`--meaning`, `--reason`, and for "double" `--second-user` whose password is stdin's second
line, as for `hmi write`) and are audited. They reach a running station through `mes.db`'s
command table (applied within a second, the answer printed); with no station running they are
applied to the stored context directly, with the same events. Either way the change and its
events are one transaction.
`hmi oee` reads what the station committed (counts at least every `count_interval_s`).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path
from typing import Any

from hmi.cli.auth import add_signature_args
from hmi.cli.base import CliDenied, CliError, accept_relative_times
from hmi.paths import data_dir
from hmi.project import Project, load_project
from hmi.tags import iso_utc


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", type=Path)
    p.add_argument("--line", metavar="NAME", help="the line (default: the first in the file)")
    p.add_argument("--data", metavar="DIR", help="data directory (default: HMI_DATA_DIR or the "
                                                 "platform's user data dir)")


def register(sub: argparse._SubParsersAction) -> None:
    parent = sub.add_parser("context", help="the production context: work order, product, lot",
                            description=__doc__)
    csub = parent.add_subparsers(dest="context_command", metavar="ACTION", required=True)
    p = csub.add_parser("set", help="set work order, product, lot or operator of a line",
                        description="Set the context. A new work order completes the current "
                                    "one (workorder.completed with its OEE) and starts the new "
                                    "one; --work-order \"\" only completes it.")
    _common(p)
    p.add_argument("--work-order", metavar="WO")
    p.add_argument("--product", metavar="P", help="a product code from [[products]]")
    p.add_argument("--lot", metavar="L")
    p.add_argument("--operator", metavar="NAME")
    p.add_argument("--user", default=None, help="who acts, a user of this station (default: "
                                                "your login name)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the user's password from stdin (else: trusted as the OS account "
                        "that owns the data dir, see hmi users); a second signer's from the "
                        "second line")
    p.add_argument("--reason", default="", help="why (audited; required by a signature)")
    add_signature_args(p)
    p.set_defaults(func=cmd_context_set)

    p = csub.add_parser("show", help="print the context, state and open stop of each line")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_context_show)

    p = sub.add_parser("oee", help="OEE per ISO 22400-2 (availability, effectiveness, quality)",
                       description="OEE of each line for the current shift (default; the last "
                                   "hour when no shift runs), a named shift's latest "
                                   "occurrence, a time range or a work order.")
    _common(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--shift", metavar="NAME", help="the current or latest shift NAME")
    group.add_argument("--work-order", metavar="WO", help="a work order's whole run")
    group.add_argument("--hour", action="store_true", help="the last 60 minutes")
    p.add_argument("--from", dest="start", metavar="T")
    p.add_argument("--to", dest="end", metavar="T", help="default now")
    p.add_argument("--json", action="store_true")
    accept_relative_times(p)
    p.set_defaults(func=cmd_oee)


def _project(args: argparse.Namespace) -> Project:
    project = load_project(args.project)
    model = project.model
    if not (model.mes.enabled or model.lines):
        raise CliError(f"{args.project} tracks no production: add [[lines]] or [mes] "
                       "enabled = true")
    return project


def _line_names(project: Project, line: str | None) -> list[str]:
    from hmi.mes.core import line_configs

    names = [c.name for c in line_configs(project.model)]
    if line is None:
        return names
    if line not in names:
        raise CliError(f"unknown line {line!r} (lines: {', '.join(names)})")
    return [line]


def cmd_context_set(args: argparse.Namespace) -> int:
    from hmi.security.api import Security

    project = _project(args)
    _line_names(project, args.line)
    if args.product and project.model.products and \
            args.product not in {p.code for p in project.model.products}:
        known = ", ".join(p.code for p in project.model.products)
        raise CliError(f"unknown product {args.product!r} (products: {known})")
    payload: dict[str, Any] = {"line": args.line, "work_order": args.work_order,
                               "product": args.product, "lot": args.lot,
                               "operator": args.operator}
    if all(payload[k] is None for k in ("work_order", "product", "lot", "operator")):
        raise CliError("nothing to change: give --work-order, --product, --lot or --operator")
    args.user = args.user or getpass.getuser()
    folder = data_dir(args.data)
    security = Security(folder, project.model.security)
    try:
        status, result = _secured_context(args, project, folder, security, payload)
    finally:
        security.close()
    if status == "refused":
        raise CliError(result)
    if status == "denied":
        raise CliDenied(result)
    if status != "done":
        print(f"hmi: {result}", file=sys.stderr)
        return 1
    print(result)
    return 0


def _secured_context(args: argparse.Namespace, project: Project, folder: Path, security: Any,
                     payload: dict[str, Any]) -> tuple[str, str]:
    """Authenticate, authorize (role "context"), sign if the project asks, audit, apply
    through the running station or directly, audit the outcome: as `hmi alarms ack` does.
    Returns (status, one line)."""
    from hmi.cli.auth import Passwords, authenticate, signature_from
    from hmi.mes import commands
    from hmi.mes.core import MesCommandError, MesCore
    from hmi.mes.store import MesStore
    from hmi.security.audit import AuditWriteError
    from hmi.security.signatures import SignatureError

    target = f"line {args.line}" if args.line else "line"
    details = {k: v for k, v in payload.items() if v is not None}
    if args.reason:
        details["reason"] = args.reason
    passwords = Passwords(args.password_stdin)
    actor = authenticate(security, args, folder, passwords)
    try:
        why = security.authorize(actor, "context")
        if why is None and (rule := security.signature_rule("context")):
            try:
                details["signature"] = security.verify_signature(
                    actor, rule, signature_from(args, rule, passwords)).to_json()
            except (SignatureError, CliDenied) as exc:
                why = str(exc)
        if why is not None:
            _audit(security, actor.user, target, details, f"denied: {why}")
            return "denied", why
        try:
            requested = security.record(actor, "context", target, details, "requested")
        except AuditWriteError as exc:
            return "audit", f"refused: {exc}"
        store = MesStore(folder / "mes.db")
        try:
            running = commands.service_running(store)
            if running:
                status, result = commands.submit_and_wait(store, "set_context", payload,
                                                          actor.user)
        finally:
            store.close()
        if not running:
            core = MesCore(project, folder)
            try:
                result = commands.apply(core, "set_context", payload, actor.user)
                status = "done" if core.commit() else "failed"
                if status == "failed":
                    result = f"not written: {core.write_error}"
            except MesCommandError as exc:
                status, result = "refused", str(exc)
            finally:
                core.close()
        _audit(security, actor.user, target, {**details, "requested_seq": requested.seq},
               result if status == "done" else f"{status}: {result}")
        return status, result
    finally:
        security.sessions.logout(actor.session)


def _audit(security: Any, user: str, target: str, details: dict[str, Any], result: str) -> None:
    from hmi.security.audit import AuditWriteError

    try:
        security.record(user, "context", target, details, result)
    except AuditWriteError as exc:
        print(f"hmi: audit entry lost: {exc}", file=sys.stderr)


def _context_rows(project: Project, folder: Path, lines: list[str]) -> list[dict[str, Any]]:
    from hmi.mes.calendar import ShiftCalendar
    from hmi.mes.commands import service_running
    from hmi.mes.store import DOWNTIME_COLUMNS, MesStore

    model = project.model
    calendar = ShiftCalendar(model.shifts, model.production.timezone)
    store = MesStore(folder / "mes.db")
    try:
        contexts = store.load_contexts()
        running = service_running(store)
        now = time.time()
        shift = calendar.at(now)
        rows = []
        for line in lines:
            ctx = contexts.get(line, {})
            state = store.select("SELECT ts, state FROM state_log WHERE line = ? ORDER BY ts "
                                 "DESC, id DESC LIMIT 1", (line,))
            downtime = store.select(f"SELECT {', '.join(DOWNTIME_COLUMNS)} FROM downtimes WHERE "
                                    "line = ? AND end IS NULL", (line,))
            open_dt = dict(zip(DOWNTIME_COLUMNS, downtime[0], strict=True)) if downtime else None
            rows.append({
                "line": line,
                "work_order": ctx.get("work_order") or "", "product": ctx.get("product") or "",
                "lot": ctx.get("lot") or "", "shift": shift.name if shift else "",
                "operator": ctx.get("operator") or "",
                "work_order_started": (iso_utc(ctx["wo_started"]) if ctx.get("wo_started")
                                       else None),
                "good": ctx.get("wo_good", 0), "reject": ctx.get("wo_reject", 0),
                "state": (state[0][1] if state and running else None),
                "state_since": iso_utc(state[0][0]) if state and running else None,
                "downtime": open_dt, "station_running": running,
            })
        return rows
    finally:
        store.close()


def cmd_context_show(args: argparse.Namespace) -> int:
    project = _project(args)
    rows = _context_rows(project, data_dir(args.data), _line_names(project, args.line))
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    from hmi.cli.display import print_table

    print_table(None, ("line", "work order", "product", "lot", "shift", "operator", "state",
                       "since", "good", "reject"),
                [(r["line"], r["work_order"] or "-", r["product"] or "-", r["lot"] or "-",
                  r["shift"] or "-", r["operator"] or "-", r["state"] or "?",
                  r["state_since"] or "", r["good"], r["reject"]) for r in rows],
                right=("good", "reject"))
    if rows and not rows[0]["station_running"]:
        print("(no station running: state unknown)", file=sys.stderr)
    return 0


def _window(project: Project, args: argparse.Namespace, calendar: Any, now: float
            ) -> tuple[float, float, str]:
    from hmi.timeparse import TimeParseError, parse_range

    if args.start or args.end:
        if args.shift or args.hour or args.work_order:
            raise CliError("--from/--to go alone (not with --shift, --hour or --work-order)")
        try:
            t0, t1 = parse_range(args.start, args.end, now=now)
        except TimeParseError as exc:
            raise CliError(str(exc)) from None
        return t0, min(t1, now), "range"
    if args.shift:
        names = [s.name for s in project.model.shifts]
        if args.shift not in names:
            raise CliError(f"unknown shift {args.shift!r} (shifts: "
                           f"{', '.join(names) or 'none declared'})")
        shift = calendar.latest(args.shift, now)
        if shift is None:
            raise CliError(f"shift {args.shift!r} has not run in the last 8 days")
        return shift.start, min(shift.end, now), f"shift {shift.name}"
    shift = None if args.hour else calendar.at(now)
    if shift is not None:
        return shift.start, now, f"shift {shift.name}"
    return now - 3600.0, now, "last hour"


def cmd_oee(args: argparse.Namespace) -> int:
    from hmi.mes.core import oee_calculator
    from hmi.mes.store import MesStore

    project = _project(args)
    lines = _line_names(project, args.line)
    calc = oee_calculator(project.model)
    now = time.time()
    store = MesStore(data_dir(args.data) / "mes.db")
    results = []
    try:
        for line in lines:
            if args.work_order:
                rows = store.select("SELECT started, completed FROM work_orders WHERE line = ? "
                                    "AND work_order = ? ORDER BY started", (line, args.work_order))
                if not rows:
                    continue
                t0, t1, label = rows[0][0], rows[-1][1] or now, f"work order {args.work_order}"
                result = calc.compute(store.db, line, t0, t1, args.work_order)
            else:
                t0, t1, label = _window(project, args, calc.calendar, now)
                result = calc.compute(store.db, line, t0, t1)
            results.append({**result.to_json(), "window": label})
    finally:
        store.close()
    if args.work_order and not results:
        raise CliError(f"no work order {args.work_order!r} recorded")
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return 0
    _print_oee(results)
    return 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def _print_oee(results: list[dict[str, Any]]) -> None:
    from hmi.cli.display import print_table

    print_table(None, ("line", "window", "from", "to", "A", "E", "Q", "OEE", "PBT min",
                       "APT min", "down min", "micro-stops", "PQ", "GQ"),
                [(r["line"], r["window"], r["from"][:16], r["to"][:16], _pct(r["availability"]),
                  _pct(r["effectiveness"]), _pct(r["quality"]), _pct(r["oee"]),
                  _minutes(r["pbt_s"]), _minutes(r["apt_s"]), _minutes(r["adet_s"]),
                  r["microstops"], r["pq"], r["gq"]) for r in results],
                right=("A", "E", "Q", "OEE", "PBT min", "APT min", "down min", "micro-stops",
                       "PQ", "GQ"))
