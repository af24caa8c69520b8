"""The audible annunciation: a per-priority beep pattern until silenced, separate from ack.

ISA-18.2 separates silencing the horn (the operator heard it) from acknowledging an alarm (the
operator read it and takes responsibility). A new alarm (one entering "unacknowledged", also
when it returned and comes back before anyone acknowledged it) starts the horn in its
priority's pattern; Silence stops it until the next new alarm; acknowledging every alarm stops
it too. `QApplication.beep()` is the sound (PySide6-Essentials has no QtMultimedia); a plant
wires a real horn to a digital output instead.

GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from hmi.gui.alarm_table import PRIORITY_RANK, AlarmTable
from widgets.alarm_style import RTN_UNACK, UNACK

# priority -> (beeps per burst, seconds between bursts); low beeps once per new alarm
PATTERNS: dict[str, tuple[int, float]] = {
    "urgent": (3, 1.0),
    "high": (2, 2.0),
    "medium": (1, 3.0),
    "low": (1, 0.0),
}
BEEP_GAP_MS = 180


class Horn(QObject):
    """Sounds while there is a new unacknowledged alarm that nobody silenced."""

    sounding_changed = Signal(str)  # the priority sounding, "" when quiet

    def __init__(self, alarms: AlarmTable, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.alarms = alarms
        self.sounding = ""  # priority of the loudest new alarm, "" = quiet
        self.beeps = 0  # how many beeps so far (tests, diagnostics)
        self._new: dict[str, str] = {}  # alarm -> priority: new since the last silence
        self._states = {n: r["state"] for n, r in alarms.rows.items()}  # last seen state
        self._burst_left = 0
        self._burst = QTimer(self)
        self._burst.setInterval(BEEP_GAP_MS)
        self._burst.timeout.connect(self._on_burst)
        self._repeat = QTimer(self)
        self._repeat.timeout.connect(self._on_repeat)
        alarms.changed.connect(self._on_alarms)

    def _on_alarms(self, names: list[str]) -> None:
        for name in names:
            row = self.alarms.rows.get(name)
            state = row["state"] if row is not None else "A"
            if state == UNACK and self._states.get(name) != UNACK:  # raised, or raised again
                self._new[name] = row.get("priority", "low")  # type: ignore[union-attr]
            elif state not in (UNACK, RTN_UNACK):  # acknowledged, shelved, ...: not new
                self._new.pop(name, None)
            self._states[name] = state
        self._update()

    def silence(self) -> None:
        """The operator heard it: quiet until the next new alarm."""
        self._new.clear()
        self._update()

    def _update(self) -> None:
        loudest = min(self._new.values(), key=lambda p: PRIORITY_RANK.get(p, 9), default="")
        if loudest == self.sounding:
            return
        was_quiet = not self.sounding
        self.sounding = loudest
        self._repeat.stop()
        if loudest:
            count, every_s = PATTERNS.get(loudest, PATTERNS["low"])
            if every_s > 0:
                self._repeat.setInterval(round(every_s * 1000))
                self._repeat.start()
            if was_quiet or every_s > 0:
                self._start_burst(count)
            if every_s == 0:  # a single burst: then quiet by itself
                self._new.clear()
                self.sounding = ""
        else:
            self._burst.stop()
        self.sounding_changed.emit(self.sounding)

    def _start_burst(self, count: int) -> None:
        self._burst_left = count
        self._on_burst()
        if self._burst_left > 0:
            self._burst.start()

    def _on_burst(self) -> None:
        if self._burst_left <= 0:
            self._burst.stop()
            return
        self._burst_left -= 1
        self.beeps += 1
        QApplication.beep()

    def _on_repeat(self) -> None:
        if self.sounding:
            self._start_burst(PATTERNS.get(self.sounding, PATTERNS["low"])[0])


class SilenceKey(QObject):
    """F9 silences the horn whatever window has the keyboard, a modal one included.

    Why an application event filter as well as the window's F9 shortcut: Qt does not fire an
    application shortcut while a modal dialog blocks its window, so a dialog opened with plain
    `open()` (window-modal: a file or colour dialog, a message box) made F9 dead until it was
    closed. The station's own dialogs are non-modal (`widgets.dialogs`); this is the net under
    any that is not. A key press only reaches this filter when no shortcut took it, so a
    press is never handled twice. GUI thread only; installed on the QApplication by the window.
    """

    def __init__(self, horn: Horn, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.horn = horn

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_F9 and not event.isAutoRepeat()
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            self.horn.silence()
            return True
        return super().eventFilter(watched, event)
