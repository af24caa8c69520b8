"""The Qt-free half of trends: `[[trend_groups]]` validation with file:line, saved groups per
user, ranges, the live ring buffer, series edges, statistics and time in alarm, CSV export."""

from __future__ import annotations

import json
import math
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from alarms.colours import alarm_likeness
from hmi.mes.calendar import ShiftCalendar
from hmi.mes.config import ShiftConfig
from hmi.project import ProjectInvalid, load_project
from hmi.tags import Quality, Sample
from hmi.trends.buffer import TrendBuffer
from hmi.trends.config import TrendGroupConfig, TrendPenConfig
from hmi.trends.data import TrendData, last_raise, nan_runs, step_points
from hmi.trends.export import ExportCancelled, ExportProgress, export_csv
from hmi.trends.groups import GroupStore, tags_around
from hmi.trends.ranges import RangeError, calendar_of, parse_range, shift_bounds
from hmi.trends.stats import EXACT_MAX_S, pen_statistics
from tests.gui.trend_env import ALARM_ROWS, GAP, T0, T_END, level, write_env

BASE = """\
[project]
name = "Trends"

[[devices]]
name = "plc"
protocol = "sim"

[[tags]]
name = "A"
device = "plc"

[[tags]]
name = "B"
device = "plc"

[[tags]]
name = "Text"
device = "plc"
type = "string"
"""


def errors_of(tmp_path: Path, groups: str) -> list[str]:
    path = tmp_path / "plant.toml"
    path.write_text(BASE + textwrap.dedent(groups), encoding="utf-8")
    with pytest.raises(ProjectInvalid) as info:
        load_project(path)
    return [str(e) for e in info.value.errors]


def test_bad_trend_groups_give_file_line_errors(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, """
        [[trend_groups]]
        name = "Good"
        pens = ["A", { tag = "B", colour = "#1F4E8C", min = 0, max = 10 }]

        [[trend_groups]]
        name = "Bad"
        pens = ["A", "Nope", "Text", "A"]
        range = "yesterday"

        [[trend_groups]]
        name = "Worse"
        pens = [{ tag = "A", colour = "red" }]
        axes = "many"
        """)
    path = tmp_path / "plant.toml"
    assert errors == [
        f"{path}:28: trend_groups.Bad.range: unknown range 'yesterday': use -1h, -30m, -2d, "
        "-1w, hour, shift, last_shift, day, week or FROM..TO, found 'yesterday'",
        f"{path}:32: trend_groups.Worse.pens.#1.colour: must be a colour like \"#1F4E8C\", "
        "found 'red'",
        f"{path}:33: trend_groups.Worse.axes: Input should be 'separate' or 'shared', "
        "found 'many'",
    ]
    # shapes fixed, the cross-checks speak: unknown, text and repeated pens, all located
    errors = errors_of(tmp_path, """
        [[trend_groups]]
        name = "Bad"
        pens = ["A", "Nope", "Text", "A"]

        [[trend_groups]]
        name = "Bad"
        pens = ["B"]
        """)
    assert errors == [
        f"{path}:23: trend_groups.Bad.pens.#2.tag: unknown tag 'Nope'",
        f"{path}:23: trend_groups.Bad.pens.#3.tag: tag 'Text' holds text; a trend plots numbers",
        f"{path}:23: trend_groups.Bad.pens.#4.tag: tag 'A' is already a pen of this group",
        f"{path}:26: trend_groups.Bad.name: duplicate trend group 'Bad' (first is #1)",
    ]
    errors = errors_of(tmp_path, """
        [[trend_groups]]
        name = "Nine"
        pens = ["A", "A", "A", "A", "A", "A", "A", "A", "A"]
        """)
    assert errors == [f"{path}:23: trend_groups.Nine.pens: a trend holds at most 8 pens "
                      "(9 given), found ['A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A']"]


def test_pen_colours_that_read_like_an_alarm_are_refused_with_file_line(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, """
        [[trend_groups]]
        name = "Hot"
        pens = [{ tag = "A", colour = "#E01010" },
                { tag = "B", colour = "#C89B6E" }]
        """)
    path = tmp_path / "plant.toml"
    assert errors == [
        f"{path}:23: trend_groups.Hot.pens.#1.colour: #E01010 looks like the urgent alarm colour "
        "#E5121B: red, orange, yellow and violet are reserved for alarms",
        f"{path}:23: trend_groups.Hot.pens.#2.colour: #C89B6E looks like the high alarm colour "
        "#FF8A00: red, orange, yellow and violet are reserved for alarms",
    ]


