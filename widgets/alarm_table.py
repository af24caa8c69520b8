"""The alarm summary table: a model that takes one bridge flush at a time, and the mark delegate.

Why not QSortFilterProxyModel: with dynamic sorting it re-sorts and re-filters on every
`dataChanged`, i.e. once per changed row: 500 transitions in a flood became 500 re-sorts. This
model keeps the filtered, sorted list itself and turns one flush into at most: one removal per
block of adjacent rows that left the view, one insertion block, and then either one layout
change (if the order changed: persistent indexes, hence the selection, follow their alarm) or
one `dataChanged` per block of adjacent changed rows.

Frozen (the operator's Freeze toggle): nothing moves. Changed rows update in place, new alarms
are appended at the bottom, rows that cleared or left the view stay where they are (showing
their new state) until the view is unfrozen; then the view is filtered and sorted once.

GUI thread only.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from widgets.alarm_filter import (
    PRIORITY_NUMBER,
    SORT_KEYS,
    STATE_TEXT,
    UNACKED,
    AlarmFilter,
    Row,
    state_counts,
    view_counts,
)
from widgets.alarm_style import paint_alarm_mark

# (key, header, tooltip); the key picks the sort key in widgets.alarm_filter.SORT_KEYS
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("mark", "P", "priority (shape and number) and state"),
    ("first", "1st", "first out of its group"),
    ("time", "Time", "when the alarm was raised (local time)"),
    ("name", "Alarm", "alarm name"),
    ("message", "Message", "what is wrong"),
    ("value", "Value", "the tag's value when the alarm last changed"),
    ("limit", "Limit", "the alarm limit"),
    ("state", "State", "ISA-18.2 state"),
    ("area", "Area", "ISA-95 area"),
)
COLUMN = {key: i for i, (key, _, _) in enumerate(COLUMNS)}
_KEYS = tuple(key for key, _, _ in COLUMNS)
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the row dict
NAME_ROLE = Qt.ItemDataRole.UserRole + 2  # the alarm name

Units = Mapping[str, tuple[str, int | None]]  # tag -> (unit, decimals)
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)
_ROLES = frozenset({_DISPLAY, _FONT, _ALIGN, _TOOLTIP, _ACCESSIBLE, int(ROW_ROLE),
                    int(NAME_ROLE)})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def blocks(positions: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted positions grouped into (first, last) runs of adjacent rows."""
    out: list[tuple[int, int]] = []
    for pos in sorted(set(positions)):
        if out and pos == out[-1][1] + 1:
            out[-1] = (out[-1][0], pos)
        else:
            out.append((pos, pos))
    return out


