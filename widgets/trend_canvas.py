"""The drawing surface of a `TrendPlot`: a PlotWidget set up for trends, and its column of value
axes (one `ScaleAxis` per axis group, side by side where the PlotItem's left axis was).

Why the PlotItem's own left axis goes: every curve is drawn in the one ViewBox, mapped to 0..1
by its group (`widgets.trend_pens`), so the downsampling and clip-to-view set on the PlotItem
reach every curve; the group axes show that 0..1 window in each group's units. The right axis
stays, without labels, to draw the horizontal grid. Colours come from the look of the theme in
use (`widgets.trend_look`); `style_plot` and `style_message` apply it again after a theme
change.

GUI thread only.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsLinearLayout, QLabel

from widgets.trend_items import AlarmMarkers, GapBands, ScaleAxis
from widgets.trend_look import TrendLook, look
from widgets.trend_navigation import Y_PAD
from widgets.trend_pens import AxisGroup


def make_plot_widget(mini: bool) -> tuple[pg.PlotWidget, QGraphicsLinearLayout]:
    """The PlotWidget (local-time axis, the look's field, peak downsampling and clip to view on
    the PlotItem, no pyqtgraph menu) and the layout the value axes go into."""
    view = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
    pi = view.getPlotItem()
    pi.setDownsampling(auto=True, mode="peak")
    pi.setClipToView(True)
    pi.setMenuEnabled(False)
    pi.hideButtons()
    # Grid: major lines only, opaque, in a grey a step darker than the field. Measured at
    # 1600 x 900 offscreen, translucent grids with minor lines cost more than 8 curves.
    pi.showAxis("right")
    for name in ("bottom", "right"):
        axis = pi.getAxis(name)
        axis.setGrid(255)
        axis.setStyle(maxTickLevel=0)
    grid = pi.getAxis("right")
    grid.setStyle(showValues=False, tickLength=0)
    grid.setWidth(4)
    bottom = pi.getAxis("bottom")
    style_plot(view, look())
    left = pi.getAxis("left")
    pi.layout.removeItem(left)
    left.hide()
    box = QGraphicsLinearLayout(Qt.Orientation.Horizontal)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(0)
    pi.layout.addItem(box, 2, 0)
    vb = pi.getViewBox()
    vb.disableAutoRange()
    vb.setYRange(0.0, 1.0, padding=Y_PAD)
    vb.setMouseEnabled(x=not mini, y=not mini)
    if mini:
        bottom.setStyle(tickTextOffset=2)
        view.setMinimumHeight(80)
    return view, box


def style_plot(view: pg.PlotWidget, in_look: TrendLook) -> None:
    """The field, the grid and the time axis in `in_look`'s colours."""
    view.setBackground(in_look.background)
    pi = view.getPlotItem()
    for name in ("bottom", "right"):
        pi.getAxis(name).setPen(pg.mkPen(in_look.grid))
    pi.getAxis("bottom").setTextPen(pg.mkPen(in_look.text))


def add_overlays(vb: pg.ViewBox, mini: bool = False
                 ) -> tuple[GapBands, AlarmMarkers, pg.TextItem]:
    """The BAD-period bands (under the curves), the alarm marks and the "no data" message."""
    bands, markers = GapBands(strips=not mini), AlarmMarkers()
    message = pg.TextItem(anchor=(0.5, 0.5))
    style_message(message, look())
    for item in (bands, markers, message):
        vb.addItem(item, ignoreBounds=True)
    return bands, markers, message


def style_message(message: pg.TextItem, in_look: TrendLook) -> None:
    message.setColor(in_look.text)
    fill = pg.mkColor(in_look.box)
    fill.setAlpha(220)
    message.fill = pg.mkBrush(fill)
    message.update()


def make_legend(mini: bool) -> QLabel:
    """The strip above the plot (mode, span, pens with live values); none in a mini trend."""
    legend = QLabel()
    legend.setTextFormat(Qt.TextFormat.RichText)
    legend.setWordWrap(True)
    legend.setVisible(not mini)
    return legend


def rebuild_axes(box: QGraphicsLinearLayout, old: list[AxisGroup], new: list[AxisGroup],
                 mini: bool) -> list[AxisGroup]:
    """Replace the axes of `old` groups by axes for `new` ones. A group that existed before
    keeps a scale it had fitted (adding a pen does not rescale the others)."""
    before = {g.key: g for g in old}
    for group in old:
        box.removeItem(group.axis)
        group.axis.setParentItem(None)
        if group.axis.scene() is not None:
            group.axis.scene().removeItem(group.axis)
        group.axis.deleteLater()  # in the GUI thread, not whenever the collector runs
    for group in new:
        previous = before.get(group.key)
        if previous is not None and not group.fixed and previous.fitted:
            group.lo, group.hi, group.fitted = previous.lo, previous.hi, True
        elif not group.fixed:
            group.fit()
        group.axis = ScaleAxis(group)
        if mini:
            group.axis.setWidth(40)
            group.axis.setLabel("")
        box.addItem(group.axis)
    return new
