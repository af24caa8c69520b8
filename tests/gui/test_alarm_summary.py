"""The alarm summary on a real station: real alarm service, real journal file, keyboard actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog

from screens.alarm_summary import AlarmSummaryScreen
from tests.gui.alarm_station import ALARMING, NORMAL, PROJECT, Station, open_station
from widgets.alarm_dialogs import ShelveDialog, TextDialog
from widgets.alarm_table import COLUMN


@pytest.fixture
def station(tmp_path: Path, data_dir: Path, qapp):
    yield from open_station(PROJECT, tmp_path, data_dir)


@pytest.fixture
def screen(station: Station, qtbot) -> AlarmSummaryScreen:
    station.post(ALARMING)
    widget = AlarmSummaryScreen(station.context)
    qtbot.addWidget(widget)
    widget.resize(1400, 600)
    widget.show()
    qtbot.waitUntil(lambda: widget.model.rowCount() == 7, timeout=5000)
    return widget


def row_of(screen: AlarmSummaryScreen, name: str) -> dict:
    pos = screen.model.position(name)
    assert pos is not None, f"{name} not shown: {screen.model.names()}"
    return screen.model.row(pos)


def select(qtbot, screen: AlarmSummaryScreen, *names: str) -> None:
    """Select rows through the selection model (not selectRow: that reads the keyboard
    modifiers a previous key click may have left behind)."""
    focus_table(qtbot, screen)
    selection = screen.table.selectionModel()
    flag = selection.SelectionFlag
    for i, name in enumerate(names):
        pos = screen.model.position(name)
        assert pos is not None
        index = screen.model.index(pos, 0)
        if i == 0:
            selection.setCurrentIndex(index, flag.NoUpdate)
        selection.select(index, (flag.ClearAndSelect if i == 0 else flag.Select) | flag.Rows)
    assert [r["name"] for r in screen.actions_.selected()] == sorted(
        names, key=lambda n: screen.model.position(n))


def focus_table(qtbot, screen: AlarmSummaryScreen) -> None:
    """Keys reach the screen's shortcuts only in the active window (after a dialog closed,
    the offscreen platform does not re-activate it by itself)."""
    if QApplication.activeWindow() is not screen:
        with qtbot.waitActive(screen, timeout=2000):
            screen.activateWindow()
    screen.table.setFocus()


def wait_state(qtbot, screen: AlarmSummaryScreen, name: str, state: str | None) -> None:
    """state None: the row is gone from the current view."""
    if state is None:
        qtbot.waitUntil(lambda: screen.model.position(name) is None, timeout=5000)
    else:
        qtbot.waitUntil(lambda: screen.model.position(name) is not None
                        and row_of(screen, name)["state"] == state, timeout=5000)


def accept_dialog(qtbot, screen: AlarmSummaryScreen) -> QDialog:
    qtbot.waitUntil(lambda: screen.actions_.dialog is not None, timeout=2000)
    dialog = screen.actions_.dialog
    assert dialog is not None
    assert dialog.isVisible()
    return dialog


def test_shows_sorts_and_acknowledges_through_the_alarm_service(station, screen, qtbot) -> None:
    names = screen.model.names()
    assert names[0] == "Tank.Level.HH"  # priority 1 first
    assert [row_of(screen, n)["priority"] for n in names] == [
        "urgent", "high", "high", "medium", "medium", "low", "low"]
    assert screen.model.index(screen.model.position("Pump.Fault.DI"), COLUMN["first"]).data() \
        == "1st"
    assert screen.model.index(screen.model.position("Tank.Level.HI"), COLUMN["value"]).data() \
        == "95.0 %"
    screen.table.sortByColumn(COLUMN["name"], Qt.SortOrder.AscendingOrder)
    assert screen.model.names() == sorted(names)
    screen.table.sortByColumn(COLUMN["name"], Qt.SortOrder.DescendingOrder)
    assert screen.model.names() == sorted(names, reverse=True)

    select(qtbot, screen, "Tank.Level.HI")
    qtbot.keyClick(screen.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    wait_state(qtbot, screen, "Tank.Level.HI", "C")
    assert station.state("Tank.Level.HI") == "C"
    assert station.state("Tank.Level.HH") == "B"  # only the selected one
    acks = station.journal(alarm="Tank.Level.HI", event="ack")
    assert [(r["user"], r["state"]) for r in acks] == [("olga", "C")]
    # the acknowledged row is no longer bold; an unacknowledged one still is
    font = screen.model.index(screen.model.position("Tank.Level.HI"), 2).data(
        Qt.ItemDataRole.FontRole)
    assert font is None
    assert screen.model.index(screen.model.position("Tank.Level.HH"), 2).data(
        Qt.ItemDataRole.FontRole).bold()


def test_acknowledge_with_comment_goes_into_the_journal(station, screen, qtbot) -> None:
    select(qtbot, screen, "Pump.Flow.LO", "Tank.Temp.HI")
    qtbot.keyClick(screen.table, Qt.Key.Key_K,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    dialog = accept_dialog(qtbot, screen)
    assert isinstance(dialog, TextDialog)
    dialog.text.setText("checked on site")
    with qtbot.waitSignal(screen.actions_.done, timeout=5000) as done:
        dialog.accept()
    assert done.args[0] == "ack"
    assert sorted(n for n, _, e in done.args[1] if not e) == ["Pump.Flow.LO", "Tank.Temp.HI"]
    rows = station.journal(event="ack")
    assert sorted((r["alarm"], r["comment"]) for r in rows) == [
        ("Pump.Flow.LO", "checked on site"), ("Tank.Temp.HI", "checked on site")]


def test_shelve_is_capped_needs_a_reason_and_unshelves(station, screen, qtbot) -> None:
    select(qtbot, screen, "Tank.Temp.HI")
    qtbot.keyClick(screen.table, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    dialog = accept_dialog(qtbot, screen)
    assert isinstance(dialog, ShelveDialog)
    assert dialog.minutes.maximum() == 60  # the project's shelve_max_min
    assert dialog.minutes.value() == 15
    dialog.minutes.setValue(500)
    assert dialog.minutes.value() == 60  # capped as typed
    ok = dialog.buttons.buttons()[0]
    assert not ok.isEnabled()  # no reason yet
    dialog.minutes.setValue(30)
    dialog.reason.setText("sensor replaced")
    assert ok.isEnabled()
    dialog.accept()
    wait_state(qtbot, screen, "Tank.Temp.HI", None)  # left the standing view
    assert station.state("Tank.Temp.HI") == "F"
    assert screen.views.tabText(1) == "Shelved 1"
    [shelve] = station.journal(alarm="Tank.Temp.HI", event="shelve")
    assert (shelve["user"], shelve["comment"]) == ("olga", "30 min: sensor replaced")

    focus_table(qtbot, screen)
    qtbot.keyClick(screen.table, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert screen.current_filter().view == "shelved"
    assert screen.model.names() == ["Tank.Temp.HI"]
    assert "shelved until" in screen.model.index(0, COLUMN["state"]).data()
    select(qtbot, screen, "Tank.Temp.HI")
    qtbot.keyClick(screen.table, Qt.Key.Key_H,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_state(qtbot, screen, "Tank.Temp.HI", None)
    assert station.state("Tank.Temp.HI") == "B"  # still standing: annunciated again
    assert station.journal(alarm="Tank.Temp.HI", event="unshelve")[0]["user"] == "olga"


def test_filters_and_views(station, screen, qtbot) -> None:
    screen.priority_buttons["urgent"].setChecked(True)
    assert screen.model.names() == ["Tank.Level.HH"]
    screen.priority_buttons["low"].setChecked(True)
    assert sorted(screen.model.names()) == ["Pump.Speed.HI", "Tank.Level.HH",
                                            "Tank.Pressure.HI"]
    for button in screen.priority_buttons.values():
        button.setChecked(False)
    screen.area.setCurrentIndex(screen.area.findData("Acme/Site/Bottling/Pumps"))
    assert screen.area.currentText() == "Pumps"  # shown below the project's node
    assert screen.area.findData("Acme/Site/Bottling") > 0  # the whole line
    assert screen.area.findData("$station/security") > 0  # the station's own alarms
    assert screen.area.findData("Acme/Site") < 0  # nothing above the project
    assert sorted(screen.model.names()) == ["Pump.Fault.DI", "Pump.Flow.LO", "Pump.Speed.HI"]
    screen.area.setCurrentIndex(0)
    qtbot.keyClick(screen.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert screen.text.hasFocus()
    qtbot.keyClicks(screen.text, "temperature")
    qtbot.waitUntil(lambda: screen.model.names() == ["Tank.Temp.HI"], timeout=2000)
    qtbot.keyClick(screen.text, Qt.Key.Key_Escape)
    assert screen.table.hasFocus()
    screen.text.clear()
    screen.state.setCurrentIndex(screen.state.findData("C"))
    qtbot.waitUntil(lambda: screen.model.rowCount() == 0, timeout=2000)
    screen.state.setCurrentIndex(0)
    qtbot.waitUntil(lambda: screen.model.rowCount() == 7, timeout=2000)

    # out of service is for engineers: disabled for an operator, with the reason
    select(qtbot, screen, "Pump.Speed.HI")
    oos = screen.actions_.actions["oos"]
    assert not oos.isEnabled()
    assert "needs role engineer" in oos.toolTip()
    station.context.set_actor(station.login("eve"))
    assert oos.isEnabled()
    qtbot.keyClick(screen.table, Qt.Key.Key_O,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = accept_dialog(qtbot, screen)
    ok = dialog.buttons.buttons()[0]
    assert not ok.isEnabled()  # a reason is required
    dialog.text.setText("speed sensor removed")
    dialog.accept()
    wait_state(qtbot, screen, "Pump.Speed.HI", None)
    assert station.state("Pump.Speed.HI") == "H"
    assert screen.views.tabText(3) == "Out of service 1"
    screen.views.setCurrentIndex(3)
    assert screen.model.names() == ["Pump.Speed.HI"]
    assert station.journal(alarm="Pump.Speed.HI", event="oos")[0]["comment"] == \
        "speed sensor removed"
    # nobody logged in: every action disabled, and says why
    station.context.set_actor(None)
    assert not screen.actions_.actions["ack_page"].isEnabled()
    assert "nobody is logged in" in screen.actions_.actions["ack_page"].toolTip()


def test_suppressed_view_and_reset_of_a_latched_alarm(station, screen, qtbot) -> None:
    select(qtbot, screen, "Tank.Level.HH")
    qtbot.keyClick(screen.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    wait_state(qtbot, screen, "Tank.Level.HH", "C")
    station.post({"Tank.Level": NORMAL["Tank.Level"]})
    wait_state(qtbot, screen, "Tank.Level.HH", "E")  # latched: waits for a reset
    select(qtbot, screen, "Tank.Level.HH")
    assert screen.actions_.actions["reset"].isEnabled()
    qtbot.keyClick(screen.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_state(qtbot, screen, "Tank.Level.HH", None)
    assert station.state("Tank.Level.HH") == "A"
    assert station.journal(alarm="Tank.Level.HH", event="reset")[0]["user"] == "olga"


def test_ack_page_never_acknowledges_rows_the_operator_cannot_see(station, screen,
                                                                 qtbot) -> None:
    screen.priority_buttons["high"].setChecked(True)
    assert sorted(screen.model.names()) == ["Pump.Fault.DI", "Tank.Level.HI"]
    screen.table.setFocus()
    qtbot.keyClick(screen.table, Qt.Key.Key_K,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = accept_dialog(qtbot, screen)
    assert "2 unacknowledged" in dialog.findChild(type(screen.status)).text()
    with qtbot.waitSignal(screen.actions_.done, timeout=5000):
        dialog.accept()
    states = {name: station.state(name) for name in (
        "Tank.Level.HH", "Tank.Level.HI", "Tank.Temp.HI", "Tank.Pressure.HI",
        "Pump.Flow.LO", "Pump.Fault.DI", "Pump.Speed.HI")}
    assert states == {"Tank.Level.HH": "B", "Tank.Level.HI": "C", "Tank.Temp.HI": "B",
                      "Tank.Pressure.HI": "B", "Pump.Flow.LO": "B", "Pump.Fault.DI": "C",
                      "Pump.Speed.HI": "B"}
    assert len(station.journal(event="ack")) == 2


def test_context_menu_opens_faceplate_and_trend_around_the_alarm(station, screen,
                                                                qtbot) -> None:
    select(qtbot, screen, "Tank.Temp.HI")
    row = row_of(screen, "Tank.Temp.HI")
    with qtbot.waitSignal(station.context.trend_requested, timeout=2000) as trend:
        qtbot.keyClick(screen.table, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    tags, start, end = trend.args
    assert tags[0] == "Tank.Temp"
    assert sorted(tags) == ["Tank.Level", "Tank.Pressure", "Tank.Temp"]  # the same asset
    assert start == pytest.approx(row["raised_ts"] - 600)
    assert end == pytest.approx(row["raised_ts"] + 600)
    with qtbot.waitSignal(station.context.faceplate_requested, timeout=2000) as faceplate:
        qtbot.keyClick(screen.table, Qt.Key.Key_Return)
    assert faceplate.args == ["Tank.Temp"]
    rect = screen.table.visualRect(screen.model.index(screen.model.position("Pump.Flow.LO"), 3))
    screen.table.customContextMenuRequested.emit(rect.center())
    assert screen.actions_.menu.isVisible()
    assert [row_of(screen, "Pump.Flow.LO")] == screen.actions_.selected()
    texts = [a.text() for a in screen.actions_.menu.actions() if not a.isSeparator()]
    assert "&Trend around this alarm" in texts
    assert "Open &faceplate" in texts
    screen.actions_.menu.close()
    focus_table(qtbot, screen)
    qtbot.keyClick(screen.table, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert screen.actions_.menu.isVisible()  # the keyboard way to the same menu
    screen.actions_.menu.close()


def test_hidden_screen_applies_changes_only_when_shown(station, screen, qtbot) -> None:
    screen.hide()
    applied = []
    screen.model.layoutChanged.connect(lambda: applied.append("layout"))
    screen.model.dataChanged.connect(lambda *a: applied.append("data"))
    screen.model.rowsRemoved.connect(lambda *a: applied.append("removed"))
    station.post({"Pump.Speed": NORMAL["Pump.Speed"]})
    qtbot.waitUntil(lambda: station.state("Pump.Speed.HI") == "D", timeout=5000)
    station.bridge.flush_now()
    assert applied == []
    assert row_of(screen, "Pump.Speed.HI")["state"] == "B"
    screen.show()
    assert row_of(screen, "Pump.Speed.HI")["state"] == "D"
    assert applied


@pytest.fixture
def capped(tmp_path: Path, data_dir: Path, qapp, qtbot):
    """The alarm station with the high-high alarm allowing at most 10 min on the shelf."""
    text = PROJECT.replace('message = "Tank level high-high"\n',
                           'message = "Tank level high-high"\nshelve_max_min = 10\n')
    for station in open_station(text, tmp_path, data_dir):
        station.post(ALARMING)
        widget = AlarmSummaryScreen(station.context)
        qtbot.addWidget(widget)
        widget.resize(1400, 600)
        widget.show()
        qtbot.waitUntil(lambda w=widget: w.model.rowCount() == 7, timeout=5000)
        yield station, widget


def test_an_alarms_own_shelve_maximum_caps_the_dialog(capped, qtbot) -> None:
    station, screen = capped
    for names, longest, whose in ((["Tank.Level.HH", "Tank.Temp.HI"], 10,
                                   "the shortest of these alarms'"),
                                  (["Tank.Temp.HI"], 60, "the project's"),
                                  (["Tank.Level.HH"], 10, "this alarm's")):  # shelved last
        select(qtbot, screen, *names)
        screen.actions_.actions["shelve"].trigger()
        dialog = accept_dialog(qtbot, screen)
        assert isinstance(dialog, ShelveDialog)
        assert dialog.minutes.maximum() == longest, names
        assert dialog.minutes.value() == min(15, longest)  # the default, within the cap
        assert f"({whose} maximum)" in dialog.minutes.toolTip()
        if names == ["Tank.Level.HH"]:
            dialog.reason.setText("transmitter recalibrated")
            dialog.accept()
            qtbot.waitUntil(lambda: station.state("Tank.Level.HH") == "F", timeout=5000)
            [shelve] = station.journal(alarm="Tank.Level.HH", event="shelve")
            assert shelve["comment"] == "10 min: transmitter recalibrated"
            break
        dialog.reject()
        focus_table(qtbot, screen)
