"""A station that tracks production and reports to a real reference MES (`hmi.mes.stub`, an
asyncua server on 127.0.0.1): the line's PLC is a sim device whose tags the test writes like
the PLC would (`runtime.submit_write`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT = """\
[project]
name = "Production test"
asset = "Plant/Area/Line1"

[mes]
enabled = true
url = "{url}"
station_id = "gui-test"
retry_max_s = 0.5

[production]
microstop_s = 0
reason_required_s = 1
count_interval_s = 1

[[devices]]
name = "plc"
protocol = "sim"
poll_ms = 50
asset = "Filler"

[[tags]]
name = "Filler.Running"
device = "plc"
type = "bool"
writable = true
sim = {{ value = true }}

[[tags]]
name = "Filler.Fault"
device = "plc"
type = "bool"
writable = true
sim = {{ value = false }}

[[tags]]
name = "Filler.Good"
device = "plc"
type = "uint32"
writable = true
sim = {{ value = 0 }}

[[tags]]
name = "Filler.Reject"
device = "plc"
type = "uint32"
writable = true
sim = {{ value = 0 }}

[[tags]]
name = "Filler.Level"
device = "plc"
type = "float32"
unit = "%"
min = 0
max = 100
sim = {{ value = 50.0 }}

[[products]]
code = "WATER05"
name = "Still water 0.5 l"
ideal_cycle_s = 0.01

[[lines]]
name = "Line1"
running_tag = "Filler.Running"
fault_tag = "Filler.Fault"
good_tag = "Filler.Good"
reject_tag = "Filler.Reject"

[[downtime_reasons]]
code = "MECH"
name = "Mechanical"
  [[downtime_reasons.children]]
  code = "MECH.JAM"
  name = "Filler jam"

[[downtime_reasons]]
code = "PLANNED"
name = "Planned"
category = "planned"
  [[downtime_reasons.children]]
  code = "PLANNED.MAINT"
  name = "Planned maintenance"
"""


def project_text(url: str) -> str:
    return PROJECT.format(url=url)


@pytest.fixture
def stubs(tmp_path: Path) -> Iterator[Any]:
    """Reference MES servers started on demand; all stopped after the test."""
    from tests.drivers.mes_fixtures import Stubs

    owner = Stubs(tmp_path)
    yield owner
    owner.stop()


def plc_write(station: Any, tag: str, value: Any) -> None:
    """Play the PLC: set a sim tag (through the device thread, read back)."""
    result = station.runtime.submit_write(tag, value, 5.0).result(10)
    assert result.ok, result
