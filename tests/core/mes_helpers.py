"""Shared pieces of the MES tests: a project with one line on sim tags, a clock the test
moves, and a `MesCore` on a real SQLite file in tmp_path."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

from hmi.mes.core import MesCore
from hmi.project import Project, load_project
from hmi.tags import Quality, Sample

BASE = """\
[project]
name = "MES test"
asset = "Site/Area/Line1"

[mes]
enabled = true
url = "opc.tcp://127.0.0.1:9"
station_id = "st1"

[[devices]]
name = "plc"
protocol = "sim"

[[tags]]
name = "Run"
device = "plc"
type = "bool"

[[tags]]
name = "Fault"
device = "plc"
type = "bool"

[[tags]]
name = "FaultCode"
device = "plc"
type = "uint16"

[[tags]]
name = "Changeover"
device = "plc"
type = "bool"

[[tags]]
name = "State"
device = "plc"
type = "int32"

[[tags]]
name = "Good"
device = "plc"
type = "uint32"

[[tags]]
name = "Reject"
device = "plc"
type = "uint32"

[[tags]]
name = "Speed"
device = "plc"
type = "float32"
writable = true
min = 0
max = 1000

[[alarms]]
tag = "Fault"
type = "digital"
priority = "high"

[[products]]
code = "P30"
ideal_cycle_s = 30.0

[[downtime_reasons]]
code = "MECH"
name = "Mechanical"
  [[downtime_reasons.children]]
  code = "MECH.JAM"
  name = "Jam"
  fault_codes = [7]
  [[downtime_reasons.children]]
  code = "MECH.FAULT"
  name = "Fault alarm"
  alarms = ["Fault.DI"]

[[downtime_reasons]]
code = "CO"
category = "changeover"
states = ["changeover"]

[[downtime_reasons]]
code = "PLAN"
category = "planned"
  [[downtime_reasons.children]]
  code = "PLAN.MAINT"
"""

LINE = """
[[lines]]
name = "Line1"
running_tag = "Run"
fault_tag = "Fault"
fault_code_tag = "FaultCode"
changeover_tag = "Changeover"
good_tag = "Good"
reject_tag = "Reject"
"""


class Clock:
    """A station clock the test moves by hand (epoch seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def utc(day: dt.date, hh: int, mm: int = 0, ss: float = 0.0) -> float:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dt.UTC).timestamp() + ss


def days_ago(n: int) -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=n)


def project(tmp_path: Path, extra: str = "", line: str = LINE, base: str = BASE) -> Project:
    path = tmp_path / "mes.toml"
    path.write_text(base + line + extra, encoding="utf-8")
    return load_project(path)


def core(tmp_path: Path, proj: Project, clock: Clock) -> MesCore:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return MesCore(proj, data, clock)


def feed(c: MesCore, **values: Any) -> None:
    c.on_samples([Sample(tag, value, c.clock(), Quality.GOOD) for tag, value in values.items()])


def advance(c: MesCore, clock: Clock, until: float, step_s: float = 30.0) -> None:
    """Move the clock to `until` in steps, ticking and committing as the station would."""
    while clock.now < until:
        clock.now = min(until, clock.now + step_s)
        c.tick()
        c.commit()


def outbox(c: MesCore) -> list[dict[str, Any]]:
    import json

    return [json.loads(b) for (b,) in c.store.select("SELECT body FROM outbox ORDER BY seq")]


def types(c: MesCore) -> list[str]:
    return [e["type"] for e in outbox(c)]


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)
