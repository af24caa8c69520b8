"""`hmi bench --only opcua`: the OPC UA driver against a raw asyncua client, same server, same run.

Why a server process: a PLC does not share our interpreter. The asyncua server runs in a child
process (its own GIL and core) with N Double variables; this process holds the clients.

Figures:
1. Throughput: the server rewrites the first `n_fast` variables as fast as it can; our driver
   (through `Runtime`: device thread -> dispatch thread -> TagStore) and a raw asyncua client
   (high-level `Subscription` with a counting `datachange_notification`) are subscribed to the
   same nodes at the same time, with the same item settings (queue size 1: latest value, as an
   HMI wants; asyncua's default 0 means a 10,000-deep server queue, which is not comparable);
   notifications/s counted over the same window. Goal >= 0.9x.
2. Load: N items (10,000; 1,000 with --quick) sampled at 1 s, the server sweeping all values
   once a second with the write time as source timestamp; both clients subscribed at once.
   CPU share per client from Linux per-thread CPU clocks (ours: device + dispatch threads; raw:
   its loop thread), and the p95 latency from source timestamp to the value being in the tag
   table (raw: to its handler running).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from hmi.bench.harness import BenchResult

AREA = "opcua"
NAMESPACE = "urn:hmi-station:bench"
IDLE, FAST, SWEEP, STOP = 0, 1, 2, 3


# ---- the server process ----------------------------------------------------------------------
def _serve(port: int, count: int, n_fast: int, mode: Any, ready: Any) -> None:
    import logging

    logging.disable(logging.WARNING)
    asyncio.run(_serve_async(port, count, n_fast, mode, ready))


async def _serve_async(port: int, count: int, n_fast: int, mode: Any, ready: Any) -> None:
    import datetime as dt

    from asyncua import Server, ua

    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/")
    ns = await server.register_namespace(NAMESPACE)
    root = await server.nodes.objects.add_folder(ua.NodeId("Bench", ns), "Bench")
    ids = []
    for i in range(count):
        if i % 200 == 0:  # small folders: adding a child to a big one is O(children) in asyncua
            folder = await root.add_folder(ua.NodeId(f"Bench.G{i // 200}", ns), f"G{i // 200}")
        node = await folder.add_variable(ua.NodeId(f"Bench.X{i}", ns), f"X{i}", 0.0)
        ids.append(node.nodeid)
    async with server:
        ready.set()
        value = 0.0
        while mode.value != STOP:
            if mode.value == FAST:
                value += 1.0
                for i, nodeid in enumerate(ids[:n_fast]):
                    await server.write_attribute_value(nodeid, ua.DataValue(
                        ua.Variant(value, ua.VariantType.Double),
                        SourceTimestamp=dt.datetime.now(dt.UTC)))
                    if i % 200 == 199:
                        await asyncio.sleep(0)
                await asyncio.sleep(0)
            elif mode.value == SWEEP:
                started = time.monotonic()
                value += 1.0
                for i, nodeid in enumerate(ids):
                    await server.write_attribute_value(nodeid, ua.DataValue(
                        ua.Variant(value, ua.VariantType.Double),
                        SourceTimestamp=dt.datetime.now(dt.UTC)))
                    if i % 500 == 499:
                        await asyncio.sleep(0)
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
            else:
                await asyncio.sleep(0.05)


# ---- the raw asyncua client ------------------------------------------------------------------
class RawClient:
    """A plain asyncua subscription in its own thread: what a user would write by hand."""

    def __init__(self, url: str, names: list[str], publishing_ms: float, sampling_ms: float,
                 latencies: bool = False) -> None:
        self.url, self.names = url, names
        self.publishing_ms, self.sampling_ms = publishing_ms, sampling_ms
        self.count = 0
        self.lat: list[float] | None = [] if latencies else None
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()),
                                        name="hmi-bench-rawua", daemon=True)

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.count += 1
        if self.lat is not None:
            stamp = data.monitored_item.Value.SourceTimestamp
            self.lat.append(time.time() - stamp.timestamp())

    async def _main(self) -> None:
        from asyncua import Client, ua

        client = Client(self.url, timeout=30)
        await client.connect()
        try:
            ns = await client.get_namespace_index(NAMESPACE)
            sub = await client.create_subscription(self.publishing_ms, self)
            nodes = [client.get_node(ua.NodeId(f"Bench.{n}", ns)) for n in self.names]
            for start in range(0, len(nodes), 1000):
                await sub.subscribe_data_change(nodes[start:start + 1000], queuesize=1,
                                                sampling_interval=self.sampling_ms)
            self.subscribed.set()
            await asyncio.to_thread(self._stop.wait)
        finally:
            await client.disconnect()

    def start(self) -> None:
        self._thread.start()
        if not self.subscribed.wait(60):
            raise RuntimeError("raw asyncua client did not subscribe")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


# ---- our path ----------------------------------------------------------------------------------
def _project(folder: Path, url: str, names: list[str], publishing_ms: int,
             sampling_ms: int) -> Path:
    lines = ['[project]\nname = "bench"\n', '[[devices]]\nname = "ua"\nprotocol = "opcua"',
             f'url = "{url}"\npublishing_ms = {publishing_ms}\ntimeout_ms = 10000\n']
    for name in names:
        lines.append(f'[[tags]]\nname = "{name}"\ndevice = "ua"\n'
                     f'node = "nsu={NAMESPACE};s=Bench.{name}"\nsampling_ms = {sampling_ms}\n')
    path = folder / f"bench-{len(names)}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class OurClient:
    """The station's path: Runtime -> DeviceRunner -> OpcUaDriver -> dispatch -> TagStore."""

    def __init__(self, folder: Path, url: str, names: list[str], publishing_ms: int,
                 sampling_ms: int, latencies: bool = False) -> None:
        from hmi.project import load_project
        from hmi.runtime import Runtime

        project = load_project(_project(folder, url, names, publishing_ms, sampling_ms))
        self.runtime = Runtime(project, folder / "data", services=())
        self.count = 0
        self.lat: list[float] | None = [] if latencies else None
        self.runtime.tags.subscribe(self._on_batch)

    def _on_batch(self, batch: list[Any]) -> None:  # dispatch thread, after TagStore.apply
        self.count += len(batch)
        if self.lat is not None:
            now = time.time()
            self.lat.extend(now - s.ts for s in batch if s.value is not None)

    def start(self, n: int) -> None:
        self.runtime.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            health = self.runtime.device_health()["ua"]
            if health.get("monitored_items") == n:
                return
            time.sleep(0.05)
        raise RuntimeError(f"driver did not subscribe: {self.runtime.device_health()['ua']}")

    def stop(self) -> None:
        self.runtime.stop()