def test_alarm_likeness_refuses_alarm_hues_and_keeps_greys_and_dark_pens() -> None:
    for colour in ("#E5121B", "#FF8A00", "#FFE100", "#B469D6", "#800000", "#E8A0A0", "#9040C0",
                   "#D0D000", "#E08A20"):
        assert alarm_likeness(colour), colour
    for colour in ("#1F4E8C", "#2E7D6B", "#7A4E2D", "#3A3A3A", "#A0A0A0", "#D0D0D0", "#7AA7E0",
                   "#5DBFA6", "#7D5A6E"):
        assert alarm_likeness(colour) is None, colour
    with pytest.raises(ValueError, match="not a colour"):
        alarm_likeness("red")


def test_demo_project_declares_trend_groups() -> None:
    project = load_project(Path(__file__).parents[2] / "resources" / "demo" / "project.toml")
    names = [g.name for g in project.model.trend_groups]
    assert "Filler" in names
    filler = project.model.trend_groups[names.index("Filler")]
    assert filler.pens[0].tag == "Line1.Filler.Level"


def test_saved_groups_round_trip_per_user(tmp_path: Path) -> None:
    store = GroupStore(tmp_path)
    group = TrendGroupConfig(name="Night", range="2027-01-15T00:00:00Z..2027-01-15T06:00:00Z",
                             axes="shared",
                             pens=[TrendPenConfig(tag="A", colour="#7A4E2D", visible=False,
                                                  min=-5.0, max=5.0),
                                   TrendPenConfig(tag="B")])
    store.save("olga", group)
    store.save("olga", TrendGroupConfig(name="Other", pens=[TrendPenConfig(tag="B")]))
    assert store.load("olga") == [group, TrendGroupConfig(name="Other",
                                                          pens=[TrendPenConfig(tag="B")])]
    assert store.load("piet") == []
    assert store.path("olga") == tmp_path / "trend_groups" / "olga.json"
    renamed = group.model_copy(update={"range": "-2h"})
    store.save("olga", renamed)  # same name: replaced, not duplicated
    assert [(g.name, g.range) for g in store.load("olga")] == [("Night", "-2h"),
                                                                ("Other", "-1h")]
    assert store.delete("olga", "Other")
    assert not store.delete("olga", "Other")
    assert [g.name for g in store.load("olga")] == ["Night"]
    # a user name never escapes the directory
    assert store.path("../etc/x").parent == tmp_path / "trend_groups"


def test_an_unreadable_groups_file_is_moved_aside_not_overwritten(tmp_path: Path) -> None:
    store = GroupStore(tmp_path)
    store.path("olga").parent.mkdir(parents=True)
    store.path("olga").write_text(json.dumps({"groups": [{"name": "x", "pens": []}]}))
    assert store.load("olga") == []
    aside = list(store.dir.glob("olga.json.corrupt-*"))
    assert len(aside) == 1
    assert "pens" in aside[0].read_text()


def test_ranges_live_fixed_and_shifts() -> None:
    now = datetime(2027, 1, 15, 7, 30).astimezone().timestamp()
    assert parse_range("-1h").live
    assert parse_range("-1h").span_s == 3600
    assert parse_range("-30m").resolve(now) == (now - 1800, now)
    assert parse_range("week").span_s == 7 * 86400
    start, end = shift_bounds(now, previous=True)
    assert datetime.fromtimestamp(start).hour == 22
    assert datetime.fromtimestamp(end).hour == 6
    assert end - start == 8 * 3600
    spec = parse_range("last_shift", now)
    assert not spec.live
    assert spec.resolve(now) == (start, end)
    assert parse_range("shift").resolve(now) == (end, now)
    fixed = parse_range("2027-01-15T00:00:00Z..2027-01-15T06:00:00Z")
    assert not fixed.live
    assert fixed.t1 - fixed.t0 == 6 * 3600
    for bad in ("yesterday", "-0s", "2027-01-15T06:00:00Z..2027-01-15T00:00:00Z", "+1h"):
        with pytest.raises(RangeError):
            parse_range(bad)


