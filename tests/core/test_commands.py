"""The command layer's contract: role checks before anything reaches a device or an alarm."""

from __future__ import annotations

from pathlib import Path

import pytest

from alarms.permissions import AlarmCommandError
from drivers.base import WriteStatus
from hmi.commands import Actor, CommandDenied, Commands
from hmi.project import load_project
from hmi.runtime import Runtime
from tests.core.security_helpers import PASSWORDS, add_users

PROJECT = """\
[project]
name = "Commands test"

[[devices]]
name = "plc"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Tank.Setpoint"
device = "plc"
type = "float32"
writable = true
min = 0
max = 100
sim = { value = 5.0 }

[[tags]]
name = "Tank.Level"
device = "plc"
sim = { value = 50.0 }

[[alarms]]
tag = "Tank.Level"
type = "high"
limit = 10.0
priority = "high"
message = "level high"
"""


@pytest.fixture
def runtime(tmp_path: Path, data_dir: Path):
    path = tmp_path / "p.toml"
    path.write_text(PROJECT)
    with Runtime(load_project(path), data_dir) as rt:
        assert rt.wait_first_cycle()
        add_users(Commands(rt).security)
        yield rt


def login(commands: Commands, name: str) -> Actor:
    """Actors come from a login (Security.login); a bare Actor(user, role) has no session."""
    return commands.security.login(name, PASSWORDS[name])


def test_viewer_write_is_refused_before_the_device(runtime: Runtime) -> None:
    commands = Commands(runtime)
    viewer = login(commands, "vera")
    why = commands.check(viewer, "write", "Tank.Setpoint")
    assert why == "needs role operator (you are viewer)"
    result = commands.write(viewer, "Tank.Setpoint", 42.0).result(5)
    assert result.status is WriteStatus.REJECTED
    assert "denied" in result.message
    assert runtime.tags.value("Tank.Setpoint") == pytest.approx(5.0)


def test_a_bare_actor_is_not_logged_in(runtime: Runtime) -> None:
    commands = Commands(runtime)
    assert commands.check(Actor("olga", "operator"), "write", "Tank.Setpoint") == \
        "not logged in (no session)"
    assert commands.check(None, "ack") == "nobody is logged in"


def test_operator_write_is_confirmed(runtime: Runtime) -> None:
    commands = Commands(runtime)
    result = commands.write(login(commands, "olga"), "Tank.Setpoint", 42.0).result(5)
    assert result.status is WriteStatus.CONFIRMED, result.message
    assert result.value == pytest.approx(42.0)


def test_alarm_actions_go_through_the_alarm_thread(runtime: Runtime) -> None:
    commands = Commands(runtime)
    olga = login(commands, "olga")
    with pytest.raises(CommandDenied):
        commands.alarm(login(commands, "vera"), "ack", None).result(5)
    with pytest.raises(CommandDenied):
        commands.alarm(olga, "oos", "Tank.Level.HI", reason="x").result(5)
    with pytest.raises(AlarmCommandError):
        commands.alarm(olga, "shelve", "Tank.Level.HI", minutes=5).result(5)
    answer = commands.alarm(olga, "shelve", "Tank.Level.HI", minutes=5,
                            reason="sensor work").result(5)
    assert "shelved" in answer
