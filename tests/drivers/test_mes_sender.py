"""Delivery to a real OPC UA MES (the reference stub on 127.0.0.1) from a real outbox file:
order and gapless seq, a day-long outage, lost acknowledgements, poison events, a small
message limit, a busy MES, and the station's service with its command layer and alarms."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.commands import CommandDenied, Commands
from hmi.runtime import Runtime
from tests.conftest import free_port, wait_until
from tests.core.mes_helpers import Clock, core, feed
from tests.core.security_helpers import PASSWORDS, add_users
from tests.drivers.mes_fixtures import (
    Stubs,
    fill,
    mes_project,
    sender_for,
    stored_lines,
)

T0 = 1_800_000_000.0


def assert_gapless(events: list[dict], first: int = 1) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(first, first + len(seqs))), "seq out of order or with gaps"
    assert len({e["id"] for e in events}) == len(events)


def test_mes_down_for_a_simulated_day_then_up(tmp_path: Path, stubs: Stubs, capsys) -> None:
    port = free_port()
    proj = mes_project(tmp_path, f"opc.tcp://127.0.0.1:{port}", "retry_max_s = 0.5\n"
                                                                 "batch_size = 300\n")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    sender = sender_for(c, tmp_path)
    sender.start()
    try:
        depth = fill(c, clock, 3000, step_s=30.0)  # a day of events while the MES is down
        c.commit()
        assert clock.now - T0 >= 86400 * 0.5
        wait_until(lambda: "cannot connect" in sender.status.last_error, 10)
        assert sender.status.backoff_s > 0
        stub = stubs.start(port=port)  # the MES comes back
        assert stub.wait_for(depth, 60)
        wait_until(lambda: c.store.pending_totals()[0] == 0, 10)
    finally:
        sender.stop()
    events = stub.events
    assert len(events) == depth
    assert_gapless(events)
    assert stub.duplicates == 0
    assert all(e["source"] == "st1" and set(e["context"]) == {"work_order", "product", "lot",
                                                              "shift", "operator"}
               for e in events)
    assert events[0]["type"] == "workorder.started"
    assert events[5]["context"]["work_order"] == "WO1"
    c.close()
    assert main(["mes", "status", str(proj.path), "--json", "--data",
                 str(tmp_path / "data")]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["depth"], status["delivered"], status["last_error"]) == (0, depth, "")


def test_lost_ack_mid_batch_is_resent_and_deduplicated(tmp_path: Path, stubs: Stubs) -> None:
    stub = stubs.start(stall_s=2.0, stall_calls=1)  # stores the first batch, answers too late
    proj = mes_project(tmp_path, stub.url, "timeout_s = 0.5\nretry_max_s = 0.2\n"
                                           "batch_size = 100\n")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    depth = fill(c, clock, 250)
    c.commit()
    sender = sender_for(c, tmp_path)
    sender.start()
    try:
        assert stub.wait_for(depth, 30)
        wait_until(lambda: c.store.pending_totals()[0] == 0, 10)
    finally:
        sender.stop()
    assert sender.status.lost_acks >= 1
    assert stub.duplicates == 100  # the whole first batch came twice ...
    assert_gapless(stub.events)  # ... and was stored once
    assert [e["seq"] for e in stored_lines(tmp_path / "stub.jsonl")] == list(range(1, depth + 1))
    c.close()


def test_poison_event_is_quarantined_and_the_rest_flow(tmp_path: Path, stubs: Stubs,
                                                       capsys) -> None:
    stub = stubs.start(poison="lot.changed")
    proj = mes_project(tmp_path, stub.url, "quarantine_after = 3\nretry_max_s = 0.1\n")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    fill(c, clock, 40)
    c.set_context("Line1", {"lot": "L2"})  # the MES refuses this type
    fill(c, clock, 80)
    c.commit()
    total = c.store.select("SELECT COUNT(*) FROM outbox")[0][0]
    sender = sender_for(c, tmp_path)
    sender.start()
    try:
        assert stub.wait_for(total - 1, 30)
        wait_until(lambda: c.store.pending_totals()[0] == 0, 10)
    finally:
        sender.stop()
    assert "lot.changed" not in [e["type"] for e in stub.events]
    seqs = [e["seq"] for e in stub.events]
    assert seqs == sorted(seqs)
    assert len(seqs) == total - 1
    data = str(tmp_path / "data")
    assert main(["mes", "quarantine", str(proj.path), "list", "--json", "--data", data]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1
    assert rows[0]["type"] == "lot.changed"
    assert rows[0]["tries"] == 3
    assert "BadInvalidArgument" in rows[0]["reason"]
    assert set(range(1, total + 1)) - set(seqs) == {rows[0]["seq"]}
    assert main(["mes", "quarantine", str(proj.path), "export", "--out",
                 str(tmp_path / "q.jsonl"), "--data", data]) == 0
    assert stored_lines(tmp_path / "q.jsonl")[0]["event"]["data"]["to"] == "L2"
    # the MES is fixed: retry puts it back with its own seq, drain delivers it (late)
    stubs.stop(stub)
    stub = stubs.start(port=stub.port)
    assert main(["mes", "quarantine", str(proj.path), "retry", "--data", data]) == 0
    assert "1 event(s) back" in capsys.readouterr().out
    c.close()
    assert main(["mes", "drain", str(proj.path), "--data", data]) == 0
    assert stub.events[-1]["seq"] == rows[0]["seq"]
    assert len(stub.events) == total  # loaded from its file + the late one, no copies


def test_batches_split_under_a_small_server_message_limit(tmp_path: Path, stubs: Stubs) -> None:
    stub = stubs.start(max_message_size=16384)
    proj = mes_project(tmp_path, stub.url, "retry_max_s = 0.2\n", """
