"""The driver under the real DeviceRunner (own thread, own loop): a device that stops answering
goes BAD with the reason within two poll periods, reconnects are paced by the runner's backoff
(never a busy loop), a healthy neighbour keeps its pace, and good values come back by themselves."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hmi.device_runner import DeviceRunner
from hmi.tags import DeviceSpec, Point, Quality, Sample
from tests.conftest import wait_until
from tests.drivers.conftest import LoopThread
from tests.drivers.modbus_faulty import FaultyModbusServer

POLL_S = 0.5
TIMEOUT_S = 0.3


class Latest:
    """The latest sample per tag, as the runtime's TagStore would hold it. Any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.samples: dict[str, Sample] = {}

    def __call__(self, batch: list[Sample]) -> None:
        with self._lock:
            self.samples.update((s.tag, s) for s in batch)

    def get(self, tag: str) -> Sample | None:
        with self._lock:
            return self.samples.get(tag)

    def all(self, tags: list[str], predicate: Any) -> bool:
        return all((s := self.get(t)) is not None and predicate(s) for t in tags)


def runner_for(name: str, port: int, points: list[Point], sink: Latest) -> DeviceRunner:
    spec = DeviceSpec(name, "modbus-tcp", poll_s=POLL_S, timeout_s=TIMEOUT_S,
                      settings={"host": "127.0.0.1", "port": port, "unit": 1})
    return DeviceRunner(spec, points, sink)


@pytest.fixture
def faulty(server_loop: LoopThread) -> Any:
    server = FaultyModbusServer()
    server_loop.call(server.start())
    yield server
    server_loop.call(server.stop())


@pytest.mark.parametrize("fault", ["silent", "drop", "garbage", "wrong_tid", "short"])
def test_dead_device_goes_bad_in_two_polls_neighbour_unaffected_then_recovers(
        fault: str, faulty: FaultyModbusServer, image_server: Any) -> None:
    faulty.registers[0] = 11
    image_server.image.hr[0] = 22
    sink = Latest()
    bad_points = [Point("bad.a", "bad", "uint16", "hr:0"), Point("bad.b", "bad", "auto", "coil:0")]
    good_points = [Point("good.a", "good", "uint16", "hr:0")]
    bad_runner = runner_for("bad", faulty.port, bad_points, sink)
    good_runner = runner_for("good", image_server.port, good_points, sink)
    bad_runner.start()
    good_runner.start()
    try:
        wait_until(lambda: sink.all(["bad.a", "bad.b", "good.a"], lambda s: s.good), 5)
        assert sink.get("bad.a").value == 11
        cycles_before = good_runner.cycles
        faulty.mode = fault
        started = time.monotonic()
        # two poll periods, plus scheduling slack for a loaded 2-core machine
        wait_until(lambda: sink.all(["bad.a", "bad.b"], lambda s: s.quality is Quality.BAD),
                   2 * POLL_S + 1.0)
        went_bad_s = time.monotonic() - started
        reason = sink.get("bad.a").reason
        assert reason.startswith("comm failure: "), reason
        # while it is down: reconnects are paced, the neighbour keeps polling at its rate
        window_start, connections_before = time.monotonic(), faulty.connections
        wait_until(lambda: good_runner.cycles >= cycles_before + 5, 5 * POLL_S + 2.0)
        window_s = time.monotonic() - window_start
        assert faulty.connections - connections_before <= window_s / 0.4 + 2  # backoff >= 0.4 s
        assert sink.get("good.a").good
        faulty.mode = "ok"
        faulty.registers[0] = 12
        wait_until(lambda: sink.all(["bad.a", "bad.b"], lambda s: s.good), 15)
        assert sink.get("bad.a").value == 12
        health = bad_runner.health()
        assert health["reconnects"] >= 1
        assert sum(health["errors"].values()) >= 1
        assert went_bad_s < 2 * POLL_S + 1.0
    finally:
        bad_runner.stop()
        good_runner.stop()


def test_switched_off_device_goes_bad_and_comes_back_on_the_same_port(
        server_loop: LoopThread) -> None:
    server = FaultyModbusServer()
    server_loop.call(server.start())
    port = server.port
    server.registers[5] = 1
    sink = Latest()
    runner = runner_for("plc", port, [Point("t", "plc", "uint16", "hr:5")], sink)
    runner.start()
    try:
        wait_until(lambda: sink.all(["t"], lambda s: s.good), 5)
        server_loop.call(server.stop())
        wait_until(lambda: sink.all(["t"], lambda s: s.quality is Quality.BAD), 2 * POLL_S + 1.0)
        wait_until(lambda: "refused" in runner.health().get("errors", {}), 5)
        server = FaultyModbusServer(port)
        server.registers[5] = 2
        server_loop.call(server.start())
        wait_until(lambda: sink.all(["t"], lambda s: s.good and s.value == 2), 15)
    finally:
        runner.stop()
        server_loop.call(server.stop())
