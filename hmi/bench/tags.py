"""Bench: the dispatch path (device thread -> queue -> hmi-dispatch -> TagStore -> services)
against the raw work it wraps (a dict update per sample in one thread), same samples, same run.
It shows what the thread hop and locking cost per sample; the goal is headroom, not parity."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from hmi.bench.harness import BenchResult
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.tags import Quality, Sample

TAGS = 1000


def _project(folder: Path) -> Path:
    lines = ['[project]\nname = "bench"\n', '[[devices]]\nname = "d"\nprotocol = "sim"\n'
             'enabled = false\n']
    lines += [f'[[tags]]\nname = "T{i}"\ndevice = "d"\n' for i in range(TAGS)]
    path = folder / "bench.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class _Counter:
    def __init__(self, runtime: Runtime) -> None:
        self.count = 0
        self.done = threading.Event()
        self.target = 0

    def start(self) -> None: ...
    def stop(self) -> None: ...

    def on_batch(self, batch: list[Sample]) -> None:
        self.count += len(batch)
        if self.count >= self.target:
            self.done.set()


def run(quick: bool) -> list[BenchResult]:
    total = 100_000 if quick else 500_000
    batch_size = 100
    now = time.time()
    batches = [[Sample(f"T{(b * batch_size + i) % TAGS}", float(i), now, Quality.GOOD)
                for i in range(batch_size)] for b in range(total // batch_size)]
    with tempfile.TemporaryDirectory() as tmp:
        project = load_project(_project(Path(tmp)))
        runtime = Runtime(project, Path(tmp) / "data", services=())
        counter = _Counter(runtime)
        counter.target = total + TAGS  # + the disabled device's BAD batch at start
        runtime.services.append(counter)
        runtime.start()
        try:
            started = time.perf_counter()
            for batch in batches:
                runtime.post(batch)
            counter.done.wait(120)
            ours = total / (time.perf_counter() - started)
        finally:
            runtime.stop()
    raw_store: dict[str, Sample] = {}
    started = time.perf_counter()
    for batch in batches:
        for sample in batch:
            raw_store[sample.tag] = sample
    raw = total / (time.perf_counter() - started)
    return [BenchResult("tags", "dispatch samples/s (queue+thread+TagStore)", ours, "samples/s",
                        baseline=raw, ratio=ours / raw, goal=">=100k/s",
                        passed=ours >= 100_000, note="raw = dict update, one thread")]
