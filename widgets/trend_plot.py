"""`TrendPlot`: the station's one trend widget (trend screen, faceplate mini trends).

Why it is built this way (STYLE.md sections 4 and 6):
- Every curve lives in the PlotItem's one ViewBox, with `setDownsampling(auto=True,
  mode='peak')` and `setClipToView(True)` set on the PlotItem, and separate value axes are
  mappings of that ViewBox (`widgets.trend_pens`), so no curve escapes the downsampling.
- On every view change (zoom, pan, resize), paced by pyqtgraph's `SignalProxy`, each pen asks
  the historian for min/max per pixel bucket of the *visible* range only (`TrendData.series`,
  one bucket per pixel of the ViewBox), off the GUI thread and coalesced per pen
  (`widgets.trend_queries`). 8 pens x 30 days of 1 s data is 2 x width points per pen on
  screen, whatever the range.
- Live mode follows now: on a 2 Hz timer (only while visible) each pen appends every sample
  the core's ring buffer (`hmi.trends.buffer`) got since its last point, so no point is
  dropped, and the view scrolls. Touching the view (drag, wheel, keys) freezes it into
  historical mode on the spot; `set_live()` (the Live button, key L) returns.
- Gaps are NaN points (`connect="finite"` breaks the line), BAD stretches are hatched with a
  grey strip per pen (led by the pen's colour), a pen whose tag never had data says "no data".
- Colours follow the theme (`widgets.trend_look`), also on a theme change (`changeEvent`); a
  pen colour that reads like an alarm colour (an old saved group) gets a palette colour.

Mouse: drag pans, wheel zooms (on an axis: that axis only), right-drag zooms a box,
double-click sets a cursor. Keys: `widgets.trend_navigation.KEYS` (pan, zoom, fit, undo, live,
add, move and choose cursors).

Mini trend, for faceplates (no legend, no cursors, no mouse, last 10 minutes and live):
    `TrendPlot(context, parent, mini=True)` then `add_pen(tag)`, or
    `TrendPlot.mini_trend(context, ["Line1.Filler.Level"], parent)`; `span_s=` changes the
    600 s window. It needs only `context.runtime` (project, data dir, tag table) and
    `context.bridge`, and costs one ring buffer per pen while it exists.

GUI thread only.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from alarms.colours import alarm_likeness
from hmi.trends.buffer import TrendBuffer, shared_buffer
from hmi.trends.config import MAX_PENS
from hmi.trends.data import TrendData, step_points
from hmi.trends.ranges import RangeSpec
from widgets.trend_canvas import make_plot_widget, rebuild_axes, style_plot
from widgets.trend_cursors import CursorSet
from widgets.trend_export import ExportBar
from widgets.trend_look import look
from widgets.trend_navigation import TrendNavigation
from widgets.trend_overlays import Overlays
from widgets.trend_pens import (
    AxisGroup,
    Pen,
    build_groups,
    curve_pen,
    next_colour,
    style_for,
    tag_meta,
)
from widgets.trend_queries import QueryQueue, Relay, paced

LIVE_PERIOD_S = 0.5  # live redraw: 2 Hz
VIEW_RATE_HZ = 3.0  # view-change queries at most this often while the hand moves (each
# asks every pen: at 8 Hz the workers took both CPUs of a small station from the GUI thread)
ALARM_EVERY_TICKS = 10  # live: re-read the journal's marks every 5 s
ALARMS, CURSORS = "@alarms", "@cursors"


class TrendPlot(QWidget):
    """Up to 8 pens over time, live or historical. See the module docstring."""

    view_settled = Signal(float, float)  # t0, t1 (epoch s) after a view change, paced
    pens_changed = Signal()
    live_changed = Signal(bool)
    cursors_changed = Signal()
    data_loaded = Signal()  # every query asked so far has been answered
    look_changed = Signal()  # restyled for a new theme (pen swatches elsewhere follow)

    def __init__(self, context: Any, parent: QWidget | None = None, *, mini: bool = False,
                 span_s: float | None = None, data: TrendData | None = None,
                 buffer: TrendBuffer | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.context = context
        self.mini = mini
        self.clock = clock
        runtime = getattr(context, "runtime", None)
        self.project = getattr(runtime, "project", None)
        if buffer is None and hasattr(runtime, "tags"):
            buffer = shared_buffer(runtime)
        self.buffer = buffer
        self.data = data if data is not None else TrendData.for_runtime(runtime, buffer)
        self._pens: dict[str, Pen] = {}
        self._groups: list[AxisGroup] = []
        self.axes_mode = "separate"
        self.live = True
        self.span_s = span_s if span_s is not None else (600.0 if mini else 3600.0)
        self._last_view: tuple[float, float, int] | None = None
        self._stale: set[str] = set()  # pens added since the last request
        self._ticks = 0
        self._tracked: list[str] = []  # shared with the destroy hook (see _release)
        self.queries = QueryQueue(context, self._on_answer, self)
        self.queries.idle.connect(self.data_loaded)
        self._build()
        self.destroyed.connect(functools.partial(_release, self.data, self.buffer,
                                                 self._tracked))
        self.set_live(self.span_s)

    @classmethod
    def mini_trend(cls, context: Any, tags: Iterable[str], parent: QWidget | None = None,
                   span_s: float = 600.0) -> TrendPlot:
        """The faceplate's mini trend: `tags` over the last `span_s` seconds, live."""
        plot = cls(context, parent, mini=True, span_s=span_s)
        for tag in tags:
            plot.add_pen(tag)
        return plot

    # ---- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.view, self._axes_box = make_plot_widget(self.mini)
        pi = self.plot_item = self.view.getPlotItem()
        vb = self.viewbox = pi.getViewBox()
        self.overlays = Overlays(self)
        self.legend, self.bands = self.overlays.legend, self.overlays.bands
        self.markers, self.message = self.overlays.markers, self.overlays.message
        self._look = look().name
        self.export_bar = ExportBar(self)
        for widget, stretch in ((self.legend, 0), (self.view, 1), (self.export_bar, 0)):
            layout.addWidget(widget, stretch)
        self.cursors = CursorSet(vb, self.pens, self, clicks=not self.mini)
        self.cursors.moved.connect(self._on_cursors_moved)
        vb.sigYRangeChanged.connect(self._on_y_range)
        self._view_relay = Relay(self)
        vb.sigRangeChanged.connect(self._view_relay.fire)
        vb.sigResized.connect(self._view_relay.fire)
        self._view_proxy = paced(self._view_relay.fired, VIEW_RATE_HZ, 0.1,
                                 self._on_view_changed, self)
        self.nav = TrendNavigation(self)
        if not self.mini:
            self.view.installEventFilter(self.nav)
        self._decor_timer = QTimer(self)
        self._decor_timer.setSingleShot(True)
        self._decor_timer.setInterval(0)
        self._decor_timer.timeout.connect(self.overlays.refresh)
        self._request_timer = QTimer(self)
        self._request_timer.setSingleShot(True)
        self._request_timer.setInterval(0)
        self._request_timer.timeout.connect(self._send_requests)
        self._live_timer = QTimer(self)
        self._live_timer.setInterval(round(LIVE_PERIOD_S * 1000))
        self._live_timer.timeout.connect(self._on_live_tick)
        if not self.mini:
            self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # ---- pens -----------------------------------------------------------------------------------
    def pens(self) -> list[Pen]:
        return list(self._pens.values())

    def pen(self, tag: str) -> Pen | None:
        return self._pens.get(tag)

    def add_pen(self, tag: str, colour: str | None = None, *, visible: bool = True,
                lo: float | None = None, hi: float | None = None) -> Pen:
        """Trend `tag` (again: its pen unchanged). ValueError beyond `MAX_PENS`."""
        if tag in self._pens:
            return self._pens[tag]
        if len(self._pens) >= MAX_PENS:
            raise ValueError(f"a trend holds at most {MAX_PENS} pens; remove one first")
        if colour is not None and alarm_likeness(colour):
            colour = None  # reserved for alarms (a group saved before they were refused)
        if colour is None:
            colour, style = next_colour([p.colour for p in self._pens.values()])
        else:
            style = style_for(colour)
        pen = Pen(tag, colour, style, tag_meta(self.project, tag), visible, lo, hi)
        pen.curve = pg.PlotDataItem(connect="finite", name=tag)
        pen.curve.setVisible(visible)
        pen.curve.setZValue(MAX_PENS - len(self._pens))  # the first pen is drawn on top
        self.plot_item.addItem(pen.curve)  # PlotItem.addItem: downsampling + clip apply
        self._pens[tag] = pen
        if self.buffer is not None:
            self.buffer.track([tag])
        self._tracked.append(tag)
        self._stale.add(tag)
        self._style_pen(pen)
        self._pens_changed()
        return pen

    def remove_pen(self, tag: str) -> None:
        pen = self._pens.pop(tag, None)
        if pen is None:
            return
        self.plot_item.removeItem(pen.curve)
        pen.curve.deleteLater()
        self.queries.forget(tag)
        if self.buffer is not None:
            self.buffer.untrack([tag])
        self._tracked.remove(tag)
        self.markers.set_events([e for e in self.markers.events if e.tag in self._pens])
        self._pens_changed()
        self.overlays.update_bands()

    def clear_pens(self) -> None:
        for tag in list(self._pens):
            self.remove_pen(tag)

    def set_pen_colour(self, tag: str, colour: str) -> None:
        pen = self._pens[tag]
        pen.colour, pen.style = colour, style_for(colour)
        self._style_pen(pen)
        self._rebuild_axes()
        self.overlays.update_legend()
        self.overlays.update_bands()

    def set_pen_visible(self, tag: str, visible: bool) -> None:
        pen = self._pens[tag]
        pen.visible = visible
        pen.curve.setVisible(visible)
        self.overlays.update_legend()
        self.overlays.update_bands()
        self.cursors.redraw()

    def set_axes_mode(self, mode: str) -> None:
        """"separate" (one axis per unit) or "shared" (one axis for every pen)."""
        if mode not in ("separate", "shared"):
            raise ValueError(f"axes must be 'separate' or 'shared', not {mode!r}")
        self.axes_mode = mode
        self._rebuild_axes()

    def _style_pen(self, pen: Pen) -> None:
        pen.curve.setPen(curve_pen(pen, self.mini))

    def _pens_changed(self) -> None:
        self._rebuild_axes()
        if self.context.bridge is not None:
            self.context.bridge.unwatch(self)
            self.context.bridge.watch(self, list(self._pens), self._on_samples)
            if self.isVisible():
                self.context.bridge.replay(self)  # the new pen's current value, now
        self._stale.intersection_update(self._pens)
        self._request_view()
        self.overlays.refresh()
        self.pens_changed.emit()

    # ---- theme ----------------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        """The application's theme changed (`hmi.gui.theme.apply` sets its palette and style
        sheet): repaint in the new look, once."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.PaletteChange) and \
                look().name != self._look:
            self.apply_look()

    def apply_look(self) -> None:
        """Field, grid, text, pens, axes, cursors and marks in the look of the theme in use."""
        in_look = look()
        self._look = in_look.name
        style_plot(self.view, in_look)
        for pen in self._pens.values():
            self._style_pen(pen)
        for group in self._groups:
            group.axis.apply_style()
        self.cursors.restyle()
        self.overlays.restyle(in_look)
        self.look_changed.emit()

    # ---- axes -----------------------------------------------------------------------------------
    def _rebuild_axes(self) -> None:
        self._groups = rebuild_axes(self._axes_box, self._groups,
                                    build_groups(self.pens(), self.axes_mode), self.mini)
        self._on_y_range()
        self._redraw_curves()

    def groups(self) -> list[AxisGroup]:
        return list(self._groups)

    def _group_of(self, pen: Pen) -> AxisGroup | None:
        return next((g for g in self._groups if pen in g.pens), None)

    def _on_y_range(self, *_args: Any) -> None:
        y0, y1 = self.viewbox.viewRange()[1]
        for group in self._groups:
            group.axis.show_view(y0, y1)

    def _redraw_curves(self, pens: Iterable[Pen] | None = None) -> None:
        for pen in self.pens() if pens is None else pens:
            group = self._group_of(pen)
            if group is None:
                continue
            if not group.fixed and not group.fitted and group.fit():
                self._redraw_curves([p for p in group.pens if p is not pen])
                group.axis.show_view(*self.viewbox.viewRange()[1])
            t, y = step_points(pen.t, group.map(pen.v), self._pixel_s())
            if self.live and len(t) and np.isfinite(y[-1]):  # the value holds until now
                t, y = np.r_[t, self.clock()], np.r_[y, y[-1]]
            pen.curve.setData(t, y, connect="finite")

    # ---- range and mode -------------------------------------------------------------------------
    def visible_range(self) -> tuple[float, float]:
        t0, t1 = self.viewbox.viewRange()[0]
        return float(t0), float(t1)

    def _pixel_s(self) -> float:
        t0, t1 = self.visible_range()
        return (t1 - t0) / self.bucket_count()

    def bucket_count(self) -> int:
        """One bucket per pixel of the plot area (at least 16)."""
        return max(16, int(self.viewbox.width()))

    def set_live(self, span_s: float | None = None) -> None:
        """Follow now, showing the last `span_s` seconds (default: the current span)."""
        if span_s is not None:
            self.span_s = max(1.0, float(span_s))
        changed = not self.live
        self.live = True
        now = self.clock()
        self._set_x(now - self.span_s, now)
        self._last_view = None
        self._request_view()
        if self.isVisible():
            self._live_timer.start()
        if changed:
            self.live_changed.emit(True)

    def set_range(self, t0: float, t1: float) -> None:
        """Show [t0, t1] (historical mode)."""
        if t1 <= t0:
            raise ValueError(f"empty or backwards range: {t0} .. {t1}")
        self.freeze()
        self._set_x(t0, t1)
        self._request_view()

    def set_range_spec(self, spec: RangeSpec) -> None:
        t0, t1 = spec.resolve(self.clock())
        if spec.live:
            self.set_live(t1 - t0)
        else:
            self.set_range(t0, t1)

    def freeze(self) -> None:
        """Stop following now; the view stays where it is (historical mode)."""
        if self.live:
            self.live = False
            self._live_timer.stop()
            self.live_changed.emit(False)

    def _set_x(self, t0: float, t1: float) -> None:
        self.viewbox.setXRange(t0, t1, padding=0)
        self.nav.anchor = self.nav.state()

    def redraw(self) -> None:
        """Redraw every curve and axis from the pens' data (after scales changed)."""
        self._redraw_curves()
        self._on_y_range()

    # ---- queries --------------------------------------------------------------------------------
    def _on_view_changed(self, _args: tuple) -> None:
        t0, t1 = self.visible_range()
        self.cursors.redraw()
        self._decor_timer.start()
        self._request_view()
        self.view_settled.emit(t0, t1)

    def _request_view(self) -> None:
        """Ask soon (next event loop turn), so that opening a group (pens, axes, range: many
        calls) sends one query per pen, not one per call."""
        self._request_timer.start()

    def loading(self) -> bool:
        """Queries asked for or in flight: what tests and screenshots wait on."""
        return self._request_timer.isActive() or self.queries.busy()

    def _send_requests(self) -> None:
        """Ask for every pen's data in the visible range (one bucket per pixel) and the alarm
        marks, unless this view was already asked for (then only new pens). Live mode asks
        once per span and then appends from the ring buffer."""
        t0, t1 = self.visible_range()
        buckets = self.bucket_count()
        stale, self._stale = self._stale, set()
        same = self._last_view == (t0, t1, buckets) or (
            self.live and self.buffer is not None and self._last_view is not None
            and abs(self._last_view[2] - buckets) <= buckets * 0.2)
        if same and not stale:
            return
        self._last_view = (t0, t1, buckets)
        for tag in self._pens:
            if not same or tag in stale:
                self.queries.ask(tag, self.data.series, tag, t0, t1, buckets)
        self._request_alarms()

    def _request_alarms(self) -> None:
        if self._pens:
            t0, t1 = self.visible_range()
            self.queries.ask(ALARMS, self.data.alarm_events, tuple(self._pens), t0, t1)

    def _on_answer(self, key: str, args: tuple, value: Any, error: BaseException | None) -> None:
        if error is not None:
            self.context.notify(f"trend query failed ({key}): {type(error).__name__}: {error}",
                                "error")
            return
        if key == ALARMS:
            self.markers.set_events([e for e in value if e.tag in self._pens])
        elif key == CURSORS:
            self.cursors.set_exact(*value)
            self.cursors_changed.emit()
        elif key in self._pens:
            pen = self._pens[key]
            series = value
            pen.t, pen.v, pen.known, pen.gaps = series.t, series.v, series.known, series.gaps
            if self.live and self.buffer is not None:
                self._append_live(pen)
            self._redraw_curves([pen])
            self._decor_timer.start()  # answers landing together: one redraw of the rest

    # ---- live -----------------------------------------------------------------------------------
    def _on_live_tick(self) -> None:
        if not self.live:
            return
        now = self.clock()
        self._set_x(now - self.span_s, now)
        self._ticks += 1
        if self._ticks % ALARM_EVERY_TICKS == 0:
            self._request_alarms()  # new journal rows show within a few seconds
        if self.buffer is None:  # no ring buffer (tools, tests): re-read the tail from history
            self._last_view = None
            self._request_view()
        else:
            for pen in self._pens.values():
                self._append_live(pen, trim_before=now - self.span_s * 1.5)
            self._redraw_curves()
            self.overlays.update_bands()
        self.overlays.update_legend()

    def _append_live(self, pen: Pen, trim_before: float | None = None) -> None:
        after = float(pen.t[-1]) if len(pen.t) else self.clock() - self.span_s
        t, v = self.buffer.since(pen.tag, after)  # type: ignore[union-attr]
        if len(t):
            pen.t, pen.v = np.concatenate([pen.t, t]), np.concatenate([pen.v, v])
            pen.known = True
        if trim_before is not None and len(pen.t) and pen.t[0] < trim_before:
            keep = int(np.searchsorted(pen.t, trim_before))
            pen.t, pen.v = pen.t[keep:], pen.v[keep:]

    def _on_samples(self, samples: dict[str, Any]) -> None:
        """Bridge watch (only while visible): the latest value per pen, for the legend."""
        for tag, sample in samples.items():
            pen = self._pens.get(tag)
            if pen is not None:
                pen.live_value = sample

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.live:
            self.set_live()
        if self.context.bridge is not None:
            self.context.bridge.replay(self)

    def hideEvent(self, event: Any) -> None:
        self._live_timer.stop()  # a hidden trend does not repaint
        super().hideEvent(event)

    # ---- cursors --------------------------------------------------------------------------------
    def add_cursor(self, ts: float | None = None) -> None:
        """A cursor at `ts` (default: a third into the view; the second at two thirds)."""
        self.cursors.add(ts)

    def cursor_readout(self) -> Any:
        return self.cursors.readout

    def _on_cursors_moved(self) -> None:
        times = self.cursors.times()
        if times:
            tags = tuple(p.tag for p in self.pens())
            self.queries.ask(CURSORS, self.data.values_at, tags, tuple(times))
        self.cursors_changed.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.mini or not self.nav.handle_key(event):
            super().keyPressEvent(event)

    # ---- export ---------------------------------------------------------------------------------
    def export_csv(self, path: Path | str) -> Any:
        """Write the visible pens' stored samples in the visible range to `path` (a worker;
        the export bar shows progress on long ranges). Returns the job's future."""
        t0, t1 = self.visible_range()
        tags = [p.tag for p in self.pens() if p.visible]
        return self.export_bar.start(self.context, self.data, tags, t0, t1, Path(path))

    def export_png(self, path: Path | str) -> bool:
        """The plot with its legend, as the operator sees it."""
        return self.grab().save(str(path))


def _release(data: TrendData, buffer: TrendBuffer | None, tracked: list[str]) -> None:
    """The plot was destroyed: stop buffering its tags, close its connections."""
    if buffer is not None:
        buffer.untrack(tracked)
    data.close()

