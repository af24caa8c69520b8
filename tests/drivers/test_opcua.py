"""OpcUaDriver against a real asyncua server: types, node id forms, subscriptions, deadband,
status mapping, polling fallback and typed writes."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from asyncua import ua

from drivers.base import CommError, WriteRejected
from drivers.opcua import OpcUaDriver, check_point
from hmi.tags import DeviceSpec, Point, Quality, Sample
from tests.drivers.opcua_fixtures import NAMESPACE, NUMERIC_ID, ServerThread, opcua_server

__all__ = ["opcua_server"]


def spec(url: str, **settings: Any) -> DeviceSpec:
    return DeviceSpec("plc1", "opcua", poll_s=0.2, timeout_s=2.0,
                      settings={"url": url, "publishing_ms": 50, **settings})


def pt(name: str, **kw: Any) -> Point:
    kw.setdefault("data_type", "auto")
    return Point(tag=name, device="plc1", node=kw.pop("node", f"ns=2;s=Plant.{name}"), **kw)


def run(coro_fn: Callable[[], Awaitable[Any]], timeout_s: float = 20.0) -> Any:
    async def main() -> Any:
        asyncio.get_running_loop().set_debug(True)
        return await asyncio.wait_for(coro_fn(), timeout_s)
    return asyncio.run(main())


class Collector:
    """A sink that records samples and wakes waiters: tests wait on it with a deadline."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.latest: dict[str, Sample] = {}
        self.changed = asyncio.Event()
        self.lock = threading.Lock()

    def __call__(self, batch: list[Sample]) -> None:
        with self.lock:
            self.samples.extend(batch)
            self.latest.update((s.tag, s) for s in batch)
        self.changed.set()

    async def wait_for(self, predicate: Callable[[dict[str, Sample]], bool],
                       timeout_s: float = 5.0) -> dict[str, Sample]:
        deadline = time.monotonic() + timeout_s
        while not predicate(self.latest):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met; latest: {self.latest}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return self.latest


# ---- check_point ---------------------------------------------------------------------------
@pytest.mark.parametrize("node", ["ns=2;s=Packer.Speed", "ns=2;i=1001", "i=2258",
                                  "nsu=urn:hmi-station:demo;s=Packer.Speed",
                                  "ns=3;g=12345678-1234-1234-1234-123456789abc", "ns=2;s=a;b"])
def test_check_point_accepts_node_forms(node: str) -> None:
    assert check_point(pt("X", node=node)) == []


@pytest.mark.parametrize("node", ["", "Packer.Speed", "ns=x;s=A", "ns=2;q=5", "ns=2;i=abc",
                                  "nsu=;s=A"])
def test_check_point_rejects_bad_node_ids(node: str) -> None:
    problems = check_point(pt("X", node=node))
    assert problems
    assert problems[0][0] == "node"


def test_check_point_rejects_bad_mode_and_deadband() -> None:
    assert tuple(k for k, _ in check_point(pt("X", mode="sometimes"))) == ("mode", )
    assert [k for k, _ in check_point(pt("X", data_type="bool", deadband=1.0))] == ["deadband"]


# ---- reads and types -----------------------------------------------------------------------
def test_read_all_types(opcua_server: ServerThread) -> None:
    names = ["Bool", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
             "Float", "Double", "String", "DateTime", "DoubleArray", "Int32Array"]
    points = [pt(n) for n in names]
    points.append(pt("Numeric", node=f"ns=2;i={NUMERIC_ID}"))
    points.append(pt("ByUri", node=f"nsu={NAMESPACE};s=Plant.Double"))
    points.append(pt("Declared", node="ns=2;s=Plant.Int32", data_type="float64", scale=0.5))

    async def body() -> dict[str, Sample]:
        driver = OpcUaDriver(spec(opcua_server.url), points)
        await driver.connect()
        try:
            return {s.tag: s for s in await driver.read(points)}
        finally:
            await driver.close()

    got = run(body)
    assert all(s.quality is Quality.GOOD for s in got.values()), got
    assert got["Bool"].value is True
    assert got["SByte"].value == -5
    assert got["Byte"].value == 200
    assert got["Int16"].value == -1234
    assert got["UInt16"].value == 65000
    assert got["Int32"].value == -100000
    assert got["UInt32"].value == 4000000000
    assert got["Int64"].value == -(2**40)
    assert got["UInt64"].value == 2**63
    assert got["Float"].value == 1.5
    assert got["Double"].value == 2.25
    assert got["String"].value == "hello"
    assert got["DateTime"].value == pytest.approx(1795413600.0)  # 2026-11-23T06:00Z
    assert isinstance(got["DoubleArray"].value, np.ndarray)
    assert got["DoubleArray"].value.tolist() == [1.0, 2.0, 3.5]
    assert got["Int32Array"].value.dtype == np.int32
    assert got["Numeric"].value == 3.0
    assert got["ByUri"].value == 2.25
    assert got["Declared"].value == -50000.0
    assert abs(got["Double"].ts - time.time()) < 120  # the server's source timestamp


