"""The header's alarm banner: top 5 ordered unacknowledged, then active, then priority, then
newest; hidden states (shelved, suppressed, out of service) only counted; counts per priority
and per state; the horn sounds for a new alarm, silence is separate from acknowledge."""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetrics, QImage, QPainter

from hmi.gui.alarm_table import AlarmTable, banner_key
from hmi.gui.horn import Horn
from widgets.alarm_banner import AlarmBanner, AlarmCounts
from widgets.alarm_style import paint_alarm_mark


def row(name: str, state: str, priority: str, raised: float, active: bool | None = None,
        tag: str = "T") -> dict:
    if active is None:
        active = state in ("B", "C")
    return {"name": name, "tag": tag, "state": state, "state_name": state, "priority": priority,
            "raised_ts": raised, "active": active, "acked": state not in ("B", "D"),
            "message": f"message of {name}", "value": 1.5, "area": "Plant/Line1"}


ROWS = [
    row("acked-urgent", "C", "urgent", 100.0),
    row("unacked-low-new", "B", "low", 300.0),
    row("unacked-urgent-old", "B", "urgent", 50.0),
    row("rtn-unacked-high", "D", "high", 200.0),
    row("unacked-urgent-new", "B", "urgent", 250.0),
    row("latched-medium", "E", "medium", 10.0, active=False),
    row("shelved-urgent", "F", "urgent", 400.0),
    row("oos-high", "H", "high", 401.0),
    row("suppressed-low", "G", "low", 402.0),
]


def test_banner_order_unacked_then_active_then_priority_then_newest(qapp) -> None:
    table = AlarmTable()
    table.apply(ROWS)
    assert [r["name"] for r in table.top(5)] == [
        "unacked-urgent-new",  # unacked + active, urgent, newer
        "unacked-urgent-old",
        "unacked-low-new",  # unacked + active beats unacked + returned, whatever priority
        "rtn-unacked-high",  # unacked, no longer active
        "acked-urgent",  # acknowledged after every unacknowledged one
    ]
    assert "shelved-urgent" not in [r["name"] for r in table.annunciated()]
    assert sorted(ROWS, key=banner_key)[0]["name"] == "unacked-urgent-new"


def test_counts_per_priority_and_state_and_normal_rows_leave(qapp) -> None:
    table = AlarmTable()
    table.apply(ROWS)
    counts = table.counts()
    assert {k: counts[k] for k in ("urgent", "high", "medium", "low")} == {
        "urgent": 3, "high": 1, "medium": 1, "low": 1}
    assert {k: counts[k] for k in ("unacked", "acked", "shelved", "suppressed", "oos")} == {
        "unacked": 4, "acked": 2, "shelved": 1, "suppressed": 1, "oos": 1}
    table.apply([{**ROWS[0], "state": "A"}])
    assert "acked-urgent" not in table.rows
    assert table.counts()["urgent"] == 2


def test_banner_widget_shows_five_rows_and_opens_a_faceplate(make_station, qtbot) -> None:
    station = make_station(start=False)
    context = station.context
    context.alarms.apply([{**r, "tag": "Tank.Level"} for r in ROWS])
    banner = AlarmBanner(context)
    counts = AlarmCounts(context)
    qtbot.addWidget(banner)
    qtbot.addWidget(counts)
    banner.resize(900, banner.sizeHint().height())
    banner.show()
    assert next(r["name"] for r in banner.rows) == "unacked-urgent-new"
    assert len(banner.rows) == 5
    assert counts.counts["unacked"] == 4
    with qtbot.waitSignal(context.faceplate_requested, timeout=1000) as opened:
        qtbot.mouseClick(banner, Qt.MouseButton.LeftButton, pos=QPoint(12, 10))
    assert opened.args == ["Tank.Level"]
    assert banner.selected == "unacked-urgent-new"
    banner.setFocus()
    qtbot.keyClick(banner, Qt.Key.Key_Down)
    assert banner.selected == "unacked-urgent-old"
    image = banner.grab().toImage()
    assert not image.isNull()


