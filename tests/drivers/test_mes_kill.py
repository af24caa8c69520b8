"""kill -9 of a running station (a real `hmi run` subprocess), repeatedly: mid-send (the MES
stub holds a stored batch unanswered) and at random moments (alarm transitions, state changes
and setpoint changes commit several times a second). Afterwards nothing is lost and nothing
is duplicated at the stub: every seq once, gapless, and every committed cause (alarm journal
row, state change, downtime) has its event."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.mes.events import alarm_event_id
from tests.conftest import wait_until
from tests.core.security_helpers import cli_users
from tests.drivers.mes_fixtures import Stubs

ROOT = Path(__file__).resolve().parents[2]

PROJECT = """\
[project]
name = "Kill test"
asset = "Site/Line1"

[mes]
enabled = true
url = "{url}"
station_id = "kill-test"
timeout_s = 3
retry_max_s = 0.5
batch_size = 200

[production]
count_interval_s = 1
microstop_s = 0

[[devices]]
name = "plc"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Blink"
device = "plc"
type = "bool"
sim = {{ signal = "square", period_s = 0.3 }}

[[tags]]
name = "Run"
device = "plc"
type = "bool"
sim = {{ signal = "square", period_s = 0.7 }}

[[tags]]
name = "Good"
device = "plc"
type = "uint32"
sim = {{ signal = "counter" }}

[[tags]]
name = "Speed"
device = "plc"
type = "float32"
writable = true
sim = {{ signal = "sine", amplitude = 50, center = 100, period_s = 2 }}

[[alarms]]
tag = "Blink"
type = "digital"
priority = "low"

[[lines]]
name = "Line1"
running_tag = "Run"
good_tag = "Good"
"""


def station(project: Path, data: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "hmi.cli", "run", str(project), "--headless",
                             "--data", str(data), "--status-every", "0"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_kill_9_mid_send_and_mid_transition_loses_and_duplicates_nothing(
        tmp_path: Path, stubs: Stubs) -> None:
    stub = stubs.start(stall_s=0.25)  # every answer comes late: a wide mid-send window
    project = tmp_path / "kill.toml"
    project.write_text(PROJECT.format(url=stub.url), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    cli_users(data)
    assert main(["context", "set", str(project), "--work-order", "WO1", "--lot", "A",
                 "--user", "ann", "--data", str(data)]) == 0  # no station: into mes.db
    rng = random.Random(15)
    kills = {"mid-send": 0, "random": 0}
    for round_ in range(6):
        before = len(stub.events)

        def progressed(before: int = before) -> bool:
            return len(stub.events) > before + 30  # about a second of plant activity

        proc = station(project, data)
        try:
            if round_ % 2 == 0:  # mid-send: the stub stored a batch and has not answered yet
                wait_until(lambda: progressed() and stub.stalling.is_set(), 30, 0.002)
                kills["mid-send"] += 1
            else:  # anywhere: mid-transition, mid-commit, mid-send
                wait_until(progressed, 30)
                with pytest.raises(subprocess.TimeoutExpired):  # still running at the kill
                    proc.wait(rng.uniform(0.05, 1.0))
                kills["random"] += 1
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(10)
    # a last run stopped properly, then the rest delivered by `hmi mes drain`
    proc = station(project, data)
    try:
        before = len(stub.events)
        wait_until(lambda: len(stub.events) > before + 20, 30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
        proc.wait(10)
    stub.stall_s = 0.0
    assert main(["mes", "drain", str(project), "--data", str(data), "--timeout", "30"]) == 0

    events = list(stub.events)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1)), "lost, reordered or duplicated events"
    assert len({e["id"] for e in events}) == len(events)
    assert stub.duplicates > 0  # mid-send kills made the station send batches again
    assert kills == {"mid-send": 3, "random": 3}
    with sqlite3.connect(data / "mes.db") as mes:
        assert mes.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)
        assert mes.execute("SELECT COUNT(*) FROM quarantine").fetchone() == (0,)
        assert mes.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone() == (
            len(events) + 1,)
        states = mes.execute("SELECT COUNT(*) FROM state_log WHERE state != 'unknown'"
                             ).fetchone()[0]
        downtimes = mes.execute("SELECT COUNT(*), COUNT(end) FROM downtimes").fetchone()
    with sqlite3.connect(data / "alarms.db") as alarms:
        rows = alarms.execute("SELECT id, ts FROM alarm_journal WHERE event != 'refused'"
                              ).fetchall()
    by_type: dict[str, int] = {}
    for e in events:
        by_type[e["type"]] = by_type.get(e["type"], 0) + 1
    alarm_ids = {e["id"] for e in events if e["type"].startswith("alarm.")}
    assert alarm_ids == {alarm_event_id("kill-test", i, ts) for i, ts in rows}
    assert len(rows) > 10  # transitions were journaled across the kills
    assert by_type["state.changed"] == states
    assert (by_type.get("downtime.started", 0), by_type.get("downtime.ended", 0)) == downtimes
    assert downtimes[0] >= 6
