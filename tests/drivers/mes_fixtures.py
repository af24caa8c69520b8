"""The reference MES (`hmi.mes.stub`) for tests, and an outbox filled on a simulated clock.

The stub is a real asyncua server on 127.0.0.1 in thread `hmi-mes-stub` (the leak check sees
it), started through the `stubs` fixture (tests/drivers/conftest.py); its JSON-lines file is a
real file in tmp_path. Ready means the server started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hmi.mes.core import MesCore
from hmi.mes.outbox import DirectSink, Outbox
from hmi.mes.sender import Sender
from hmi.mes.stub import MesStub, StubThread
from hmi.project import Project
from tests.core.mes_helpers import BASE, LINE, Clock, feed
from tests.core.mes_helpers import project as make_project


class Stubs:
    """Starts stubs on demand (e.g. on a port chosen before, to play an MES coming up)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.running: list[StubThread] = []

    def start(self, **options: Any) -> MesStub:
        options.setdefault("out", self.tmp_path / "stub.jsonl")
        thread = StubThread(MesStub(**options)).start()
        self.running.append(thread)
        return thread.stub

    def stop(self, stub: MesStub | None = None) -> None:
        for thread in list(self.running):
            if stub is None or thread.stub is stub:
                thread.stop()
                self.running.remove(thread)


def mes_project(tmp_path: Path, url: str, mes: str = "", extra: str = "") -> Project:
    """The core tests' project with `[mes]` pointing at `url` (plus `mes` keys)."""
    base = BASE.replace('url = "opc.tcp://127.0.0.1:9"', f'url = "{url}"\n{mes}')
    return make_project(tmp_path, extra, LINE, base)


def fill(c: MesCore, clock: Clock, count: int, step_s: float = 10.0) -> int:
    """Make about `count` events (setpoint changes, state changes, counts) on the clock;
    returns how many are pending."""
    if not c.lines["Line1"].context["work_order"]:
        c.set_context("Line1", {"work_order": "WO1", "product": "P30", "lot": "L1"})
        feed(c, Run=True, Fault=False, Good=0, Reject=0)
    i = int(c.lines["Line1"].counters["good_tag"].last or 0) // 3
    while True:
        depth = c.store.select("SELECT COUNT(*) FROM outbox")[0][0]
        if depth >= count:
            return depth
        i += 1
        clock.now += step_s
        feed(c, Speed=float(i % 500), Good=i * 3)
        if i % 20 == 0:
            feed(c, Run=i % 40 != 0)
        c.tick()
        if i % 50 == 0:
            c.commit()


def sender_for(c: MesCore, tmp_path: Path) -> Sender:
    """The sender as `hmi mes drain` runs it: row changes done in its own thread."""
    sink = DirectSink(Outbox(c.store, c.config.quarantine_after), c.clock)
    return Sender(c.config, c.store.path, tmp_path / "data", sink)


def received(stub: MesStub) -> list[dict[str, Any]]:
    return list(stub.events)


def stored_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
