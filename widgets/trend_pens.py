"""Pens of a trend and the value axes they share.

Colours (ISA-101): pens are muted hues distinguishable from each other and never one of the
alarm colours (red, orange, yellow, violet are kept for alarm marks); pens 5-8 are also dashed
so eight pens still read apart in greyscale or for colour-blind users. A pen keeps its colour
as saved; how it is drawn in the day or night look is `widgets.trend_look.ink`.

Axes: every pen is drawn in ONE ViewBox (so the PlotItem's peak downsampling and clip-to-view
reach every curve, STYLE.md section 4), mapped to 0..1 by its axis group's scale `lo..hi`; each
group has its own axis in engineering units, showing the ViewBox's 0..1 window through that
mapping. "separate" groups pens by unit (level and level setpoint share a % axis); "shared"
puts every pen on one axis. A group's scale is the tags' configured min/max when they have one,
else fitted to the data (and refitted by "zoom to fit").

GUI thread only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from hmi.trends.data import nan_runs
from widgets.trend_look import PALETTE, ink, look

DASHES = (Qt.PenStyle.SolidLine,) * 4 + (Qt.PenStyle.DashLine,) * 2 + (
    Qt.PenStyle.DashDotLine,) * 2


@dataclass
class TagMeta:
    """What the project file says about a tag, for axes and labels."""

    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    decimals: int = 2
    description: str = ""


def tag_meta(project: Any, tag: str) -> TagMeta:
    config = project.tag(tag) if project is not None else None
    if config is None:
        return TagMeta()
    return TagMeta(config.unit, config.min, config.max, config.decimals, config.description)


@dataclass
class Pen:
    """One trended tag: its look, its data for the current view, and its live tail."""

    tag: str
    colour: str
    style: Qt.PenStyle
    meta: TagMeta
    visible: bool = True
    lo: float | None = None  # axis scale asked for (group config or user); None: tag's, else fit
    hi: float | None = None
    t: np.ndarray = field(default_factory=lambda: np.empty(0))
    v: np.ndarray = field(default_factory=lambda: np.empty(0))
    known: bool = True  # False: never had a stored value ("no data")
    gaps: list[tuple[float, float, str]] = field(default_factory=list)
    curve: Any = None  # its PlotDataItem
    live_value: Any = None  # latest sample from the bridge (live legend)

    @property
    def axis_key(self) -> str:
        return self.meta.unit or f"({self.tag})"

    def scale(self) -> tuple[float, float] | None:
        lo = self.lo if self.lo is not None else self.meta.lo
        hi = self.hi if self.hi is not None else self.meta.hi
        if lo is not None and hi is not None and hi > lo:
            return lo, hi
        return None

    def value_before(self, ts: float) -> float | None:
        """The last plotted value at or before `ts` (None before the data or in a gap)."""
        i = int(np.searchsorted(self.t, ts, side="right")) - 1
        if i < 0:
            return None
        value = float(self.v[i])
        return value if math.isfinite(value) else None

    def format(self, value: float | None) -> str:
        if value is None:
            return "--"
        return f"{value:.{self.meta.decimals}f}" + (f" {self.meta.unit}" if self.meta.unit else "")


@dataclass
class AxisGroup:
    """Pens drawn against one value axis, and the scale that maps them to 0..1."""

    key: str
    pens: list[Pen]
    lo: float = 0.0
    hi: float = 1.0
    fixed: bool = False  # from configuration: never refitted to data
    fitted: bool = False
    axis: Any = None  # its ScaleAxis

    def map(self, v: np.ndarray) -> np.ndarray:
        return (v - self.lo) / (self.hi - self.lo)

    def unmap(self, y: float) -> float:
        return self.lo + y * (self.hi - self.lo)

    def configure(self) -> None:
        scales = [s for s in (p.scale() for p in self.pens) if s is not None]
        if scales and len(scales) == len(self.pens):
            self.lo, self.hi = min(s[0] for s in scales), max(s[1] for s in scales)
            self.fixed = self.fitted = True
        else:
            self.fixed = False

    def fit(self, t0: float | None = None, t1: float | None = None) -> bool:
        """Fit lo..hi to the pens' data in [t0, t1] (all of it when None), 5 % margins.
        False when there is nothing to fit to."""
        lows, highs = [], []
        for pen in self.pens:
            v = pen.v
            if t0 is not None and t1 is not None and len(pen.t):
                v = v[(pen.t >= t0) & (pen.t <= t1)]
            v = v[np.isfinite(v)]
            if len(v):
                lows.append(float(v.min()))
                highs.append(float(v.max()))
        if not lows:
            return False
        lo, hi = min(lows), max(highs)
        margin = (hi - lo) * 0.05 or max(abs(hi) * 0.05, 1.0)
        self.lo, self.hi = lo - margin, hi + margin
        self.fitted = True
        return True

    def title(self) -> str:
        units = sorted({p.meta.unit for p in self.pens if p.meta.unit})
        if units:
            return ", ".join(units)
        return self.pens[0].tag.rsplit(".", 1)[-1] if len(self.pens) == 1 else ""

    def colour(self) -> str:
        """The axis is drawn in its pen's colour when it has one pen, else in text grey (of
        the look in use)."""
        return ink(self.pens[0].colour) if len(self.pens) == 1 else look().text


def curve_pen(pen: Pen, mini: bool = False) -> Any:
    """The QPen of a pen's curve in the look in use. Solid pens 2 px (pyqtgraph draws them as
    segments: fast); dashed ones 1 px, since a wide dashed path is stroked as a whole and cost
    ~10x more per frame (measured). Mini solid pens 1.5 px: a 1 px solid curve in this plot
    drew nothing offscreen (the faceplate's history was missing; plain pyqtgraph draws 1 px,
    cause not found)."""
    solid = pen.style == Qt.PenStyle.SolidLine
    width = (1.5 if mini else 2.0) if solid else 1.0
    return pg.mkPen(ink(pen.colour), width=width, style=pen.style)


def build_groups(pens: list[Pen], mode: str) -> list[AxisGroup]:
    """Axis groups for `mode` ("separate": one per unit; "shared": one), in pen order."""
    groups: dict[str, AxisGroup] = {}
    for pen in pens:
        key = "shared" if mode == "shared" else pen.axis_key
        groups.setdefault(key, AxisGroup(key, [])).pens.append(pen)
    for group in groups.values():
        group.configure()
    return list(groups.values())


def next_colour(used: list[str]) -> tuple[str, Qt.PenStyle]:
    """The first palette colour not in use (and its dash), cycling when all are taken."""
    for colour, style in zip(PALETTE, DASHES, strict=True):
        if colour not in used:
            return colour, style
    i = len(used) % len(PALETTE)
    return PALETTE[i], DASHES[i]


def style_for(colour: str) -> Qt.PenStyle:
    return DASHES[PALETTE.index(colour)] if colour in PALETTE else Qt.PenStyle.SolidLine


def legend_html(pens: list[Pen], live: bool, span_s: float) -> str:
    """The strip above the plot: mode, span, and per pen its colour, name and live value. The
    text takes the label's (the theme's) colour: the strip sits on the window, not the plot."""
    items = []
    for pen in pens:
        if not pen.known:
            value = "no data"
        elif live and pen.live_value is not None:
            sample = pen.live_value
            value = pen.format(sample.value if sample.quality and isinstance(
                sample.value, int | float) else None)
        else:
            value = pen.meta.unit
        dim = "" if pen.visible else f" style='color:{look().muted}'"
        items.append(f"<span style='color:{ink(pen.colour)}; font-size:14pt'>&#9644;</span>"
                     f"<span{dim}> {pen.tag} <b>{value}</b></span>")
    head = f"<b>{'LIVE' if live else 'HISTORICAL'}</b> &nbsp;{_span_text(span_s)}"
    return f"<span>{head} &nbsp;&nbsp; " + " &nbsp;&nbsp; ".join(items) + "</span>"


def short_names(tags: list[str]) -> dict[str, str]:
    """Each tag's shortest ending (by dotted parts) that no other of `tags` shares:
    "Line1.Filler.Level" -> "Level", but "Filler.Speed" and "Packer.Speed" for two speeds."""
    out = {}
    for tag in tags:
        parts = tag.split(".")
        for n in range(1, len(parts) + 1):
            end = ".".join(parts[-n:])
            if not any(o != tag and (o == end or o.endswith("." + end)) for o in tags):
                break
        out[tag] = end
    return out


def _span_text(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


def band_rows(pens: list[Pen], end: float) -> list[tuple[int, str, str, float, float, str]]:
    """(row, tag, colour, start, end, reason) of every break of the visible pens' lines (one
    strip row per visible pen), with the reason of the gap marker that opened it."""
    bands = []
    for row, pen in enumerate(p for p in pens if p.visible):
        for start, stop in nan_runs(pen.t, pen.v, end):
            reason = next((r for g0, g1, r in pen.gaps if g0 <= stop and g1 >= start), "")
            bands.append((row, pen.tag, pen.colour, start, stop, reason))
    return bands
