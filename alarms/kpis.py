"""Alarm system performance KPIs from the journal, each next to its EEMUA 191 / ISA-18.2 target.

Why from the journal and not from live counters: a report must be reproducible for any past
range, and survive restarts. The counts come from SQL over indexed columns; the window logic
(floods, chattering, fleeting, intervals) runs in Python over the few rows a day produces.

Definitions (ISA-18.2 clause 16, EEMUA 191 section 6):
- annunciated alarm: a `raise` row (re-alarms are reminders of a standing alarm, not new ones);
- flood: a 10-minute period (aligned to the report start) with more than `flood_threshold`
  (default 10) annunciations; time in flood is the sum of such periods;
- chattering: an alarm raised `chatter_count` (3) or more times within `chatter_window_s` (60 s);
- fleeting: raised and returned to normal within `fleeting_s` (2 s);
- stale: standing (raised, not returned) longer than `stale_hours` (24 h) at the report end.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from alarms.config import AlarmSettings
from alarms.journal import Journal

TEN_MIN_S = 600.0
HOUR_S = 3600.0


def _kpi(name: str, value: float | int | None, unit: str, target: str, ok: bool | None,
         **extra: Any) -> dict[str, Any]:
    if isinstance(value, float):
        value = round(value, 3)
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok, **extra}


def _buckets(times: list[float], start: float, end: float, size: float) -> list[int]:
    count = max(1, math.ceil((end - start) / size))
    out = [0] * count
    for t in times:
        out[min(count - 1, int((t - start) // size))] += 1
    return out


def _chattering(times_by_alarm: dict[str, list[float]], count: int, window_s: float
                ) -> dict[str, int]:
    """Alarm -> the most activations seen inside one window, for alarms that chattered."""
    out = {}
    for alarm, times in times_by_alarm.items():
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] > window_s:
                lo += 1
            best = max(best, hi - lo + 1)
        if best >= count:
            out[alarm] = best
    return out


def _intervals(rows: list[dict[str, Any]], on: str, off: set[str], start: float, end: float
               ) -> tuple[int, float]:
    """(number of `on` events in range, seconds spent between `on` and `off`, clipped)."""
    opened: dict[str, float] = {}
    count, total = 0, 0.0
    for row in rows:
        alarm, ts = row["alarm"], row["ts"]
        if row["event"] == on:
            if ts >= start:
                count += 1
            opened.setdefault(alarm, ts)
        elif row["event"] in off and alarm in opened:
            began = opened.pop(alarm)
            total += max(0.0, min(ts, end) - max(began, start))
    total += sum(max(0.0, end - max(began, start)) for began in opened.values())
    return count, total


def compute(journal: Journal, start: float, end: float,
            settings: AlarmSettings | None = None) -> dict[str, Any]:
    """The KPI report for [start, end] (epoch s) as a JSON-ready dict."""
    settings = settings or AlarmSettings()
    span_s = max(1.0, end - start)
    history = journal.query(None, end)  # state at `start` needs earlier rows
    in_range = [r for r in history if r["ts"] >= start]
    raises = [r for r in in_range if r["event"] == "raise"]
    times = [r["ts"] for r in raises]
    total = len(raises)
    hours = span_s / HOUR_S

    per_hour = _buckets(times, start, end, HOUR_S)
    per_10 = _buckets(times, start, end, TEN_MIN_S)
    flood_periods = [c > settings.flood_threshold for c in per_10]
    floods = sum(1 for i, f in enumerate(flood_periods)
                 if f and (i == 0 or not flood_periods[i - 1]))
    flood_s = sum(flood_periods) * TEN_MIN_S
    flood_pct = 100.0 * min(flood_s, span_s) / span_s
    avg_hour = total / hours
    avg_10 = total / (span_s / TEN_MIN_S)

    by_alarm: dict[str, list[float]] = defaultdict(list)
    for r in raises:
        by_alarm[r["alarm"]].append(r["ts"])
    chattering = _chattering(by_alarm, settings.chatter_count, settings.chatter_window_s)

    fleeting: Counter[str] = Counter()
    raised_at: dict[str, float] = {}
    last_raise: dict[str, float] = {}
    for r in history:
        if r["event"] == "raise":
            raised_at[r["alarm"]] = last_raise[r["alarm"]] = r["ts"]
        elif r["event"] in ("rtn", "shelve", "oos", "suppress"):
            began = raised_at.pop(r["alarm"], None)
            last_raise.pop(r["alarm"], None)
            if (r["event"] == "rtn" and began is not None and began >= start
                    and r["ts"] - began < settings.fleeting_s):
                fleeting[r["alarm"]] += 1
    stale_s = settings.stale_hours * HOUR_S
    stale = sorted(a for a, t in last_raise.items() if end - t > stale_s)

    counts = Counter(r["alarm"] for r in raises)
    top = [{"alarm": a, "count": n, "share_pct": round(100.0 * n / total, 1)}
           for a, n in counts.most_common(10)]
    top_share = sum(t["count"] for t in top) / total * 100.0 if total else 0.0

    prio = Counter(r["priority"] for r in raises)
    split = {
        "low": 100.0 * prio["low"] / total if total else 0.0,
        "medium": 100.0 * prio["medium"] / total if total else 0.0,
        "high": 100.0 * (prio["high"] + prio["urgent"]) / total if total else 0.0,
    }
    split_ok = (not total) or (split["high"] <= 10 and split["low"] >= 60)

    shelved_n, shelved_s = _intervals(history, "shelve", {"unshelve", "oos"}, start, end)
    oos_n, oos_s = _intervals(history, "oos", {"in_service"}, start, end)

    kpis = [
        _kpi("annunciated alarms", total, "alarms", "", None),
        _kpi("alarms per hour (average)", avg_hour, "1/h", "<=6 acceptable, <=12 manageable",
             avg_hour <= 12, rating=("acceptable" if avg_hour <= 6 else "manageable"
                                     if avg_hour <= 12 else "over-demanding")),
        _kpi("alarms per hour (peak)", max(per_hour), "1/h", "<=12", max(per_hour) <= 12),
        _kpi("alarms per 10 min (average)", avg_10, "1/10min", "<=1 acceptable, <=2 manageable",
             avg_10 <= 2),
        _kpi("alarms per 10 min (peak)", max(per_10), "1/10min",
             f"<={settings.flood_threshold}", max(per_10) <= settings.flood_threshold),
        _kpi("floods", floods, "floods", f">{settings.flood_threshold} in 10 min: rare", None),
        _kpi("time in flood", flood_pct, "%", "<1%", flood_pct < 1.0, seconds=flood_s),
        _kpi("chattering alarms", len(chattering), "alarms",
             f"0 (>={settings.chatter_count} in {settings.chatter_window_s:g} s)",
             not chattering, alarms=chattering),
        _kpi("fleeting alarms", sum(fleeting.values()), "activations",
             f"0 (<{settings.fleeting_s:g} s raise to RTN)", not fleeting,
             alarms=dict(fleeting)),
        _kpi("stale alarms", len(stale), "alarms", f"0 (standing >{settings.stale_hours:g} h)",
             not stale, alarms=stale),
        _kpi("top-10 share", top_share, "%", "<~5% each", all(t["share_pct"] <= 5 for t in top)
             if total >= 20 else None, top=top),
        _kpi("priority split low/medium/high",
             "/".join(f"{split[k]:.0f}" for k in ("low", "medium", "high")), "%", "~80/15/5",
             split_ok,
             split={k: round(v, 1) for k, v in split.items()}),
        _kpi("shelved", shelved_n, "shelves", "few, each with a reason", None,
             seconds=round(shelved_s, 1)),
        _kpi("out of service", oos_n, "alarms", "few, tracked", None, seconds=round(oos_s, 1)),
    ]
    return {"from": start, "to": end, "hours": round(hours, 3), "kpis": kpis}
