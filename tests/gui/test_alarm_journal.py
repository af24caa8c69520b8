"""The alarm journal screen reads the real journal file (off the GUI thread) and exports CSV."""

from __future__ import annotations

import csv
import re
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from alarms import journal_export
from alarms.journal import Journal, JournalEntry
from hmi.mes.calendar import ShiftCalendar
from hmi.mes.config import ShiftConfig
from screens.alarm_journal import AlarmJournalScreen, shift_start, time_range
from tests.gui.alarm_station import ALARMING, NORMAL, PROJECT, Station, open_station
from widgets.faceplate_alarms import AlarmSection
from widgets.journal_table import COLUMN


@pytest.fixture
def station(tmp_path: Path, data_dir: Path, qapp):
    yield from open_station(PROJECT, tmp_path, data_dir)


def make_history(station: Station) -> None:
    """Raise everything, acknowledge one alarm with a comment, clear the pump."""
    station.post(ALARMING)
    station.runtime.flush()
    station.service.flush()
    station.context.commands.alarm(station.context.actor, "ack", "Tank.Level.HI",
                                   comment="seen it").result(5)
    station.post({"Pump.Flow": NORMAL["Pump.Flow"]})
    station.runtime.flush()
    station.service.flush()


@pytest.fixture
def screen(station: Station, qtbot) -> AlarmJournalScreen:
    make_history(station)
    widget = AlarmJournalScreen(station.context)
    qtbot.addWidget(widget)
    widget.resize(1500, 600)
    with qtbot.waitSignal(widget.query_finished, timeout=5000):
        widget.show()  # the first show queries
    return widget


def shown(screen: AlarmJournalScreen) -> list[tuple[str, str]]:
    return [(r["alarm"], r["event"]) for r in screen.model.rows()]


def test_query_shows_the_journal_newest_first(station, screen, qtbot) -> None:
    rows = shown(screen)
    assert ("Tank.Level.HI", "ack") in rows
    assert ("Pump.Flow.LO", "rtn") in rows
    assert sum(e == "raise" for _, e in rows) == 7
    assert rows[0] == ("Pump.Flow.LO", "rtn")  # the newest first
    assert screen.status.text() == f"{len(rows)} journal rows"
    ack = screen.model.rows()[rows.index(("Tank.Level.HI", "ack"))]
    assert (ack["user"], ack["comment"], ack["message"]) == ("olga", "seen it",
                                                             "Tank level high")
    pos = rows.index(("Tank.Level.HI", "ack"))
    assert screen.model.index(pos, COLUMN["event"]).data() == "acknowledged"
    assert screen.model.index(pos, COLUMN["value"]).data() == "95.0 %"
    fault = rows.index(("Pump.Fault.DI", "raise"))
    assert screen.model.index(fault, COLUMN["value"]).data() == "on"  # a bool, not "1"


def test_filters_narrow_the_query(station, screen, qtbot) -> None:
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.event.setCurrentIndex(screen.event.findData("ack"))
    assert shown(screen) == [("Tank.Level.HI", "ack")]
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.event.setCurrentIndex(0)
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.priority.setCurrentIndex(screen.priority.findData("urgent"))
    assert shown(screen) == [("Tank.Level.HH", "raise")]
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.priority.setCurrentIndex(0)
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.area.setCurrentIndex(screen.area.findData("Acme/Site/Bottling/Pumps"))
    assert {a for a, _ in shown(screen)} == {"Pump.Flow.LO", "Pump.Fault.DI", "Pump.Speed.HI"}
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.area.setCurrentIndex(0)
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.text.setText("SEEN")  # free text, case-insensitive, debounced
    assert shown(screen) == [("Tank.Level.HI", "ack")]
    # a custom range before any of it happened is empty
    screen.text.clear()
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.range.setCurrentIndex(3)
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.end.setDateTime(screen.start.dateTime().addSecs(-7200))
    assert shown(screen) == []


def test_csv_export_writes_every_matching_row(station, screen, qtbot, tmp_path) -> None:
    dest = tmp_path / "out" / "journal.csv"
    dest.parent.mkdir()
    with qtbot.waitSignal(screen.export_finished, timeout=10_000) as done:
        screen.export_csv(str(dest))
    assert done.args == [str(dest), len(screen.model.rows())]
    assert not screen.progress.isVisible()
    with dest.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(journal_export.CSV_COLUMNS)
    assert [(r["alarm"], r["event"]) for r in rows] == list(reversed(shown(screen)))
    ack = next(r for r in rows if r["event"] == "ack")
    assert (ack["alarm"], ack["user"], ack["comment"], ack["message"], ack["priority"]) == (
        "Tank.Level.HI", "olga", "seen it", "Tank level high", "high")
    assert ack["time"].endswith("Z")
    assert list(dest.parent.iterdir()) == [dest]  # no temporary file left


