"""The users screen: an admin adds, re-roles, resets, disables and unlocks users through the
command layer (audited under the admin's name, in the same transaction as the change); anyone
else sees why not, not the list."""

from __future__ import annotations

import pytest
import shiboken6

from hmi.commands import CommandDenied
from hmi.security.users import AuthError
from screens.user_dialogs import UserDialog
from screens.users import UsersScreen
from tests.core.security_helpers import PASSWORDS


def users_screen(station, qtbot, count: int) -> UsersScreen:
    station.window.go("users")
    screen = station.window.screen("users")
    assert isinstance(screen, UsersScreen)
    qtbot.waitUntil(lambda: len(screen.rows) == count, timeout=10_000)
    return screen


def fill(screen: UsersScreen, change: str, **fields: str) -> UserDialog:
    screen.start(change)
    dialog = screen.dialog
    assert isinstance(dialog, UserDialog)
    for name, value in fields.items():
        if name == "role":
            dialog.role.setCurrentIndex(dialog.role.findData(value))
        else:
            getattr(dialog, name).setText(value)
    return dialog


def row(screen: UsersScreen, name: str) -> dict:
    return next(u for u in screen.rows if u["name"] == name)


def test_admin_adds_a_user_and_disables_one(make_station, qtbot) -> None:
    station = make_station(actor="ann")
    security = station.context.commands.security
    screen = users_screen(station, qtbot, 5)
    assert not screen.table.isHidden()
    assert screen.buttons["add"].isEnabled()
    assert not screen.buttons["disable"].isEnabled()  # nobody selected
    dialog = fill(screen, "add", name="paul", role="engineer", password="paul password 1",
                  repeat="paul password 2")
    assert not dialog.ok_button.isEnabled()
    assert dialog.message.text() == "the two passwords differ"
    dialog.repeat.setText("paul password 1")
    assert dialog.ok_button.isEnabled()
    dialog.accept()
    qtbot.waitUntil(lambda: len(screen.rows) == 6, timeout=10_000)
    assert not shiboken6.isValid(dialog) or dialog.password.text() == ""
    assert row(screen, "paul")["role"] == "engineer"
    assert "user paul added as engineer" in station.window.notice.text()

    screen.select("otto")
    assert screen.buttons["disable"].isEnabled()
    fill(screen, "disable").accept()
    qtbot.waitUntil(lambda: not row(screen, "otto")["enabled"], timeout=10_000)
    texts = [screen.table.item(r, 2).text() for r in range(screen.table.rowCount())
             if screen.table.item(r, 0).text() == "otto"]
    assert texts == ["disabled"]
    [add] = security.audit.query(action="user.add", user="ann")
    assert (add.object, add.role, add.details, add.result) == ("paul", "admin",
                                                           {"role": "engineer"}, "ok")
    [disable] = security.audit.query(action="user.disable")
    assert (disable.user, disable.role, disable.object, disable.result) == ("ann", "admin",
                                                                         "otto", "ok")
    assert security.login("paul", "paul password 1").role == "engineer"
    with pytest.raises(AuthError, match=r"^account otto is disabled$"):
        security.login("otto", PASSWORDS["otto"])
    assert security.audit.verify().ok


def test_role_password_unlock_and_the_last_admin(make_station, qtbot) -> None:
    station = make_station(actor="ann")
    security = station.context.commands.security
    for _ in range(5):  # olga locks herself out
        with pytest.raises(AuthError):
            security.login("olga", "wrong password 1")
    screen = users_screen(station, qtbot, 5)
    qtbot.waitUntil(lambda: bool(row(screen, "olga")["locked_until"]), timeout=5000)
    screen.select("olga")
    assert screen.buttons["unlock"].isEnabled()
    screen.buttons["unlock"].click()
    qtbot.waitUntil(lambda: not row(screen, "olga")["locked_until"], timeout=10_000)
    screen.select("olga")
    fill(screen, "role", role="viewer").accept()
    qtbot.waitUntil(lambda: row(screen, "olga")["role"] == "viewer", timeout=10_000)
    screen.select("olga")
    fill(screen, "passwd", password="olga new password", repeat="olga new password").accept()
    qtbot.waitUntil(lambda: bool(security.audit.query(action="user.passwd")), timeout=10_000)
    assert security.login("olga", "olga new password").role == "viewer"
    screen.select("ann")
    fill(screen, "disable").accept()  # the last enabled admin
    qtbot.waitUntil(lambda: "last enabled admin" in station.window.notice.text(),
                    timeout=10_000)
    assert row(screen, "ann")["enabled"]
    assert [e.result for e in security.audit.query(action="user.disable")] == [
        "invalid: ann is the last enabled admin; add another admin first"]
    assert [e.user for e in security.audit.query(action="unlock")] == ["ann"]


def test_only_admins_see_and_change_users(make_station, qtbot) -> None:
    station = make_station(actor="eve")  # an engineer
    station.window.go("users")
    screen = station.window.screen("users")
    assert screen.table.isHidden()
    assert screen.rows == []
    assert "needs role admin (you are engineer)" in screen.notice.text()
    assert not screen.buttons["add"].isEnabled()
    assert "needs role admin" in screen.buttons["add"].toolTip()
    # the command layer refuses anyway, and audits it
    commands = station.context.commands
    with pytest.raises(CommandDenied, match=r"^needs role admin \(you are engineer\)$"):
        commands.change_user(station.context.actor, "add", "mallory", role="admin",
                             password="mallory password")
    [denied] = commands.security.audit.query(action="user.add", user="eve")
    assert (denied.user, denied.object, denied.result) == (
        "eve", "mallory", "denied: needs role admin (you are engineer)")
    assert commands.security.users.get("mallory") is None
