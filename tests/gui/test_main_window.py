"""The main window on a real station: closing it stops every `hmi-*` thread and closes the
databases; navigation follows the ISA-95 tree with back/forward; screens not in this build show
a placeholder; geometry and the last screen are remembered; an exception in a slot reaches the
notification line and the runtime keeps running; shortcuts exist for everything."""

from __future__ import annotations

import sqlite3
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QWidget

from hmi.gui.app import install_exception_hook
from hmi.gui.navigation import PlaceholderScreen, screen_class
from hmi.gui.shortcuts import SHORTCUTS
from screens.line import LineScreen
from screens.overview import OverviewScreen
from screens.unit import UnitScreen


def hmi_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("hmi-"))


def test_closing_the_window_stops_every_hmi_thread(make_station, qtbot) -> None:
    before = set(hmi_threads())
    station = make_station()
    station.window.show()
    qtbot.waitUntil(lambda: {"hmi-dispatch", "hmi-alarms"} <= set(hmi_threads()), timeout=5000)
    assert any(name.startswith("hmi-device-") for name in hmi_threads())
    faceplate = station.window.open_faceplate("Tank.Level")
    station.window.close()
    assert station.stopped
    assert not faceplate.isVisible()
    assert set(hmi_threads()) <= before
    history = station.runtime.data_dir / "history.db"
    with sqlite3.connect(history) as db:  # closed cleanly: readable, nothing held
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_navigation_by_the_asset_tree_with_back_and_forward(make_station, qtbot) -> None:
    station = make_station()
    window = station.window
    qtbot.addWidget(window)
    assert window.place == ("overview", "")
    assert isinstance(window.stack.currentWidget(), OverviewScreen)
    window.go("line")
    assert window.place == ("line", "Plant/Area/Line1")
    window.go("unit", "Pump")
    assert window.place == ("unit", "Plant/Area/Line1/Pump")
    assert isinstance(window.stack.currentWidget(), UnitScreen)
    window.go_back()
    assert window.place == ("line", "Plant/Area/Line1")
    assert isinstance(window.stack.currentWidget(), LineScreen)
    window.go_forward()
    assert window.place == ("unit", "Plant/Area/Line1/Pump")
    window.go_up()
    assert window.place == ("line", "Plant/Area/Line1")
    assert window.nav.currentItem().text(0) == "Line1 (L2)"
    window.nav.items[("unit", "Plant/Area/Line1/Tank")].setSelected(True)
    window.nav.place_requested.emit("unit", "Plant/Area/Line1/Tank")
    assert window.place == ("unit", "Plant/Area/Line1/Tank")
    assert not window.forward_button.isEnabled()


def test_a_screen_not_in_this_build_shows_a_placeholder(make_station, qtbot, monkeypatch
                                                        ) -> None:
    from hmi.gui import registry

    monkeypatch.setitem(registry.SCREENS, "nowhere", "screens.nowhere:Nothing")
    station = make_station()
    qtbot.addWidget(station.window)
    assert screen_class("nowhere") == (None, "not in this build")
    station.window.go("nowhere")
    widget = station.window.stack.currentWidget()
    assert isinstance(widget, PlaceholderScreen)
    assert widget.why == "not in this build"


def test_a_screen_that_raises_is_shown_as_an_error_not_fatal(make_station, qtbot, monkeypatch
                                                             ) -> None:
    from hmi.gui import registry

    monkeypatch.setitem(registry.SCREENS, "broken", "tests.gui.test_main_window:BrokenScreen")
    station = make_station()
    qtbot.addWidget(station.window)
    with qtbot.waitSignal(station.context.notification, timeout=1000) as notified:
        station.window.go("broken")
    assert notified.args[0] == "error"
    assert "ZeroDivisionError" in notified.args[1]
    assert isinstance(station.window.stack.currentWidget(), PlaceholderScreen)
    assert station.runtime.flush()  # the runtime still runs


class BrokenScreen:
    def __init__(self, context: object, parent: object = None) -> None:
        raise ZeroDivisionError("division by zero in a screen")