def utc(day: int, hour: int) -> float:
    return datetime(2027, 1, day, hour, tzinfo=UTC).timestamp()


def test_shift_ranges_follow_the_projects_shift_calendar() -> None:
    """A 12-hour site (Day 07-19, Night 19-07, UTC) and a two-shift one (Early 06-14, Late
    14-22): "last_shift" is the last one that ended, "shift" the one running (or last run)."""
    twelve = ShiftCalendar([ShiftConfig(name="Day", start="07:00", end="19:00"),
                            ShiftConfig(name="Night", start="19:00", end="07:00")], "UTC")
    now = utc(15, 8)
    assert shift_bounds(now, previous=True, calendar=twelve) == (utc(14, 19), utc(15, 7))
    spec = parse_range("last_shift", now, twelve)
    assert (spec.t0, spec.t1, spec.span_s) == (utc(14, 19), utc(15, 7), 12 * 3600)
    assert parse_range("shift", now, twelve).resolve(now) == (utc(15, 7), now)
    two = ShiftCalendar([ShiftConfig(name="Early", start="06:00", end="14:00"),
                         ShiftConfig(name="Late", start="14:00", end="22:00")], "UTC")
    late_evening = utc(15, 23)  # nobody on shift: both mean the Late shift that just ended
    assert shift_bounds(late_evening, calendar=two) == (utc(15, 14), utc(15, 22))
    assert shift_bounds(late_evening, previous=True, calendar=two) == (utc(15, 14), utc(15, 22))
    assert shift_bounds(utc(16, 7), previous=True, calendar=two) == (utc(15, 14), utc(15, 22))
    # no shifts in the project: the fixed 06/14/22 local hours
    assert calendar_of(None) is None
    assert shift_bounds(now, calendar=ShiftCalendar([])) == shift_bounds(now)


def test_the_demo_project_calendar_gives_last_nights_shift() -> None:
    project = load_project(Path(__file__).parents[2] / "resources" / "demo" / "project.toml")
    calendar = calendar_of(project)
    assert calendar is not None
    seven = datetime(2027, 1, 15, 7, 0).astimezone().timestamp()
    start, end = parse_range("last_shift", seven, calendar).resolve(seven)
    assert calendar.at(start + 1).name == "Night"
    assert end - start == 8 * 3600


def test_ring_buffer_keeps_every_sample_of_tracked_tags_only() -> None:
    buffer = TrendBuffer(capacity=100)
    buffer.track(["A"])
    for i in range(250):
        buffer.on_batch([Sample("A", float(i), 1000.0 + i), Sample("B", 1.0, 1000.0 + i)])
    buffer.on_batch([Sample("A", None, 1250.0, Quality.BAD, "comm failure")])
    t, v = buffer.since("A")
    assert len(t) == 100
    assert t[0] == 1151.0
    assert t[-1] == 1250.0
    assert v[-2] == 249.0
    assert math.isnan(v[-1])
    assert buffer.since("A", 1248.0)[0].tolist() == [1249.0, 1250.0]
    assert buffer.since("B")[0].size == 0
    assert buffer.first_ts("A") == 1151.0
    buffer.track(["A"])
    buffer.untrack(["A"])
    assert buffer.tracked() == ["A"]  # still one reader
    buffer.untrack(["A"])
    assert buffer.tracked() == []
    assert buffer.nbytes() == 0


def test_step_points_hold_values_and_nan_runs_find_breaks() -> None:
    t, v = step_points(np.array([0.0, 10.0, 20.0]), np.array([1.0, np.nan, 3.0]))
    assert t.tolist() == [0.0, 10.0, 10.0, 20.0, 20.0]
    assert v[:2].tolist() == [1.0, 1.0]
    assert math.isnan(v[2])
    assert math.isnan(v[3])
    assert nan_runs(np.array([0.0, 10.0, 20.0, 30.0]), np.array([1.0, np.nan, np.nan, 2.0]),
                    99.0) == [(10.0, 30.0)]
    assert nan_runs(np.array([0.0, 10.0]), np.array([1.0, np.nan]), 99.0) == [(10.0, 99.0)]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    return write_env(tmp_path_factory.mktemp("trend-core"))


