"""Render the alarm summary, alarm journal and diagnostics screens on the live demo plant.

A stopgap until `hmi screenshot` lands (issue 12, main window branch): it starts the demo
simulator with faults injected, runs the station on the demo project (historian + alarm
service, real journal), acts like an operator (acknowledges, shelves, comments), then grabs
each screen offscreen into this folder, plus a greyscale copy of each to check the marks read
without colour. The neutral grey palette here stands in for the day theme.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/render_alarm_screens.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtGui import QColor, QImage, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (1600, 900)


def neutral_palette(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    greys = {QPalette.ColorRole.Window: "#D5D5D5", QPalette.ColorRole.Base: "#E4E4E4",
             QPalette.ColorRole.AlternateBase: "#DADADA", QPalette.ColorRole.Button: "#CACACA",
             QPalette.ColorRole.Text: "#101010", QPalette.ColorRole.WindowText: "#101010",
             QPalette.ColorRole.ButtonText: "#101010", QPalette.ColorRole.Highlight: "#8A8A8A",
             QPalette.ColorRole.HighlightedText: "#FFFFFF"}
    for role, colour in greys.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#8C8C8C"))
    app.setPalette(palette)


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def save(widget: QWidget, name: str) -> None:
    image = widget.grab().toImage()
    image.save(str(OUT / f"{name}.png"))
    image.convertToFormat(QImage.Format.Format_Grayscale8).save(str(OUT / f"{name}-grey.png"))
    print(f"wrote {name}.png")  # noqa: T201 - a command-line script


def main() -> int:
    app = QApplication.instance() or QApplication([])
    neutral_palette(app)
    from hmi.gui.bridge import TagBridge
    from hmi.gui.context import StationContext
    from hmi.project import load_project
    from hmi.runtime import Runtime
    from hmi.simulator.serve import SimulatorThread, demo_project_text
    from screens.alarm_journal import AlarmJournalScreen
    from screens.alarm_summary import AlarmSummaryScreen
    from screens.diagnostics import DiagnosticsScreen

    sim = SimulatorThread(seed=3, fault_every_s=0)
    sim.start()
    with tempfile.TemporaryDirectory(prefix="hmi-shots-") as tmp:
        # the audit key of this throw-away station stays in the temporary folder too
        os.environ["HMI_AUDIT_KEY_DIR"] = str(Path(tmp) / "audit-keys")
        project_path = Path(tmp) / "demo.toml"
        project_path.write_text(demo_project_text(sim.modbus_port, sim.opcua_port),
                                encoding="utf-8")
        runtime = Runtime(load_project(project_path), Path(tmp) / "data")
        bridge = TagBridge()
        bridge.attach(runtime)
        runtime.start()
        context = StationContext(runtime, bridge)
        security = context.commands.security
        for name, role in (("ann", "admin"), ("olga", "operator"), ("erik", "engineer")):
            security.users.add(name, role, f"{name} screenshot pass", by="os:screenshot",
                               by_role="os-account")
        olga = security.login("olga", "olga screenshot pass")
        context.set_actor(olga)
        screens: list[QWidget] = []
        try:
            runtime.wait_first_cycle(15)
            assert sim.demo is not None
            plant = sim.demo.plant
            plant.inject("product_hot", 16)  # raises, then returns unacknowledged
            plant.inject("filler_jam", 300)  # first out of Line1.Stops
            pump(app, 2)
            plant.inject("packer_trip", 300)
            plant.level = 96.0  # the jammed filler draws nothing: HI and HH (latched) stand
            pump(app, 22)
            commands = context.commands
            erik = security.login("erik", "erik screenshot pass")
            for action, alarm, who, args in (
                    ("ack", "Line1.Filler.Fault.DI", olga,
                     {"comment": "jam cleared at infeed star"}),
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
            pump(app, 2)
            summary = AlarmSummaryScreen(context)
            screens.append(summary)
            summary.resize(*SIZE)
            summary.show()
            summary.configure({"blink": False})
            pump(app, 1.5)
            if summary.model.rowCount():
                summary.table.selectRow(min(1, summary.model.rowCount() - 1))
            pump(app, 0.5)
            save(summary, "alarms")
            summary.configure({"view": "shelved"})
            pump(app, 0.5)
            save(summary, "alarms-shelved")
            summary.configure({"view": "standing"})
            summary.hide()

            journal = AlarmJournalScreen(context)
            screens.append(journal)
            journal.resize(*SIZE)
            journal.show()
            pump(app, 1.5)
            save(journal, "journal")
            journal.hide()

            diagnostics = DiagnosticsScreen(context)
            screens.append(diagnostics)
            diagnostics.resize(*SIZE)
            diagnostics.show()
            pump(app, 2.5)
            save(diagnostics, "diagnostics")
            sim.stop()  # the plant goes away: both devices down, bad-quality alarms
            pump(app, 6)
            save(diagnostics, "diagnostics-down")
            diagnostics.hide()
        finally:
            for widget in screens:
                widget.close()
                widget.deleteLater()
            bridge.detach()
            context.shutdown()
            runtime.stop()
            sim.stop()
            app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
