"""ModbusDriver against the simulator's real pymodbus TCP server on 127.0.0.1: types, byte orders,
coalescing, writes and their refusals, exception responses."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pymodbus.constants import ExcCodes

from drivers.base import WriteRejected
from drivers.modbus import ModbusDriver
from drivers.modbus_codec import encode
from hmi.simulator.modbus_server import ModbusImageServer
from hmi.tags import DeviceSpec, Point, Quality
from tests.drivers.conftest import run

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
VALUES = {"int16": -1234, "uint16": 54321, "int32": -70000, "uint32": 3_000_000_000,
          "float32": -12.5, "float64": 1.0e-3}

Body = Callable[[ModbusImageServer, ModbusDriver], Awaitable[Any]]


def spec_for(port: int, **settings: Any) -> DeviceSpec:
    return DeviceSpec("plc", "modbus-tcp", poll_s=0.2, timeout_s=1.0,
                      settings={"host": "127.0.0.1", "port": port, "unit": 1, **settings})


def with_server(points: list[Point], body: Body, **settings: Any) -> Any:
    async def main() -> Any:
        server = ModbusImageServer()
        await server.start()
        driver = ModbusDriver(spec_for(server.port, **settings), points)
        try:
            await driver.connect()
            return await body(server, driver)
        finally:
            await driver.close()
            await server.stop()

    return run(main())


def by_tag(samples: list) -> dict:
    return {s.tag: s for s in samples}


def test_every_type_and_byte_order_round_trips_through_a_server() -> None:
    points = []
    address = 0
    for data_type in VALUES:
        for order in ORDERS:
            points.append(Point(f"{data_type}_{order}", "plc", data_type, f"hr:{address}",
                                byte_order=order, writable=True))
            address += 4

    async def body(server: ModbusImageServer, driver: ModbusDriver) -> None:
        for point in points:
            await driver.write(point, VALUES[point.data_type])
        samples = by_tag(await driver.read(points))
        for point in points:
            sample = samples[point.tag]
            assert sample.quality is Quality.GOOD, sample
            assert sample.value == VALUES[point.data_type], point.tag
            start = int(point.address.split(":")[1])
            wire = encode(point.data_type, point.byte_order, 0, VALUES[point.data_type])
            assert server.image.hr[start:start + len(wire)] == wire, point.tag
        # 24 points x 1..4 registers with no gaps: ceil(96 / 125) = 1 read
        assert driver.plan_summary()["requests_per_cycle"] == 1

    with_server(points, body)


def test_bits_coils_inputs_and_registers_decode() -> None:
    points = [Point("coil", "plc", "auto", "coil:3"), Point("di", "plc", "auto", "di:4"),
              Point("ir", "plc", "auto", "ir:5"), Point("bit", "plc", "auto", "hr:6.15"),
              Point("flag", "plc", "bool", "hr:7"),
              Point("text", "plc", "string", "ir:10", length=5, byte_order="BADC")]

    async def body(server: ModbusImageServer, driver: ModbusDriver) -> None:
        server.image.co[3] = True
        server.image.di[4] = True
        server.image.ir[5] = 777
        server.image.hr[6] = 0x8000
        server.image.hr[7] = 2
        server.image.ir[10:13] = encode("string", "BADC", 5, "HELLO")
        samples = by_tag(await driver.read(points))
        assert {t: s.value for t, s in samples.items()} == {
            "coil": True, "di": True, "ir": 777, "bit": True, "flag": True, "text": "HELLO"}

    with_server(points, body)


def test_scale_offset_and_strings_write_and_read_back() -> None:
    level = Point("level", "plc", "int16", "hr:0", scale=0.1, offset=-10.0, writable=True,
                  low=-20.0, high=100.0)
    name = Point("name", "plc", "string", "hr:10", length=8, writable=True)

    async def body(server: ModbusImageServer, driver: ModbusDriver) -> None:
        server.image.hr[0] = 1234
        assert (await driver.read([level]))[0].value == pytest.approx(113.4)
        await driver.write(level, 50.0)
        assert server.image.hr[0] == 600
        assert (await driver.read([level]))[0].value == pytest.approx(50.0)
        await driver.write(name, "MIXER")
        assert (await driver.read([name]))[0].value == "MIXER"

    with_server([level, name], body)


def test_bit_and_coil_writes_touch_only_their_bit() -> None:
    bit = Point("bit", "plc", "auto", "hr:20.2", writable=True)
    coil = Point("coil", "plc", "auto", "coil:9", writable=True)

    async def body(server: ModbusImageServer, driver: ModbusDriver) -> None:
        server.image.hr[20] = 0b1000_0001
        await driver.write(bit, True)
        assert server.image.hr[20] == 0b1000_0101
        await driver.write(bit, False)
        assert server.image.hr[20] == 0b1000_0001
        await driver.write(coil, True)
        assert server.image.co[9] is True
        assert by_tag(await driver.read([bit, coil]))["coil"].value is True

    with_server([bit, coil], body)


@pytest.mark.parametrize(("point", "value", "fragment"), [
    (Point("sp", "plc", "float32", "hr:0", writable=True), math.nan, "not a finite"),
    (Point("sp", "plc", "float32", "hr:0", writable=True), math.inf, "not a finite"),
    (Point("sp", "plc", "float32", "hr:0", writable=True, high=100.0), 100.5, "above the max"),
    (Point("sp", "plc", "float32", "hr:0", writable=True, low=0.0), -1, "below the min"),
    (Point("sp", "plc", "uint16", "hr:0", writable=True), 70000, "does not fit uint16"),
    (Point("sp", "plc", "int16", "hr:0", writable=True, scale=0.01), 400.0, "does not fit"),
    (Point("sp", "plc", "uint16", "hr:0", writable=True), "12", "takes a number"),
    (Point("sp", "plc", "uint16", "hr:0"), 1, "not writable"),
    (Point("sp", "plc", "uint16", "ir:0", writable=True), 1, "read-only"),
    (Point("sp", "plc", "auto", "coil:0", writable=True), 2, "true/false"),
    (Point("sp", "plc", "string", "hr:0", length=2, writable=True), "ABC", "at most 2"),
])
def test_bad_writes_are_refused_before_anything_is_sent(point: Point, value: Any,
                                                         fragment: str) -> None:
    async def body(server: ModbusImageServer, driver: ModbusDriver) -> None:
        before = driver.health().requests
        with pytest.raises(WriteRejected, match=fragment):
            await driver.write(point, value)
        assert driver.health().requests == before
        assert server.image.hr[0] == 0

    with_server([point], body)


def test_exception_response_marks_only_that_requests_points_bad() -> None:
    points = [Point("a", "plc", "auto", "hr:0"), Point("b", "plc", "auto", "ir:0"),
              Point("sp", "plc", "auto", "hr:1", writable=True)]

    async def body(server: ModbusImageServer, driver: ModbusDriver) -> None:
        server.image.valid = {"hr": set(), "ir": {0}}
        samples = by_tag(await driver.read(points))
        assert samples["b"].quality is Quality.GOOD
        assert samples["a"].quality is Quality.BAD
        assert samples["a"].reason == "device error: illegal data address (exception 2)"
        with pytest.raises(WriteRejected, match="illegal data address"):
            await driver.write(points[2], 5)
        server.context.fail_with = ExcCodes.DEVICE_BUSY
        samples = by_tag(await driver.read(points))
        assert {s.reason for s in samples.values()} == {
            "device error: device busy (exception 6)"}
        server.context.fail_with = None
        server.image.valid = None
        assert all(s.good for s in await driver.read(points))
        health = driver.health().snapshot()
        assert health["errors"]["exception_2"] >= 2
        assert health["errors"]["exception_6"] == 2
        assert health["connected"] is True

    with_server(points, body)


def test_a_hole_inside_a_merged_read_is_split_out_and_remembered() -> None:
    points = [Point("a", "plc", "auto", "hr:0"), Point("b", "plc", "auto", "hr:5"),
              Point("c", "plc", "float32", "hr:6")]

    async def body(server: ModbusImageServer, driver: ModbusDriver) -> None:
        server.image.valid = {"hr": {0, 5, 6, 7}}  # 1..4 do not exist in this device
        server.image.hr[5] = 42
        samples = by_tag(await driver.read(points))
        assert all(s.good for s in samples.values()), samples
        assert samples["b"].value == 42
        first = driver.health().requests
        await driver.read(points)
        assert driver.health().requests - first == 2  # the split reads, no failed merged one

    with_server(points, body)


def test_nan_from_the_device_is_bad_value() -> None:
    point = Point("t", "plc", "float32", "hr:0")

    async def body(server: ModbusImageServer, driver: ModbusDriver) -> None:
        server.image.hr[0:2] = [0x7FC0, 0]
        sample = (await driver.read([point]))[0]
        assert sample.quality is Quality.BAD
        assert sample.reason.startswith("bad value")

    with_server([point], body)


def test_request_count_matches_the_plan() -> None:
    points = [Point(f"t{i}", "plc", "auto", f"hr:{i * 2}") for i in range(100)]
    points += [Point(f"c{i}", "plc", "auto", f"coil:{i}") for i in range(50)]

    async def body(server: ModbusImageServer, driver: ModbusDriver) -> None:
        before = driver.health().requests
        samples = await driver.read(points)
        assert len(samples) == 150
        assert all(s.good for s in samples)
        assert driver.health().requests - before == 3  # hr:0..198 in 2 reads + 1 coil read
        summary = driver.plan_summary()
        assert (summary["requests_per_cycle"], summary["naive_requests_per_cycle"]) == (3, 150)

    with_server(points, body)


def test_samples_are_stamped_with_the_station_clock_not_time_time() -> None:
    """Issue 11: Modbus has no source time; a step-safe station clock stamps its samples."""
    points = [Point("a", "plc", "uint16", "hr:0"), Point("b", "plc", "uint16", "hr:1"),
              Point("gone", "plc", "uint16", "nowhere:1")]
    stamps = iter(range(1_000, 1_100))

    async def main() -> list:
        server = ModbusImageServer()
        await server.start()
        spec = DeviceSpec("plc", "modbus-tcp", poll_s=0.2, timeout_s=1.0,
                          settings={"host": "127.0.0.1", "port": server.port, "unit": 1},
                          clock=lambda: float(next(stamps)))
        driver = ModbusDriver(spec, points)
        try:
            await driver.connect()
            return await driver.read(points)
        finally:
            await driver.close()
            await server.stop()

    samples = by_tag(run(main()))
    assert samples["a"].quality is Quality.GOOD
    assert samples["a"].ts == samples["b"].ts  # one reply, one stamp
    assert 1_000 <= samples["a"].ts < 1_100  # from the injected clock, not the wall clock
    assert samples["gone"].quality is Quality.BAD
    assert 1_000 <= samples["gone"].ts < 1_100  # the BAD ones too
    assert samples["a"].received is None  # the station stamped it: no separate receive time