def test_series_starts_with_the_value_in_force_and_marks_no_data(env) -> None:
    data = TrendData(env.data_dir, alarm_tags={"Tank.Level.HI": "Tank.Level"})
    try:
        series = data.series("Tank.Level", T0 + 100.5, T0 + 200.5, 50)
        assert series.t[0] == T0 + 100.5
        assert series.v[0] == level(100)
        assert series.t[-1] == T0 + 200.5
        assert series.v[-1] == level(200)
        assert series.known
        never = data.series("Tank.Never", T0, T_END, 100)
        assert not never.known
        assert never.t.size == 0
        assert data.series("Tank.Flow", T0, T_END, 100).gaps[0][:2] == GAP
        assert data.values_at(["Tank.Level"], [T0 + 7.0])[1] == {"Tank.Level": [level(7)]}
    finally:
        data.close()


def test_statistics_and_time_in_alarm_for_the_visible_range(env) -> None:
    data = TrendData(env.data_dir, alarm_tags={"Tank.Level.HI": "Tank.Level"})
    try:
        stats = pen_statistics(data, "Tank.Level", T0, T0 + 3600)
        stored = [s.value for s in data.reader().raw("Tank.Level", T0, T0 + 3600)]
        held = [level(k) for k in range(3600)]  # what the tag was, second by second
        assert stats["count"] == len(stored)
        assert not stats["approx"]
        assert stats["min"] == min(held)
        assert stats["max"] == max(held)
        assert stats["mean"] == pytest.approx(sum(stored) / len(stored))
        assert stats["time_weighted_mean"] == pytest.approx(sum(held) / 3600)
        raise_ts, rtn_ts = ALARM_ROWS[0][0], ALARM_ROWS[2][0]
        assert stats["alarm_s"] == pytest.approx(rtn_ts - raise_ts)
        assert stats["alarms"] == 1
        # a window opening while the alarm stands counts from the window's start
        inside = pen_statistics(data, "Tank.Level", raise_ts + 100, raise_ts + 200)
        assert inside["alarm_s"] == pytest.approx(100.0)
        flow = pen_statistics(data, "Tank.Flow", T0, T_END)
        assert flow["bad_s"] == pytest.approx(GAP[1] - GAP[0])
        assert EXACT_MAX_S >= T_END - T0  # two hours: exact, not from rollups
    finally:
        data.close()


def test_csv_export_is_complete_or_absent(env, tmp_path: Path) -> None:
    data = TrendData(env.data_dir)
    try:
        target = tmp_path / "x.csv"
        progress = ExportProgress()
        rows = export_csv(data, ["Tank.Level", "Tank.Never"], T0, T0 + 100, target, progress)
        assert rows == 100
        assert progress.total == 100
        assert progress.fraction() == 1.0
        assert target.read_text().count("\n") == 101
        cancelled = ExportProgress()
        cancelled.cancelled = True
        with pytest.raises(ExportCancelled):
            export_csv(data, ["Tank.Level"], T0, T_END, tmp_path / "y.csv", cancelled)
        assert not (tmp_path / "y.csv").exists()
        assert not (tmp_path / "y.csv.partial").exists()
    finally:
        data.close()


def test_last_raise_of_an_alarm_from_the_journal(env, tmp_path: Path) -> None:
    journal = env.data_dir / "alarms.db"
    raise_ts, ack_ts, _rtn = (ts for ts, *_ in ALARM_ROWS)
    assert last_raise(journal, "Tank.Level.HI", ack_ts) == raise_ts  # an ack row: its raise
    assert last_raise(journal, "Tank.Level.HI", T_END) == raise_ts  # cleared since
    assert last_raise(journal, "Tank.Level.HI", raise_ts - 1) is None
    assert last_raise(journal, "No.Such.Alarm", T_END) is None
    assert last_raise(tmp_path / "none.db", "Tank.Level.HI", T_END) is None


def test_tags_around_an_alarm_are_its_assets_numeric_tags(env) -> None:
    project = load_project(env.project_path)
    assert tags_around(project, "Tank.Flow") == ["Tank.Flow", "Tank.Level", "Tank.Temp",
                                                 "Tank.Never"]
    assert tags_around(project, "Pump.Speed") == ["Pump.Speed"]
    assert tags_around(project, "Unknown") == ["Unknown"]
