"""`hmi context`, `hmi oee` and `hmi mes` in-process: with a running station (the command
table in mes.db, answered by its MES thread) and without one (applied to the stored context);
bad input exits 2 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.runtime import Runtime
from tests.conftest import wait_until
from tests.core.mes_helpers import Clock, core, project
from tests.core.security_helpers import cli_users

SIM = """
[[devices]]
name = "fast"
protocol = "sim"
poll_ms = 50

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


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_context_set_reaches_a_running_station(tmp_path: Path, data_dir: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path, SIM, LINE)
    p = str(proj.path)
    cli_users(data_dir)
    runtime = Runtime(proj, data_dir)
    with runtime:
        mes = next(s for s in runtime.services if type(s).__name__ == "MesService")
        code, out, _ = run(capsys, "context", "set", p, "--work-order", "WO7", "--product",
                           "P30", "--lot", "L1", "--operator", "ann", "--user", "bob")
        assert (code, out.strip()) == (0, "Line1: started WO7, operator ann")
        assert mes.context()["work_order"] == "WO7"  # applied by the station itself
        wait_until(lambda: mes.snapshot()["lines"]["Line1"]["state"] == "running", 5)
        mes.flush()
        code, out, _ = run(capsys, "context", "show", p, "--json")
        rows = json.loads(out)
        assert rows[0]["work_order"] == "WO7"
        assert rows[0]["operator"] == "ann"
        assert rows[0]["state"] == "running"
        assert rows[0]["station_running"] is True
        code, out, _ = run(capsys, "context", "set", p, "--work-order", "", "--user", "ann")
        assert out.strip() == "Line1: completed WO7"
    code, out, _ = run(capsys, "context", "show", p)
    assert code == 0
    assert "Line1" in out
    assert "?" in out  # no station: the state is unknown


def test_context_set_offline_and_bad_input(tmp_path: Path, data_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path, SIM, LINE)
    p = str(proj.path)
    code, _, err = run(capsys, "context", "set", p, "--lot", "L9", "--user", "nobody")
    assert code == 3  # not a user of this station
    cli_users(data_dir)
    assert run(capsys, "context", "set", p, "--lot", "L9", "--user", "ann")[1].strip() == \
        "Line1: lot L9"
    code, _, err = run(capsys, "context", "set", p, "--product", "NOPE", "--user", "ann")
    assert code == 2
    assert err.strip() == "hmi: error: unknown product 'NOPE' (products: P30)"
    code, _, err = run(capsys, "context", "set", p, "--line", "Line9", "--lot", "x",
                       "--user", "ann")
    assert code == 2
    assert "unknown line 'Line9'" in err
    code, _, err = run(capsys, "context", "set", p, "--user", "ann")
    assert code == 2
    assert "nothing to change" in err
    code, out, _ = run(capsys, "context", "show", p, "--json")
    assert json.loads(out)[0]["lot"] == "L9"
    bare = tmp_path / "bare.toml"
    bare.write_text('[project]\nname = "x"\n', encoding="utf-8")
    code, _, err = run(capsys, "oee", str(bare))
    assert code == 2
    assert "tracks no production" in err
    code, _, err = run(capsys, "mes", "status", str(bare))
    assert code == 2
    assert "has no MES" in err


def test_oee_and_mes_status_print_tables(tmp_path: Path, data_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path, SIM, LINE)
    p = str(proj.path)
    cli_users(data_dir)
    run(capsys, "context", "set", p, "--work-order", "WO1", "--user", "ann")
    code, out, _ = run(capsys, "oee", p, "--hour")
    assert code == 0
    assert "last hour" in out
    assert "OEE" in out
    code, _, err = run(capsys, "oee", p, "--shift", "Night")
    assert code == 2
    assert "unknown shift 'Night'" in err
    code, _, err = run(capsys, "oee", p, "--from", "-1h", "--hour")
    assert code == 2
    code, out, _ = run(capsys, "oee", p, "--work-order", "WO1", "--json")
    assert json.loads(out)[0]["window"] == "work order WO1"
    code, out, _ = run(capsys, "mes", "status", p)
    assert code == 0
    assert "pending" in out
    assert "1 event(s)" in out  # workorder.started
    assert "not running" in out
    code, out, _ = run(capsys, "mes", "quarantine", p, "list")
    assert code == 0


def test_quarantine_retry_with_seq_retries_only_that_event(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path)
    clock = Clock(1_800_000_000.0)
    c = core(tmp_path, proj, clock)
    c.set_context("Line1", {"work_order": "WO1", "product": "P30", "lot": "L1"})
    c.set_context("Line1", {"lot": "L2"})
    c.commit()
    seqs = [s for (s,) in c.store.select("SELECT seq FROM outbox ORDER BY seq")]
    assert len(seqs) >= 2
    first, second = seqs[0], seqs[1]
    for seq in (first, second):
        c.outbox.quarantine(seq, "refused by the MES: BadInvalidArgument", clock.now)
    c.close()
    p, data = str(proj.path), str(tmp_path / "data")
    code, out, _ = run(capsys, "mes", "quarantine", p, "retry", "--seq", str(second),
                       "--data", data)
    assert code == 0
    assert "1 event(s) back" in out
    code, out, _ = run(capsys, "mes", "quarantine", p, "list", "--json", "--data", data)
    assert [r["seq"] for r in json.loads(out)] == [first]  # the other one stays
    c = core(tmp_path, proj, clock)
    pending = [s for (s,) in c.store.select("SELECT seq FROM outbox ORDER BY seq")]
    assert second in pending
    assert first not in pending
    c.close()
