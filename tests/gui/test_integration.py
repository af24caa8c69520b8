"""The parts built in parallel, joined in the real main window: "trend around this alarm" from
the alarm summary, the journal and a faceplate ends on the trend screen with the right pens
and minutes; F8 and Ctrl+F do one thing each; `hmi screenshot --screen trends` renders a loaded
plot; the S / D / X marks read in both themes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea, QToolButton

from alarms.journal import Journal
from hmi.cli.main import main
from hmi.gui import theme
from hmi.gui.main_window import TagPicker
from hmi.gui.registry import SCREENS
from hmi.gui.screenshot import render
from hmi.gui.shortcuts import SHORTCUTS
from hmi.trends.groups import tags_around
from tests.gui.stations import write_project
from widgets.alarm_style import PRIORITIES, paint_alarm_mark, state_mark_colours

ROOT = Path(__file__).resolve().parents[2]
ALARM = "Tank.Temp.HI"  # SIM_PROJECT: 95 degC against a limit of 80, urgent


def shown_station(make_station, qtbot):
    station = make_station()
    window = station.window
    window.resize(1500, 950)
    window.show()
    qtbot.waitUntil(lambda: ALARM in station.context.alarms.rows, timeout=5000)
    return station, window


def select_alarm(qtbot, summary, name: str) -> None:
    qtbot.waitUntil(lambda: summary.model.position(name) is not None, timeout=5000)
    index = summary.model.index(summary.model.position(name), 0)
    flags = QItemSelectionModel.SelectionFlag
    summary.table.selectionModel().setCurrentIndex(
        index, flags.ClearAndSelect | flags.Rows)


def assert_trend(window, qtbot, tag: str, at: float) -> None:
    """The window shows the trend screen: `tag` first with its asset's tags, at +/- 10 min."""
    assert window.place[0] == "trends"
    trends = window.screen("trends")
    assert window.stack.currentWidget() is trends
    pens = [p.tag for p in trends.plot.pens()]
    assert pens == tags_around(window.context.runtime.project, tag)
    assert pens[0] == tag
    assert not trends.plot.live
    t0, t1 = trends.plot.visible_range()
    assert t0 == pytest.approx(at - 600, abs=1.0)
    assert t1 == pytest.approx(at + 600, abs=1.0)
    qtbot.waitUntil(lambda: not trends.loading(), timeout=10000)
    pen = trends.plot.pen(tag)
    qtbot.waitUntil(lambda: pen.t.size > 0, timeout=10000)  # drawn from the historian


def test_trend_around_from_summary_journal_and_faceplate(make_station, qtbot) -> None:
    station, window = shown_station(make_station, qtbot)
    raised = station.context.alarms.rows[ALARM]["raised_ts"]
    assert station.context.historian().flush(5)

    # the alarm summary's context action (Ctrl+T)
    window.go("alarms")
    summary = window.screen("alarms")
    select_alarm(qtbot, summary, ALARM)
    summary.actions_.actions["trend"].trigger()
    assert_trend(window, qtbot, "Tank.Temp", raised)

    # the journal's "Trend around" on the raise event
    window.go("journal")
    journal = window.screen("journal")
    qtbot.waitUntil(lambda: any(r.get("alarm") == ALARM for r in journal.model.rows()),
                    timeout=5000)
    rows = journal.model.rows()
    position = next(i for i, r in enumerate(rows) if r.get("alarm") == ALARM)
    journal.table.setCurrentIndex(journal.model.index(position, 0))
    assert journal.trend_button.isEnabled()
    qtbot.mouseClick(journal.trend_button, Qt.MouseButton.LeftButton)
    assert_trend(window, qtbot, "Tank.Temp", rows[position]["ts"])

    # the faceplate's alarm row
    window.go("overview")
    faceplate = window.open_faceplate("Tank.Temp")
    assert faceplate is not None
    qtbot.mouseClick(faceplate.alarms.trend_buttons[ALARM], Qt.MouseButton.LeftButton)
    assert_trend(window, qtbot, "Tank.Temp", raised)
    faceplate.close()


