"""Widgets on a real runtime: BAD shows "BAD" with its reason (never a stale number), UNCERTAIN
is marked, equipment states read by fill and text, the analog bar's violated band takes the
priority colour, every value opens its faceplate on click and Enter."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from hmi.tags import Quality, Sample
from tests.conftest import free_port
from tests.gui.stations import SIM_PROJECT
from widgets.alarm_style import PRIORITIES
from widgets.analog_indicator import AnalogIndicator
from widgets.equipment import EquipmentSymbol
from widgets.value_label import ValueLabel

DEAD_DEVICE = """\
[project]
name = "dead"

[[devices]]
name = "plc"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = {port}
poll_ms = 100

[[tags]]
name = "Press.Pressure"
device = "plc"
address = "hr:0"
type = "float32"
unit = "bar"
min = 0
max = 10
"""


def test_bad_tag_renders_bad_with_its_reason_never_a_number(make_station, qtbot) -> None:
    station = make_station(DEAD_DEVICE.format(port=free_port()))
    label = ValueLabel(station.context, "Press.Pressure", "Pressure")
    qtbot.addWidget(label)
    label.show()
    qtbot.waitUntil(lambda: label.sample() is not None
                    and label.sample().reason.startswith("comm failure"), timeout=10_000)
    assert label.text() == "BAD"
    assert "BAD: comm failure" in label.toolTip()
    image = label.grab().toImage()
    assert any(image.pixelColor(x, image.height() // 2) == QColor("#8E8E8E")
               for x in range(image.width())), "BAD field is not hatched"
    bar = AnalogIndicator(station.context, "Press.Pressure", "Pressure")
    qtbot.addWidget(bar)
    assert bar.text() == "BAD"


def test_bad_after_good_hides_the_last_good_value(make_station, qtbot) -> None:
    station = make_station()
    label = ValueLabel(station.context, "Tank.Density", "Density")  # read once an hour
    qtbot.addWidget(label)
    label.show()
    qtbot.waitUntil(lambda: label.text() == "1.020", timeout=5000)
    station.runtime.post([Sample("Tank.Density", None, time.time(), Quality.BAD,
                                 "comm failure: cable pulled")])
    qtbot.waitUntil(lambda: label.text() == "BAD", timeout=3000)
    assert "cable pulled" in label.toolTip()
    station.runtime.post([Sample("Tank.Density", 1.01, time.time(), Quality.UNCERTAIN,
                                 "last known value")])
    qtbot.waitUntil(lambda: label.text() == "1.010 ?", timeout=3000)
    assert "UNCERTAIN: last known value" in label.toolTip()


def test_equipment_state_is_text_and_fill_not_colour(make_station, qtbot) -> None:
    station = make_station()
    motor = EquipmentSymbol(station.context, "Pump.Running", "Pump", fault="Pump.Fault",
                            command="Pump.RunCmd")
    qtbot.addWidget(motor)
    motor.show()
    qtbot.waitUntil(lambda: motor.state() == "RUNNING", timeout=5000)
    running = motor.grab().toImage()
    assert station.runtime.write("Pump.Fault", True).ok
    qtbot.waitUntil(lambda: motor.state() == "FAULT", timeout=5000)
    fault = motor.grab().toImage()
    assert running != fault
    for image in (running, fault):  # equipment never uses red or green
        assert not _has_colour(image, hue_ranges=((0, 20), (340, 360), (90, 150)),
                               exclude_alarm_colours=True)
    assert motor.faceplate_tag == "Pump.RunCmd"


def test_violated_band_takes_the_priority_colour(make_station, qtbot) -> None:
    station = make_station()
    bar = AnalogIndicator(station.context, "Tank.Temp", "Temperature")
    qtbot.addWidget(bar)
    bar.resize(300, bar.sizeHint().height())
    bar.show()
    qtbot.waitUntil(lambda: bool(bar.violated()), timeout=10_000)  # 95 > H 80, urgent
    image = bar.grab().toImage()
    urgent = QColor(PRIORITIES["urgent"].colour)
    band_y = 20 + 8 + 7
    right = [image.pixelColor(x, band_y) for x in range(int(bar.width() * 0.85),
                                                         bar.width() - 12)]
    assert urgent in right, "the band above H is not in the urgent colour"
    left = [image.pixelColor(x, band_y) for x in range(14, int(bar.width() * 0.5))]
    assert urgent not in left


@pytest.mark.parametrize(("state", "filled"), [("B", True), ("C", True), ("E", True),
                                               ("D", False)])
def test_the_band_is_filled_only_while_the_alarm_is_active(make_station, qtbot, state, filled
                                                           ) -> None:
    """Returned unacknowledged (D): the value is back in the normal band, so the band beyond
    the limit is outlined with its number, not filled (a full band read as "still high")."""
    station = make_station(start=False)
    name = next(a["name"] for a in station.context.meta.alarms["Tank.Temp"])
    station.context.alarms.apply([{
        "name": name, "tag": "Tank.Temp", "state": state, "state_name": state,
        "priority": "urgent", "raised_ts": 1.0, "active": state in ("B", "C"),
        "acked": state in ("C", "E"), "message": "Tank temperature high", "value": 95.0}])
    bar = AnalogIndicator(station.context, "Tank.Temp", "Temperature")
    qtbot.addWidget(bar)
    bar.resize(400, bar.sizeHint().height())
    bar.show()
    assert bool(bar.violated()) is filled
    assert bool(bar.returned()) is not filled
    image = bar.grab().toImage()
    urgent = QColor(PRIORITIES["urgent"].colour)
    band_y = 20 + 8 + 7
    x_limit = 10 + (bar.width() - 20) * 0.8  # H = 80 of 0..100
    inside = [image.pixelColor(x, band_y) for x in range(int(x_limit) + 5, bar.width() - 16)]
    share = sum(c == urgent for c in inside) / len(inside)
    if filled:
        assert share > 0.5  # filled (the BAD hatch of a never-read value crosses it)
    else:
        assert share == 0
        top = [image.pixelColor(x, band_y - 6) for x in range(int(x_limit) + 5,
                                                              bar.width() - 16)]
        assert urgent in top  # the outline keeps the priority colour


def test_click_and_enter_open_the_faceplate(make_station, qtbot) -> None:
    station = make_station()
    label = ValueLabel(station.context, "Tank.Level", "Level")
    qtbot.addWidget(label)
    label.show()
    with qtbot.waitSignal(station.context.faceplate_requested, timeout=1000) as clicked:
        qtbot.mouseClick(label, Qt.MouseButton.LeftButton)
    assert clicked.args == ["Tank.Level"]
    label.setFocus()
    with qtbot.waitSignal(station.context.faceplate_requested, timeout=1000) as entered:
        qtbot.keyClick(label, Qt.Key.Key_Return)
    assert entered.args == ["Tank.Level"]


def _has_colour(image: QImage, hue_ranges: tuple[tuple[int, int], ...],
                exclude_alarm_colours: bool) -> bool:
    alarm = {QColor(p.colour).rgb() for p in PRIORITIES.values()}
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            colour = image.pixelColor(x, y)
            if exclude_alarm_colours and colour.rgb() in alarm:
                continue
            if colour.hsvSaturationF() > 0.35 and colour.valueF() > 0.2:
                hue = colour.hsvHue()
                if any(lo <= hue <= hi for lo, hi in hue_ranges):
                    return True
    return False


def test_sim_project_has_the_expected_tags() -> None:
    assert "Pump.RunCmd" in SIM_PROJECT


def test_the_pointer_sits_at_the_value(make_station, qtbot) -> None:
    station = make_station()
    bar = AnalogIndicator(station.context, "Tank.Level", "Level")  # 50 % of 0..100
    qtbot.addWidget(bar)
    bar.resize(320, bar.sizeHint().height())
    bar.show()
    qtbot.waitUntil(lambda: bar.text() == "50.0", timeout=5000)
    image = bar.grab().toImage()
    y = 20 + 8 - 4  # in the pointer's triangle, above the bar
    dark = [x for x in range(image.width()) if image.pixelColor(x, y).value() < 40]
    assert dark, "no pointer drawn"
    middle = 10 + (bar.width() - 20) / 2
    assert abs(sum(dark) / len(dark) - middle) < 3
