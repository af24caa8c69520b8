"""What an operator can do to the alarms in the summary: the actions, their keys, their dialogs.

Every action goes through `context.commands.alarm(actor, action, name, ...)`, the same door as
the CLI (same role check, same validation, same journal, same audit trail), one command per
alarm name, sent from a worker (auditing and signature checks do I/O and hashing): "ack all"
is never sent as the engine's ack-everything, because the summary may be filtered, and an
operator acknowledges only what they can see. Results come back off the GUI thread
(`context.submit`) and end in one notification.

Controls the current user may not use are disabled, with the reason in the tooltip
(`context.why_not`); the command layer checks again when the command is sent. Actions the
project signs (`[security.signatures]`) ask for the signature inside their dialog.

GUI thread only.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenu, QTableView, QWidget

from hmi.commands import Signature
from hmi.gui.context import StationContext
from hmi.trends.groups import tags_around
from widgets.alarm_dialogs import ShelveDialog, TextDialog
from widgets.alarm_filter import UNACKED, Row
from widgets.alarm_table import ROW_ROLE, AlarmTableModel

TREND_MARGIN_S = 600.0  # "trend around this alarm": ten minutes either side (issue 13's contract)
ANSWER_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ActionSpec:
    key: str  # command-layer action or a local one
    text: str
    shortcut: str
    help: str


SPECS: tuple[ActionSpec, ...] = (
    ActionSpec("ack", "&Acknowledge", "Ctrl+K", "acknowledge the selected alarms"),
    ActionSpec("ack_comment", "Acknowledge with co&mment...", "Ctrl+Alt+K",
               "acknowledge the selected alarms with a comment"),
    ActionSpec("ack_page", "Acknowledge &page...", "Ctrl+Shift+K",
               "acknowledge the unacknowledged alarms shown on screen (never hidden rows)"),
    ActionSpec("shelve", "&Shelve...", "Ctrl+H", "shelve with a duration and a reason"),
    ActionSpec("unshelve", "&Unshelve", "Ctrl+Shift+H", "return a shelved alarm"),
    ActionSpec("reset", "&Reset", "Ctrl+R", "reset a latched alarm that has cleared"),
    ActionSpec("oos", "&Out of service...", "Ctrl+Shift+O",
               "take the alarm out of service (engineers)"),
    ActionSpec("in_service", "Back &in service...", "Ctrl+Shift+I",
               "return the alarm to service (engineers)"),
    ActionSpec("comment", "&Comment...", "Ctrl+Shift+M", "add a comment to the journal"),
    ActionSpec("faceplate", "Open &faceplate", "Return", "the tag's faceplate"),
    ActionSpec("trend", "&Trend around this alarm", "Ctrl+T",
               "the alarm's tag and its asset's tags, 10 minutes either side of the raise"),
)
# the role-checked action behind each local action
_COMMAND = {"ack_comment": "ack", "ack_page": "ack"}


def run_commands(commands: Any, actor: Any, action: str, names: Sequence[str],
                 args: dict[str, Any], signature: Any = None
                 ) -> tuple[str, list[tuple[str, str, str]]]:
    """Worker thread: send one command per alarm and wait for each answer ->
    (action, [(alarm, result, error)]). In a worker, not the Qt thread, because sending writes
    the audit trail's "requested" entry (SQLite, synchronous=FULL) and checks a signature's
    password (argon2, ~20 ms per signer)."""
    futures = []
    for name in names:
        extra = {"signature": signature} if signature is not None else {}
        futures.append((name, commands.alarm(actor, action, name, **extra, **args)))
    out = []
    for name, future in futures:
        try:
            out.append((name, future.result(ANSWER_TIMEOUT_S), ""))
        except concurrent.futures.TimeoutError:
            out.append((name, "", "the alarm service did not answer"))
        except Exception as exc:  # noqa: BLE001 - worker boundary: every refusal is shown
            out.append((name, "", str(exc) or type(exc).__name__))
    return action, out


class AlarmActions(QObject):
    """The summary's actions (toolbar, context menu and keys share the same QActions)."""

    done = Signal(str, list)  # action, [(alarm, result, error)]: after every answer

    def __init__(self, owner: QWidget, context: StationContext, view: QTableView,
                 model: AlarmTableModel, shelve_default_min: float,
                 shelve_max_min: float, shelve_max_by_alarm: dict[str, float] | None = None
                 ) -> None:
        super().__init__(owner)
        self._owner = owner
        self._context = context
        self._view = view
        self._model = model
        self._shelve_default = shelve_default_min
        self._shelve_max = shelve_max_min  # the project's
        self._shelve_max_by_alarm = dict(shelve_max_by_alarm or {})  # an alarm's own, if lower
        self._dialog: QDialog | None = None
        self._dialog_names: list[str] = []
        self._dialog_action = ""
        self.actions: dict[str, QAction] = {}
        handlers: dict[str, Callable[[], None]] = {
            "ack": self._on_ack, "ack_comment": self._on_ack_comment,
            "ack_page": self._on_ack_page, "shelve": self._on_shelve,
            "unshelve": self._on_unshelve, "reset": self._on_reset, "oos": self._on_oos,
            "in_service": self._on_in_service, "comment": self._on_comment,
            "faceplate": self._on_faceplate, "trend": self._on_trend,
        }
        for spec in SPECS:
            action = QAction(spec.text, owner)
            action.setObjectName(f"alarmAction_{spec.key}")
            action.setShortcut(QKeySequence(spec.shortcut))
            # active while the summary (or one of its children) has focus, so the same keys
            # can mean something else on another screen
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(handlers[spec.key])
            owner.addAction(action)
            self.actions[spec.key] = action
        # Return in the table opens the faceplate through `activated`, not this shortcut
        self.actions["faceplate"].setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.menu = QMenu(owner)
        self.menu.setObjectName("alarmContextMenu")
        self.menu.setToolTipsVisible(True)  # a disabled entry says why
        for key in ("ack", "ack_comment", "shelve", "unshelve", "reset", "oos", "in_service",
                    "comment", None, "faceplate", "trend"):
            if key is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(self.actions[key])
        self.update()

    # ---- which rows ------------------------------------------------------------------------------
    def selected(self) -> list[Row]:
        selection = self._view.selectionModel()
        if selection is None:
            return []
        rows = sorted(index.row() for index in selection.selectedRows(0))
        return [self._model.row(r) for r in rows if r < self._model.rowCount()]

    def current(self) -> Row | None:
        index = self._view.currentIndex()
        if index.isValid():
            row = index.data(ROW_ROLE)
            if isinstance(row, dict):
                return row
        chosen = self.selected()
        return chosen[0] if chosen else None

    def on_screen(self) -> list[Row]:
        """Rows the operator can read right now: inside the viewport, at least half shown."""
        count = self._model.rowCount()
        if count == 0 or not self._view.isVisible():
            return []
        height = self._view.viewport().height()
        first = self._view.rowAt(0)
        last = self._view.rowAt(height - 1)
        first = 0 if first < 0 else first
        last = count - 1 if last < 0 else last
        rows = []
        for r in range(first, last + 1):
            top = self._view.rowViewportPosition(r)
            size = self._view.rowHeight(r)
            visible = min(top + size, height) - max(top, 0)
            if size > 0 and visible * 2 >= size:
                rows.append(self._model.row(r))
        return rows

    # ---- enable / disable ------------------------------------------------------------------------
    def update(self) -> None:
        """Re-check every action (selection, user or alarm states changed)."""
        rows = self.selected()
        states = {r.get("state") for r in rows}
        need: dict[str, tuple[bool, str]] = {
            "ack": (bool(states & UNACKED), "select an unacknowledged alarm"),
            "ack_comment": (bool(states & UNACKED), "select an unacknowledged alarm"),
            "ack_page": (True, ""),
            "shelve": (bool(states - {"F", "H", "A"}), "select an alarm that is not shelved "
                                                      "or out of service"),
            "unshelve": ("F" in states, "select a shelved alarm"),
            "reset": ("E" in states, "select a latched alarm that has cleared"),
            "oos": (bool(states - {"H"}), "select an alarm in service"),
            "in_service": ("H" in states, "select an alarm out of service"),
            "comment": (len(rows) == 1, "select one alarm"),
            "faceplate": (bool(rows) or self.current() is not None, "select an alarm"),
            "trend": (bool(rows) or self.current() is not None, "select an alarm"),
        }
        for spec in SPECS:
            action = self.actions[spec.key]
            command = _COMMAND.get(spec.key, spec.key)
            why = None
            if command in ("ack", "shelve", "unshelve", "reset", "oos", "in_service", "comment"):
                why = self._context.why_not(command)
            ok, hint = need[spec.key]
            if why is None and not ok:
                why = hint
            action.setEnabled(why is None)
            tip = f"{spec.help} ({action.shortcut().toString()})"
            action.setToolTip(tip if why is None else f"{tip}: not now, {why}")

    # ---- handlers --------------------------------------------------------------------------------
    def _names(self, rows: list[Row], states: str | None = None) -> list[str]:
        return [r["name"] for r in rows if states is None or r.get("state") in states]

    def _rule(self, action: str) -> bool | str:
        """False, True or "double": the electronic signature the project asks for `action`."""
        return self._context.commands.needs_signature(action)

    def _send_or_sign(self, action: str, names: list[str], title: str) -> None:
        """An action without a dialog of its own, unless it must be signed."""
        rule = self._rule(action)
        if not rule:
            self.send(action, names)
            return
        self._ask(action, names, TextDialog(
            title, f"{title}: {len(names)} alarm(s). This action is signed; reason:", title,
            required=True, parent=self._owner, signature=rule))

    def _on_ack(self) -> None:
        names = self._names(self.selected(), "BD")
        if names:
            self._send_or_sign("ack", names, "Acknowledge")

    def _on_ack_comment(self) -> None:
        names = self._names(self.selected(), "BD")
        if names:
            self._ask("ack", names, TextDialog(
                "Acknowledge", f"Acknowledge {len(names)} alarm(s) with a comment:",
                "Acknowledge", required=False, parent=self._owner, signature=self._rule("ack")))

    def _on_ack_page(self) -> None:
        names = self._names(self.on_screen(), "BD")
        if not names:
            self._context.notify("no unacknowledged alarm on screen")
            return
        self._ask("ack_page", names, TextDialog(
            "Acknowledge page", f"Acknowledge the {len(names)} unacknowledged alarm(s) shown "
            "on screen? Alarms filtered out or scrolled away are not acknowledged.",
            "Acknowledge", required=False, parent=self._owner,
            placeholder="optional comment", signature=self._rule("ack")))

    def _on_shelve(self) -> None:
        names = self._names(self.selected(), "BCDE")
        if names:  # several alarms: the shortest of their maxima
            longest = min(self._shelve_max_by_alarm.get(n, self._shelve_max) for n in names)
            whose = "the project's" if longest >= self._shelve_max else (
                "this alarm's" if len(names) == 1 else "the shortest of these alarms'")
            self._ask("shelve", names, ShelveDialog(names, self._shelve_default, longest,
                                                    self._owner, signature=self._rule("shelve"),
                                                    whose=whose))

    def _on_unshelve(self) -> None:
        names = self._names(self.selected(), "F")
        if names:
            self._send_or_sign("unshelve", names, "Unshelve")

    def _on_reset(self) -> None:
        names = self._names(self.selected(), "E")
        if names:
            self._send_or_sign("reset", names, "Reset")

    def _on_oos(self) -> None:
        names = [r["name"] for r in self.selected() if r.get("state") != "H"]
        if names:
            self._ask("oos", names, TextDialog(
                "Out of service", f"Take {len(names)} alarm(s) out of service. Reason:",
                "Out of service", required=True, parent=self._owner,
                signature=self._rule("oos")))

    def _on_in_service(self) -> None:
        names = self._names(self.selected(), "H")
        if names:
            self._ask("in_service", names, TextDialog(
                "Back in service", f"Return {len(names)} alarm(s) to service. Comment:",
                "In service", required=False, parent=self._owner,
                signature=self._rule("in_service")))

    def _on_comment(self) -> None:
        rows = self.selected()
        if len(rows) == 1:
            self._ask("comment", [rows[0]["name"]], TextDialog(
                "Comment", f"Comment on {rows[0]['name']} (goes into the journal):",
                "Add comment", required=True, parent=self._owner,
                signature=self._rule("comment")))

    def _on_faceplate(self) -> None:
        row = self.current()
        if row is not None and row.get("tag"):
            self._context.open_faceplate(row["tag"])

    def _on_trend(self) -> None:
        row = self.current()
        if row is None or not row.get("tag"):
            return
        # the alarm's tag first, then the numeric, historised tags of its asset (at most the
        # trend screen's 8 pens): the trends branch's own rule, so both agree
        tags = tags_around(self._context.runtime.project, row["tag"])
        at = row.get("raised_ts") or time.time()
        self._context.show_trend(tags, at - TREND_MARGIN_S, at + TREND_MARGIN_S)

    def show_menu(self, global_pos: QPoint) -> None:
        """Right click or the menu key: non-blocking `popup`, never `exec`."""
        self.update()
        self.menu.popup(global_pos)

    # ---- dialogs and sending ---------------------------------------------------------------------
    @property
    def dialog(self) -> QDialog | None:
        """The open dialog, if any (tests fill it in and accept it)."""
        return self._dialog

    def _ask(self, action: str, names: list[str], dialog: QDialog) -> None:
        if self._dialog is not None:
            self._dialog.reject()
        self._dialog, self._dialog_names, self._dialog_action = dialog, names, action
        dialog.finished.connect(self._on_dialog_finished)
        dialog.open()

    def _on_dialog_finished(self, result: int) -> None:
        dialog, names, action = self._dialog, self._dialog_names, self._dialog_action
        self._dialog, self._dialog_names = None, []
        if dialog is None:
            return
        dialog.deleteLater()
        if result != QDialog.DialogCode.Accepted:
            return
        if isinstance(dialog, ShelveDialog):
            minutes, reason = dialog.choice()
            self.send("shelve", names, dialog.signature(), minutes=minutes, reason=reason)
        elif isinstance(dialog, TextDialog):
            text, signature = dialog.value(), dialog.signature()
            if action == "ack_page":
                # re-check against what is on screen now: never a row that scrolled away or
                # was filtered out while the question was open
                now_shown = set(self._names(self.on_screen(), "BD"))
                self.send("ack", [n for n in names if n in now_shown], signature, comment=text)
            elif action in ("ack", "unshelve", "reset"):
                self.send(action, names, signature, comment=text)
            elif action in ("oos", "in_service"):
                self.send(action, names, signature, reason=text)
            elif action == "comment":
                self.send("comment", names, signature, text=text)

    def send(self, action: str, names: list[str], signature: Signature | None = None,
             **args: Any) -> None:
        """One command per alarm through the command layer, sent and answered in a worker;
        the answers come back together."""
        if not names:
            return
        self._context.submit(run_commands, self._context.commands, self._context.actor,
                             action, list(names), args, signature, slot=self._on_answers)

    def _on_answers(self, answer: tuple[str, list[tuple[str, str, str]]]) -> None:
        action, results = answer
        failed = [(n, e) for n, _, e in results if e]
        done = [(n, r) for n, r, e in results if not e]
        if len(done) == 1 and not failed:
            self._context.notify(done[0][1])
        elif done:
            self._context.notify(f"{action}: {len(done)} alarm(s) done")
        for name, error in failed:
            self._context.notify(f"{action} {name}: {error}", "warning")
        self.done.emit(action, results)
