"""Recovery from network failures while the OPC UA server stays up, through the whole Runtime.

test_opcua_recovery.py stops the server: the client sees the socket close at once. Here the
server keeps running and a real TCP proxy between station and server (tests/drivers/tcp_proxy.py)
fails like a plant network: connections reset (firewall, switch reboot), a silent link (pulled
cable, dead switch: no FIN, no RST, nothing), and the server dropping the session on its own (as
after a session timeout). Each time the tags must go BAD with a comm-failure reason within a
bound, and come back GOOD, with fresh values, by themselves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncua import ua

from drivers.opcua import KEEPALIVE_S
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.tags import Quality
from tests.conftest import wait_until
from tests.drivers.opcua_fixtures import NAMESPACE, ServerThread
from tests.drivers.tcp_proxy import TcpProxy

log = logging.getLogger(__name__)

TAGS = ("Speed", "Level")
PUBLISHING_MS = 200
TIMEOUT_S = 1.0
# supervise() gives up after this much silence (drivers/opcua.py: 2 keep-alive periods plus
# the request timeout; 200 ms publishing divides the 2 s keep-alive target, so no revision);
# it checks every 0.25 s and the runner looks at it every 0.5 s.
SILENCE_LIMIT_S = 2 * KEEPALIVE_S + TIMEOUT_S + 0.25 + 0.5
SLACK_S = 4.0  # two loaded cores, other suites running in parallel

PROJECT = """
[project]
name = "network"

[[devices]]
name = "plc1"
protocol = "opcua"
url = "{url}"
publishing_ms = {publishing_ms}
timeout_ms = {timeout_ms}

[[tags]]
name = "Speed"
device = "plc1"
node = "ns=2;s=Plant.Speed"

[[tags]]
name = "Level"
device = "plc1"
node = "nsu={ns};s=Plant.Level"
"""


class Ticker:
    """Changes Speed and Level every 0.1 s in the server's loop, like a running plant, so a
    test can tell fresh values from a stale last-known one."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Ticker:
        async def start() -> None:
            self._task = asyncio.get_running_loop().create_task(self._tick())

        self.server.run(start)
        return self

    def stop(self) -> None:
        async def stop() -> None:
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

        self.server.run(stop)

    async def _tick(self) -> None:
        speed, level = self.server.nodes["Speed"], self.server.nodes["Level"]
        count = 0
        while True:
            count += 1
            now = dt.datetime.now(dt.UTC)
            for node, value in ((speed, 10.0 + count), (level, 50.0 + count % 40)):
                await node.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Double),
                                                    SourceTimestamp=now))
            await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def plant() -> Iterator[ServerThread]:
    """One server for the module (startup ~2 s); it stays up in every test here."""
    server = ServerThread().start()
    ticker = Ticker(server).start()
    yield server
    ticker.stop()
    server.stop()