def test_configure_takes_the_ranges_the_trends_take(station, screen, qtbot) -> None:
    """`hmi screenshot --screen journal --range -1h` (and the rest of `parse_range`)."""
    screen.configure({"range": "-1h"})
    assert screen.range.currentData() == "hour"
    screen.configure({"range": "day"})
    assert screen.range.currentData() == "day"
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        screen.configure({"range": "-30m"})
    assert screen.range.currentData() == "custom"
    flt = screen.current_filter()
    assert flt.end - flt.start == pytest.approx(1800 + 60, abs=61)  # to the minute
    assert flt.end == pytest.approx(time.time(), abs=61)
    assert {a for a, _ in shown(screen)} >= {"Tank.Level.HI"}  # what just happened is in it
    with qtbot.waitSignal(station.context.notification, timeout=1000) as note:
        assert not screen.set_range_text("garbage")
    assert note.args[0] == "warning"
    assert "unknown range 'garbage'" in note.args[1]
    assert screen.range.currentData() == "custom"  # unchanged


def test_columns_fit_beside_the_navigation_at_1600_px(station, screen, qtbot) -> None:
    """The Message column stretches (it was cut to "Filler tank le..." while a horizontal
    scrollbar hid the Area), times are compact with the date in the tooltip."""
    screen.resize(1370, 600)  # the journal's share of a 1600 px station window
    qtbot.waitUntil(lambda: screen.table.viewport().width() > 1300, timeout=2000)
    table, header = screen.table, screen.table.horizontalHeader()
    assert header.length() <= table.viewport().width()  # nothing hidden to the right
    widest = max(table.fontMetrics().horizontalAdvance(r["message"])
                 for r in screen.model.rows())
    assert header.sectionSize(COLUMN["message"]) >= widest
    first = screen.model.rows()[0]
    if not screen.model.with_date:  # (unless the test ran across midnight)
        text = screen.model.index(0, COLUMN["time"]).data()
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d", text), text
    tip = screen.model.index(0, COLUMN["time"]).data(Qt.ItemDataRole.ToolTipRole)
    assert time.strftime("%Y-%m-%d", time.localtime(first["ts"])) in tip
    assert first["time"] in tip  # and the UTC time
    day = 86400.0
    screen.model.set_rows([{**first, "ts": first["ts"] - day}, first])  # a page over two days
    assert screen.model.with_date
    shown_time = screen.model.index(1, COLUMN["time"]).data()
    assert shown_time.startswith(time.strftime("%d %b", time.localtime(first["ts"] - day)))


def centre(asked) -> float:
    _tags, t0, t1 = asked.args
    return (t0 + t1) / 2


def test_trend_around_centres_on_the_alarms_last_raise(station, screen, qtbot) -> None:
    """From the journal's acknowledge row, and from the faceplate of an alarm that has cleared
    and been acknowledged (no longer standing): the minutes around its raise, not around the
    acknowledge nor now."""
    raised = {r["alarm"]: r["ts"] for r in station.journal(event="raise")}
    rows = screen.model.rows()
    ack = next(i for i, r in enumerate(rows) if (r["alarm"], r["event"]) == ("Tank.Level.HI",
                                                                            "ack"))
    assert rows[ack]["ts"] > raised["Tank.Level.HI"]
    screen.table.setCurrentIndex(screen.model.index(ack, 0))
    with qtbot.waitSignal(station.context.trend_requested, timeout=5000) as asked:
        screen.trend_button.click()
    assert asked.args[0][0] == "Tank.Level"
    assert centre(asked) == pytest.approx(raised["Tank.Level.HI"], abs=1e-5)
    rtn = next(i for i, r in enumerate(rows) if r["event"] == "rtn")  # Pump.Flow.LO
    screen.table.setCurrentIndex(screen.model.index(rtn, 0))
    with qtbot.waitSignal(station.context.trend_requested, timeout=5000) as asked:
        screen.trend_selected()
    assert centre(asked) == pytest.approx(raised["Pump.Flow.LO"], abs=1e-5)

    station.context.commands.alarm(station.context.actor, "ack", "Pump.Flow.LO").result(5)
    station.service.flush()
    qtbot.waitUntil(lambda: "Pump.Flow.LO" not in station.context.alarms.rows, timeout=5000)
    section = AlarmSection(station.context, "Pump.Flow")
    qtbot.addWidget(section)
    with qtbot.waitSignal(station.context.trend_requested, timeout=5000) as asked:
        section.trend_buttons["Pump.Flow.LO"].click()
    assert asked.args[0][0] == "Pump.Flow"
    assert centre(asked) == pytest.approx(raised["Pump.Flow.LO"], abs=1e-5)
    # a standing alarm: its own raise time, no journal needed
    with qtbot.waitSignal(station.context.trend_requested, timeout=5000) as asked:
        AlarmSection(station.context, "Tank.Temp", section).trend_around("Tank.Temp.HI")
    assert centre(asked) == pytest.approx(raised["Tank.Temp.HI"], abs=1e-5)


