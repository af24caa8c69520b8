"""The demo project's OPC UA device (the packer) over OpcUaDriver, against the demo plant's own
simulator, and `hmi browse --toml` against that server loaded back as a project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.simulator.serve import SimulatorThread, demo_project_text
from tests.conftest import wait_until


@pytest.fixture(scope="module")
def plant() -> Iterator[SimulatorThread]:
    sim = SimulatorThread()
    sim.start()
    yield sim
    sim.stop()


def test_demo_packer_runs_over_the_driver(plant: SimulatorThread, tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(demo_project_text(plant.modbus_port, plant.opcua_port), encoding="utf-8")
    project = load_project(path)
    packer_tags = [t.name for t in project.tags if t.device == "packer"]
    assert packer_tags
    runtime = Runtime(project, tmp_path / "data", services=())
    runtime.start()
    try:
        wait_until(lambda: all(runtime.tags.get(t).good for t in packer_tags), 15)
        health = runtime.device_health()["packer"]
        assert health["state"] == "connected"
    finally:
        runtime.stop()


def test_browse_demo_server_as_toml(plant: SimulatorThread, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    url = f"opc.tcp://127.0.0.1:{plant.opcua_port}"
    assert main(["browse", url, "--toml", "--device", "packer"]) == 0
    tags = capsys.readouterr().out
    assert "urn:hmi-station:demo" in tags
    path = tmp_path / "browsed.toml"
    path.write_text(f'[project]\nname = "b"\n\n[[devices]]\nname = "packer"\n'
                    f'protocol = "opcua"\nurl = "{url}"\n\n{tags}', encoding="utf-8")
    project = load_project(path)
    assert any(t.node and t.node.endswith("s=Packer.Speed") for t in project.tags)
