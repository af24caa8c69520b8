"""Colour is reserved for alarms (ISA-101): no alarm colour, and nothing red, orange, yellow,
violet or green, appears in the themes or in any widget or screen code outside
`widgets/alarm_style.py`. Equipment states are fill + text. A test over the QSS files, the
theme palettes and the source of `widgets/`, `screens/` and `hmi/gui/`."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtGui import QColor

from alarms.colours import alarm_likeness
from hmi.gui import theme
from widgets.alarm_style import PRIORITIES

ROOT = Path(__file__).resolve().parents[2]
ALARM_MODULE = ROOT / "widgets" / "alarm_style.py"
HEX = re.compile(r"#[0-9A-Fa-f]{6}\b|#[0-9A-Fa-f]{3}\b")
NAMED = re.compile(r"\b(red|green|orange|yellow|magenta|purple|violet|lime|darkred|darkgreen|"
                   r"gold)\b", re.IGNORECASE)
QT_NAMED = re.compile(r"GlobalColor\.(red|green|yellow|magenta|darkRed|darkGreen|darkYellow)|"
                      r"Qt\.(red|green|yellow|magenta)\b")
RGB_CALL = re.compile(r"QColor\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)")
# Trend pens need distinguishable colours (ISA-101 allows muted pen colours): the palettes of
# this one module (day and night) are checked by the alarm-likeness rule instead of grey.
PEN_MODULE = ROOT / "widgets" / "trend_look.py"


def sources() -> list[Path]:
    files = [*sorted((ROOT / "resources" / "themes").glob("*.qss"))]
    for folder in ("widgets", "screens", "hmi/gui"):
        files += [p for p in sorted((ROOT / folder).rglob("*.py")) if p != ALARM_MODULE]
    return files


def allowed(colour: QColor) -> bool:
    """Greys, and a muted blue for focus and selection (no alarm hue, never green)."""
    if colour.hsvSaturationF() <= 0.12:
        return True
    return 195 <= colour.hsvHue() <= 235 and colour.hsvSaturationF() <= 0.55


def pen_colour_ok(colour: QColor) -> bool:
    """Never a hue an operator could take for an alarm (`alarms.colours`, the rule the colour
    dialog and the project file apply too)."""
    return alarm_likeness(colour.name()) is None


def test_no_alarm_colour_outside_alarm_styling() -> None:
    alarm_hex = {p.colour.upper() for p in PRIORITIES.values()}
    problems = []
    files = sources()
    assert any(p.suffix == ".qss" for p in files)
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".qss":  # blank out comments, keep the line numbers
            text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text,
                          flags=re.DOTALL)
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{path.relative_to(ROOT)}:{number}"
            for found in HEX.findall(line):
                colour = QColor(found)
                if found.upper() in alarm_hex:
                    problems.append(f"{where}: alarm colour {found}")
                elif path == PEN_MODULE and pen_colour_ok(colour):
                    continue
                elif not allowed(colour):
                    problems.append(f"{where}: {found} is not grey (hue {colour.hsvHue()})")
            code = line.split("#", 1)[0] if path.suffix == ".py" else line
            rgb = RGB_CALL.search(code) if path.suffix == ".py" else None
            if rgb and allowed(QColor(*(int(v) for v in rgb.groups()))):
                rgb = None  # a grey given as numbers (e.g. a translucent hatch)
            if path.suffix == ".py" and (QT_NAMED.search(code) or rgb):
                problems.append(f"{where}: a colour not from the theme: {line.strip()}")
            if path.suffix == ".qss" and NAMED.search(line):
                problems.append(f"{where}: a named colour: {line.strip()}")
    assert not problems, "\n".join(problems)


def test_theme_palettes_are_grey_and_alarm_colours_are_the_same_in_both() -> None:
    for palette in theme.PALETTES.values():
        for role, value in vars(palette).items():
            if role != "name":
                assert allowed(QColor(value)), f"{palette.name}.{role} = {value}"
    assert theme.DAY.background.upper() == "#D5D5D5"
    assert QColor(theme.NIGHT.background).lightness() < 60
    # the alarm colours come from one table whatever the theme
    assert "PRIORITIES" not in (ROOT / "hmi" / "gui" / "theme.py").read_text(encoding="utf-8")


def test_the_check_catches_an_alarm_colour(tmp_path: Path) -> None:
    sample = QColor(PRIORITIES["urgent"].colour)
    assert not allowed(sample)
    assert not pen_colour_ok(sample)
    assert not pen_colour_ok(QColor("#E08A20"))  # an orange pen would read as a priority 2
    assert not allowed(QColor("#00A000"))  # green: never for equipment states
    assert allowed(QColor("#3F5F7F"))
