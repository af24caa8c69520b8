"""One line on the production panel: its context, state and downtime, the work order and lot
actions, the reason for a stop, and OEE for the shift, the work order and the last hour.

Every change goes through the command layer (`Commands.start_work_order`,
`complete_work_order`, `set_context` for the lot, `set_downtime_reason`: role "context", a
logged-in session, audited), sent from a worker (`context.submit`: the audit entry is a
durable SQLite write and the MES answers after its next commit, ~0.25 s), never from the Qt
thread. What the user may not do is disabled with the reason (`context.why_not("context")`).
When the project signs context changes (`[security.signatures] context`), each action first
opens the signature dialog (`open()`, never `exec()`), which is then also its confirmation;
the command layer verifies the signature in the worker and refuses the action without one.
State comes from the MES bridge (one coalesced snapshot at most 10 times a second); the list
of recent stops is asked of the MES thread (`MesService.downtimes`) when a downtime changed,
at most one question in flight.

A stop longer than `[production] reason_required_s` without a reason is flagged ("REASON
NEEDED", bold and dashed outline: it is a task for the operator, not an alarm, so no alarm
colour) until it has one. GUI thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.dialogs import open_nonmodal, raise_open
from widgets.oee_figures import OeeFigures
from widgets.reason_picker import ReasonPicker
from widgets.signature_dialog import SignatureDialog

SEND_TIMEOUT_S = 15.0
DOWNTIME_ROWS = 20
DOWNTIME_COLUMNS = ("Start", "Duration", "State", "Reason", "Source", "Attention")
CONTEXT_FIELDS = (("work_order", "Work order"), ("product", "Product"), ("lot", "Lot"),
                  ("shift", "Shift"), ("operator", "Operator"))


def send(commands: Any, actor: Any, method: str, args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> str:
    """Worker thread: one production command through the command layer; its one-line answer
    (raises CommandDenied / MesCommandError with the reason)."""
    return getattr(commands, method)(actor, *args, **kwargs).result(SEND_TIMEOUT_S)


def duration_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def clock_text(ts: float | None) -> str:
    return "-" if not ts else time.strftime("%H:%M:%S", time.localtime(ts))


class LinePanel(QGroupBox):
    """See the module docstring. `line`: the MES line name."""

    def __init__(self, context: Any, line: str, service: Any,
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Line {line}", parent)
        self.setObjectName("ProductionLine")
        self.context = context
        self.line = line
        self.service = service
        model = context.runtime.project.model
        self.reason_required_s = float(model.production.reason_required_s)
        self.products = [(p.code, p.name) for p in model.products]
        self.state: dict[str, Any] = {}
        self.downtime_rows: list[dict[str, Any]] = []
        self._asking = False
        self._ask_again = False
        self._pending = 0  # commands in flight
        self.signing: SignatureDialog | None = None  # open while a signed action waits
        self._signed_call: tuple[str, tuple[Any, ...], dict[str, Any], Callable[[], None]] \
            | None = None
        self.confirm: QMessageBox | None = None  # the open "complete?" question
        self._build(service.reasons())

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self, reasons: list[dict[str, Any]]) -> None:
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        facts = QFormLayout()
        self.context_labels: dict[str, QLabel] = {}
        for key, label in CONTEXT_FIELDS:
            value = QLabel("-", self)
            value.setObjectName("ContextValue")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.context_labels[key] = value
            facts.addRow(f"{label}:", value)
        top.addLayout(facts, 1)
        state_box = QVBoxLayout()
        self.state_label = QLabel("-", self)
        self.state_label.setObjectName("ProductionState")
        state_box.addWidget(self.state_label)
        self.since_label = QLabel("", self)
        state_box.addWidget(self.since_label)
        self.downtime_label = QLabel("no open downtime", self)
        self.downtime_label.setWordWrap(True)
        state_box.addWidget(self.downtime_label)
        self.flag = QLabel("REASON NEEDED", self)
        self.flag.setObjectName("ReasonNeeded")
        self.flag.setVisible(False)
        state_box.addWidget(self.flag, 0, Qt.AlignmentFlag.AlignLeft)
        state_box.addStretch(1)
        top.addLayout(state_box, 1)
        oee_box = QGroupBox("OEE (ISO 22400)", self)
        self.oee = OeeFigures(self.context, self.line, parent=oee_box)
        QVBoxLayout(oee_box).addWidget(self.oee)
        top.addWidget(oee_box, 1)
        outer.addLayout(top)

        orders = QGroupBox("Work order and lot", self)
        grid = QGridLayout(orders)
        self.wo_edit = QLineEdit(orders)
        self.wo_edit.setPlaceholderText("work order")
        self.wo_edit.setAccessibleName("new work order")
        self.product_combo = QComboBox(orders)
        self.product_combo.setEditable(True)
        self.product_combo.setAccessibleName("product")
        self.product_combo.addItem("", "")
        for code, name in self.products:
            self.product_combo.addItem(f"{code}" + (f"  {name}" if name else ""), code)
        self.first_lot_edit = QLineEdit(orders)
        self.first_lot_edit.setPlaceholderText("first lot (optional)")
        self.start_button = QPushButton("Start work order", orders)
        self.complete_button = QPushButton("Complete work order...", orders)
        self.lot_edit = QLineEdit(orders)
        self.lot_edit.setPlaceholderText("new lot")
        self.lot_edit.setAccessibleName("new lot")
        self.lot_button = QPushButton("Change lot", orders)
        grid.addWidget(QLabel("New:", orders), 0, 0)
        grid.addWidget(self.wo_edit, 0, 1)
        grid.addWidget(self.product_combo, 0, 2)
        grid.addWidget(self.first_lot_edit, 0, 3)
        grid.addWidget(self.start_button, 0, 4)
        grid.addWidget(QLabel("Lot:", orders), 1, 0)
        grid.addWidget(self.lot_edit, 1, 1)
        grid.addWidget(self.lot_button, 1, 2)
        grid.addWidget(self.complete_button, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        outer.addWidget(orders)

        stops = QGroupBox("Stops", self)
        box = QVBoxLayout(stops)
        self.downtimes = QTableWidget(0, len(DOWNTIME_COLUMNS), stops)
        self.downtimes.setObjectName("DowntimeTable")
        self.downtimes.setHorizontalHeaderLabels(list(DOWNTIME_COLUMNS))
        self.downtimes.verticalHeader().setVisible(False)
        self.downtimes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.downtimes.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.downtimes.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.downtimes.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.downtimes.setMinimumHeight(150)
        box.addWidget(self.downtimes, 1)
        row = QHBoxLayout()
        self.reason = ReasonPicker(reasons, stops)
        self.comment = QLineEdit(stops)
        self.comment.setPlaceholderText("comment (optional)")
        self.reason_button = QPushButton("Set reason", stops)
        row.addWidget(QLabel("Reason for the selected stop:", stops))
        row.addWidget(self.reason, 2)
        row.addWidget(self.comment, 1)
        row.addWidget(self.reason_button)
        box.addLayout(row)
        outer.addWidget(stops, 1)
        self.result = QLabel("", self)
        self.result.setObjectName("Muted")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.result)

        self.start_button.clicked.connect(self.start_work_order)
        self.wo_edit.returnPressed.connect(self.start_work_order)
        self.complete_button.clicked.connect(self.ask_complete)
        self.lot_button.clicked.connect(self.change_lot)
        self.lot_edit.returnPressed.connect(self.change_lot)
        self.reason_button.clicked.connect(self.set_reason)
        for signal in (self.wo_edit.textChanged, self.lot_edit.textChanged,
                       self.reason.currentIndexChanged,
                       self.downtimes.itemSelectionChanged):
            signal.connect(self.update_controls)

    # ---- state from the MES bridge --------------------------------------------------------------
    def show_line(self, entry: dict[str, Any], now: float | None = None) -> None:
        """The line's part of a snapshot: context, state, since, downtime, needs_reason."""
        self.state = entry
        context = entry.get("context") or {}
        for key, label in self.context_labels.items():
            text = str(context.get(key) or "") or "-"
            if label.text() != text:
                label.setText(text)
        self.tick(now)
        self.update_controls()

    def tick(self, now: float | None = None) -> None:
        """Durations and the reason flag (1 s timer while shown)."""
        now = time.time() if now is None else now
        state = self.state.get("state") or "unknown"
        self.state_label.setText(state.replace("_", " ").upper())
        since = self.state.get("since")
        self.since_label.setText(f"since {clock_text(since)} ({duration_text(now - since)})"
                                 if since else "")
        downtime = self.state.get("downtime")
        if downtime:
            reason = downtime.get("reason") or "no reason yet"
            self.downtime_label.setText(
                f"Stop since {clock_text(downtime['start'])} "
                f"({duration_text(now - downtime['start'])}), {downtime.get('state')}: "
                f"{reason}")
        else:
            self.downtime_label.setText("no open downtime")
        self.flag.setVisible(self.needs_reason(now))
        for r, row in enumerate(self.downtime_rows):
            if row.get("end") is None:
                item = self.downtimes.item(r, 1)
                if item is not None:
                    item.setText(duration_text(now - row["start"]))

    def needs_reason(self, now: float | None = None) -> bool:
        """The open stop, or one of the listed ones, lasted longer than `reason_required_s`
        and has no reason yet."""
        now = time.time() if now is None else now
        downtime = self.state.get("downtime")
        if downtime and not downtime.get("reason") \
                and now - downtime["start"] > self.reason_required_s:
            return True
        return bool(self.state.get("needs_reason")) or any(
            r.get("needs_reason") for r in self.downtime_rows)

    # ---- recent stops ---------------------------------------------------------------------------
    def ask_downtimes(self) -> None:
        if self._asking:
            self._ask_again = True
            return
        self._asking = True
        future = self.service.downtimes(self.line, limit=DOWNTIME_ROWS)
        self.context.when_done(future, self._on_downtimes, self._on_downtimes_failed)

    def _on_downtimes_failed(self, exc: BaseException) -> None:
        self._asking = False
        self.result.setText(f"cannot read the stops: {exc}")

    def _on_downtimes(self, rows: list[dict[str, Any]]) -> None:
        self._asking = False
        selected = self.selected_downtime()
        self.downtime_rows = rows
        table = self.downtimes
        table.setRowCount(len(rows))
        now = time.time()
        for r, row in enumerate(rows):
            end = row.get("end")
            values = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["start"])),
                      duration_text((end if end is not None else now) - row["start"])
                      + ("" if end is not None else " (open)"),
                      str(row.get("state") or ""),
                      str(row.get("reason") or "-"),
                      str(row.get("reason_source") or ""),
                      "REASON NEEDED" if row.get("needs_reason") else "")
            for c, text in enumerate(values):
                item = table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    table.setItem(r, c, item)
                item.setText(text)
                item.setData(Qt.ItemDataRole.UserRole, row["id"])
                font = item.font()
                font.setBold(bool(row.get("needs_reason")))
                item.setFont(font)
        target = selected or self._default_target()
        if target is not None:
            self.select_downtime(target)
        if self._ask_again:
            self._ask_again = False
            self.ask_downtimes()
        self.tick(now)
        self.update_controls()

    def _default_target(self) -> str | None:
        downtime = self.state.get("downtime")
        if downtime and not downtime.get("reason"):
            return str(downtime["id"])
        needing = [r for r in self.downtime_rows if r.get("needs_reason")]
        return str(needing[0]["id"]) if needing else None

    def selected_downtime(self) -> str | None:
        items = self.downtimes.selectedItems()
        return str(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def select_downtime(self, downtime_id: str) -> bool:
        for r, row in enumerate(self.downtime_rows):
            if row["id"] == downtime_id:
                self.downtimes.selectRow(r)
                return True
        return False

    # ---- permissions ----------------------------------------------------------------------------
    def update_controls(self) -> None:
        why = self.context.why_not("context", f"line {self.line}")
        busy = "a command is being sent" if self._pending else None
        has_order = bool((self.state.get("context") or {}).get("work_order"))
        rules = (
            (self.start_button, why or busy or (None if self.wo_edit.text().strip()
                                                else "type the new work order first")),
            (self.complete_button, why or busy or (None if has_order
                                                   else "no work order to complete")),
            (self.lot_button, why or busy or (
                "start a work order first" if not has_order
                else None if self.lot_edit.text().strip() else "type the new lot first")),
            (self.reason_button, why or busy or (
                "select a stop in the list" if self.selected_downtime() is None
                else None if self.reason.code() else "choose a reason")),
        )
        for button, reason in rules:
            button.setEnabled(reason is None)
            button.setToolTip(f"not possible: {reason}" if reason else "")
        for edit in (self.wo_edit, self.first_lot_edit, self.lot_edit, self.comment,
                     self.product_combo, self.reason):
            edit.setEnabled(why is None)
            edit.setToolTip(f"not possible: {why}" if why else "")

    # ---- actions --------------------------------------------------------------------------------
    def _send(self, summary: str, method: str, *args: Any,
              after: Callable[[], None] = lambda: None, **kwargs: Any) -> None:
        """Send now, or after the signature dialog when the project signs context changes.
        `summary` names the action for the signer; `after` (clearing the inputs) runs once the
        command goes out, so a cancelled signature keeps what was typed."""
        if raise_open(self.signing):
            return  # one signed action at a time
        rule = self.context.commands.needs_signature("context")
        if not rule:
            self._dispatch(method, args, kwargs)
            after()
            return
        dialog = SignatureDialog("Sign: production", summary, rule, parent=self)
        dialog.finished.connect(self._on_signed)
        self.signing, self._signed_call = dialog, (method, args, kwargs, after)
        open_nonmodal(dialog)

    def _on_signed(self, result: int) -> None:
        dialog, self.signing = self.signing, None
        call, self._signed_call = self._signed_call, None
        if dialog is None or call is None:
            return
        dialog.deleteLater()
        if result == SignatureDialog.DialogCode.Accepted.value:
            method, args, kwargs, after = call
            self._dispatch(method, args, {**kwargs, "signature": dialog.signature()})
            after()
        dialog.clear_secrets()

    def _dispatch(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._pending += 1
        self.update_controls()
        self.context.submit(send, self.context.commands, self.context.actor, method, args,
                            kwargs, slot=self._on_sent, error_slot=self._on_refused)

    def _on_sent(self, text: str) -> None:
        self._pending -= 1
        self.result.setText(text)
        self.context.notify(text)
        self.update_controls()
        self.ask_downtimes()

    def _on_refused(self, exc: BaseException) -> None:
        self._pending -= 1
        text = f"refused: {exc}"
        self.result.setText(text)
        self.context.notify(text, "warning")
        self.update_controls()

    def start_work_order(self) -> None:
        if not self.start_button.isEnabled():
            return
        text = self.product_combo.currentText().strip()
        index = self.product_combo.findText(text)
        product = (self.product_combo.itemData(index) if index >= 0
                   else text.split()[0] if text else None) or None
        lot = self.first_lot_edit.text().strip() or None
        order = self.wo_edit.text().strip()
        extra = ", ".join(f"{k} {v}" for k, v in (("product", product), ("lot", lot)) if v)
        self._send(f"Start work order {order} on {self.line}" + (f" ({extra})" if extra else ""),
                   "start_work_order", order, product=product, lot=lot, line=self.line,
                   after=self._clear_order)

    def _clear_order(self) -> None:
        self.wo_edit.clear()
        self.first_lot_edit.clear()

    def ask_complete(self) -> None:
        """A confirmation first (it ends the order's counts and sends its OEE upstream):
        the signature dialog when the project signs context changes, else a question;
        non-modal + `finished`, never `exec()` (qasync); one question at a time."""
        if not self.complete_button.isEnabled() or raise_open(self.confirm):
            return  # (an open signature dialog: `_send` raises it)
        order = (self.state.get("context") or {}).get("work_order") or ""
        if self.context.commands.needs_signature("context"):
            self._send(f"Complete work order {order} on {self.line}", "complete_work_order",
                       line=self.line)
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Complete work order",
                          f"Complete work order {order} on {self.line}?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.finished.connect(self._on_complete_answer)
        self.confirm = box
        open_nonmodal(box)

    def _on_complete_answer(self, answer: int) -> None:
        self.confirm = None  # deleted on close
        if answer == QMessageBox.StandardButton.Yes:
            self.complete_work_order()

    def complete_work_order(self) -> None:
        self._dispatch("complete_work_order", (), {"line": self.line})

    def change_lot(self) -> None:
        if not self.lot_button.isEnabled():
            return
        lot = self.lot_edit.text().strip()
        self._send(f"Change the lot on {self.line} to {lot}", "set_context", self.line,
                   lot=lot, after=self.lot_edit.clear)

    def set_reason(self) -> None:
        downtime, code = self.selected_downtime(), self.reason.code()
        if not self.reason_button.isEnabled() or downtime is None or code is None:
            return
        self._send(f"Give the stop {downtime} on {self.line} the reason {code}",
                   "set_downtime_reason", downtime, code, comment=self.comment.text().strip(),
                   after=self._clear_reason)

    def _clear_reason(self) -> None:
        self.comment.clear()
        self.reason.set_code(None)
