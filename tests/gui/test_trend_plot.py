"""TrendPlot on a real historian file: pens, live scrolling, per-pixel queries of the visible
range, cursors, gaps, alarm marks, CSV export."""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from hmi.tags import iso_utc
from tests.gui.trend_env import (
    ALARM_ROWS,
    GAP,
    GAP_REASON,
    T0,
    T_END,
    TrendEnv,
    flow,
    level,
    make_context,
    write_env,
)
from widgets.trend_plot import TrendPlot


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> TrendEnv:
    return write_env(tmp_path_factory.mktemp("trend"))


@pytest.fixture
def context(env: TrendEnv, qapp) -> Iterator[object]:
    _runtime, bridge, ctx = make_context(env.project_path, env.data_dir)
    yield ctx
    ctx.shutdown()
    bridge.detach()


def make_plot(qtbot, context, **kwargs) -> TrendPlot:
    plot = TrendPlot(context, **kwargs)
    qtbot.addWidget(plot)
    plot.resize(900, 500)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


def settle(qtbot, plot: TrendPlot) -> None:
    """Wait until the paced view signal has fired and every query is answered."""
    qtbot.wait(150)
    qtbot.waitUntil(lambda: not plot.loading(), timeout=5000)


def test_pens_are_added_and_removed(qtbot, context) -> None:
    plot = make_plot(qtbot, context)
    level_pen = plot.add_pen("Tank.Level")
    plot.add_pen("Tank.Flow")
    assert [p.tag for p in plot.pens()] == ["Tank.Level", "Tank.Flow"]
    assert level_pen.curve in plot.plot_item.curves
    assert level_pen.colour != plot.pen("Tank.Flow").colour
    assert set(plot.buffer.tracked()) >= {"Tank.Level", "Tank.Flow"}
    assert [g.title() for g in plot.groups()] == ["%", "l/min"]
    plot.remove_pen("Tank.Level")
    assert [p.tag for p in plot.pens()] == ["Tank.Flow"]
    assert level_pen.curve not in plot.plot_item.curves
    assert "Tank.Level" not in plot.buffer.tracked()
    for i in range(7):
        plot.add_pen(f"Extra{i}")
    with pytest.raises(ValueError, match="at most 8"):
        plot.add_pen("Tank.Temp")
    plot.set_axes_mode("shared")
    assert len(plot.groups()) == 1


def test_live_mode_scrolls_and_keeps_every_buffered_point(qtbot, tmp_path, env) -> None:
    runtime, bridge, ctx = make_context(env.project_path, tmp_path / "live-data")
    try:
        plot = make_plot(qtbot, ctx, span_s=60)
        pen = plot.add_pen("Tank.Level")
        with runtime:
            qtbot.waitUntil(lambda: len(pen.t) >= 10, timeout=10_000)
            first_right = plot.visible_range()[1]
            assert abs(first_right - time.time()) < 2.0
            qtbot.waitUntil(lambda: plot.visible_range()[1] > first_right + 1.0, timeout=5000)
            assert abs(plot.visible_range()[1] - time.time()) < 2.0
            assert plot.live
            t, _v = plot.buffer.since("Tank.Level")
            shown = set(pen.t.tolist())
            # every point the ring buffer got up to the last redraw is on the pen: none dropped
            assert {ts for ts in t.tolist() if ts <= pen.t[-1]} <= shown
            x, _y = pen.curve.getData()
            assert len(x) >= len(pen.t)  # drawn as held steps (2n-1) plus "now"
        # touching the view freezes it: the next tick no longer moves it
        plot.viewbox.sigRangeChangedManually.emit([True, False])
        frozen = plot.visible_range()
        qtbot.wait(700)
        assert not plot.live
        assert plot.visible_range() == frozen
    finally:
        ctx.shutdown()
        bridge.detach()