def test_f8_acknowledges_the_alarm_selected_in_the_summary(make_station, qtbot) -> None:
    station, window = shown_station(make_station, qtbot)
    window.go("alarms")
    summary = window.screen("alarms")
    select_alarm(qtbot, summary, ALARM)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    summary.table.setFocus()
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: station.context.alarms.rows[ALARM].get("acked"), timeout=5000)
    assert station.context.commands.alarm_service().flush()
    journal = Journal(station.runtime.data_dir / "alarms.db")
    try:
        acks = [(r["event"], r["user"]) for r in journal.query(alarm=ALARM)
                if r["event"] == "ack"]
    finally:
        journal.close()
    assert acks == [("ack", "olga")]


def test_f8_with_nothing_selected_first_selects_the_top_alarm(make_station, qtbot) -> None:
    station, window = shown_station(make_station, qtbot)
    window.go("alarms")
    summary = window.screen("alarms")
    qtbot.waitUntil(lambda: summary.model.rowCount() > 0, timeout=10_000)
    summary.table.selectRow(0)
    summary.table.clearSelection()  # as after a shelve: a current cell, nothing selected
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: bool(summary.table.selectionModel().selectedRows(0)), timeout=2000)
    top = summary.model.row(0)["name"]
    assert not station.context.alarms.rows[top].get("acked")  # selected, not acknowledged
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: station.context.alarms.rows[top].get("acked"), timeout=5000)


def test_no_key_is_bound_twice_and_ctrl_f_finds_in_the_screen(make_station, qtbot) -> None:
    _station, window = shown_station(make_station, qtbot)
    for name in SCREENS:  # every screen built: their own keys are now adopted
        window.screen(name)
    window_keys = {key for key, _method in window._shortcuts.values()}
    assert {k for k, _m, _t in SHORTCUTS} >= {"F8", "Ctrl+F", "Ctrl+O", "F10"}
    clashes = [(type(a.parent()).__name__, k.toString()) for a in window.findChildren(QAction)
               for k in a.shortcuts() if k.toString() in window_keys]
    assert clashes == []
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)

    window.go("alarms")  # Ctrl+F: the summary's filter box
    summary = window.screen("alarms")
    summary.table.setFocus()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: summary.text.hasFocus(), timeout=2000)

    window.go("journal")  # Ctrl+F: the journal's text filter
    journal = window.screen("journal")
    journal.table.setFocus()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: journal.text.hasFocus(), timeout=2000)

    window.go("overview")  # elsewhere: open a faceplate by name
    window.nav.setFocus()
    qtbot.keyClick(window.nav, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.findChild(TagPicker) is not None, timeout=2000)
    picker = window.findChild(TagPicker)
    assert picker.isVisible()
    picker.close()


def test_screenshot_of_trends_waits_for_a_loaded_plot(make_station, qtbot,
                                                      tmp_path: Path) -> None:
    station, window = shown_station(make_station, qtbot)
    assert station.context.historian().flush(5)
    out = render(station, "trends", tmp_path / "trends.png",
                 options={"tag": "Tank.Level", "range": "-10m"})
    screen = window.screen("trends")
    assert not screen.loading()
    pen = screen.plot.pen("Tank.Level")
    assert pen is not None
    assert pen.t.size > 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (window.width(), window.height())


def test_hmi_screenshot_screen_trends(tmp_path: Path, qapp, capsys) -> None:
    project = write_project(tmp_path)
    out = tmp_path / "trends.png"
    assert main(["screenshot", str(project), "--data", str(tmp_path / "data"), "--after", "1",
                 "--screen", "trends", "--tag", "Tank.Level", "--range", "-1h",
                 "--size", "1600x900", "--out", str(out)]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 900)
    assert "trends" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["day", "night"])
