"""The colours a trend paints itself, per theme: the plot field, grid, text, cursors, gap hatch,
and the pens.

Why a look per theme: ISA-101 asks for a grey field by day, and at night a dark one (a light
plot in a dark control room glares, and the night theme's light text on it was unreadable).
The look in use follows `hmi.gui.theme.current()`; a `TrendPlot` restyles itself when the
application's theme changes (`TrendPlot.changeEvent`).

Pens: a pen's colour is kept as saved (a group, the project file); `ink()` is how it is drawn in
a look. A colour of the day `PALETTE` becomes the look's palette colour at the same place (the
night palette is the same hues, lighter); any other colour is lightened or darkened, hue kept,
until it stands out from the field (`MIN_CONTRAST`, WCAG's 3:1 for graphics), and made greyer
if that made it read like an alarm (`alarms.colours`). No pen is ever in an alarm colour: red,
orange, yellow and violet are reserved for alarm marks; pens 5-8 are also dashed
(`widgets.trend_pens.DASHES`) so eight pens read apart in greyscale.

GUI thread only (reads the theme in use).
"""

from __future__ import annotations

import colorsys
import functools
from dataclasses import dataclass

from alarms.colours import alarm_likeness
from hmi.gui import theme

PALETTE = ("#1F4E8C", "#2E7D6B", "#7A4E2D", "#3A3A3A", "#0E6E8C", "#5B6B2E", "#4B4F8C",
           "#7D5A6E")  # muted, darkish hues on the day field; what groups save
NIGHT_PALETTE = ("#7AA7E0", "#5DBFA6", "#C4B29A", "#8E8E8E", "#5FC3D8", "#A9BE7A", "#A3A8E6",
                 "#C8A3B8")  # the same places, light enough for the night field
MIN_CONTRAST = 3.0


@dataclass(frozen=True)
class TrendLook:
    """Named colours of a trend in one theme (hex strings; `hatch` is RGBA)."""

    name: str
    background: str  # the plot field
    grid: str
    text: str  # axis ticks, cursor read-outs, "no data"
    muted: str  # a hidden pen in the legend
    box: str  # fill of the cursor read-outs and of the "no data" message
    box_border: str
    cursor: str
    mark_grey: str  # return-to-normal marks and the dotted line under a raise
    strip: str  # the gap strip along the bottom (grey: a coloured one read as a fall to 0)
    hatch: tuple[int, int, int, int]
    palette: tuple[str, ...]


DAY_LOOK = TrendLook("day", background="#DADADA", grid="#BEBEBE", text="#303030",
                     muted="#808080", box="#F5F5F5", box_border="#707070", cursor="#202020",
                     mark_grey="#6E6E6E", strip="#8A8A8A", hatch=(60, 60, 60, 70),
                     palette=PALETTE)
NIGHT_LOOK = TrendLook("night", background="#202020", grid="#3A3A3A", text="#D2D2D2",
                       muted="#8C8C8C", box="#2E2E2E", box_border="#808080", cursor="#E6E6E6",
                       mark_grey="#9A9A9A", strip="#7A7A7A", hatch=(200, 200, 200, 55),
                       palette=NIGHT_PALETTE)
LOOKS = {"day": DAY_LOOK, "night": NIGHT_LOOK}


def look() -> TrendLook:
    """The look of the theme in use."""
    return LOOKS.get(theme.current().name, DAY_LOOK)


def ink(colour: str, in_look: TrendLook | None = None) -> str:
    """How pen colour `colour` ("#RRGGBB", as saved) is drawn in `in_look` (default: the look
    in use). See the module docstring."""
    return _ink(colour.upper(), in_look or look())


def logical_colour(colour: str) -> str:
    """The colour to save for one picked on screen: a night palette colour is saved as its day
    palette twin (so a group saved at night looks the same by day), any other as it is."""
    colour = colour.upper()
    for in_look in LOOKS.values():
        if colour in in_look.palette:
            return PALETTE[in_look.palette.index(colour)]
    return colour


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1..21)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@functools.lru_cache(maxsize=256)
def _ink(colour: str, in_look: TrendLook) -> str:
    if colour in PALETTE:
        return in_look.palette[PALETTE.index(colour)]
    h, light, s = colorsys.rgb_to_hls(*_unit_rgb(colour))
    step = 0.03 if _luminance(in_look.background) < 0.18 else -0.03  # dark field: lighter
    out = colour
    for _ in range(80):  # each turn moves lightness or saturation one step towards the goal
        if alarm_likeness(out) and s > 0.0:
            s = max(0.0, s - 0.1)
        elif contrast(out, in_look.background) < MIN_CONTRAST and 0.0 < light < 1.0:
            light = min(1.0, max(0.0, light + step))
        else:
            break
        out = _hex(colorsys.hls_to_rgb(h, light, s))
    return out


def _unit_rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i:i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02X}" for c in rgb)


def _luminance(colour: str) -> float:
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
           for c in _unit_rgb(colour)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