def _p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _window(seconds: float, counters: list[Any]) -> tuple[list[float], float, float]:
    """Count notifications over a window; (rates, cpu share of this process, wall seconds)."""
    start_counts = [c.count for c in counters]
    cpu0, t0 = time.process_time(), time.monotonic()
    time.sleep(seconds)  # a measurement window, not a synchronisation
    wall = time.monotonic() - t0
    cpu = (time.process_time() - cpu0) / wall
    return [(c.count - s) / wall for c, s in zip(counters, start_counts, strict=True)], cpu, wall


def run(quick: bool) -> list[BenchResult]:
    count = 1000 if quick else 10_000
    n_fast = 500 if quick else 2000
    window = 1.5 if quick else 5.0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"opc.tcp://127.0.0.1:{port}/"
    ctx = mp.get_context("spawn")
    mode = ctx.Value("i", IDLE)
    ready = ctx.Event()
    proc = ctx.Process(target=_serve, args=(port, count, n_fast, mode, ready), daemon=True)
    proc.start()
    results: list[BenchResult] = []
    try:
        if not ready.wait(120):
            raise RuntimeError("bench OPC UA server did not start")
        with tempfile.TemporaryDirectory() as tmp:
            results += _throughput(Path(tmp), url, n_fast, window, mode)
            results += _load(Path(tmp), url, count, window, mode)
    finally:
        mode.value = STOP
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
    return results


def _throughput(folder: Path, url: str, n: int, window: float, mode: Any) -> list[BenchResult]:
    names = [f"X{i}" for i in range(n)]
    ours = OurClient(folder, url, names, publishing_ms=50, sampling_ms=0)
    raw = RawClient(url, names, publishing_ms=50, sampling_ms=0)
    ours.start(n)
    raw.start()
    try:
        mode.value = FAST
        time.sleep(0.5)  # warm-up, not synchronisation
        (ours_rate, raw_rate), _, _ = _window(window, [ours, raw])
    finally:
        mode.value = IDLE
        raw.stop()
        ours.stop()
    ratio = ours_rate / raw_rate if raw_rate else None
    return [BenchResult(AREA, f"notifications/s into TagStore, {n} items", round(ours_rate),
                        "1/s", round(raw_rate), ratio, ">=0.9x",
                        None if ratio is None else ratio >= 0.9,
                        "both clients on the same nodes at the same time")]


def _thread_cpu(prefixes: tuple[str, ...]) -> float:
    """CPU seconds used so far by this process's threads whose names start with `prefixes`
    (Linux per-thread clocks), so two clients in one process are measured apart."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.name.startswith(prefixes) and thread.ident is not None:
            try:
                total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except (OSError, AttributeError):
                continue
    return total


OURS_THREADS = ("hmi-device-", "hmi-dispatch")
RAW_THREADS = ("hmi-bench-rawua",)


def _load(folder: Path, url: str, n: int, window: float, mode: Any) -> list[BenchResult]:
    names = [f"X{i}" for i in range(n)]
    ours = OurClient(folder, url, names, publishing_ms=1000, sampling_ms=1000, latencies=True)
    raw = RawClient(url, names, publishing_ms=1000, sampling_ms=1000, latencies=True)
    ours.start(n)
    raw.start()
    try:
        mode.value = SWEEP
        time.sleep(1.2)  # first sweep and initial values out of the way
        ours.lat, raw.lat = [], []
        ours_cpu0, raw_cpu0 = _thread_cpu(OURS_THREADS), _thread_cpu(RAW_THREADS)
        (ours_rate, _), _, wall = _window(window, [ours, raw])
        ours_cpu = (_thread_cpu(OURS_THREADS) - ours_cpu0) / wall
        raw_cpu = (_thread_cpu(RAW_THREADS) - raw_cpu0) / wall
        ours_p95, raw_p95 = _p95(ours.lat), _p95(raw.lat)
    finally:
        mode.value = IDLE
        raw.stop()
        ours.stop()
    cores = os.cpu_count() or 1
    return [
        BenchResult(AREA, f"CPU share, {n} items at 1 s (% of one core)",
                    round(ours_cpu * 100, 1), "%", round(raw_cpu * 100, 1),
                    raw_cpu / ours_cpu if ours_cpu else None, "",
                    None, f"{ours_rate:,.0f} values/s; per-thread CPU; {cores} cores"),
        BenchResult(AREA, f"latency p95 source -> tag table, {n} items",
                    round(ours_p95 * 1000, 1), "ms", round(raw_p95 * 1000, 1),
                    raw_p95 / ours_p95 if ours_p95 else None, "<=2000 ms",
                    ours_p95 <= 2.0, "bound: 1 s sampling + 1 s publishing interval"),
    ]
