"""Which alarm summary rows an operator is looking at, and in what order: plain Python, no Qt.

Why apart from the table model: the filter decides what "visible" means, and "acknowledge all
visible" must never reach a row the operator cannot see; keeping the rule in one small pure
function makes it easy to test and impossible for the model and the actions to disagree.

Rows are the alarm manager's summary dicts (`alarms.states.AlarmRecord.summary`): `name`,
`tag`, `state` (ISA-18.2 letter), `priority`, `message`, `area`, `raised_ts`, `first_out`, ...
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

Row = dict[str, Any]

# The four views of the summary and the ISA-18.2 states each shows.
VIEWS: dict[str, str] = {
    "standing": "BCDE",  # annunciated: unacked, acked, returned unacked, latched
    "shelved": "F",
    "suppressed": "G",
    "oos": "H",
}
VIEW_TITLES = {"standing": "Standing", "shelved": "Shelved", "suppressed": "Suppressed",
               "oos": "Out of service"}
PRIORITY_ORDER = ("urgent", "high", "medium", "low")
PRIORITY_NUMBER = {name: i + 1 for i, name in enumerate(PRIORITY_ORDER)}
# Unacknowledged first (new, then returned), then acknowledged, latched, hidden, normal.
STATE_RANK = {"B": 0, "D": 1, "C": 2, "E": 3, "F": 4, "G": 5, "H": 6, "A": 7}
STATE_TEXT = {"A": "normal", "B": "UNACK", "C": "acked", "D": "RTN unack", "E": "latched",
              "F": "shelved", "G": "suppressed", "H": "out of service"}
UNACKED = frozenset("BD")


@dataclass(frozen=True)
class AlarmFilter:
    """What the summary shows. Empty sets mean "all"; `area` matches the area and below."""

    view: str = "standing"
    area: str = ""
    priorities: frozenset[str] = field(default_factory=frozenset)
    states: frozenset[str] = field(default_factory=frozenset)
    text: str = ""

    def matches(self, row: Row) -> bool:
        state = row.get("state", "A")
        if state not in VIEWS.get(self.view, ""):
            return False
        if self.states and state not in self.states:
            return False
        if self.priorities and row.get("priority") not in self.priorities:
            return False
        if self.area:
            area = row.get("area") or ""
            prefix = self.area.rstrip("/") + "/"
            if area != self.area.rstrip("/") and not area.startswith(prefix):
                return False
        if self.text:
            needle = self.text.casefold()
            hay = " ".join(str(row.get(k) or "") for k in ("name", "tag", "message", "area"))
            if needle not in hay.casefold():
                return False
        return True


def areas_with_parents(areas: set[str], root: str = "") -> list[str]:
    """The areas to filter by: every alarm area and the areas between it and the project's own
    node `root` (so "Line1" selects Filler and Packer); an area outside `root` (the station's
    own, "$station/security") only itself. Without a root, the common prefix of all areas."""
    root = root.strip("/")
    if not root:
        parts = [a.split("/") for a in areas if a]
        common = 0
        while parts and all(len(p) > common and p[common] == parts[0][common] for p in parts):
            common += 1
        root = "/".join(parts[0][:common]) if parts and common else ""
    out = set()
    for area in (a.strip("/") for a in areas if a):
        if root and (area == root or area.startswith(root + "/")):
            parts = area.split("/")
            for depth in range(len(root.split("/")), len(parts) + 1):
                out.add("/".join(parts[:depth]))
        else:
            out.add(area)
    return sorted(out)


def state_counts(rows: Iterable[Row]) -> Counter[str]:
    """Rows per ISA-18.2 state letter (counted in C: this runs once per flush over every
    standing alarm)."""
    return Counter(map(itemgetter("state"), rows))


def view_counts(rows: Iterable[Row] | Counter[str]) -> dict[str, int]:
    """How many rows each view holds (the tab labels), whatever the other filters say."""
    by_state = rows if isinstance(rows, Counter) else state_counts(rows)
    return {view: sum(by_state[s] for s in states) for view, states in VIEWS.items()}


def _number(value: Any) -> tuple[int, float | str]:
    """Mixed values (numbers, booleans, text, None) in one sortable key."""
    if isinstance(value, bool):
        return (1, float(value))
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return (0, float(value))
    return (2, "" if value is None else str(value))


def _raised(row: Row) -> float:
    return row.get("raised_ts") or 0.0


def _priority(row: Row) -> int:
    return PRIORITY_NUMBER.get(row.get("priority", "low"), 4)


def _state(row: Row) -> int:
    return STATE_RANK.get(row.get("state", "A"), 9)


# Sort keys by column key; each ends in the name so the order is total (no jitter on ties).
SORT_KEYS: dict[str, Callable[[Row], tuple]] = {
    "mark": lambda r: (_priority(r), _state(r), -_raised(r), r["name"]),
    "first": lambda r: (not r.get("first_out"), _priority(r), -_raised(r), r["name"]),
    "time": lambda r: (_raised(r), r["name"]),
    "name": lambda r: (r["name"],),
    "message": lambda r: ((r.get("message") or "").casefold(), r["name"]),
    "value": lambda r: (_number(r.get("value")), r["name"]),
    "limit": lambda r: (_number(r.get("limit")), r["name"]),
    "state": lambda r: (_state(r), _priority(r), -_raised(r), r["name"]),
    "area": lambda r: (r.get("area") or "", _priority(r), r["name"]),
}
