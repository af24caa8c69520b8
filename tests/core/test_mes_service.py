"""The MES service inside a running station (sim devices, real SQLite files): a full disk
raises the write alarm and loses nothing; the snapshot and status the GUI reads."""

from __future__ import annotations

from pathlib import Path

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