def test_state_letters_read_in_both_themes(qapp, name: str) -> None:
    """S / D / X: no alarm colour (greys), at least 4.5:1 between letter and its box, and the
    box stands apart from the theme's rows."""
    theme.apply(qapp, name)
    try:
        ink, fill = (QColor(c) for c in state_mark_colours())
        palette = theme.current()
        assert ink.hsvSaturationF() < 0.12
        assert fill.hsvSaturationF() < 0.12
        assert ink.name().upper() not in {p.colour.upper() for p in PRIORITIES.values()}

        def luminance(c: QColor) -> float:
            def lin(v: float) -> float:
                return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

            return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())

        hi, lo = sorted((luminance(ink), luminance(fill)), reverse=True)
        assert (hi + 0.05) / (lo + 0.05) >= 4.5
        image = QImage(24, 24, QImage.Format.Format_RGB32)
        image.fill(QColor(palette.panel))
        painter = QPainter(image)
        paint_alarm_mark(painter, QRectF(0, 0, 24, 24), "urgent", "F")
        painter.end()
        centre = QColor(image.pixel(4, 12))
        assert centre == fill  # the box is filled, not the row showing through
        inked = sum(1 for x in range(24) for y in range(24)
                    if abs(QColor(image.pixel(x, y)).lightness() - ink.lightness()) <= 12)
        assert inked > 20  # outline and letter drawn in the ink
    finally:
        theme.apply(qapp, "day")


@pytest.mark.parametrize("width", [1600, 1280])
def test_every_screen_fits_beside_the_navigation_at_1600_px(make_station, qtbot, width) -> None:
    """A screen wider than the window's stack squeezes the navigation tree to a sliver (seen
    in screenshots: the journal's filter row and the trend tool bar did; at 1280 px, a common
    control-room monitor, the alarm summary's buttons and the diagnostics panels did)."""
    _station, window = shown_station(make_station, qtbot)
    window.resize(width, 1000)
    for name in SCREENS:
        window.go(name)
        widget = window.screen(name)
        if name == "diagnostics":  # its panels fill in with the first report
            with qtbot.waitSignal(widget.refreshed, timeout=5000):
                widget.refresh()
            labels = widget.security.findChildren(QLabel)
            qtbot.waitUntil(lambda labels=labels: all(label.isVisible() for label in labels),
                            timeout=2000)
        assert widget.minimumSizeHint().width() <= width - 250, name
    assert window.minimumSizeHint().width() <= width  # the header too
    qtbot.wait(50)
    assert window.width() == width
    assert window.nav.width() >= 200


@pytest.mark.parametrize("width", [1600, 1280])
def test_the_demo_displays_scroll_down_never_sideways(make_station, qtbot, width) -> None:
    """At 1280 px the demo's line display (filler and packer, two indicators to a row each)
    ran off the right edge behind a horizontal scrollbar."""
    demo = (ROOT / "resources" / "demo" / "project.toml").read_text(encoding="utf-8")
    station = make_station(demo, start=False)
    window = station.window
    window.resize(width, 1000)
    window.show()
    plant = station.context.meta.plant
    places = [("overview", "")] + [(n.level, n.path) for n in plant.by_path.values()
                                   if n.level in ("line", "unit")]
    assert {"line", "unit"} <= {name for name, _path in places}
    for name, path in places:
        window.go(name, path)
        scroll = getattr(window.screen(name), "stack", None)
        scroll = scroll.currentWidget() if scroll is not None else None
        if not isinstance(scroll, QScrollArea):
            continue
        bar = scroll.horizontalScrollBar()
        qtbot.waitUntil(lambda b=bar: not b.isVisible(), timeout=3000)  # once laid out
        assert scroll.widget().width() <= scroll.viewport().width(), (name, path)
    window.go("alarms")  # its buttons wrap onto a second row rather than run off the side
    summary = window.screen("alarms")
    qtbot.waitUntil(summary.isVisible, timeout=2000)
    buttons = summary.action_groups.findChildren(QToolButton)
    assert len(buttons) == 9
    right = summary.mapToGlobal(summary.rect().topRight()).x()
    for button in buttons:
        assert button.isVisible(), button.objectName()
        assert button.mapToGlobal(button.rect().topRight()).x() <= right, button.objectName()
    rows = {button.mapToGlobal(button.rect().topLeft()).y() for button in buttons}
    assert len(rows) == (1 if width >= 1600 else 2)
