"""Every fault the issue names, injected by a server that misbehaves on purpose: the driver turns
each into a named CommError (or BAD samples for an exception response) without hanging, and a
fresh connect() afterwards reads good values again."""

from __future__ import annotations

import time

import pytest

from drivers.base import CommError
from drivers.modbus import ModbusDriver
from hmi.tags import DeviceSpec, Point, Quality
from tests.conftest import free_port
from tests.drivers.conftest import run
from tests.drivers.modbus_faulty import FaultyModbusServer

TIMEOUT_S = 0.4
POINTS = [Point("a", "plc", "uint16", "hr:0"), Point("b", "plc", "float32", "hr:2"),
          Point("c", "plc", "auto", "coil:1")]


def make_driver(port: int) -> ModbusDriver:
    spec = DeviceSpec("plc", "modbus-tcp", poll_s=0.5, timeout_s=TIMEOUT_S,
                      settings={"host": "127.0.0.1", "port": port, "unit": 1})
    return ModbusDriver(spec, POINTS)


@pytest.mark.parametrize(("mode", "kind", "fragment", "fast"), [
    ("silent", "timeout", "no answer within 0.4 s", False),
    ("drop", "closed", "connection closed by the device", True),
    ("garbage", "garbage", "garbage reply", False),
    ("short", "short", "short reply", False),
    ("wrong_tid", "wrong_tid", "transaction id", False),
    ("delay", "timeout", "no answer", False),
])
def test_fault_becomes_a_named_comm_error_then_recovers(mode: str, kind: str, fragment: str,
                                                        fast: bool) -> None:
    async def main() -> None:
        server = FaultyModbusServer()
        await server.start()
        server.registers[0] = 7
        driver = make_driver(server.port)
        try:
            await driver.connect()
            assert {s.tag: s.value for s in await driver.read(POINTS)}["a"] == 7
            server.mode, server.delay_s = mode, TIMEOUT_S * 3
            started = time.monotonic()
            with pytest.raises(CommError, match=fragment) as caught:
                await driver.read(POINTS)
            elapsed = time.monotonic() - started
            assert caught.value.kind == kind
            assert elapsed < TIMEOUT_S * 2 + 0.5  # never hangs past the request timeout
            if fast:  # a dropped connection is reported at once, not after the timeout
                assert elapsed < TIMEOUT_S
            assert driver.health().connected is False or kind != "closed"
            await driver.close()
            server.mode = "ok"
            await driver.connect()
            samples = {s.tag: s for s in await driver.read(POINTS)}
            assert all(s.quality is Quality.GOOD for s in samples.values())
            assert samples["a"].value == 7
        finally:
            await driver.close()
            await server.stop()

    run(main())


def test_connection_refused_is_quick_and_named() -> None:
    async def main() -> None:
        driver = make_driver(free_port())
        started = time.monotonic()
        with pytest.raises(CommError, match="refused") as caught:
            await driver.connect()
        assert caught.value.kind == "refused"
        assert time.monotonic() - started < TIMEOUT_S
        with pytest.raises(CommError, match="not connected") as caught:
            await driver.read(POINTS)
        assert caught.value.kind == "closed"
        await driver.close()

    run(main())


def test_server_restart_on_the_same_port_is_recovered_by_reconnect() -> None:
    async def main() -> None:
        server = FaultyModbusServer()
        await server.start()
        port = server.port
        driver = make_driver(port)
        try:
            await driver.connect()
            await driver.read(POINTS)
            await server.stop()
            with pytest.raises(CommError) as caught:
                await driver.read(POINTS)
            assert caught.value.kind in ("closed", "timeout")
            await driver.close()
            with pytest.raises(CommError, match="refused"):
                await driver.connect()
            server = FaultyModbusServer(port)
            await server.start()
            server.registers[0] = 99
            await driver.connect()
            assert {s.tag: s.value for s in await driver.read(POINTS)}["a"] == 99
            assert server.connections == 1
        finally:
            await driver.close()
            await server.stop()

    run(main())


def test_exception_codes_from_a_raw_server_are_per_point_bad_not_comm_errors() -> None:
    async def main() -> None:
        server = FaultyModbusServer()
        await server.start()
        driver = make_driver(server.port)
        try:
            await driver.connect()
            for code, text in [(2, "illegal data address"), (6, "device busy"),
                               (4, "device failure"), (11, "gateway target failed to respond")]:
                server.mode, server.exception_code = "exception", code
                samples = await driver.read(POINTS)
                assert {s.reason for s in samples} == {f"device error: {text} (exception {code})"}
                assert all(s.quality is Quality.BAD for s in samples)
            server.mode = "ok"
            assert all(s.good for s in await driver.read(POINTS))
            assert driver.health().connected
        finally:
            await driver.close()
            await server.stop()

    run(main())


def test_slow_but_in_time_answers_are_good_and_timed() -> None:
    async def main() -> None:
        server = FaultyModbusServer()
        await server.start()
        driver = make_driver(server.port)
        try:
            await driver.connect()
            server.mode, server.delay_s = "delay", 0.05
            assert all(s.good for s in await driver.read(POINTS))
            snapshot = driver.health().snapshot()
            assert snapshot["rtt_mean_ms"] >= 40
            assert snapshot["requests"] == 2
        finally:
            await driver.close()
            await server.stop()

    run(main())
