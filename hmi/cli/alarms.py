"""`hmi alarms ...`: the alarm journal, the alarm summary, operator actions, KPIs, rationalization.

State-changing commands (ack, shelve, ...) go to a running station through the journal's
command table and wait for its answer; with no station running they are applied directly to
the persisted states (see `alarms.commands` for why). Either way they pass the security
layer first: who is acting (`--user`, with `--password-stdin` or as the OS account that owns
the data dir, see `hmi.cli.auth`), their role from the users database, lockout, a signature
where the project asks for one; each attempt is audited. Bad input (unknown alarm, no reason)
exits 2 with one line; a denial (password, role, lockout, signature) exits 3; a station that
does not answer exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from alarms import commands, kpis, rationalization
from alarms.config import alarm_name
from alarms.engine import AlarmManager, build_defs, defs_from_project
from alarms.journal import Journal
from alarms.permissions import AlarmCommandError
from alarms.shelving import max_shelve_min
from hmi.cli.auth import Passwords, add_actor_args, authenticate, signature_from
from hmi.cli.base import CliDenied, CliError, accept_relative_times
from hmi.paths import data_dir
from hmi.project import Project, load_project
from hmi.security.api import Security
from hmi.security.audit import AuditWriteError
from hmi.security.permissions import SecurityPermissions
from hmi.security.signatures import SignatureError
from hmi.security.system_alarms import SYSTEM_ALARMS, system_alarm_names
from hmi.timeparse import TimeParseError, parse_range


def _show(value: Any) -> str:
    """A value for a terminal: floats to 4 significant digits, None as blank."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", type=Path)
    p.add_argument("--data", metavar="DIR", help="data directory (default: HMI_DATA_DIR or the "
                                                 "platform's user data dir)")


def _actor(p: argparse.ArgumentParser) -> None:
    add_actor_args(p)
    p.add_argument("--role", default=None,
                   help="ignored: the role comes from the users database (kept for scripts)")