def test_exception_in_a_slot_reaches_the_notification_line(make_station, qtbot) -> None:
    station = make_station()
    qtbot.addWidget(station.window)
    previous = install_exception_hook(station.context)
    try:
        error = ValueError("a widget bug")
        sys.excepthook(ValueError, error, None)  # what PySide6 does with a slot's exception
        qtbot.waitUntil(lambda: "ValueError: a widget bug" in station.window.notice.text(),
                        timeout=2000)
        assert "ERROR" in station.window.notice.text()
        import asyncio

        sys.excepthook(asyncio.CancelledError, asyncio.CancelledError(), None)
        assert len(station.window.notifications) == 1  # cancellation is not an error
    finally:
        sys.excepthook = previous


def test_geometry_and_last_screen_are_remembered(make_station, qtbot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)
    station = make_station(settings=settings)
    station.window.resize(654, 432)  # within the offscreen screen (800x600)
    station.window.go("unit", "Tank")
    station.window.show()
    station.window.close()
    again = make_station(settings=QSettings(str(tmp_path / "station.ini"),
                                            QSettings.Format.IniFormat))
    qtbot.addWidget(again.window)
    assert again.window.place == ("unit", "Plant/Area/Line1/Tank")
    assert again.window.size().height() == 432  # (the width is held by the header minimum)


def test_every_shortcut_is_bound_and_f1_lists_them(make_station, qtbot) -> None:
    station = make_station()
    qtbot.addWidget(station.window)
    bound = {s.key().toString() for s in station.window.findChildren(QShortcut)}
    for keys, method, _text in SHORTCUTS:
        assert QKeySequence(keys).toString() in bound, keys
        assert callable(getattr(station.window, method))
    names = {k for k, _m, _t in SHORTCUTS}
    assert {"F1", "F2", "F3", "F8", "F9", "Alt+Left", "Ctrl+F"} <= names
    station.window.show_help()
    from hmi.gui.shortcuts import HelpDialog

    dialog = station.window.findChild(HelpDialog)
    assert dialog is not None
    assert dialog.isVisible()
    dialog.close()


def test_the_help_shows_every_text_whole_without_a_horizontal_scrollbar(qtbot) -> None:
    """F1 at 560 px cut the header to "D" and the long texts, behind a horizontal bar."""
    from hmi.gui.shortcuts import HelpDialog

    long_key = [("Ctrl+Shift+K", "acknowledge the unacknowledged alarms shown on screen "
                 "(never hidden rows), then move the selection to the next page of alarms")]
    dialog = HelpDialog(None, long_key, "Alarm summary")
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    table = dialog.table
    assert not table.horizontalScrollBar().isVisible()
    assert table.viewport().width() >= sum(table.columnWidth(c) for c in range(2))
    metrics = table.fontMetrics()
    header = table.horizontalHeader()
    for column in range(2):
        title = table.horizontalHeaderItem(column).text()
        assert header.sectionSize(column) > metrics.horizontalAdvance(title), title
    for row in range(table.rowCount()):  # long texts wrap onto rows tall enough
        for column in range(2):
            text = table.item(row, column).text()
            lines = -(-metrics.horizontalAdvance(text) // (table.columnWidth(column) - 8))
            assert table.rowHeight(row) >= lines * metrics.height(), text
    dialog.close()


@pytest.mark.parametrize("key", [Qt.Key.Key_F3])
def test_f3_goes_to_the_overview(make_station, qtbot, key: Qt.Key) -> None:
    station = make_station()
    window = station.window
    window.show()
    window.go("unit", "Pump")
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    qtbot.keyClick(QApplication.focusWidget() or window, key)
    qtbot.waitUntil(lambda: window.place == ("overview", ""), timeout=2000)
    window.close()


class FailingWidget(QWidget):
    def __init__(self, bridge: object, tag: str) -> None:
        super().__init__()
        bridge.watch(self, [tag], self._on_samples)

    def _on_samples(self, samples: dict) -> None:
        raise KeyError("a widget bug")


def test_a_failing_widget_is_reported_and_the_others_keep_updating(make_station, qtbot) -> None:
    from widgets.value_label import ValueLabel

    station = make_station()
    broken = FailingWidget(station.bridge, "Pump.Count")
    label = ValueLabel(station.context, "Pump.Count", "Count")
    for widget in (broken, label):
        qtbot.addWidget(widget)
        widget.show()
    qtbot.waitUntil(lambda: "display error" in station.window.notice.text(), timeout=5000)
    assert "FailingWidget._on_samples: KeyError" in station.window.notice.text()
    first = label.text()
    qtbot.waitUntil(lambda: label.text() != first, timeout=5000)  # still counting
    assert len([n for n in station.window.notifications if "display error" in n[2]]) == 1
