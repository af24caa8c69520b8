"""Day and night themes: a QSS file each (`resources/themes/`) plus the few colours widgets
paint themselves (bars, symbols, hatching).

ISA-101 high performance: grey backgrounds, dark text, no decoration; colour is reserved for
alarms (`widgets.alarm_style`, the same in both themes). Equipment states are told apart by fill
and text (RUNNING is a solid dark fill, STOPPED hollow), never red/green. A test scans this
module, the QSS files and the widget code for alarm-like colours.

GUI thread only. `current()` is the palette in use; widgets read it in `paintEvent`, so
switching themes needs one `update()` of the window, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("day", "night")


@dataclass(frozen=True)
class Palette:
    """Named colours of one theme (hex strings)."""

    name: str
    background: str  # the window: ISA-101 light grey by day
    panel: str  # group boxes, header
    field: str  # value fields
    text: str
    muted: str  # labels, units, inactive text
    border: str
    track: str  # an analog bar's full range
    band: str  # an analog bar's normal band
    pointer: str  # an analog bar's value pointer and setpoint marker
    running_fill: str  # equipment RUNNING: solid fill
    running_text: str
    stopped_fill: str  # equipment STOPPED: hollow (background) fill
    bad_text: str  # BAD quality: greyed
    bad_hatch: str
    focus: str  # keyboard focus frame and selection (a muted blue, never an alarm hue)
    trend: str  # live trend line


DAY = Palette(
    name="day", background="#D5D5D5", panel="#CCCCCC", field="#E4E4E4", text="#141414",
    muted="#4D4D4D", border="#9C9C9C", track="#B4B4B4", band="#E9E9E9", pointer="#000000",
    running_fill="#3C3C3C", running_text="#FFFFFF", stopped_fill="#E4E4E4",
    bad_text="#6F6F6F", bad_hatch="#8E8E8E", focus="#3F5F7F", trend="#1E1E1E",
)
NIGHT = Palette(
    name="night", background="#2A2A2A", panel="#323232", field="#3A3A3A", text="#DCDCDC",
    muted="#A8A8A8", border="#5A5A5A", track="#4A4A4A", band="#5E5E5E", pointer="#F0F0F0",
    running_fill="#CFCFCF", running_text="#111111", stopped_fill="#2A2A2A",
    bad_text="#8A8A8A", bad_hatch="#6A6A6A", focus="#7F9FBF", trend="#E6E6E6",
)
PALETTES = {"day": DAY, "night": NIGHT}
_current: Palette = DAY


def current() -> Palette:
    return _current


def colour(role: str) -> QColor:
    """A named colour of the theme in use, e.g. `colour("text")`."""
    return QColor(getattr(_current, role))


def stylesheet(name: str) -> str:
    """The QSS text of theme `name` (from the installed package's resources)."""
    return (resources.files("resources") / "themes" / f"{name}.qss").read_text(encoding="utf-8")


def apply(app: QApplication, name: str) -> Palette:
    """Make `name` the theme of the whole application (palette + stylesheet)."""
    global _current
    if name not in PALETTES:
        raise ValueError(f"unknown theme {name!r} (themes: {', '.join(THEMES)})")
    _current = PALETTES[name]
    pal = QPalette()
    p = _current
    for role, value in (
        (QPalette.ColorRole.Window, p.background), (QPalette.ColorRole.Base, p.field),
        (QPalette.ColorRole.AlternateBase, p.panel), (QPalette.ColorRole.Button, p.panel),
        (QPalette.ColorRole.WindowText, p.text), (QPalette.ColorRole.Text, p.text),
        (QPalette.ColorRole.ButtonText, p.text), (QPalette.ColorRole.ToolTipBase, p.field),
        (QPalette.ColorRole.ToolTipText, p.text), (QPalette.ColorRole.Highlight, p.focus),
        (QPalette.ColorRole.HighlightedText, p.running_text if name == "day" else p.text),
        (QPalette.ColorRole.PlaceholderText, p.muted), (QPalette.ColorRole.Mid, p.border),
    ):
        pal.setColor(role, QColor(value))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(p.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(p.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(p.muted))
    app.setPalette(pal)
    app.setStyleSheet(stylesheet(name))
    return _current
