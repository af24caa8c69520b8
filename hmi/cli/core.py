"""Core subcommands: check, sim, run, tags, demo. Output for people goes to stdout, problems to
stderr; `--json` output is the contract scripts read."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import socket
import threading
import time
from collections import Counter
from pathlib import Path

from hmi.cli.base import CliError
from hmi.paths import data_dir
from hmi.project import Project, load_project
from hmi.tags import Reason

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="validate a project file",
                       description="Validate a project file; print every problem as "
                                   "file:line: field: message and exit 2 if there are any.")
    p.add_argument("project", type=Path)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("sim", help="serve the demo plant over Modbus TCP and OPC UA",
                       description="Serve the simulated bottling line on 127.0.0.1: the filler "
                                   "PLC over Modbus TCP, the packer over OPC UA.")
    p.add_argument("--modbus-port", type=int, default=5020, metavar="N")
    p.add_argument("--opcua-port", type=int, default=4840, metavar="N")
    p.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                   help="stop after this many seconds (default: until Ctrl-C)")
    p.add_argument("--seed", type=int, default=None, help="seed for the random faults")
    p.add_argument("--fault-every", type=float, default=120.0, metavar="SECONDS",
                   help="mean time between random faults, 0 for none (default 120)")
    p.set_defaults(func=cmd_sim, long_running=True)

    p = sub.add_parser("run", help="run the station (with its window, or --headless)",
                       description="Run the station: devices, historian, alarms, and the "
                                   "operator window unless --headless.")
    p.add_argument("project", type=Path)
    p.add_argument("--headless", action="store_true", help="no display: runtime only")
    p.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                   help="stop after this many seconds (default: until Ctrl-C/SIGTERM)")
    p.add_argument("--data", metavar="DIR", help="data directory (default: HMI_DATA_DIR or the "
                                                 "platform's user data dir)")
    p.add_argument("--status-every", type=float, default=10.0, metavar="SECONDS",
                   help="print a status line this often when headless (0: never)")
    p.set_defaults(func=cmd_run, long_running=True)

    p = sub.add_parser("tags", help="read tags and print them",
                       description="Read every tag of the project and print name, value, "
                                   "quality, reason and timestamp.")
    p.add_argument("project", type=Path)
    p.add_argument("--once", action="store_true", help="read once and exit")
    p.add_argument("--json", action="store_true", help="JSON list output")
    p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                   help="how long to wait for the first values (default 5)")
    p.add_argument("--data", metavar="DIR", help="data directory")
    p.set_defaults(func=cmd_tags)

    p = sub.add_parser("demo", help="start the demo plant and the station on it",
                       description="Start the simulated plant (Modbus TCP + OPC UA on loopback) "
                                   "and the station on resources/demo/project.toml, in its own "
                                   "data folder DATA/demo/ with demo accounts (printed; demo "
                                   "only), the operator logged in.")
    p.add_argument("--headless", action="store_true", help="no display: runtime only")
    p.add_argument("--for", dest="duration", type=float, metavar="SECONDS")
    p.add_argument("--data", metavar="DIR", help="data directory; the demo keeps its data in "
                                                 "DIR/demo/, apart from a real station's")
    p.add_argument("--modbus-port", type=int, default=0, metavar="N",
                   help="default 5020, or a free port if 5020 is taken")
    p.add_argument("--opcua-port", type=int, default=0, metavar="N",
                   help="default 4840, or a free port if 4840 is taken")
    p.add_argument("--mes-port", type=int, default=0, metavar="N",
                   help="the reference MES stub's port: default 4841, or a free port if 4841 "
                        "is taken")
    p.add_argument("--fault-every", type=float, default=90.0, metavar="SECONDS")
    p.add_argument("--status-every", type=float, default=10.0, metavar="SECONDS")
    p.set_defaults(func=cmd_demo, long_running=True)


def cmd_check(args: argparse.Namespace) -> int:
    project = load_project(args.project)
    print(f"{args.project}: ok: {project.name!r}: {len(project.devices)} devices, "
          f"{len(project.model.tags)} tags, {len(project.alarms)} alarms "
          f"(plus the station's own: {len(project.station_tags)} $station tags, "
          f"{len(project.station_alarms)} alarms)")
    return 0


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cmd_sim(args: argparse.Namespace) -> int:
    from hmi.simulator.serve import serve

    for flag, port in (("--modbus-port", args.modbus_port), ("--opcua-port", args.opcua_port)):
        if not 1 <= port <= 65535:
            raise CliError(f"{flag} must be 1..65535, found {port}")
        if not _port_free(port):
            raise CliError(f"port {port} ({flag}) is in use on 127.0.0.1")
    print(f"demo plant: Modbus TCP 127.0.0.1:{args.modbus_port} (filler, unit 1), "
          f"OPC UA opc.tcp://127.0.0.1:{args.opcua_port} (packer); Ctrl-C stops", flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(args.modbus_port, args.opcua_port, args.duration, args.seed,
                    args.fault_every, stop=stop)

    asyncio.run(main())
    return 0


def _status_line(runtime: object) -> str:
    tags = runtime.tags.snapshot()  # type: ignore[attr-defined]
    counts = Counter(str(s.quality) for s in tags.values())
    devices = ", ".join(f"{name} {h.get('state')}"
                        for name, h in runtime.device_health().items())  # type: ignore[attr-defined]
    line = (f"{time.strftime('%H:%M:%S')} devices: {devices} | tags: {counts.get('good', 0)} good, "
            f"{counts.get('uncertain', 0)} uncertain, {counts.get('bad', 0)} bad")
    for service in getattr(runtime, "services", []):
        summary = getattr(service, "status_summary", None)
        text = summary() if callable(summary) else ""
        if text:  # a service with nothing configured says nothing
            line += f" | {text}"
    return line


def run_headless(project: Project, data: str | None, duration: float | None,
                 status_every: float) -> int:
    """Run the runtime until `duration` passes or SIGINT/SIGTERM; print status lines."""
    from hmi.runtime import Runtime

    runtime = Runtime(project, data_dir(data))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"running {project.name!r} headless: {len(project.devices)} devices, "
          f"{len(project.model.tags)} tags (+ {len(project.station_tags)} $station); "
          f"data in {runtime.data_dir}", flush=True)
    runtime.start()
    try:
        started = time.monotonic()
        next_status = started + (status_every or float("inf"))
        while not stop.is_set():
            now = time.monotonic()
            if duration is not None and now - started >= duration:
                break
            if now >= next_status:
                print(_status_line(runtime), flush=True)
                next_status = now + status_every
            stop.wait(0.2)
        print(_status_line(runtime), flush=True)
    finally:
        runtime.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0


def _run(project_path: Path, project: Project, args: argparse.Namespace, data: str | None) -> int:
    if args.headless:
        return run_headless(project, data, args.duration, args.status_every)
    from hmi.cli.gui import open_station

    return open_station(project, data, args.duration)


def cmd_run(args: argparse.Namespace) -> int:
    project = load_project(args.project)
    if not args.headless:
        from hmi.cli.gui import require_display

        require_display()  # before anything starts: one line, exit 2
    return _run(args.project, project, args, args.data)


def _read_once(project: Project, data: str | None, timeout_s: float) -> list[dict]:
    from hmi.runtime import Runtime

    runtime = Runtime(project, data_dir(data), services=())
    runtime.start()
    try:
        deadline = time.monotonic() + timeout_s
        runtime.wait_first_cycle(timeout_s)
        # push devices deliver after subscribing: wait (bounded) until no tag is still unread
        while time.monotonic() < deadline:
            runtime.flush(1.0)
            if all(s.reason != Reason.NOT_YET_READ for s in runtime.tags.snapshot().values()):
                break
            time.sleep(0.05)
        runtime.flush(1.0)
        snapshot = runtime.tags.snapshot()
    finally:
        runtime.stop()
    return [snapshot[t.name].to_json() for t in project.tags]


def cmd_tags(args: argparse.Namespace) -> int:
    project = load_project(args.project)
    if args.timeout <= 0:
        raise CliError(f"--timeout must be positive, found {args.timeout}")
    if not args.once:
        return _watch_tags(project, args)
    rows = _read_once(project, args.data, args.timeout)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        _print_table(project, rows)
    return 0


def _print_table(project: Project, rows: list[dict]) -> None:
    units = {t.name: t.unit for t in project.tags}
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        value = r["value"]
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        unit = units.get(r["name"], "")
        print(f"{r['name']:<{width}}  {shown:>14} {unit:<12} {r['quality']:<9} {r['ts']}"
              f"{'  ' + r['reason'] if r['reason'] else ''}")


def _watch_tags(project: Project, args: argparse.Namespace) -> int:
    from hmi.runtime import Runtime

    runtime = Runtime(project, data_dir(args.data), services=())
    runtime.start()
    try:
        while True:
            time.sleep(1.0)
            rows = [s.to_json() for s in runtime.tags.snapshot().values()]
            if args.json:
                print(json.dumps(rows, ensure_ascii=False), flush=True)
            else:
                print("\033[2J\033[H", end="")
                _print_table(project, rows)
    except KeyboardInterrupt:
        return 0
    finally:
        runtime.stop()


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.headless:
        from hmi.cli.gui import require_display

        require_display()
    from hmi.mes.stub import MesStub, StubThread
    from hmi.simulator.serve import (
        DEFAULT_MES_PORT,
        DEFAULT_MODBUS_PORT,
        DEFAULT_OPCUA_PORT,
        SimulatorThread,
        demo_project_text,
    )

    modbus_port = args.modbus_port or (DEFAULT_MODBUS_PORT if _port_free(DEFAULT_MODBUS_PORT)
                                       else 0)
    opcua_port = args.opcua_port or (DEFAULT_OPCUA_PORT if _port_free(DEFAULT_OPCUA_PORT) else 0)
    mes_port = args.mes_port or (DEFAULT_MES_PORT if _port_free(DEFAULT_MES_PORT) else 0)
    # the demo's own folder: its demo accounts never reach a real station's users database
    folder = data_dir(args.data) / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        sim = SimulatorThread(modbus_port, opcua_port, seed=None, fault_every_s=args.fault_every)
        stub = StubThread(MesStub(mes_port, out=folder / "mes-stub.jsonl"))
        try:
            sim.start()
            stub.start()
            break
        except RuntimeError as exc:
            sim.stop()
            stub.stop()
            if attempt == 2 or args.modbus_port or args.opcua_port or args.mes_port:
                raise CliError(str(exc)) from None
            # a default port seen free was taken before we bound it (another program or
            # demo starting at the same moment): once more on ports the system picks
            log.warning("demo: %s; starting again on free ports", exc)
            modbus_port = opcua_port = mes_port = 0
    try:
        project_path = folder / "demo-project.toml"
        project_path.write_text(demo_project_text(sim.modbus_port, sim.opcua_port,
                                                  stub.stub.port), encoding="utf-8")
        print(f"demo plant: Modbus TCP 127.0.0.1:{sim.modbus_port}, OPC UA "
              f"opc.tcp://127.0.0.1:{sim.opcua_port}; MES stub {stub.url} storing to "
              f"{stub.stub.out}; project {project_path}", flush=True)
        project = load_project(project_path)
        _demo_work_order(project, folder)
        login, notice = _demo_accounts(project, folder)
        if args.headless:
            return run_headless(project, str(folder), args.duration, args.status_every)
        from hmi.cli.gui import open_station

        return open_station(project, str(folder), args.duration, login=login, notice=notice)
    finally:
        stub.stop()
        sim.stop()
        print(f"MES stub: {len(stub.stub.events)} event(s) stored, {stub.stub.duplicates} "
              f"duplicate(s) dropped", flush=True)


def _demo_accounts(project: Project, folder: Path) -> tuple[tuple[str, str] | None, str]:
    """The demo's accounts (made on the first run in the demo folder), printed; returns the
    operator's login for the window and the line for its notification area."""
    from hmi.security.demo_users import DEMO_LOGIN, describe, ensure_demo_users

    accounts = ensure_demo_users(folder, project.model.security)
    if not accounts:
        print(f"demo accounts: none in {folder} (it has other users)", flush=True)
        return None, ""
    line = f"demo accounts (demo only, never on a real station): {describe(accounts)}"
    print(line, flush=True)
    login = next(((n, pw) for n, _r, pw in accounts if n == DEMO_LOGIN), None)
    return login, line


def _demo_work_order(project: Project, folder: Path) -> None:
    """Give the demo line a work order (once), so its events carry a full context."""
    from hmi.mes.core import MesCore

    core = MesCore(project, folder)
    try:
        line = next(iter(core.lines.values()))
        if not line.context["work_order"]:
            core.set_context(line.name, {"work_order": time.strftime("WO-%Y%m%d-001"),
                                         "product": "WATER05",
                                         "lot": time.strftime("L%y%j-A"),
                                         "operator": "demo"}, "demo")
            core.commit()
    finally:
        core.close()
