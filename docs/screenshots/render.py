"""Regenerate the screenshots in this folder: every screen, day and night, on the live demo.

One station runs the whole time, so every picture shows the same plant: the demo simulator
(Modbus filler, OPC UA packer) with faults injected, the reference MES (`hmi mes-stub`) taking
the events, two hours of recorded history before now (`hmi.trends.demo.record_demo`), a work
order, an operator's alarm actions, a stop waiting for its reason. Each picture is rendered by
`hmi.gui.screenshot.render`, the code behind `hmi screenshot` (screens that load in workers,
like trends, are grabbed once loaded). The alarm screens also get a greyscale copy
(`*-grey.png`): the marks must read without colour.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/render.py [NAME ...]

For one screen on any project, use `hmi screenshot PROJECT --screen NAME --out FILE.png`.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtGui import QImage  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (1600, 1000)
REASON_AFTER_S = 15  # [production] reason_required_s here: the jam waits for its reason
# (name, screen, asset, tag, options, greyscale copy); {theme} is day or night
SHOTS = (
    ("overview-{theme}", "overview", None, None, {}, False),
    ("line-{theme}", "line", None, None, {}, False),
    ("unit-filler-{theme}", "unit", "Filler", None, {}, False),
    ("unit-packer-{theme}", "unit", "Packer", None, {}, False),
    ("alarms{night}", "alarms", None, None, {"blink": False, "view": "standing"}, True),
    ("alarms-shelved{night}", "alarms", None, None, {"blink": False, "view": "shelved"}, True),
    ("journal{night}", "journal", None, None, {"range": "hour"}, True),
    ("diagnostics{night}", "diagnostics", None, None, {}, True),
    ("faceplate-level-{theme}", "faceplate", None, "Line1.Filler.Level", {}, False),
    ("faceplate-setpoint-{theme}", "faceplate", None, "Line1.Filler.LevelSetpoint", {}, False),
    ("trends-{theme}", "trends", None, None, {"group": "Filler", "range": "-2h"}, False),
    ("production-{theme}", "production", None, None, {}, False),
)


def save_grey(path: Path) -> None:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_Grayscale8)
    image.save(str(path.with_name(path.stem + "-grey.png")))


def demo_text(modbus: int, opcua: int, mes: int) -> str:
    """The demo project, pointed at this run's ports; the filler jam is left without an
    automatic reason so the production panel shows a stop waiting for the operator."""
    from hmi.simulator.serve import demo_project_text

    text = demo_project_text(modbus, opcua, mes)
    text = text.replace("reason_required_s = 60", f"reason_required_s = {REASON_AFTER_S}")
    # no automatic reasons from fault codes or alarms (the states' mappings stay)
    return re.sub(r"(?m)^  (fault_codes|alarms) = .*\n", "", text)


def stage(station: Any, plant: Any, wait: Any) -> None:
    """Faults, a work order and an operator's alarm actions."""
    context = station.context
    commands, security = context.commands, context.commands.security
    for name, role in (("ann", "admin"), ("olga", "operator"), ("erik", "engineer")):
        security.users.add(name, role, f"{name} screenshot pass", by="os:screenshot",
                           by_role="os-account")
    olga = security.login("olga", "olga screenshot pass")
    erik = security.login("erik", "erik screenshot pass")
    context.set_actor(olga)
    commands.start_work_order(olga, "WO-2024-0815", product="WATER05",
                              lot="L0815-A").result(10)
    commands.set_context(olga, operator="Olga K.").result(10)
    wait(20)  # running and counting: OEE has something to say
    plant.inject("product_hot", 16)  # raises, then returns unacknowledged
    plant.inject("filler_jam", 300)  # the line stops: a downtime without a reason
    wait(2)
    plant.inject("packer_trip", 300)
    plant.level = 96.0  # the jammed filler draws nothing: HI and HH (latched) stand
    wait(REASON_AFTER_S + 10)
    for action, alarm, who, args in (
            ("ack", "Line1.Filler.Fault.DI", olga, {"comment": "jam cleared at infeed star"}),
            ("comment", "Line1.Filler.ProductTemp.HI", olga,
             {"text": "chiller checked, inlet water warm"}),
            ("shelve", "Line1.Packer.Speed.BAD", olga,
             {"minutes": 30, "reason": "packer controller firmware update"}),
            ("oos", "Line1.Filler.Level.BAD", erik, {"reason": "PLC swap planned"}),
            ("ack", "Line1.Filler.Level.HI", olga, {})):
        try:
            commands.alarm(who, action, alarm, **args).result(5)
        except Exception as exc:  # noqa: BLE001 - a screenshot run reports and goes on
            print(f"{action} {alarm}: {exc}")  # noqa: T201
    wait(6)  # OEE refreshed (every 5 s)


def main(argv: list[str]) -> int:
    from hmi.gui import theme
    from hmi.gui.app import application
    from hmi.gui.screenshot import render, wait
    from hmi.gui.station import Station
    from hmi.mes.stub import MesStub, StubThread
    from hmi.project import load_project
    from hmi.simulator.serve import SimulatorThread
    from hmi.trends.demo import record_demo

    app = application()
    wanted = set(argv)
    sim = SimulatorThread(seed=3, fault_every_s=0)
    with tempfile.TemporaryDirectory(prefix="hmi-shots-") as tmp:
        os.environ["HMI_AUDIT_KEY_DIR"] = str(Path(tmp) / "audit-keys")
        stub = StubThread(MesStub(out=Path(tmp) / "stub.jsonl")).start()
        sim.start()
        path = Path(tmp) / "demo.toml"
        path.write_text(demo_text(sim.modbus_port, sim.opcua_port, stub.stub.port),
                        encoding="utf-8")
        project = load_project(path)
        data = Path(tmp) / "data"
        record_demo(project, data, hours=2, end=time.time() - 30)
        station = Station(project, data, settings=None)
        try:
            station.start()
            station.window.resize(*SIZE)
            station.window.show()
            assert sim.demo is not None
            stage(station, sim.demo.plant, wait)
            for name in ("day", "night"):
                theme.apply(app, name)
                for pattern, screen, asset, tag, options, grey in SHOTS:
                    file = pattern.format(theme=name, night="-night" if name == "night"
                                          else "")
                    if wanted and file not in wanted and screen not in wanted:
                        continue
                    out = render(station, screen, OUT / f"{file}.png", asset=asset, tag=tag,
                                 theme_name=name, options=options)
                    if grey:
                        save_grey(out)
                    print(f"wrote {out.name}")  # noqa: T201
            if not wanted or "diagnostics-down" in wanted:
                theme.apply(app, "day")
                sim.stop()  # the plant goes away: both devices down, bad-quality alarms
                wait(6)
                out = render(station, "diagnostics", OUT / "diagnostics-down.png")
                save_grey(out)
                print(f"wrote {out.name}")  # noqa: T201
        finally:
            station.close()
            sim.stop()
            stub.stop()
            wait(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
