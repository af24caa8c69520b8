"""The faceplate: refuses NaN and out-of-range input as you type, confirms old -> new, sends
the write off the GUI thread, and shows the read-back: a write that reaches a real Modbus
server shows "confirmed"; alarm actions on the tag go through the real alarm service (journal
rows checked); what the user may not do is disabled with the reason."""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QMessageBox

from alarms.journal import Journal
from tests.drivers.conftest import LoopThread
from tests.gui.stations import SIM_PROJECT, login
from widgets.faceplate import Faceplate
from widgets.setpoint_entry import RangeValidator

MODBUS_PROJECT = """\
[project]
name = "modbus faceplate"

[[devices]]
name = "plc"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = {port}
poll_ms = 100

[[tags]]
name = "Filler.LevelSetpoint"
device = "plc"
address = "hr:100"
type = "float32"
unit = "%"
decimals = 1
writable = true
min = 10
max = 90
"""


@pytest.fixture
def modbus_server() -> Iterator[Any]:
    from hmi.simulator.modbus_server import ModbusImageServer

    loop = LoopThread()
    server = ModbusImageServer()
    server.image.hr[100:102] = list(struct.unpack(">HH", struct.pack(">f", 60.0)))
    loop.call(server.start())
    yield server
    loop.call(server.stop())
    loop.close()


def open_faceplate(station: Any, tag: str, qtbot: Any) -> Faceplate:
    faceplate = station.window.open_faceplate(tag)
    assert faceplate is not None
    qtbot.addWidget(faceplate)
    return faceplate


def test_validator_refuses_nan_infinity_text_and_out_of_range() -> None:
    v = RangeValidator(10, 90)
    for text in ("nan", "NaN", "inf", "-inf", "1e3", "abc", "95", "100", "-5", "90.5"):
        assert v.check(text) is QValidator.State.Invalid, text
    for text in ("", "-", "5", "1", "9"):  # could still become valid: kept, not acceptable
        assert v.check(text) is QValidator.State.Intermediate, text
    for text in ("10", "45.5", "90", "90.0", "60,5"):
        assert v.check(text) is QValidator.State.Acceptable, text
    assert RangeValidator(0, 600, integer=True).check("12.5") is QValidator.State.Invalid


def test_typing_nan_or_out_of_range_is_refused_as_you_type(make_station, qtbot) -> None:
    station = make_station()
    faceplate = open_faceplate(station, "Tank.LevelSetpoint", qtbot)
    entry = faceplate.write.entry
    qtbot.keyClicks(entry, "nan")
    assert entry.text() == ""
    qtbot.keyClicks(entry, "95")  # the 5 makes 95 > 90: refused
    assert entry.text() == "9"
    assert not faceplate.write.write_button.isEnabled()
    entry.clear()
    qtbot.keyClicks(entry, "75")
    assert faceplate.write.write_button.isEnabled()
    faceplate.close()


def test_confirmed_write_reaches_a_real_modbus_server(make_station, modbus_server, qtbot
                                                      ) -> None:
    station = make_station(MODBUS_PROJECT.format(port=modbus_server.port))
    qtbot.waitUntil(lambda: station.bridge.current["Filler.LevelSetpoint"].value == 60.0,
                    timeout=10_000)
    faceplate = open_faceplate(station, "Filler.LevelSetpoint", qtbot)
    section = faceplate.write
    qtbot.keyClicks(section.entry, "72.5")
    qtbot.keyClick(section.entry, Qt.Key.Key_Return)  # asks first
    qtbot.waitUntil(lambda: section.confirm is not None and section.confirm.isVisible(),
                    timeout=2000)
    box = section.confirm
    assert "Filler.LevelSetpoint" in box.text()
    assert "60.0 %" in box.text()
    assert "72.5 %" in box.text()
    gui_thread = threading.current_thread()
    seen: list[threading.Thread] = []
    section.write_finished.connect(lambda _r: seen.append(threading.current_thread()))
    with qtbot.waitSignal(section.write_finished, timeout=10_000):
        box.button(QMessageBox.StandardButton.Yes).click()
        assert section.result_label.text().startswith("sending")
    assert section.result_label.text() == ("confirmed: Filler.LevelSetpoint reads back 72.5 %")
    assert section.result_label.property("outcome") == "confirmed"
    assert seen == [gui_thread]
    assert struct.unpack(">f", struct.pack(">HH", *modbus_server.image.hr[100:102]))[0] == 72.5
    faceplate.close()


def test_cancelled_confirmation_writes_nothing(make_station, modbus_server, qtbot) -> None:
    station = make_station(MODBUS_PROJECT.format(port=modbus_server.port))
    faceplate = open_faceplate(station, "Filler.LevelSetpoint", qtbot)
    qtbot.keyClicks(faceplate.write.entry, "30")
    faceplate.write.request_write()
    qtbot.waitUntil(lambda: faceplate.write.confirm is not None, timeout=2000)
    faceplate.write.confirm.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: faceplate.write.confirm is None, timeout=2000)
    assert faceplate.write.result_label.text() == "write cancelled"
    assert modbus_server.image.hr[100:102] == list(struct.unpack(">HH", struct.pack(">f", 60.0)))
    faceplate.close()


