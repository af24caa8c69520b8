"""How a trend looks and reads: the night theme (a dark field, readable legend and pens), gaps
that do not read as a fall to zero, pen colours kept away from alarm colours, pens named in the
cursor read-outs. Real widgets on the real historian file of `trend_env`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from alarms.colours import ALARM_COLOURS, alarm_likeness
from hmi.gui import theme
from screens.trend_panels import PenTable
from tests.gui.trend_env import GAP, T0, T_END, TrendEnv, make_context, write_env
from widgets.trend_look import DAY_LOOK, NIGHT_LOOK, contrast, ink, logical_colour
from widgets.trend_plot import TrendPlot


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> TrendEnv:
    return write_env(tmp_path_factory.mktemp("trend-look"))


@pytest.fixture
def context(env: TrendEnv, qapp) -> Iterator[object]:
    _runtime, bridge, ctx = make_context(env.project_path, env.data_dir)
    yield ctx
    ctx.shutdown()
    bridge.detach()


@pytest.fixture
def night(qapp) -> Iterator[None]:
    theme.apply(qapp, "night")
    yield
    theme.apply(qapp, "day")


def make_plot(qtbot, context, **kwargs) -> TrendPlot:
    plot = TrendPlot(context, **kwargs)
    qtbot.addWidget(plot)
    plot.resize(900, 500)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


def settle(qtbot, plot: TrendPlot) -> None:
    qtbot.wait(150)
    qtbot.waitUntil(lambda: not plot.loading(), timeout=5000)


def drawn(pen) -> str:
    return pen.curve.opts["pen"].color().name().upper()


def text_pixels(widget, background: str, ratio: float = 4.5) -> int:
    """Grey pixels of `widget` standing out from `background` by `ratio`: its text (the pen
    swatches are coloured and not counted)."""
    image = widget.grab().toImage()
    count = 0
    for x in range(0, image.width(), 2):
        for y in range(image.height()):
            colour = image.pixelColor(x, y)
            count += (colour.hsvSaturationF() < 0.1
                      and contrast(colour.name(), background) >= ratio)
    return count


def test_night_theme_draws_a_dark_plot_with_readable_legend_and_pens(qtbot, context, qapp,
                                                                     night) -> None:
    plot = make_plot(qtbot, context)
    for tag in ("Tank.Level", "Tank.Flow", "Tank.Temp"):
        plot.add_pen(tag)
    plot.set_range(T0, T_END)
    settle(qtbot, plot)
    field = plot.view.backgroundBrush().color().name().upper()
    assert field == NIGHT_LOOK.background
    assert QColor(field).lightness() < 50  # no light grey glare in a dark control room
    for pen in plot.pens():
        assert contrast(drawn(pen), field) >= 3.0, pen.tag
        assert alarm_likeness(drawn(pen)) is None
    # the legend sits on the night window: its text is light, not #303030 on #2A2A2A
    assert text_pixels(plot.legend, theme.NIGHT.background) > 200
    bottom = plot.plot_item.getAxis("bottom")
    assert contrast(bottom.textPen().color().name(), field) >= 4.5
    # switching the theme while the plot is open restyles it (Ctrl+Shift+T, the doc renders)
    theme.apply(qapp, "day")
    qtbot.waitUntil(lambda: plot.view.backgroundBrush().color().name().upper()
                    == DAY_LOOK.background, timeout=2000)
    assert [drawn(p) for p in plot.pens()] == [p.colour for p in plot.pens()]
    assert text_pixels(plot.legend, theme.DAY.background) > 200


def test_pen_colours_are_readable_in_both_looks_and_never_alarm_colours() -> None:
    for look in (DAY_LOOK, NIGHT_LOOK):
        assert len(set(look.palette)) == 8
        for colour in look.palette:
            assert contrast(colour, look.background) >= 3.0, (look.name, colour)
            assert alarm_likeness(colour) is None
        # a colour picked by hand, dark or light, is drawn readable in either look
        for picked in ("#14213D", "#0A3D2A", "#D8E8F0", "#B8D8B0", "#5A3A20"):
            shown = ink(picked, look)
            assert contrast(shown, look.background) >= 3.0, (look.name, picked, shown)
            assert alarm_likeness(shown) is None, (look.name, picked, shown)
    assert ink(DAY_LOOK.palette[2], NIGHT_LOOK) == NIGHT_LOOK.palette[2]
    assert logical_colour(NIGHT_LOOK.palette[5]) == DAY_LOOK.palette[5]


def gap_strip_colour(plot: TrendPlot, row: int = 0) -> QColor:
    """The colour drawn in the middle of the gap, on the strip row `row` at the bottom."""
    x = plot.viewbox.mapViewToDevice(QPointF((GAP[0] + GAP[1]) / 2, 0.5)).x()
    bottom = plot.viewbox.mapRectToDevice(plot.viewbox.boundingRect()).bottom()
    image = plot.view.grab().toImage()
    ratio = image.devicePixelRatio()
    return image.pixelColor(round(x * ratio), round((bottom - 2.5 - 5 * row) * ratio))


@pytest.mark.parametrize("mini", [False, True])
def test_a_gap_is_hatched_grey_not_a_line_in_the_pens_colour(qtbot, context, mini) -> None:
    plot = make_plot(qtbot, context, mini=mini)
    pen = plot.add_pen("Tank.Flow")
    plot.set_range(GAP[0] - 600, GAP[1] + 600)
    settle(qtbot, plot)
    assert plot.bands.bands  # the gap is known and drawn
    qtbot.wait(50)
    seen = gap_strip_colour(plot)
    pen_rgb = QColor(ink(pen.colour)).getRgb()[:3]
    distance = sum((a - b) ** 2 for a, b in zip(seen.getRgb()[:3], pen_rgb, strict=True)) ** 0.5
    assert distance > 60, seen.name()  # not the pen's colour along the bottom
    assert seen.hsvSaturationF() < 0.15  # grey
    assert plot.bands.strips is not mini  # the mini trend: hatch only


def test_recolouring_refuses_alarm_colours_and_does_not_block_the_window(qtbot, context) -> None:
    plot = make_plot(qtbot, context)
    plot.add_pen("Tank.Level")
    notes: list[tuple[str, str]] = []
    table = PenTable(plot, notify=lambda text, level="info": notes.append((text, level)))
    qtbot.addWidget(table)
    table.show()
    table.cellWidget(0, 0).click()
    dialog = table._dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.windowModality().name == "NonModal"  # F9 still reaches the main window
    before = plot.pen("Tank.Level").colour
    for alarm in ALARM_COLOURS.values():
        dialog.colorSelected.emit(QColor(alarm))
    dialog.colorSelected.emit(QColor("#D08040"))  # an orange of our own
    assert plot.pen("Tank.Level").colour == before
    assert len(notes) == 5
    assert all(level == "warning" and "reserved for alarms" in text for text, level in notes)
    dialog.colorSelected.emit(QColor("#14213D"))
    assert plot.pen("Tank.Level").colour == "#14213D"
    dialog.close()
    # a saved group from before the rule: its alarm-coloured pen gets a palette colour
    assert alarm_likeness(plot.add_pen("Tank.Flow", "#E5121B").colour) is None


def test_cursor_readouts_name_each_pen(qtbot, context) -> None:
    plot = make_plot(qtbot, context)
    plot.add_pen("Tank.Level")
    plot.add_pen("Tank.Flow")
    plot.set_range(T0, T_END)
    settle(qtbot, plot)
    plot.add_cursor(T0 + 1234)
    text = plot.cursors.labels[0].textItem.toPlainText()
    assert "Level" in text
    assert "Flow" in text
