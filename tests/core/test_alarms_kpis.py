"""The KPI report over a journal written by the real engine with an injected clock."""

from __future__ import annotations

from pathlib import Path

from alarms import kpis
from alarms.config import AlarmSettings
from tests.core.alarm_helpers import Clock, feed, manager


def _by_name(report: dict) -> dict[str, dict]:
    return {k["name"]: k for k in report["kpis"]}


def test_flood_and_chattering_in_the_report(tmp_path: Path) -> None:
    clock = Clock(1_800_000_000.0)
    start = clock.t
    alarms = [{"tag": f"T{i}", "type": "digital", "priority": "low"} for i in range(12)]
    alarms.append({"tag": "Chatter", "type": "high", "limit": 5.0, "priority": "high"})
    mgr, journal = manager(tmp_path, alarms, clock)
    for i in range(12):  # 12 alarms in 2 minutes: a flood
        feed(mgr, f"T{i}", True)
        clock.t += 10
    clock.t = start + 3600
    for _ in range(3):  # 3 activations in 40 s: chattering, and each one fleeting (1 s)
        feed(mgr, "Chatter", 6.0)
        clock.t += 1
        feed(mgr, "Chatter", 4.0)
        clock.t += 19
    journal.flush()
    report = kpis.compute(journal, start, start + 2 * 3600, AlarmSettings())
    k = _by_name(report)
    assert k["annunciated alarms"]["value"] == 15
    assert k["floods"]["value"] == 1
    assert k["time in flood"]["seconds"] == 600
    assert k["time in flood"]["ok"] is False
    assert k["alarms per 10 min (peak)"]["value"] == 12
    assert k["chattering alarms"]["alarms"] == {"Chatter.HI": 3}
    assert k["fleeting alarms"]["value"] == 3
    assert k["top-10 share"]["top"][0] == {"alarm": "Chatter.HI", "count": 3, "share_pct": 20.0}
    assert k["priority split low/medium/high"]["split"] == {"low": 80.0, "medium": 0.0,
                                                           "high": 20.0}
    journal.close()


def test_quiet_day_meets_targets_and_counts_shelving(tmp_path: Path) -> None:
    clock = Clock(1_800_000_000.0)
    start = clock.t
    mgr, journal = manager(tmp_path, [{"tag": "T", "type": "digital"}], clock)
    feed(mgr, "T", True)
    clock.t += 60
    mgr.shelve("T.DI", 30, "maintenance", "ann")
    clock.t += 1800
    mgr.tick()
    clock.t += 25 * 3600  # standing for more than a day
    journal.flush()
    k = _by_name(kpis.compute(journal, start, clock.t, AlarmSettings()))
    assert k["floods"]["value"] == 0
    assert k["alarms per hour (average)"]["ok"] is True
    assert k["shelved"]["value"] == 1
    assert k["shelved"]["seconds"] == 1800
    assert k["stale alarms"]["alarms"] == ["T.DI"]
    journal.close()
