"""Diagnostics (L4): how the station itself is doing, for the technician rather than the operator.

Per device: state, requests, errors by kind, reconnects, the last error and when, round-trip
mean/p95 and, for Modbus, the read plan (the same `Runtime.device_health()` dict `hmi diag`
prints, so the two never disagree). Then the historian (file size, rows, writer lag), the alarm
service (states, journal), security (users, sessions, lockouts, the audit chain and its key),
the MES outbox (depth, oldest pending, delivered, quarantined, last error) and the dispatch
path's lag, plus the GUI bridge's own flush time.

Refreshes once a second **while visible only**: `runtime.diagnostics()` is gathered in a worker
(it stats files and copies counters), at most one gathering in flight. GUI thread only.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.gui.context import StationContext
from hmi.gui.mes_status import age_text
from widgets.column_grid import ColumnGrid

REFRESH_MS = 1000
DEVICE_COLUMNS = ("Device", "Protocol", "State", "Requests", "Notifications", "Errors",
                  "Reconnects", "RTT mean ms", "RTT p95 ms", "Last error")
NUMERIC = range(3, 9)  # right-aligned columns


def gather(runtime: Any) -> dict[str, Any]:
    """Worker thread: one diagnostics report, stamped."""
    report = dict(runtime.diagnostics())
    report["at"] = time.time()
    return report


def ago(ts: float | None, now: float) -> str:
    if not ts:
        return ""
    seconds = max(0.0, now - ts)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def ms(value: object) -> str:
    return "-" if value is None else f"{float(value):.1f}"  # type: ignore[arg-type]


def size(num_bytes: object) -> str:
    if not isinstance(num_bytes, int | float):
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if num_bytes < 1000 or unit == "GB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1000
    return "-"


def device_detail(name: str, h: dict[str, Any], now: float) -> str:
    """The selected device in words: what `hmi diag` prints under its table row."""
    lines = [f"{name}  ({h.get('protocol', '-')}, every {h.get('poll_s', '-')} s, "
             f"{h.get('tags', '-')} tags)",
             f"state: {h.get('state', '-')}"
             + (f", down since {ago(h.get('down_since'), now)}" if h.get("down_since") else "")
             + (f", last good read {ago(h.get('last_good_ts'), now)}"
                if h.get("last_good_ts") else ""),
             f"cycles: {h.get('cycles', 0)}, requests: {h.get('requests', 0)}, "
             f"notifications: {h.get('notifications', 0)}, reconnects: {h.get('reconnects', 0)}",
             f"round trip: mean {ms(h.get('rtt_mean_ms'))} ms, p95 {ms(h.get('rtt_p95_ms'))} ms"]
    errors = h.get("errors") or {}
    if errors:
        lines.append("errors by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items())))
    else:
        lines.append("errors by kind: none")
    if h.get("last_error"):
        lines.append(f"last error ({ago(h.get('last_error_ts'), now)}): {h['last_error']}")
    plan = h.get("plan")
    if isinstance(plan, dict):
        lines.append(f"read plan: {plan.get('requests_per_cycle')} request(s) per cycle for "
                     f"{plan.get('tags')} tag(s) (one per tag would be "
                     f"{plan.get('naive_requests_per_cycle')}), {plan.get('requests_per_s')}/s")
        for group in plan.get("groups", []):
            lines.append(f"  every {group.get('poll_s', 0):g} s: {group.get('tags')} tags in "
                         f"{group.get('requests')} read(s): {' '.join(group.get('reads', []))}")
    return "\n".join(lines)


class _Panel(QGroupBox):
    """A titled list of `label: value` lines; labels built once, values updated in place."""

    def __init__(self, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setObjectName(name)
        self._form = QFormLayout(self)
        self._values: dict[str, QLabel] = {}

    def show_values(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            widget = self._values.get(label)
            if widget is None:
                widget = QLabel(self)
                widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                # long paths wrap or are cut (full text in the tooltip); they must not widen
                # the screen beyond the window
                widget.setWordWrap(True)
                widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
                widget.setMinimumWidth(80)  # a long label must not squeeze the value to nothing
                self._form.addRow(f"{label}:", widget)
                self._values[label] = widget
            if widget.text() != value:
                widget.setText(value)
                widget.setToolTip(value if len(value) > 40 else "")

    def value(self, label: str) -> str:
        widget = self._values.get(label)
        return widget.text() if widget is not None else ""


class _VerticalScroll(QScrollArea):
    """Scrolls its content vertically only, so it asks for the content's minimum width (a
    plain QScrollArea asks for almost nothing and would cut the panels at the right), asked
    again whenever the content's layout changes (labels arrive with the first report)."""

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is None:
            return hint
        extra = self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
        return QSize(inner.minimumSizeHint().width() + extra, hint.height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)


