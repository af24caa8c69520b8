"""The GUI's copy of the standing alarms: one table every alarm view reads (banner, counts,
indicators next to values, analog bars' violated band, the horn).

Why one copy: the bridge delivers alarm summaries that changed since its last flush; the banner,
the header counts and fifty value widgets must not each keep their own dict and each re-sort.
The table applies a flush once, keeps an index by tag, and emits `changed` with the names that
changed, so a widget looks only at its own tag's alarms. It also owns the one blink timer
(4 Hz, running only while something blinks), so every blinking mark on every screen blinks in
phase and a station with no unacknowledged alarm does not wake up for blinking at all.

GUI thread only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from hmi.gui.bridge import TagBridge
from widgets.alarm_style import (
    ACKED,
    LATCHED,
    OUT_OF_SERVICE,
    PRIORITIES,
    RTN_UNACK,
    SHELVED,
    SUPPRESSED,
    UNACK,
)

ANNUNCIATED = (UNACK, ACKED, RTN_UNACK, LATCHED)
HIDDEN = (SHELVED, SUPPRESSED, OUT_OF_SERVICE)
PRIORITY_RANK = {name: style.number for name, style in PRIORITIES.items()}
STATE_COUNTS = (("unacked", "unacknowledged"), ("acked", "acknowledged"),
                ("shelved", "shelved"), ("suppressed", "suppressed"),
                ("oos", "out of service"))
BLINK_PERIOD_MS = 250


def banner_key(row: dict[str, Any]) -> tuple:
    """Banner order: unacknowledged first, then active, then priority (urgent first), then
    newest first, then name (stable)."""
    return (row["state"] not in (UNACK, RTN_UNACK), not row.get("active"),
            PRIORITY_RANK.get(row.get("priority", "low"), 9), -(row.get("raised_ts") or 0.0),
            row["name"])


class AlarmTable(QObject):
    """name -> latest summary row for every alarm not in state A (normal)."""

    changed = Signal(object)  # [names] changed in this flush (GUI thread; object: no copy)
    blink = Signal(float)  # monotonic phase in seconds, 4 Hz while something blinks

    def __init__(self, bridge: TagBridge | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, dict[str, Any]] = {}
        self._by_tag: dict[str, set[str]] = {}
        self._blink_timer = QTimer(self)
        self._blink_timer.setInterval(BLINK_PERIOD_MS)
        self._blink_timer.timeout.connect(self._on_blink)
        if bridge is not None:
            bridge.alarms_changed.connect(self.apply)

    # ---- input --------------------------------------------------------------------------------
    def apply(self, rows: Iterable[dict[str, Any]]) -> None:
        """Take a flush's changed rows (latest per alarm)."""
        names = []
        for row in rows:
            name = row["name"]
            names.append(name)
            old = self.rows.get(name)
            if row.get("state") == "A":
                if old is not None:
                    del self.rows[name]
                    self._by_tag.get(old["tag"], set()).discard(name)
                continue
            self.rows[name] = row
            self._by_tag.setdefault(row["tag"], set()).add(name)
        if names:
            self._update_blink()
            self.changed.emit(names)

    # ---- views --------------------------------------------------------------------------------
    def for_tag(self, tag: str) -> list[dict[str, Any]]:
        """Standing alarms on `tag`, banner order."""
        return sorted((self.rows[n] for n in self._by_tag.get(tag, ())), key=banner_key)

    def annunciated(self) -> list[dict[str, Any]]:
        """Alarms an operator must see (not shelved, suppressed or out of service), banner
        order."""
        return sorted((r for r in self.rows.values() if r["state"] in ANNUNCIATED),
                      key=banner_key)

    def top(self, n: int = 5) -> list[dict[str, Any]]:
        return self.annunciated()[:n]

    def counts(self) -> dict[str, int]:
        """Per priority (annunciated alarms) and per state group."""
        out = dict.fromkeys(PRIORITIES, 0)
        out.update(dict.fromkeys((key for key, _ in STATE_COUNTS), 0))
        for row in self.rows.values():
            state = row["state"]
            if state in ANNUNCIATED:
                out[row.get("priority", "low")] = out.get(row.get("priority", "low"), 0) + 1
            key = {UNACK: "unacked", RTN_UNACK: "unacked", ACKED: "acked", LATCHED: "acked",
                   SHELVED: "shelved", SUPPRESSED: "suppressed",
                   OUT_OF_SERVICE: "oos"}.get(state)
            if key:
                out[key] += 1
        return out

    def counts_in(self, paths: Iterable[str]) -> dict[str, int]:
        """Annunciated alarms per priority whose area is under any of `paths`."""
        prefixes = tuple(p for p in paths)
        out = dict.fromkeys(PRIORITIES, 0)
        for row in self.rows.values():
            area = row.get("area") or ""
            if row["state"] in ANNUNCIATED and any(
                    area == p or area.startswith(p + "/") or not p for p in prefixes):
                out[row.get("priority", "low")] = out.get(row.get("priority", "low"), 0) + 1
        return out

    def blinking(self) -> bool:
        return any(r["state"] in (UNACK, RTN_UNACK) for r in self.rows.values())

    @staticmethod
    def phase() -> float:
        """The blink phase every mark uses (monotonic seconds)."""
        return time.monotonic()

    # ---- blinking -------------------------------------------------------------------------------
    def _update_blink(self) -> None:
        if self.blinking():
            if not self._blink_timer.isActive():
                self._blink_timer.start()
        else:
            self._blink_timer.stop()

    def _on_blink(self) -> None:
        self.blink.emit(self.phase())
