"""OEE per ISO 22400-2 against hand-computed cases, through the whole tracking path (tag values
-> states, downtimes, counts in mes.db -> OEE), on a simulated clock and a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.mes.config import WEEKDAYS
from hmi.mes.oee import factors
from hmi.tags import iso_utc
from tests.core.mes_helpers import Clock, advance, core, days_ago, feed, outbox, project, utc


def test_factors_of_the_issue_case() -> None:
    # PBT 430 min, APT 358 min, PRI 0.5 min, PQ 640, GQ 608
    a, e, q, oee = factors(430 * 60, 358 * 60, 0.5 * 60 * 640, 640, 608)
    assert (round(a, 4), round(e, 4), q, round(oee, 4)) == (0.8326, 0.8939, 0.95, 0.7070)
    assert factors(0, 0, 0, 0, 0) == (None, None, None, None)


def _shift_project(tmp_path: Path, day_name: str, extra: str = "") -> object:
    return project(tmp_path, f"""
[production]
timezone = "UTC"
microstop_s = 10
count_interval_s = 60

[[shifts]]
name = "Early"
start = "06:00"
end = "14:00"
days = ["{day_name}"]
breaks = [{{ name = "Lunch", start = "10:00", end = "10:50" }}]
""" + extra)


def test_issue_case_through_tracking_events_and_cli(tmp_path: Path, capsys) -> None:
    day = days_ago(3)
    proj = _shift_project(tmp_path, WEEKDAYS[day.weekday()])
    clock = Clock(utc(day, 5, 50))
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1", "product": "P30"})
    feed(c, Run=True, Fault=False, FaultCode=0, Good=1000, Reject=50)  # counters mid-way

    def at(hh: int, mm: int, **values: object) -> None:
        advance(c, clock, utc(day, hh, mm) - 0.001)
        clock.now = utc(day, hh, mm)
        feed(c, **values)

    at(6, 30, Good=1000 + 150, Reject=50 + 8)
    at(7, 0, Fault=True, FaultCode=7)  # 72 min down: 07:00-08:12
    at(8, 12, Fault=False, FaultCode=0)
    at(9, 30, Good=1000 + 400, Reject=50 + 20)
    at(10, 0, Run=False)  # the lunch break: planned stop
    at(10, 50, Run=True)
    at(13, 0, Good=1000 + 608, Reject=50 + 32)
    at(14, 0, Run=False)  # shift over
    advance(c, clock, utc(day, 14, 5))
    c.commit()

    result = c.oee("Line1", utc(day, 6), utc(day, 14))
    assert (result.pbt_s / 60, result.apt_s / 60, result.pq, result.gq) == (430, 358, 640, 608)
    assert (round(result.availability, 4), round(result.effectiveness, 4), result.quality,
            round(result.oee, 4)) == (0.8326, 0.8939, 0.95, 0.7070)

    events = outbox(c)
    summary = [e for e in events if e["type"] == "shift.summary"]
    assert len(summary) == 1
    assert summary[0]["context"]["shift"] == "Early"
    assert summary[0]["data"]["oee"] == 0.707
    assert summary[0]["data"]["availability"] == 0.8326
    downtimes = [e for e in events if e["type"].startswith("downtime.")]
    assert [e["type"] for e in downtimes] == ["downtime.started", "downtime.ended"]
    assert downtimes[1]["data"]["duration_s"] == 72 * 60
    assert downtimes[1]["data"]["reason"] == "MECH.JAM"  # fault code 7, from the file
    c.close()

    assert main(["oee", str(proj.path), "--shift", "Early", "--json",
                 "--data", str(tmp_path / "data")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert (rows[0]["availability"], rows[0]["effectiveness"], rows[0]["quality"],
            rows[0]["oee"]) == (0.8326, 0.8939, 0.95, 0.707)
    assert rows[0]["window"] == "shift Early"
    # the same window as a range (--from/--to, ISO-8601 UTC) gives the same figures
    assert main(["oee", str(proj.path), "--from", iso_utc(utc(day, 6)), "--to",
                 iso_utc(utc(day, 14)), "--json", "--data", str(tmp_path / "data")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1
    assert (rows[0]["pbt_s"] / 60, rows[0]["apt_s"] / 60, rows[0]["pq"], rows[0]["gq"]) == (
        430, 358, 640, 608)
    assert (rows[0]["availability"], rows[0]["effectiveness"], rows[0]["quality"],
            rows[0]["oee"]) == (0.8326, 0.8939, 0.95, 0.707)


@pytest.mark.parametrize(("loss", "apt_min", "adet_s"), [("performance", 60, 0.0),
                                                         ("availability", 60 - 5 / 60, 5.0)])
def test_microstops_count_as_the_file_says(tmp_path: Path, loss: str, apt_min: float,
                                           adet_s: float) -> None:
    proj = project(tmp_path, f"""
[production]
microstop_s = 30
microstop_loss = "{loss}"
""")
    clock = Clock(1_800_000_000.0)
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1", "product": "P30"})
    feed(c, Run=True, Fault=False)
    advance(c, clock, clock.now + 600, 5)
    feed(c, Run=False)  # a 5 s stop: a micro-stop, no downtime event
    advance(c, clock, clock.now + 5, 5)
    feed(c, Run=True)
    advance(c, clock, clock.now + 3000 - 5, 5)
    result = c.oee("Line1", clock.now - 3600, clock.now)
    assert result.microstops == 1
    assert result.microstop_s == pytest.approx(5.0)
    assert result.apt_s / 60 == pytest.approx(apt_min)
    assert result.adet_s == pytest.approx(adet_s)
    assert "downtime.started" not in [e["type"] for e in outbox(c)]
    c.close()


def test_downtime_across_a_shift_boundary_is_split(tmp_path: Path) -> None:
    day = days_ago(2)
    proj = project(tmp_path, """
