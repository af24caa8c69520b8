"""The statistics panel's figures for a trend's visible range: min, max, mean, time-weighted
mean, time in alarm, time BAD. Qt-free; runs in a worker thread.

Up to `EXACT_MAX_S` (a day) the figures are `HistoryReader.statistics`, the same exact
computation as `hmi history stats` (every raw sample, values held until the next). Beyond that
an exact pass reads millions of rows (30 days at 1 s: 2.6 M per tag, seconds each), so the panel
reads the 1-minute rollups instead: min and max stay exact (the rollup keeps them), the mean is
sum/count, and the time-weighted mean weights each minute's mean by one minute (marked
`approx`). Raw rows after the rollup watermark are read exactly and merged.
"""

from __future__ import annotations

from typing import Any

from hmi.historian.rollup import MINUTE_MS
from hmi.historian.schema import get_meta
from hmi.trends.data import TrendData

EXACT_MAX_S = 86_400.0


def pen_statistics(data: TrendData, tag: str, t0: float, t1: float) -> dict[str, Any]:
    """One pen's row of the statistics panel; `count == 0` and None figures when empty."""
    row: dict[str, Any] = {"tag": tag, "from": t0, "to": t1, "count": 0, "min": None,
                           "max": None, "mean": None, "time_weighted_mean": None,
                           "bad_s": 0.0, "approx": False}
    reader = data.reader()
    if reader is not None and reader.has_tag(tag) and t1 > t0:
        if t1 - t0 <= EXACT_MAX_S:
            stats = reader.statistics(tag, t0, t1)
            row.update({k: stats[k] for k in ("count", "min", "max", "mean",
                                              "time_weighted_mean", "bad_s")})
        else:
            row.update(_from_rollups(reader, tag, t0, t1))
    spans = data.alarm_intervals(tag, t0, t1)
    row["alarm_s"] = sum(end - start for start, end in spans)
    row["alarms"] = len(spans)
    return row


def _from_rollups(reader: Any, tag: str, t0: float, t1: float) -> dict[str, Any]:
    conn = reader.conn
    tag_id = reader.tag_id(tag)
    m0 = -(-round(t0 * 1000) // MINUTE_MS) * MINUTE_MS  # whole minutes inside the range
    m1 = round(t1 * 1000)
    until = get_meta(conn, "rollup_1m_until")
    until_ms = min(int(until), m1) // MINUTE_MS * MINUTE_MS if until is not None else m0
    n, vmin, vmax, vsum, minutes, wsum, nbad = conn.execute(
        "SELECT sum(n), min(vmin), max(vmax), sum(vsum), sum(n > 0), "
        "sum(CASE WHEN n > 0 THEN vsum / n END), sum(nbad > 0) FROM rollup_1m "
        "WHERE tag_id = ? AND t >= ? AND t < ?", (tag_id, m0, until_ms)).fetchone()
    n, vsum, minutes, wsum = n or 0, vsum or 0.0, minutes or 0, wsum or 0.0
    head = reader.statistics(tag, t0, m0 / 1000) if m0 > round(t0 * 1000) else None
    tail = reader.statistics(tag, until_ms / 1000, t1) if until_ms < m1 else None
    weight_s = minutes * 60.0
    wmean = wsum * 60.0
    for part in (head, tail):
        if part and part["count"]:
            n += part["count"]
            vsum += part["mean"] * part["count"]
            vmin = part["min"] if vmin is None else min(vmin, part["min"])
            vmax = part["max"] if vmax is None else max(vmax, part["max"])
        if part and part["time_weighted_mean"] is not None:
            wmean += part["time_weighted_mean"] * part["good_s"]
            weight_s += part["good_s"]
    bad_s = (nbad or 0) * 60.0 + sum(p["bad_s"] for p in (head, tail) if p)
    return {"count": n, "min": vmin, "max": vmax, "mean": vsum / n if n else None,
            "time_weighted_mean": wmean / weight_s if weight_s else None,
            "bad_s": bad_s, "approx": True}
