"""The horn can be silenced whatever is open (issue 12, ISA-18.2): the header's button and F9
work while a shelve, comment, help or confirmation dialog is up. The station's dialogs are
non-modal (`widgets.dialogs`); F9 also passes any modal one (`hmi.gui.horn.SilenceKey`)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.gui.test_integration import ALARM, select_alarm, shown_station


def sounding_station(make_station, qtbot):
    station, window = shown_station(make_station, qtbot)
    qtbot.waitUntil(lambda: bool(window.horn.sounding), timeout=5000)
    return station, window


def press_f9_in(qtbot, dialog) -> None:
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=2000)
    qtbot.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_F9)


def test_f9_with_the_shelve_dialog_open_silences_the_horn(make_station, qtbot) -> None:
    station, window = sounding_station(make_station, qtbot)
    window.go("alarms")
    summary = window.screen("alarms")
    select_alarm(qtbot, summary, ALARM)
    summary.actions_.actions["shelve"].trigger()
    dialog = summary.actions_.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert QApplication.activeModalWidget() is None  # nothing blocks the header
    press_f9_in(qtbot, dialog)
    qtbot.waitUntil(lambda: not window.horn.sounding, timeout=2000)
    assert dialog.isVisible()  # silencing answers nothing: the question stays open
    assert not station.context.alarms.rows[ALARM].get("acked")  # and acknowledges nothing
    dialog.reject()


def test_the_silence_button_works_while_a_comment_dialog_is_open(make_station, qtbot) -> None:
    _station, window = sounding_station(make_station, qtbot)
    window.go("alarms")
    summary = window.screen("alarms")
    select_alarm(qtbot, summary, ALARM)
    summary.actions_.actions["comment"].trigger()
    dialog = summary.actions_.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    # QTest's clicks pass a modal block, so the test asks Qt what would block a real mouse
    assert dialog.windowModality() == Qt.WindowModality.NonModal
    assert QApplication.activeModalWidget() is None
    qtbot.mouseClick(window.header.silence_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.horn.sounding, timeout=2000)
    assert dialog.isVisible()
    dialog.reject()


def test_f9_with_the_help_open_silences_the_horn(make_station, qtbot) -> None:
    _station, window = sounding_station(make_station, qtbot)
    window.show_help()
    help_dialog = window._help
    assert help_dialog is not None
    qtbot.waitUntil(help_dialog.isVisible, timeout=2000)
    press_f9_in(qtbot, help_dialog)
    qtbot.waitUntil(lambda: not window.horn.sounding, timeout=2000)
    help_dialog.close()


def test_f9_passes_even_a_window_modal_dialog(make_station, qtbot) -> None:
    """A dialog still opened with plain `open()` (window-modal: a file or colour dialog)
    blocks the window's F9 shortcut; the application filter silences anyway."""
    _station, window = sounding_station(make_station, qtbot)
    box = QMessageBox(QMessageBox.Icon.Question, "Modal", "A window-modal question",
                      QMessageBox.StandardButton.Ok, window)
    box.open()
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert box.windowModality() == Qt.WindowModality.WindowModal
    press_f9_in(qtbot, box)
    qtbot.waitUntil(lambda: not window.horn.sounding, timeout=2000)
    assert box.isVisible()
    box.close()
    box.deleteLater()
