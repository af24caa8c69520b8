"""The alarm service inside a real runtime (sim devices), and the CLI talking to it from another
process through the journal file: `active --json` while it runs, `ack` picked up by the service,
and actions applied directly when no station runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from alarms.journal import Journal
from alarms.service import AlarmService
from hmi.project import load_project
from hmi.runtime import Runtime
from tests.conftest import wait_until
from tests.core.security_helpers import cli_users

PROJECT = """\
[project]
name = "Alarm service test"
asset = "Plant/Line1"

[[devices]]
name = "tank"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Tank.Level"
device = "tank"
type = "float32"
writable = true
min = 0
max = 100
sim = { value = 50.0 }

[[tags]]
name = "Tank.Running"
device = "tank"
type = "bool"
writable = true
sim = { value = true }

[[alarms]]
tag = "Tank.Level"
type = "high"
limit = 90.0
deadband = 1.0
priority = "high"
message = "Tank level high"

[[alarms]]
tag = "Tank.Level"
type = "low"
limit = 10.0
message = "Tank level low"
suppress_when = "not Tank.Running"
"""


def hmi(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from hmi.cli.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "alarms", *args, "--data", str(data)],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def project_file(tmp_path: Path, data_dir: Path) -> Path:
    cli_users(data_dir)
    path = tmp_path / "project.toml"
    path.write_text(PROJECT, encoding="utf-8")
    return path


def _service(runtime: Runtime) -> AlarmService:
    return next(s for s in runtime.services if isinstance(s, AlarmService))


def test_service_raises_and_cli_acks_through_the_running_station(
        project_file: Path, data_dir: Path) -> None:
    project = load_project(project_file)
    with Runtime(project, data_dir, services=("alarms.service:AlarmService",)) as runtime:
        service = _service(runtime)
        assert runtime.wait_first_cycle()  # a write while the device connects is refused
        assert runtime.write("Tank.Level", 95.0).status.value == "confirmed"
        wait_until(lambda: service.call(lambda m: m.state("Tank.Level.HI").value).result(5)
                   == "B", timeout_s=10)
        service.flush()
        active = hmi("active", str(project_file), "--json", data=data_dir)
        assert active.returncode == 0, active.stderr
        rows = json.loads(active.stdout)
        assert [(r["name"], r["state"], r["area"]) for r in rows] == \
            [("Tank.Level.HI", "B", "Plant/Line1")]
        ack = hmi("ack", str(project_file), "Tank.Level.HI", "--user", "ann",
                  "--comment", "on it", data=data_dir)
        assert ack.returncode == 0, ack.stderr
        assert "acknowledged 1" in ack.stdout
        assert service.call(lambda m: m.state("Tank.Level.HI").value).result(5) == "C"
        refused = hmi("shelve", str(project_file), "Tank.Level.HI", "--user", "ann",
                      data=data_dir)
        assert refused.returncode == 2
        assert "needs a reason" in refused.stderr
        runtime.write("Tank.Level", 50.0)
        wait_until(lambda: service.call(lambda m: m.state("Tank.Level.HI").value).result(5)
                   == "A", timeout_s=10)
    journal = Journal(data_dir / "alarms.db")
    events = [(r["event"], r["user"]) for r in journal.query(alarm="Tank.Level.HI")]
    assert events == [("raise", ""), ("ack", "ann"), ("rtn", "")]
    assert journal.heartbeat() is None  # a clean stop says no station is running
    journal.close()


def test_cli_applies_directly_when_no_station_runs(project_file: Path, data_dir: Path) -> None:
    shelve = hmi("shelve", str(project_file), "Tank.Level.LO", "--minutes", "5", "--reason",
                 "calibration", "--user", "bob", data=data_dir)
    assert shelve.returncode == 0, shelve.stderr
    too_long = hmi("shelve", str(project_file), "Tank.Level.LO", "--minutes", "9999",
                   "--reason", "x", "--user", "bob", data=data_dir)
    assert too_long.returncode == 2
    assert "maximum shelve time" in too_long.stderr
    active = json.loads(hmi("active", str(project_file), "--json", data=data_dir).stdout)
    assert [(r["name"], r["state"]) for r in active] == [("Tank.Level.LO", "F")]
    journal = hmi("journal", str(project_file), "--json", data=data_dir)
    rows = json.loads(journal.stdout)
    assert [(r["event"], r["user"], r["comment"]) for r in rows] == \
        [("shelve", "bob", "5 min: calibration")]
    unknown = hmi("ack", str(project_file), "No.Such.Alarm", "--user", "bob", data=data_dir)
    assert unknown.returncode == 2
    # a restarted station takes the shelve back
    project = load_project(project_file)
    with Runtime(project, data_dir, services=("alarms.service:AlarmService",)) as runtime:
        service = _service(runtime)
        assert service.call(lambda m: m.state("Tank.Level.LO").value).result(5) == "F"