[[tags]]
name = "Recipe"
device = "plc"
type = "string"
writable = true
""")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    depth = fill(c, clock, 200)
    feed(c, Recipe="small")
    clock.now += 1
    feed(c, Recipe="x" * 20000)  # one event no message of this MES can carry
    c.commit()
    total_bytes = c.store.pending_totals()[1]
    sender = sender_for(c, tmp_path)
    sender.start()
    try:
        assert stub.wait_for(depth, 30)
        wait_until(lambda: c.store.pending_totals()[0] == 0, 10)
    finally:
        sender.stop()
    assert 4096 < sender.status.max_payload < 16384
    assert stub.calls >= total_bytes // 16384  # split into many calls ...
    assert_gapless(stub.events)  # ... in order, none lost
    quarantined = c.store.select("SELECT type, reason FROM quarantine")
    assert len(quarantined) == 1
    assert "larger than the MES accepts" in quarantined[0][1]
    c.close()


def test_a_busy_mes_gets_capped_backoff_then_everything(tmp_path: Path, stubs: Stubs) -> None:
    stub = stubs.start(refuse_first=4)
    proj = mes_project(tmp_path, stub.url, "retry_max_s = 0.4\n")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    depth = fill(c, clock, 50)
    c.commit()
    sender = sender_for(c, tmp_path)
    started = time.monotonic()
    sender.start()
    try:
        assert stub.wait_for(depth, 30)
    finally:
        sender.stop()
    elapsed = time.monotonic() - started
    assert stub.refused == 4
    assert 0.5 * (0.5 + 0.4 * 3) <= elapsed < 15  # backed off, capped at retry_max_s
    assert_gapless(stub.events)
    c.close()


PLANT = """
[[devices]]
name = "fast"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Blink"
device = "fast"
type = "bool"
sim = { signal = "square", period_s = 0.4 }
"""


def test_station_service_commands_listeners_and_outbox_alarm(tmp_path: Path, stubs: Stubs,
                                                             data_dir: Path) -> None:
    port = free_port()
    proj = mes_project(tmp_path, f"opc.tcp://127.0.0.1:{port}",
                       "outbox_limit_mb = 0.002\nretry_max_s = 0.3\n", PLANT + """
