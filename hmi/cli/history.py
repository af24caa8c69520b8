"""`hmi history ...`: export, statistics, backup, integrity check and a summary of the history
database. Reads with its own connection (WAL), so it runs while the station records.

Imports of the historian (and numpy, sqlite) happen inside the handlers: `hmi.cli.main` imports this
module on every start, and `hmi --help` should not pay for them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hmi.cli.base import CliError, accept_relative_times
from hmi.tags import iso_utc

if TYPE_CHECKING:
    from hmi.cli.display import Bar

PROGRESS_MIN_ROWS = 50_000  # below this an export is quick enough not to need a progress bar


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the `hmi` parser."""
    p = sub.add_parser("history", help="export, check and back up the local historian",
                       description=__doc__)
    hsub = p.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    times = ("times: ISO-8601 (2026-11-23T06:00:00Z; local time if no zone), "
             "relative (-8h, -2d) or now")

    e = hsub.add_parser("export", help="recorded samples as CSV or JSON", epilog=times)
    e.add_argument("project", help="project file (checks the tag names)")
    e.add_argument("--tag", action="append", required=True, help="tag name (repeatable)")
    e.add_argument("--from", dest="start", default="-24h", help="start (default -24h)")
    e.add_argument("--to", dest="end", default="now", help="end (default now)")
    out = e.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="FILE", help="write CSV to FILE ('-' = stdout, the default)")
    out.add_argument("--json", action="store_true", help="print JSON")
    _data(e)
    e.set_defaults(func=cmd_export)
    accept_relative_times(e)

    s = hsub.add_parser("stats", help="min, max, mean, time-weighted mean, time in state",
                        epilog=times)
    s.add_argument("project", help="project file (checks the tag names)")
    s.add_argument("--tag", action="append", required=True, help="tag name (repeatable)")
    s.add_argument("--from", dest="start", default="-24h", help="start (default -24h)")
    s.add_argument("--to", dest="end", default="now", help="end (default now)")
    s.add_argument("--json", action="store_true", help="print JSON")
    _data(s)
    s.set_defaults(func=cmd_stats)
    accept_relative_times(s)

    b = hsub.add_parser("backup", help="copy the database with SQLite's online backup API")
    b.add_argument("dest", help="file to create, or a directory to put history-<time>.db in")
    _data(b)
    b.set_defaults(func=cmd_backup)

    c = hsub.add_parser("check", help="run SQLite's integrity_check on the database")
    _data(c)
    c.set_defaults(func=cmd_check)

    i = hsub.add_parser("info", help="size, rows, tags, oldest and newest sample")
    i.add_argument("--json", action="store_true", help="print JSON")
    _data(i)
    i.set_defaults(func=cmd_info)


def _data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR", help="data directory (default: HMI_DATA_DIR or the "
                                                 "user data dir)")


def _db_path(args: argparse.Namespace) -> Path:
    from hmi.historian.schema import DB_NAME
    from hmi.paths import data_dir

    return data_dir(args.data) / DB_NAME


def _reader(args: argparse.Namespace):
    from hmi.historian.query import HistoryReader
    from hmi.historian.schema import HistoryDbError

    try:
        return HistoryReader(_db_path(args), busy_timeout_s=2.0)
    except HistoryDbError as exc:
        raise CliError(str(exc)) from None


def _range(args: argparse.Namespace) -> tuple[float, float]:
    from hmi.timeparse import TimeParseError, parse_range

    try:
        t0, t1 = parse_range(args.start, args.end)
    except TimeParseError as exc:
        raise CliError(str(exc)) from None
    if t1 == t0:
        raise CliError(f"the range is empty: --from {args.start} equals --to {args.end}")
    return t0, t1


def _check_tags(args: argparse.Namespace) -> list[str]:
    from hmi.project import load_project

    project = load_project(args.project)
    known = {t.name for t in project.tags}
    unknown = [t for t in args.tag if t not in known]
    if unknown:
        raise CliError(f"unknown tag(s) {', '.join(map(repr, unknown))} in {args.project} "
                       f"({len(known)} tags defined)")
    return list(dict.fromkeys(args.tag))


def cmd_export(args: argparse.Namespace) -> int:
    tags = _check_tags(args)
    t0, t1 = _range(args)
    with _reader(args) as reader:
        present = [t for t in tags if reader.has_tag(t)]
        for tag in tags:
            if tag not in present:
                print(f"hmi: note: nothing recorded for {tag}", file=sys.stderr)
        from hmi.cli.display import progress_bar

        total = sum(reader.count(t, t0, t1) for t in present)
        with progress_bar("export", total, total >= PROGRESS_MIN_ROWS and sys.stderr.isatty()
                          ) as progress:
            _export_rows(args, reader, present, t0, t1, progress)
    if args.csv and args.csv != "-":
        print(f"exported {progress.done} samples to {args.csv}", file=sys.stderr)
    return 0