def test_unknown_namespace_uri_and_node_are_bad_not_fatal(opcua_server: ServerThread) -> None:
    points = [pt("Double"), pt("NoNs", node="nsu=urn:nowhere;s=X"), pt("Missing")]

    async def body() -> dict[str, Sample]:
        driver = OpcUaDriver(spec(opcua_server.url), points)
        await driver.connect()
        try:
            return {s.tag: s for s in await driver.read(points)}
        finally:
            await driver.close()

    got = run(body)
    assert got["Double"].good
    assert got["NoNs"].quality is Quality.BAD
    assert "urn:nowhere" in got["NoNs"].reason
    assert got["Missing"].quality is Quality.BAD
    assert got["Missing"].reason == "server status: BadNodeIdUnknown"


def test_connect_refused_is_comm_error() -> None:
    from tests.conftest import free_port

    async def body() -> None:
        driver = OpcUaDriver(spec(f"opc.tcp://127.0.0.1:{free_port()}/"), [pt("Double")])
        try:
            await driver.connect()
        finally:
            await driver.close()

    with pytest.raises(CommError) as info:
        run(body)
    assert info.value.kind in ("refused", "closed", "timeout")


# ---- subscriptions -------------------------------------------------------------------------
def test_subscription_updates_status_and_deadband(opcua_server: ServerThread) -> None:
    points = [pt("Speed"), pt("Level", deadband=5.0), pt("String"),
              pt("Polled", node="ns=2;s=Plant.Double", mode="poll")]
    sink = Collector()

    async def body() -> None:
        driver = OpcUaDriver(spec(opcua_server.url), points)
        await driver.connect()
        try:
            await driver.subscribe(points, sink)
            await sink.wait_for(lambda d: {"Speed", "Level", "String", "Polled"} <= set(d))
            assert driver.polled == ["Polled"]
            await asyncio.to_thread(opcua_server.set, "Speed", 11.5)
            await sink.wait_for(lambda d: d["Speed"].value == 11.5)
            # deadband 5: a change of 2 is filtered by the server, a change of 10 is not
            level_count = sum(1 for s in sink.samples if s.tag == "Level")
            await asyncio.to_thread(opcua_server.set, "Level", 52.0)
            await asyncio.to_thread(opcua_server.set, "Level", 62.0)
            await sink.wait_for(lambda d: d["Level"].value == 62.0)
            levels = [s.value for s in sink.samples if s.tag == "Level"][level_count:]
            assert levels == [62.0]
            # status codes: uncertain keeps the value, bad drops it
            await asyncio.to_thread(opcua_server.set, "Speed", 12.0,
                                    ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue))
            latest = await sink.wait_for(lambda d: d["Speed"].quality is Quality.UNCERTAIN)
            assert latest["Speed"].value == 12.0
            assert latest["Speed"].reason == "server status: UncertainLastUsableValue"
            await asyncio.to_thread(opcua_server.set, "Speed", 0.0,
                                    ua.StatusCode(ua.StatusCodes.BadSensorFailure))
            latest = await sink.wait_for(lambda d: d["Speed"].quality is Quality.BAD)
            assert latest["Speed"].reason == "server status: BadSensorFailure"
            await asyncio.to_thread(opcua_server.set, "Speed", 10.0)
            await sink.wait_for(lambda d: d["Speed"].good and d["Speed"].value == 10.0)
            await asyncio.to_thread(opcua_server.set, "Double", 4.5)
            await sink.wait_for(lambda d: d["Polled"].value == 4.5)
            health = driver.health().snapshot()
            assert health["connected"]
            assert health["subscriptions"] == 1
            assert health["monitored_items"] == 3
            assert health["notifications"] >= 5
            assert health["keepalive"] == "ok"
        finally:
            await driver.close()
            await asyncio.to_thread(opcua_server.set, "Double", 2.25)

    run(body)


# ---- writes --------------------------------------------------------------------------------
def test_typed_writes(opcua_server: ServerThread) -> None:
    setpoint = pt("Setpoint", writable=True, low=0, high=100)
    speed = pt("Speed", writable=True)
    ro = pt("ReadOnly", writable=True)
    text = pt("String", writable=True)
    declared = pt("D16", node="ns=2;s=Plant.Int16", data_type="int16", writable=True)
    points = [setpoint, speed, ro, text, declared]

    async def body() -> None:
        driver = OpcUaDriver(spec(opcua_server.url), points)
        await driver.connect()
        try:
            await driver.write(setpoint, 42)
            assert (await driver.read([setpoint]))[0].value == 42
            await driver.write(speed, 12.75)
            assert (await driver.read([speed]))[0].value == 12.75
            await driver.write(text, "bye")
            assert (await driver.read([text]))[0].value == "bye"
            await driver.write(declared, -7)
            assert (await driver.read([declared]))[0].value == -7
            for point, value, words in [
                (setpoint, 101, "above the maximum"),
                (setpoint, 2.5, "whole numbers"),
                (declared, 40000, "does not fit Int16"),
                (speed, "fast", "takes a number"),
                (text, 3, "takes text"),
                (ro, 1.0, "BadUserAccessDenied"),
                (pt("Double"), 1.0, "not writable"),
            ]:
                with pytest.raises(WriteRejected, match=words):
                    await driver.write(point, value)
        finally:
            await driver.close()
            for name, value in (("Setpoint", 20), ("Speed", 10.0), ("String", "hello"),
                                ("Int16", -1234)):
                await asyncio.to_thread(opcua_server.set, name, value)

    run(body)


