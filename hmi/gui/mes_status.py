"""The header's MES line: outbox depth, the oldest pending event's age and the last error.

Compact on purpose (one short line under the device states): the operator needs to know that
events are piling up, not the sender's internals (those are in diagnostics). Warn styling
(`warn` property: bold and outlined in the QSS, no colour) only when it matters: the MES has not
taken events for `WARN_AGE_S`, an event was quarantined, the outbox is over its limit or cannot
be written. Those conditions have their own alarms (`MES.OutboxOverLimit`,
`MES.OutboxWriteFailed`) on the alarm path; this label never uses alarm colours.

Fed by the MES bridge (`hmi.gui.mes_bridge`, at most 10 Hz). Hidden when the project has no
`[mes] enabled`. GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget

from hmi.gui.mes_bridge import MesBridge

WARN_AGE_S = 120.0  # an event waiting this long means the link to the MES is not working


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def describe(status: Any) -> tuple[str, str, bool]:
    """(label text, tooltip, warn) for a `MesStatus` (or its `to_json()` dict)."""
    s = status.to_json() if hasattr(status, "to_json") else dict(status or {})
    depth = int(s.get("depth") or 0)
    age = s.get("oldest_age_s")
    error = str(s.get("write_error") or s.get("last_error") or "")
    parts = [f"MES: {depth:,} pending".replace(",", "\u2009")]
    if depth:
        parts.append(f"oldest {age_text(age)}")
    if s.get("quarantined"):
        parts.append(f"{s['quarantined']} quarantined")
    if s.get("over_limit"):
        parts.append("OVER LIMIT")
    if error and not s.get("connected"):
        parts.append(short(error, 28))  # the header is shared: the whole error is in the tip
    elif not s.get("connected") and depth:
        parts.append("not connected")
    warn = bool(s.get("over_limit") or s.get("write_error") or s.get("quarantined")
                or (age is not None and age >= WARN_AGE_S))
    tip = (f"MES outbox: {depth} event(s) waiting ({s.get('bytes', 0)} bytes), "
           f"oldest {age_text(age)}\n"
           f"{'connected' if s.get('connected') else 'not connected'}, "
           f"{s.get('delivered', 0)} delivered since start, {s.get('quarantined', 0)} "
           f"quarantined\nlast error: {error or 'none'}\n"
           "details: Diagnostics (F7), or `hmi mes status`")
    return " · ".join(parts), tip, warn


class MesStatusLabel(QLabel):
    """One line in the header; `warn` property drives the QSS."""

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MesStatus")
        # never wider than the device line above it: a long error must not squeeze the banner
        self.setMaximumWidth(440)
        self.full_text = ""  # shown elided to the width (right-aligned, a cut start read "IES:")
        self.setProperty("warn", False)
        self.bridge = MesBridge.of(context)
        self.bridge.changed.connect(self._on_changed)
        enabled = bool(self.bridge.active and self.bridge.service.config.enabled)
        self.setVisible(enabled)
        self.show_status((self.bridge.snapshot or {}).get("status"))

    def _on_changed(self, snapshot: dict[str, Any], _topics: frozenset[str]) -> None:
        self.show_status(snapshot.get("status"))

    def show_status(self, status: Any) -> None:
        if status is None:
            return
        text, tip, warn = describe(status)
        if text != self.full_text:
            self.full_text = text
            self._fit()
        self.setToolTip(tip)
        if bool(self.property("warn")) != warn:
            self.setProperty("warn", warn)
            self.style().unpolish(self)
            self.style().polish(self)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = self.contentsRect().width() - 2 * self.margin() - 4
        shown = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight,
                                              max(0, width))
        if shown != self.text():
            self.setText(shown)
