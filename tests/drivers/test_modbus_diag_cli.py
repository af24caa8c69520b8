"""`hmi diag PROJECT --json`: the runtime polls a real Modbus server and a dead device for a
moment; the report has requests, errors by kind, round trips and the read plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hmi.cli.main import main
from tests.conftest import free_port

PROJECT = """
[project]
name = "diag test"

[[devices]]
name = "plc"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = {port}
poll_ms = 100

[[devices]]
name = "dead"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = {dead_port}
poll_ms = 100
timeout_ms = 200

[[tags]]
name = "a"
device = "plc"
address = "hr:0"

[[tags]]
name = "b"
device = "plc"
address = "hr:2"
type = "float32"

[[tags]]
name = "c"
device = "plc"
address = "coil:0"

[[tags]]
name = "d"
device = "dead"
address = "hr:0"
"""


def write_project(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "diag.toml"
    path.write_text(PROJECT.format(port=port, dead_port=free_port()), encoding="utf-8")
    return path


def test_diag_json_reports_health_errors_and_plan(image_server: Any, tmp_path: Path,
                                                  data_dir: Path, capsys: Any) -> None:
    path = write_project(tmp_path, image_server.port)
    code = main(["diag", str(path), "--json", "--seconds", "0.6"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # "dead" is down
    plc, dead = out["plc"], out["dead"]
    assert plc["state"] == "connected"
    assert plc["requests"] >= 2
    assert plc["error_total"] == 0
    assert plc["rtt_mean_ms"] > 0
    assert plc["rtt_p95_ms"] >= plc["rtt_mean_ms"] * 0.5
    assert plc["plan"]["requests_per_cycle"] == 2
    assert plc["plan"]["naive_requests_per_cycle"] == 3
    assert dead["state"] == "down"
    assert dead["errors"].get("refused", 0) >= 1
    assert "refused" in dead["last_error"]


def test_diag_table_and_device_filter(image_server: Any, tmp_path: Path, data_dir: Path,
                                      capsys: Any) -> None:
    path = write_project(tmp_path, image_server.port)
    assert main(["diag", str(path), "--seconds", "0.3", "--device", "plc"]) == 0
    out = capsys.readouterr().out
    assert "read plan: 2 request(s) per cycle for 3 tag(s) (one per tag: 3)" in out
    assert "dead" not in out


def test_diag_unknown_device_is_bad_input(image_server: Any, tmp_path: Path, data_dir: Path,
                                          capsys: Any) -> None:
    path = write_project(tmp_path, image_server.port)
    assert main(["diag", str(path), "--device", "nope"]) == 2
    assert "unknown device 'nope'" in capsys.readouterr().err


def test_project_loader_reports_modbus_point_problems_with_lines(tmp_path: Path,
                                                                 capsys: Any) -> None:
    path = write_project(tmp_path, 502)
    text = path.read_text(encoding="utf-8")
    text = text.replace('address = "hr:2"\ntype = "float32"',
                        'address = "hr:65535"\ntype = "float32"')
    text = text.replace('address = "coil:0"', 'address = "coil:0"\ntype = "float32"')
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "tags.b.address: float32 needs 2 registers from 65535" in err
    assert "tags.c.type: coil holds single bits" in err
    assert "diag.toml:" in err