def register(sub: argparse._SubParsersAction) -> None:
    parent = sub.add_parser("alarms", help="alarm journal, summary, actions, KPIs",
                            description=__doc__)
    asub = parent.add_subparsers(dest="alarms_command", metavar="ACTION", required=True)

    p = asub.add_parser("journal", help="print journal rows (transitions and actions)")
    _common(p)
    p.add_argument("--from", dest="start", metavar="T", help="default -24h")
    p.add_argument("--to", dest="end", metavar="T", help="default now")
    for name in ("alarm", "area", "priority", "tag", "state", "event"):
        p.add_argument(f"--{name}", help=f"only rows with this {name}")
    p.add_argument("--limit", type=int, metavar="N")
    p.add_argument("--json", action="store_true")
    accept_relative_times(p)
    p.set_defaults(func=cmd_journal)

    p = asub.add_parser("active", help="the alarm summary: every alarm not normal")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_active)

    p = asub.add_parser("ack", help="acknowledge one alarm, --all, or --area")
    _common(p)
    p.add_argument("alarm", nargs="?")
    p.add_argument("--all", action="store_true", help="all visible alarms")
    p.add_argument("--area", help="all visible alarms in this ISA-95 area and below")
    p.add_argument("--comment", default="")
    _actor(p)
    p.set_defaults(func=cmd_action, action="ack")

    p = asub.add_parser("shelve", help="shelve an alarm (timed or one-shot), with a reason")
    _common(p)
    p.add_argument("alarm")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--minutes", type=float, metavar="N",
                       help="default: the project's shelve_default_min (at most the "
                            "alarm's shelve_max_min)")
    group.add_argument("--one-shot", action="store_true", help="until it returns to normal")
    p.add_argument("--reason", default="", help="mandatory")
    _actor(p)
    p.set_defaults(func=cmd_action, action="shelve")

    for action, text in (("unshelve", "unshelve an alarm"), ("reset", "reset a latched alarm"),
                         ("oos", "take an alarm out of service"),
                         ("in-service", "put an alarm back in service")):
        p = asub.add_parser(action, help=text)
        _common(p)
        p.add_argument("alarm")
        p.add_argument("--comment", "--reason", dest="comment", default="")
        _actor(p)
        p.set_defaults(func=cmd_action, action=action.replace("-", "_"))

    p = asub.add_parser("comment", help="add a comment to an alarm's journal")
    _common(p)
    p.add_argument("alarm")
    p.add_argument("text")
    _actor(p)
    p.set_defaults(func=cmd_action, action="comment")

    p = asub.add_parser("report", help="KPIs against EEMUA 191 (default the last 24 hours)")
    _common(p)
    p.add_argument("--from", dest="start", metavar="T", help="default -24h")
    p.add_argument("--to", dest="end", metavar="T", help="default now")
    p.add_argument("--json", action="store_true")
    accept_relative_times(p)
    p.set_defaults(func=cmd_report)

    p = asub.add_parser("export", help="write the master alarm database as CSV")
    p.add_argument("project", type=Path)
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_export)

    p = asub.add_parser("import", help="validate a CSV and write it into the project file")
    p.add_argument("project", type=Path)
    p.add_argument("file", type=Path)
    p.add_argument("--dry-run", action="store_true", help="validate and report only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import)


def _open(args: argparse.Namespace) -> tuple[Project, Journal]:
    project = load_project(args.project)
    return project, Journal(data_dir(args.data) / "alarms.db")


def _range(args: argparse.Namespace) -> tuple[float, float]:
    try:
        return parse_range(args.start, args.end)
    except TimeParseError as exc:
        raise CliError(str(exc)) from None


def _offline_manager(project: Project, journal: Journal,
                     security: Security | None = None) -> AlarmManager:
    """The alarm manager on the stored states, with the station's own alarms, and (for
    actions) the permissions of the users database instead of allow-all."""
    defs = defs_from_project(project) + build_defs(SYSTEM_ALARMS)
    manager = AlarmManager(defs, project.model.alarm_settings, time.time, journal,
                           SecurityPermissions(security) if security is not None else None)
    manager.restore(journal.load_states())
    return manager


def cmd_journal(args: argparse.Namespace) -> int:
    _, journal = _open(args)
    start, end = _range(args)
    try:
        rows = journal.query(start, end, alarm=args.alarm, area=args.area,
                             priority=args.priority, tag=args.tag, state=args.state,
                             event=args.event, limit=args.limit)
    finally:
        journal.close()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return 0
    for r in rows:
        print(f"{r['time']}  {r['event']:<10} {r['state'] or '-'}  {r['priority'] or '-':<7} "
              f"{r['alarm']:<36} {_show(r['value']):>10}  {r['user']}  {r['comment']}")
    print(f"({len(rows)} rows)", file=sys.stderr)
    return 0


def cmd_active(args: argparse.Namespace) -> int:
    project, journal = _open(args)
    try:
        rows = _offline_manager(project, journal).active()
        running = commands.service_running(journal)
    finally:
        journal.close()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for r in rows:
        flag = "*" if r["first_out"] else " "
        print(f"{r['state']} {flag} {r['priority']:<7} {r['name']:<36} {_show(r['value']):>10}  "
              f"{r['raised'] or '':<24} {r['message']}")
    print(f"({len(rows)} alarms not normal; station {'running' if running else 'not running'})",
          file=sys.stderr)
    return 0


def cmd_action(args: argparse.Namespace) -> int:
    action: str = args.action
    alarm = args.alarm
    payload: dict[str, Any] = {"comment": getattr(args, "comment", "")}
    project = load_project(args.project)
    if action == "ack":
        if bool(alarm) + bool(args.all) + bool(args.area) != 1:
            raise CliError("ack needs exactly one of ALARM, --all or --area AREA")
        payload["area"] = args.area
    elif action == "shelve":
        if args.one_shot:
            payload["minutes"] = None
        else:
            minutes = args.minutes
            if minutes is None:  # the project's default, within the alarm's own maximum
                settings = project.model.alarm_settings
                own = next((a for a in project.alarms if alarm_name(a) == alarm), None)
                minutes = min(settings.shelve_default_min, max_shelve_min(own, settings))
            payload["minutes"] = minutes
        payload["reason"] = args.reason
    elif action in ("oos", "in_service"):
        payload["reason"] = args.comment
    elif action == "comment":
        payload["text"] = args.text
    station = [a.name for a in project.station_alarms]
    if alarm is not None and alarm not in project.alarm_names() + system_alarm_names() + station:
        raise CliError(f"unknown alarm {alarm!r} (see `hmi alarms active` or the project file)")
    folder = data_dir(args.data)
    security = Security(folder, project.model.security)
    try:
        status, result = _secured_action(args, project, folder, security, action, alarm,
                                         payload)
    finally:
        security.close()
    if status == "refused":
        raise CliError(result)
    if status == "denied":
        raise CliDenied(result)
    if status in ("timeout", "audit"):
        print(f"hmi: {result}", file=sys.stderr)
        return 1
    print(result)
    return 0


def _secured_action(args: argparse.Namespace, project: Project, folder: Path,
                    security: Security, action: str, alarm: str | None,
                    payload: dict[str, Any]) -> tuple[str, str]:
    """Authenticate, authorize, sign, audit, apply (through the station or offline), audit
    the outcome. Returns (status, one line): done | refused | denied | timeout | audit."""
    target = alarm or (f"area {args.area}" if getattr(args, "area", None) else "*")
    details = {k: v for k, v in payload.items() if v not in (None, "")}
    passwords = Passwords(args.password_stdin)
    actor = authenticate(security, args, folder, passwords)
    try:
        why = security.authorize(actor, action)
        if why is None:
            rule = security.signature_rule(action)
            if rule:
                args.reason = payload.get("reason") or payload.get("comment") or ""
                try:
                    details["signature"] = security.verify_signature(
                        actor, rule, signature_from(args, rule, passwords)).to_json()
                except SignatureError as exc:
                    why = str(exc)
        if why is not None:
            _audit(security, actor.user, action, target, details, f"denied: {why}")
            return "denied", why
        try:
            requested = security.record(actor, action, target, details, "requested")
        except AuditWriteError as exc:
            return "audit", f"refused: {exc}"
        role = security.current_role(actor.user)
        journal = Journal(folder / "alarms.db")
        try:
            if commands.service_running(journal):
                status, result = commands.submit_and_wait(journal, action, alarm, payload,
                                                          actor.user, role)
            else:
                manager = _offline_manager(project, journal, security)
                try:
                    result = commands.apply(manager, action, alarm, payload, actor.user, role)
                    status = "done"
                except AlarmCommandError as exc:
                    status, result = "refused", str(exc)
                journal.flush()
        finally:
            journal.close()
        _audit(security, actor.user, action, target,
               {**details, "requested_seq": requested.seq},
               result if status == "done" else f"{status}: {result}")
        return status, result
    finally:
        security.sessions.logout(actor.session)


def _audit(security: Security, user: str, action: str, target: str, details: dict[str, Any],
           result: str) -> None:
    try:
        security.record(user, action, target, details, result)
    except AuditWriteError as exc:
        print(f"hmi: audit entry lost: {exc}", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    project, journal = _open(args)
    start, end = _range(args)
    try:
        report = kpis.compute(journal, start, end, project.model.alarm_settings)
    finally:
        journal.close()
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"alarm KPIs {time.strftime('%Y-%m-%d %H:%M', time.localtime(start))} .. "
          f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(end))} ({report['hours']:g} h)")
    print(f"{'KPI':<34} {'value':>10}  {'unit':<11} {'EEMUA 191 target':<34} ok")
    for k in report["kpis"]:
        value = k["value"] if k["value"] is not None else json.dumps(k.get("split"))
        ok = "-" if k["ok"] is None else ("yes" if k["ok"] else "NO")
        print(f"{k['name']:<34} {value!s:>10}  {k['unit']:<11} {k['target']:<34} {ok}")
        for t in k.get("top", [])[:10]:
            print(f"{'':<36}{t['alarm']}: {t['count']} ({t['share_pct']}%)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    project = load_project(args.project)
    try:
        count = rationalization.export_csv(project, args.file)
    except OSError as exc:
        raise CliError(f"cannot write {args.file}: {exc}") from None
    print(f"{args.file}: {count} alarms")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    report = rationalization.import_csv(args.project, args.file, args.dry_run)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        for line in report.errors:
            print(line, file=sys.stderr)
        print(f"{args.file}: {report.rows} rows, {len(report.errors)} problem(s); "
              f"added {len(report.added)}, changed {len(report.changed)}, removed "
              f"{len(report.removed)}; project file {'updated' if report.written else 'unchanged'}")
    return 2 if report.errors else 0
