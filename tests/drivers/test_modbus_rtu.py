"""Modbus RTU over a serial pair made of two ptys joined by a relay (what `socat` would do): the
driver opens one end with pyserial, pymodbus's real serial server the other. Proves RTU framing,
types and writes, a device that goes quiet (BAD via timeout) and recovery."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Iterator
from typing import Any

import pytest
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer

from drivers.base import CommError
from drivers.modbus import ModbusDriver
from hmi.simulator.modbus_server import ModbusImageServer, RegisterImage
from hmi.tags import DeviceSpec, Point, Quality
from tests.drivers.conftest import LoopThread, run


class PtyPair:
    """Two pseudo-terminals whose masters are relayed to each other in a loop: a null modem.
    `paused` stops the relay (a cut cable); bytes are dropped while paused."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.paused = False
        self._fds: list[int] = []
        self.ends: list[str] = []
        masters = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            self.ends.append(os.ttyname(slave))
            self._fds += [master, slave]
            masters.append(master)
        self.masters = masters

    async def start(self) -> None:
        a, b = self.masters
        self.loop.add_reader(a, self._relay, a, b)
        self.loop.add_reader(b, self._relay, b, a)

    async def stop(self) -> None:
        for fd in self.masters:
            self.loop.remove_reader(fd)
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _relay(self, src: int, dst: int) -> None:
        try:
            data = os.read(src, 4096)
        except OSError:
            return
        if not self.paused:
            os.write(dst, data)


@pytest.fixture
def rtu_pair(server_loop: LoopThread) -> Iterator[tuple[str, RegisterImage, PtyPair]]:
    pair = PtyPair(server_loop.loop)
    server_loop.call(pair.start())
    image = ModbusImageServer()  # only its image and context: served over serial below

    async def start_serial() -> ModbusSerialServer:
        server = ModbusSerialServer(image.context, framer=FramerType.RTU, port=pair.ends[1],
                                    baudrate=115200)
        await server.serve_forever(background=True)
        return server

    serial_server = server_loop.call(start_serial())
    yield pair.ends[0], image.image, pair
    server_loop.call(serial_server.shutdown())
    server_loop.call(pair.stop())


def rtu_driver(port: str, points: list[Point], timeout_s: float = 0.5) -> ModbusDriver:
    spec = DeviceSpec("rtu", "modbus-rtu", poll_s=0.5, timeout_s=timeout_s,
                      settings={"port": port, "unit": 1, "baudrate": 115200, "parity": "N",
                                "stopbits": 1, "bytesize": 8})
    return ModbusDriver(spec, points)


def test_rtu_reads_and_writes_every_space_over_a_serial_pair(rtu_pair: Any) -> None:
    port, image, _pair = rtu_pair
    points = [Point("f", "rtu", "float32", "hr:10", byte_order="CDAB", writable=True),
              Point("i", "rtu", "int16", "ir:3"), Point("c", "rtu", "auto", "coil:2",
                                                         writable=True),
              Point("d", "rtu", "auto", "di:1"), Point("bit", "rtu", "auto", "hr:12.1",
                                                       writable=True)]
    image.ir[3] = 0xFFFF
    image.di[1] = True

    async def main() -> None:
        driver = rtu_driver(port, points)
        try:
            await driver.connect()
            await driver.write(points[0], 21.5)
            await driver.write(points[2], True)
            await driver.write(points[4], True)
            samples = {s.tag: s for s in await driver.read(points)}
            assert {t: s.value for t, s in samples.items()} == {
                "f": 21.5, "i": -1, "c": True, "d": True, "bit": True}
            assert image.hr[12] == 0b10
            assert driver.health().snapshot()["rtt_mean_ms"] is not None
        finally:
            await driver.close()

    run(main())


def test_rtu_cut_cable_is_a_timeout_and_reconnect_recovers(rtu_pair: Any) -> None:
    port, image, pair = rtu_pair
    image.hr[0] = 5
    point = Point("t", "rtu", "uint16", "hr:0")

    async def main() -> None:
        driver = rtu_driver(port, [point], timeout_s=0.3)
        try:
            await driver.connect()
            assert (await driver.read([point]))[0].value == 5
            pair.paused = True
            with pytest.raises(CommError) as caught:
                await driver.read([point])
            assert caught.value.kind == "timeout"
            await driver.close()
            pair.paused = False
            await driver.connect()
            sample = (await driver.read([point]))[0]
            assert sample.quality is Quality.GOOD
            assert sample.value == 5
        finally:
            await driver.close()

    run(main())


def test_rtu_missing_serial_port_is_a_named_comm_error() -> None:
    async def main() -> None:
        driver = rtu_driver("/dev/does-not-exist-hmi", [Point("t", "rtu", "uint16", "hr:0")])
        with pytest.raises(CommError, match="cannot open serial port") as caught:
            await driver.connect()
        assert caught.value.kind == "open"
        await driver.close()

    run(main())