def test_historical_query_asks_visible_range_one_bucket_per_pixel_and_again_on_zoom(
        qtbot, context) -> None:
    plot = make_plot(qtbot, context)
    plot.add_pen("Tank.Level")
    plot.set_range(T0, T_END)
    settle(qtbot, plot)
    width = int(plot.viewbox.width())
    assert width > 300
    tag, t0, t1, buckets = plot.queries.last("Tank.Level")
    assert tag == "Tank.Level"
    assert (t0, t1) == pytest.approx((T0, T_END))
    assert buckets == width == plot.bucket_count()
    pen = plot.pen("Tank.Level")
    assert len(pen.t) <= 2 * buckets + 4  # min/max per bucket, not 7,200 rows
    sent = plot.queries.sent
    plot.nav.zoom(0.25)  # keyboard/button zoom around the middle
    settle(qtbot, plot)
    _, z0, z1, zb = plot.queries.last("Tank.Level")
    assert plot.queries.sent > sent
    assert (z0, z1) == pytest.approx(plot.visible_range())
    assert z1 - z0 == pytest.approx((T_END - T0) * 0.25)
    assert zb == width
    # a mouse-like change of the view goes through the SignalProxy and re-asks too
    plot.viewbox.setXRange(T0 + 600, T0 + 1200, padding=0)
    settle(qtbot, plot)
    assert plot.queries.last("Tank.Level")[1:3] == pytest.approx((T0 + 600, T0 + 1200))
    assert plot.nav.undo()  # back to before the zoom (a programmatic move is no undo step)
    assert not plot.nav.undo()
    settle(qtbot, plot)
    assert plot.visible_range() == pytest.approx((T0, T_END))


def test_cursor_values_are_what_was_written(qtbot, context) -> None:
    plot = make_plot(qtbot, context)
    plot.add_pen("Tank.Level")
    plot.add_pen("Tank.Flow")
    plot.set_range(T0, T_END)
    settle(qtbot, plot)
    k1, k2 = 1234, 5678
    with qtbot.waitSignal(plot.cursors_changed, timeout=5000,
                          check_params_cb=lambda *a: plot.cursor_readout().exact):
        plot.add_cursor(T0 + k1)
        plot.add_cursor(T0 + k2 + 0.4)  # between samples: the one in force (held) counts
    readout = plot.cursor_readout()
    assert readout.times == [T0 + k1, T0 + k2 + 0.4]
    assert readout.values["Tank.Level"] == [level(k1), level(k2)]
    assert readout.values["Tank.Flow"] == [flow(k1), flow(k2)]
    assert readout.delta("Tank.Level") == pytest.approx(level(k2) - level(k1))
    assert readout.delta_t == pytest.approx(k2 - k1 + 0.4)
    plot.cursors.set_time(0, GAP[0] + 10)  # inside the gap: no value, not a stale one
    qtbot.waitUntil(lambda: plot.cursor_readout().exact
                    and plot.cursor_readout().times[0] == GAP[0] + 10, timeout=5000)
    assert plot.cursor_readout().values["Tank.Flow"][0] is None
    assert plot.cursor_readout().values["Tank.Level"][0] == level(3010)


def test_gaps_render_as_nan_breaks_and_bad_bands(qtbot, context) -> None:
    plot = make_plot(qtbot, context)
    pen = plot.add_pen("Tank.Flow")
    plot.set_range(GAP[0] - 600, GAP[1] + 600)  # 20 min: about one sample per pixel
    settle(qtbot, plot)
    inside = (pen.t > GAP[0]) & (pen.t < GAP[1])
    assert not np.isfinite(pen.v[inside]).any()
    at_gap = np.flatnonzero(pen.t == GAP[0])
    assert len(at_gap)
    assert math.isnan(pen.v[at_gap[0]])
    x, y = pen.curve.getData()
    # drawn as held steps: the last value holds up to the gap marker, then the line breaks
    assert np.isnan(y[(x > GAP[0]) & (x < GAP[1])]).all()
    assert np.isfinite(y[x < GAP[0]]).all()
    assert np.isfinite(y[x > GAP[1]]).all()
    bands = [b for b in plot.bands.bands if b[1] == "Tank.Flow"]
    assert [(b[3], b[4], b[5]) for b in bands] == [(GAP[0], GAP[1], GAP_REASON)]
    # the view opening inside the gap breaks at its left edge too
    plot.set_range(GAP[0] + 60, GAP[1] + 60)
    settle(qtbot, plot)
    assert math.isnan(pen.v[0])
    assert pen.t[0] == pytest.approx(GAP[0] + 60)


