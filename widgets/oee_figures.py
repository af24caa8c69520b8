"""OEE and its three factors (ISO 22400-2: availability, effectiveness, quality) for one line,
as the MES service computes them: a row per window (shift, work order, running hour).

Why figures as text and no gauge: ISA-101 level 1/2 shows the number and what it is made of;
OEE is not an alarm, so it never takes an alarm colour (a low figure is not "red"). The values
come from the MES bridge (`hmi.gui.mes_bridge.MesBridge`, at most 10 Hz, refreshed by the
service every 5 s and on state/context changes): nothing here queries anything. A window that
does not exist now (no shift running, no work order) reads "-"; the tooltip gives PBT, APT,
down time, PQ and GQ, so a supervisor sees why a factor is what it is. GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from hmi.gui.mes_bridge import MesBridge

FACTORS = (("oee", "OEE"), ("availability", "A"), ("effectiveness", "E"), ("quality", "Q"))
WINDOWS = (("shift", "Shift"), ("work_order", "Work order"), ("hour", "Last hour"))


def percent(value: Any) -> str:
    """A factor (0..1, may exceed 1 for E when the ideal cycle is set too slow) as 70.7 %."""
    return "-" if value is None else f"{float(value) * 100:.1f} %"


def minutes(seconds: Any) -> str:
    return "-" if seconds is None else f"{float(seconds) / 60:.1f} min"


def explain(result: dict[str, Any] | None) -> str:
    """The tooltip: what the figures are made of (ISO 22400 names)."""
    if not result:
        return "no figures for this window (no shift running, or no work order)"
    return (f"{result.get('from', '')} .. {result.get('to', '')}\n"
            f"PBT (planned busy time) {minutes(result.get('pbt_s'))}, "
            f"APT (actual production time) {minutes(result.get('apt_s'))}\n"
            f"down time {minutes(result.get('adet_s'))}, micro-stops "
            f"{result.get('microstops', 0)}\n"
            f"PQ (produced) {result.get('pq', 0)}, GQ (good) {result.get('gq', 0)}, "
            f"rejects {result.get('rq', 0)}\n"
            "A = APT / PBT, E = PRI x PQ / APT, Q = GQ / PQ, OEE = A x E x Q")


class OeeFigures(QWidget):
    """A small grid: one row per window in `windows`, columns OEE, A, E, Q.

    `line`: the MES line name (None: the service's first line). `compact`: one row, the shift
    (else the hour) with a short label, for the overview tile."""

    def __init__(self, context: Any, line: str | None = None,
                 windows: tuple[str, ...] = ("shift", "work_order", "hour"),
                 compact: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OeeFigures")
        self.line = line
        self.windows = windows
        self.compact = compact
        self.labels: dict[tuple[str, str], QLabel] = {}
        self.row_titles: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(2)
        names = dict(WINDOWS)
        if not compact:
            for column, (_key, short) in enumerate(FACTORS, 1):
                head = QLabel(short, self)
                head.setObjectName("SectionTitle")
                head.setAlignment(Qt.AlignmentFlag.AlignRight)
                grid.addWidget(head, 0, column)
        for row, window in enumerate(windows, 0 if compact else 1):
            title = QLabel(f"OEE {names.get(window, window).lower()}" if compact
                           else names.get(window, window), self)
            title.setObjectName("SectionTitle")
            self.row_titles[window] = title
            grid.addWidget(title, row, 0)
            for column, (key, short) in enumerate(FACTORS, 1):
                label = QLabel("-", self)
                label.setObjectName("OeeFigure" if key == "oee" else "OeeFactor")
                label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                label.setMinimumWidth(64 if key == "oee" else 56)
                label.setAccessibleName(f"{short} {names.get(window, window)}")
                self.labels[(window, key)] = label
                grid.addWidget(label, row, column)
        grid.setColumnStretch(len(FACTORS) + 1, 1)
        self.bridge = MesBridge.of(context)
        self.bridge.changed.connect(self._on_changed)
        self.setVisible(self.bridge.active)
        self.show_snapshot(self.bridge.snapshot)

    def _on_changed(self, snapshot: dict[str, Any], topics: frozenset[str]) -> None:
        if topics & {"oee", "context", "state", "counts"}:
            self.show_snapshot(snapshot)

    def show_snapshot(self, snapshot: dict[str, Any]) -> None:
        lines = snapshot.get("lines") or {}
        name = self.line if self.line is not None else next(iter(lines), None)
        oee = (lines.get(name) or {}).get("oee") or {}
        for window in self.windows:
            self.show_result(window, oee.get(window))

    def show_result(self, window: str, result: dict[str, Any] | None) -> None:
        tip = explain(result)
        self.row_titles[window].setToolTip(tip)
        for key, short in FACTORS:
            label = self.labels[(window, key)]
            value = (result or {}).get(key)
            text = percent(value) if not self.compact or key == "oee" else \
                f"{short} {percent(value)}"
            if label.text() != text:
                label.setText(text)
            label.setToolTip(tip)

    def text(self, window: str, key: str) -> str:
        """What a label shows (tests)."""
        return self.labels[(window, key)].text()
