"""The project loader: every error path names file, line and field; `hmi check` exits 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.project import ProjectInvalid, load_project

GOOD = """\
[project]
name = "Test line"
asset = "Acme/PlantA/Area/Line9"

[[devices]]
name = "plc1"
protocol = "sim"
poll_ms = 100

[[devices]]
name = "press1"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = 5020

[[tags]]
name = "T1"
device = "plc1"
sim = { signal = "sine" }

[[tags]]
name = "T2"
device = "plc1"
type = "float32"
writable = true
min = 0
max = 10

[[alarms]]
tag = "T1"
type = "high"
limit = 0.5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plant.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ProjectInvalid) as info:
        load_project(write(tmp_path, text))
    return [str(e) for e in info.value.errors]


def test_good_project_loads_with_points_and_assets(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, GOOD))
    assert project.name == "Test line"
    assert [d.name for d in project.devices] == ["plc1", "press1"]
    points = project.points("plc1")
    assert [p.tag for p in points] == ["T1", "T2"]
    assert points[1].writable
    assert points[1].high == 10
    assert project.alarm_names() == ["T1.HI"]
    assert project.tag_asset(project.tags[0]) == "Acme/PlantA/Area/Line9"
    spec = project.device_spec(project.devices[1])
    assert spec.settings["port"] == 5020
    assert spec.timeout_s == 1.0


def test_demo_project_is_valid() -> None:
    project = load_project(Path(__file__).parents[2] / "resources" / "demo" / "project.toml")
    assert len(project.tags) >= 20
    assert {d.protocol for d in project.devices} == {"modbus-tcp", "opcua"}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectInvalid) as info:
        load_project(tmp_path / "nope.toml")
    assert "no such file" in str(info.value)


def test_malformed_toml_gives_the_line(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, '[project]\nname = "x"\n\n[[devices]\nname = "a"\n')
    assert len(errors) == 1
    assert ":4: toml: not valid TOML" in errors[0]


def test_missing_project_table(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, '[[devices]]\nname = "a"\nprotocol = "sim"\n')
    assert any(": project: is required" in e for e in errors)


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace('poll_ms = 100', 'pol_ms = 100'))
    assert errors == [f"{tmp_path / 'plant.toml'}:8: devices.plc1.pol_ms: unknown key "
                      "(check the spelling)"]


def test_unknown_device_reference(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace('device = "plc1"\nsim', 'device = "plc9"\nsim'))
    assert len(errors) == 1
    assert ":18: tags.T1.device: unknown device 'plc9'" in errors[0]
    assert "plc1, press1" in errors[0]


def test_duplicate_tag_name(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace('name = "T2"', 'name = "T1"'))
    assert any(":22: tags.T1.name: duplicate tag name 'T1'" in e for e in errors)


def test_duplicate_device_name(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace('name = "press1"', 'name = "plc1"'))
    assert any(":11: devices.plc1.name: duplicate device name" in e for e in errors)


def test_unknown_type(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace('type = "float32"', 'type = "float16"'))
    assert len(errors) == 1
    assert ":24: tags.T2.type:" in errors[0]
    assert "'float16'" in errors[0]


def test_port_out_of_range(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace("port = 5020", "port = 70000"))
    assert errors == [f"{tmp_path / 'plant.toml'}:14: devices.press1.port: must be a TCP port "
                      "1..65535, found 70000"]


def test_opcua_needs_url(tmp_path: Path) -> None:
    text = GOOD + '\n[[devices]]\nname = "ua"\nprotocol = "opcua"\nurl = "http://x"\n'
    errors = errors_of(tmp_path, text)
    assert any("devices.ua.url: opcua needs url" in e for e in errors)


def test_nan_scale_is_refused(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace("max = 10", "max = 10\nscale = nan"))
    assert len(errors) == 1
    assert ":28: tags.T2.scale: must be a finite number, found nan" in errors[0]


def test_min_above_max_is_refused(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace("min = 0\nmax = 10", "min = 10\nmax = 0"))
    assert errors == [f"{tmp_path / 'plant.toml'}:27: tags.T2.max: must be above min (10.0), "
                      "found 0.0"]


def test_sim_signal_checked_by_its_driver(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace('signal = "sine"', 'signal = "sawtooth"'))
    assert len(errors) == 1
    assert "tags.T1.sim.signal: must be one of" in errors[0]


def test_alarm_on_unknown_tag_and_missing_limit(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, GOOD.replace('tag = "T1"\ntype = "high"\nlimit = 0.5',
                                               'tag = "T7"\ntype = "high"'))
    assert any("alarms.#1.tag: unknown tag 'T7'" in e for e in errors)
    assert any("alarms.#1.limit: a high alarm needs a limit" in e for e in errors)


def test_an_alarms_shelve_maximum_stays_within_the_projects(tmp_path: Path) -> None:
    text = GOOD + "shelve_max_min = 600\n"  # the project's default maximum is 480
    errors = errors_of(tmp_path, text)
    assert len(errors) == 1
    assert ":33: alarms.#1.shelve_max_min: 600 min is above the project's [alarm_settings] " \
        "shelve_max_min (480)" in errors[0]
    project = load_project(write(tmp_path, GOOD + "shelve_max_min = 30\n"))
    assert project.alarms[0].shelve_max_min == 30


def test_all_errors_come_at_once_sorted_by_line(tmp_path: Path) -> None:
    text = GOOD.replace("port = 5020", "port = 0").replace('device = "plc1"\nsim',
                                                          'device = "x"\nsim')
    errors = errors_of(tmp_path, text)
    lines = [int(e.split(":")[1]) for e in errors]
    assert len(errors) == 2
    assert lines == sorted(lines)


def test_hmi_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, GOOD)
    assert main(["check", str(good)]) == 0
    assert "2 devices, 2 tags, 1 alarms" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("port = 5020", "port = 70000"), encoding="utf-8")
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml:14: devices.press1.port" in err
    assert "Traceback" not in err


def test_hmi_check_in_a_subprocess_never_shows_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_bytes(b"\xff\xfe[project")
    proc = subprocess.run([sys.executable, "-m", "hmi.cli", "check", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "broken.toml" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_input_under_python_m_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    # under `python -m hmi.cli` too, CliError must be the class main() catches
    good = write(tmp_path, GOOD)
    proc = subprocess.run([sys.executable, "-m", "hmi.cli", "tags", str(good), "--once",
                           "--timeout", "0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "hmi: error: --timeout must be positive, found 0.0"
