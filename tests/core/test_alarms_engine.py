"""The alarm state machine, one behaviour per test, with an injected clock (no waiting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alarms.permissions import AlarmCommandError, PermissionDenied, RoleTable
from alarms.states import State
from hmi.tags import Quality, Sample
from tests.core.alarm_helpers import Clock, events, feed, manager

LEVEL = "Line1.Filler.Level"
HI = {"tag": LEVEL, "type": "high", "limit": 90.0, "deadband": 2.0}


def test_on_delay_filters_a_short_excursion(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [{**HI, "on_delay_s": 2.0}], clock)
    feed(mgr, LEVEL, 95.0)
    clock.t += 1.0
    mgr.tick()
    feed(mgr, LEVEL, 80.0)  # back before the delay ran out
    clock.t += 5.0
    mgr.tick()
    assert mgr.state("Line1.Filler.Level.HI") is State.NORMAL
    feed(mgr, LEVEL, 95.0)
    clock.t += 2.0
    mgr.tick()
    assert mgr.state("Line1.Filler.Level.HI") is State.UNACK
    assert events(journal) == ["raise"]


def test_off_delay_holds_the_alarm(tmp_path: Path) -> None:
    clock = Clock()
    mgr, _ = manager(tmp_path, [{**HI, "off_delay_s": 3.0}], clock)
    feed(mgr, LEVEL, 95.0)
    feed(mgr, LEVEL, 50.0)
    clock.t += 2.0
    mgr.tick()
    assert mgr.state("Line1.Filler.Level.HI") is State.UNACK
    clock.t += 1.0
    mgr.tick()
    assert mgr.state("Line1.Filler.Level.HI") is State.RTN_UNACK


def test_deadband_stops_chatter_at_the_limit(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [HI], clock)
    for value in (90.0, 89.5, 90.2, 88.5, 90.0, 89.0):  # hovering within 2.0 of the limit
        feed(mgr, LEVEL, value)
        clock.t += 1
    assert events(journal) == ["raise"]
    feed(mgr, LEVEL, 87.9)  # below limit - deadband: clears once
    assert events(journal) == ["raise", "rtn"]


def test_rtn_unacknowledged_then_ack_to_normal(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [HI], clock)
    name = "Line1.Filler.Level.HI"
    feed(mgr, LEVEL, 95.0)
    feed(mgr, LEVEL, 50.0)
    assert mgr.state(name) is State.RTN_UNACK
    assert mgr.ack(name, user="ann", comment="seen") == [name]
    assert mgr.state(name) is State.NORMAL
    journal.flush()
    rows = journal.query(event="ack")
    assert rows[0]["user"] == "ann"
    assert rows[0]["comment"] == "seen"


def test_ack_while_active_then_rtn_goes_normal(tmp_path: Path) -> None:
    clock = Clock()
    mgr, _ = manager(tmp_path, [HI], clock)
    name = "Line1.Filler.Level.HI"
    feed(mgr, LEVEL, 95.0)
    mgr.ack(name, user="ann")
    assert mgr.state(name) is State.ACKED
    feed(mgr, LEVEL, 50.0)
    assert mgr.state(name) is State.NORMAL


def test_latch_needs_reset(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [{**HI, "latched": True}], clock)
    name = "Line1.Filler.Level.HI"
    feed(mgr, LEVEL, 95.0)
    mgr.ack(name, user="ann")
    with pytest.raises(AlarmCommandError, match="still active"):
        mgr.reset(name, user="ann")
    feed(mgr, LEVEL, 50.0)
    assert mgr.state(name) is State.LATCHED
    mgr.reset(name, user="ann", comment="checked")
    assert mgr.state(name) is State.NORMAL
    assert events(journal) == ["raise", "ack", "rtn", "reset"]


def test_shelve_expires_and_is_capped(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [HI], clock, shelve_max_min=60)
    name = "Line1.Filler.Level.HI"
    feed(mgr, LEVEL, 95.0)
    with pytest.raises(AlarmCommandError, match="maximum shelve time of 60 min"):
        mgr.shelve(name, 61, "sensor fouled", "ann")
    until = mgr.shelve(name, 15, "sensor fouled", "ann")
    assert until == clock.t + 900
    assert mgr.state(name) is State.SHELVED
    clock.t += 899
    mgr.tick()
    assert mgr.state(name) is State.SHELVED
    clock.t += 1
    mgr.tick()
    assert mgr.state(name) is State.UNACK  # still standing: annunciated again
    journal.flush()
    rows = journal.query(event="unshelve")
    assert rows[0]["user"] == "system"
    assert events(journal) == ["raise", "shelve", "unshelve", "raise"]


def test_an_alarm_may_have_a_shorter_shelve_maximum(tmp_path: Path) -> None:
    clock = Clock()
    mgr, _ = manager(tmp_path, [{**HI, "shelve_max_min": 20}], clock, shelve_max_min=60)
    name = "Line1.Filler.Level.HI"
    feed(mgr, LEVEL, 95.0)
    with pytest.raises(AlarmCommandError, match="this alarm's maximum shelve time of 20 min"):
        mgr.shelve(name, 30, "sensor fouled", "ann")
    assert mgr.shelve(name, 20, "sensor fouled", "ann") == clock.t + 1200
    assert mgr.state(name) is State.SHELVED


def test_an_alarms_shelve_maximum_never_exceeds_the_projects(tmp_path: Path) -> None:
    """A hand-built config above the project's cap (the loader refuses it): the project's wins."""
    clock = Clock()
    mgr, _ = manager(tmp_path, [{**HI, "shelve_max_min": 600}], clock, shelve_max_min=60)
    feed(mgr, LEVEL, 95.0)
    with pytest.raises(AlarmCommandError, match="the project's maximum shelve time of 60 min"):
        mgr.shelve("Line1.Filler.Level.HI", 61, "sensor fouled", "ann")


def test_one_shot_shelve_ends_on_return_to_normal(tmp_path: Path) -> None:
    clock = Clock()
    mgr, _ = manager(tmp_path, [HI], clock)
    name = "Line1.Filler.Level.HI"
    feed(mgr, LEVEL, 95.0)
    mgr.shelve(name, None, "known issue", "ann")
    clock.t += 100_000
    mgr.tick()
    assert mgr.state(name) is State.SHELVED
    feed(mgr, LEVEL, 10.0)
    assert mgr.state(name) is State.NORMAL


def test_shelve_without_reason_is_refused(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [HI], clock)
    with pytest.raises(AlarmCommandError, match="needs a reason"):
        mgr.shelve("Line1.Filler.Level.HI", 10, "  ", "ann")
    assert mgr.state("Line1.Filler.Level.HI") is State.NORMAL
    assert events(journal) == []


def test_shelve_permission_refused_is_journaled(tmp_path: Path) -> None:
    clock = Clock()
    roles = RoleTable({"operator": {"ack"}, "supervisor": {"ack", "shelve"}})
    mgr, journal = manager(tmp_path, [HI], clock, permissions=roles)
    with pytest.raises(PermissionDenied):
        mgr.shelve("Line1.Filler.Level.HI", 10, "noisy", "bob", role="operator")
    mgr.shelve("Line1.Filler.Level.HI", 10, "noisy", "sue", role="supervisor")
    assert events(journal) == ["refused", "shelve"]


def test_suppression_by_state_condition_and_release(tmp_path: Path) -> None:
    clock = Clock()
    low = {"tag": LEVEL, "type": "low", "limit": 20.0,
           "suppress_when": "Line1.Filler.Running == false"}
    mgr, journal = manager(tmp_path, [low], clock)
    name = "Line1.Filler.Level.LO"
    feed(mgr, "Line1.Filler.Running", False)
    feed(mgr, LEVEL, 5.0)
    assert mgr.state(name) is State.SUPPRESSED
    assert mgr.active(include_hidden=False) == []
    feed(mgr, "Line1.Filler.Running", True)  # line starts with the tank still empty
    assert mgr.state(name) is State.UNACK
    assert events(journal) == ["suppress", "unsuppress", "raise"]


def test_suppression_with_unknown_tag_does_not_hide(tmp_path: Path) -> None:
    clock = Clock()
    low = {"tag": LEVEL, "type": "low", "limit": 20.0, "suppress_when": "not Line1.Run"}
    mgr, _ = manager(tmp_path, [low], clock)
    feed(mgr, "Line1.Run", None, Quality.BAD)
    feed(mgr, LEVEL, 5.0)
    assert mgr.state("Line1.Filler.Level.LO") is State.UNACK


def test_out_of_service_then_back_reevaluates(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [{**HI, "on_delay_s": 30.0}], clock)
    name = "Line1.Filler.Level.HI"
    mgr.set_out_of_service(name, True, user="ann", reason="transmitter replaced")
    feed(mgr, LEVEL, 97.0)
    clock.t += 60
    mgr.tick()
    assert mgr.state(name) is State.OUT_OF_SERVICE
    mgr.set_out_of_service(name, False, user="ann")
    assert mgr.state(name) is State.UNACK  # no second on-delay: it has been standing
    assert events(journal) == ["oos", "in_service", "raise"]


def test_realarm_after_standing(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [{**HI, "realarm_min": 10}], clock)
    name = "Line1.Filler.Level.HI"
    feed(mgr, LEVEL, 95.0)
    mgr.ack(name, user="ann")
    clock.t += 599
    mgr.tick()
    assert mgr.state(name) is State.ACKED
    clock.t += 1
    mgr.tick()
    assert mgr.state(name) is State.UNACK
    assert events(journal) == ["raise", "ack", "realarm"]


def test_first_out_per_group(tmp_path: Path) -> None:
    clock = Clock()
    stops = [{"tag": "Line1.Filler.Fault", "type": "digital", "group": "stops"},
             {"tag": "Line1.Packer.Fault", "type": "digital", "group": "stops"}]
    mgr, _ = manager(tmp_path, stops, clock)
    feed(mgr, "Line1.Packer.Fault", True)
    clock.t += 0.5
    feed(mgr, "Line1.Filler.Fault", True)
    first = {r["name"]: r["first_out"] for r in mgr.active()}
    assert first == {"Line1.Packer.Fault.DI": True, "Line1.Filler.Fault.DI": False}
    for tag in ("Line1.Packer.Fault", "Line1.Filler.Fault"):
        feed(mgr, tag, False)
    mgr.ack(user="ann")
    feed(mgr, "Line1.Filler.Fault", True)  # the group was quiet: a new first-out
    assert mgr.summary("Line1.Filler.Fault.DI")["first_out"] is True


def test_bad_quality_alarm_and_holding_others(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [HI, {"tag": LEVEL, "type": "bad_quality"}], clock)
    feed(mgr, LEVEL, 95.0)
    feed(mgr, LEVEL, None, Quality.BAD)
    assert mgr.state("Line1.Filler.Level.BAD") is State.UNACK
    assert mgr.state("Line1.Filler.Level.HI") is State.UNACK  # held: the value is unknown
    feed(mgr, LEVEL, 50.0)
    assert mgr.state("Line1.Filler.Level.BAD") is State.RTN_UNACK
    assert mgr.state("Line1.Filler.Level.HI") is State.RTN_UNACK
    assert events(journal, "Line1.Filler.Level.BAD") == ["raise", "rtn"]
    mgr.ack(user="ann")
    mgr.on_batch([Sample(LEVEL, None, clock.t, Quality.BAD, "out of service: device disabled")])
    assert mgr.state("Line1.Filler.Level.BAD") is State.NORMAL


def test_deviation_and_rate_of_change(tmp_path: Path) -> None:
    clock = Clock()
    dev = {"tag": "Speed", "type": "deviation", "setpoint_tag": "SpeedSp", "limit": 10.0}
    roc = {"tag": "Temp", "type": "roc", "limit": 1.0}  # units per second
    mgr, _ = manager(tmp_path, [dev, roc], clock)
    feed(mgr, "SpeedSp", 100.0)
    feed(mgr, "Speed", 95.0)
    assert mgr.state("Speed.DEV") is State.NORMAL
    feed(mgr, "SpeedSp", 120.0)  # a setpoint change re-evaluates the deviation
    assert mgr.state("Speed.DEV") is State.UNACK
    feed(mgr, "Temp", 20.0)
    clock.t += 10
    feed(mgr, "Temp", 25.0)
    assert mgr.state("Temp.ROC") is State.NORMAL
    clock.t += 1
    feed(mgr, "Temp", 30.0)
    assert mgr.state("Temp.ROC") is State.UNACK


def test_ack_by_area_and_listeners(tmp_path: Path) -> None:
    clock = Clock()
    alarms = [{"tag": "Line1.Filler.Fault", "type": "digital"},
              {"tag": "Line1.Packer.Fault", "type": "digital"}]
    mgr, _ = manager(tmp_path, alarms, clock)
    seen: list[str] = []
    unsubscribe = mgr.add_listener(lambda rows: seen.extend(r["name"] for r in rows))
    feed(mgr, "Line1.Filler.Fault", True)
    feed(mgr, "Line1.Packer.Fault", True)
    assert mgr.ack(area="Plant/Line1/Packer", user="ann") == ["Line1.Packer.Fault.DI"]
    assert seen == ["Line1.Filler.Fault.DI", "Line1.Packer.Fault.DI", "Line1.Packer.Fault.DI"]
    unsubscribe()
    assert mgr.ack(user="ann") == ["Line1.Filler.Fault.DI"]
    assert len(seen) == 3


def test_restore_after_restart(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [HI], clock)
    feed(mgr, LEVEL, 95.0)
    journal.flush()
    again, journal2 = manager(tmp_path, [HI], clock)
    again.restore(journal2.load_states())
    assert again.state("Line1.Filler.Level.HI") is State.UNACK
    feed(again, LEVEL, 50.0)
    assert again.state("Line1.Filler.Level.HI") is State.RTN_UNACK
    journal.close()
    journal2.close()


def test_refused_ack_all_is_journaled(tmp_path: Path) -> None:
    clock = Clock()
    mgr, journal = manager(tmp_path, [HI], clock, permissions=RoleTable({"viewer": set()}))
    feed(mgr, LEVEL, 95.0)
    with pytest.raises(PermissionDenied, match="ack refused for vic"):
        mgr.ack(user="vic", role="viewer")
    journal.flush()
    refused = journal.query(event="refused")
    assert [(r["alarm"], r["user"]) for r in refused] == [("*", "vic")]
    assert mgr.state("Line1.Filler.Level.HI") is State.UNACK


def test_release_from_suppression_requalifies_through_on_delay(tmp_path: Path) -> None:
    clock = Clock()
    dev = {"tag": "Speed", "type": "deviation", "setpoint_tag": "SpeedSp", "limit": 20.0,
           "on_delay_s": 10.0, "suppress_when": "not Running"}
    mgr, journal = manager(tmp_path, [dev], clock)
    feed(mgr, "SpeedSp", 300.0)
    feed(mgr, "Running", False)
    feed(mgr, "Speed", 0.0)
    clock.t += 30
    mgr.tick()
    feed(mgr, "Running", True)  # restarted, still ramping up
    assert mgr.state("Speed.DEV") is State.NORMAL
    clock.t += 5
    feed(mgr, "Speed", 290.0)  # reached the setpoint within the on-delay: no alarm
    clock.t += 10
    mgr.tick()
    assert mgr.state("Speed.DEV") is State.NORMAL
    assert "raise" not in events(journal)
