"""Issue 14 in the window: first admin, login, lockout, session lock (idle and on request),
unlock, switch user, operator activity, and what a station nobody is logged in to still does.
Real stations (sim devices, security service, alarms, audit trail on real files); every
password check runs in the station's workers and comes back through the real dialogs."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from PySide6.QtCore import Qt

from hmi.gui.login_dialogs import FirstAdminDialog, LoginDialog
from hmi.gui.user_area import SessionBar
from tests.core.security_helpers import PASSWORDS
from tests.gui.security_env import (
    TEMP_ALARM,
    alarm_row,
    answer,
    closed,
    login_dialog,
    users,
    with_security,
)
from widgets.faceplate_alarms import AlarmSection

ROOT = Path(__file__).resolve().parents[2]
SETPOINT = "Tank.LevelSetpoint"


def test_first_start_asks_for_the_first_admin_and_logs_them_in(make_station, qtbot,
                                                                monkeypatch) -> None:
    station = make_station(with_security("min_password_length = 14"), actor=None)
    security = station.context.commands.security
    session = station.session
    assert session.no_users
    assert station.window.header.user.text() == "no users yet"
    session.prompt()
    dialog = session.dialog
    assert isinstance(dialog, FirstAdminDialog)
    dialog.user.setText("ann")
    dialog.password.setText("thirteen char")  # 13: the project asks 14
    dialog.repeat.setText("thirteen char")
    assert not dialog.ok_button.isEnabled()
    assert "at least 14 characters" in dialog.message.text()
    dialog.password.setText("first admin pass")
    assert dialog.message.text() == "the two passwords differ"
    dialog.repeat.setText("first admin pass")
    assert dialog.ok_button.isEnabled()
    threads: list[str] = []
    add = security.users.add

    def add_and_note_the_thread(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return add(*args, **kwargs)

    monkeypatch.setattr(security.users, "add", add_and_note_the_thread)
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: station.context.actor is not None, timeout=10_000)
    assert threads
    assert threads[0].startswith("gui-job")  # hashed in a worker
    actor = station.context.actor
    assert (actor.user, actor.role) == ("ann", "admin")
    assert station.window.header.user.text() == "ann (admin)"
    assert closed(dialog)
    assert not session.no_users
    assert security.users.get("ann").role == "admin"
    actions = [(e.user, e.action, e.result) for e in security.audit.query()]
    assert ("ann", "user.add", "ok") in actions
    assert ("ann", "login", "ok") in actions
    assert station.context.why_not("users") is None


def test_login_shows_the_core_message_then_sets_the_actor_and_header(make_station, qtbot
                                                                     ) -> None:
    station = make_station(actor=None)
    users(station)
    faceplate = station.window.open_faceplate(SETPOINT)
    entry = faceplate.write.entry
    assert not entry.isEnabled()
    assert entry.toolTip() == "not allowed: nobody is logged in: log in to write"
    station.session.prompt()
    dialog = login_dialog(station)
    answer(qtbot, dialog, "olga", "not olga's password")
    assert dialog.message.text() == "wrong user name or password"
    assert dialog.password.text() == ""  # typed again
    answer(qtbot, dialog, "nobody-of-that-name", "some password 1")
    assert dialog.message.text() == "wrong user name or password"  # the same words
    assert station.context.actor is None
    assert dialog.isVisible()
    answer(qtbot, dialog, "olga")
    actor = station.context.actor
    assert (actor.user, actor.role) == ("olga", "operator")
    assert station.window.header.user.text() == "olga (operator)"
    assert closed(dialog)
    assert entry.isEnabled()
    area = station.window.header.user_area
    assert area.login_button.text() == "Switch user…"
    assert area.lock_button.isEnabled()
    assert "olga (operator) logged in" in station.window.notice.text()


def test_lockout_says_so_while_alarms_stay_visible_and_another_user_acks(make_station, qtbot
                                                                          ) -> None:
    station = make_station(actor=None)
    users(station)
    window = station.window
    qtbot.waitUntil(lambda: alarm_row(station) is not None, timeout=10_000)
    station.session.log_in()
    dialog = login_dialog(station)
    for _ in range(5):
        answer(qtbot, dialog, "olga", "guessing wrong 123")
        assert dialog.message.text() == "wrong user name or password"
    answer(qtbot, dialog, "olga")  # the right password, too late
    assert re.match(r"account locked for 15 more min \(until \d\d:\d\d UTC\); an admin can "
                    r"unlock it", dialog.message.text()), dialog.message.text()
    assert station.context.actor is None
    # the station goes on: alarm banner, counts, the lockout's own alarm, horn silence
    qtbot.waitUntil(lambda: alarm_row(station, "$security.lockout") is not None,
                    timeout=10_000)
    assert TEMP_ALARM in [r["name"] for r in window.header.banner.rows]
    assert window.header.counts.counts["urgent"] >= 1
    assert window.header.silence_button.isEnabled()
    answer(qtbot, dialog, "otto")  # another operator
    assert station.context.actor.user == "otto"
    window.header.banner.select(TEMP_ALARM)
    window.ack_selected()
    qtbot.waitUntil(lambda: alarm_row(station)["acked"], timeout=10_000)
    security = station.context.commands.security
    assert [e.user for e in security.audit.query(action="ack") if e.result != "requested"] \
        == ["otto"]
    assert [e.result for e in security.audit.query(action="lockout")] == ["locked"]


def test_idle_lock_hides_controls_but_keeps_values_alarms_and_horn(make_station, qtbot
                                                                   ) -> None:
    station = make_station(with_security("idle_lock_min = 0.02"))  # 1.2 s without input
    window = station.window
    session = station.session
    faceplate = window.open_faceplate(SETPOINT)
    assert faceplate.write.entry.isEnabled()
    qtbot.waitUntil(lambda: session.is_locked, timeout=10_000)
    assert session.locked_reason == "idle"
    assert closed(faceplate)  # what it could operate is hidden
    assert window.header.user.text() == "olga (operator) · LOCKED"
    session_bar = window.findChild(SessionBar)
    assert session_bar.state == "locked"
    assert not session_bar.isHidden()
    assert "Session locked" in session_bar.text.text()
    why = station.context.why_not("write", SETPOINT)
    assert why == "the session is locked (idle): unlock it first"
    again = window.open_faceplate(SETPOINT)
    assert not again.write.entry.isEnabled()
    assert "locked" in again.write.entry.toolTip()
    assert not window.header.user_area.lock_button.isEnabled()
    window.go("alarms")
    summary = window.screen("alarms")
    assert not summary.actions_.actions["ack"].isEnabled()
    assert "locked" in summary.actions_.actions["ack"].toolTip()
    # still live: banner, counts, horn silence, process values
    assert TEMP_ALARM in [r["name"] for r in window.header.banner.rows]
    assert window.header.counts.counts["urgent"] >= 1
    assert window.header.silence_button.isEnabled()
    count = station.bridge.current["Pump.Count"].value
    qtbot.waitUntil(lambda: station.bridge.current["Pump.Count"].value > count, timeout=5000)
    locks = station.context.commands.security.audit.query(action="session.lock")
    assert [(e.user, e.details["reason"]) for e in locks] == [("olga", "idle")]
    assert sum("locked after" in text for _t, _l, text in window.notifications) == 1  # once
    again.close()


def test_unlock_by_a_higher_role_not_by_a_peer(make_station, qtbot) -> None:
    station = make_station()  # olga, operator
    session = station.session
    olga = station.context.actor
    security = station.context.commands.security
    station.window.lock_session()  # Ctrl+Shift+L
    qtbot.waitUntil(lambda: station.context.why_not("ack") is not None, timeout=5000)
    assert session.is_locked
    station.window.log_in()  # Ctrl+Shift+U: unlock
    dialog = login_dialog(station)
    assert dialog.windowTitle() == "Unlock"
    assert dialog.user.text() == "olga"
    answer(qtbot, dialog, "otto")  # another operator: not above olga
    assert dialog.message.text() == ("only olga or a user with a role above operator can "
                                     "unlock this session")
    assert session.is_locked
    answer(qtbot, dialog, "eve")  # an engineer takes over
    actor = station.context.actor
    assert (actor.user, actor.role) == ("eve", "engineer")
    assert not session.is_locked
    assert station.context.why_not("oos") is None
    assert security.session(olga) is None  # olga's session ended
    assert station.window.header.user.text() == "eve (engineer)"
    # the same user resumes their own session
    session.lock()
    qtbot.waitUntil(lambda: station.context.why_not("ack") is not None, timeout=5000)
    session.unlock()
    answer(qtbot, login_dialog(station), "eve")
    assert station.context.actor == actor
    assert station.context.why_not("ack") is None
    unlocks = [(e.user, e.result) for e in security.audit.query(action="session.unlock")]
    assert unlocks == [("otto", "denied: role not higher"), ("eve", "ok"), ("eve", "ok")]


def test_the_next_shift_switches_user_on_a_locked_station(make_station, qtbot) -> None:
    station = make_station()
    olga = station.context.actor
    station.session.lock()
    qtbot.waitUntil(lambda: station.context.why_not("ack") is not None, timeout=5000)
    station.session.switch_user()
    dialog = login_dialog(station)
    answer(qtbot, dialog, "otto", "wrong password 1")
    assert station.context.actor == olga  # a failed switch keeps the locked session
    answer(qtbot, dialog, "otto")
    assert station.context.actor.user == "otto"
    assert not station.session.is_locked
    assert station.context.why_not("ack") is None
    security = station.context.commands.security
    assert security.session(olga) is None
    [logout] = security.audit.query(action="logout")
    assert (logout.user, logout.details["why"]) == ("olga", "switch to otto")


def test_log_out_leaves_the_station_read_only(make_station, qtbot) -> None:
    station = make_station()
    olga = station.context.actor
    station.window.header.user_area.logout_button.click()
    assert station.context.actor is None
    assert station.window.header.user.text() == "nobody logged in"
    security = station.context.commands.security
    qtbot.waitUntil(lambda: security.session(olga) is None, timeout=5000)
    assert station.context.why_not("ack") == ("nobody is logged in: log in to acknowledge")
    bar = station.window.findChild(SessionBar)
    assert bar.state == "nobody"
    assert "Read-only" in bar.text.text()
    assert station.window.header.silence_button.isEnabled()
    assert [e.user for e in security.audit.query(action="logout")] == ["olga"]


def test_operator_input_restarts_the_idle_timer_at_most_every_few_seconds(make_station, qtbot
                                                                          ) -> None:
    station = make_station()
    security = station.context.commands.security
    actor = station.context.actor
    window = station.window
    window.show()
    before = security.session(actor).last_activity
    station.session._last_touch = 0.0  # the first input of this test counts
    qtbot.keyClick(window.nav, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: security.session(actor).last_activity > before, timeout=2000)
    touched = security.session(actor).last_activity
    qtbot.keyClick(window.nav, Qt.Key.Key_Up)  # within TOUCH_EVERY_S: not reported again
    assert security.session(actor).last_activity == touched
    assert station.session.touch_every_s == 5.0


def test_the_demo_login_and_a_refused_one(make_station, qtbot) -> None:
    station = make_station(actor=None)
    users(station)
    station.session.log_in_as("olga", "not the password")
    qtbot.waitUntil(lambda: isinstance(station.session.dialog, LoginDialog), timeout=10_000)
    assert "automatic login refused: wrong user name or password" in station.window.notice.text()
    station.session.dialog.close()
    station.session.log_in_as("olga", PASSWORDS["olga"])
    qtbot.waitUntil(lambda: station.context.actor is not None, timeout=10_000)
    assert station.context.actor.user == "olga"


def test_a_viewer_sees_writes_and_acks_disabled_with_the_reason(make_station, qtbot) -> None:
    station = make_station(actor="vera")
    qtbot.waitUntil(lambda: alarm_row(station) is not None, timeout=10_000)
    faceplate = station.window.open_faceplate(SETPOINT)
    assert not faceplate.write.entry.isEnabled()
    assert faceplate.write.entry.toolTip() == ("not allowed: needs role operator (you are "
                                               "viewer)")
    faceplate.write.request_write()
    assert faceplate.write.result_label.text().startswith("not allowed: needs role operator")
    temp = station.window.open_faceplate("Tank.Temp")
    ack = temp.findChild(AlarmSection).ack_buttons[TEMP_ALARM]
    assert not ack.isEnabled()
    assert "needs role operator" in ack.toolTip()
    faceplate.close()
    temp.close()


def test_no_dialog_is_ever_executed_modally() -> None:
    """qasync: `exec()` of a dialog inside the loop re-enters coroutines. Only the screenshot
    tool runs a plain QEventLoop (no qasync there)."""
    found = []
    for folder in ("hmi", "screens", "widgets"):
        for path in (ROOT / folder).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if re.search(r"\.exec_?\(", line):
                    found.append((str(path.relative_to(ROOT)), line.strip()))
    assert found == [("hmi/gui/screenshot.py", "loop.exec()")]
    assert "loop = QEventLoop()" in (ROOT / "hmi/gui/screenshot.py").read_text(encoding="utf-8")