def format_value(value: Any, unit: str = "", decimals: int | None = None) -> str:
    """A value as an operator reads it: numbers to the tag's decimals, with the unit."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.{decimals}f}" if decimals is not None else f"{value:.4g}"
    else:
        text = str(value)
    return f"{text} {unit}" if unit and not isinstance(value, bool) else text


def format_time(ts: float | None, now: float | None = None,
                today: tuple[int, int, int] | None = None) -> str:
    """Local clock time; the date too when it is not today (`today`: (y, m, d), cached by a
    caller that formats many)."""
    if not ts:
        return ""
    local = time.localtime(ts)
    if today is None:
        today = time.localtime(now if now is not None else time.time())[:3]
    if local[:3] == today:
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%m-%d %H:%M:%S", local)


def state_text(row: Row) -> str:
    state = row.get("state", "A")
    text = STATE_TEXT.get(state, state)
    if state == "F":
        if row.get("shelved_one_shot"):
            return "shelved (one-shot)"
        until = row.get("shelved_until")
        if until:
            # the summary carries ISO UTC; show local clock time
            try:
                stamp = datetime.fromisoformat(until.replace("Z", "+00:00")).timestamp()
                return f"shelved until {time.strftime('%H:%M', time.localtime(stamp))}"
            except ValueError:
                return f"shelved until {until}"
    return text


class AlarmTableModel(QAbstractTableModel):
    """Alarm summary rows, filtered and sorted here; one flush = a handful of signals."""

    def __init__(self, units: Units | None = None, parent: QObject | None = None,
                 area_root: str = "") -> None:
        super().__init__(parent)
        self._units: Units = units or {}
        # areas are shown below the project's own ISA-95 node ("Filler", not the whole path)
        self._area_prefix = area_root.strip("/") + "/" if area_root.strip("/") else ""
        self._all: dict[str, Row] = {}  # every alarm not normal, latest summary
        self._rows: list[Row] = []  # what the view shows, in display order
        self._index: dict[str, int] = {}  # name -> position in _rows
        self._filter = AlarmFilter()
        self._sort_key = "mark"
        self._keys: dict[str, tuple] = {}  # name -> sort key of the row shown (computed once)
        self._descending = False
        self._frozen = False
        self.last_apply_s = 0.0  # duration of the last apply() (bench, diagnostics)
        self._bold = QFont()
        self._bold.setBold(True)
        self._today = time.localtime()[:3]

    # ---- Qt model interface ----------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][2]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # called ~10 times per visible cell per repaint: plain int roles, no enum lookups
        role = int(role)
        if role not in _ROLES or not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        key = _KEYS[index.column()]
        if role == _DISPLAY:
            return self._display(row, key)
        if role == _FONT:
            # unacknowledged reads heavier: no colour needed
            return self._bold if row.get("state") in UNACKED else None
        if role == _ALIGN:
            return _RIGHT if key in ("value", "limit") else None
        if role == ROW_ROLE:
            return row
        if role == NAME_ROLE:
            return row["name"]
        if role == _TOOLTIP or (role == _ACCESSIBLE and key == "mark"):
            return self._tooltip(row, key)
        return None

    def _display(self, row: Row, key: str) -> str:
        if key == "mark":
            return ""
        if key == "first":
            return "1st" if row.get("first_out") else ""
        if key == "time":
            return format_time(row.get("raised_ts"), today=self._today)
        if key == "value":
            unit, decimals = self._units.get(row.get("tag", ""), ("", None))
            return format_value(row.get("value"), unit, decimals)
        if key == "limit":
            unit, decimals = self._units.get(row.get("tag", ""), ("", None))
            return format_value(row.get("limit"), unit, decimals)
        if key == "state":
            return state_text(row)
        if key == "area":
            area = row.get("area") or ""
            return area.removeprefix(self._area_prefix) if self._area_prefix else area
        return str(row.get(key) or "")

    def _tooltip(self, row: Row, key: str) -> str:
        if key == "mark":
            number = PRIORITY_NUMBER.get(row.get("priority", ""), 4)
            return f"priority {number} {row.get('priority')}, {row.get('state_name')}"
        if key == "time":
            return row.get("raised") or ""
        if key == "area":
            return row.get("area") or ""
        if key == "state":
            by = f", acknowledged by {row['acked_by']}" if row.get("acked_by") else ""
            return f"{row.get('state_name')}{by}"
        parts = [row.get("message") or row["name"]]
        if row.get("consequence"):
            parts.append(f"Consequence: {row['consequence']}")
        if row.get("corrective_action"):
            parts.append(f"Action: {row['corrective_action']}")
        return "\n".join(parts)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Header click: re-sort once (even when frozen: the operator asked for it)."""
        if not 0 <= column < len(COLUMNS):
            return
        self._sort_key = COLUMNS[column][0]
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._keys = {r["name"]: self._key(r) for r in self._rows}
        self._resort(force=True)

    # ---- what screens call -------------------------------------------------------------------
    @property
    def frozen(self) -> bool:
        return self._frozen

    @property
    def filter(self) -> AlarmFilter:
        return self._filter

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Start from a full summary (`AlarmManager.active()`)."""
        self._all = {r["name"]: r for r in rows if r.get("state", "A") != "A"}
        self._sync(None)

    def apply(self, rows: Sequence[Row]) -> None:
        """One bridge flush: the latest summary of each alarm that changed (state "A" = gone)."""
        started = time.perf_counter()
        self._today = time.localtime()[:3]
        changed: dict[str, Row] = {}
        for row in rows:
            name = row["name"]
            if row.get("state", "A") == "A":
                self._all.pop(name, None)
            else:
                self._all[name] = row
            changed[name] = row
        self._sync(changed)
        self.last_apply_s = time.perf_counter() - started

    def set_filter(self, alarm_filter: AlarmFilter) -> None:
        if alarm_filter != self._filter:
            self._filter = alarm_filter
            self._sync(None, refilter=True)

    def set_frozen(self, frozen: bool) -> None:
        if frozen == self._frozen:
            return
        self._frozen = frozen
        if not frozen:
            self._sync(None, refilter=True)

    def row(self, position: int) -> Row:
        return self._rows[position]

    def rows(self) -> list[Row]:
        """The rows shown, in display order (a copy)."""
        return list(self._rows)

    def names(self) -> list[str]:
        return [r["name"] for r in self._rows]

    def position(self, name: str) -> int | None:
        return self._index.get(name)

    def state_counts(self) -> Counter[str]:
        """Alarms per state letter, over every alarm not normal (not only the filtered ones)."""
        return state_counts(self._all.values())

    def counts(self) -> dict[str, int]:
        """Alarms per view (for the view tabs), over every alarm, not only the filtered ones."""
        return view_counts(self.state_counts())

    def cleared_shown(self) -> int:
        """Rows shown that are normal again (only while frozen)."""
        return sum(r.get("state") == "A" for r in self._rows) if self._frozen else 0

    def standing(self) -> list[Row]:
        return list(self._all.values())

    # ---- the one place rows move ---------------------------------------------------------------
    def _wanted(self, name: str) -> bool:
        row = self._all.get(name)
        return row is not None and self._filter.matches(row)

    def _sync(self, changed: dict[str, Row] | None, refilter: bool = False) -> None:
        """Bring the shown rows in line with `_all`: `changed` rows only, or every row (None)."""
        frozen = self._frozen and not refilter
        candidates = changed if changed is not None else {r["name"]: r for r in self._rows}
        if changed is None:
            candidates.update(self._all)
        removed: list[int] = []
        updated: list[str] = []
        inserted: list[Row] = []
        for name, row in candidates.items():
            pos = self._index.get(name)
            wanted = self._wanted(name)
            if pos is not None:
                if wanted or frozen:
                    latest = self._all.get(name, row)
                    if latest is not self._rows[pos]:
                        self._rows[pos] = latest
                        self._keys[name] = self._key(latest)
                        updated.append(name)
                else:
                    removed.append(pos)
            elif wanted:
                inserted.append(self._all[name])
        for first, last in reversed(blocks(removed)):
            self.beginRemoveRows(QModelIndex(), first, last)
            for row in self._rows[first:last + 1]:
                self._keys.pop(row["name"], None)
            del self._rows[first:last + 1]
            self.endRemoveRows()
        if removed:
            self._reindex()
        if inserted:
            for row in inserted:
                self._keys[row["name"]] = self._key(row)
            if not frozen:
                inserted.sort(key=self._cached_key, reverse=self._descending)
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(inserted) - 1)
            self._rows.extend(inserted)
            for i, row in enumerate(inserted, start):
                self._index[row["name"]] = i
            self.endInsertRows()
        if not frozen and (inserted or updated or refilter) and self._resort():
            return  # the layout change repaints every row
        positions = [self._index[n] for n in updated if n in self._index]
        last_column = len(COLUMNS) - 1
        for first, last in blocks(positions):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_column))

    def _key(self, row: Row) -> tuple:
        return SORT_KEYS[self._sort_key](row)

    def _cached_key(self, row: Row) -> tuple:
        return self._keys[row["name"]]

    def _resort(self, force: bool = False) -> bool:
        """Sort once; one layout change if the order changed. Returns whether it did.
        Keys are computed when a row arrives, not here: building 3,000 key tuples per flush
        was most of the refresh time (profiled with the bench's flood)."""
        order = sorted(self._rows, key=self._cached_key, reverse=self._descending)
        if not force and all(a is b for a, b in zip(order, self._rows, strict=True)):
            return False
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        names = [self._rows[i.row()]["name"] if 0 <= i.row() < len(self._rows) else None
                 for i in persistent]
        self._rows = order
        self._reindex()
        moved = []
        for name, old in zip(names, persistent, strict=True):
            pos = self._index.get(name) if name is not None else None
            moved.append(self.index(pos, old.column()) if pos is not None else QModelIndex())
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()
        return True

    def _reindex(self) -> None:
        self._index = {r["name"]: i for i, r in enumerate(self._rows)}


class AlarmMarkDelegate(QStyledItemDelegate):
    """Paints the priority shape + number (or the S / D / X state mark) from `alarm_style`.

    `blink`: the summary blinks unacknowledged marks; a journal (history) draws them steady.
    The blink phase is the monotonic clock, so every mark on the station blinks together.
    """

    def __init__(self, parent: QObject | None = None, blink: bool = True,
                 priority_key: str = "priority", state_key: str = "state") -> None:
        super().__init__(parent)
        self.blink = blink
        self._priority_key = priority_key
        self._state_key = state_key

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        row = index.data(ROW_ROLE)
        if not isinstance(row, dict):
            return
        state = row.get(self._state_key) or "C"
        if state == "A":
            return  # cleared while the view was frozen: no mark, the state column says so
        rect = QRectF(opt.rect)
        side = min(rect.height() - 4, 20.0)
        mark = QRectF(rect.center().x() - side / 2, rect.center().y() - side / 2, side, side)
        phase = time.monotonic() if self.blink else 0.0
        paint_alarm_mark(painter, mark, row.get(self._priority_key) or "low", state, phase)

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(28, 24)
