"""StationContext: jobs run off the GUI thread and their outcome comes back in it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject

from hmi.gui.bridge import TagBridge
from hmi.gui.context import StationContext
from hmi.project import load_project
from hmi.runtime import Runtime
from tests.core.security_helpers import PASSWORDS, add_users

PROJECT = """\
[project]
name = "ctx"

[[devices]]
name = "plc"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "SP"
device = "plc"
type = "float32"
writable = true
min = 0
max = 10
sim = { value = 1.0 }
"""


class Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.results: list[object] = []
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def on_result(self, result: object) -> None:
        self.threads.append(threading.current_thread())
        self.results.append(result)

    def on_error(self, exc: BaseException) -> None:
        self.errors.append(exc)


@pytest.fixture
def context(tmp_path: Path, data_dir: Path, qapp):
    path = tmp_path / "p.toml"
    path.write_text(PROJECT)
    runtime = Runtime(load_project(path), data_dir, services=())
    bridge = TagBridge()
    bridge.attach(runtime)
    with runtime:
        ctx = StationContext(runtime, bridge)
        yield ctx
        ctx.shutdown()
    bridge.detach()


def test_job_result_and_error_come_back_in_the_gui_thread(context, qtbot) -> None:
    receiver = Receiver()
    worker_threads: list[str] = []

    def job() -> int:
        worker_threads.append(threading.current_thread().name)
        return 42

    def failing() -> None:
        raise ValueError("boom")

    context.submit(job, slot=receiver.on_result)
    context.submit(failing, error_slot=receiver.on_error)
    qtbot.waitUntil(lambda: bool(receiver.results and receiver.errors), timeout=3000)
    assert receiver.results == [42]
    assert receiver.threads == [threading.main_thread()]
    assert worker_threads[0].startswith("gui-job")
    assert str(receiver.errors[0]) == "boom"


def test_unhandled_job_error_reaches_the_notification_area(context, qtbot) -> None:
    def failing() -> None:
        raise RuntimeError("historian unreachable")

    with qtbot.waitSignal(context.notification, timeout=3000) as blocker:
        context.submit(failing)
    assert blocker.args == ["error", "RuntimeError: historian unreachable"]


def test_write_through_commands_respects_the_actor(context, qtbot) -> None:
    assert context.why_not("write", "SP") == "nobody is logged in: log in to write"
    add_users(context.commands.security)
    olga = context.commands.security.login("olga", PASSWORDS["olga"])
    with qtbot.waitSignal(context.actor_changed, timeout=1000):
        context.set_actor(olga)
    assert context.why_not("write", "SP") is None
    assert context.runtime.wait_first_cycle()
    receiver = Receiver()
    context.when_done(context.commands.write(context.actor, "SP", 7.5), receiver.on_result)
    qtbot.waitUntil(lambda: bool(receiver.results), timeout=5000)
    assert receiver.results[0].ok, receiver.results[0].message
