"""Recovery: the server is stopped mid-subscription and restarted on the same port. Tags go
BAD (comm failure) promptly and come back by themselves, through the real DeviceRunner and
through the whole Runtime."""

from __future__ import annotations

import time
from pathlib import Path

from hmi.device_runner import DeviceRunner
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.tags import DeviceSpec, Point, Quality, TagStore
from tests.conftest import wait_until
from tests.drivers.opcua_fixtures import NAMESPACE, ServerThread


def test_server_restart_mid_subscription(tmp_path: Path) -> None:
    server = ServerThread().start()
    spec = DeviceSpec("plc1", "opcua", poll_s=0.2, timeout_s=0.5, data_dir=str(tmp_path),
                      settings={"url": server.url, "publishing_ms": 50})
    points = [Point("Speed", "plc1", data_type="auto", node="ns=2;s=Plant.Speed"),
              Point("Level", "plc1", data_type="auto", node=f"nsu={NAMESPACE};s=Plant.Level")]
    store = TagStore(p.tag for p in points)
    runner = DeviceRunner(spec, points, store.apply)
    runner.start()
    try:
        wait_until(lambda: store.value("Speed") == 10.0 and store.value("Level") == 50.0, 10)
        server.set("Speed", 11.0)
        wait_until(lambda: store.value("Speed") == 11.0, 5)

        server.stop()
        stopped = time.monotonic()
        wait_until(lambda: all(store.get(t).quality is Quality.BAD for t in ("Speed", "Level")),
                   10)
        went_bad_s = time.monotonic() - stopped
        assert store.get("Speed").reason.startswith("comm failure")
        assert went_bad_s < 8  # prompt: well inside a keep-alive period or two

        server = ServerThread(port=server.port).start()  # fresh server, same port
        server.set("Speed", 33.0)
        wait_until(lambda: store.value("Speed") == 33.0 and store.get("Level").good, 20)
        health = runner.health()
        assert health["reconnects"] >= 1
        assert health["state"] == "connected"
        assert health["last_error"]
    finally:
        runner.stop()
        server.stop()


PROJECT = """
[project]
name = "recovery"

[[devices]]
name = "plc1"
protocol = "opcua"
url = "{url}"
publishing_ms = 50
timeout_ms = 500

[[tags]]
name = "Speed"
device = "plc1"
node = "ns=2;s=Plant.Speed"
writable = true
min = 0
max = 100

[[tags]]
name = "Setpoint"
device = "plc1"
node = "nsu={ns};s=Plant.Setpoint"
type = "int16"
writable = true
"""


def test_runtime_end_to_end_with_restart(tmp_path: Path) -> None:
    server = ServerThread().start()
    path = tmp_path / "plant.toml"
    path.write_text(PROJECT.format(url=server.url, ns=NAMESPACE), encoding="utf-8")
    runtime = Runtime(load_project(path), tmp_path / "data", services=())
    runtime.start()
    try:
        wait_until(lambda: runtime.tags.value("Speed") == 10.0, 10)
        result = runtime.write("Speed", 42.5)
        assert result.ok, result
        wait_until(lambda: runtime.tags.value("Speed") == 42.5, 5)
        assert runtime.write("Setpoint", 77).ok
        assert server.get("Setpoint") == 77
        rejected = runtime.write("Speed", 250.0)
        assert not rejected.ok
        assert "maximum" in rejected.message

        server.stop()
        wait_until(lambda: runtime.tags.get("Speed").quality is Quality.BAD, 10)
        server = ServerThread(port=server.port).start()
        wait_until(lambda: runtime.tags.value("Speed") == 10.0, 20)
        wait_until(lambda: runtime.device_health()["plc1"].get("connected"), 5)
        health = runtime.device_health()["plc1"]
        assert health["reconnects"] >= 1
        assert "notifications_per_s" in health or health["notifications"] > 0
    finally:
        runtime.stop()
        server.stop()


def test_asyncua_publish_loop_traceback_on_a_lost_connection_is_dropped(caplog) -> None:
    """The server going away makes asyncua's publish loop log a traceback per restart (192 in a
    100-minute soak); the driver says "down" once. Only that case is dropped: another failure
    of the publish loop keeps its traceback."""
    import logging

    import drivers.opcua  # noqa: F401 (installs the filter, as the station does)

    session_log = logging.getLogger("asyncua.client.ua_session.UaSession")
    caplog.set_level(logging.INFO)
    for exc in (ConnectionError("Connection is closed"), ValueError("bad publish response")):
        session_log.error("Publish iteration crashed; retrying in 1s",
                          exc_info=(type(exc), exc, None))
    crashed = [r for r in caplog.records if r.getMessage().startswith("Publish iteration")]
    assert len(crashed) == 1
    assert crashed[0].exc_info is not None
    assert isinstance(crashed[0].exc_info[1], ValueError)