def test_horn_sounds_for_a_new_alarm_and_silence_is_not_ack(qapp, qtbot) -> None:
    table = AlarmTable()
    horn = Horn(table)
    assert horn.sounding == ""
    table.apply([row("a", "B", "high", time.time())])
    assert horn.sounding == "high"
    assert horn.beeps >= 1
    table.apply([row("b", "B", "urgent", time.time())])
    assert horn.sounding == "urgent"
    horn.silence()
    assert horn.sounding == ""
    assert table.rows["a"]["state"] == "B"  # silencing acknowledges nothing
    table.apply([row("c", "B", "medium", time.time())])  # a new alarm sounds again
    assert horn.sounding == "medium"
    table.apply([row("c", "C", "medium", time.time())])  # acknowledged: quiet
    assert horn.sounding == ""
    beeps = horn.beeps
    table.apply([row("d", "B", "low", time.time())])  # low: one beep, then quiet
    assert horn.beeps == beeps + 1
    assert horn.sounding == ""


def test_blinking_marks_keep_their_shape(qapp) -> None:
    def render(phase: float) -> QImage:
        image = QImage(24, 24, QImage.Format.Format_ARGB32)
        image.fill(0xFFD5D5D5)
        painter = QPainter(image)
        paint_alarm_mark(painter, QRectF(0, 0, 24, 24), "high", "B", phase)
        painter.end()
        return image

    assert render(0.0) != render(0.6)


def test_an_alarm_that_comes_back_unacknowledged_sounds_again(qapp) -> None:
    table = AlarmTable()
    horn = Horn(table)
    table.apply([row("a", "B", "high", 1.0)])
    horn.silence()
    table.apply([row("a", "D", "high", 1.0)])  # returned, still unacknowledged: quiet
    assert horn.sounding == ""
    table.apply([row("a", "B", "high", 2.0)])  # back again: the operator must hear it
    assert horn.sounding == "high"


def test_banner_values_carry_the_tags_unit_and_the_message_comes_first(make_station, qtbot
                                                                        ) -> None:
    """"Line1.Filler.Level = 96.00" without its unit, True/False where the summary says
    on/off, and the tag path taking width from an elided message: seen in screenshots."""
    station = make_station(start=False)
    context = station.context
    long_message = "Filler tank level high: stop the infeed and check the level transmitter"
    context.alarms.apply([
        {**row("level", "B", "urgent", 10.0, tag="Tank.Level"), "value": 96.04,
         "message": long_message},
        {**row("fault", "C", "high", 9.0, tag="Pump.Fault"), "value": True},
        {**row("count", "C", "low", 8.0, tag="Pump.Count"), "value": 12345},
    ])
    banner = AlarmBanner(context)
    qtbot.addWidget(banner)
    rows = {r["name"]: r for r in banner.rows}
    assert banner.value_text(rows["level"]) == "96.0 %"  # decimals = 1, unit %
    assert banner.value_text(rows["fault"]) == "on"  # as the alarm summary writes it
    assert banner.value_text(rows["count"]) == "12\u2009345 units"

    bold = QFont(banner.font())
    bold.setBold(True)
    drawn = QFontMetrics(bold)  # unacknowledged: the message is drawn bold
    # wide: everything whole
    cells = banner.row_cells(rows["level"], 100, 1100)
    assert cells["message"][2] == long_message
    assert cells["tag"][2] == "Tank.Level = 96.0 %"
    # narrow: the message keeps its width, the tag gives way but keeps its value
    cells = banner.row_cells(rows["level"], 100, 700)
    assert cells["message"][2] == long_message
    assert cells["tag"][2].endswith("= 96.0 %")
    # narrower still: the message is cut, never run into the tag
    cells = banner.row_cells(rows["level"], 100, 400)
    message_x, _message_w, message = cells["message"]
    tag_x, _tag_w, tag = cells["tag"]
    assert message != long_message
    assert message_x + drawn.horizontalAdvance(message) + 8 <= tag_x
    assert tag.startswith("\u2026")  # the path gives way from the left
    assert tag.endswith(" = 96.0 %")  # the value whole
