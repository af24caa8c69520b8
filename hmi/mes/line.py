"""One production line: its context, its state, its stops and its counts, as events.

Clock-injected and free of I/O: `MesCore` feeds it tag values, alarm transitions and ticks
(all with the station's time `now`) and writes the `Effects` it fills. Rules it keeps:

- a state change is one `state_change` record plus one `state.changed` event;
- a stop (down, changeover, blocked, starved) becomes a downtime once it has lasted
  `microstop_s` (at once when 0), dated back to when it began; shorter stops are micro-stops,
  counted, with no downtime event. The downtime's id is its `downtime.started` event's id;
  `downtime.ended` and any later `downtime.reason_set` refer to it, so an edit never makes a
  second downtime;
- downtimes live inside shifts: at a shift boundary an open downtime ends (`split`) and, if the
  line is still stopped and a shift follows, a new one starts at the boundary, carrying the
  reason and pointing to the one it continues; a planned break ends it too (the line is then
  `planned_stop`);
- the reason is chosen automatically (fault code > alarm > state) when the file maps one,
  also when that information arrives after the stop began; an operator's choice stays;
- counts are integrated from cumulative counters and recorded at least every
  `count_interval_s`, and at every boundary and context change, so per-shift and per-work-
  order counts are exact.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hmi.mes.calendar import ShiftCalendar, ShiftInstance
from hmi.mes.config import LineConfig, ProductionSettings
from hmi.mes.counters import CounterTracker
from hmi.mes.effects import Effects
from hmi.mes.events import PendingEvent
from hmi.mes.reasons import ReasonTree
from hmi.mes.states import STOP_STATES, UNKNOWN, derive
from hmi.tags import iso_utc

log = logging.getLogger(__name__)
COUNTER_FIELDS = ("good_tag", "reject_tag", "total_tag")
JUMP_WINDOW_S = 60.0  # the shortest time a counter increase is judged over
CONTEXT_FIELDS = ("work_order", "product", "lot", "operator")


class LineTracker:
    """See the module docstring. One thread (the MES thread, or a CLI command) at a time."""

    def __init__(self, cfg: LineConfig, asset: str, calendar: ShiftCalendar,
                 reasons: ReasonTree, settings: ProductionSettings, bits: dict[str, int],
                 saved: dict[str, Any] | None, now: float,
                 ideal_cycles: dict[str, float] | None = None) -> None:
        saved = saved or {}
        self.ideal_cycles = ideal_cycles or {}  # product -> ideal cycle time (s)
        self.cfg = cfg
        self.name = cfg.name
        self.asset = asset
        self.calendar = calendar
        self.reasons = reasons
        self.settings = settings
        self.context: dict[str, str] = {k: str(saved.get(k) or "") for k in CONTEXT_FIELDS}
        self.wo_started: float | None = saved.get("wo_started")
        self.wo_good = int(saved.get("wo_good", 0))
        self.wo_reject = int(saved.get("wo_reject", 0))
        self.total_good = int(saved.get("total_good", 0))
        self.total_reject = int(saved.get("total_reject", 0))
        # The end of the last shift summarised: a clock stepped back over a shift end crosses
        # it again, and a second `shift.summary` (a new id) is one the MES cannot deduplicate.
        self.summarised_until = float(saved.get("summarised_until") or 0.0)
        last = saved.get("counters", {})
        self.counters = {f: CounterTracker(bits.get(f, 32), last.get(f))
                         for f in COUNTER_FIELDS if getattr(cfg, f)}
        self._acc = dict.fromkeys(self.counters, 0)
        # when each counter was last read: a jump is judged against the time it took; after a
        # restart, the last record (the station was away, the PLC kept counting)
        seen = saved.get("updated") if last else None
        self._counter_seen: dict[str, float] = (
            {f: float(seen) for f in self.counters} if seen is not None else {})
        self.implausible_jumps = 0  # not yet reported in a production.count
        self.count_since = now
        self.inputs: dict[str, Any] = {}
        self.state: str | None = None
        self.state_since: float | None = None
        self.stop_start: float | None = None
        self.downtime: dict[str, Any] | None = None
        self.active_alarms: dict[str, float] = {}  # alarm -> raised at (newest last)
        self.microstops = 0
        self.microstop_s = 0.0
        self.last_tick = now

    # ---- context --------------------------------------------------------------------------
    def event_context(self, ts: float) -> dict[str, Any]:
        shift = self.calendar.at(ts)
        return {**self.context, "shift": shift.name if shift else ""}

    def persisted(self, now: float) -> dict[str, Any]:
        return {**self.context, "wo_started": self.wo_started, "wo_good": self.wo_good,
                "wo_reject": self.wo_reject, "total_good": self.total_good,
                "total_reject": self.total_reject, "updated": now,
                "summarised_until": self.summarised_until,
                "counters": {f: c.last for f, c in self.counters.items()}}

    def _event(self, fx: Effects, kind: str, ts: float, data: dict[str, Any],
               event_id: str | None = None) -> PendingEvent:
        event = PendingEvent(kind, ts, self.asset, self.event_context(ts), data)
        if event_id:
            event.id = event_id
        fx.events.append(event)
        return event

    def set_context(self, changes: dict[str, str], user: str, now: float, fx: Effects,
                    completed: Callable[[LineTracker, str, float, float], Any]) -> list[str]:
        """Apply context changes; returns what happened, one phrase each. A new work order
        completes the current one first (`completed(line, work_order, started, now)` makes
        the `workorder.completed` event, which needs the records written first)."""
        done: list[str] = []
        old = dict(self.context)
        new_wo = changes.get("work_order", old["work_order"])
        by = {"user": user} if user else {}
        if any(changes.get(k, old[k]) != old[k] for k in CONTEXT_FIELDS):
            self.flush_counts(now, fx, force=True)
        if new_wo != old["work_order"]:
            if old["work_order"]:
                fx.wo_completed.append((self.name, self.wo_started or now, now))
                completed(self, old["work_order"], self.wo_started or now, now)
                done.append(f"completed {old['work_order']}")
            self.context.update({k: v for k, v in changes.items() if k in CONTEXT_FIELDS})
            if new_wo:
                self.wo_started, self.wo_good, self.wo_reject = now, 0, 0
                fx.wo_started.append((self.name, new_wo, self.context["product"],
                                      self.context["lot"], now))
                self._event(fx, "workorder.started", now, {
                    "work_order": new_wo, "product": self.context["product"],
                    "lot": self.context["lot"], **by})
                done.append(f"started {new_wo}")
            else:
                self.wo_started = None
        else:
            self.context.update({k: v for k, v in changes.items() if k in CONTEXT_FIELDS})
            if self.context["lot"] != old["lot"]:
                self._event(fx, "lot.changed", now, {"from": old["lot"],
                                                     "to": self.context["lot"], **by})
                done.append(f"lot {self.context['lot'] or '(none)'}")
        for key in ("product", "operator"):
            if self.context[key] != old[key] and (key != "product" or new_wo == old["work_order"]):
                self._event(fx, "context.changed", now, {"field": key, "from": old[key],
                                                         "to": self.context[key], **by})
                done.append(f"{key} {self.context[key] or '(none)'}")
        fx.contexts[self.name] = self.persisted(now)
        fx.changed.add("context")
        self.evaluate(now, fx)
        return done

    # ---- inputs ---------------------------------------------------------------------------
    def feed(self, values: dict[str, Any], now: float, fx: Effects) -> None:
        """New values of this line's tags ({field: value}, None for BAD: ignored)."""
        for fld, value in values.items():
            if value is None:
                continue
            counter = self.counters.get(fld)
            if counter is not None:
                self._acc[fld] += self._plausible(fld, counter.update(value), now)
                continue
            self.inputs[fld] = value
            if fld == "fault_code_tag" and self.downtime and not self.downtime["reason"]:
                self._auto_reason(now, fx)
        self.evaluate(now, fx)

    def ideal_cycle_s(self) -> float | None:
        return self.ideal_cycles.get(self.context["product"]) or self.cfg.ideal_cycle_s

    def _plausible(self, fld: str, delta: int, now: float) -> int:
        """`delta`, or 0 when it is more than `max_count_rate` times the ideal rate allows in
        the time since the previous reading (a PLC preset, a bad reading): the counter has
        already taken the new value as its base, so counting goes on from there."""
        seen = self._counter_seen.get(fld)
        self._counter_seen[fld] = now
        rate, ideal = self.settings.max_count_rate, self.ideal_cycle_s()
        if delta <= 0 or rate <= 0 or not ideal or seen is None:
            return delta
        limit = rate * max(now - seen, JUMP_WINDOW_S) / ideal
        if delta <= limit:
            return delta
        self.implausible_jumps += 1
        log.warning("%s: %s jumped by %d in %.0f s (at most %d plausible at %g x the ideal "
                    "rate): not counted as production, counting goes on from the new value",
                    self.name, getattr(self.cfg, fld), delta, max(0.0, now - seen), limit, rate)
        return 0

    def evaluate(self, now: float, fx: Effects) -> None:
        state = derive(self.inputs, self.cfg.state_map, bool(self.context["work_order"]),
                       self.calendar.in_break(now))
        if state is not None and state != self.state:
            self._transition(state, now, fx)

    def alarm(self, name: str, raised: bool, now: float, fx: Effects) -> None:
        """An alarm of this line was raised or cleared (from the alarm journal)."""
        if raised:
            self.active_alarms.pop(name, None)
            self.active_alarms[name] = now
            if self.downtime and not self.downtime["reason"]:
                self._auto_reason(now, fx)
        else:
            self.active_alarms.pop(name, None)

    # ---- states and stops -----------------------------------------------------------------
    def _transition(self, state: str, now: float, fx: Effects) -> None:
        old, since = self.state, self.state_since
        self.state, self.state_since = state, now
        fx.states.append((self.name, now, state))
        fx.changed.add("state")
        self._event(fx, "state.changed", now, {
            "from": old, "to": state,
            "previous_s": round(max(0.0, now - since), 3) if since is not None else None})
        was_stop, is_stop = old in STOP_STATES, state in STOP_STATES
        if is_stop and not was_stop:
            self.stop_start = now
            if self.settings.microstop_s <= 0:
                self._start_downtime(now, fx)
        elif is_stop and was_stop:
            if self.downtime is not None:
                self.downtime["state"] = state
                fx.downtimes[self.downtime["id"]] = dict(self.downtime)
                if not self.downtime["reason"]:
                    self._auto_reason(now, fx)
        elif was_stop:
            if self.downtime is not None:
                self._end_downtime(now, fx)
            elif self.stop_start is not None and (
                    self.calendar.empty or self.calendar.at(self.stop_start) is not None):
                self.microstops += 1
                self.microstop_s += max(0.0, now - self.stop_start)
            self.stop_start = None

    def _start_downtime(self, start: float, fx: Effects, continues: str | None = None,
                        reason: tuple[str | None, str] | None = None) -> None:
        shift = self.calendar.at(start)
        if shift is None and not self.calendar.empty:
            return  # outside shift time: not planned to run, so not a downtime
        code, source = reason if reason else (None, "")
        event = self._event(fx, "downtime.started", start, {})
        self.downtime = {"id": event.id, "line": self.name, "start": start, "end": None,
                         "state": self.state or "down", "reason": code,
                         "reason_source": source, "shift": shift.key if shift else "",
                         "continues": continues, "comment": ""}
        if code is None:
            auto = self._automatic()
            if auto:
                self.downtime["reason"], self.downtime["reason_source"] = auto
        event.data = self._downtime_data(self.downtime)
        fx.downtimes[event.id] = dict(self.downtime)
        fx.changed.add("downtime")

    def _downtime_data(self, downtime: dict[str, Any]) -> dict[str, Any]:
        reason = self.reasons.get(downtime["reason"])
        data = {"downtime": downtime["id"], "state": downtime["state"],
                "reason": downtime["reason"], "reason_name": reason.name if reason else None,
                "category": reason.category if reason else None,
                "reason_source": downtime["reason_source"] or None}
        if downtime.get("continues"):
            data["continues"] = downtime["continues"]
        return data

    def _end_downtime(self, end: float, fx: Effects, split: bool = False) -> None:
        downtime = self.downtime
        if downtime is None:
            return
        self.downtime = None
        downtime["end"] = end
        fx.downtimes[downtime["id"]] = dict(downtime)
        fx.changed.add("downtime")
        duration = max(0.0, end - downtime["start"])
        event = self._event(fx, "downtime.ended", end, {
            **self._downtime_data(downtime), "start": iso_utc(downtime["start"]),
            "duration_s": round(duration, 3), "split": split,
            "needs_reason": downtime["reason"] is None})
        if downtime.get("shift"):  # ended at a shift's end: it belongs to that shift
            event.context["shift"] = str(downtime["shift"]).rsplit("@", 1)[0]

    def _automatic(self) -> tuple[str, str] | None:
        return self.reasons.automatic(self.inputs.get("fault_code_tag"),
                                      reversed(list(self.active_alarms)), self.state)

    def _auto_reason(self, now: float, fx: Effects) -> None:
        auto = self._automatic() if self.downtime else None
        if auto and self.downtime is not None:
            self.set_reason(self.downtime, auto[0], auto[1], now, fx)

    def set_reason(self, downtime: dict[str, Any], code: str, source: str, now: float,
                   fx: Effects, user: str = "", comment: str = "") -> None:
        """Give a downtime (open, or a closed one loaded from the store) its reason."""
        downtime["reason"], downtime["reason_source"] = code, source
        if comment:
            downtime["comment"] = comment
        if self.downtime is not None and self.downtime["id"] == downtime["id"]:
            self.downtime.update(downtime)
        fx.downtimes[downtime["id"]] = dict(downtime)
        fx.changed.add("downtime")
        data = {**self._downtime_data(downtime)}
        if user:
            data["user"] = user
        if comment:
            data["comment"] = comment
        self._event(fx, "downtime.reason_set", now, data)

    def needs_reason(self, now: float) -> bool:
        d = self.downtime
        return bool(d and not d["reason"] and now - d["start"] > self.settings.reason_required_s)

    # ---- time -----------------------------------------------------------------------------
    def tick(self, now: float, fx: Effects, shift_ended: Callable[[LineTracker, ShiftInstance],
                                                                     Any]) -> None:
        """Shift and break boundaries since the last tick, micro-stop promotion, counts."""
        if now < self.last_tick:  # the clock was stepped back: boundaries already passed
            self.last_tick = now
        for boundary in self.calendar.boundaries(self.last_tick, now):
            self._at_boundary(boundary, fx, shift_ended)
        self.last_tick = now
        if (self.downtime is None and self.stop_start is not None
                and now - self.stop_start >= self.settings.microstop_s):
            shift = self.calendar.at(now)
            start = max(self.stop_start, shift.start) if shift else self.stop_start
            self._start_downtime(start, fx)
        if now - self.count_since >= self.settings.count_interval_s or now < self.count_since:
            self.flush_counts(now, fx)

    def _at_boundary(self, at: float, fx: Effects,
                     shift_ended: Callable[[LineTracker, ShiftInstance], Any]) -> None:
        """Counts, the state (a break begins or ends) and the downtime at a boundary; events
        in the order things happen: the old shift's downtime ends, its summary, the new one."""
        self.flush_counts(at, fx, force=True)
        self.evaluate(at, fx)
        shift = self.calendar.at(at)
        key = shift.key if shift else ""
        carried: tuple[str | None, str] | None = None
        previous = None
        if self.downtime is not None and self.downtime["shift"] != key:
            carried = (self.downtime["reason"], "carried") if self.downtime["reason"] else None
            previous = self.downtime["id"]
            self._end_downtime(at, fx, split=True)
        for ended in self.calendar.instances(at - 1.0, at):
            if ended.end == at and ended.end > self.summarised_until:
                self.summarised_until = ended.end
                fx.contexts[self.name] = self.persisted(at)
                shift_ended(self, ended)
        if shift is None or self.state not in STOP_STATES or self.downtime is not None:
            return
        if previous is not None:
            self._start_downtime(at, fx, continues=previous, reason=carried)
        elif self.stop_start is not None and at - self.stop_start >= self.settings.microstop_s:
            self._start_downtime(at, fx)

    def flush_counts(self, now: float, fx: Effects, force: bool = False) -> None:
        """Record the counts since the last flush (and a `production.count` event)."""
        good, reject = self._split()
        if good or reject or self.implausible_jumps:
            fx.counts.append((self.name, self.count_since, now, self.context["product"],
                              self.context["work_order"], good, reject))
            self.wo_good += good
            self.wo_reject += reject
            self.total_good += good
            self.total_reject += reject
            self._event(fx, "production.count", now, {
                "good": self.wo_good, "reject": self.wo_reject,
                "total": self.wo_good + self.wo_reject, "delta_good": good,
                "delta_reject": reject, "line_good": self.total_good,
                "line_reject": self.total_reject, "microstops": self.microstops,
                **({"implausible_jumps": self.implausible_jumps}
                   if self.implausible_jumps else {})})
            self.implausible_jumps = 0
            fx.changed.add("counts")
        if good or reject or force or self.counters:
            fx.contexts[self.name] = self.persisted(now)
        self.count_since = now

    def _split(self) -> tuple[int, int]:
        """(good, reject) since the last flush from whichever counters the line has; a
        difference of two counters that is briefly negative is carried, never recorded."""
        acc = self._acc
        if "good_tag" in acc:
            good = acc["good_tag"]
            if "reject_tag" in acc:
                reject = acc["reject_tag"]
            elif "total_tag" in acc:
                reject = max(0, acc["total_tag"] - good)
                acc["total_tag"] -= good + reject
            else:
                reject = 0
            acc["good_tag"] = 0
            if "reject_tag" in acc:
                acc["reject_tag"] = 0
            return good, reject
        if "total_tag" in acc:
            reject = acc.get("reject_tag", 0)
            good = max(0, acc["total_tag"] - reject)
            acc["total_tag"] -= good + reject
            if "reject_tag" in acc:
                acc["reject_tag"] = 0
            return good, reject
        return 0, 0

    def pending_counts(self) -> tuple[int, int]:
        """Counted but not yet recorded (for a live OEE), without consuming them."""
        saved = dict(self._acc)
        try:
            return self._split()
        finally:
            self._acc.update(saved)

    def end_stale_downtime(self, downtime: dict[str, Any], at: float, fx: Effects) -> None:
        """A downtime left open by a station that stopped or crashed: it ends at `at`."""
        self.downtime = downtime
        self._end_downtime(at, fx)

    def station_stopped(self, at: float, fx: Effects) -> None:
        """The station stops (or stopped, found at restart): the state becomes unknown from
        `at` and an open downtime ends there."""
        if self.downtime is not None:
            self._end_downtime(at, fx)
        self.flush_counts(at, fx, force=True)
        if self.state != UNKNOWN:
            fx.states.append((self.name, at, UNKNOWN))
        self.state, self.state_since, self.stop_start = None, None, None