@pytest.fixture
def proxy(plant: ServerThread) -> Iterator[TcpProxy]:
    proxy = TcpProxy(plant.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def runtime(proxy: TcpProxy, tmp_path: Path) -> Iterator[Runtime]:
    path = tmp_path / "plant.toml"
    path.write_text(PROJECT.format(url=proxy.url, ns=NAMESPACE, publishing_ms=PUBLISHING_MS,
                                   timeout_ms=round(TIMEOUT_S * 1000)), encoding="utf-8")
    runtime = Runtime(load_project(path), tmp_path / "data", services=())
    runtime.start()
    yield runtime
    runtime.stop()


def all_bad(runtime: Runtime) -> bool:
    samples = [runtime.tags.get(t) for t in TAGS]
    return all(s is not None and s.quality is Quality.BAD for s in samples)


def wait_live(runtime: Runtime, timeout_s: float) -> None:
    """Every tag GOOD and then GOOD again with a newer value: fresh data, not a stale one."""
    def good_values() -> dict[str, float] | None:
        samples = {t: runtime.tags.get(t) for t in TAGS}
        if all(s is not None and s.good for s in samples.values()):
            return {t: s.value for t, s in samples.items()}  # type: ignore[union-attr]
        return None

    first = wait_until(good_values, timeout_s)
    assert isinstance(first, dict)
    wait_until(lambda: (now := good_values()) is not None and now["Speed"] != first["Speed"],
               timeout_s)


def went_bad_within(runtime: Runtime, started: float, timeout_s: float) -> float:
    wait_until(lambda: all_bad(runtime), timeout_s)
    elapsed = time.monotonic() - started
    for tag in TAGS:
        sample = runtime.tags.get(tag)
        assert sample is not None
        assert sample.reason.startswith("comm failure"), sample.reason
        assert not sample.reason.endswith(": "), f"reason says nothing: {sample.reason!r}"
    return elapsed


def reconnected(runtime: Runtime) -> None:
    wait_until(lambda: runtime.device_health()["plc1"]["state"] == "connected", 5)
    assert runtime.device_health()["plc1"]["reconnects"] >= 1


def test_connections_reset(runtime: Runtime, proxy: TcpProxy) -> None:
    """A firewall or rebooting switch resets the connection: BAD at once, GOOD after."""
    wait_live(runtime, 15)
    started = time.monotonic()
    proxy.cut()
    went_bad_s = went_bad_within(runtime, started, 15)
    log.info("connection reset: tags BAD after %.2f s", went_bad_s)
    assert went_bad_s < 5.0, f"tags went BAD only after {went_bad_s:.1f} s"
    # reconnect attempts meet a reset too, and the tags stay BAD meanwhile
    attempts = proxy.accepted
    wait_until(lambda: proxy.accepted > attempts, 10)
    assert all_bad(runtime)

    healed = time.monotonic()
    proxy.heal()
    wait_live(runtime, 25)
    log.info("connection reset: live again %.2f s after heal", time.monotonic() - healed)
    reconnected(runtime)


def test_silent_link(runtime: Runtime, proxy: TcpProxy) -> None:
    """A pulled cable: no FIN, no RST, just silence. Only the driver's own watchdogs (the
    server-state probe, the keep-alive rule) can notice; the bound is the keep-alive rule's."""
    wait_live(runtime, 15)
    started = time.monotonic()
    proxy.stall()
    went_bad_s = went_bad_within(runtime, started, SILENCE_LIMIT_S + 15)
    log.info("silent link: tags BAD after %.2f s (keep-alive limit %.2f s)", went_bad_s,
             SILENCE_LIMIT_S)
    assert went_bad_s < SILENCE_LIMIT_S + SLACK_S, f"tags went BAD only after {went_bad_s:.1f} s"
    # a reconnect into the dead link gets a TCP connection but no answer: still BAD
    attempts = proxy.accepted
    wait_until(lambda: proxy.accepted > attempts, 15)
    assert all_bad(runtime)

    healed = time.monotonic()
    proxy.heal()
    wait_live(runtime, 30)
    log.info("silent link: live again %.2f s after heal", time.monotonic() - healed)
    reconnected(runtime)


def test_server_drops_session(runtime: Runtime, plant: ServerThread) -> None:
    """The server forgets the session (as after its session timeout) but keeps the TCP
    connection open: requests then fail with BadSessionNotActivated/BadSessionIdInvalid."""
    wait_live(runtime, 15)

    async def close_sessions() -> int:
        # asyncua keeps client sessions by auth token; close_session() is what its own
        # session-timeout watchdog calls, subscriptions included
        assert plant.server is not None
        sessions = list(plant.server.iserver._external_sessions.values())
        for session in sessions:
            await session.close_session(True)
        return len(sessions)

    started = time.monotonic()
    assert plant.run(close_sessions) >= 1
    went_bad_s = went_bad_within(runtime, started, SILENCE_LIMIT_S + 15)
    log.info("session dropped: tags BAD after %.2f s", went_bad_s)
    assert went_bad_s < SILENCE_LIMIT_S + SLACK_S, f"tags went BAD only after {went_bad_s:.1f} s"

    wait_live(runtime, 25)
    log.info("session dropped: live again %.2f s after the drop", time.monotonic() - started)
    reconnected(runtime)
