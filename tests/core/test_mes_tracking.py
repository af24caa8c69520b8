"""Production tracking on a simulated clock and real SQLite files: states (booleans and PackML),
downtime reasons (fault code, alarm, state, operator), the context and its events, counters,
setpoints, the alarm journal tail, restarts, and a full disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alarms.journal import Journal, JournalEntry
from hmi.mes.core import MesCore
from hmi.mes.events import alarm_event_id
from hmi.mes.states import derive, map_state
from tests.core.mes_helpers import Clock, advance, core, feed, outbox, project

T0 = 1_800_000_000.0


def test_packml_state_tag_drives_the_state(tmp_path: Path) -> None:
    proj = project(tmp_path, line="""
[[lines]]
name = "Line1"
state_tag = "State"
state_map = { "2" = "planned_stop" }
""")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    seen = []
    for value in (6, 11, 5, 4, 2, "Execute", 17.0, 99):
        clock.now += 10
        feed(c, State=value)
        seen.append(c.lines["Line1"].state)
    # Execute, Held, Suspended, Idle, Stopped (mapped by the file), Execute, Complete, unknown
    assert seen == ["running", "down", "starved", "idle", "planned_stop", "running", "idle",
                    "idle"]
    c.close()


def test_boolean_precedence_and_breaks() -> None:
    assert derive({"running_tag": True}, {}, True, False) == "running"
    assert derive({"running_tag": True, "fault_tag": True}, {}, True, False) == "down"
    assert derive({"running_tag": True, "blocked_tag": True}, {}, True, False) == "blocked"
    assert derive({"running_tag": False, "changeover_tag": True}, {}, True, False) == "changeover"
    assert derive({"running_tag": False}, {}, False, False) == "idle"  # no work order
    assert derive({"running_tag": False}, {}, True, False) == "down"
    assert derive({"running_tag": False, "fault_tag": True}, {}, True, True) == "planned_stop"
    assert derive({"running_tag": True}, {}, True, True) == "running"  # runs through a break
    assert derive({}, {}, True, False) is None  # nothing read yet
    assert map_state("HELD", {}) == "down"
    assert map_state(6.0, {}) == "running"


def test_reasons_from_fault_code_state_alarm_and_operator(tmp_path: Path) -> None:
    proj = project(tmp_path)
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    journal = Journal(tmp_path / "data" / "alarms.db")
    c.set_context("Line1", {"work_order": "WO1"})
    feed(c, Run=True, Fault=False, FaultCode=0, Changeover=False)
    clock.now += 60
    feed(c, Fault=True, FaultCode=7)  # the PLC's diagnosis
    clock.now += 60
    feed(c, Fault=False, FaultCode=0, Changeover=True)  # still stopped: changeover
    clock.now += 60
    feed(c, Changeover=False)
    clock.now += 60
    feed(c, Run=False)  # a stop nothing explains ...
    clock.now += 5
    journal.append(JournalEntry(clock.now, "Fault.DI", "Fault", "Site/Area/Line1", "high", 700,
                                "raise", "B", True))  # ... until the alarm is journaled
    journal.flush()
    advance(c, clock, clock.now + 1)
    clock.now += 60
    feed(c, Run=True)
    c.commit()
    events = outbox(c)
    started = [e for e in events if e["type"] == "downtime.started"]
    assert [(e["data"]["reason"], e["data"]["reason_source"]) for e in started] == [
        ("MECH.JAM", "fault code 7"), (None, None)]
    assert started[0]["data"]["state"] == "down"
    auto = [e for e in events if e["type"] == "downtime.reason_set"]
    assert [(e["data"]["downtime"], e["data"]["reason"]) for e in auto] == [
        (started[1]["id"], "MECH.FAULT")]
    assert auto[0]["data"]["reason_source"] == "alarm Fault.DI"
    # the changeover was the same stop as the jam: one downtime, its state updated
    assert next(e["data"]["state"] for e in events if e["type"] == "downtime.ended") == \
        "changeover"
    # an operator's choice replaces the automatic one, by the downtime's id
    c.set_downtime_reason(started[0]["id"], "CO", "ann", comment="was a changeover")
    c.commit()
    edit = outbox(c)[-1]
    assert edit["type"] == "downtime.reason_set"
    assert edit["data"]["downtime"] == started[0]["id"]
    assert edit["data"]["reason_source"] == "operator"
    assert edit["data"]["category"] == \
        "changeover"
    with pytest.raises(Exception, match="unknown reason code"):
        c.set_downtime_reason(started[0]["id"], "NOPE")
    journal.close()
    c.close()


def test_a_long_stop_without_reason_is_flagged(tmp_path: Path) -> None:
    proj = project(tmp_path, "\n[production]\nreason_required_s = 120\n")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1"})
    feed(c, Run=True, Fault=False)
    clock.now += 10
    feed(c, Run=False)
    advance(c, clock, clock.now + 100)
    assert not c.lines["Line1"].needs_reason(clock.now)
    advance(c, clock, clock.now + 30)
    assert c.lines["Line1"].needs_reason(clock.now)
    flagged = c.downtimes("Line1", needs_reason=True)
    assert len(flagged) == 1
    assert flagged[0]["end"] is None
    c.set_downtime_reason(flagged[0]["id"], "MECH.JAM")
    c.commit()
    assert not c.lines["Line1"].needs_reason(clock.now)
    assert c.downtimes("Line1", needs_reason=True) == []
    c.close()


def test_context_events_and_work_order_completion(tmp_path: Path) -> None:
    proj = project(tmp_path)
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    assert "started WO1" in c.set_context(None, {"work_order": "WO1", "product": "P30",
                                                 "lot": "L1", "operator": "ann"}, "ann")
    feed(c, Run=True, Fault=False, Good=100, Reject=0)
    clock.now += 600
    feed(c, Good=110, Reject=2)
    clock.now += 60
    assert "lot L2" in c.set_context("Line1", {"lot": "L2"}, "ann")
    clock.now += 60
    result = c.set_context("Line1", {"work_order": "WO2", "lot": "L3"}, "bob")
    assert result == "Line1: completed WO1, started WO2"
    c.commit()
    events = outbox(c)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["workorder.started", "context.changed"]
    assert "lot.changed" in kinds
    assert kinds[-1] == "workorder.started"
    done = next(e for e in events if e["type"] == "workorder.completed")
    assert done["context"]["work_order"] == "WO1"
    assert done["data"]["user"] == "bob"
    assert (done["data"]["produced"], done["data"]["good"], done["data"]["reject"]) == (12, 10, 2)
    assert done["data"]["effectiveness"] == round(30 * 12 / 720, 4)
    assert events[-1]["context"] == {"work_order": "WO2", "product": "P30", "lot": "L3",
                                     "shift": "", "operator": "ann"}
    assert all(e["asset"] == "Site/Area/Line1" for e in events)
    c.close()
    again = core(tmp_path, proj, clock)  # the context survives a restart
    assert again.lines["Line1"].context == {"work_order": "WO2", "product": "P30", "lot": "L3",
                                            "operator": "ann"}
    with pytest.raises(Exception, match="nothing to change"):
        again.set_context(None, {})
    again.close()


def test_counter_wrap_and_reset_give_no_negative_or_huge_counts(tmp_path: Path) -> None:
    proj = project(tmp_path, line="""