[production]
timezone = "UTC"

[[shifts]]
name = "Early"
start = "06:00"
end = "14:00"

[[shifts]]
name = "Late"
start = "14:00"
end = "22:00"
""")
    clock = Clock(utc(day, 13, 0))
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1", "product": "P30"})
    feed(c, Run=True, Fault=False, FaultCode=0)
    advance(c, clock, utc(day, 13, 30))
    feed(c, Fault=True, FaultCode=7)
    advance(c, clock, utc(day, 14, 20))
    feed(c, Fault=False, FaultCode=0)
    advance(c, clock, utc(day, 15, 0))
    events = [e for e in outbox(c) if e["type"].startswith(("downtime.", "shift."))]
    assert [e["type"] for e in events] == ["downtime.started", "downtime.ended",
                                           "shift.summary", "downtime.started",
                                           "downtime.ended"]
    first, split, summary, second, end = events
    assert split["data"]["split"] is True
    assert split["data"]["duration_s"] == 30 * 60
    assert split["context"]["shift"] == "Early"
    assert second["context"]["shift"] == "Late"
    assert second["data"]["continues"] == first["id"]
    assert second["data"]["reason"] == "MECH.JAM"
    assert end["data"]["duration_s"] == 20 * 60
    assert summary["data"]["adet_s"] == 30 * 60
    early = c.oee("Line1", utc(day, 6), utc(day, 14))
    late = c.oee("Line1", utc(day, 14), utc(day, 15))
    assert (early.adet_s, late.adet_s) == (30 * 60, 20 * 60)
    assert late.availability == pytest.approx(40 / 60)
    c.close()


def test_a_planned_reason_set_later_moves_the_stop_out_of_pbt(tmp_path: Path) -> None:
    proj = project(tmp_path)
    clock = Clock(1_800_000_000.0)
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1"})
    feed(c, Run=True, Fault=False)
    advance(c, clock, clock.now + 1800)
    feed(c, Run=False)  # stopped, no fault: down, no automatic reason
    advance(c, clock, clock.now + 1800)
    feed(c, Run=True)
    c.commit()
    before = c.oee("Line1", clock.now - 3600, clock.now)
    assert before.availability == pytest.approx(0.5)
    started = next(e for e in outbox(c) if e["type"] == "downtime.started")
    assert started["data"]["reason"] is None
    assert "PLAN.MAINT" in c.set_downtime_reason(started["id"], "PLAN.MAINT", "ann")
    c.commit()
    after = c.oee("Line1", clock.now - 3600, clock.now)
    assert after.pdt_s == pytest.approx(1800)
    assert after.availability == pytest.approx(1.0)
    events = outbox(c)
    edit = [e for e in events if e["type"] == "downtime.reason_set"]
    assert len(edit) == 1
    assert edit[0]["data"]["downtime"] == started["id"]
    assert edit[0]["data"]["category"] == "planned"
    assert edit[0]["data"]["user"] == "ann"
    assert [e["type"] for e in events].count("downtime.started") == 1  # never a second one
    c.close()


def test_clock_stepped_back_keeps_seq_order_and_no_negative_time(tmp_path: Path) -> None:
    proj = project(tmp_path)
    clock = Clock(1_800_000_000.0)
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1", "product": "P30"})
    feed(c, Run=True, Fault=False, Good=0)
    advance(c, clock, clock.now + 600)
    clock.now -= 3600  # NTP steps the clock back an hour
    feed(c, Run=False, Good=10)
    advance(c, clock, clock.now + 60)
    feed(c, Run=True, Good=20)
    advance(c, clock, clock.now + 120)
    events = outbox(c)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    stamps = [e["ts"] for e in events]
    assert stamps != sorted(stamps)  # time went backwards, seq did not
    for e in events:
        if e["type"] == "state.changed" and e["data"]["previous_s"] is not None:
            assert e["data"]["previous_s"] >= 0
        if e["type"] == "downtime.ended":
            assert e["data"]["duration_s"] >= 0
    result = c.oee("Line1", clock.now - 7200, clock.now + 7200)
    assert min(result.apt_s, result.adet_s, result.pbt_s, result.pq) >= 0
    c.close()


def test_clock_stepped_back_over_a_shift_end_gives_one_summary(tmp_path: Path) -> None:
    # NTP steps the clock back over 14:00: the boundary is crossed again, in this run and
    # after a restart; the MES must still get exactly one shift.summary for Early.
    day = days_ago(3)
    proj = _shift_project(tmp_path, WEEKDAYS[day.weekday()])
    clock = Clock(utc(day, 13, 50))
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1", "product": "P30"})
    feed(c, Run=True, Fault=False, FaultCode=0, Good=0, Reject=0)
    advance(c, clock, utc(day, 14, 10))
    clock.now = utc(day, 13, 55)  # stepped back 15 min, over the shift end
    advance(c, clock, utc(day, 14, 10))
    c.commit()
    c.close()
    clock.now = utc(day, 13, 58)  # a restart on a clock that is behind again
    c = core(tmp_path, proj, clock)
    advance(c, clock, utc(day, 14, 10))
    c.commit()
    summaries = [e for e in outbox(c) if e["type"] == "shift.summary"]
    assert len(summaries) == 1
    assert summaries[0]["data"]["start"].startswith(f"{day.isoformat()}T06:00")
    c.close()
