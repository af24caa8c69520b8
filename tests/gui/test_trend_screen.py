"""TrendScreen: groups from the project file and saved per user, the tag picker, "trend around
this alarm", the statistics panel, and the screenshot flags."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QPushButton

from hmi.commands import Actor
from screens.trends import TrendScreen
from tests.gui.trend_env import ALARM_ROWS, T0, T_END, TrendEnv, level, make_context, write_env


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> TrendEnv:
    return write_env(tmp_path_factory.mktemp("trend-screen"))


@pytest.fixture
def context(env: TrendEnv, qapp) -> Iterator[object]:
    _runtime, bridge, ctx = make_context(env.project_path, env.data_dir)
    yield ctx
    ctx.shutdown()
    bridge.detach()


def make_screen(qtbot, context, empty: bool = True) -> TrendScreen:
    """A shown trend screen; `empty`: without the project group it opens on first show."""
    screen = TrendScreen(context)
    qtbot.addWidget(screen)
    screen.resize(1300, 800)
    screen.show()
    qtbot.waitExposed(screen)
    if empty:
        screen.plot.clear_pens()
    return screen


def test_first_show_opens_the_first_project_group(qtbot, context) -> None:
    screen = make_screen(qtbot, context, empty=False)
    assert [p.tag for p in screen.plot.pens()] == ["Tank.Level", "Tank.Flow"]
    screen.plot.clear_pens()
    screen.hide()
    screen.show()  # only the first show: the operator's later choice stays
    assert screen.plot.pens() == []


def settle(qtbot, screen: TrendScreen) -> None:
    qtbot.wait(150)
    qtbot.waitUntil(lambda: not screen.plot.loading(), timeout=5000)


def test_configure_shows_a_project_group_with_its_colours_and_range(qtbot, context) -> None:
    screen = make_screen(qtbot, context)
    assert screen.title == "Trends"
    screen.configure({"group": "Tank", "range": "-30m"})
    plot = screen.plot
    assert [p.tag for p in plot.pens()] == ["Tank.Level", "Tank.Flow"]
    assert plot.pen("Tank.Flow").colour == "#2E7D6B"
    assert plot.live
    assert plot.span_s == pytest.approx(1800)
    assert screen.pen_table.rowCount() == 2
    with qtbot.waitSignal(context.notification, timeout=1000) as note:
        screen.configure({"group": "Nope"})
    assert note.args == ["warning", "no trend group 'Nope'"]


def test_saved_groups_round_trip_per_user(qtbot, context) -> None:
    context.set_actor(Actor("olga", "operator"))
    screen = make_screen(qtbot, context)
    plot = screen.plot
    plot.add_pen("Tank.Level")
    plot.add_pen("Pump.Speed")
    plot.set_pen_colour("Pump.Speed", "#7D5A6E")
    plot.set_pen_visible("Tank.Level", False)
    screen.shared_box.setChecked(True)
    plot.set_range(T0 + 60, T0 + 3660)
    screen.save_group("Night check")
    assert ("Night check", True) in [(g.name, mine) for g, mine in screen.group_list.groups]

    other = make_screen(qtbot, context)  # a fresh screen, same user: reads the file back
    group = other.group_list.find("Night check")
    assert group is not None
    other.apply_group(group)
    pens = other.plot.pens()
    assert [(p.tag, p.colour, p.visible) for p in pens] == [
        ("Tank.Level", plot.pen("Tank.Level").colour, False), ("Pump.Speed", "#7D5A6E", True)]
    assert other.plot.axes_mode == "shared"
    assert other.shared_box.isChecked()
    assert not other.plot.live
    assert other.plot.visible_range() == pytest.approx((T0 + 60, T0 + 3660))

    context.set_actor(Actor("piet", "operator"))  # another user: not his group
    assert other.group_list.find("Night check") is None
    assert other.group_list.find("Tank") is not None  # the project's are everyone's
    context.set_actor(Actor("olga", "operator"))
    other.delete_group("Night check")
    assert other.group_list.find("Night check") is None


def test_tag_picker_searches_and_adds_pens(qtbot, context) -> None:
    screen = make_screen(qtbot, context)
    picker = screen.picker
    assert "Tank.Mode" not in picker.visible_tags()  # text tags are not trendable
    picker.search.setText("tank lev")
    assert picker.visible_tags() == ["Tank.Level"]
    picker.search.returnPressed.emit()
    assert [p.tag for p in screen.plot.pens()] == ["Tank.Level"]
    picker.search.setText("rpm")  # units count too
    assert picker.visible_tags() == ["Pump.Speed"]


def test_trend_around_an_alarm_opens_its_asset_over_the_window(qtbot, context) -> None:
    screen = make_screen(qtbot, context)
    raised = ALARM_ROWS[0][0]
    context.trend_requested.connect(screen.show_around)  # as the main window wires it
    context.show_trend(["Tank.Level"], raised - 600, raised + 600)
    plot = screen.plot
    assert [p.tag for p in plot.pens()] == ["Tank.Level", "Tank.Flow", "Tank.Temp",
                                            "Tank.Never"]
    assert not plot.live
    assert plot.visible_range() == pytest.approx((raised - 600, raised + 600))
    settle(qtbot, screen)
    assert [e.ts for e in plot.markers.events] == [ts for ts, *_ in ALARM_ROWS]


def test_statistics_panel_covers_the_visible_range(qtbot, context) -> None:
    screen = make_screen(qtbot, context)
    screen.plot.add_pen("Tank.Level")
    screen.plot.set_range(T0, T0 + 1800)
    with qtbot.waitSignal(screen.stats.updated, timeout=10_000):
        screen.stats_box.setChecked(True)
    row = screen.stats.rows["Tank.Level"]
    assert (row["from"], row["to"]) == pytest.approx((T0, T0 + 1800))
    assert row["max"] == max(level(k) for k in range(1800))
    assert row["alarm_s"] == pytest.approx(ALARM_ROWS[2][0] - ALARM_ROWS[0][0])
    assert screen.stats.item(0, 2).text() == f"{row['max']:.3f} %"
    assert screen.stats.item(0, 5).text() == "00:08:20 (1x)"


def test_range_buttons_and_from_to(qtbot, context) -> None:
    screen = make_screen(qtbot, context)
    screen.plot.add_pen("Tank.Level")
    assert screen.set_range_text("day")
    assert screen.plot.live
    assert screen.plot.span_s == pytest.approx(86400)
    assert not screen.set_range_text("fortnight")
    screen.configure({"range": f"@{T0:.0f}..@{T_END:.0f}"})  # not a time: refused, unchanged
    assert screen.plot.live
    screen.live_button.click()  # un-press: freeze where it is
    assert not screen.plot.live


def test_last_shift_follows_the_project_calendar_and_shows_its_alarms(qtbot, env,
                                                                     tmp_path) -> None:
    """Issue 13's "what did the level do during last night's shift, and which alarms came
    with it": the group, then "Last shift", on a 12-hour site (Night 19:00-07:00 UTC)."""
    project = tmp_path / "shifts.toml"
    project.write_text(env.project_path.read_text(encoding="utf-8") + """
[production]
timezone = "UTC"

[[shifts]]
name = "Day"
start = "07:00"
end = "19:00"

[[shifts]]
name = "Night"
start = "19:00"
end = "07:00"
""", encoding="utf-8")
    _runtime, bridge, ctx = make_context(project, env.data_dir)
    try:
        screen = make_screen(qtbot, ctx, empty=False)  # the "Tank" group
        screen.plot.clock = lambda: T_END  # 08:00 UTC
        button = next(b for b in screen.findChildren(QPushButton) if b.text() == "Last shift")
        button.click()
        night = (T_END - 13 * 3600, T_END - 3600)  # 19:00 .. 07:00, not 22:00 .. 06:00
        assert not screen.plot.live
        assert screen.plot.visible_range() == pytest.approx(night)
        settle(qtbot, screen)
        assert [e.event for e in screen.plot.markers.events] == ["raise", "ack", "rtn"]
    finally:
        ctx.shutdown()
        bridge.detach()
