"""Issue 11: the `$station` device: health as tags, recorded, alarming, tunable; and the
station's status line and diagnostics while its databases refuse writes."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from alarms.journal import Journal
from alarms.service import AlarmService
from hmi.cli.core import _status_line
from hmi.cli.main import main
from hmi.historian.query import HistoryReader
from hmi.historian.service import HistorianService
from hmi.mes.service import MesService
from hmi.project import ProjectInvalid, load_project
from hmi.runtime import Runtime
from hmi.security.service import SecurityService
from hmi.tags import Quality, Sample
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo" / "project.toml"

BASE = '''[project]
name = "station"

[[devices]]
name = "sim"
protocol = "sim"
poll_ms = 100

[[devices]]
name = "spare"
protocol = "sim"
enabled = false

[[tags]]
name = "Level"
device = "sim"
sim = { signal = "sine", amplitude = 10.0 }

[[tags]]
name = "Spare.Value"
device = "spare"
'''


def service(runtime: Runtime, cls: type) -> Any:
    return next(s for s in runtime.services if isinstance(s, cls))


def write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "p.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def test_every_project_gets_the_station_tags_and_default_alarms() -> None:
    project = load_project(DEMO)
    names = [t.name for t in project.station_tags]
    for name in ("$station.disk_free_mb", "$station.historian.lag_s",
                 "$station.historian.buffered_rows", "$station.journal.buffered_rows",
                 "$station.dispatch.lag_s", "$station.clock.last_step_s",
                 "$station.device.filler.connected", "$station.device.packer.connected"):
        assert name in names
    assert [t.name for t in project.tags] == [t.name for t in project.model.tags] + names
    assert project.tag("$station.disk_free_mb").unit == "MB"
    assert {a.name for a in project.station_alarms} == {
        "$station.disk_low", "$station.historian_not_writing", "$station.journal_not_writing",
        "$station.clock_stepped", "$station.device.filler.down", "$station.device.packer.down"}
    assert project.alarms == project.model.alarms  # the master alarm database stays the file's


def test_a_project_tunes_or_switches_off_station_alarms(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, '''
[station]
disk_low_mb = 2000

[station.alarms.clock_stepped]
enabled = false

[station.alarms.disk_low]
priority = "urgent"
on_delay_s = 0

[station.alarms.device_down]
on_delay_s = 3
'''))
    alarms = {a.name: a for a in project.station_alarms}
    assert "$station.clock_stepped" not in alarms
    assert alarms["$station.disk_low"].priority == "urgent"
    assert alarms["$station.disk_low"].limit == 2000
    assert alarms["$station.disk_low"].on_delay_s == 0
    assert alarms["$station.device.sim.down"].on_delay_s == 3
    assert "$station.device.spare.down" not in alarms  # a disabled device is not "down"


def test_station_names_are_reserved_and_bad_station_keys_are_located(tmp_path: Path) -> None:
    path = write(tmp_path, '''
[[tags]]
name = "$station.disk_free_mb"
device = "sim"
''')
    with pytest.raises(ProjectInvalid) as info:
        load_project(path)
    line = path.read_text().splitlines().index('name = "$station.disk_free_mb"') + 1
    assert str(info.value).endswith(
        f":{line}: tags.$station.disk_free_mb.name: names starting with '$' are reserved for "
        "the station's own tags, found '$station.disk_free_mb'")
    path = write(tmp_path, '''
[station.alarms.disk_full]
enabled = false
''')
    with pytest.raises(ProjectInvalid) as info:
        load_project(path)
    line = path.read_text().splitlines().index("[station.alarms.disk_full]") + 1
    assert str(info.value).endswith(f":{line}: station.alarms.disk_full: unknown key: input should "
                                    "be 'disk_low', 'historian_not_writing', "
                                    "'journal_not_writing', 'clock_stepped' or 'device_down', "
                                    "found 'disk_full'")


def test_hmi_check_counts_the_station_separately(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEMO)]) == 0
    out = capsys.readouterr().out
    project = load_project(DEMO)
    tags, alarms = len(project.model.tags), len(project.model.alarms)
    assert f"2 devices, {tags} tags, {alarms} alarms (plus the station's own: 15 $station " \
        "tags, 6 alarms)" in out


def test_station_tags_are_recorded_and_alarm_like_any_tag(tmp_path: Path, data_dir: Path
                                                         ) -> None:
    project = load_project(write(tmp_path, '''
[station]
period_s = 0.1
disk_low_mb = 1e12             # every disk is "low": the default alarm must raise

[station.alarms.disk_low]
on_delay_s = 0
'''))
    with Runtime(project, data_dir) as runtime:
        alarms = service(runtime, AlarmService)
        wait_until(lambda: any(a["name"] == "$station.disk_low"
                               for a in alarms.manager.active()))
        assert runtime.tags.value("$station.disk_free_mb") > 0
        wait_until(lambda: runtime.tags.value("$station.device.sim.connected") is True)
        spare = runtime.tags.get("$station.device.spare.connected")
        assert spare.quality is Quality.BAD
        assert "disabled" in spare.reason
        assert runtime.tags.value("$station.historian.failing") is False
        assert runtime.tags.value("$station.memory_mb") > 10
        result = runtime.write("$station.disk_free_mb", 1.0)
        assert not result.ok
        assert "read-only" in result.message
        service(runtime, HistorianService).historian.flush()
    with HistoryReader(data_dir / "history.db") as reader:
        assert reader.count("$station.disk_free_mb", 0, 4e9) >= 1
        assert reader.count("$station.device.sim.connected", 0, 4e9) >= 1
    journal = Journal(data_dir / "alarms.db")
    try:
        assert journal.query(alarm="$station.disk_low", event="raise")
    finally:
        journal.close()


def _cap(conn: sqlite3.Connection, on: bool) -> None:
    """A full disk for this connection: no page beyond the current ones, and the free space
    inside them taken by ballast rows (so the next few rows do not still fit)."""
    if not on:
        conn.execute("PRAGMA max_page_count=1073741823")
        conn.execute("DROP TABLE IF EXISTS ballast")
        return
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute("CREATE TABLE IF NOT EXISTS ballast (b BLOB)")
    conn.execute(f"PRAGMA max_page_count={pages + 1}")
    for size in (2000, 200, 20, 1):
        try:
            while True:
                conn.execute("INSERT INTO ballast VALUES (zeroblob(?))", (size,))
        except sqlite3.OperationalError:
            pass


def test_full_disk_shows_in_status_line_tags_and_alarms_then_clears(
        tmp_path: Path, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    project = load_project(write(tmp_path, '''
[station]
period_s = 0.1

[station.alarms.historian_not_writing]
on_delay_s = 0

[station.alarms.journal_not_writing]
on_delay_s = 0
'''))
    with Runtime(project, data_dir) as runtime:
        hist, alarms = service(runtime, HistorianService), service(runtime, AlarmService)
        writer = hist.historian.writer
        runtime.wait_first_cycle(5)
        writer.retry_max_s = alarms.retry_max_s = 0.5  # retry often: the test waits for it
        writer.call(lambda: _cap(writer._conn, True))
        alarms.call(lambda m: _cap(alarms.journal._db, True)).result(5)
        for i in range(300):  # journal rows the capped pages cannot take
            alarms.station_event(f"test row {i}", i)
        now = runtime.clock()  # and history rows (the spare device's tag is otherwise idle)
        hist.historian.submit([Sample("Spare.Value", float(i), now + i * 0.001)
                               for i in range(3000)])
        wait_until(lambda: runtime.tags.value("$station.historian.failing")
                   and runtime.tags.value("$station.journal.failing"), 20)
        wait_until(lambda: runtime.tags.value("$station.historian.buffered_rows") > 0)
        wait_until(lambda: {"$station.historian_not_writing", "$station.journal_not_writing"}
                   <= {a["name"] for a in alarms.manager.active()})
        line = _status_line(runtime)
        assert "history:" in line
        assert "NOT WRITING (database or disk is full)" in line
        assert "JOURNAL NOT WRITING (database or disk is full)" in line
        services = runtime.diagnostics()["services"]
        assert services["HistorianService"]["state"] == "holding in memory"
        assert services["AlarmService"]["buffered_rows"] > 0
        writer.call(lambda: _cap(writer._conn, False))
        alarms.call(lambda m: _cap(alarms.journal._db, False)).result(5)
        wait_until(lambda: not runtime.tags.value("$station.historian.failing")
                   and not runtime.tags.value("$station.journal.failing"), 20)
        line = _status_line(runtime)
        assert "NOT WRITING" not in line  # the current state: no stale error
        assert "ERROR" not in line
        services = runtime.diagnostics()["services"]
        assert services["HistorianService"]["write_error"] == ""
        assert services["AlarmService"]["write_error"] == ""
        assert services["HistorianService"]["dropped_rows"] == 0
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for who in ("history", "alarm journal"):  # one line each way, per writer
        assert len([m for m in said if m.startswith(f"{who}: writing stopped")]) == 1, said
        assert len([m for m in said if m.startswith(f"{who}: writing resumed")]) == 1, said
    assert not any(r.exc_info for r in caplog.records)  # and no traceback
    journal = Journal(data_dir / "alarms.db")
    try:  # the journal rows made while it could not write are there, in order
        raised = journal.query(alarm="$station.journal_not_writing")
        assert [r["event"] for r in raised][:2] == ["raise", "rtn"]
        held = [r["value"] for r in journal.query(event="station") if r["comment"].startswith(
            "test row")]
        assert held == list(range(300))
    finally:
        journal.close()


LINE = """
[[lines]]
name = "Line1"
running_tag = "Level"
"""


def test_stopping_with_a_full_disk_ends_cleanly(tmp_path: Path, data_dir: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    runtime = Runtime(load_project(write(tmp_path, LINE)), data_dir)  # every service running
    runtime.start()
    hist, alarms = service(runtime, HistorianService), service(runtime, AlarmService)
    writer = hist.historian.writer
    runtime.wait_first_cycle(5)
    writer.call(lambda: _cap(writer._conn, True))
    alarms.call(lambda m: _cap(alarms.journal._db, True)).result(5)
    mes = service(runtime, MesService)
    mes.call(lambda core: _cap(core.store.db, True)).result(5)
    security = service(runtime, SecurityService).security.db
    with security.lock:  # its heartbeat row is rewritten in place, so a cap alone passes;
        _cap(security.conn, True)  # another program holding the lock refuses it too
        security.conn.execute("PRAGMA busy_timeout=0")
    blocker = sqlite3.connect(data_dir / "security.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    for i in range(300):
        alarms.station_event(f"test row {i}", i)
    now = runtime.clock()
    hist.historian.submit([Sample("Spare.Value", float(i), now + i * 0.001) for i in range(3000)])
    wait_until(lambda: runtime.tags.value("$station.historian.failing")
               and runtime.tags.value("$station.journal.failing"), 20)
    mes.call(lambda core: [core.set_context(None, {"work_order": f"WO{i}", "lot": "L" * 200})
                           for i in range(40)]).result(5)  # rows the capped pages cannot take
    try:
        wait_until(lambda: "full" in mes.status().write_error, 10)
        runtime.stop()  # no exception, no "cannot rollback - no transaction is active"
    finally:
        blocker.close()
        runtime.stop()
    assert security._closed  # closed although its heartbeat could not be cleared
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len([m for m in said if m.startswith("history: stopped while the database refuses")
                ]) == 1, said
    assert len([m for m in said if m.startswith(
        "alarm journal: stopped while the database refuses")]) == 1, said
    assert len([m for m in said if m.startswith("mes: stopped while mes.db refuses")]) == 1
    assert not any("cannot rollback" in m or "failed to stop" in m for m in said), said
    assert not any(r.exc_info for r in caplog.records)
