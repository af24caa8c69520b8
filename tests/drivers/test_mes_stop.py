"""A clean stop of the station delivers its last events (the lines' final counts and the
downtime that ends with the stop) while the MES answers, and stays prompt when it does not:
a real `Runtime`, a real stub on 127.0.0.1 and the real mes.db."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from hmi.runtime import Runtime
from tests.conftest import free_port, wait_until
from tests.drivers.mes_fixtures import Stubs, mes_project
from tests.drivers.test_mes_sender import PLANT


def _outbox(path: Path) -> list[dict]:
    with sqlite3.connect(path) as db:
        return [json.loads(b) for (b,) in db.execute("SELECT body FROM outbox ORDER BY seq")]


def _run_and_stop(proj, data_dir: Path, connected: bool) -> tuple[Path, float]:
    """Start the station, open a work order (the sim line is stopped: a downtime opens),
    stop it; returns mes.db and how long the stop took."""
    runtime = Runtime(proj, data_dir)
    mes = next(s for s in runtime.services if type(s).__name__ == "MesService")
    with runtime:
        mes.set_context(work_order="WO9", product="P30").result(5)
        wait_until(lambda: mes.snapshot()["lines"]["Line1"].get("downtime"), 10)
        if connected:
            wait_until(lambda: mes.status().connected and mes.status().depth == 0, 20)
        else:
            wait_until(lambda: "cannot connect" in mes.status().last_error, 20)
        started = time.monotonic()
    return mes.core.store.path, time.monotonic() - started


def test_a_clean_stop_delivers_the_last_events(tmp_path: Path, stubs: Stubs,
                                               data_dir: Path) -> None:
    stub = stubs.start()
    proj = mes_project(tmp_path, stub.url, "retry_max_s = 0.3\n", PLANT)
    db, took = _run_and_stop(proj, data_dir, connected=True)
    assert _outbox(db) == []  # nothing left for the next start
    types = [e["type"] for e in stub.events]
    assert types[-1] == "downtime.ended"  # made by the stop itself, and delivered
    assert took < 10


def test_a_stop_with_the_mes_down_is_prompt_and_keeps_the_events(tmp_path: Path,
                                                                  data_dir: Path) -> None:
    proj = mes_project(tmp_path, f"opc.tcp://127.0.0.1:{free_port()}", "retry_max_s = 0.3\n",
                       PLANT)
    db, took = _run_and_stop(proj, data_dir, connected=False)
    assert took < 3.0  # no waiting for an MES that is not there
    pending = _outbox(db)
    assert "workorder.started" in [e["type"] for e in pending]
    assert pending[-1]["type"] == "downtime.ended"  # the stop's own event: kept, not lost
    assert [e["seq"] for e in pending] == list(range(1, len(pending) + 1))
