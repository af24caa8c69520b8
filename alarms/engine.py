"""The alarm manager: a clock-injected ISA-18.2 state machine over tag batches.

Why pure and clock-injected: every behaviour (on-delay, shelve expiry, re-alarm) depends on
time, and tests must be able to say "ten seconds later" without waiting ten seconds. The
manager does no I/O of its own and starts no thread: the service (`alarms.service`) feeds it
batches, calls `tick()` a few times a second and flushes the journal. All methods run in one
thread (the service's `hmi-alarms`, or a CLI command); listeners run in that thread too.

Indexes (tag -> alarms, setpoint tag -> deviation alarms, tag -> suppressed alarms, the set of
alarms with a running delay) keep a batch's cost proportional to what it touches, not to the
number of configured alarms: the bench measures this with 10,000 alarms.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from alarms.conditions import evaluate
from alarms.config import AlarmConfig, AlarmSettings, alarm_name, priority_of, severity_of
from alarms.journal import Journal, JournalEntry
from alarms.permissions import AlarmCommandError, AlarmPermissions, AllowAll, PermissionDenied
from alarms.shelving import expired, shelve_until
from alarms.states import AlarmDef, AlarmRecord, Event, State
from alarms.suppression import parse_condition
from hmi.tags import Quality, Sample

AlarmListener = Callable[[list[dict[str, Any]]], None]
SYSTEM = "system"


def build_defs(configs: Iterable[AlarmConfig], area_of: Callable[[str], str] | None = None
               ) -> list[AlarmDef]:
    """Resolve configs once: name, area (the config's, else the tag's ISA-95 path), priority."""
    defs = []
    for cfg in configs:
        if not cfg.enabled:
            continue
        area = cfg.area or (area_of(cfg.tag) if area_of else "") or ""
        suppress = parse_condition(cfg.suppress_when) if cfg.suppress_when else None
        defs.append(AlarmDef(alarm_name(cfg), cfg, area, priority_of(cfg), severity_of(cfg),
                             suppress))
    return defs


def defs_from_project(project: Any) -> list[AlarmDef]:
    """`build_defs` for an `hmi.project.Project` (areas from each tag's asset path)."""

    def area_of(tag_name: str) -> str:
        tag = project.tag(tag_name)
        return project.tag_asset(tag) if tag is not None else ""

    system = getattr(project, "system_alarms", list)()  # the station's own, e.g. MES outbox
    return build_defs([*getattr(project, "all_alarms", project.alarms), *system], area_of)


class AlarmManager:
    """Evaluates alarms on batches, runs timers on `tick`, and carries out operator actions."""

    def __init__(self, defs: Sequence[AlarmDef], settings: AlarmSettings | None = None,
                 clock: Callable[[], float] = time.time, journal: Journal | None = None,
                 permissions: AlarmPermissions | None = None) -> None:
        self.settings = settings or AlarmSettings()
        self.clock = clock
        self.journal = journal
        self.permissions: AlarmPermissions = permissions or AllowAll()
        self.defs = {d.name: d for d in defs}
        self.records = {name: AlarmRecord(name) for name in self.defs}
        self._by_tag: dict[str, list[AlarmDef]] = defaultdict(list)
        self._by_setpoint: dict[str, list[AlarmDef]] = defaultdict(list)
        self._by_condition: dict[str, list[AlarmDef]] = defaultdict(list)
        self._groups: dict[str, list[str]] = defaultdict(list)
        for d in defs:
            self._by_tag[d.tag].append(d)
            if d.config.type == "deviation" and d.config.setpoint_tag:
                self._by_setpoint[d.config.setpoint_tag].append(d)
            if d.suppress is not None:
                for tag in d.suppress.tags:
                    self._by_condition[tag].append(d)
            if d.config.group:
                self._groups[d.config.group].append(d.name)
        self._values: dict[str, Any] = {}  # tag -> latest value, None when BAD
        self._last: dict[str, Sample] = {}  # tag -> latest sample
        self._prev_good: dict[str, Sample] = {}  # tag -> previous GOOD sample (rate of change)
        self._pending: set[str] = set()  # alarms with a running on/off delay
        self._timed: set[str] = set()  # alarms on a timed shelve
        self._realarm: set[str] = set()  # standing alarms with re-alarm configured
        self._first_out: dict[str, str] = {}  # group -> the alarm that came first
        self._changed: dict[str, None] = {}  # ordered set of alarms changed since _finish
        self._listeners: list[AlarmListener] = []
        self.transitions = 0  # journaled events, for the bench and the status line

    # ---- feeding ---------------------------------------------------------------------------
    def on_batch(self, samples: Sequence[Sample]) -> None:
        """Evaluate every alarm on, or depending on, the tags in `samples`."""
        now = self.clock()
        for s in samples:
            self._values[s.tag] = None if s.quality is Quality.BAD else s.value
        for s in samples:
            for d in self._by_tag.get(s.tag, ()):
                self._evaluate(d, s, now)
            for d in self._by_setpoint.get(s.tag, ()):
                current = self._last.get(d.tag)
                if current is not None:
                    self._evaluate(d, current, now)
            for d in self._by_condition.get(s.tag, ()):
                self._update_suppression(d, now)
            self._last[s.tag] = s
            if s.quality is not Quality.BAD:
                self._prev_good[s.tag] = s
        self._finish(now)

    def tick(self, now: float | None = None) -> None:
        """Run the timers: on/off delays, shelve expiry, re-alarm. Call a few times a second."""
        now = self.clock() if now is None else now
        for name in list(self._pending):
            rec, d = self.records[name], self.defs[name]
            delay = d.config.on_delay_s if rec.raw else d.config.off_delay_s
            if rec.pending_since is not None and now - rec.pending_since >= delay:
                self._set_active(d, rec, rec.raw, now)
        for name in list(self._timed):
            rec = self.records[name]
            if expired(rec, now):
                self._unshelve(self.defs[name], rec, now, SYSTEM, "shelve time expired")
            elif not rec.shelved:
                self._timed.discard(name)
        for name in list(self._realarm):
            rec, d = self.records[name], self.defs[name]
            minutes = d.config.realarm_min
            if not rec.active or minutes is None:
                self._realarm.discard(name)
            elif (rec.acked and not rec.hidden and rec.annunciated_at is not None
                  and now - rec.annunciated_at >= minutes * 60.0):
                self._annunciate(d, rec, now, Event.REALARM, f"standing {minutes:g} min")
        self._finish(now)

    # ---- evaluation --------------------------------------------------------------------------
    def _evaluate(self, d: AlarmDef, sample: Sample, now: float) -> None:
        rec = self.records[d.name]
        cfg = d.config
        setpoint = self._values.get(cfg.setpoint_tag) if cfg.setpoint_tag else None
        raw = evaluate(cfg, sample, rec.raw, setpoint, self._prev_good.get(sample.tag))
        if sample.quality is not Quality.BAD and rec.value != sample.value:
            rec.value = sample.value
            if not rec.hidden and rec.state is not State.NORMAL:
                self._changed[d.name] = None
        if raw is None:
            return
        rec.raw = raw
        if raw == rec.active:
            if rec.pending_since is not None:
                rec.pending_since = None
                self._pending.discard(d.name)
            return
        delay = cfg.on_delay_s if raw else cfg.off_delay_s
        if delay <= 0:
            self._set_active(d, rec, raw, now)
        elif rec.pending_since is None:
            rec.pending_since = now
            self._pending.add(d.name)
        elif now - rec.pending_since >= delay:
            self._set_active(d, rec, raw, now)

    def _set_active(self, d: AlarmDef, rec: AlarmRecord, active: bool, now: float) -> None:
        rec.pending_since = None
        self._pending.discard(d.name)
        rec.active = active
        self._changed[d.name] = None
        if active:
            if not rec.hidden:
                self._annunciate(d, rec, now, Event.RAISE)
            return
        self._realarm.discard(d.name)
        if rec.shelved and rec.shelved_until is None and not rec.oos:
            self._unshelve(d, rec, now, SYSTEM, "one-shot shelve ended: returned to normal")
            return
        if rec.hidden:
            return
        if d.config.latched:
            rec.latched = True
        self._log(d, rec, Event.RTN, now)

    def _annunciate(self, d: AlarmDef, rec: AlarmRecord, now: float, event: Event,
                    comment: str = "") -> None:
        rec.acked = False
        rec.acked_by = ""
        rec.annunciated_at = now
        if event is Event.RAISE:
            rec.raised_at = now
            group = d.config.group
            if group and group not in self._first_out:
                self._first_out[group] = d.name
                rec.first_out = True
        if d.config.realarm_min:
            self._realarm.add(d.name)
        self._changed[d.name] = None
        self._log(d, rec, event, now, comment=comment)

    def _update_suppression(self, d: AlarmDef, now: float) -> None:
        assert d.suppress is not None
        rec = self.records[d.name]
        wanted = d.suppress.evaluate(self._values)
        if wanted == rec.suppressed:
            return
        rec.suppressed = wanted
        if wanted:
            self._hide(rec)
            self._log(d, rec, Event.SUPPRESS, now, SYSTEM, d.suppress.text)
        else:
            if rec.active and d.config.on_delay_s > 0:
                # the plant just restarted: let the condition qualify through its on-delay
                # again, so a speed still ramping up is not annunciated at once (demo finding)
                rec.active = False
                rec.pending_since = now
                self._pending.add(d.name)
            self._log(d, rec, Event.UNSUPPRESS, now, SYSTEM, d.suppress.text)
            self._reveal(d, rec, now)

    def _hide(self, rec: AlarmRecord) -> None:
        """Entering F/G/H: the operator is no longer asked to act on it."""
        rec.acked = True
        rec.latched = False
        rec.first_out = False
        self._changed[rec.name] = None

    def _reveal(self, d: AlarmDef, rec: AlarmRecord, now: float) -> None:
        """Leaving F/G/H: a condition still standing is annunciated as a new alarm."""
        self._changed[rec.name] = None
        if rec.hidden:
            return
        if rec.active:
            self._annunciate(d, rec, now, Event.RAISE, "standing when released")
        else:
            rec.acked = True

    def _unshelve(self, d: AlarmDef, rec: AlarmRecord, now: float, user: str,
                  comment: str) -> None:
        rec.shelved = False
        rec.shelved_until = None
        rec.shelve_reason = ""
        self._timed.discard(d.name)
        self._log(d, rec, Event.UNSHELVE, now, user, comment)
        self._reveal(d, rec, now)

    # ---- operator actions ------------------------------------------------------------------
    def _target(self, alarm: str) -> tuple[AlarmDef, AlarmRecord]:
        d = self.defs.get(alarm)
        if d is None:
            raise AlarmCommandError(f"unknown alarm {alarm!r}")
        return d, self.records[alarm]

    def _allow(self, action: str, user: str, role: str | None, alarm: str | None) -> None:
        if not user or not user.strip():
            raise AlarmCommandError(f"{action} needs a user (--user NAME)")
        if self.permissions.can(user, role, action):
            return
        now = self.clock()
        names = [alarm] if alarm in self.defs else []
        why = f"{action} refused for {user} (role {role or 'none'})"
        for name in names:
            self._log(self.defs[name], self.records[name], Event.REFUSED, now, user, why)
        if not names and self.journal is not None:
            self.journal.append(JournalEntry(now, alarm or "*", "", "", "", 0, Event.REFUSED.value,
                                             "", None, None, user, why))
        self._finish(now)
        raise PermissionDenied(why)

    def ack(self, alarm: str | None = None, *, user: str, comment: str = "",
            area: str | None = None, role: str | None = None) -> list[str]:
        """Acknowledge one alarm, all visible ones in `area` (and below), or all visible ones
        (`alarm` and `area` both None). Returns the names acknowledged."""
        self._allow("ack", user, role, alarm)
        now = self.clock()
        if alarm is not None:
            targets = [self._target(alarm)]
        else:
            prefix = area.rstrip("/") + "/" if area else None
            targets = [(d, self.records[n]) for n, d in self.defs.items()
                       if area is None or d.area == area or d.area.startswith(prefix or "")]
        done = []
        for d, rec in targets:
            if rec.acked or rec.hidden:
                continue
            rec.acked = True
            rec.acked_by = user
            self._changed[d.name] = None
            self._log(d, rec, Event.ACK, now, user, comment)
            done.append(d.name)
        self._finish(now)
        return done

    def reset(self, alarm: str, *, user: str, comment: str = "", role: str | None = None) -> None:
        """Release a latched alarm (E) whose condition has cleared."""
        self._allow("reset", user, role, alarm)
        d, rec = self._target(alarm)
        if rec.active and d.config.latched:
            raise AlarmCommandError(f"{alarm} cannot be reset: its condition is still active")
        if not rec.latched:
            raise AlarmCommandError(f"{alarm} is not latched")
        now = self.clock()
        rec.latched = False
        rec.acked = True
        rec.acked_by = rec.acked_by or user
        self._changed[d.name] = None
        self._log(d, rec, Event.RESET, now, user, comment)
        self._finish(now)

    def shelve(self, alarm: str, minutes: float | None, reason: str, user: str,
               role: str | None = None) -> float | None:
        """Shelve for `minutes` (None: one-shot, until it returns to normal). Returns the
        expiry in epoch seconds, None for one-shot."""
        self._allow("shelve", user, role, alarm)
        d, rec = self._target(alarm)
        now = self.clock()
        until = shelve_until(minutes, reason, now, self.settings, d.config)
        if rec.oos:
            raise AlarmCommandError(f"{alarm} is out of service")
        rec.shelved = True
        rec.shelved_until = until
        rec.shelve_reason = reason.strip()
        if until is None:
            self._timed.discard(d.name)
        else:
            self._timed.add(d.name)
        self._hide(rec)
        how = "one-shot" if minutes is None else f"{minutes:g} min"
        self._log(d, rec, Event.SHELVE, now, user, f"{how}: {reason.strip()}")
        self._finish(now)
        return until

    def unshelve(self, alarm: str, *, user: str, comment: str = "",
                 role: str | None = None) -> None:
        self._allow("unshelve", user, role, alarm)
        d, rec = self._target(alarm)
        if not rec.shelved:
            raise AlarmCommandError(f"{alarm} is not shelved")
        now = self.clock()
        self._unshelve(d, rec, now, user, comment or "unshelved by hand")
        self._finish(now)

    def set_out_of_service(self, alarm: str, on: bool, *, user: str, reason: str = "",
                           role: str | None = None) -> None:
        """Take an alarm out of service (H) or put it back; back in service re-evaluates the
        tag's latest value at once (no on-delay: the condition has been standing)."""
        self._allow("oos", user, role, alarm)
        d, rec = self._target(alarm)
        now = self.clock()
        if on == rec.oos:
            raise AlarmCommandError(f"{alarm} is {'already' if on else 'not'} out of service")
        if on:
            rec.oos = True
            rec.shelved, rec.shelved_until, rec.shelve_reason = False, None, ""
            self._timed.discard(d.name)
            self._hide(rec)
            self._log(d, rec, Event.OOS, now, user, reason)
        else:
            rec.oos = False
            sample = self._last.get(d.tag)
            if sample is not None:
                setpoint = (self._values.get(d.config.setpoint_tag)
                            if d.config.setpoint_tag else None)
                raw = evaluate(d.config, sample, False, setpoint, None)
                if raw is not None:
                    rec.raw = rec.active = raw
                    rec.pending_since = None
                    self._pending.discard(d.name)
            self._log(d, rec, Event.IN_SERVICE, now, user, reason)
            self._reveal(d, rec, now)
        self._finish(now)

    def comment(self, alarm: str, text: str, *, user: str, role: str | None = None) -> None:
        self._allow("comment", user, role, alarm)
        d, rec = self._target(alarm)
        if not text.strip():
            raise AlarmCommandError("a comment needs text")
        now = self.clock()
        self._log(d, rec, Event.COMMENT, now, user, text.strip())
        self._finish(now)

    # ---- views and notifications -------------------------------------------------------------
    def active(self, include_hidden: bool = True) -> list[dict[str, Any]]:
        """The alarm summary: every alarm not in A, most severe and newest first."""
        rows = [rec.summary(self.defs[name]) for name, rec in self.records.items()
                if rec.state is not State.NORMAL and (include_hidden or not rec.hidden)]
        rows.sort(key=lambda r: (-r["severity"], -(r["raised_ts"] or 0.0), r["name"]))
        return rows

    def summary(self, alarm: str) -> dict[str, Any]:
        d, rec = self._target(alarm)
        return rec.summary(d)

    def state(self, alarm: str) -> State:
        return self._target(alarm)[1].state

    def add_listener(self, fn: AlarmListener) -> Callable[[], None]:
        """Call `fn(changed summaries)` after each batch/tick/action that changed something.
        Runs in the manager's thread; the GUI bridge re-posts to Qt. Returns the unsubscribe."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def restore(self, states: dict[str, dict[str, Any]]) -> None:
        """Take back persisted states after a restart (unknown alarm names are dropped)."""
        for name, data in states.items():
            if name not in self.defs:
                continue
            rec = AlarmRecord.restored({**data, "name": name})
            self.records[name] = rec
            if rec.shelved and rec.shelved_until is not None:
                self._timed.add(name)
            if rec.active and self.defs[name].config.realarm_min:
                self._realarm.add(name)
            group = self.defs[name].config.group
            if rec.first_out and group:
                self._first_out[group] = name

    def _log(self, d: AlarmDef, rec: AlarmRecord, event: Event, now: float, user: str = "",
             comment: str = "") -> None:
        self.transitions += 1
        if self.journal is not None:
            self.journal.append(JournalEntry(
                now, d.name, d.tag, d.area, d.priority, d.severity, event.value,
                rec.state.value, rec.value, d.config.limit, user, comment))

    def _finish(self, now: float) -> None:
        if not self._changed:
            return
        changed, self._changed = list(self._changed), {}
        for group in {self.defs[n].config.group for n in changed} - {None}:
            holder = self._first_out.get(group)  # type: ignore[arg-type]
            if holder and all(self.records[n].state in (State.NORMAL, State.SHELVED,
                                                        State.SUPPRESSED, State.OUT_OF_SERVICE)
                              for n in self._groups[group]):  # type: ignore[index]
                del self._first_out[group]  # type: ignore[arg-type]
                self.records[holder].first_out = False
                if holder not in changed:
                    changed.append(holder)
        if self.journal is not None:
            for name in changed:
                self.journal.save_state(name, self.records[name].persisted(), now)
        if self._listeners:
            rows = [self.records[n].summary(self.defs[n]) for n in changed]
            for fn in list(self._listeners):
                fn(rows)
