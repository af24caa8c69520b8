"""OEE per ISO 22400-2, computed from what `mes.db` recorded (states, downtimes, counts).

    availability  A = APT / PBT
    effectiveness E = PRI x PQ / APT      (sum over products: each product's ideal cycle time)
    quality       Q = GQ / PQ
    OEE             = A x E x Q

Time accounting inside a window, restricted to shift time (planned operation time, POT; all of
it without a calendar):
- `planned_stop` (breaks, planned maintenance) and `idle` (no work order) are planned down
  time (PDT): PBT = POT - PDT;
- a stop whose reason's category is `planned` is planned down time too (decided when the
  reason is set, even later: OEE is computed when asked, never stored);
- `running` is actual production time (APT);
- other stops are losses (ADET), changeover stops counted separately as well;
- a stop shorter than `microstop_s` never became a downtime: its time is in APT when
  `microstop_loss = "performance"` (most OEE tools) and in ADET when "availability" (ISO 22400);
- time when the station did not know the state (not running, not yet read) is left out of POT.

Why computed on demand from records, not accumulated: a reason set an hour later, a window
that spans a shift boundary, a work order's own window all come out of the same query, and a
restart loses nothing. Runs in any thread with its own connection (or inside the writer's
transaction, which sees its uncommitted rows).
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from hmi.mes.calendar import ShiftCalendar
from hmi.mes.reasons import ReasonTree
from hmi.mes.states import NOT_PLANNED, STOP_STATES, UNKNOWN
from hmi.tags import iso_utc


@dataclass
class OeeResult:
    """Times in seconds, quantities in units; factors None where their denominator is 0."""

    line: str
    start: float
    end: float
    pot_s: float = 0.0  # planned operation time (shift time the state was known)
    pdt_s: float = 0.0  # planned down time
    pbt_s: float = 0.0  # planned busy time = POT - PDT
    apt_s: float = 0.0  # actual production time
    adet_s: float = 0.0  # stops (unplanned, changeover, micro-stops counted in availability)
    changeover_s: float = 0.0  # part of adet_s
    microstops: int = 0
    microstop_s: float = 0.0
    unknown_s: float = 0.0  # shift time with no known state (left out of POT)
    pq: int = 0  # produced quantity
    gq: int = 0  # good quantity
    rq: int = 0  # rejects (PQ - GQ)
    ideal_s: float | None = 0.0  # sum of PRI x PQ; None if a product has no ideal cycle time
    availability: float | None = None
    effectiveness: float | None = None
    quality: float | None = None
    oee: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["from"] = iso_utc(self.start)
        out["to"] = iso_utc(self.end)
        for key in ("availability", "effectiveness", "quality", "oee"):
            if out[key] is not None:
                out[key] = round(out[key], 4)
        for key in ("pot_s", "pdt_s", "pbt_s", "apt_s", "adet_s", "changeover_s",
                    "microstop_s", "unknown_s"):
            out[key] = round(out[key], 3)
        if out["ideal_s"] is not None:
            out["ideal_s"] = round(out["ideal_s"], 3)
        return out

    def factors(self) -> dict[str, float | None]:
        return {"availability": self.availability, "effectiveness": self.effectiveness,
                "quality": self.quality, "oee": self.oee}


def factors(pbt_s: float, apt_s: float, ideal_s: float | None, pq: int, gq: int
            ) -> tuple[float | None, float | None, float | None, float | None]:
    """(A, E, Q, OEE) by ISO 22400-2; a factor whose denominator is 0 is None."""
    a = apt_s / pbt_s if pbt_s > 0 else None
    e = ideal_s / apt_s if apt_s > 0 and ideal_s is not None else None
    q = gq / pq if pq > 0 else None
    oee = a * e * q if a is not None and e is not None and q is not None else None
    return a, e, q, oee


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


class OeeCalculator:
    """OEE of a line over a window, from the records. `pri` maps product codes to ideal cycle
    times (s); `line_pri` is each line's fallback."""

    def __init__(self, calendar: ShiftCalendar, reasons: ReasonTree, pri: dict[str, float],
                 line_pri: dict[str, float | None], microstop_loss: str) -> None:
        self.calendar = calendar
        self.reasons = reasons
        self.pri = pri
        self.line_pri = line_pri
        self.microstop_loss = microstop_loss

    def _states(self, db: sqlite3.Connection, line: str, t0: float, t1: float
                ) -> list[tuple[float, float, str]]:
        rows = db.execute(
            "SELECT ts, state FROM state_log WHERE line = ? AND ts < ? AND ts >= COALESCE("
            "(SELECT MAX(ts) FROM state_log WHERE line = ? AND ts <= ?), ?) ORDER BY ts, id",
            (line, t1, line, t0, t0)).fetchall()
        out = []
        for i, (ts, state) in enumerate(rows):
            end = rows[i + 1][0] if i + 1 < len(rows) else t1
            s, e = max(ts, t0), min(max(end, ts), t1)  # a clock stepped back: no negative span
            if e > s:
                out.append((s, e, state))
        return out

    def _downtimes(self, db: sqlite3.Connection, line: str, t0: float, t1: float
                   ) -> list[tuple[float, float, str | None]]:
        rows = db.execute("SELECT start, end, reason FROM downtimes WHERE line = ? AND "
                          "start < ? AND (end IS NULL OR end > ?) ORDER BY start",
                          (line, t1, t0)).fetchall()
        return [(s, t1 if e is None else e, r) for s, e, r in rows]

    def compute(self, db: sqlite3.Connection, line: str, t0: float, t1: float,
                work_order: str | None = None) -> OeeResult:
        result = OeeResult(line, t0, t1)
        if t1 <= t0:
            return result
        windows = self.calendar.planned_operating(t0, t1)
        states = self._states(db, line, t0, t1)
        downtimes = self._downtimes(db, line, t0, t1)
        covered_total = 0.0
        pot = sum(b - a for a, b in windows)
        known = 0.0
        stop_runs: list[list[float]] = []  # merged stop stretches [start, end, covered]
        for s, e, state in states:
            for a, b in windows:
                lo, hi = max(s, a), min(e, b)
                if hi <= lo or state == UNKNOWN:
                    continue
                span = hi - lo
                known += span
                if state in NOT_PLANNED:
                    result.pdt_s += span
                elif state == "running":
                    result.apt_s += span
                elif state in STOP_STATES:
                    covered = 0.0
                    for d0, d1, reason in downtimes:
                        part = _overlap(lo, hi, d0, d1)
                        if not part:
                            continue
                        covered += part
                        category = self.reasons.category(reason)
                        if category == "planned":
                            result.pdt_s += part
                        else:
                            result.adet_s += part
                            if category == "changeover":
                                result.changeover_s += part
                    covered_total += covered
                    micro = max(0.0, span - covered)
                    result.microstop_s += micro
                    if micro:
                        if self.microstop_loss == "performance":
                            result.apt_s += micro
                        else:
                            result.adet_s += micro
                    if stop_runs and abs(stop_runs[-1][1] - lo) < 1e-6:
                        stop_runs[-1][1] = hi
                        stop_runs[-1][2] += covered
                    else:
                        stop_runs.append([lo, hi, covered])
        result.microstops = sum(1 for _, _, covered in stop_runs if covered == 0)
        result.unknown_s = max(0.0, pot - known)
        result.pot_s = known
        result.pbt_s = max(0.0, known - result.pdt_s)
        self._counts(db, result, line, t0, t1, work_order)
        a, e, q, oee = factors(result.pbt_s, result.apt_s, result.ideal_s, result.pq,
                               result.gq)
        result.availability, result.effectiveness, result.quality, result.oee = a, e, q, oee
        return result

    def _counts(self, db: sqlite3.Connection, result: OeeResult, line: str, t0: float,
                t1: float, work_order: str | None) -> None:
        sql = ("SELECT product, SUM(good), SUM(reject) FROM count_log WHERE line = ? AND "
               "t1 > ? AND t1 <= ?")
        params: list[Any] = [line, t0, t1]
        if work_order is not None:
            sql += " AND work_order = ?"
            params.append(work_order)
        ideal: float | None = 0.0
        for product, good, reject in db.execute(sql + " GROUP BY product", params):
            produced = int(good or 0) + int(reject or 0)
            result.pq += produced
            result.gq += int(good or 0)
            pri = self.pri.get(product) or self.line_pri.get(line)
            if pri is None:
                if produced:
                    ideal = None
            elif ideal is not None:
                ideal += pri * produced
        result.rq = result.pq - result.gq
        result.ideal_s = ideal
