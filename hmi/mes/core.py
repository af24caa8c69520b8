"""Production tracking and the outbox writer, without a thread of its own.

`MesCore` holds the lines (`hmi.mes.line`), the shift calendar, the reason tree and the store.
It is fed tag batches and ticks, tails the alarm journal, applies context changes and reason
edits, and `commit()` writes everything one cycle changed in one transaction. The station's
`MesService` runs it in thread `hmi-mes`; a CLI command with no station running uses one
directly (e.g. `hmi context set`). Clock-injected, so tests can say "a shift later".
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hmi.mes.alarm_tail import AlarmTail
from hmi.mes.calendar import ShiftCalendar, ShiftInstance
from hmi.mes.config import LineConfig
from hmi.mes.counters import BITS_OF_TYPE
from hmi.mes.effects import Effects
from hmi.mes.events import PendingEvent, alarm_event
from hmi.mes.line import CONTEXT_FIELDS, LineTracker
from hmi.mes.oee import OeeCalculator, OeeResult
from hmi.mes.outbox import Outbox
from hmi.mes.reasons import ReasonTree
from hmi.mes.states import UNKNOWN
from hmi.mes.store import DOWNTIME_COLUMNS, MesStore
from hmi.tags import Quality, Sample, iso_utc
from hmi.writebuffer import is_disk_trouble

log = logging.getLogger(__name__)
TAIL_BATCH = 5000  # journal rows turned into events per cycle, at most


class MesCommandError(Exception):
    """A context change or reason edit that cannot be applied; the message says why."""


def station_id(model: Any) -> str:
    """The events' `source`: `[mes] station_id`, else the project name as a slug."""
    if model.mes.station_id:
        return str(model.mes.station_id)
    return re.sub(r"[^a-z0-9]+", "-", model.project.name.lower()).strip("-") or "station"


def line_configs(model: Any) -> list[LineConfig]:
    """The `[[lines]]`, or one implicit line carrying the context when none are declared."""
    if model.lines:
        return list(model.lines)
    name = model.project.asset.strip("/").rsplit("/", 1)[-1] or "line"
    return [LineConfig(name=name)]


def oee_calculator(model: Any, calendar: ShiftCalendar | None = None,
                   reasons: ReasonTree | None = None) -> OeeCalculator:
    """The OEE calculator of a project (for a reader that needs no `MesCore`, e.g. `hmi oee`)."""
    return OeeCalculator(
        calendar or ShiftCalendar(model.shifts, model.production.timezone),
        reasons or ReasonTree(model.downtime_reasons),
        {p.code: p.ideal_cycle_s for p in model.products},
        {line.name: line.ideal_cycle_s for line in line_configs(model)},
        model.production.microstop_loss)


def _asset(project_asset: str, own: str) -> str:
    base, own = project_asset.strip("/"), own.strip("/")
    if not own:
        return base
    if not base or own.startswith(base):
        return own
    return f"{base}/{own}"


