"""The alarm journal as a table: read-only rows from `alarms.journal_export.query`, newest first.

A journal page is replaced as a whole after each query (one model reset), so there is nothing
incremental to do here; what matters is that `data()` formats lazily (20,000 rows cost nothing
until they are scrolled into view). Times are compact, local "hh:mm:ss.s", with the day in
front ("24 Nov 23:31:04.0") only when the page spans more than one day; the tooltip has the
full local date and the UTC time (a full date on every row cost the Message column its room).
GUI thread only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from widgets.alarm_filter import STATE_TEXT
from widgets.alarm_table import ROW_ROLE, format_value

COLUMNS: tuple[tuple[str, str], ...] = (
    ("mark", "P"),
    ("time", "Time"),
    ("event", "Event"),
    ("alarm", "Alarm"),
    ("message", "Message"),
    ("value", "Value"),
    ("limit", "Limit"),
    ("state", "State after"),
    ("user", "User"),
    ("comment", "Comment"),
    ("area", "Area"),
)
COLUMN = {key: i for i, (key, _) in enumerate(COLUMNS)}
EVENT_TEXT = {"raise": "raised", "rtn": "returned to normal", "ack": "acknowledged",
              "realarm": "re-alarmed", "reset": "reset", "shelve": "shelved",
              "unshelve": "unshelved", "suppress": "suppressed", "unsuppress": "released",
              "oos": "out of service", "in_service": "back in service", "comment": "comment",
              "refused": "refused"}


def format_timestamp(ts: float | None, with_date: bool = True) -> str:
    """Local time to the tenth of a second, with the day in front when `with_date`."""
    if ts is None:
        return ""
    fmt = "%d %b %H:%M:%S" if with_date else "%H:%M:%S"
    return time.strftime(fmt, time.localtime(ts)) + f".{int(ts % 1 * 10)}"


def spans_days(rows: list[dict[str, Any]]) -> bool:
    """Whether `rows` (in time order) fall on more than one local date."""
    if not rows:
        return False
    first, last = rows[0].get("ts"), rows[-1].get("ts")
    if first is None or last is None:
        return False
    return time.localtime(first)[:3] != time.localtime(last)[:3]


class JournalTableModel(QAbstractTableModel):
    """Journal rows (dicts with the journal's columns plus `message`), newest first."""

    def __init__(self, units: Mapping[str, tuple[str, int | None]] | None = None,
                 parent: QObject | None = None, area_root: str = "",
                 bool_tags: frozenset[str] = frozenset()) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []
        self._units = units or {}
        self._bool_tags = bool_tags  # SQLite gives booleans back as 0/1: shown as on/off
        self._area_prefix = area_root.strip("/") + "/" if area_root.strip("/") else ""
        self.with_date = False  # the page spans days: times show the day too

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        """Rows in time order (as queried); shown newest first."""
        self.beginResetModel()
        self._rows = list(reversed(rows))
        self.with_date = spans_days(rows)
        self.endResetModel()

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(COLUMNS)):
            return COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "time" and row.get("ts") is not None:
                local = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(row["ts"]))
                return f"{local} ({row.get('time')})"
            if key == "area":
                return row.get("area")
            if key in ("comment", "message"):
                return row.get(key) or None
            if key == "mark":
                return f"priority {row.get('priority')}, {STATE_TEXT.get(row.get('state') or '')}"
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("value", "limit"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: dict[str, Any], key: str) -> str:
        if key == "mark":
            return ""
        if key == "time":
            return format_timestamp(row.get("ts"), self.with_date)
        if key == "event":
            return EVENT_TEXT.get(row.get("event") or "", row.get("event") or "")
        if key in ("value", "limit"):
            tag = row.get("tag") or ""
            value = row.get(key)
            if key == "value" and tag in self._bool_tags and value in (0, 1):
                value = bool(value)
            unit, decimals = self._units.get(tag, ("", None))
            return format_value(value, unit, decimals)
        if key == "state":
            return STATE_TEXT.get(row.get("state") or "", row.get("state") or "")
        if key == "area":
            area = row.get("area") or ""
            return area.removeprefix(self._area_prefix) if self._area_prefix else area
        return str(row.get(key) or "")
