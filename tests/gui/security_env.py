"""Pieces the GUI security tests share: project variants (idle lock, a signed tag) and small
helpers that drive the real login dialogs (hashing in the station's workers)."""

from __future__ import annotations

from typing import Any

import shiboken6

from hmi.gui.login_dialogs import LoginDialog
from tests.core.security_helpers import PASSWORDS, add_users
from tests.gui.stations import SIM_PROJECT

TEMP_ALARM = "Tank.Temp.HI"  # standing from the start: the sim holds 95 °C, the limit is 80


def with_security(lines: str, text: str = SIM_PROJECT) -> str:
    """SIM_PROJECT with a `[security]` table (before the first asset)."""
    return text.replace("[[assets]]", f"[security]\n{lines}\n\n[[assets]]", 1)


SIGNED_PROJECT = SIM_PROJECT.replace('''name = "Tank.LevelSetpoint"
device = "tank"
type = "float32"
unit = "%"
writable = true''', '''name = "Tank.LevelSetpoint"
device = "tank"
type = "float32"
unit = "%"
writable = true
signature = true''')
assert SIGNED_PROJECT != SIM_PROJECT


def users(station: Any) -> None:
    """One user per role (tests.core.security_helpers) in this station's data dir."""
    add_users(station.context.commands.security)


def login_dialog(station: Any) -> LoginDialog:
    dialog = station.session.dialog
    assert isinstance(dialog, LoginDialog), dialog
    assert dialog.isVisible()
    return dialog


def answer(qtbot: Any, dialog: Any, name: str, password: str | None = None) -> None:
    """Type a name and password and press the dialog's button; wait until the worker answered
    (the dialog closed, or it shows a message again)."""
    dialog.user.setText(name)
    dialog.password.setText(PASSWORDS[name] if password is None else password)
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)


def closed(dialog: Any) -> bool:
    """Closed (credential dialogs delete themselves on close)."""
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def alarm_row(station: Any, name: str = TEMP_ALARM) -> dict[str, Any] | None:
    return station.context.alarms.rows.get(name)
