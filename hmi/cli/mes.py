"""`hmi mes ...` (the outbox: status, drain, quarantine) and `hmi mes-stub` (the reference MES).

`status` and `quarantine list|export` only read `mes.db`. `drain` and `quarantine retry` ask a
running station (through the command table, as `hmi context set` does) or, with none running,
do the work here: `drain` then runs the same sender as the station until the outbox is empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from hmi.cli.base import CliError
from hmi.paths import data_dir
from hmi.project import Project, load_project
from hmi.tags import iso_utc

STUB_PORT = 4841


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", type=Path)
    p.add_argument("--data", metavar="DIR", help="data directory (default: HMI_DATA_DIR or the "
                                                 "platform's user data dir)")


def register(sub: argparse._SubParsersAction) -> None:
    parent = sub.add_parser("mes", help="the MES outbox: status, drain, quarantine",
                            description=__doc__)
    msub = parent.add_subparsers(dest="mes_command", metavar="ACTION", required=True)
    p = msub.add_parser("status", help="depth, oldest pending age, last error, quarantined")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = msub.add_parser("drain", help="deliver now, with a progress bar; exit 0 when empty")
    _common(p)
    p.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                   help="give up (exit 1) after this long without progress (default 300)")
    p.set_defaults(func=cmd_drain)

    p = msub.add_parser("quarantine", help="events the MES refused: list, retry, export")
    _common(p)
    p.add_argument("action", choices=("list", "retry", "export"))
    p.add_argument("--seq", type=int, action="append", metavar="N",
                   help="only these events (retry; default all)")
    p.add_argument("--json", action="store_true", help="list as JSON")
    p.add_argument("--out", type=Path, metavar="FILE", help="export: JSON lines to FILE "
                                                            "(default stdout)")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser("mes-stub", help="the reference MES over OPC UA (for tests and demos)",
                       description="Serve Objects/MES/SubmitEvents in urn:hmi-station:mes on "
                                   "127.0.0.1, store events deduplicated by id (across "
                                   "restarts with --out), misbehave on demand.")
    p.add_argument("--port", type=int, default=STUB_PORT, metavar="N", help="default 4841")
    p.add_argument("--out", type=Path, metavar="FILE.jsonl", help="store events here")
    p.add_argument("--refuse-first", type=int, default=0, metavar="N",
                   help="answer the first N calls BadResourceUnavailable")
    p.add_argument("--stall-s", type=float, default=0.0, metavar="S",
                   help="store, then wait S seconds before answering each call")
    p.add_argument("--stall-calls", type=int, default=None, metavar="N",
                   help="stall only the first N calls (default: every call)")
    p.add_argument("--poison", metavar="TYPE", help="refuse events of this type")
    p.add_argument("--max-message-size", type=int, default=0, metavar="BYTES",
                   help="the transport's message size limit (default asyncua's 100 MB)")
    p.add_argument("--cert", type=Path, metavar="CERT", help="server certificate (DER/PEM): "
                                                           "offer Basic256Sha256 only")
    p.add_argument("--key", type=Path, metavar="KEY", help="the certificate's private key")
    p.add_argument("--for", dest="duration", type=float, metavar="SECONDS")
    p.set_defaults(func=cmd_stub, long_running=True)


def _project(args: argparse.Namespace) -> Project:
    project = load_project(args.project)
    if not project.model.mes.enabled:
        raise CliError(f"{args.project} has no MES: set [mes] enabled = true and url")
    return project


def _reader(args: argparse.Namespace) -> Any:
    from hmi.mes.outbox import OutboxReader
    from hmi.mes.store import MesStore

    path = data_dir(args.data) / "mes.db"
    MesStore(path).close()  # the schema, if nothing ran yet
    return OutboxReader(path)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def cmd_status(args: argparse.Namespace) -> int:
    project = _project(args)
    reader = _reader(args)
    now = time.time()
    try:
        status = reader.status(now)
    finally:
        reader.close()
    beat = status.pop("station_heartbeat")
    status["station_running"] = beat is not None and now - beat < 5.0
    status["url"] = project.model.mes.url
    limit = int(project.model.mes.outbox_limit_mb * 1024 * 1024)
    status["limit_bytes"] = limit
    status["over_limit"] = status["bytes"] > limit
    if status["last_delivered"] is not None:
        status["last_delivered"] = iso_utc(status["last_delivered"])
    if status["last_error_ts"] is not None:
        status["last_error_ts"] = iso_utc(status["last_error_ts"])
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    from hmi.cli.display import print_table

    rows = [("MES", status["url"]),
            ("station", "running" if status["station_running"] else "not running"),
            ("pending", f"{status['depth']:,} event(s), {status['bytes']:,} bytes"
                        + ("  OVER LIMIT" if status["over_limit"] else "")),
            ("oldest pending", _age(status["oldest_age_s"])),
            ("quarantined", status["quarantined"]),
            ("delivered", f"{status['delivered']:,} (last {status['last_delivered'] or '-'})"),
            ("last error", status["last_error"] or "-"),
            ("next seq", status["next_seq"])]
    print_table(None, ("", ""), rows, header=False)
    return 0


def cmd_drain(args: argparse.Namespace) -> int:
    from hmi.cli.display import progress_bar
    from hmi.mes import commands
    from hmi.mes.outbox import DirectSink, Outbox
    from hmi.mes.sender import Sender
    from hmi.mes.store import MesStore

    project = _project(args)
    folder = data_dir(args.data)
    store = MesStore(folder / "mes.db")
    reader = _reader(args)
    sender = None
    try:
        if commands.service_running(store):
            status, result = commands.submit_and_wait(store, "drain", {}, "")
            if status != "done":
                print(f"hmi: {result}", file=sys.stderr)
                return 1
            where = "by the running station"
        else:
            sender = Sender(project.model.mes, store.path, folder,
                            DirectSink(Outbox(store, project.model.mes.quarantine_after)))
            sender.start()
            where = f"to {project.model.mes.url}"
        start_depth = reader.depth()
        print(f"draining {start_depth:,} event(s) {where}", file=sys.stderr)
        code = _watch(reader, start_depth, args.timeout, sender, progress_bar)
    finally:
        if sender is not None:
            sender.stop()
        reader.close()
        store.close()
    return code


def _watch(reader: Any, start_depth: int, timeout_s: float, sender: Any, progress_bar: Any
           ) -> int:
    """Show the outbox emptying; 0 when it is empty, 1 after `timeout_s` without progress."""
    last_depth, last_progress = start_depth, time.monotonic()
    high = start_depth
    with progress_bar("drain", start_depth or None) as bar:
        while True:
            depth = reader.depth()
            high = max(high, depth)
            bar.update(high - depth, high)
            if depth == 0:
                break
            if depth < last_depth:
                last_progress = time.monotonic()
            last_depth = depth
            if time.monotonic() - last_progress > timeout_s:
                error = reader.status(time.time())["last_error"] or (
                    sender.status.last_error if sender else "")
                print(f"hmi: no progress for {timeout_s:g} s, {depth:,} event(s) still "
                      f"pending: {error or 'no error reported'}", file=sys.stderr)
                return 1
            time.sleep(0.1)  # another thread or process delivers: poll its progress
    quarantined = reader.status(time.time())["quarantined"]
    print(f"outbox empty: {high:,} event(s) delivered"
          + (f"; {quarantined} quarantined (hmi mes quarantine list)" if quarantined else ""),
          file=sys.stderr)
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from hmi.mes import commands
    from hmi.mes.outbox import Outbox
    from hmi.mes.store import MesStore

    project = _project(args)
    if args.action == "retry":
        folder = data_dir(args.data)
        store = MesStore(folder / "mes.db")
        try:
            if commands.service_running(store):
                status, result = commands.submit_and_wait(
                    store, "quarantine_retry", {"seqs": args.seq}, "")
                if status != "done":
                    print(f"hmi: {result}", file=sys.stderr)
                    return 1
            else:
                outbox = Outbox(store, project.model.mes.quarantine_after)
                result = f"{outbox.retry(args.seq)} event(s) back in the outbox"
        finally:
            store.close()
        print(result)
        return 0
    reader = _reader(args)
    try:
        rows = reader.quarantined()
    finally:
        reader.close()
    if args.action == "export":
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        if args.out:
            try:
                args.out.write_text(lines, encoding="utf-8")
            except OSError as exc:
                raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
            print(f"{len(rows)} quarantined event(s) written to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(lines)
        return 0
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    from hmi.cli.display import print_table

    print_table(None, ("seq", "type", "tries", "quarantined", "reason"),
                [(r["seq"], r["type"], r["tries"], iso_utc(r["quarantined"]), r["reason"])
                 for r in rows], right=("seq", "tries"))
    print(f"({len(rows)} quarantined)", file=sys.stderr)
    return 0


def cmd_stub(args: argparse.Namespace) -> int:
    from hmi.cli.core import _port_free
    from hmi.mes.stub import MesStub

    if not 1 <= args.port <= 65535:
        raise CliError(f"--port must be 1..65535, found {args.port}")
    if not _port_free(args.port):
        raise CliError(f"port {args.port} is in use on 127.0.0.1")
    for flag, value in (("--refuse-first", args.refuse_first), ("--stall-s", args.stall_s),
                        ("--max-message-size", args.max_message_size)):
        if value < 0:
            raise CliError(f"{flag} must not be negative, found {value}")
    if 0 < args.max_message_size < 8192:
        raise CliError("--max-message-size must be at least 8192 bytes (OPC UA's minimum)")
    if bool(args.cert) != bool(args.key):
        raise CliError("--cert and --key go together")
    for path in (args.cert, args.key):
        if path is not None and not path.is_file():
            raise CliError(f"no such file: {path}")
    stub = MesStub(args.port, out=args.out, refuse_first=args.refuse_first,
                   stall_s=args.stall_s, poison=args.poison,
                   max_message_size=args.max_message_size, stall_calls=args.stall_calls,
                   certificate=(args.cert, args.key) if args.cert else None)
    print(f"MES stub on {stub.url} (namespace {stub.namespace}, Objects/MES/SubmitEvents); "
          f"storing to {args.out or 'memory'}; Ctrl-C stops", flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stub.start()
        print(f"{len(stub.events)} event(s) already stored", flush=True)
        started, shown = loop.time(), (-1, -1, -1)
        try:
            while not stop.is_set():
                if args.duration is not None and loop.time() - started >= args.duration:
                    break
                now = (len(stub.events), stub.duplicates, stub.refused)
                if now != shown:
                    shown = now
                    print(f"{time.strftime('%H:%M:%S')} stored {now[0]:,}, duplicates "
                          f"{now[1]:,}, refused calls {now[2]:,}", flush=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            await stub.stop()

    asyncio.run(main())
    return 0

