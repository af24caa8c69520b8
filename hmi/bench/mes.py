"""`hmi bench --only mes`: the MES outbox and sender.

- Enqueue: events/s through `MesStore.append_events` (build each event with its id, give it
  its seq, encode it, insert) in transactions of 1,000 with `synchronous=FULL`, against
  `json.dumps` of plain dicts + `sqlite3.executemany` of the same events (ids made up front),
  same pragmas, same run.
- Delivery: a backlog of 100,000 events (10,000 with --quick) drained by the station's sender
  to the reference MES (`hmi mes-stub`, a separate process on loopback, storing to a file with
  fsync per batch, as the stub always does) in batches of 500: events/s, time to drain
  (goal <= 60 s for 100,000), and the CPU of this process while draining (sender thread,
  outbox reads and deletes; the MES's own CPU is not counted). Baseline: a raw asyncua client
  calling SubmitEvents with the same payloads, read from nothing and deleting nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hmi.bench.harness import BenchResult
from hmi.mes.config import MesConfig
from hmi.mes.events import PendingEvent, encode
from hmi.mes.outbox import DirectSink, Outbox, OutboxReader
from hmi.mes.sender import Sender
from hmi.mes.store import MesStore, connect

BATCH = 1000
SEND_BATCH = 500
CONTEXT = {"work_order": "WO-1001", "product": "WATER05", "lot": "L26329-A", "shift": "Early",
           "operator": "ann"}


def _events(n: int, offset: int = 0) -> list[PendingEvent]:
    return [PendingEvent("production.count", 1_800_000_000.0 + i, "Acme/PlantA/Line1", CONTEXT,
                         {"good": i, "reject": i // 50, "total": i + i // 50, "delta_good": 1,
                          "delta_reject": 0})
            for i in range(offset, offset + n)]


def _enqueue(path: Path, n: int) -> float:
    store = MesStore(path)
    try:
        started = time.perf_counter()
        for start in range(0, n, BATCH):
            events = _events(BATCH, start)
            with store.transaction() as db:
                MesStore.append_events(db, events, "bench", time.time())
        return n / (time.perf_counter() - started)
    finally:
        store.close()


def _enqueue_raw(path: Path, n: int) -> float:
    """The same events serialized with json.dumps from plain dicts (ids and times made up
    front) and inserted with executemany: the raw libraries doing the same work."""
    import json
    import uuid

    db = connect(path)
    db.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ts REAL, "
               "type TEXT, body TEXT, size INTEGER, enqueued REAL)")
    ids = [str(uuid.uuid4()) for _ in range(n)]
    stamps = [f"2027-01-15T08:00:{i % 60:02d}.000Z" for i in range(n)]
    started = time.perf_counter()
    seq = 1
    for start in range(0, n, BATCH):
        rows = []
        for i in range(start, start + BATCH):
            body = json.dumps({"id": ids[i], "source": "bench", "seq": seq, "ts": stamps[i],
                               "type": "production.count", "asset": "Acme/PlantA/Line1",
                               "context": CONTEXT, "data": {
                                   "good": i, "reject": i // 50, "total": i + i // 50,
                                   "delta_good": 1, "delta_reject": 0}},
                              separators=(",", ":"))
            rows.append((seq, ids[i], 0.0, "production.count", body, len(body), 0.0))
            seq += 1
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return n / elapsed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_stub(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "hmi.cli", "mes-stub", "--port", str(port),
                             "--out", str(folder / f"stub-{port}.jsonl")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)  # the stub process is starting: poll its port
    proc.kill()
    raise RuntimeError("the MES stub did not start")


def _stop_stub(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _drain(path: Path, folder: Path, port: int, n: int) -> tuple[float, float]:
    """(seconds to drain, CPU % of one core in this process while draining)."""
    config = MesConfig(enabled=True, url=f"opc.tcp://127.0.0.1:{port}", batch_size=SEND_BATCH,
                       retry_max_s=1.0)
    store = MesStore(path)
    reader = OutboxReader(path)
    sender = Sender(config, path, folder, DirectSink(Outbox(store, 5)))
    try:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        sender.start()
        deadline = time.monotonic() + 600
        while reader.depth() and time.monotonic() < deadline:
            time.sleep(0.05)  # the sender thread delivers; poll the outbox depth
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        if reader.depth():
            raise RuntimeError(f"drain stalled: {sender.status.last_error}")
        if sender.status.events != n:
            raise RuntimeError(f"delivered {sender.status.events} of {n}")
        return wall, 100.0 * cpu / wall
    finally:
        sender.stop()
        reader.close()
        store.close()


def _drain_raw(port: int, n: int) -> float:
    """Seconds for a bare asyncua client to submit the same payloads."""
    from asyncua import Client, ua

    payloads = []
    seq = 1
    for start in range(0, n, SEND_BATCH):
        bodies = []
        for event in _events(SEND_BATCH, start):
            event.id = f"raw-{seq}"
            bodies.append(encode(event, "bench-raw", seq))
            seq += 1
        payloads.append("[" + ",".join(bodies) + "]")

    async def run() -> float:
        client = Client(f"opc.tcp://127.0.0.1:{port}", timeout=10)
        await client.connect()
        try:
            idx = await client.get_namespace_index("urn:hmi-station:mes")
            mes = await client.nodes.objects.get_child(f"{idx}:MES")
            method = await mes.get_child(f"{idx}:SubmitEvents")
            started = time.perf_counter()
            for payload in payloads:
                await mes.call_method(method, ua.Variant(payload, ua.VariantType.String))
            return time.perf_counter() - started
        finally:
            await client.disconnect()

    return asyncio.run(run())


def run(quick: bool) -> list[BenchResult]:
    import logging

    logging.getLogger("asyncua").setLevel(logging.ERROR)
    n_enqueue = 20_000 if quick else 100_000
    n_drain = 10_000 if quick else 100_000
    results: list[BenchResult] = []
    with tempfile.TemporaryDirectory(prefix="hmi-bench-mes-") as tmp:
        folder = Path(tmp)
        ours = _enqueue(folder / "mes.db", n_enqueue)
        raw = _enqueue_raw(folder / "raw.db", n_enqueue)
        results.append(BenchResult("mes", "enqueue events/s (FULL sync, 1,000/commit)", ours,
                                   "events/s", raw, ours / raw, ">=0.5x", ours / raw >= 0.5,
                                   f"{n_enqueue:,} events"))
        if n_drain != n_enqueue:
            os.remove(folder / "mes.db")
            _enqueue(folder / "mes.db", n_drain)
        proc, port = _start_stub(folder)
        try:
            wall, cpu = _drain(folder / "mes.db", folder, port, n_drain)
            raw_wall = _drain_raw(port, n_drain)
        finally:
            _stop_stub(proc)
    rate = n_drain / wall
    results.append(BenchResult("mes", "delivered events/s to a loopback MES", rate, "events/s",
                               n_drain / raw_wall, raw_wall / wall, "", None,
                               f"batches of {SEND_BATCH}, MES stub in its own process"))
    goal_s = 60.0 * n_drain / 100_000
    results.append(BenchResult("mes", f"drain a {n_drain:,}-event backlog", wall, "s", raw_wall,
                               raw_wall / wall, f"<={goal_s:g} s", wall <= goal_s))
    results.append(BenchResult("mes", "CPU of the station while draining", cpu, "% of a core",
                               note="sender thread + outbox; the MES process not counted"))
    return results
