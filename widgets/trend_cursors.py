"""One or two vertical cursors on a trend, each showing every pen's value at its time, and
between two cursors the time difference and each pen's change.

Values come in two steps: while a cursor is dragged, the plotted data answers at once (the
last plotted point at or before the cursor); when it rests, the plot asks the history for the
exact sample in force at that time (`TrendData.value_at`) and the readout shows that. Drags are
paced by pyqtgraph's `SignalProxy` (operator input, STYLE.md section 4).

Keys (`widgets.trend_navigation`): Shift+Left/Right move the active cursor one pixel of the
view, Ctrl+Shift+Left/Right ten; 1 and 2 make C1 or C2 (in time order) the active one. The
newest cursor is active until then; it is drawn wider.

Each read-out line names its pen by a swatch of its colour and its short tag name (the last
part of the path, longer where two pens would share it), so eight pens, or a greyscale print,
still read apart. Colours follow the look in use (`restyle()` after a theme change).

GUI thread only.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

from widgets.trend_items import local_time
from widgets.trend_look import TrendLook, ink, look
from widgets.trend_pens import Pen, short_names
from widgets.trend_queries import Relay, paced

MAX_CURSORS = 2
LINE_PX, ACTIVE_PX = 1.5, 2.5


@dataclass
class CursorReadout:
    """What the cursors show: times (epoch s) and, per pen, a value per cursor."""

    times: list[float] = field(default_factory=list)
    values: dict[str, list[float | None]] = field(default_factory=dict)
    exact: bool = False  # True once every value came from the history, not the plot

    @property
    def delta_t(self) -> float | None:
        return self.times[1] - self.times[0] if len(self.times) == 2 else None

    def delta(self, tag: str) -> float | None:
        values = self.values.get(tag, [])
        if len(values) == 2 and values[0] is not None and values[1] is not None:
            return values[1] - values[0]
        return None


class CursorSet(QObject):
    """The cursor lines of one ViewBox and their value boxes."""

    moved = Signal()  # paced: a cursor moved (or was added/removed)

    def __init__(self, viewbox: Any, pens: Callable[[], list[Pen]], parent: QObject,
                 clicks: bool = True) -> None:
        super().__init__(parent)  # dies with the plot: no paced call reaches deleted items
        self._vb = viewbox
        self._pens = pens
        self.lines: list[pg.InfiniteLine] = []
        self.labels: list[pg.TextItem] = []
        self.active: pg.InfiniteLine | None = None  # the one the keys move
        self.readout = CursorReadout()
        self._changed = Relay(self)
        self._proxy = paced(self._changed.fired, 15.0, 0.05, self._on_moved, self)
        if clicks:
            viewbox.scene().sigMouseClicked.connect(self._on_click)

    def count(self) -> int:
        return len(self.lines)

    def times(self) -> list[float]:
        return sorted(float(line.value()) for line in self.lines)

    def add(self, ts: float | None = None) -> None:
        """A new cursor at `ts` (default: a third into the view, the second at two thirds);
        a third cursor replaces the older of two."""
        if ts is None:
            t0, t1 = self._vb.viewRange()[0]
            ts = t0 + (t1 - t0) * (0.35 if not self.lines else 0.65)
        if len(self.lines) >= MAX_CURSORS:
            self.remove(0)
        line = pg.InfiniteLine(ts, angle=90, movable=True)
        line.setZValue(30)
        label = pg.TextItem(anchor=(0, 0))
        label.setZValue(31)
        self._vb.addItem(line, ignoreBounds=True)
        self._vb.addItem(label, ignoreBounds=True)
        line.sigPositionChanged.connect(self._changed.fire)
        self.lines.append(line)
        self.labels.append(label)
        self.active = line
        self.restyle()
        self._changed.fire()
        self._on_moved(())

    def select(self, number: int) -> bool:
        """Make C`number` (1 = the earlier) the cursor the keys move. False if there is none."""
        ordered = sorted(self.lines, key=lambda line: line.value())
        if not 1 <= number <= len(ordered):
            return False
        self.active = ordered[number - 1]
        self.restyle()
        return True

    def nudge(self, pixels: float) -> None:
        """Move the active cursor by `pixels` of the view (negative: earlier), kept in view;
        with no cursor, add one first."""
        if self.active is None:
            self.add()
        line = self.active
        if line is None:
            return
        t0, t1 = self._vb.viewRange()[0]
        step = (t1 - t0) / max(1.0, float(self._vb.width()))
        line.setValue(min(t1, max(t0, float(line.value()) + pixels * step)))

    def restyle(self) -> None:
        """Lines and read-outs in the look in use (after a theme change)."""
        in_look = look()
        for line, label in zip(self.lines, self.labels, strict=True):
            _style(line, label, in_look, line is self.active and len(self.lines) > 1)
        self.redraw()

    def _on_click(self, event: Any) -> None:
        """Double-click in the plot: a cursor there."""
        if event.double() and self._vb.sceneBoundingRect().contains(event.scenePos()):
            self.add(float(self._vb.mapSceneToView(event.scenePos()).x()))

    def set_time(self, index: int, ts: float) -> None:
        self.lines[index].setValue(ts)
        self._on_moved(())

    def remove(self, index: int | None = None) -> None:
        """Remove one cursor (the newest when `index` is None)."""
        if not self.lines:
            return
        index = len(self.lines) - 1 if index is None else index
        line, label = self.lines.pop(index), self.labels.pop(index)
        if line is self.active:
            self.active = self.lines[-1] if self.lines else None
            self.restyle()
        self._vb.removeItem(line)
        self._vb.removeItem(label)
        line.deleteLater()  # in the GUI thread, not whenever the cycle collector runs
        label.deleteLater()
        self._on_moved(())

    def clear(self) -> None:
        while self.lines:
            self.remove()

    def _on_moved(self, _args: tuple) -> None:
        times = self.times()
        self.readout = CursorReadout(times, {p.tag: [p.value_before(t) for t in times]
                                             for p in self._pens()})
        self.redraw()
        self.moved.emit()

    def set_exact(self, times: list[float], values: dict[str, list[float | None]]) -> None:
        """The history's answer for `times`; ignored if the cursors moved since."""
        if times != self.times():
            return
        self.readout = CursorReadout(times, values, exact=True)
        self.redraw()

    def redraw(self) -> None:
        """Place each value box at its cursor's top and fill it (view changes call this)."""
        x_range, y_range = self._vb.viewRange()
        ordered = sorted(zip(self.lines, self.labels, strict=True), key=lambda p: p[0].value())
        width = x_range[1] - x_range[0]
        for i, (line, label) in enumerate(ordered):
            ts = float(line.value())
            # two cursors: the earlier box opens to the left, the later to the right, so they
            # never cover each other; near an edge a box opens inwards
            left = (i == 0 and len(ordered) == 2) or ts > x_range[1] - width * 0.3
            if ts < x_range[0] + width * 0.3:
                left = False
            label.setAnchor((1, 0) if left else (0, 0))
            label.setPos(ts, y_range[1] - (y_range[1] - y_range[0]) * 0.06)
            label.setHtml(self._html(i, ts))

    def _html(self, index: int, ts: float) -> str:
        rows = [f"<b>{'C' + str(index + 1)}</b> {local_time(ts)}"]
        readout = self.readout
        pens = [p for p in self._pens() if p.visible]
        names = short_names([p.tag for p in pens])
        for pen in pens:
            values = readout.values.get(pen.tag, [])
            value = values[index] if index < len(values) else None
            text = pen.format(value)
            if index == 1 and readout.delta(pen.tag) is not None:
                text += f"  (&Delta; {readout.delta(pen.tag):+.{pen.meta.decimals}f})"
            rows.append(f"<span style='color:{ink(pen.colour)}'>&#9644;</span> "
                        f"{html.escape(names[pen.tag])} <b>{text}</b>")
        if index == 1 and readout.delta_t is not None:
            rows.append(f"&Delta;t {format_duration(readout.delta_t)}")
        return (f"<div style='color:{look().text}; font-size:9pt'>" + "<br>".join(rows)
                + "</div>")


def _style(line: pg.InfiniteLine, label: pg.TextItem, in_look: TrendLook,
           active: bool = False) -> None:
    line.setPen(pg.mkPen(in_look.cursor, width=ACTIVE_PX if active else LINE_PX))
    line.setHoverPen(pg.mkPen(in_look.cursor, width=3))
    fill = pg.mkColor(in_look.box)
    fill.setAlpha(230)
    label.fill = pg.mkBrush(fill)
    label.border = pg.mkPen(in_look.box_border)
    label.update()


def format_duration(seconds: float) -> str:
    """1 d 02:03:04, 02:03:04 or 3.5 s."""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 60:
        return f"{sign}{s:.1f} s"
    days, rest = divmod(round(s), 86_400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    clock = f"{h:02d}:{m:02d}:{sec:02d}"
    return f"{sign}{days} d {clock}" if days else f"{sign}{clock}"
