"""The faceplate's alarm section: every alarm configured on the tag, its live state, and the
operator's actions on it (acknowledge, shelve with duration and reason, unshelve, reset).

Actions go through `context.commands.alarm` (the same role checks and journal rows as the CLI),
started from a worker (the audit entry is written with `synchronous=FULL`, a signature hashes
passwords), run in the alarm thread, and their one-line answer comes back through
`context.when_done`. An action the project signs (`[security.signatures]`) asks for the
signature first (`SignatureDialog`).
Buttons the user may not use are disabled with the reason as tooltip; the shelve duration is
capped by the chosen alarm's maximum (its own `shelve_max_min` within the project's, as
`hmi.displays.alarms_by_tag` carries it). GUI thread only.
"""

from __future__ import annotations

import functools
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hmi.gui.trend_around import trend_around
from widgets.alarm_indicator import AlarmIndicator
from widgets.signature_dialog import SignatureDialog

VERBS = {"ack": "Acknowledge", "shelve": "Shelve", "unshelve": "Unshelve", "reset": "Reset"}


class AlarmSection(QWidget):
    """Rows of (mark, alarm, state, Ack) and one shelve/unshelve/reset row."""

    def __init__(self, context: Any, tag: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tag = tag
        self.configured = context.meta.alarms.get(tag, [])
        settings = context.runtime.project.model.alarm_settings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        self.indicators: dict[str, AlarmIndicator] = {}
        self.state_labels: dict[str, QLabel] = {}
        self.ack_buttons: dict[str, QPushButton] = {}
        self.trend_buttons: dict[str, QPushButton] = {}
        if not self.configured:
            layout.addWidget(QLabel("No alarms configured on this tag.", self))
        for row, alarm in enumerate(self.configured):
            name = alarm["name"]
            indicator = AlarmIndicator(parent=self)
            self.indicators[name] = indicator
            grid.addWidget(indicator, row, 0)
            limit = f" (limit {alarm['limit']:g})" if alarm.get("limit") is not None else ""
            text = QLabel(f"<b>{alarm['message'] or name}</b><br>{name}, {alarm['priority']}"
                          f"{limit}", self)
            grid.addWidget(text, row, 1)
            state = QLabel("normal", self)
            self.state_labels[name] = state
            grid.addWidget(state, row, 2)
            ack = QPushButton("Ack", self)
            ack.setProperty("alarm", name)
            ack.clicked.connect(self._on_ack_clicked)
            self.ack_buttons[name] = ack
            grid.addWidget(ack, row, 3)
            trend = QPushButton("Trend", self)
            trend.setProperty("alarm", name)
            trend.setToolTip(f"trend around {name}: this tag and its asset's, 10 minutes either "
                             "side of its last raise")
            trend.clicked.connect(self._on_trend_clicked)
            self.trend_buttons[name] = trend
            grid.addWidget(trend, row, 4)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        self.alarm_choice = QComboBox()
        self.minutes = QDoubleSpinBox()
        self.shelve_reason = QLineEdit()
        self.shelve_button = QPushButton("Shelve")
        self.unshelve_button = QPushButton("Unshelve")
        self.reset_button = QPushButton("Reset")
        if self.configured:  # (unparented until placed: no stray buttons when there are none)
            for alarm in self.configured:
                self.alarm_choice.addItem(alarm["name"])
            self._project_max = settings.shelve_max_min
            self.minutes.setRange(1, settings.shelve_max_min)
            self.minutes.setValue(settings.shelve_default_min)
            self.minutes.setDecimals(0)
            self.minutes.setSuffix(" min")
            self._cap_minutes()
            self.shelve_reason.setPlaceholderText("reason (required to shelve)")
            self.shelve_reason.setAccessibleName("shelve reason")
            first = QHBoxLayout()
            first.addWidget(QLabel("Shelve", self))
            first.addWidget(self.alarm_choice, 1)
            first.addWidget(QLabel("for", self))
            first.addWidget(self.minutes)
            layout.addLayout(first)
            second = QHBoxLayout()
            second.addWidget(self.shelve_reason, 1)
            for button in (self.shelve_button, self.unshelve_button, self.reset_button):
                second.addWidget(button)
            layout.addLayout(second)
            self.shelve_button.clicked.connect(self._on_shelve)
            self.unshelve_button.clicked.connect(self._on_unshelve)
            self.reset_button.clicked.connect(self._on_reset)
            self.alarm_choice.currentIndexChanged.connect(self._cap_minutes)
            self.alarm_choice.currentIndexChanged.connect(self._on_choice)
            self.shelve_reason.textChanged.connect(self._on_choice)
        else:
            for orphan in (self.alarm_choice, self.minutes, self.shelve_reason,
                           self.shelve_button, self.unshelve_button, self.reset_button):
                orphan.setParent(self)
                orphan.hide()
        self.sign_dialog: SignatureDialog | None = None
        self._signed: tuple[str, str, dict[str, Any]] = ("", "", {})
        self.result = QLabel("", self)
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result)
        context.alarms.changed.connect(self._on_alarms)
        context.alarms.blink.connect(self._on_blink)
        context.actor_changed.connect(self._on_actor)
        self._on_alarms([])

    # ---- state --------------------------------------------------------------------------------
    def row_of(self, name: str) -> dict[str, Any] | None:
        return self.context.alarms.rows.get(name)

    def _on_alarms(self, names: list[str]) -> None:
        mine = {a["name"]: a for a in self.configured}
        if names and not mine.keys() & set(names):
            return
        for name, alarm in mine.items():
            row = self.row_of(name)
            state = row["state"] if row else ""
            self.indicators[name].set_alarm(alarm["priority"], state)
            label = row.get("state_name", state) if row else "normal"
            if row and row.get("shelved_until"):
                label += f" until {row['shelved_until'][11:19]} UTC"
            self.state_labels[name].setText(label)
        self._on_actor(self.context.actor)

    def _on_blink(self, phase: float) -> None:
        if self.isVisible():
            for indicator in self.indicators.values():
                indicator.set_phase(phase)

    def _on_actor(self, _actor: object) -> None:
        for name, button in self.ack_buttons.items():
            row = self.row_of(name)
            why = self.context.why_not("ack", name)
            if why is None and (row is None or row.get("acked", True)):
                why = "nothing to acknowledge"
            button.setEnabled(why is None)
            button.setToolTip(f"not possible: {why}" if why else f"acknowledge {name}")
        self._on_choice()

    def _cap_minutes(self, *_args: object) -> None:
        """The duration field offers at most the chosen alarm's maximum (the command refuses
        more anyway: `alarms.shelving`); the default stays where the alarm allows it."""
        chosen = self.configured[max(0, self.alarm_choice.currentIndex())]
        cap = float(chosen.get("shelve_max_min") or self._project_max)
        wanted = self.minutes.value()
        self.minutes.setMaximum(cap)
        self.minutes.setValue(min(wanted, cap))
        whose = "project policy" if cap >= self._project_max else "this alarm's maximum"
        self.minutes.setToolTip(f"at most {cap:g} min ({whose})")

    def _on_choice(self, *_args: object) -> None:
        if not self.configured:
            return
        name = self.alarm_choice.currentText()
        row = self.row_of(name) or {}
        checks = {
            self.shelve_button: self.context.why_not("shelve", name)
            or ("already shelved" if row.get("state") == "F" else None)
            or (None if self.shelve_reason.text().strip() else "enter a reason first"),
            self.unshelve_button: self.context.why_not("unshelve", name)
            or (None if row.get("state") == "F" else "not shelved"),
            self.reset_button: self.context.why_not("reset", name)
            or (None if row.get("latched") else "not latched"),
        }
        for button, why in checks.items():
            button.setEnabled(why is None)
            button.setToolTip(f"not possible: {why}" if why else "")

    # ---- actions ------------------------------------------------------------------------------
    def _run(self, action: str, name: str, **args: Any) -> None:
        rule = self.context.commands.needs_signature(action)
        if not rule:
            self._send(action, name, None, args)
            return
        if self.sign_dialog is not None:
            self.sign_dialog.reject()
        summary = f"{VERBS.get(action, action)} {name}"
        if action == "shelve":
            summary += f" for {args.get('minutes', 0):g} min"
        dialog = SignatureDialog(f"Sign: {VERBS.get(action, action).lower()}", summary, rule,
                                 str(args.get("reason") or ""), "Sign", self)
        self.sign_dialog, self._signed = dialog, (action, name, args)
        dialog.finished.connect(self._on_sign_finished)
        dialog.open()

    def _on_sign_finished(self, result: int) -> None:
        dialog, self.sign_dialog = self.sign_dialog, None
        if dialog is None:
            return
        dialog.deleteLater()
        signature = dialog.signature() if result == SignatureDialog.DialogCode.Accepted.value \
            else None
        dialog.clear_secrets()
        if signature is None:
            self.result.setText("cancelled")
            return
        action, name, args = self._signed
        if action == "shelve":  # the signature binds the shelve reason
            args = {**args, "reason": signature.reason}
        self._send(action, name, signature, args)

    def _send(self, action: str, name: str, signature: Any, args: dict[str, Any]) -> None:
        self.result.setText(f"{action} {name}…")
        start = functools.partial(self.context.commands.alarm, self.context.actor, action, name,
                                  signature=signature, **args)
        self.context.submit(start, slot=self._on_started, error_slot=self._on_error)

    def _on_started(self, future: Any) -> None:
        self.context.when_done(future, self._on_done, self._on_error)

    def _on_ack_clicked(self) -> None:
        button = self.sender()
        name = button.property("alarm") if button is not None else None
        if name:
            self.ack(name)

    def _on_trend_clicked(self) -> None:
        button = self.sender()
        name = button.property("alarm") if button is not None else None
        if name:
            self.trend_around(name)

    def trend_around(self, name: str) -> list[str]:
        """"Trend around this alarm": the tag and its asset's tags around its last raise (a
        standing alarm's own; for one that has cleared, the journal's)."""
        raised = (self.row_of(name) or {}).get("raised_ts")
        if raised is not None:
            return trend_around(self.context, self.tag, raised=raised)
        return trend_around(self.context, self.tag, alarm=name)

    def ack(self, name: str) -> None:
        self._run("ack", name, comment="")

    def _on_shelve(self) -> None:
        self._run("shelve", self.alarm_choice.currentText(), minutes=self.minutes.value(),
                  reason=self.shelve_reason.text().strip())

    def _on_unshelve(self) -> None:
        self._run("unshelve", self.alarm_choice.currentText())

    def _on_reset(self) -> None:
        self._run("reset", self.alarm_choice.currentText())

    def _on_done(self, text: str) -> None:
        self.result.setText(text)

    def _on_error(self, exc: BaseException) -> None:
        self.result.setText(f"refused: {exc}")
