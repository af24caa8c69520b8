"""The MES stub's own full disk: a busy MES, said once, everything stored later, once. And
mes.db refusing writes while the station delivers to a real MES (the reference stub on
127.0.0.1): the events made meanwhile are held, written when the file takes writes again and
delivered once each, in seq order, gapless (issue 11 with issue 15's promise); and the sender
does not resend a batch in a loop while its acknowledgement cannot be recorded.

Another connection holding the write lock is the refusal here: unlike `max_page_count` (see
tests/core/test_mes_service.py), it refuses the acknowledgement's DELETE too, as a full disk
refuses the WAL frame that would carry it."""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import time
from pathlib import Path

import pytest

from hmi.runtime import Runtime
from tests.conftest import free_port, wait_until
from tests.drivers.mes_fixtures import Stubs, mes_project

FAST = """
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
"""


def test_events_of_a_full_period_reach_the_mes_once_in_order(
        tmp_path: Path, stubs: Stubs, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hmi")
    port = free_port()
    proj = mes_project(tmp_path, f"opc.tcp://127.0.0.1:{port}", "retry_max_s = 0.5\n", FAST)
    runtime = Runtime(proj, data_dir)
    mes = next(s for s in runtime.services if type(s).__name__ == "MesService")
    blocker = sqlite3.connect(data_dir / "mes.db", isolation_level=None)
    try:
        with runtime:
            wait_until(lambda: mes.status().depth > 20, 20)  # committed, the MES not up yet
            mes.call(lambda core: core.store.db.execute("PRAGMA busy_timeout=0")).result(5)
            blocker.execute("BEGIN IMMEDIATE")
            wait_until(lambda: "locked" in mes.status().write_error, 10)
            committed = mes.status().depth
            stub = stubs.start(port=port)  # takes the committed events; their ack is refused
            wait_until(lambda: len(stub.events) >= committed, 20)
            calls, started = stub.calls, time.monotonic()
            held = mes.call(lambda core: core.held_events()).result(5)
            wait_until(lambda: mes.call(lambda core: core.held_events()).result(5) > held + 40, 20)
            resent, locked_s = stub.calls - calls, time.monotonic() - started
            blocker.execute("ROLLBACK")
            wait_until(lambda: mes.status().write_error == "", 10)
            made = mes.call(lambda core: int(core.store.meta("next_seq")) - 1).result(5)
            wait_until(lambda: len(stub.events) >= made, 30)
    finally:
        blocker.close()
    events = stub.events
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))  # in order, gapless, none twice
    assert len(seqs) >= made > held + 40
    changes = [e["data"] for e in events if e["type"] == "setpoint.changed"]
    for before, after in itertools.pairwise(changes):  # nothing missing in between
        assert after["from"] == before["to"], (before, after)
    assert resent <= 3 * locked_s + 3, (resent, locked_s)  # backed off (it was ~900 a second)
    said = [r.getMessage() for r in caplog.records if r.name.startswith("hmi.mes")]
    assert len([m for m in said if m.startswith("MES: outbox update failed")]) == 1, said
    assert len([m for m in said if m.startswith("mes: writing stopped")]) == 1, said
    assert len([m for m in said if m.startswith("mes: writing resumed")]) == 1, said
    assert not [r.getMessage() for r in caplog.records if r.exc_info], said


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_stub_on_a_full_disk_answers_busy_and_stores_everything_later(
        tmp_path: Path, stubs: Stubs, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The stub's file is a symlink to /dev/full (every write: ENOSPC), then to a real file:
    what `hmi demo` meets when its data folder's disk fills up."""
    caplog.set_level(logging.INFO, logger="hmi")
    link, real = tmp_path / "stub.jsonl", tmp_path / "real.jsonl"
    link.symlink_to("/dev/full")
    stub = stubs.start(out=link)
    proj = mes_project(tmp_path, stub.url, "retry_max_s = 0.5\n", FAST)
    runtime = Runtime(proj, data_dir)
    mes = next(s for s in runtime.services if type(s).__name__ == "MesService")
    with runtime:
        wait_until(lambda: "BadResourceUnavailable" in mes.status().last_error, 20)
        assert stub.events == []
        link.unlink()
        link.symlink_to(real)
        wait_until(lambda: len(stub.events) > 20, 20)
        made = mes.call(lambda core: int(core.store.meta("next_seq")) - 1).result(5)
        wait_until(lambda: len(stub.events) >= made, 30)
    kept = [json.loads(line) for line in real.read_text().splitlines()]
    assert [e["seq"] for e in kept] == list(range(1, len(kept) + 1))  # once each, in order
    assert kept == stub.events
    said = [r.getMessage() for r in caplog.records if r.name == "hmi.mes.stub"]
    assert len([m for m in said if m.startswith("MES stub: cannot store events")]) == 1, said
    assert len([m for m in said if m.startswith("MES stub: storing events again")]) == 1, said
    assert not [r.getMessage() for r in caplog.records if r.exc_info]