[[alarms]]
tag = "Blink"
type = "digital"
priority = "low"
""")
    runtime = Runtime(proj, data_dir)
    mes = next(s for s in runtime.services if type(s).__name__ == "MesService")
    commands = Commands(runtime)
    add_users(commands.security)
    olga = commands.security.login("olga", PASSWORDS["olga"])  # an operator
    vera = commands.security.login("vera", PASSWORDS["vera"])  # a viewer
    heard: list[frozenset[str]] = []
    mes.add_listener(heard.append)
    with runtime:
        denied = commands.set_context(vera, work_order="WO9")
        with pytest.raises(CommandDenied, match="operator"):
            denied.result(5)
        result = commands.set_context(olga, work_order="WO9", product="P30", lot="A1").result(5)
        assert result == "Line1: started WO9"
        assert mes.context()["work_order"] == "WO9"
        assert any("context" in h for h in heard)
        alarms = next(s for s in runtime.services if type(s).__name__ == "AlarmService")
        # the MES is down: Blink's alarm transitions pile up past the 2 KB limit
        wait_until(lambda: mes.status().over_limit, 20)
        wait_until(lambda: alarms.manager.state("MES.OutboxOverLimit").value == "B", 5)
        assert "cannot connect" in mes.status().last_error
        assert mes.status().depth > 0
        stub = stubs.start(port=port)  # the MES is back; deliver now, through the station
        assert main(["mes", "drain", str(proj.path), "--timeout", "30"]) == 0
        wait_until(lambda: not mes.status().over_limit, 30)
        wait_until(lambda: alarms.manager.state("MES.OutboxOverLimit").value in "AD", 5)
        wait_until(lambda: "MES.OutboxOverLimit" in {e["data"].get("alarm")
                                                     for e in stub.events}, 10)
        hour = mes.oee(window="hour").result(5)
        assert hour is not None
        assert hour.line == "Line1"
        open_stops = mes.downtimes().result(5)  # the sim PLC's Run is 0: stopped with an order
        assert [d["end"] for d in open_stops] == [None]
        assert mes.snapshot()["lines"]["Line1"]["downtime"]["id"] == open_stops[0]["id"]
        answer = commands.set_downtime_reason(olga, open_stops[0]["id"], "MECH.JAM").result(5)
        assert answer.endswith("reason MECH.JAM (Jam)")
        assert mes.snapshot()["lines"]["Line1"]["downtime"]["reason"] == "MECH.JAM"
        assert mes.reasons()[0]["code"] == "MECH"
        audit = [(e.user, e.object, e.result) for e in commands.security.audit.query(
            action="context")]
        assert audit[0][:2] == ("vera", "line")
        assert audit[0][2].startswith("denied")
        assert audit[1:3] == [("olga", "line", "requested"),
                              ("olga", "line", "Line1: started WO9")]
        assert ("olga", f"downtime {open_stops[0]['id']}", answer) in audit
    assert mes.status().delivered > 0
    events = list(stub.events)
    assert_gapless(events)
    raised = [e for e in events if e["type"] == "alarm.raised"
              and e["data"]["alarm"] == "MES.OutboxOverLimit"]
    assert raised  # nothing dropped: the alarm about the outbox went through it too
    assert any(e["type"] == "workorder.started" and e["data"]["user"] == "olga" for e in events)


def test_batch_bytes_limits_each_call(tmp_path: Path, stubs: Stubs) -> None:
    # the server allows far more; the project's own batch_bytes is what splits
    stub = stubs.start()
    proj = mes_project(tmp_path, stub.url, "batch_bytes = 4096\nbatch_size = 500\n")
    clock = Clock(T0)
    c = core(tmp_path, proj, clock)
    depth = fill(c, clock, 150)
    c.commit()
    total_bytes = c.store.pending_totals()[1]
    assert total_bytes > 4 * 4096
    sender = sender_for(c, tmp_path)
    sender.start()
    try:
        assert stub.wait_for(depth, 30)
    finally:
        sender.stop()
    assert sender.status.max_payload > 4096  # not the server's limit at work
    assert len(stub.batches) >= total_bytes // 4096
    assert all(size <= 4096 for _, size in stub.batches)
    assert max(count for count, _ in stub.batches) < depth  # never all in one call
    assert_gapless(stub.events)
    c.close()