[[lines]]
name = "Line1"
running_tag = "Run"
good_tag = "Good"
counter_bits = 16
""")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1"})
    for value in (65530, 65535, 5, 20, 0, 3, 40000, 40010):
        clock.now += 10
        feed(c, Run=True, Good=value)
    c.lines["Line1"].flush_counts(clock.now, c.fx)
    c.commit()
    counts = [e["data"] for e in outbox(c) if e["type"] == "production.count"]
    # +5 +6 (wrap) +15, reset to 0: +0, +3, +39997 (no ideal cycle time: no jump bound), +10
    assert counts[-1]["good"] == 5 + 6 + 15 + 3 + 39997 + 10
    assert all(d["delta_good"] >= 0 for d in counts)
    c.close()


def test_setpoint_changes_become_events(tmp_path: Path) -> None:
    proj = project(tmp_path)
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    feed(c, Speed=100.0)
    clock.now += 1
    feed(c, Speed=100.0)
    clock.now += 1
    feed(c, Speed=250.0)
    c.commit()
    changes = [e["data"] for e in outbox(c) if e["type"] == "setpoint.changed"]
    assert changes == [{"tag": "Speed", "from": 100.0, "to": 250.0, "unit": ""}]
    c.close()


def test_alarm_journal_tail_resumes_from_the_committed_cursor(tmp_path: Path) -> None:
    proj = project(tmp_path)
    clock = Clock(T0)
    journal = Journal(tmp_path / "data" / "alarms.db")
    c = core(tmp_path, proj, clock)
    for i, event in enumerate(("raise", "ack", "rtn", "shelve", "refused")):
        journal.append(JournalEntry(T0 + i, "Fault.DI", "Fault", "Site/Area/Line1", "high", 700,
                                    event, "B", True, user="ann" if event == "ack" else ""))
    journal.flush()
    assert c.tail_alarms() == 5
    c.close()  # "crash": read but never committed
    c = core(tmp_path, proj, clock)
    assert c.tail_alarms() == 5  # read again from the committed cursor ...
    c.commit()
    events = outbox(c)
    assert [e["type"] for e in events] == ["alarm.raised", "alarm.acknowledged",
                                           "alarm.cleared", "alarm.shelved"]  # refused: no
    assert [e["id"] for e in events] == [alarm_event_id("st1", i + 1, T0 + i) for i in range(4)]
    assert events[1]["data"]["user"] == "ann"
    assert events[0]["asset"] == "Site/Area/Line1"
    c.close()
    c = core(tmp_path, proj, clock)
    assert c.tail_alarms() == 0  # ... and never after the commit
    journal.close()
    c.close()


def test_seq_is_gapless_across_restarts_and_failed_commits(tmp_path: Path) -> None:
    proj = project(tmp_path)
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    c.set_context(None, {"work_order": "WO1"})
    c.commit()
    c.close()
    c = core(tmp_path, proj, clock)
    pages = c.store.select("PRAGMA page_count")[0][0]
    c.store.db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    for i in range(300):
        clock.now += 1
        feed(c, Speed=float(i))
    assert c.commit() is False
    assert "full" in c.write_error
    kept = len(c.fx.events)
    assert kept == 299
    c.store.db.execute("PRAGMA max_page_count = 1073741823")  # space again
    assert c.commit() is True
    assert c.write_error == ""
    events = outbox(c)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert len([e for e in events if e["type"] == "setpoint.changed"]) == kept
    c.close()


def test_restart_marks_the_gap_unknown_and_ends_an_open_downtime(tmp_path: Path) -> None:
    proj = project(tmp_path)
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    c.set_context(None, {"work_order": "WO1"})
    feed(c, Run=True, Fault=False)
    clock.now += 60
    feed(c, Fault=True)
    advance(c, clock, clock.now + 60)
    c.store.beat(T0, 1, clock.now)  # the service's heartbeat: last moment the state was known
    c.store.close()  # killed: no stop(), the downtime stays open in the file
    clock.now += 3600
    c = MesCore(proj, tmp_path / "data", clock)
    c.commit()
    ended = [e for e in outbox(c) if e["type"] == "downtime.ended"]
    assert len(ended) == 1
    assert ended[0]["data"]["duration_s"] == pytest.approx(60, abs=1)
    states = c.store.select("SELECT state FROM state_log ORDER BY id")
    assert states[-1] == ("unknown",)
    result = c.oee("Line1", T0, clock.now)
    assert result.unknown_s == pytest.approx(3600, abs=1)  # the outage is not counted
    c.close()


def test_mes_db_is_full_sync_wal(tmp_path: Path) -> None:
    c = core(tmp_path, project(tmp_path), Clock(T0))
    assert c.store.select("PRAGMA synchronous")[0][0] == 2
    assert c.store.select("PRAGMA journal_mode")[0][0] == "wal"
    c.close()
    with sqlite3.connect(tmp_path / "data" / "mes.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_an_implausible_counter_jump_is_not_production(tmp_path: Path, caplog) -> None:
    # ideal 1 s per unit, max_count_rate 10 (the default): at most 600 units in a minute
    proj = project(tmp_path, line="""
[[lines]]
name = "Line1"
running_tag = "Run"
good_tag = "Good"
counter_bits = 16
ideal_cycle_s = 1.0
""")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1"})
    with caplog.at_level("WARNING", logger="hmi.mes.line"):
        for value in (0, 3, 40000, 40010):  # a PLC preset to 40000, 10 s after 3
            clock.now += 10
            feed(c, Run=True, Good=value)
    c.lines["Line1"].flush_counts(clock.now, c.fx)
    clock.now += 3600  # an hour without a reading: 2,000 more is plausible (<= 36,000)
    feed(c, Run=True, Good=42010)
    c.lines["Line1"].flush_counts(clock.now, c.fx)
    c.commit()
    counts = [e["data"] for e in outbox(c) if e["type"] == "production.count"]
    assert counts[0]["good"] == 3 + 10  # the jump is rebased, not counted
    assert counts[0]["implausible_jumps"] == 1  # and visible to the MES
    assert counts[1]["good"] == 3 + 10 + 2000
    assert "implausible_jumps" not in counts[1]
    jumps = [r for r in caplog.records if "jumped by 39997" in r.getMessage()]
    assert len(jumps) == 1
    c.close()
