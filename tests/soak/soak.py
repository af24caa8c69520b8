"""Soak: the demo station under faults for a given time, watching for growth that is not data.

Runs the simulated plant (Modbus TCP + OPC UA on loopback, its own random faults) and the full
runtime (historian, alarms, `$station`) on the demo project, and every `--fault-every` seconds
injects the next fault of a cycle:
  1. another program holds the history database's write lock for 7 s (the historian holds rows
     in memory, then catches up),
  2. the same for the alarm journal for 5 s (its busy timeout is 2 s),
  3. the wall clock steps back 3 s, 4. forward 3 s (injected wall clock; monotonic untouched),
  5. the plant's Modbus and OPC UA servers are stopped for 3 s and restarted (reconnects).
Every `--sample-every` seconds it records RSS, threads, open file descriptors, history and
journal file sizes and rows; at the end it prints start, end and the slope per hour (least
squares over the samples after the first tenth, the warm-up) as a table, and `--json FILE`.

    python -m tests.soak.soak --minutes 60 [--fault-every 5] [--json out.json]
    python -m tests.soak.soak --quick          # 20 s smoke run
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from alarms.service import AlarmService
from hmi.historian.schema import db_size_bytes
from hmi.historian.service import HistorianService
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.simulator.serve import SimulatorThread, demo_project_text
from hmi.station.monitor import rss_mb


class Wall:
    """The injected wall clock: real time plus an offset the soak steps."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def hold_lock(path: Path, seconds: float, stop: threading.Event) -> None:
    """Another program holding the database's write lock (in a thread of its own)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        stop.wait(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


def measure(runtime: Runtime, data: Path) -> dict[str, float]:
    hist = next(s for s in runtime.services if isinstance(s, HistorianService))
    alarms = next(s for s in runtime.services if isinstance(s, AlarmService))
    d = hist.historian.diagnostics()
    return {
        "t_s": time.monotonic(),
        "rss_mb": rss_mb() or 0.0,
        "threads": threading.active_count(),
        "fds": len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").exists() else 0,
        "history_mb": db_size_bytes(data / "history.db") / 1e6,
        "history_rows": float(d["committed_rows"] or 0),
        "journal_mb": db_size_bytes(data / "alarms.db") / 1e6,
        "journal_rows": float(alarms.journal.rows_written),
        "held_rows": float(d["buffered_rows"] + alarms.journal.buffered_rows()),
        "dropped_rows": float(d["dropped_rows"] + runtime.write_budget.journal.dropped),
    }


def fd_kinds() -> dict[str, int]:
    """Open file descriptors by kind (socket, pipe, anon_inode, or the file's name): tells a
    leak (one kind growing with the faults) from sockets that happen to be open at a sample."""
    kinds: dict[str, int] = {}
    folder = Path("/proc/self/fd")
    if not folder.exists():
        return kinds
    for fd in folder.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        kind = target.split(":")[0] if ":" in target else Path(target).name
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items()))


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    var = sum((p[0] - mx) ** 2 for p in points)
    return 0.0 if var == 0 else sum((p[0] - mx) * (p[1] - my) for p in points) / var * 3600


def report(samples: list[dict[str, float]]) -> dict[str, Any]:
    t0 = samples[0]["t_s"]
    warm = samples[max(1, len(samples) // 10):] if len(samples) > 3 else samples
    out: dict[str, Any] = {"minutes": round((samples[-1]["t_s"] - t0) / 60, 1),
                           "samples": len(samples), "figures": {}}
    for key in samples[0]:
        if key == "t_s":
            continue
        out["figures"][key] = {
            "start": round(samples[0][key], 2), "end": round(samples[-1][key], 2),
            "min": round(min(s[key] for s in samples), 2),
            "max": round(max(s[key] for s in samples), 2),
            "slope_per_h": round(slope_per_hour([(s["t_s"] - t0, s[key]) for s in warm]), 2)}
    return out


def run(minutes: float, fault_every_s: float, sample_every_s: float, data: Path,
        log: logging.Logger) -> dict[str, Any]:
    sim = SimulatorThread(0, 0, seed=11, fault_every_s=30.0)
    sim.start()
    project_path = data / "soak-project.toml"
    project_path.write_text(demo_project_text(sim.modbus_port, sim.opcua_port),
                            encoding="utf-8")
    wall = Wall()
    runtime = Runtime(load_project(project_path), data, clock=wall)
    runtime.start()
    stop = threading.Event()
    helpers: list[threading.Thread] = []
    faults = {"history_locked": 0, "journal_locked": 0, "clock_back": 0, "clock_forward": 0,
              "plant_restarted": 0}
    samples = [measure(runtime, data)]
    fds_start = fd_kinds()
    started = time.monotonic()
    next_fault = started + fault_every_s
    next_sample = started + sample_every_s
    step = 0
    try:
        while time.monotonic() - started < minutes * 60:
            now = time.monotonic()
            if now >= next_fault:
                kind = list(faults)[step % len(faults)]
                step += 1
                faults[kind] += 1
                if kind in ("history_locked", "journal_locked"):
                    name, secs = (("history.db", 7.0) if kind == "history_locked"
                                  else ("alarms.db", 5.0))
                    thread = threading.Thread(target=hold_lock, args=(data / name, secs, stop),
                                              name=f"soak-lock-{name}", daemon=True)
                    thread.start()
                    helpers.append(thread)
                elif kind == "clock_back":
                    wall.offset -= 3.0
                elif kind == "clock_forward":
                    wall.offset += 3.0
                else:
                    sim.stop()
                    time.sleep(3.0)
                    sim = SimulatorThread(sim.modbus_port, sim.opcua_port, seed=step,
                                          fault_every_s=30.0)
                    sim.start()
                helpers = [h for h in helpers if h.is_alive()]
                next_fault = time.monotonic() + fault_every_s
            if now >= next_sample:
                samples.append(measure(runtime, data))
                log.info("soak %.1f min: %s", (now - started) / 60,
                         {k: round(v, 1) for k, v in samples[-1].items() if k != "t_s"})
                next_sample = now + sample_every_s
            time.sleep(0.2)
        samples.append(measure(runtime, data))
        fds_end = fd_kinds()
    finally:
        stop.set()
        for thread in helpers:
            thread.join(15)
        runtime.stop()
        sim.stop()
    result = report(samples)
    result["faults"] = faults
    result["clock_steps_seen"] = runtime.time.steps
    result["fd_kinds"] = {"start": fds_start, "end": fds_end}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="20 s with faults every 2 s")
    parser.add_argument("--fault-every", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--sample-every", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--data", type=Path, help="data directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.fault_every, args.sample_every = 20 / 60, 2.0, 2.0
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    log = logging.getLogger("soak")
    log.setLevel(logging.INFO)
    data = args.data or Path(tempfile.mkdtemp(prefix="soak-"))
    data.mkdir(parents=True, exist_ok=True)
    result = run(args.minutes, args.fault_every, args.sample_every, data, log)
    print(f"soak: {result['minutes']} min, {result['samples']} samples, faults {result['faults']},"
          f" clock steps seen {result['clock_steps_seen']}; data in {data}")
    print(f"{'figure':<14} {'start':>10} {'end':>10} {'min':>10} {'max':>10} {'slope/h':>10}")
    for key, f in result["figures"].items():
        print(f"{key:<14} {f['start']:>10} {f['end']:>10} {f['min']:>10} {f['max']:>10} "
              f"{f['slope_per_h']:>10}")
    print(f"open fds by kind: start {result['fd_kinds']['start']}, "
          f"end {result['fd_kinds']['end']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