def test_viewer_sees_write_disabled_with_the_reason(make_station, qtbot) -> None:
    station = make_station(actor="vera")
    faceplate = open_faceplate(station, "Tank.LevelSetpoint", qtbot)
    assert not faceplate.write.entry.isEnabled()
    assert faceplate.write.entry.toolTip() == ("not allowed: needs role operator "
                                               "(you are viewer)")
    station.context.set_actor(login(station.context.commands, "olga"))
    assert faceplate.write.entry.isEnabled()
    faceplate.close()


def test_ack_and_shelve_from_the_faceplate_reach_the_journal(make_station, qtbot) -> None:
    station = make_station()
    name = "Tank.Temp.HI"  # 95 > 80: raised at once, urgent
    qtbot.waitUntil(lambda: name in station.context.alarms.rows, timeout=10_000)
    faceplate = open_faceplate(station, "Tank.Temp", qtbot)
    alarms = faceplate.alarms
    assert alarms.state_labels[name].text() == "unacknowledged"
    assert alarms.ack_buttons[name].isEnabled()
    qtbot.mouseClick(alarms.ack_buttons[name], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: alarms.state_labels[name].text() == "acknowledged", timeout=5000)
    assert not alarms.ack_buttons[name].isEnabled()
    assert alarms.ack_buttons[name].toolTip() == "not possible: nothing to acknowledge"
    assert not alarms.shelve_button.isEnabled()  # no reason yet
    qtbot.keyClicks(alarms.shelve_reason, "sensor being replaced")
    alarms.minutes.setValue(30)
    qtbot.mouseClick(alarms.shelve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: alarms.state_labels[name].text().startswith("shelved"),
                    timeout=5000)
    # the state rides the bridge, the result the command's answer: either may come first
    qtbot.waitUntil(lambda: alarms.result.text() == f"{name} shelved for 30 min",
                    timeout=5000)
    faceplate.close()
    service = station.context.commands.alarm_service()
    assert service.flush()
    journal = Journal(station.runtime.data_dir / "alarms.db")
    try:
        events = [(r["event"], r["user"], r["comment"]) for r in journal.query(alarm=name)]
    finally:
        journal.close()
    assert ("ack", "olga", "") in events
    assert ("shelve", "olga", "30 min: sensor being replaced") in events


def test_shelve_field_is_capped_at_the_chosen_alarms_own_maximum(make_station, qtbot) -> None:
    """An alarm allowed 10 min on the shelf (the project allows 480) gets a field that stops at
    10; the tag's other alarm, without its own maximum, gets the project's again."""
    high = 'message = "Tank temperature high"\n'
    assert high in SIM_PROJECT
    text = SIM_PROJECT.replace(high, high + "shelve_max_min = 10\n\n[[alarms]]\n"
                               'tag = "Tank.Temp"\ntype = "low"\nlimit = 5.0\n'
                               'priority = "low"\nmessage = "Tank temperature low"\n')
    station = make_station(text)
    faceplate = open_faceplate(station, "Tank.Temp", qtbot)
    alarms = faceplate.alarms
    assert alarms.alarm_choice.currentText() == "Tank.Temp.HI"
    assert alarms.minutes.maximum() == 10
    assert alarms.minutes.value() == 10  # the project's default (15) is above it
    assert alarms.minutes.toolTip() == "at most 10 min (this alarm's maximum)"
    alarms.alarm_choice.setCurrentIndex(1)
    assert alarms.minutes.maximum() == 480
    assert alarms.minutes.toolTip() == "at most 480 min (project policy)"
    faceplate.close()


def test_several_faceplates_open_at_once(make_station, qtbot) -> None:
    station = make_station()
    first = open_faceplate(station, "Tank.Level", qtbot)
    second = open_faceplate(station, "Tank.Temp", qtbot)
    assert first.isVisible()
    assert second.isVisible()
    assert first.windowModality() == Qt.WindowModality.NonModal
    assert station.window.open_faceplate("Tank.Level") is first  # one per tag
    station.window.close_faceplates()
    assert not first.isVisible()
    assert not second.isVisible()


def test_mini_trend_holds_the_value_in_force_from_the_window_start(make_station, qtbot) -> None:
    """The faceplate's mini trend is the trend screen's TrendPlot: a tag stored once (the lab
    device reads hourly) still draws a line from the window's start, held as a step."""
    import time

    from widgets.trend_plot import TrendPlot

    station = make_station()
    historian = station.context.historian()
    qtbot.waitUntil(lambda: station.bridge.current["Tank.Density"].value is not None,
                    timeout=5000)
    assert historian.flush(5)
    faceplate = open_faceplate(station, "Tank.Density", qtbot)
    plot = faceplate.trend
    assert isinstance(plot, TrendPlot)
    assert plot.mini
    assert plot.live
    t0, t1 = plot.visible_range()
    assert t1 - t0 == pytest.approx(600, abs=2)
    assert [p.tag for p in plot.pens()] == ["Tank.Density"]
    # a window that starts after the one stored sample: the value in force is held from t0
    start = time.time() + 0.001
    plot.set_range(start, start + 600)
    pen = plot.pen("Tank.Density")
    qtbot.waitUntil(lambda: not plot.loading() and pen.t.size > 0, timeout=5000)
    assert pen.t[0] == pytest.approx(start, abs=0.01)
    assert pen.value_before(start + 1) == pytest.approx(1.02, abs=1e-6)
    faceplate.close()
