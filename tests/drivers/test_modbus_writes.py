"""Operator writes through the real DeviceRunner: confirmed by read-back, rejected before
sending (NaN, inf, out of range) or by the device (exception), timed out when it goes quiet."""

from __future__ import annotations

import math
from typing import Any

from drivers.base import WriteStatus
from hmi.device_runner import DeviceRunner
from hmi.tags import DeviceSpec, Point
from tests.conftest import wait_until
from tests.drivers.modbus_faulty import FaultyModbusServer
from tests.drivers.test_modbus_recovery import Latest, runner_for

SETPOINT = Point("sp", "plc", "float32", "hr:10", writable=True, low=0.0, high=80.0,
                 byte_order="CDAB")


def test_writes_confirmed_rejected_and_refused(image_server: Any) -> None:
    sink = Latest()
    runner = runner_for("plc", image_server.port, [SETPOINT], sink)
    runner.start()
    try:
        wait_until(lambda: runner.state == "connected" and sink.get("sp") is not None, 5)
        result = runner.submit_write("sp", 42.5).result(5)
        assert result.status is WriteStatus.CONFIRMED, result
        assert result.value == 42.5
        assert image_server.image.hr[10:12] == [0x0000, 0x422A]  # 42.5 word-swapped
        for value in (math.nan, math.inf, 80.5, -1.0):
            result = runner.submit_write("sp", value).result(5)
            assert result.status is WriteStatus.REJECTED, (value, result)
        image_server.image.valid = {"hr": set()}
        result = runner.submit_write("sp", 10.0).result(5)
        assert result.status is WriteStatus.REJECTED
        assert "illegal data address (exception 2)" in result.message
        assert image_server.image.hr[10:12] == [0x0000, 0x422A]
    finally:
        runner.stop()


def test_write_to_a_device_gone_quiet_times_out(server_loop: Any) -> None:
    server = FaultyModbusServer()
    server_loop.call(server.start())
    sink = Latest()
    spec = DeviceSpec("plc", "modbus-tcp", poll_s=5.0, timeout_s=0.3,
                      settings={"host": "127.0.0.1", "port": server.port})
    runner = DeviceRunner(spec, [SETPOINT], sink)
    runner.start()
    try:
        wait_until(lambda: runner.state == "connected" and runner.cycles >= 1, 5)
        server.mode = "silent"
        result = runner.submit_write("sp", 1.0, timeout_s=2.0).result(5)
        assert result.status is WriteStatus.TIMED_OUT, result
        assert "no answer" in result.message
    finally:
        runner.stop()
        server_loop.call(server.stop())
