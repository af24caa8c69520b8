"""`hmi history ...` against a real database file, and the runtime recording a sim project."""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.historian.service import Historian
from hmi.tags import Quality, Sample, iso_utc
from tests.conftest import wait_until

PROJECT = """
[project]
name = "history test"

[historian]
heartbeat_s = 60

[[devices]]
name = "plc"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Tank.Level"
device = "plc"
type = "float64"
sim = { signal = "sine", amplitude = 10, center = 50, period_s = 2 }

[[tags]]
name = "Pump.Running"
device = "plc"
type = "bool"
sim = { signal = "square", period_s = 0.5 }

[[tags]]
name = "Batch.Count"
device = "plc"
type = "int32"
sim = { signal = "counter" }

[[tags]]
name = "Not.Recorded"
device = "plc"
type = "float64"
history = false
"""

T0 = 1_800_000_000.0


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "plant.toml"
    path.write_text(PROJECT, encoding="utf-8")
    return path


@pytest.fixture
def recorded(data_dir: Path) -> Path:
    with Historian(data_dir / "history.db", clock=lambda: T0 + 100) as h:
        h.submit([Sample("Tank.Level", 40.0 + i, T0 + i) for i in range(10)])
        h.submit([Sample("Tank.Level", None, T0 + 10, Quality.BAD, "comm failure: refused")])
        h.submit([Sample("Pump.Running", i % 2 == 0, T0 + i * 5) for i in range(4)])
        assert h.flush()
    return data_dir


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_export_csv_and_json_return_what_was_recorded(project: Path, recorded: Path,
                                                      tmp_path: Path, capsys) -> None:
    out_file = tmp_path / "out.csv"
    code, _, err = run(capsys, "history", "export", str(project), "--tag", "Tank.Level",
                       "--tag", "Pump.Running", "--from", iso_utc(T0), "--to",
                       iso_utc(T0 + 60), "--csv", str(out_file))
    assert code == 0, err
    with out_file.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    level = [r for r in rows if r["tag"] == "Tank.Level"]
    assert [float(r["value"]) for r in level[:10]] == [40.0 + i for i in range(10)]
    assert (level[10]["value"], level[10]["quality"]) == ("", "bad")
    assert level[0]["ts"] == iso_utc(T0)
    assert len([r for r in rows if r["tag"] == "Pump.Running"]) == 4

    code, out, err = run(capsys, "history", "export", str(project), "--tag", "Tank.Level",
                         "--from", "2027-01-15T08:00:00Z", "--to", "2027-01-15T08:00:05Z",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [d["value"] for d in data] == [40.0, 41.0, 42.0, 43.0, 44.0]
    assert data[0]["name"] == "Tank.Level"


def test_stats_json(project: Path, recorded: Path, capsys) -> None:
    code, out, err = run(capsys, "history", "stats", str(project), "--tag", "Pump.Running",
                         "--from", iso_utc(T0), "--to", iso_utc(T0 + 20), "--json")
    assert code == 0, err
    stats = json.loads(out)[0]
    assert (stats["time_true_s"], stats["time_false_s"]) == (10.0, 10.0)


@pytest.mark.parametrize(("argv", "message"), [
    (["--tag", "No.Such", "--from", "-1h"], "unknown tag"),
    (["--tag", "Tank.Level", "--from", "now", "--to", "-2h"], "backwards"),
    (["--tag", "Tank.Level", "--from", "yesterday"], "cannot read time"),
])
def test_export_bad_input_exits_2_without_traceback(project: Path, recorded: Path, capsys,
                                                    argv: list[str], message: str) -> None:
    code, _, err = run(capsys, "history", "export", str(project), *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_corrupt_and_missing_database_exit_2(project: Path, data_dir: Path, capsys) -> None:
    code, _, err = run(capsys, "history", "check")
    assert code == 2
    assert "no history database" in err
    (data_dir / "history.db").write_bytes(b"garbage" * 1000)
    for argv in (["history", "check"], ["history", "info"],
                 ["history", "export", str(project), "--tag", "Tank.Level"]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert "not a usable database" in err
        assert "Traceback" not in err
    assert (data_dir / "history.db").read_bytes().startswith(b"garbage")  # never overwritten


def test_locked_database_exits_2(recorded: Path, capsys) -> None:
    holder = sqlite3.connect(recorded / "history.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO meta VALUES ('lock', 'x')")
    try:
        code, _, err = run(capsys, "history", "info")
    finally:
        holder.close()
    assert code == 2
    assert "locked" in err


def test_check_info_and_backup(recorded: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = run(capsys, "history", "check")
    assert (code, out.strip().endswith(": ok")) == (0, True)
    code, out, _ = run(capsys, "history", "info", "--json")
    info = json.loads(out)
    assert code == 0
    assert info["samples_rows"] == 16  # 11 + 4 + a stop marker for Pump.Running (Level is BAD)
    assert info["stopped_cleanly"] is True
    dest = tmp_path / "backup.db"
    code, out, err = run(capsys, "history", "backup", str(dest))
    assert code == 0, err
    with sqlite3.connect(dest) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM samples").fetchone()[0] == 16
    code, _, err = run(capsys, "history", "backup", str(dest))
    assert code == 2
    assert "refusing to overwrite" in err


def test_runtime_records_every_tag_of_a_sim_project(project: Path, data_dir: Path,
                                                    capsys) -> None:
    from hmi.project import load_project
    from hmi.runtime import Runtime

    loaded = load_project(project)
    started = time.time()
    runtime = Runtime(loaded, data_dir, services=("hmi.historian.service:HistorianService",))
    with runtime:
        assert runtime.wait_first_cycle(10)
        service = runtime.services[0]
        wait_until(lambda: service.historian.flush(1) and all(
            service.historian.reader().has_tag(t) and
            service.historian.reader().count(t, started - 1, time.time() + 1) >= 3
            for t in ("Tank.Level", "Pump.Running", "Batch.Count")), timeout_s=20)
        assert service.diagnostics()["size_bytes"] > 0
    code, out, err = run(capsys, "history", "export", str(project), "--tag", "Batch.Count",
                         "--tag", "Not.Recorded", "--from", "-1h", "--json")
    assert code == 0, err
    counts = [d["value"] for d in json.loads(out) if d["quality"] == "good"]
    assert len(counts) >= 3
    assert counts == sorted(counts)
    assert json.loads(out)[-1]["reason"] == "runtime stopped"
    assert "nothing recorded for Not.Recorded" not in err  # defined, so it has a row: no data


def test_bench_quick_reports_every_figure() -> None:
    from hmi.bench import historian as bench

    results = bench.run(quick=True)
    names = " | ".join(r.name for r in results)
    assert len(results) == 4, names
    assert all(r.value > 0 for r in results)
    assert {r.unit for r in results} == {"rows/s", "B", "ms"}
