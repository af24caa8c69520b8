"""The downtime reason tree (`[[downtime_reasons]]`): lookup by code, category inheritance, and
the automatic choice of a reason from a fault code, an alarm or the stop's state.

Why automatic mapping has an order (fault code > alarm > state): a fault code is the PLC's own
diagnosis of this stop; an alarm may be a consequence of it; the state (blocked, changeover)
only says what kind of stop it is. An operator's choice is never replaced automatically.
Immutable after construction; any thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hmi.mes.config import DowntimeReasonConfig, walk_reasons


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    name: str
    category: str  # planned | unplanned | changeover
    parent: str | None
    leaf: bool

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "category": self.category,
                "parent": self.parent, "leaf": self.leaf}


class ReasonTree:
    def __init__(self, configs: Sequence[DowntimeReasonConfig]) -> None:
        self.configs = list(configs)
        self._by_code: dict[str, Reason] = {}
        self._by_fault: dict[int, str] = {}
        self._by_alarm: dict[str, str] = {}
        self._by_state: dict[str, str] = {}
        categories: dict[str, str] = {}
        for _, cfg, parent in walk_reasons(self.configs):
            category = cfg.category or (categories[parent] if parent else "unplanned")
            categories[cfg.code] = category
            self._by_code[cfg.code] = Reason(cfg.code, cfg.name or cfg.code, category, parent,
                                             not cfg.children)
            for code in cfg.fault_codes:
                self._by_fault.setdefault(code, cfg.code)
            for alarm in cfg.alarms:
                self._by_alarm.setdefault(alarm, cfg.code)
            for state in cfg.states:
                self._by_state.setdefault(state, cfg.code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str | None) -> Reason | None:
        return self._by_code.get(code) if code else None

    def category(self, code: str | None) -> str | None:
        reason = self.get(code)
        return reason.category if reason else None

    def all(self) -> list[Reason]:
        return list(self._by_code.values())

    def automatic(self, fault_code: Any = None, alarms: Iterable[str] = (),
                  state: str | None = None) -> tuple[str, str] | None:
        """(reason code, what chose it) for a stop, or None: the operator must choose."""
        if isinstance(fault_code, int | float) and not isinstance(fault_code, bool) \
                and fault_code and int(fault_code) in self._by_fault:
            return self._by_fault[int(fault_code)], f"fault code {int(fault_code)}"
        for alarm in alarms:
            if alarm in self._by_alarm:
                return self._by_alarm[alarm], f"alarm {alarm}"
        if state and state in self._by_state:
            return self._by_state[state], f"state {state}"
        return None

    def to_json(self) -> list[dict[str, Any]]:
        """The tree as the GUI's reason picker shows it: nested dicts with children."""

        def node(cfg: DowntimeReasonConfig) -> dict[str, Any]:
            return {**self._by_code[cfg.code].to_json(),
                    "children": [node(c) for c in cfg.children]}

        return [node(c) for c in self.configs]