def test_tag_that_never_had_data_says_no_data(qtbot, context) -> None:
    plot = make_plot(qtbot, context)
    plot.add_pen("Tank.Never")
    plot.set_range(T0, T_END)
    settle(qtbot, plot)
    assert plot.pen("Tank.Never").known is False
    assert "no data: Tank.Never" in plot.message.textItem.toPlainText()
    assert "no data" in plot.legend.text()


def test_alarm_markers_sit_at_the_journal_timestamps(qtbot, context) -> None:
    plot = make_plot(qtbot, context)
    plot.add_pen("Tank.Level")
    plot.set_range(T0 + 600, T0 + 2400)
    settle(qtbot, plot)
    events = plot.markers.events
    assert [(e.ts, e.event) for e in events] == [(ts, ev) for ts, ev, _s, _u in ALARM_ROWS]
    assert events[0].message == "Tank level high"
    for x, event in plot.markers.positions():
        expected = plot.viewbox.mapViewToDevice(QPointF(event.ts, 0.5)).x()
        assert x == pytest.approx(expected, abs=0.5)
    raise_x = plot.markers.positions()[0][0]
    text = plot.markers.text_at(raise_x, 10)
    assert "raised" in text
    assert "Tank level high" in text
    assert "acknowledged by olga" in plot.markers.text_at(plot.markers.positions()[1][0], 10)
    plot.remove_pen("Tank.Level")
    plot.add_pen("Tank.Flow")  # no alarm on this tag: no marks
    settle(qtbot, plot)
    assert plot.markers.events == []


def test_csv_export_writes_the_visible_samples(qtbot, context, tmp_path: Path) -> None:
    plot = make_plot(qtbot, context)
    plot.add_pen("Tank.Level")
    plot.add_pen("Tank.Flow")
    plot.set_range(GAP[0] - 10, GAP[0] + 5)
    settle(qtbot, plot)
    target = tmp_path / "out.csv"
    with qtbot.waitSignal(plot.export_bar.finished, timeout=10_000) as done:
        plot.export_csv(target)
    assert done.args == [str(target), 15 + 11]
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert rows[0] == ["tag", "ts", "value", "quality", "reason"]
    level_rows = [r for r in rows[1:] if r[0] == "Tank.Level"]
    assert level_rows[0] == ["Tank.Level", iso_utc(GAP[0] - 10), str(level(2990)), "good", ""]
    assert len(level_rows) == 15
    flow_rows = [r for r in rows[1:] if r[0] == "Tank.Flow"]
    assert flow_rows[-1] == ["Tank.Flow", iso_utc(GAP[0]), "", "bad", GAP_REASON]
    assert not target.with_name("out.csv.partial").exists()
    png = tmp_path / "plot.png"
    assert plot.export_png(png)
    assert png.stat().st_size > 1000


def test_mini_trend_has_no_chrome_and_follows_now(qtbot, context) -> None:
    plot = TrendPlot.mini_trend(context, ["Tank.Level"])
    qtbot.addWidget(plot)
    plot.resize(300, 120)
    plot.show()
    t0, t1 = plot.visible_range()
    assert plot.live
    assert t1 - t0 == pytest.approx(600)
    assert not plot.legend.isVisible()
    assert not plot.viewbox.state["mouseEnabled"][0]
    plot.add_cursor(t0 + 10)  # allowed programmatically, but no keys or double-click
    assert plot.focusPolicy().name == "NoFocus"