def _export_rows(args: argparse.Namespace, reader: Any, present: list[str], t0: float,
                 t1: float, progress: Bar) -> None:
    import csv

    rows = ((s, tag) for tag in present for s in reader.iter_raw(tag, t0, t1))
    if args.json:
        out = sys.stdout
        out.write("[")
        first = True
        for sample, _ in rows:
            out.write(("\n" if first else ",\n") + json.dumps(sample.to_json()))
            first = False
            progress.advance()
        out.write("\n]\n")
        return
    try:
        handle = (sys.stdout if not args.csv or args.csv == "-"
                  else open(args.csv, "w", newline="", encoding="utf-8"))  # noqa: SIM115
    except OSError as exc:
        raise CliError(f"cannot write {args.csv}: {exc.strerror}") from None
    try:
        writer = csv.writer(handle)
        writer.writerow(["tag", "ts", "value", "quality", "reason"])
        for sample, tag in rows:
            value = "" if sample.value is None else sample.value
            writer.writerow([tag, iso_utc(sample.ts), value, str(sample.quality),
                             sample.reason])
            progress.advance()
    finally:
        if handle is not sys.stdout:
            handle.close()


def cmd_stats(args: argparse.Namespace) -> int:
    tags = _check_tags(args)
    t0, t1 = _range(args)
    results: list[dict[str, Any]] = []
    with _reader(args) as reader:
        for tag in tags:
            if not reader.has_tag(tag):
                results.append({"tag": tag, "count": 0, "note": "nothing recorded"})
                continue
            stats = reader.statistics(tag, t0, t1)
            stats["from"], stats["to"] = iso_utc(t0), iso_utc(t1)
            results.append(stats)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for stats in results:
        print(stats["tag"])
        for key, value in stats.items():
            if key != "tag":
                shown = f"{value:.6g}" if isinstance(value, float) else value
                print(f"  {key:<20} {shown}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    import sqlite3

    from hmi.historian.schema import db_size_bytes

    dest = Path(args.dest)
    if dest.is_dir():
        dest = dest / time.strftime("history-%Y%m%d-%H%M%S.db")
    if dest.exists():
        raise CliError(f"{dest} exists; refusing to overwrite a file (pick a new name)")
    if not dest.parent.is_dir():
        raise CliError(f"no such directory: {dest.parent}")
    with _reader(args) as reader:
        target = sqlite3.connect(dest)
        try:
            # online backup: copies pages in steps, so the recording station is never blocked
            reader.conn.backup(target, pages=4096)
            ok = target.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as exc:
            target.close()
            dest.unlink(missing_ok=True)
            raise CliError(f"backup to {dest} failed: {exc}") from None
        target.close()
    if ok != "ok":
        raise CliError(f"the backup {dest} fails quick_check: {ok}")
    print(f"backed up {reader.path} to {dest} ({db_size_bytes(dest):,} bytes)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import sqlite3

    with _reader(args) as reader:
        try:
            problems = [r[0] for r in reader.conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            raise CliError(f"{reader.path} is corrupt: {exc}") from None
    if problems == ["ok"]:
        print(f"{reader.path}: ok")
        return 0
    for line in problems[:20]:
        print(line, file=sys.stderr)
    raise CliError(f"{reader.path} fails integrity_check ({len(problems)} problem(s)); "
                   "make a backup, then move it aside and restart the station")


def cmd_info(args: argparse.Namespace) -> int:
    from hmi.historian.schema import db_size_bytes, get_meta

    with _reader(args) as reader:
        conn = reader.conn
        info: dict[str, Any] = {"path": str(reader.path), "size_bytes": db_size_bytes(reader.path),
                                "schema_version": conn.execute("PRAGMA user_version").fetchone()[0],
                                "tags": conn.execute("SELECT count(*) FROM tags").fetchone()[0]}
        for table in ("samples", "rollup_1m", "rollup_1h", "gaps"):
            info[f"{table}_rows"] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        lo, hi = conn.execute("SELECT min(t), max(t) FROM samples").fetchone()
        info["oldest"] = iso_utc(lo / 1000) if lo is not None else None
        info["newest"] = iso_utc(hi / 1000) if hi is not None else None
        info["bytes_per_sample"] = (round(info["size_bytes"] / info["samples_rows"], 1)
                                    if info["samples_rows"] else None)
        until = get_meta(conn, "rollup_1m_until")
        info["rolled_up_until"] = iso_utc(int(until) / 1000) if until else None
        info["stopped_cleanly"] = get_meta(conn, "clean_stop") == "1"
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:<18} {value}")
    return 0
