"""The MES service inside a running station (sim devices, real SQLite files): a full disk
raises the write alarm and loses nothing; the snapshot and status the GUI reads; a full or
locked mes.db is said once each way, without a traceback, and a stop then ends cleanly."""

from __future__ import annotations

import itertools
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hmi.runtime import Runtime
from tests.conftest import wait_until
from tests.core.mes_helpers import project

SIM = """
[[devices]]
name = "fast"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Wave"
device = "fast"
type = "float32"
writable = true
sim = { signal = "sine", amplitude = 10, period_s = 1 }

[[tags]]
name = "Always"
device = "fast"
type = "bool"
sim = { value = true }
"""
LINE = """
[[lines]]
name = "Line1"
running_tag = "Always"
"""


def test_a_full_disk_raises_the_write_alarm_and_loses_nothing(tmp_path: Path,
                                                              data_dir: Path) -> None:
    proj = project(tmp_path, SIM, LINE)
    runtime = Runtime(proj, data_dir)
    mes = next(s for s in runtime.services if type(s).__name__ == "MesService")
    alarms = next(s for s in runtime.services if type(s).__name__ == "AlarmService")
    with runtime:
        wait_until(lambda: mes.status().depth > 5, 10)  # setpoint.changed from the sine

        def fill_disk(core) -> int:
            pages = core.store.select("PRAGMA page_count")[0][0]
            core.store.db.execute(f"PRAGMA max_page_count = {pages}")
            return pages

        mes.call(fill_disk).result(5)
        wait_until(lambda: "full" in mes.status().write_error, 10)
        wait_until(lambda: alarms.manager.state("MES.OutboxWriteFailed").value == "B", 5)
        assert "full" in mes.status().last_error
        stuck = mes.status().depth
        mes.call(lambda core: core.store.db.execute(
            "PRAGMA max_page_count = 1073741823")).result(5)
        wait_until(lambda: mes.status().write_error == "", 10)
        wait_until(lambda: mes.status().depth > stuck + 10, 10)  # the kept events, and more
        wait_until(lambda: alarms.manager.state("MES.OutboxWriteFailed").value == "D", 5)
        snapshot = mes.snapshot()
        assert snapshot["lines"]["Line1"]["state"] == "running"  # running, even with no order
        assert snapshot["status"].over_limit is False
    seqs = _seqs(data_dir)
    assert seqs == list(range(1, len(seqs) + 1))
    values = [e for e in _bodies(data_dir) if e["type"] == "setpoint.changed"]
    assert len(values) > 20


def _bodies(data_dir: Path) -> list[dict]:
    import json
    import sqlite3

    with sqlite3.connect(data_dir / "mes.db") as db:
        return [json.loads(b) for (b,) in db.execute("SELECT body FROM outbox ORDER BY seq")]


def _seqs(data_dir: Path) -> list[int]:
    return [e["seq"] for e in _bodies(data_dir)]


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    said = _said(caplog)
    assert not any("MES cycle failed" in m or "failed to stop" in m for m in said), said
    assert not [r.getMessage() for r in caplog.records if r.exc_info]


def _held(mes: Any) -> int:
    return int(mes.call(lambda core: core.held_events()).result(15))


def _chained(data_dir: Path) -> list[dict]:
    """The sine's setpoint events, checked for a gap: each one starts where the last ended."""
    changes = [e["data"] for e in _bodies(data_dir) if e["type"] == "setpoint.changed"]
    for before, after in itertools.pairwise(changes):
        assert after["from"] == before["to"], (before, after)
    return changes


def test_a_full_mes_db_is_said_once_each_way_and_its_events_are_written_later(
        tmp_path: Path, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    runtime = Runtime(project(tmp_path, SIM, LINE), data_dir)
    mes = next(s for s in runtime.services if type(s).__name__ == "MesService")
    with runtime:
        wait_until(lambda: mes.status().depth > 5, 10)
        mes.call(lambda core: _fill(core.store.db)).result(5)
        wait_until(lambda: "full" in mes.status().write_error, 10)
        held = _held(mes)
        wait_until(lambda: _held(mes) > held + 60, 20)  # some 3 s: heartbeats, cycles, events
        assert mes.status().depth <= held + 6  # nothing written meanwhile
        mes.call(lambda core: _unfill(core.store.db)).result(5)
        wait_until(lambda: mes.status().write_error == "", 10)
        caught_up = mes.status().depth
        mes.call(lambda core: _fill(core.store.db)).result(5)  # and full again at the stop
        wait_until(lambda: "full" in mes.status().write_error, 10)
    said = _said(caplog)
    assert len([m for m in said if m.startswith("mes: writing stopped: database or disk is "
                                                "full; holding")]) == 2, said
    resumed = [m for m in said if m.startswith("mes: writing resumed")]
    assert len(resumed) == 1, said
    assert "nothing lost" in resumed[0]
    assert len([m for m in said if m.startswith("mes: stopped while mes.db refuses")]) == 1
    _no_traceback(caplog)
    seqs = _seqs(data_dir)
    assert seqs == list(range(1, len(seqs) + 1))  # gapless
    assert len(seqs) >= caught_up > held + 60  # the events of the full period were written
    _chained(data_dir)


def test_a_locked_mes_db_holds_events_and_a_stop_ends_cleanly(
        tmp_path: Path, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Another program holding the write lock refuses every transaction, the heartbeat's too
    (a full disk does the same to the WAL): once said, no traceback per cycle, and the stop
    still closes mes.db, though it cannot clear the heartbeat."""
    caplog.set_level(logging.INFO)
    runtime = Runtime(project(tmp_path, SIM, LINE), data_dir)
    mes = next(s for s in runtime.services if type(s).__name__ == "MesService")
    blocker = sqlite3.connect(data_dir / "mes.db", isolation_level=None)
    try:
        runtime.start()
        wait_until(lambda: mes.status().depth > 5, 10)
        mes.call(lambda core: core.store.db.execute("PRAGMA busy_timeout=0")).result(5)
        blocker.execute("BEGIN IMMEDIATE")
        wait_until(lambda: "locked" in mes.status().write_error, 10)
        held = _held(mes)
        wait_until(lambda: _held(mes) > held + 60, 20)
        blocker.execute("ROLLBACK")
        wait_until(lambda: mes.status().write_error == "", 10)
        blocker.execute("BEGIN IMMEDIATE")
        wait_until(lambda: "locked" in mes.status().write_error, 10)
        store = mes.core.store
        runtime.stop()
    finally:
        blocker.close()
        runtime.stop()
    with pytest.raises(sqlite3.ProgrammingError):  # closed
        store.db.execute("SELECT 1")
    said = _said(caplog)
    assert len([m for m in said if m.startswith("mes: writing stopped: database is locked")
                ]) == 2, said
    assert len([m for m in said if m.startswith("mes: writing resumed")]) == 1, said
    assert len([m for m in said if m.startswith("mes: stopped while mes.db refuses")]) == 1
    _no_traceback(caplog)
    seqs = _seqs(data_dir)
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(_chained(data_dir)) > held + 60


def _fill(conn: sqlite3.Connection) -> None:
    """A full disk for mes.db: no page beyond the current ones, their free space taken."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute("CREATE TABLE IF NOT EXISTS ballast (b BLOB)")
    conn.execute(f"PRAGMA max_page_count={pages + 1}")
    for size in (2000, 200, 20, 1):
        try:
            while True:
                conn.execute("INSERT INTO ballast VALUES (zeroblob(?))", (size,))
        except sqlite3.OperationalError:
            pass


def _unfill(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA max_page_count=1073741823")
    conn.execute("DROP TABLE IF EXISTS ballast")