def test_keys_pan_zoom_fit_undo_and_go_live(qtbot, context) -> None:
    from PySide6.QtCore import Qt

    plot = make_plot(qtbot, context)
    plot.add_pen("Tank.Level")
    plot.set_range(T0, T0 + 3600)
    settle(qtbot, plot)
    qtbot.keyClick(plot, Qt.Key.Key_Right)
    assert plot.visible_range() == pytest.approx((T0 + 900, T0 + 4500))
    qtbot.keyClick(plot, Qt.Key.Key_Plus)
    assert plot.visible_range() == pytest.approx((T0 + 1800, T0 + 3600))
    settle(qtbot, plot)
    group = plot.groups()[0]
    assert (group.lo, group.hi) == (0.0, 100.0)  # the tag's configured range
    qtbot.keyClick(plot, Qt.Key.Key_F)  # fit: the data in view fills the height
    t0, t1 = plot.visible_range()
    pen = plot.pen("Tank.Level")
    in_view = pen.v[(pen.t >= t0) & (pen.t <= t1)]
    lo, hi = np.nanmin(in_view), np.nanmax(in_view)
    margin = (hi - lo) * 0.05
    assert (group.lo, group.hi) == pytest.approx((lo - margin, hi + margin))
    qtbot.keyClick(plot, Qt.Key.Key_Backspace)  # undo the fit, then the zoom, then the pan
    assert (group.lo, group.hi) == (0.0, 100.0)
    qtbot.keyClick(plot, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(plot, Qt.Key.Key_Backspace)
    assert plot.visible_range() == pytest.approx((T0, T0 + 3600))
    qtbot.keyClick(plot, Qt.Key.Key_C)
    assert plot.cursors.count() == 1
    qtbot.keyClick(plot, Qt.Key.Key_Escape)
    assert plot.cursors.count() == 0
    with qtbot.waitSignal(plot.live_changed, timeout=1000):
        qtbot.keyClick(plot, Qt.Key.Key_L)
    assert plot.live


def test_keys_move_the_cursors_without_a_mouse(qtbot, context) -> None:
    from PySide6.QtCore import Qt

    shift = Qt.KeyboardModifier.ShiftModifier
    plot = make_plot(qtbot, context)
    plot.add_pen("Tank.Level")
    plot.set_range(T0, T0 + 3600)
    settle(qtbot, plot)
    px = 3600 / plot.viewbox.width()
    qtbot.keyClick(plot, Qt.Key.Key_Right, shift)  # no cursor yet: one is added, then moved
    assert plot.cursors.times() == pytest.approx([T0 + 0.35 * 3600 + px])
    qtbot.keyClick(plot, Qt.Key.Key_Right, shift | Qt.KeyboardModifier.ControlModifier)
    assert plot.cursors.times() == pytest.approx([T0 + 0.35 * 3600 + 11 * px])
    qtbot.keyClick(plot, Qt.Key.Key_C)  # the new cursor is the one the keys move
    qtbot.keyClick(plot, Qt.Key.Key_Left, shift)
    first, second = T0 + 0.35 * 3600 + 11 * px, T0 + 0.65 * 3600 - px
    assert plot.cursors.times() == pytest.approx([first, second])
    qtbot.keyClick(plot, Qt.Key.Key_1)  # now C1
    for _ in range(3):
        qtbot.keyClick(plot, Qt.Key.Key_Left, shift)
    assert plot.cursors.times() == pytest.approx([first - 3 * px, second])
    assert plot.visible_range() == pytest.approx((T0, T0 + 3600))  # moving cursors is no pan
    times = plot.cursors.times()
    qtbot.waitUntil(lambda: plot.cursor_readout().exact
                    and plot.cursor_readout().times == times, timeout=5000)
    assert plot.cursor_readout().values["Tank.Level"] == [level(int(t - T0)) for t in times]
    qtbot.keyClick(plot, Qt.Key.Key_Left)  # without Shift: pan, as before
    assert plot.visible_range() == pytest.approx((T0 - 900, T0 + 2700))
