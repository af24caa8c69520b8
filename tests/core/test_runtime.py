"""The runtime's threads: start/stop, one dispatch path, writes, and services, on sim devices."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from drivers.base import WriteStatus
from hmi.cli.main import main
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.tags import Quality, Sample
from tests.conftest import wait_until

PROJECT = """\
[project]
name = "Runtime test"

[[devices]]
name = "fast"
protocol = "sim"
poll_ms = 50

[[devices]]
name = "slow"
protocol = "sim"
poll_ms = 200

[[devices]]
name = "off"
protocol = "sim"
enabled = false

[[tags]]
name = "Fast.Counter"
device = "fast"
type = "uint32"
sim = { signal = "counter" }

[[tags]]
name = "Fast.Slower"
device = "fast"
poll_ms = 500
sim = { signal = "counter" }

[[tags]]
name = "Slow.Setpoint"
device = "slow"
type = "float32"
writable = true
min = 0
max = 100
sim = { value = 5.0 }

[[tags]]
name = "Off.Value"
device = "off"
"""


@pytest.fixture
def project(tmp_path: Path):
    path = tmp_path / "rt.toml"
    path.write_text(PROJECT, encoding="utf-8")
    return load_project(path)


class RecordingService:
    """A real consumer: remembers what the dispatch thread handed it and on which thread."""

    def __init__(self, runtime: Runtime) -> None:
        self.batches: list[list[Sample]] = []
        self.threads: set[str] = set()
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def on_batch(self, batch: list[Sample]) -> None:
        self.threads.add(threading.current_thread().name)
        self.batches.append(batch)


def test_each_device_runs_in_its_own_thread_and_stops_cleanly(project, data_dir) -> None:
    runtime = Runtime(project, data_dir, services=())
    runtime.start()
    try:
        names = {t.name for t in threading.enumerate()}
        assert {"hmi-device-fast", "hmi-device-slow", "hmi-dispatch"} <= names
        assert "hmi-device-off" not in names
        assert runtime.wait_first_cycle(5)
        wait_until(lambda: (runtime.tags.value("Fast.Counter") or 0) >= 5)
    finally:
        runtime.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("hmi-")]


def test_disabled_device_tags_are_bad_out_of_service(project, data_dir) -> None:
    with Runtime(project, data_dir, services=()) as runtime:
        runtime.wait_first_cycle(5)
        sample = runtime.tags.get("Off.Value")
        assert sample is not None
        assert sample.quality is Quality.BAD
        assert "disabled" in sample.reason
        assert runtime.device_health()["off"]["state"] == "disabled"


def test_slower_per_tag_rate_is_polled_less_often(project, data_dir) -> None:
    with Runtime(project, data_dir, services=()) as runtime:
        wait_until(lambda: (runtime.tags.value("Fast.Counter") or 0) >= 20, timeout_s=10)
        fast = runtime.tags.value("Fast.Counter")
        slower = runtime.tags.value("Fast.Slower")
    assert slower < fast / 3, (fast, slower)


def test_services_get_every_batch_in_the_dispatch_thread(project, data_dir, monkeypatch) -> None:
    import hmi.runtime as runtime_module

    module = type(runtime_module)("recording_service_module")
    module.RecordingService = RecordingService
    monkeypatch.setitem(__import__("sys").modules, "recording_service_module", module)
    runtime = Runtime(project, data_dir, services=("recording_service_module:RecordingService",))
    service = runtime.services[0]
    runtime.start()
    try:
        wait_until(lambda: len(service.batches) >= 5)
        assert service.started
    finally:
        runtime.stop()
    assert service.stopped
    assert service.threads == {"hmi-dispatch"}
    # issue 11: the loader's $station tags reach the services like any device's tags
    station = {t.name for t in project.station_tags}
    assert all(s.tag in {"Fast.Counter", "Fast.Slower", "Slow.Setpoint", "Off.Value"} | station
               for batch in service.batches for s in batch)
    assert any(s.tag == "$station.disk_free_mb" for batch in service.batches for s in batch)


def test_missing_service_module_is_skipped(project, data_dir) -> None:
    runtime = Runtime(project, data_dir, services=("no_such_module_xyz:Service",))
    assert runtime.services == []


def test_write_is_confirmed_by_read_back(project, data_dir) -> None:
    with Runtime(project, data_dir, services=()) as runtime:
        runtime.wait_first_cycle(5)
        result = runtime.write("Slow.Setpoint", 42.5)
        assert result.status is WriteStatus.CONFIRMED
        assert result.value == 42.5
        assert runtime.flush(5)  # the read-back travels the same dispatch path as polls
        assert runtime.tags.value("Slow.Setpoint") == 42.5


@pytest.mark.parametrize(("tag", "value", "why"), [
    ("Slow.Setpoint", float("nan"), "not a finite number"),
    ("Slow.Setpoint", float("inf"), "not a finite number"),
    ("Slow.Setpoint", 101.0, "above the maximum"),
    ("Slow.Setpoint", -1, "below the minimum"),
    ("Slow.Setpoint", "ten", "takes a number"),
    ("Fast.Counter", 3, "not writable"),
    ("No.Such.Tag", 1, "unknown tag"),
    ("Off.Value", 1, "disabled"),
])
def test_bad_writes_are_refused_before_anything_is_sent(project, data_dir, tag, value, why):
    with Runtime(project, data_dir, services=()) as runtime:
        runtime.wait_first_cycle(5)
        result = runtime.write(tag, value)
        assert result.status is WriteStatus.REJECTED
        assert why in result.message
        assert runtime.tags.value("Slow.Setpoint") == 5.0


def test_health_reports_counters_and_state(project, data_dir) -> None:
    with Runtime(project, data_dir, services=()) as runtime:
        runtime.wait_first_cycle(5)
        wait_until(lambda: runtime.device_health()["fast"].get("requests", 0) >= 3)
        health = runtime.device_health()["fast"]
        assert health["state"] == "connected"
        assert health["protocol"] == "sim"
        assert health["rtt_mean_ms"] is not None


def test_a_service_that_cannot_start_stops_the_others_and_says_why(
        project, data_dir, capsys) -> None:
    import sqlite3

    from hmi.cli.main import main
    from hmi.runtime import StartError

    blocker = sqlite3.connect(data_dir / "history.db", timeout=0.1)
    blocker.execute("CREATE TABLE IF NOT EXISTS hold (x)")
    blocker.execute("BEGIN EXCLUSIVE")  # another station holding the historian
    try:
        runtime = Runtime(project, data_dir)
        with pytest.raises(StartError, match=r"HistorianService could not start: .*locked"):
            runtime.start()
        assert not [t for t in threading.enumerate() if t.name.startswith("hmi-")]
        # 1, not 2 (bad input): systemd's RestartPreventExitStatus=2 would never retry
        assert main(["run", str(project.path), "--headless", "--for", "1",
                     "--data", str(data_dir)]) == 1
        err = capsys.readouterr().err
        assert "hmi: cannot start: HistorianService could not start" in err
        assert "Traceback" not in err
    finally:
        blocker.rollback()
        blocker.close()


def test_a_start_error_is_one_line_and_bad_input_only_for_the_project(tmp_path: Path) -> None:
    """A real SQLAlchemy error (the historian creates its tables through it) carries the SQL
    on more lines; the station says the sqlite3 error's one line. A lock is the machine's
    fault (exit 1, retried by a service manager), a project error is bad input (exit 2)."""
    import sqlite3

    import sqlalchemy
    from sqlalchemy import create_engine, text

    from hmi.historian.service import HistorianService
    from hmi.project import ProjectInvalid
    from hmi.runtime import StartError

    path = tmp_path / "history.db"
    blocker = sqlite3.connect(path)
    blocker.execute("CREATE TABLE hold (x)")
    blocker.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(sqlalchemy.exc.OperationalError) as info, engine.begin() as conn:
            conn.execute(text("CREATE TABLE samples (tag_id INTEGER, t REAL)"))
    finally:
        engine.dispose()
        blocker.rollback()
        blocker.close()
    assert "[SQL: CREATE TABLE" in str(info.value)
    service = object.__new__(HistorianService)
    error = StartError.of(service, info.value)
    assert str(error) == "HistorianService could not start: database is locked"
    assert not error.bad_input
    try:
        try:
            load_project(tmp_path / "missing.toml")
        except ProjectInvalid as exc:
            raise RuntimeError("the service's own wrapper") from exc
    except RuntimeError as exc:
        error = StartError.of(service, exc)
    assert error.bad_input
    assert str(error) == "HistorianService could not start: the service's own wrapper"


def test_a_service_that_cannot_be_built_is_a_start_error_too(project, data_dir, capsys) -> None:
    """On a full disk with a fresh data directory the security database cannot even be
    created while the services are built (a traceback and exit 1 before); a directory in its
    place is the same refusal without the disk."""
    (data_dir / "security.db").mkdir()
    assert main(["run", str(project.path), "--headless", "--for", "1",
                 "--data", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err == "hmi: cannot start: SecurityService could not start: unable to open " \
                  "database file\n"
    assert not [t for t in threading.enumerate() if t.name.startswith("hmi-")]


def test_one_station_per_data_directory(project, data_dir, capsys) -> None:
    """A second station on a running station's data directory is refused in one line, exit 1
    (both would write the same history, journal and outbox); read-only tools still run; the
    lock goes with the first station, and with a killed process (an OS lock, never stale)."""
    import os
    import subprocess
    import sys

    from hmi.runtime import StartError

    first = Runtime(project, data_dir)
    first.start()
    try:
        second = Runtime(project, data_dir)
        with pytest.raises(StartError, match=r"data directory .* is in use by another station "
                                             rf"\(pid {os.getpid()} on .*--data DIR"):
            second.start()
        assert main(["run", str(project.path), "--headless", "--for", "1",
                     "--data", str(data_dir)]) == 1
        err = capsys.readouterr().err
        assert "is in use by another station" in err
        assert "Traceback" not in err
        with Runtime(project, data_dir, services=()):  # like `hmi tags`: no lock needed
            pass
    finally:
        first.stop()
    with Runtime(project, data_dir):  # free again once the first station stopped
        pass
    # a process killed while holding it leaves no stale lock behind
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from hmi.station_lock import StationLock; "
         "lock = StationLock(sys.argv[1]); lock.acquire(); print('held', flush=True); "
         "time.sleep(60)",
         str(data_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StartError, match=rf"pid {holder.pid} "):
            Runtime(project, data_dir).start()
    finally:
        holder.kill()
        holder.wait(10)
    with Runtime(project, data_dir):
        pass