class DiagnosticsScreen(QWidget):
    """Station diagnostics (registry name "diagnostics")."""

    title = "Diagnostics"
    refreshed = Signal(dict)  # the report just shown (tests, bench)

    def __init__(self, context: StationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagnostics")
        self._context = context
        self._busy = False
        self._report: dict[str, Any] = {}
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._on_tick)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        split = QSplitter(Qt.Orientation.Vertical, self)
        self.devices = QTableWidget(0, len(DEVICE_COLUMNS), self)
        self.devices.setObjectName("diagDevices")
        self.devices.setHorizontalHeaderLabels(list(DEVICE_COLUMNS))
        self.devices.verticalHeader().setVisible(False)
        self.devices.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.devices.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.devices.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.devices.setWordWrap(False)
        header = self.devices.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(DEVICE_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.devices.itemSelectionChanged.connect(self._on_device_selected)
        split.addWidget(self.devices)
        self.detail = QPlainTextEdit(self)
        self.detail.setObjectName("diagDeviceDetail")
        self.detail.setReadOnly(True)
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        split.addWidget(self.detail)
        # all in one row when each panel gets 320 px (a 1920 px window), else three to a row:
        # five in a row made the window 1384 px wide on a 1280 px monitor (navigation squeezed
        # to a sliver, values cut) and wrapped paths and keys into tall columns at 1600 px
        self.services = ColumnGrid((5, 3), preferred_px=320, parent=self)
        self.historian = _Panel("Historian", "diagHistorian", self.services)
        self.alarms = _Panel("Alarm service", "diagAlarms", self.services)
        self.dispatch = _Panel("Dispatch and display", "diagDispatch", self.services)
        self.security = _Panel("Security", "diagSecurity", self.services)
        self.mes = _Panel("MES outbox", "diagMes", self.services)
        self.services.set_items([self.historian, self.alarms, self.security, self.mes,
                                 self.dispatch])
        # scrolls (vertically only) rather than squeeze rows into each other when short
        scroll = _VerticalScroll(self)
        scroll.setObjectName("diagServices")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.services)
        split.addWidget(scroll)
        split.setSizes([95, 150, 460])  # 1600x1000: the panels whole, the detail too
        layout.addWidget(split, 1)
        self.status = QLabel("Gathering...", self)
        self.status.setObjectName("diagStatus")
        layout.addWidget(self.status)

    # ---- refresh while visible -------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()
        self._on_tick()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def _on_tick(self) -> None:
        if self._busy or not self.isVisible():
            return
        self._busy = True
        self._context.submit(gather, self._context.runtime, slot=self._on_report,
                             error_slot=self._on_failed)

    def refresh(self) -> None:
        self._on_tick()

    def _on_failed(self, exc: BaseException) -> None:
        self._busy = False
        self.status.setText(f"Cannot gather diagnostics: {exc}")

    def _on_report(self, report: dict[str, Any]) -> None:
        self._busy = False
        self._report = report
        now = report.get("at", time.time())
        self._show_devices(report.get("devices") or {}, now)
        services = report.get("services") or {}
        self._show_historian(services.get("HistorianService"), now)
        self._show_alarms(services.get("AlarmService"))
        self._show_security(services.get("SecurityService"))
        self._show_mes(services.get("MesService"))
        self._show_dispatch(report.get("dispatch") or {})
        down = [n for n, h in (report.get("devices") or {}).items() if h.get("state") == "down"]
        self.status.setText(f"Updated {time.strftime('%H:%M:%S', time.localtime(now))}, "
                            f"every {REFRESH_MS / 1000:g} s while shown"
                            + (f"  ·  DOWN: {', '.join(sorted(down))}" if down else ""))
        self.refreshed.emit(report)

    # ---- sections --------------------------------------------------------------------------------
    def _show_devices(self, devices: dict[str, dict[str, Any]], now: float) -> None:
        names = sorted(devices)
        table = self.devices
        if table.rowCount() != len(names):
            table.setRowCount(len(names))
        bold = QFont(table.font())
        bold.setBold(True)
        for r, name in enumerate(names):
            h = devices[name]
            state = str(h.get("state", "-"))
            error = h.get("last_error") or ""
            if error and h.get("last_error_ts"):
                error = f"{error} ({ago(h.get('last_error_ts'), now)})"
            values = (name, str(h.get("protocol", "-")), state.upper(),
                      str(h.get("requests", 0)), str(h.get("notifications", 0)),
                      str(h.get("error_total", 0)),
                      str(h.get("reconnects", 0)), ms(h.get("rtt_mean_ms")),
                      ms(h.get("rtt_p95_ms")), error)
            for c, text in enumerate(values):
                item = table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    if c in NUMERIC:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                              | Qt.AlignmentFlag.AlignVCenter)
                    table.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
                    item.setToolTip(text if c == len(values) - 1 else "")
            # a dead link reads heavier; no red: colour is for alarms only
            table.item(r, 2).setFont(bold if state == "down" else table.font())
        if names and not table.selectedItems():
            first_down = next((i for i, n in enumerate(names)
                               if devices[n].get("state") == "down"), 0)
            table.selectRow(first_down)
        self._on_device_selected()

    def _on_device_selected(self) -> None:
        rows = {i.row() for i in self.devices.selectedItems()}
        devices = self._report.get("devices") or {}
        if not rows or not devices:
            return
        name_item = self.devices.item(min(rows), 0)
        if name_item is None or name_item.text() not in devices:
            return
        text = device_detail(name_item.text(), devices[name_item.text()],
                             self._report.get("at", time.time()))
        if self.detail.toPlainText() != text:
            self.detail.setPlainText(text)

    def _show_historian(self, h: dict[str, Any] | None, now: float) -> None:
        if not h or "size_bytes" not in h:  # historian off in the project, or no service
            self.historian.show_values([("State", "not running")])
            return
        pending = h.get("pending_batches") or 0
        lag = "none" if not pending else f"{pending} batch(es) waiting"
        self.historian.show_values([
            ("State", "running" if h.get("running") else "stopped"),
            ("File", str(h.get("path", "-"))),
            ("Size", size(h.get("size_bytes"))),
            ("Rows written", f"{h.get('committed_rows') or 0:,}"),
            ("Samples stored / seen", f"{h.get('samples_stored') or 0:,} / "
                                      f"{h.get('samples_seen') or 0:,}"),
            ("Writer lag", lag),
            ("Writing", _writing(h)),
            ("Last commit", ago(h.get("last_commit_ts"), now) or "-"),
            ("Failed batches", str(h.get("failed_batches") or 0)),
            ("Last error", h.get("last_error") or "none"),
        ])

    def _show_alarms(self, a: dict[str, Any] | None) -> None:
        if not a:
            self.alarms.show_values([("State", "not running")])
            return
        if "error" in a:
            self.alarms.show_values([("State", f"error: {a['error']}")])
            return
        self.alarms.show_values([
            ("State", "running" if a.get("running") else "stopped"),
            ("Alarms configured", str(a.get("alarms", 0))),
            ("Standing / unacked", f"{a.get('standing', 0)} / {a.get('unacked', 0)}"),
            ("Shelved / suppr. / OOS",
             f"{a.get('shelved', 0)} / {a.get('suppressed', 0)} / {a.get('out_of_service', 0)}"),
            ("Transitions", f"{a.get('transitions', 0):,}"),
            ("Journal rows written", f"{a.get('journal_rows_written', 0):,}"),
            ("Journal rows pending", str(a.get("journal_pending", 0))),
            ("Journal writing", _writing(a)),
            ("Journal file", str(a.get("journal_path", "-"))),
        ])

    def _show_security(self, s: dict[str, Any] | None) -> None:
        if not s or "error" in s:
            self.security.show_values([("State", f"error: {s['error']}" if s else "not running")])
            return
        sessions = s.get("sessions") or []
        chain = s.get("audit_verify") or "-"
        if s.get("audit_ok") is False:
            chain = f"BROKEN: {chain}"
        at = s.get("audit_verified_at")
        if isinstance(at, (int, float)):  # verified at start and hourly: say when
            chain += f" (checked {time.strftime('%H:%M:%S', time.localtime(at))})"
        self.security.show_values([
            ("Users", str(s.get("users", "-"))),
            ("Sessions", ", ".join(f"{x.get('user')} ({x.get('state')})" for x in sessions)
             or "none"),
            ("Locked out", ", ".join(s.get("locked_out") or []) or "nobody"),
            ("Audit entries", f"{s.get('audit_entries', 0):,}"),
            ("Audit chain", chain),
            ("Audit write failures", str(s.get("audit_write_failures", 0))
             + (f" (last: {s['audit_last_error']})" if s.get("audit_last_error") else "")),
            ("Audit key", str(s.get("audit_key", "-"))),
            ("Keyring", str(s.get("keyring", "-"))),
        ])

    def _show_mes(self, m: dict[str, Any] | None) -> None:
        """The MES outbox and sender (`MesService.diagnostics()`: the `MesStatus` fields)."""
        if not m or "error" in m:
            self.mes.show_values([("State", f"error: {m['error']}" if m else "not running")])
            return
        if not m.get("enabled"):
            self.mes.show_values([("State", "not enabled ([mes] enabled = false)")])
            return
        age = m.get("oldest_age_s")
        self.mes.show_values([
            ("Link", "connected" if m.get("connected") else "NOT CONNECTED"),
            ("Pending", f"{m.get('depth', 0):,} events, {size(m.get('bytes'))}"
             + (" (OVER LIMIT)" if m.get("over_limit") else "")),
            ("Oldest pending", age_text(age)),
            ("Delivered", f"{m.get('delivered', 0):,} since start"),
            ("Quarantined", str(m.get("quarantined", 0))),
            ("Refusals / lost acks", f"{m.get('refusals', 0)} / {m.get('lost_acks', 0)}"),
            ("MES message limit", size(m.get("max_payload"))),
            ("Outbox limit", size(m.get("limit_bytes"))),
            ("Last error", str(m.get("write_error") or m.get("last_error") or "none")),
        ])

    def _show_dispatch(self, d: dict[str, Any]) -> None:
        times = sorted(self._context.bridge.flush_times_s)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))] * 1000 if times else None
        self.dispatch.show_values([
            ("Batches dispatched", f"{d.get('batches', 0):,}"),
            ("Dispatch lag", f"{(d.get('lag_s') or 0.0) * 1000:.1f} ms"),
            ("Queued batches", str(d.get("queued", 0))),
            ("Display flushes", f"{self._context.bridge.flushes:,}"),
            ("Display flush p95", "-" if p95 is None else f"{p95:.1f} ms"),
        ])

    def configure(self, options: dict[str, Any]) -> None:
        """Screenshot option: device (select this device's row)."""
        device = options.get("device")
        if device:
            for r in range(self.devices.rowCount()):
                item = self.devices.item(r, 0)
                if item is not None and item.text() == device:
                    self.devices.selectRow(r)


def _writing(d: dict[str, Any]) -> str:
    """The current write state (issue 11): "yes", or why not and what is held in memory."""
    if not d.get("write_error"):
        dropped = d.get("dropped_rows") or 0
        return "yes" + (f" ({dropped:,} rows dropped earlier: buffer full)" if dropped else "")
    return f"NO: {d['write_error']}; {d.get('buffered_rows', 0):,} rows held in memory"