class MesCore:
    def __init__(self, project: Any, data_dir: str | Path,
                 clock: Callable[[], float] = time.time) -> None:
        model = project.model
        self.project = project
        self.config = model.mes
        self.settings = model.production
        self.source = station_id(model)
        self.clock = clock
        self.calendar = ShiftCalendar(model.shifts, self.settings.timezone)
        self.reasons = ReasonTree(model.downtime_reasons)
        data_dir = Path(data_dir)
        self.store = MesStore(data_dir / "mes.db")
        self.outbox = Outbox(self.store, self.config.quarantine_after)
        self.tail = AlarmTail(data_dir / "alarms.db")
        self.emit = bool(self.config.enabled)  # without an MES, track but keep no events
        self.fx = Effects()
        now = clock()
        contexts = self.store.load_contexts()
        self.lines: dict[str, LineTracker] = {}
        self.routes: dict[str, list[tuple[LineTracker, str]]] = {}
        for cfg in line_configs(model):
            bits = {}
            for fld in ("good_tag", "reject_tag", "total_tag"):
                tag = project.tag(getattr(cfg, fld)) if getattr(cfg, fld) else None
                bits[fld] = cfg.counter_bits or BITS_OF_TYPE.get(tag.type if tag else "", 32)
            tracker = LineTracker(cfg, _asset(model.project.asset, cfg.asset), self.calendar,
                                  self.reasons, self.settings, bits, contexts.get(cfg.name),
                                  now, {p.code: p.ideal_cycle_s for p in model.products})
            self.lines[cfg.name] = tracker
            for fld, tag in cfg.tag_fields().items():
                self.routes.setdefault(tag, []).append((tracker, fld))
        writable = [t.name for t in model.tags if t.writable]
        self.setpoint_tags = set(self.config.setpoint_tags
                                 if self.config.setpoint_tags is not None else writable)
        self._setpoints: dict[str, Any] = {}
        self.oee_calc = oee_calculator(model, self.calendar, self.reasons)
        self.cursor = int(self.store.meta("alarm_cursor", 0) or 0)
        self.depth, self.bytes, self.oldest = self.store.pending_totals()
        self.write_error = ""
        self._failing_since = 0.0  # time.monotonic() when writing stopped
        self.changed: set[str] = set()
        self._restore(now)

    def _restore(self, now: float) -> None:
        """After a stop or crash: the state was unknown since the last commit, and a downtime
        open then ended there (we cannot know what happened while the station was away)."""
        last_seen = float(self.store.meta("last_seen", now) or now)
        for name, tracker in self.lines.items():
            rows = self.store.select("SELECT state FROM state_log WHERE line = ? ORDER BY ts "
                                     "DESC, id DESC LIMIT 1", (name,))
            if rows and rows[0][0] != UNKNOWN:
                self.fx.states.append((name, last_seen, UNKNOWN))
            for row in self.store.select(f"SELECT {', '.join(DOWNTIME_COLUMNS)} FROM downtimes "
                                         "WHERE line = ? AND end IS NULL", (name,)):
                downtime = dict(zip(DOWNTIME_COLUMNS, row, strict=True))
                tracker.end_stale_downtime(downtime, max(last_seen, downtime["start"]), self.fx)
            tracker.last_tick = min(now, last_seen)
        for alarm, raised in self.tail.active_alarms().items():
            tracker = self.line_of_area(self._alarm_area(alarm))
            if tracker is not None:
                tracker.active_alarms[alarm] = raised

    def _alarm_area(self, alarm: str) -> str:
        from alarms.engine import defs_from_project  # alarms are optional in a build

        if not hasattr(self, "_areas"):
            self._areas = {d.name: d.area for d in defs_from_project(self.project)}
        return self._areas.get(alarm, "")

    def close(self) -> None:
        self.tail.close()
        self.store.close()

    # ---- lines ----------------------------------------------------------------------------
    def line(self, name: str | None) -> LineTracker:
        if name is None:
            return next(iter(self.lines.values()))
        try:
            return self.lines[name]
        except KeyError:
            raise MesCommandError(f"unknown line {name!r} (lines: "
                                  f"{', '.join(self.lines)})") from None

    def line_of_area(self, area: str) -> LineTracker | None:
        """The line an ISA-95 path belongs to (longest matching asset), else the only line."""
        best: LineTracker | None = None
        for tracker in self.lines.values():
            if tracker.asset and (area == tracker.asset or area.startswith(tracker.asset + "/")) \
                    and (best is None or len(tracker.asset) > len(best.asset)):
                best = tracker
        if best is None and len(self.lines) == 1:
            best = next(iter(self.lines.values()))
        return best

    # ---- feeding --------------------------------------------------------------------------
    def on_samples(self, batch: list[Sample]) -> None:
        now = self.clock()
        per_line: dict[str, dict[str, Any]] = {}
        for s in batch:
            value = None if s.quality is Quality.BAD else s.value
            for tracker, fld in self.routes.get(s.tag, ()):
                per_line.setdefault(tracker.name, {})[fld] = value
            if s.tag in self.setpoint_tags and value is not None:
                self._setpoint(s.tag, value, now)
        for name, values in per_line.items():
            self.lines[name].feed(values, now, self.fx)

    def _setpoint(self, tag: str, value: Any, now: float) -> None:
        previous = self._setpoints.get(tag)
        self._setpoints[tag] = value
        if previous is None:
            return
        try:
            same = bool(previous == value)
        except (TypeError, ValueError):  # arrays compare element-wise
            same = False
        if same:
            return
        cfg = self.project.tag(tag)
        asset = self.project.tag_asset(cfg) if cfg else ""
        tracker = self.line_of_area(asset)
        context = tracker.event_context(now) if tracker else {}
        self.fx.events.append(PendingEvent("setpoint.changed", now, asset, context, {
            "tag": tag, "from": previous, "to": value, "unit": cfg.unit if cfg else ""}))

    def tick(self) -> None:
        now = self.clock()
        for tracker in self.lines.values():
            tracker.tick(now, self.fx, self._shift_ended)
        self.tail_alarms()

    def tail_alarms(self, limit: int = TAIL_BATCH) -> int:
        rows = self.tail.read(self.cursor, limit)
        if not rows:
            if self.cursor and self.tail.last_id() < self.cursor:
                log.warning("the alarm journal was replaced (its last row is before our cursor "
                            "%d): reading it from the start", self.cursor)
                self.cursor = 0
                self.fx.meta["alarm_cursor"] = 0
            return 0
        for row in rows:
            tracker = self.line_of_area(row["area"] or "")
            if tracker is not None:
                context = tracker.event_context(row["ts"])
                if row["event"] in ("raise", "realarm"):
                    tracker.alarm(row["alarm"], True, row["ts"], self.fx)
                elif row["event"] in ("rtn", "oos"):
                    tracker.alarm(row["alarm"], False, row["ts"], self.fx)
            else:
                shift = self.calendar.at(row["ts"])
                context = {"shift": shift.name if shift else ""}
            event = alarm_event(row, self.source, context)
            if event is not None:
                self.fx.events.append(event)
        self.cursor = rows[-1]["id"]
        self.fx.meta["alarm_cursor"] = self.cursor
        return len(rows)

    # ---- OEE events -----------------------------------------------------------------------
    def _shift_ended(self, tracker: LineTracker, shift: ShiftInstance) -> None:
        context = {**tracker.event_context(shift.end - 1e-3), "shift": shift.name}

        def summary(db: sqlite3.Connection) -> list[PendingEvent]:
            result = self.oee_calc.compute(db, tracker.name, shift.start, shift.end)
            data = {"shift": shift.name, "start": iso_utc(shift.start),
                    "end": iso_utc(shift.end), **_oee_data(result)}
            return [PendingEvent("shift.summary", shift.end, tracker.asset, context, data)]

        self.fx.events.append(summary)

    def _wo_completed(self, tracker: LineTracker, work_order: str, started: float,
                      end: float, user: str) -> None:
        context = tracker.event_context(end)

        def completed(db: sqlite3.Connection) -> list[PendingEvent]:
            result = self.oee_calc.compute(db, tracker.name, started, end, work_order)
            data = {"work_order": work_order, "product": context.get("product"),
                    "lot": context.get("lot"), "started": iso_utc(started),
                    "duration_s": round(end - started, 3), "produced": result.pq,
                    "good": result.gq, "reject": result.rq, **_oee_data(result)}
            if user:
                data["user"] = user
            return [PendingEvent("workorder.completed", end, tracker.asset, context, data)]

        self.fx.events.append(completed)

    # ---- commands -------------------------------------------------------------------------
    def set_context(self, line: str | None, changes: dict[str, str | None], user: str = ""
                    ) -> str:
        """Change the context of a line (None values are left as they are). Returns what
        happened; MesCommandError for bad input."""
        tracker = self.line(line)
        clean = {}
        for key, value in changes.items():
            if key not in CONTEXT_FIELDS:
                raise MesCommandError(f"unknown context field {key!r} "
                                      f"({', '.join(CONTEXT_FIELDS)})")
            if value is None:
                continue
            value = str(value).strip()
            if len(value) > 200 or any(ord(c) < 32 for c in value):
                raise MesCommandError(f"{key}: at most 200 printable characters")
            clean[key] = value
        if not clean:
            raise MesCommandError("nothing to change: give a work order, product, lot or "
                                  "operator")

        def completed(line: LineTracker, work_order: str, started: float, end: float) -> None:
            self._wo_completed(line, work_order, started, end, user)

        done = tracker.set_context(clean, user, self.clock(), self.fx, completed)
        return f"{tracker.name}: " + (", ".join(done) if done else "unchanged")

    def set_downtime_reason(self, downtime_id: str, code: str, user: str = "",
                            comment: str = "") -> str:
        reason = self.reasons.get(code)
        if reason is None:
            raise MesCommandError(f"unknown reason code {code!r}")
        found = None
        for tracker in self.lines.values():
            if tracker.downtime and tracker.downtime["id"] == downtime_id:
                found = (tracker, dict(tracker.downtime))
        if found is None:
            pending = self.fx.downtimes.get(downtime_id)
            rows = [] if pending else self.store.select(
                f"SELECT {', '.join(DOWNTIME_COLUMNS)} FROM downtimes WHERE id = ?",
                (downtime_id,))
            data = pending or (dict(zip(DOWNTIME_COLUMNS, rows[0], strict=True))
                               if rows else None)
            if data is None or data["line"] not in self.lines:
                raise MesCommandError(f"unknown downtime {downtime_id!r}")
            found = (self.lines[data["line"]], dict(data))
        tracker, downtime = found
        tracker.set_reason(downtime, reason.code, "operator", self.clock(), self.fx, user,
                           comment)
        return f"downtime {downtime_id[:8]}: reason {reason.code} ({reason.name})"

    def downtimes(self, line: str | None = None, since: float | None = None,
                  needs_reason: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        """Recent downtimes, newest first, with their reason and whether one is still needed
        (a stop longer than `reason_required_s` without a reason)."""
        sql = f"SELECT {', '.join(DOWNTIME_COLUMNS)} FROM downtimes WHERE 1 = 1"
        params: list[Any] = []
        if line is not None:
            sql += " AND line = ?"
            params.append(self.line(line).name)
        if since is not None:
            sql += " AND (end IS NULL OR end >= ?)"
            params.append(since)
        if needs_reason:
            sql += " AND reason IS NULL"
        rows = [dict(zip(DOWNTIME_COLUMNS, r, strict=True))
                for r in self.store.select(sql + " ORDER BY start DESC LIMIT ?",
                                           [*params, limit])]
        now = self.clock()
        for row in rows:
            duration = (row["end"] if row["end"] is not None else now) - row["start"]
            row["duration_s"] = round(max(0.0, duration), 3)
            row["needs_reason"] = (row["reason"] is None
                                   and duration > self.settings.reason_required_s)
            row["category"] = self.reasons.category(row["reason"])
        if needs_reason:
            rows = [r for r in rows if r["needs_reason"]]
        return rows

    # ---- OEE ------------------------------------------------------------------------------
    def oee(self, line: str | None = None, t0: float | None = None, t1: float | None = None,
            work_order: str | None = None) -> OeeResult:
        """OEE from the committed records (commit first for the latest counts)."""
        tracker = self.line(line)
        now = self.clock()
        end = min(t1 if t1 is not None else now, now)
        start = t0 if t0 is not None else end - 3600.0
        with self.store.lock:
            return self.oee_calc.compute(self.store.db, tracker.name, start, end, work_order)

    def oee_shift(self, line: str | None = None, name: str | None = None) -> OeeResult | None:
        """The current shift (or the latest occurrence of shift `name`)."""
        now = self.clock()
        shift = self.calendar.latest(name, now) if name else self.calendar.at(now)
        if shift is None:
            return None
        return self.oee(line, shift.start, min(shift.end, now))

    def oee_work_order(self, line: str | None = None) -> OeeResult | None:
        tracker = self.line(line)
        if not tracker.context["work_order"] or tracker.wo_started is None:
            return None
        return self.oee(line, tracker.wo_started, None, tracker.context["work_order"])

    # ---- writing --------------------------------------------------------------------------
    def beat(self, wall: float, pid: int) -> None:
        """The running station's heartbeat, written with the next commit: one transaction per
        cycle, so a full disk fails in one place and is said once (issue 11)."""
        self.fx.heartbeat = (wall, pid)

    def commit(self) -> bool:
        """Write what this cycle changed in one transaction. False (everything kept for the
        next try) if the file cannot be written, e.g. a full disk."""
        fx = self.fx
        if fx.empty():
            return True
        now = self.clock()
        fx.meta["last_seen"] = now
        try:
            with self.store.transaction() as db:
                events = fx.write(db)
                if not self.emit:
                    events = []
                count, size = MesStore.append_events(db, events, self.source, now)
        except sqlite3.Error as exc:
            self.write_failed(exc)
            return False
        if self.write_error:
            log.warning("mes: writing resumed after %.1f s: %d event(s) caught up from memory, "
                        "nothing lost", time.monotonic() - self._failing_since, count)
        self.write_error = ""
        self.fx = Effects()
        self.changed |= fx.changed
        if count:
            self.changed.add("outbox")
            self.depth += count
            self.bytes += size
            if self.oldest is None:
                self.oldest = now
        return True

    def write_failed(self, exc: sqlite3.Error) -> None:
        """Said once per outage, without a traceback when it is the disk or a lock (issue 11:
        a full disk printed a traceback every second); a bug in the rows keeps its traceback."""
        if not self.write_error:
            self._failing_since = time.monotonic()
            if is_disk_trouble(exc):
                log.error("mes: writing stopped: %s; holding %d event(s) and the production "
                          "records in memory and retrying each cycle", exc, len(self.fx.events))
        if not is_disk_trouble(exc) and str(exc) != self.write_error:
            log.error("mes.db cannot be written: %d event(s) kept in memory and retried each "
                      "cycle", len(self.fx.events), exc_info=exc)
        self.write_error = str(exc)

    def held_events(self) -> int:
        """Events made but not yet in mes.db (more than 0 only while it refuses writes)."""
        return len(self.fx.events)

    def stop(self) -> bool:
        """The station stops: states become unknown from now, open downtimes end. False if
        mes.db refused the last commit."""
        now = self.clock()
        for tracker in self.lines.values():
            tracker.station_stopped(now, self.fx)
        return self.commit()

    def after_ack(self, count: int, freed: int) -> None:
        self.depth = max(0, self.depth - count)
        self.bytes = max(0, self.bytes - freed)
        rows = self.store.select("SELECT enqueued FROM outbox ORDER BY seq LIMIT 1")
        self.oldest = rows[0][0] if rows else None
        self.changed.add("outbox")

    def recount(self) -> None:
        self.depth, self.bytes, self.oldest = self.store.pending_totals()
        self.changed.add("outbox")


def _oee_data(result: OeeResult) -> dict[str, Any]:
    data = result.to_json()
    keep = ("availability", "effectiveness", "quality", "oee", "pbt_s", "apt_s", "pdt_s",
            "adet_s", "changeover_s", "microstops", "microstop_s", "pq", "gq", "rq", "ideal_s")
    return {k: data[k] for k in keep}
