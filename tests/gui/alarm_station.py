"""A real station for the alarm screens' tests: runtime with the real security service (users,
sessions, audit trail) and the real alarm service with its journal file, the bridge and a
context with olga (operator) logged in. Values are posted straight into the runtime (the
devices are disabled), so a test decides exactly which alarms stand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hmi.commands import Actor
from hmi.gui.bridge import TagBridge
from hmi.gui.context import StationContext
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.tags import Sample
from tests.core.security_helpers import PASSWORDS, add_users

SERVICES = ("hmi.security.service:SecurityService", "alarms.service:AlarmService")

PROJECT = """\
[project]
name = "Alarm screens"
asset = "Acme/Site/Bottling"

[[assets]]
path = "Acme/Site/Bottling/Tank"

[[assets]]
path = "Acme/Site/Bottling/Pumps"

[[devices]]
name = "tank"
protocol = "sim"
enabled = false
asset = "Tank"

[[devices]]
name = "pumps"
protocol = "sim"
enabled = false
asset = "Pumps"

[alarm_settings]
shelve_default_min = 15
shelve_max_min = 60

[[tags]]
name = "Tank.Level"
device = "tank"
unit = "%"
decimals = 1

[[tags]]
name = "Tank.Temp"
device = "tank"
unit = "°C"
decimals = 1

[[tags]]
name = "Tank.Pressure"
device = "tank"
unit = "bar"

[[tags]]
name = "Pump.Flow"
device = "pumps"
unit = "l/min"
decimals = 0

[[tags]]
name = "Pump.Fault"
device = "pumps"
type = "bool"

[[tags]]
name = "Pump.Speed"
device = "pumps"
unit = "rpm"
decimals = 0

[[alarms]]
tag = "Tank.Level"
type = "high"
limit = 80.0
priority = "high"
message = "Tank level high"
consequence = "Tank overflows"
corrective_action = "Reduce the inlet flow"

[[alarms]]
tag = "Tank.Level"
type = "highhigh"
limit = 90.0
priority = "urgent"
message = "Tank level high-high"
latched = true

[[alarms]]
tag = "Tank.Temp"
type = "high"
limit = 50.0
priority = "medium"
message = "Product temperature high"

[[alarms]]
tag = "Tank.Pressure"
type = "high"
limit = 5.0
priority = "low"
message = "Tank pressure high"

[[alarms]]
tag = "Pump.Flow"
type = "low"
limit = 10.0
priority = "medium"
message = "Pump flow low"

[[alarms]]
tag = "Pump.Fault"
type = "digital"
priority = "high"
message = "Pump tripped"
group = "Stops"

[[alarms]]
tag = "Pump.Speed"
type = "high"
limit = 100.0
priority = "low"
message = "Pump speed high"
group = "Stops"
"""

# values that put every alarm above into alarm, and back to normal
ALARMING = {"Tank.Level": 95.0, "Tank.Temp": 60.0, "Tank.Pressure": 6.0, "Pump.Flow": 2.0,
            "Pump.Fault": True, "Pump.Speed": 150.0}
NORMAL = {"Tank.Level": 50.0, "Tank.Temp": 20.0, "Tank.Pressure": 2.0, "Pump.Flow": 50.0,
          "Pump.Fault": False, "Pump.Speed": 50.0}


@dataclass
class Station:
    runtime: Runtime
    bridge: TagBridge
    context: StationContext

    def post(self, values: dict[str, object]) -> None:
        now = time.time()
        self.runtime.post([Sample(tag, value, now) for tag, value in values.items()])

    def login(self, name: str) -> Actor:
        """A logged-in user of tests.core.security_helpers (olga operator, eve engineer, ...)."""
        return self.context.commands.security.login(name, PASSWORDS[name])

    @property
    def service(self):
        return self.context.commands.alarm_service()

    def state(self, alarm: str) -> str:
        return self.service.call(lambda m: m.state(alarm).value).result(5)

    def journal(self, **filters: object) -> list[dict]:
        self.service.flush()
        return self.service.journal.query(**filters)


def open_station(project_text: str, tmp_path: Path, data_dir: Path,
                 services: tuple[str, ...] = SERVICES) -> Iterator[Station]:
    path = tmp_path / "project.toml"
    path.write_text(project_text, encoding="utf-8")
    runtime = Runtime(load_project(path), data_dir, services=services)
    bridge = TagBridge()
    bridge.attach(runtime)
    runtime.start()
    context = StationContext(runtime, bridge)
    add_users(context.commands.security)
    station = Station(runtime, bridge, context)
    context.set_actor(station.login("olga"))
    try:
        yield station
    finally:
        context.shutdown()
        bridge.detach()
        runtime.stop()