def activate(qtbot, screen: AlarmJournalScreen) -> None:
    """Shortcuts need the active window (offscreen does not re-activate after a dialog)."""
    if QApplication.activeWindow() is not screen:
        with qtbot.waitActive(screen, timeout=2000):
            screen.activateWindow()
    screen.table.setFocus()


def test_keyboard_export_through_the_file_dialog(station, screen, qtbot, tmp_path) -> None:
    activate(qtbot, screen)
    qtbot.keyClick(screen.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = screen.findChild(QFileDialog, "journalExportDialog")
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    dest = tmp_path / "by-keyboard.csv"
    dialog.selectFile(str(dest))
    with qtbot.waitSignal(screen.export_finished, timeout=10_000) as done:
        dialog.accept()
    assert done.args == [str(dest), len(screen.model.rows())]
    assert dest.read_text(encoding="utf-8").startswith("time,alarm,message,")
    activate(qtbot, screen)
    with qtbot.waitSignal(screen.query_finished, timeout=5000):
        qtbot.keyClick(screen.table, Qt.Key.Key_F5)


def test_export_of_a_large_journal_reports_progress_and_can_be_cancelled(tmp_path) -> None:
    path = tmp_path / "alarms.db"
    journal = Journal(path)
    base = time.time() - 1000
    for i in range(20_000):
        journal.append(JournalEntry(base + i * 0.01, f"A{i % 50}", "T", "Plant", "low", 300,
                                    "raise", "B", float(i), 1.0, "", ""))
    journal.flush()
    journal.close()
    seen: list[tuple[int, int]] = []
    dest = tmp_path / "all.csv"
    count = journal_export.export(path, journal_export.JournalFilter(), dest,
                                  progress=lambda d, t: seen.append((d, t)))
    assert count == 20_000
    assert seen[0] == (0, 0)
    assert seen[-1] == (20_000, 20_000)
    assert 5 <= len(seen) <= 20  # a few dozen reports at most, never one per row
    assert sum(1 for _ in dest.open(encoding="utf-8")) == 20_001
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(journal_export.ExportCancelled):
        journal_export.export(path, journal_export.JournalFilter(), tmp_path / "no.csv",
                              cancel=cancel)
    assert not (tmp_path / "no.csv").exists()
    assert not (tmp_path / ".no.csv.part").exists()


def test_this_shift_follows_the_project_calendar() -> None:
    calendar = ShiftCalendar([ShiftConfig(name="Early", start="05:30", end="13:30"),
                              ShiftConfig(name="Late", start="13:30", end="21:30")])
    noon = time.mktime((2026, 3, 10, 12, 0, 0, 0, 0, -1))
    start, end = time_range("shift", noon, calendar)
    assert time.localtime(start)[3:5] == (5, 30)
    assert end == noon
    night = time.mktime((2026, 3, 10, 23, 0, 0, 0, 0, -1))  # between shifts: the last one
    start, end = time_range("shift", night, calendar)
    assert (time.localtime(start)[3:5], time.localtime(end)[3:5]) == ((13, 30), (21, 30))


def test_shift_and_ranges() -> None:
    noon = time.mktime((2026, 3, 10, 12, 30, 0, 0, 0, -1))
    assert time.localtime(shift_start(noon))[3:5] == (6, 0)
    night = time.mktime((2026, 3, 10, 2, 0, 0, 0, 0, -1))
    start = time.localtime(shift_start(night))
    assert (start.tm_mday, start.tm_hour) == (9, 22)  # the night shift began yesterday
    assert time_range("hour", noon) == (noon - 3600, noon)
    assert time_range("day", noon) == (noon - 86400, noon)