# ---- clock skew (issue 11) -------------------------------------------------------------------
def test_source_time_is_kept_and_a_skew_marks_the_value_uncertain(
        opcua_server: ServerThread) -> None:
    points = [pt("Speed")]
    behind, ahead = Collector(), Collector()

    async def body() -> None:
        # the station's clock 60 s ahead of the server: fresh changes look 60 s old
        station = DeviceSpec("plc1", "opcua", poll_s=0.2, timeout_s=2.0,
                             settings={"url": opcua_server.url, "publishing_ms": 50},
                             clock=lambda: time.time() + 60.0, skew_s=5.0)
        driver = OpcUaDriver(station, points)
        await driver.connect()
        try:
            await driver.subscribe(points, behind)
            first = (await behind.wait_for(lambda d: "Speed" in d))["Speed"]
            assert first.good  # the initial value may carry an old time: not a skew
            await asyncio.to_thread(opcua_server.set, "Speed", 11.5)
            latest = await behind.wait_for(lambda d: d["Speed"].value == 11.5)
            sample = latest["Speed"]
            assert sample.quality is Quality.UNCERTAIN
            assert sample.reason.startswith("clock skew: source time 60.")
            assert sample.reason.endswith("s behind the receive time")
            assert sample.received - sample.ts == pytest.approx(60.0, abs=2.0)  # both kept
        finally:
            await driver.close()
            await asyncio.to_thread(opcua_server.set, "Speed", 10.0)
        # the station's clock behind the server: a source time in the future is never right
        station = DeviceSpec("plc1", "opcua", poll_s=0.2, timeout_s=2.0,
                             settings={"url": opcua_server.url, "publishing_ms": 50},
                             clock=lambda: time.time() - 60.0, skew_s=5.0)
        driver = OpcUaDriver(station, points)
        await driver.connect()
        try:
            read = (await driver.read(points))[0]
            assert read.quality is Quality.UNCERTAIN
            assert "s ahead of the receive time" in read.reason
            await driver.subscribe(points, ahead)
            latest = await ahead.wait_for(lambda d: "Speed" in d)
            assert latest["Speed"].quality is Quality.UNCERTAIN
            assert latest["Speed"].value == 10.0
        finally:
            await driver.close()

    run(body)


def test_close_leaves_no_asyncua_task_behind(opcua_server: ServerThread) -> None:
    """asyncua's channel-renew task sleeps 45 min before it can see a disconnect and holds the
    old client until then: closing the driver, on a live connection and on a dead one, must
    leave no task of the client running (a guard: asyncua 2.1 also cancels it on this path)."""

    async def body() -> None:
        server = ServerThread().start()
        try:
            for kill_server_first in (False, True):
                url = server.url if kill_server_first else opcua_server.url
                driver = OpcUaDriver(spec(url), [pt("Double")])
                await driver.connect()
                client = driver._client
                assert client is not None
                renew = client._renew_channel_task
                assert renew is not None
                assert not renew.done()
                if kill_server_first:
                    await asyncio.to_thread(server.stop)
                    await asyncio.sleep(0.5)
                await driver.close()
                assert renew.done()
                left = [t for t in asyncio.all_tasks()
                        if "asyncua" in t.get_coro().cr_code.co_filename]
                assert not left, left
        finally:
            await asyncio.to_thread(server.stop)

    run(body, timeout_s=40.0)


def test_a_refused_session_leaves_no_asyncua_task_behind() -> None:
    """The path the soak hit: the secure channel opens (asyncua starts its renew task), then
    the session is refused; the failed connect's client must not live on for 45 minutes."""
    server = ServerThread(users={"op": "secret-pw"}).start()  # anonymous refused

    async def body() -> None:
        driver = OpcUaDriver(spec(server.url), [pt("Double")])
        with pytest.raises(CommError):
            await driver.connect()
        client = driver._client
        assert client is not None
        await driver.close()
        left = [t for t in asyncio.all_tasks() if "asyncua" in t.get_coro().cr_code.co_filename]
        assert not left, left

    try:
        run(body, timeout_s=30.0)
    finally:
        server.stop()
