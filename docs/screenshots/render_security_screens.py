"""Render the security pictures of issue 14 on the live demo plant: the login dialog after a
wrong password, the locked station (day and night), the signature dialog of a signed write and
the users screen.

It runs the demo simulator with faults injected (so the banner has alarms), the station on the
demo project in a temporary data folder with the demo accounts (`hmi.security.demo_users`),
and drives the real dialogs: passwords are checked in the station's workers as in `hmi gui`.
Dialogs are drawn over the window where they would sit (`hmi.gui.security_shots.render`).
`hmi screenshot --screen login|locked|signature --user NAME` renders the same states from the
command line, without the typed-in content.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/render_security_screens.py
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtGui import QPixmap  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (1600, 1000)
SIGNED_TAG = "Line1.Filler.SpeedSetpoint"


def until(condition: Callable[[], object], seconds: float = 10.0) -> None:
    from hmi.gui.screenshot import wait

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the station did not get there in time")
        wait(0.05)


def save(picture: QPixmap, name: str) -> None:
    if not picture.save(str(OUT / f"{name}.png"), "PNG"):
        raise OSError(f"cannot write {name}.png")
    print(f"wrote {name}.png")  # noqa: T201 - a command-line script


def main() -> int:
    from hmi.gui import theme
    from hmi.gui.app import application
    from hmi.gui.screenshot import blink_on_in, wait
    from hmi.gui.security_shots import render
    from hmi.gui.station import Station
    from hmi.project import load_project
    from hmi.security.demo_users import ensure_demo_users
    from hmi.security.users import AuthError
    from hmi.simulator.serve import SimulatorThread, demo_project_text

    app = application()
    theme.apply(app, "day")
    sim = SimulatorThread(seed=3, fault_every_s=0)
    sim.start()
    with tempfile.TemporaryDirectory(prefix="hmi-shots-") as tmp:
        os.environ["HMI_AUDIT_KEY_DIR"] = str(Path(tmp) / "audit-keys")
        project_path = Path(tmp) / "demo.toml"
        project_path.write_text(demo_project_text(sim.modbus_port, sim.opcua_port),
                                encoding="utf-8")
        project = load_project(project_path)
        data = Path(tmp) / "data"
        data.mkdir()
        ensure_demo_users(data, project.model.security)
        station = Station(project, data, settings=None)
        window = station.window
        session = station.session
        try:
            station.start()
            window.resize(*SIZE)
            window.show()
            station.runtime.wait_first_cycle(15)
            assert sim.demo is not None
            sim.demo.plant.inject("product_hot", 600)  # rejects rise, temperature alarms
            sim.demo.plant.inject("filler_jam", 600)
            wait(20)

            # 1. the login dialog, after a wrong password (the core's words)
            session.prompt()
            dialog = session.dialog
            dialog.user.setText("operator")
            dialog.password.setText("operator-demo-onyl")
            dialog.ok_button.click()
            until(lambda: not dialog.busy)
            dialog.password.setText("operator-demo-o")  # typing again: dots in the picture
            wait(0.3)
            wait(blink_on_in())
            save(render(window, [dialog]), "login-day")
            dialog.password.setText("operator-demo-only")
            dialog.ok_button.click()
            until(lambda: station.context.actor is not None)

            # 2. the locked station: an idle lock, as the core's thread makes it
            actor = station.context.actor
            station.context.submit(session.security.sessions.lock, actor.session, "idle")
            until(lambda: session.is_locked)
            window.go("line", station.context.meta.plant.lines[0].path)
            wait(1.0)
            wait(blink_on_in())
            save(window.grab(), "locked-day")
            theme.apply(app, "night")
            wait(0.5)
            wait(blink_on_in())
            save(window.grab(), "locked-night")
            theme.apply(app, "day")
            session.unlock()
            unlock = session.dialog
            unlock.password.setText("operator-demo-only")
            unlock.ok_button.click()
            until(lambda: not session.is_locked)

            # 3. a signed write: the signature dialog over the faceplate
            faceplate = window.open_faceplate(SIGNED_TAG)
            section = faceplate.write
            section.entry.setText("420")
            section.reason.setText("recipe WATER05 rev 3: faster fill")
            section.request_write()
            until(lambda: section.sign_dialog is not None and section.sign_dialog.isVisible())
            sign = section.sign_dialog
            sign.fields.meaning.setCurrentIndex(sign.fields.meaning.findData("performed"))
            sign.fields.password.setText("operator-demo-only")
            wait(0.5)
            wait(blink_on_in())
            save(render(window, [faceplate, sign]), "signature-day")
            sign.reject()
            faceplate.close()

            # 4. the users screen, as the admin
            session.switch_user()
            switch = session.dialog
            switch.user.setText("admin")
            switch.password.setText("admin-demo-only")
            switch.ok_button.click()
            until(lambda: station.context.actor.user == "admin")
            for _ in range(5):  # someone guesses the viewer's password: a lockout to lift
                with contextlib.suppress(AuthError):
                    session.security.login("viewer", "guessing 12345")
            window.go("users")
            screen = window.screen("users")
            until(lambda: len(screen.rows) == 4 and bool(screen.rows[3]["locked_until"]))
            screen.select("viewer")
            wait(1.0)
            wait(blink_on_in())
            save(window.grab(), "users-day")
        finally:
            station.close()
            sim.stop()
            wait(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
