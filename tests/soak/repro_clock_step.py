"""Reproduce issue 11's second situation: the wall clock steps back (an NTP correction).

The wall clock (`time.time`) is replaced before anything is imported, as libfaketime would do
it, and stepped by `--step` seconds after `--at` seconds; the monotonic clock is untouched. A
sim counter at 100 ms is recorded for `--seconds`; then the history is read back by time.
Prints: counter values polled, stored, missing, pairs out of order, and log lines about it.

    python tests/soak/repro_clock_step.py [--step -5] [--at 10] [--seconds 20]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

_real_time = time.time
_offset = [0.0]
_lock = threading.Lock()


def _fake_time() -> float:
    return _real_time() + _offset[0]


time.time = _fake_time  # before hmi is imported: default arguments bind the fake


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--step", type=float, default=-5.0)
    parser.add_argument("--at", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from hmi.historian.query import HistoryReader
    from hmi.project import load_project
    from hmi.runtime import Runtime

    work = Path(tempfile.mkdtemp(prefix="clockstep-"))
    project_path = work / "p.toml"
    project_path.write_text(
        '[project]\nname = "clockstep"\n\n[[devices]]\nname = "sim"\nprotocol = "sim"\n'
        'poll_ms = 100\n\n[[tags]]\nname = "Counter"\ndevice = "sim"\ntype = "int32"\n'
        'sim = { signal = "counter" }\n', encoding="utf-8")
    runtime = Runtime(load_project(project_path), work / "data")
    runtime.start()
    started = time.monotonic()
    stepped = False
    while time.monotonic() - started < args.seconds:
        if not stepped and time.monotonic() - started >= args.at:
            _offset[0] += args.step
            stepped = True
            print(f"[{time.monotonic() - started:5.1f} s] wall clock stepped by {args.step:+g} s",
                  flush=True)
        time.sleep(0.05)
    last = runtime.tags.get("Counter")
    runtime.stop()
    polled = int(last.value) if last and last.value is not None else 0
    with HistoryReader(work / "data" / "history.db") as reader:
        rows = [s for s in reader.raw("Counter", 0, 4e9) if s.value is not None]
        events = reader.conn.execute("SELECT t0, t1, reason FROM gaps").fetchall()
    values = [int(s.value) for s in rows]
    missing = sorted(set(range(1, polled + 1)) - set(values))
    backwards = sum(1 for a, b in itertools.pairwise(values) if b < a)
    print(f"counter values polled: {polled}; stored: {len(values)}; missing: {len(missing)}; "
          f"pairs out of order (value going back when read by time): {backwards}")
    for a, b in itertools.pairwise(rows):
        if b.value < a.value:
            print(f"  e.g. value {a.value} at {a.ts:.3f} followed by {b.value} at {b.ts:.3f}")
            break
    print(f"history events (gaps table): {events}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
