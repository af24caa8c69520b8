"""What a `TrendPlot` draws around its curves from the state of its pens: the legend strip
above the plot, the gap bands, the alarm marks and the centred message ("no data: TAG",
"Add pens from the tag list").

Why apart from the plot: they are presentation only, refreshed together after a round of
query answers (the plot batches them with a 0 ms timer) or a theme change, and keeping them
here keeps `widgets/trend_plot.py` to its job (pens, ranges, queries, live). GUI thread only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from widgets.trend_canvas import add_overlays, make_legend, style_message
from widgets.trend_look import TrendLook
from widgets.trend_pens import band_rows, legend_html

if TYPE_CHECKING:
    from widgets.trend_plot import TrendPlot


class Overlays:
    """The legend, bands, alarm marks and message of one plot (`legend`, `bands`, `markers`,
    `message` are the items themselves, for the plot's tests and hover)."""

    def __init__(self, plot: TrendPlot) -> None:
        self.plot = plot
        self.legend = make_legend(plot.mini)
        self.bands, self.markers, self.message = add_overlays(plot.viewbox, plot.mini)

    def refresh(self) -> None:
        """Bands, legend and message, after data or view changes."""
        self.update_bands()
        self.update_legend()
        self.update_message()

    def restyle(self, in_look: TrendLook) -> None:
        style_message(self.message, in_look)
        self.markers.update()
        self.bands.update()
        self.update_legend()

    def update_bands(self) -> None:
        plot = self.plot
        now = plot.clock()
        self.bands.set_bands(band_rows(plot.pens(), now if plot.live else
                                       min(now, plot.visible_range()[1])))

    def update_message(self) -> None:
        plot = self.plot
        text = "\n".join(f"no data: {p.tag}" for p in plot.pens() if not p.known)
        if not plot.pens() and not plot.mini:
            text = "Add pens from the tag list"
        if text != self.message.textItem.toPlainText():
            self.message.setText(text)
        self.message.setVisible(bool(text))
        (x0, x1), (y0, y1) = plot.viewbox.viewRange()
        self.message.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def update_legend(self) -> None:
        plot = self.plot
        if not plot.mini:
            t0, t1 = plot.visible_range()
            html = legend_html(plot.pens(), plot.live, t1 - t0)
            if html != self.legend.text():  # a new text re-lays out the widget
                self.legend.setText(html)
