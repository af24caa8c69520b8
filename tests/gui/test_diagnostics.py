"""The diagnostics screen on a real station: a dead Modbus device shows DOWN with its last
error, a live one its requests; the historian and alarm service report; refresh only while
visible."""

from __future__ import annotations

from pathlib import Path

import pytest

from screens.diagnostics import DiagnosticsScreen, device_detail, size
from tests.conftest import free_port
from tests.gui.alarm_station import open_station

PROJECT = """\
[project]
name = "Diagnostics"

[[devices]]
name = "deadplc"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = {port}
poll_ms = 100
timeout_ms = 200

[[devices]]
name = "sim"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Dead.Level"
device = "deadplc"
address = "hr:0"
type = "float32"

[[tags]]
name = "Dead.Count"
device = "deadplc"
address = "hr:10"
type = "uint16"

[[tags]]
name = "Live.Value"
device = "sim"
sim = {{ signal = "ramp", amplitude = 10.0 }}

[[alarms]]
tag = "Dead.Level"
type = "bad_quality"
priority = "medium"
message = "PLC not communicating"

# the station's own "device down" alarm (issue 11) would make the count below 2 / 2 after its
# 10 s on-delay; this test is about the project's alarm
[station.alarms.device_down]
enabled = false
"""

SERVICES = ("hmi.security.service:SecurityService", "hmi.historian.service:HistorianService",
            "alarms.service:AlarmService")


@pytest.fixture
def station(tmp_path: Path, data_dir: Path, qapp):
    yield from open_station(PROJECT.format(port=free_port()), tmp_path, data_dir, SERVICES)


def test_dead_device_shows_down_with_its_last_error(station, qtbot) -> None:
    screen = DiagnosticsScreen(station.context)
    qtbot.addWidget(screen)
    screen.resize(1300, 800)
    screen.show()

    def row(name: str) -> list[str]:
        for r in range(screen.devices.rowCount()):
            if screen.devices.item(r, 0).text() == name:
                return [screen.devices.item(r, c).text() for c in range(10)]
        return []

    qtbot.waitUntil(lambda: row("deadplc")[2:3] == ["DOWN"] and "refused" in row("deadplc")[9]
                    and int(row("sim")[3] or 0) > 0, timeout=15_000)
    dead = row("deadplc")
    assert dead[1] == "modbus-tcp"
    assert int(dead[5]) >= 1  # errors
    assert "connection to 127.0.0.1:" in dead[9]
    assert screen.devices.item(screen.devices.currentRow(), 0).text() == "deadplc"
    detail = screen.detail.toPlainText()
    assert "errors by kind: refused" in detail
    assert "read plan:" in detail
    assert "for 2 tag(s)" in detail
    assert row("sim")[2] == "CONNECTED"
    qtbot.waitUntil(lambda: screen.alarms.value("Standing / unacked") == "1 / 1",
                    timeout=10_000)
    assert screen.alarms.value("State") == "running"
    assert screen.alarms.value("Journal writing") == "yes"  # issue 11: the current state
    assert screen.historian.value("Writing") == "yes"
    assert screen.historian.value("State") == "running"
    assert screen.historian.value("Writer lag") == "none" or "waiting" in \
        screen.historian.value("Writer lag")
    assert screen.historian.value("File").endswith("history.db")
    assert screen.dispatch.value("Dispatch lag").endswith(" ms")
    assert "DOWN: deadplc" in screen.status.text()
    assert screen.security.value("Users") == "5"
    assert "olga (active)" in screen.security.value("Sessions")
    assert screen.security.value("Locked out") == "nobody"


def test_refreshes_only_while_visible(station, qtbot) -> None:
    screen = DiagnosticsScreen(station.context)
    qtbot.addWidget(screen)
    reports = []
    screen.refreshed.connect(reports.append)
    screen.show()
    qtbot.waitUntil(lambda: len(reports) >= 2, timeout=5000)
    screen.hide()
    qtbot.waitUntil(lambda: not screen._busy, timeout=3000)  # one in flight may still land
    count = len(reports)
    assert not screen._timer.isActive()
    screen._on_tick()  # what a stray tick would do while hidden: nothing
    assert not screen._busy
    assert len(reports) == count
    screen.show()
    qtbot.waitUntil(lambda: len(reports) > count, timeout=3000)


def test_formatting() -> None:
    assert size(1_234_567) == "1.2 MB"
    assert size(12) == "12 B"
    text = device_detail("plc", {"protocol": "modbus-tcp", "state": "down", "errors":
                                 {"timeout": 3, "refused": 1}, "last_error": "boom",
                                 "last_error_ts": 95.0}, now=100.0)
    assert "errors by kind: refused 1, timeout 3" in text
    assert "last error (5 s ago): boom" in text
