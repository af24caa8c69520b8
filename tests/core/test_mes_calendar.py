"""The shift calendar, the counters and the project-file checks of the production tables."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from hmi.mes.calendar import ShiftCalendar
from hmi.mes.config import ShiftConfig
from hmi.mes.counters import CounterTracker
from hmi.project import ProjectInvalid, load_project
from tests.core.mes_helpers import BASE, LINE, utc

MONDAY = dt.date(2026, 11, 23)


def shifts(*items: dict) -> list[ShiftConfig]:
    return [ShiftConfig.model_validate(i) for i in items]


def test_night_shift_breaks_and_boundaries() -> None:
    cal = ShiftCalendar(shifts(
        {"name": "Early", "start": "06:00", "end": "14:00", "days": ["mon"],
         "breaks": [{"start": "10:00", "end": "10:30"}]},
        {"name": "Night", "start": "22:00", "end": "06:00", "days": ["mon"],
         "breaks": [{"start": "02:00", "end": "02:30"}]}), "UTC")
    early = cal.at(utc(MONDAY, 7))
    assert early is not None
    assert early.name == "Early"
    assert (early.start, early.end) == (utc(MONDAY, 6), utc(MONDAY, 14))
    night = cal.at(utc(MONDAY + dt.timedelta(days=1), 3))
    assert night is not None
    assert night.name == "Night"
    assert night.start == utc(MONDAY, 22)
    assert cal.in_break(utc(MONDAY + dt.timedelta(days=1), 2, 10))
    assert not cal.in_break(utc(MONDAY, 9, 59))
    assert cal.at(utc(MONDAY, 15)) is None
    assert cal.at(utc(MONDAY, 5, 59)) is None
    assert cal.boundaries(utc(MONDAY, 5), utc(MONDAY, 23)) == [
        utc(MONDAY, 6), utc(MONDAY, 10), utc(MONDAY, 10, 30), utc(MONDAY, 14), utc(MONDAY, 22)]
    planned = cal.planned_operating(utc(MONDAY, 0), utc(MONDAY, 23))
    assert sum(b - a for a, b in planned) == 8 * 3600 + 3600
    assert cal.latest("Early", utc(MONDAY + dt.timedelta(days=3), 12)).start == utc(MONDAY, 6)


def test_shift_hours_follow_the_wall_clock_over_daylight_saving() -> None:
    cal = ShiftCalendar(shifts({"name": "Night", "start": "00:00", "end": "08:00"}),
                        "Europe/Berlin")
    spring = cal.at(dt.datetime(2026, 3, 29, 5, tzinfo=dt.UTC).timestamp())
    assert spring is not None
    assert spring.end - spring.start == 7 * 3600
    autumn = cal.at(dt.datetime(2026, 10, 25, 5, tzinfo=dt.UTC).timestamp())
    assert autumn is not None
    assert autumn.end - autumn.start == 9 * 3600


@pytest.mark.parametrize(("bits", "readings", "total"), [
    (16, [32767, -32768, -32767], 2),  # int16 wraps to negative: +1, +1
    (16, [65534, 65535, 0, 1], 3),  # uint16 wrap
    (32, [2**32 - 2, 1], 3),  # uint32 wrap
    (32, [-1, 0], 1),  # int32 -1 -> 0 is one count
    (32, [1000, 5], 5),  # reset: counted from 0
    (16, [40000, 0, 10], 10),  # reset from the middle of the range, not a wrap
    (32, [100, None, "x", float("nan"), 105], 5),  # unreadable values are skipped
])
def test_counter_wrap_and_reset(bits: int, readings: list, total: int) -> None:
    counter = CounterTracker(bits)
    assert sum(counter.update(v) for v in readings) == total


PROBLEMS = """
[production]
timezone = "Mars/Olympus"

[[shifts]]
name = "Early"
start = "6:00"
end = "14:00"

[[shifts]]
name = "Day"
start = "08:00"
end = "16:00"
breaks = [{ start = "17:00", end = "17:30" }]

[[shifts]]
name = "Late"
start = "14:00"
end = "22:00"

[[downtime_reasons]]
code = "A"
alarms = ["No.Such.Alarm"]
fault_codes = [1]
  [[downtime_reasons.children]]
  code = "A"
  fault_codes = [1]

[[lines]]
name = "Line2"
running_tag = "Nope"
reject_tag = "Reject"
"""


def test_production_tables_report_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "plant.toml"
    text = BASE.replace('url = "opc.tcp://127.0.0.1:9"', 'url = "http://x"') + LINE + PROBLEMS
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProjectInvalid) as info:
        load_project(path)
    lines = text.splitlines()
    found = {(e.field, e.message.split(",")[0]): e.line for e in info.value.errors}
    messages = "\n".join(str(e) for e in info.value.errors)
    assert "production.timezone: unknown time zone 'Mars/Olympus'" in messages
    assert "shifts.Early.start: must be a time of day HH:MM" in messages
    # pydantic's shape errors come first; a fixed file then shows the cross-table ones
    path.write_text(text.replace('"6:00"', '"06:00"').replace('"Mars/Olympus"', '"UTC"'),
                    encoding="utf-8")
    with pytest.raises(ProjectInvalid) as info:
        load_project(path)
    errors = [str(e) for e in info.value.errors]
    expected = [
        ("mes.url", "the MES needs url"),
        ("shifts.Day.start", "overlaps shift 'Early'"),
        ("shifts.Day.breaks.#1", "break 17:00-17:30 is not inside"),
        ("shifts.Late.start", "overlaps shift 'Day'"),
        ("downtime_reasons.#4.alarms", "unknown alarm 'No.Such.Alarm'"),
        ("downtime_reasons.#4.children.#1.code", "duplicate reason code 'A'"),
        ("downtime_reasons.#4.children.#1.fault_codes", "fault code 1 is already mapped"),
        ("lines.Line2.running_tag", "unknown tag 'Nope'"),
        ("lines.Line2.reject_tag", "a reject counter needs good_tag"),
    ]
    for field, message in expected:
        hit = [e for e in errors if f": {field}: {message}" in e]
        assert hit, f"{field}: {message} not in {errors}"
        line = int(hit[0].split(":")[1])
        assert field.split(".")[-1].split("#")[0] in lines[line - 1] or "[" in lines[line - 1]
    assert errors == sorted(errors, key=lambda e: int(e.split(":")[1]))
    assert found  # shape errors were located too


def test_demo_project_declares_production(tmp_path: Path) -> None:
    from hmi.simulator.serve import demo_project_path

    model = load_project(demo_project_path()).model
    assert model.mes.enabled
    assert model.lines[0].good_tag == "Line1.Filler.GoodCount"
    assert {s.name for s in model.shifts} == {"Early", "Late", "Night"}
    assert [p.code for p in model.products] == ["WATER05", "SPARK05"]
    text = textwrap.dedent(str(model.downtime_reasons[0].children[0].fault_codes))
    assert text == "[1]"
