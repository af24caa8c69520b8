"""The alarm priority colours, and whether another colour could be mistaken for one.

Why here, Qt-free: ISA-101 reserves these colours for alarms, so every colour an operator or an
engineer may choose (a trend pen in the colour dialog, `[[trend_groups]] colour` in the project
file, a saved trend group) is checked against them, and that check runs where Qt is not
(project validation in `hmi.trends.config`). `widgets.alarm_style` draws with this table; it
is the one place the hex values are written.

A colour "reads like an alarm" when it has an alarm colour's hue (within `HUE_NEAR_DEG`) and
is seen as that hue: strongly coloured (HSV chroma, saturation x value, from `CHROMA`), or
light and not grey (a pink, a tan). Greys never do, however close in RGB (the violet is pale
enough that a plain RGB distance caught light greys); a dark brown pen is not an orange alarm,
a light tan or a dark red one is. Any thread.
"""

from __future__ import annotations

import colorsys
import re

# priority -> fill colour, the same in the day and night themes
ALARM_COLOURS: dict[str, str] = {
    "urgent": "#E5121B",  # red
    "high": "#FF8A00",  # orange
    "medium": "#FFE100",  # yellow
    "low": "#B469D6",  # violet
}
HUE_NEAR_DEG = 20.0
CHROMA = 0.32  # saturation x value from which a hue reads as that colour (#7A4E2D brown: 0.30)
PALE_S, PALE_V = 0.25, 0.75  # light colours read as their hue from this saturation (pink, tan)
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


def _rgb(colour: str) -> tuple[int, int, int]:
    if not _HEX.match(colour):
        raise ValueError(f"not a colour like \"#1F4E8C\": {colour!r}")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _hsv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    return h * 360.0, s, v


def alarm_likeness(colour: str) -> str | None:
    """Why `colour` ("#RRGGBB") could be read as an alarm colour, or None when it cannot.
    ValueError when it is not a colour."""
    hue, sat, val = _hsv(_rgb(colour))
    if sat * val < CHROMA and not (sat >= PALE_S and val >= PALE_V):
        return None  # a grey, or too dark and dull to read as any alarm hue
    for priority, alarm in ALARM_COLOURS.items():
        a_hue = _hsv(_rgb(alarm))[0]
        if min(abs(hue - a_hue), 360.0 - abs(hue - a_hue)) <= HUE_NEAR_DEG:
            return (f"{colour.upper()} looks like the {priority} alarm colour {alarm}: red, "
                    "orange, yellow and violet are reserved for alarms")
    return None
