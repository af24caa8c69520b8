"""The alarm summary in a flood, on a real station: the selected row keeps its alarm and its
place, Freeze stops re-sorting, and "acknowledge page" stays on the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication

from hmi.gui.bench_alarms import flood_project_text
from screens.alarm_summary import AlarmSummaryScreen
from tests.gui.alarm_station import Station, open_station

STANDING = 300
EXTRA = 60  # raised during the burst


@pytest.fixture
def station(tmp_path: Path, data_dir: Path, qapp):
    yield from open_station(flood_project_text(STANDING + EXTRA), tmp_path, data_dir)


@pytest.fixture
def screen(station: Station, qtbot) -> AlarmSummaryScreen:
    station.post({f"F{i:05d}": 60.0 for i in range(STANDING)})
    widget = AlarmSummaryScreen(station.context)
    qtbot.addWidget(widget)
    widget.resize(1300, 700)
    widget.show()
    qtbot.waitUntil(lambda: widget.model.rowCount() == STANDING, timeout=10_000)
    return widget


def burst(station: Station) -> tuple[list[str], list[str]]:
    """60 standing alarms return to normal, 60 new ones (newer: they sort in above)."""
    rtn = [f"F{i:05d}" for i in range(1, STANDING, STANDING // 60)][:60]
    new = [f"F{i:05d}" for i in range(STANDING, STANDING + EXTRA)]
    station.post({**dict.fromkeys(rtn, 40.0), **dict.fromkeys(new, 60.0)})
    return [f"{t}.HI" for t in rtn], [f"{t}.HI" for t in new]


def select_row(screen: AlarmSummaryScreen, pos: int) -> str:
    selection = screen.table.selectionModel()
    index = screen.model.index(pos, 0)
    selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
    selection.select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                     | QItemSelectionModel.SelectionFlag.Rows)
    screen.table.scrollTo(index, screen.table.ScrollHint.PositionAtCenter)
    return screen.model.row(pos)["name"]


def test_selected_row_stays_selected_and_in_place_during_a_burst(station, screen,
                                                                  qtbot) -> None:
    name = select_row(screen, STANDING // 2)
    y_before = screen.table.rowViewportPosition(STANDING // 2)
    layouts = []
    screen.model.layoutChanged.connect(lambda *a: layouts.append(1))
    rtn, _new = burst(station)
    qtbot.waitUntil(lambda: screen.model.rowCount() == STANDING + EXTRA
                    and all(screen.model.row(screen.model.position(n))["state"] == "D"
                            for n in rtn), timeout=10_000)
    pos = screen.model.position(name)
    assert pos != STANDING // 2  # rows sorted in above it ...
    selected = [screen.model.row(i.row())["name"]
                for i in screen.table.selectionModel().selectedRows(0)]
    assert selected == [name]  # ... yet it is still the one selected
    assert screen.table.rowViewportPosition(pos) == y_before  # and where the operator saw it
    assert 1 <= len(layouts) <= 3  # one re-sort per flush, not per row
    assert screen.last_refresh_s < 0.5


def test_freeze_keeps_the_order(station, screen, qtbot) -> None:
    screen.activateWindow()
    screen.table.setFocus()
    if QApplication.activeWindow() is not screen:
        with qtbot.waitActive(screen, timeout=2000):
            screen.activateWindow()
    qtbot.keyClick(screen.table, Qt.Key.Key_F,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert screen.model.frozen
    assert screen.frozen_notice.isVisible()
    assert screen.property("frozen") is True
    before = screen.model.names()
    rtn, new = burst(station)
    qtbot.waitUntil(lambda: screen.model.rowCount() == STANDING + EXTRA
                    and all(screen.model.row(screen.model.position(n))["state"] == "D"
                            for n in rtn), timeout=10_000)
    names = screen.model.names()
    assert names[:STANDING] == before  # nothing moved
    assert sorted(names[STANDING:]) == sorted(new)  # new alarms at the bottom
    screen.freeze_action.setChecked(False)
    names = screen.model.names()
    assert names != before[: len(names)]
    assert names.index(new[-1]) < names.index(before[-1])  # re-sorted once unfrozen


def test_ack_page_acknowledges_only_the_rows_on_screen(station, screen, qtbot) -> None:
    screen.resize(1300, 400)
    qtbot.waitUntil(lambda: screen.table.viewport().height() < 300, timeout=2000)
    on_screen = screen.actions_.on_screen()
    assert 3 < len(on_screen) < 20
    screen.actions_.actions["ack_page"].trigger()
    qtbot.waitUntil(lambda: screen.actions_.dialog is not None, timeout=2000)
    with qtbot.waitSignal(screen.actions_.done, timeout=10_000) as done:
        screen.actions_.dialog.accept()
    acked = sorted(n for n, _, e in done.args[1] if not e)
    assert acked == sorted(r["name"] for r in on_screen)
    station.service.flush()
    states = station.service.call(lambda m: {n: m.state(n).value for n in m.defs}).result(5)
    assert sum(s == "C" for s in states.values()) == len(on_screen)
    assert sum(s == "B" for s in states.values()) == STANDING - len(on_screen)
