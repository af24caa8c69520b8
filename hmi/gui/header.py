"""The header every screen shares: alarm banner and counts, horn silence, user and role,
clock, every device's connection state and the MES outbox (`hmi.gui.mes_status`).

Always visible (ISA-101: the operator never has to navigate to learn that something is wrong).
Device states are text (connected / connecting / DOWN / disabled), DOWN in bold with a heavy
outline: no colour outside alarms. GUI thread only.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hmi.gui.horn import Horn
from hmi.gui.mes_status import MesStatusLabel
from hmi.gui.user_area import UserArea
from widgets.alarm_banner import AlarmBanner, AlarmCounts

DEVICE_TEXT = {"connected": "ok", "connecting": "connecting", "down": "DOWN",
               "stopped": "stopped", "disabled": "disabled"}


class Header(QFrame):
    """Top strip of the main window."""

    def __init__(self, context: Any, horn: Horn, session: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Header")
        self.context = context
        self.horn = horn
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(8)
        self.banner = AlarmBanner(context, self)
        layout.addWidget(self.banner, 1)
        self.counts = AlarmCounts(context, self)
        layout.addWidget(self.counts)
        side = QVBoxLayout()
        side.setSpacing(3)
        self.clock = QLabel("--:--:--", self)
        self.clock.setObjectName("Clock")
        self.clock.setAlignment(Qt.AlignmentFlag.AlignRight)
        side.addWidget(self.clock)
        self.user_area = UserArea(context, session, self)  # hmi.gui.user_area
        self.user = self.user_area.label
        side.addWidget(self.user_area)
        self.silence_button = QPushButton("Silence horn (F9)", self)
        self.silence_button.setObjectName("SilenceButton")
        self.silence_button.setToolTip("Stop the audible alarm; alarms stay unacknowledged")
        self.silence_button.clicked.connect(horn.silence)
        side.addWidget(self.silence_button)
        self.devices = QLabel("", self)
        self.devices.setObjectName("DeviceStates")
        self.devices.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.devices.setTextFormat(Qt.TextFormat.RichText)
        side.addWidget(self.devices)
        self.mes = MesStatusLabel(context, self)  # outbox depth, oldest age, last error
        self.mes.setAlignment(Qt.AlignmentFlag.AlignRight)
        side.addWidget(self.mes)
        side.addStretch(1)
        layout.addLayout(side)
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(1000)
        self._clock_timer.timeout.connect(self._on_clock)
        self._clock_timer.start()
        self._on_clock()
        context.bridge.health_changed.connect(self._on_health)
        horn.sounding_changed.connect(self._on_sounding)
        self._on_health(context.runtime.device_health())
        self._on_sounding(horn.sounding)

    def _on_clock(self) -> None:
        self.clock.setText(time.strftime("%H:%M:%S"))
        self.clock.setToolTip(time.strftime("%A %d %B %Y, %Z"))

    def _on_sounding(self, priority: str) -> None:
        self.silence_button.setProperty("sounding", bool(priority))
        self.silence_button.setText(f"Silence horn (F9){' · ' + priority if priority else ''}")
        self.silence_button.style().unpolish(self.silence_button)
        self.silence_button.style().polish(self.silence_button)

    def _on_health(self, health: dict[str, dict[str, Any]]) -> None:
        parts = []
        tips = []
        for name, info in sorted(health.items()):
            state = str(info.get("state", "?"))
            text = DEVICE_TEXT.get(state, state)
            shown = f"<b><u>{name}: {text}</u></b>" if state == "down" else f"{name}: {text}"
            parts.append(shown)
            error = info.get("last_error") or ""
            tips.append(f"{name}: {state}{' (' + str(error) + ')' if error else ''}")
        self.devices.setText(" &nbsp; ".join(parts) or "no devices")
        self.devices.setToolTip("\n".join(tips))
        self.device_states = {name: str(info.get("state")) for name, info in health.items()}
