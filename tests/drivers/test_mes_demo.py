"""`hmi demo` starts the reference MES next to the simulated plant: events with a full
context reach it while the station runs, and the stub's file holds each one once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.simulator.serve import free_port
from tests.drivers.mes_fixtures import stored_lines


def test_hmi_demo_delivers_events_to_its_stub(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # ports of its own: another station on this machine (a soak, a demo) sends to the default
    # MES port 4841, and its events would land in this stub
    ports = [str(free_port()) for _ in range(3)]
    code = main(["demo", "--headless", "--for", "4", "--data", str(tmp_path),
                 "--fault-every", "2", "--status-every", "2", "--modbus-port", ports[0],
                 "--opcua-port", ports[1], "--mes-port", ports[2]])
    out = capsys.readouterr().out
    assert code == 0
    events = stored_lines(tmp_path / "demo" / "mes-stub.jsonl")  # the demo's own folder
    kinds = {e["type"] for e in events}
    assert {"workorder.started", "state.changed"} <= kinds
    assert all(e["source"] == "line1-hmi" for e in events)
    without_order = [e for e in events if not e["context"]["work_order"].startswith("WO-")]
    assert not without_order
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1))
    assert re.search(r"mes: Line1 \w+ \(WO-", out)
    stored = re.search(r"MES stub: (\d+) event\(s\) stored", out)
    assert stored is not None
    assert int(stored.group(1)) == len(events)
    # the demo's own folder and accounts (demo only): never the real data dir's users database
    assert "demo accounts (demo only, never on a real station): admin / admin-demo-only" in out
    assert (tmp_path / "demo" / "security.db").exists()
    assert not (tmp_path / "security.db").exists()
