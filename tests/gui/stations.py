"""Stations for GUI tests: a real runtime (sim devices, or the Modbus image server) with its
services in `tmp_path`, the real bridge, context and window; closed by the fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hmi.commands import Actor, Commands
from hmi.project import load_project
from tests.core.security_helpers import PASSWORDS, add_users

SIM_PROJECT = """\
[project]
name = "GUI test line"
asset = "Plant/Area/Line1"

[[assets]]
path = "Tank"

[[assets]]
path = "Pump"

[[devices]]
name = "tank"
protocol = "sim"
poll_ms = 50
asset = "Tank"

[[devices]]
name = "pump"
protocol = "sim"
poll_ms = 50
asset = "Pump"

[[devices]]
name = "lab"
protocol = "sim"
poll_ms = 3600000
asset = "Tank"

[[tags]]
name = "Tank.Density"
device = "lab"
type = "float32"
unit = "kg/l"
decimals = 3
min = 0
max = 2
sim = { value = 1.02 }

[[tags]]
name = "Tank.Level"
device = "tank"
type = "float32"
unit = "%"
decimals = 1
min = 0
max = 100
sim = { value = 50.0 }

[[tags]]
name = "Tank.LevelSetpoint"
device = "tank"
type = "float32"
unit = "%"
writable = true
min = 10
max = 90
sim = { value = 60.0 }

[[tags]]
name = "Tank.Temp"
device = "tank"
type = "float32"
unit = "°C"
writable = true
min = 0
max = 100
sim = { value = 95.0 }

[[tags]]
name = "Pump.Running"
device = "pump"
type = "bool"
sim = { value = true }

[[tags]]
name = "Pump.Fault"
device = "pump"
type = "bool"
writable = true
sim = { value = false }

[[tags]]
name = "Pump.RunCmd"
device = "pump"
type = "bool"
writable = true
sim = { value = true }

[[tags]]
name = "Pump.Count"
device = "pump"
type = "uint32"
unit = "units"
sim = { signal = "counter" }

[[alarms]]
tag = "Tank.Temp"
type = "high"
limit = 80.0
priority = "urgent"
message = "Tank temperature high"

[[alarms]]
tag = "Tank.Level"
type = "low"
limit = 20.0
priority = "medium"
message = "Tank level low"

[[alarms]]
tag = "Pump.Fault"
type = "digital"
priority = "high"
message = "Pump tripped"
"""

OPERATOR = "olga"  # tests.core.security_helpers: one user per role (vera viewer, eve ...)


def login(commands: Commands, name: str) -> Actor:
    """A real session for `name` (users are created on first use in this data dir)."""
    security = commands.security
    if security.needs_first_admin():
        add_users(security)
    return security.login(name, PASSWORDS[name])


def write_project(tmp_path: Path, text: str = SIM_PROJECT, name: str = "line.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def make_station(tmp_path: Path, data_dir: Path, qapp) -> Iterator[Callable[..., object]]:
    """`make_station(text=SIM_PROJECT, actor=OPERATOR, start=True)` -> a started Station
    (window not shown); every station made is closed at the end of the test."""
    from hmi.gui import theme
    from hmi.gui.station import Station

    theme.apply(qapp, "day")
    made: list[Station] = []

    def make(text: str = SIM_PROJECT, actor: str | None = OPERATOR, start: bool = True,
             **kwargs: object) -> Station:
        """`actor`: the name of a user to log in (created with the others of
        tests.core.security_helpers), or None for nobody."""
        project = load_project(write_project(tmp_path, text, f"p{len(made)}.toml"))
        station = Station(project, data_dir / f"s{len(made)}", actor=None, **kwargs)
        made.append(station)
        if start:
            station.start()
        if actor is not None:
            station.context.set_actor(login(station.context.commands, actor))
        return station

    yield make
    for station in made:
        station.close()
