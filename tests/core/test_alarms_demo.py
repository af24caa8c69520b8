"""The demo plant's faults raise and clear real alarms through the whole station: simulator over
Modbus TCP and OPC UA on 127.0.0.1, runtime, alarm service, journal, KPI report."""

from __future__ import annotations

from pathlib import Path

from alarms import kpis
from alarms.journal import Journal
from alarms.service import AlarmService
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.simulator.serve import SimulatorThread, demo_project_text
from tests.conftest import wait_until


def test_simulator_faults_raise_and_clear_alarms(tmp_path: Path, data_dir: Path) -> None:
    sim = SimulatorThread(seed=5, fault_every_s=0)
    sim.start()
    path = tmp_path / "demo.toml"
    path.write_text(demo_project_text(sim.modbus_port, sim.opcua_port), encoding="utf-8")
    project = load_project(path)
    runtime = Runtime(project, data_dir, services=("alarms.service:AlarmService",))
    service = next(s for s in runtime.services if isinstance(s, AlarmService))

    def state(name: str) -> str:
        return service.call(lambda m: m.state(name).value).result(5)

    try:
        runtime.start()
        assert runtime.wait_first_cycle(15)
        assert sim.demo is not None
        sim.demo.plant.inject("filler_jam", 2.0)  # the plant thread clears it after 2 s
        wait_until(lambda: state("Line1.Filler.Fault.DI") == "B", timeout_s=15)
        wait_until(lambda: state("Line1.Filler.Fault.DI") == "D", timeout_s=15)
        sim.stop()  # the filler PLC disappears: comm failure -> bad-quality alarm
        wait_until(lambda: state("Line1.Filler.Level.BAD") == "B", timeout_s=15)
        service.call(lambda m: m.ack(user="ann", comment="demo"))
        service.flush()
    finally:
        runtime.stop()
        sim.stop()
    journal = Journal(data_dir / "alarms.db")
    rows = [(r["alarm"], r["event"]) for r in journal.query()]
    assert ("Line1.Filler.Fault.DI", "raise") in rows
    assert ("Line1.Filler.Fault.DI", "rtn") in rows
    assert ("Line1.Filler.Level.BAD", "raise") in rows
    assert ("Line1.Filler.Level.BAD", "ack") in rows
    first, last = journal.query()[0]["ts"], journal.query()[-1]["ts"]
    report = kpis.compute(journal, first - 60, last + 60, project.model.alarm_settings)
    by_name = {k["name"]: k for k in report["kpis"]}
    assert by_name["annunciated alarms"]["value"] >= 2
    journal.close()
