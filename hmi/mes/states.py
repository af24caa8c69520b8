"""The state of a line from its tags: running, idle, down, changeover, blocked, starved,
planned_stop.

Two ways in. A `state_tag` drives the state directly: PackML/ISA-TR88.00.02 state numbers
(0-17) or names map through `PACKML_TO_STATE` (Execute runs; Suspended is waiting on the
outside, i.e. starved; Held and the stopping/aborted family are down; Idle, Starting and
Complete are idle), and the project's `state_map` maps any other value (e.g. "Faulted" ->
down) or overrides those. Without one, the state is derived from boolean tags in a fixed
precedence: fault > changeover > blocked > starved > running > planned-stop tag > no work
order (idle) > stopped (down).

Either way a planned break in the shift calendar turns every state but `running` into
`planned_stop`: a machine faulted during the lunch break costs no availability. Pure functions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hmi.mes.config import STATES

log = logging.getLogger(__name__)

UNKNOWN = "unknown"  # recorded while the station is not running: left out of OEE
STOP_STATES = frozenset({"down", "changeover", "blocked", "starved"})  # a stop, needs a reason
NOT_PLANNED = frozenset({"idle", "planned_stop"})  # no production planned: outside PBT

PACKML_STATES: dict[int, str] = {
    0: "undefined", 1: "clearing", 2: "stopped", 3: "starting", 4: "idle", 5: "suspended",
    6: "execute", 7: "stopping", 8: "aborting", 9: "aborted", 10: "holding", 11: "held",
    12: "unholding", 13: "suspending", 14: "unsuspending", 15: "resetting", 16: "completing",
    17: "complete",
}
PACKML_TO_STATE: dict[str, str] = {
    "execute": "running",
    "suspended": "starved", "suspending": "starved", "unsuspending": "starved",
    "held": "down", "holding": "down", "unholding": "down",
    "stopped": "down", "stopping": "down", "aborted": "down", "aborting": "down",
    "clearing": "down", "resetting": "down", "undefined": "down",
    "idle": "idle", "starting": "idle", "completing": "idle", "complete": "idle",
}


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def map_state(value: Any, state_map: Mapping[str, str]) -> str | None:
    """A state tag's value as one of STATES, or None if it means nothing known."""
    if value is None:
        return None
    key = _key(value)
    if key in state_map:
        return state_map[key]
    lowered = key.strip().lower()
    if lowered in STATES:
        return lowered
    if isinstance(value, int | float) and not isinstance(value, bool):
        name = PACKML_STATES.get(int(value))
        return PACKML_TO_STATE.get(name) if name else None
    return PACKML_TO_STATE.get(lowered)


def derive(inputs: Mapping[str, Any], state_map: Mapping[str, str], has_order: bool,
           in_break: bool) -> str | None:
    """The line's state from its latest inputs ({line field: value}, BAD values absent).
    None while nothing tells whether the line runs (e.g. before the first read)."""
    state: str | None = None
    if "state_tag" in inputs:
        state = map_state(inputs["state_tag"], state_map)
    if state is None:
        if inputs.get("fault_tag"):
            state = "down"
        elif inputs.get("changeover_tag"):
            state = "changeover"
        elif inputs.get("blocked_tag"):
            state = "blocked"
        elif inputs.get("starved_tag"):
            state = "starved"
        elif inputs.get("running_tag"):
            state = "running"
        elif inputs.get("planned_stop_tag"):
            state = "planned_stop"
        elif "running_tag" not in inputs:
            state = None
        elif not has_order:
            state = "idle"
        else:
            state = "down"
    if state is not None and state != "running" and in_break:
        return "planned_stop"
    return state
