"""How an alarm looks, in one place: priority shape + colour + number, and the state marks.

ISA-101 / ISA-18.2: colour is reserved for alarms and never carries meaning alone. Each
priority has its own shape and number, so the mark reads in greyscale and for colour-blind
operators; the colours are the same in the day and night themes. States: unacknowledged
blinks (fast), returned-unacknowledged blinks slowly, acknowledged is steady; shelved,
suppressed by design and out of service get a letter instead of the priority mark, drawn in
the theme's muted text colour on a field-coloured box (they are not annunciated, so no alarm
colour; the box keeps the letter readable on a dark night row or a selected row alike).

Every alarm colour in the code base comes from `PRIORITIES`, whose colours are written once in
`alarms.colours` (Qt-free, so project validation can refuse them for trend pens); a test checks
that no other module or stylesheet uses them. GUI thread only (QPainter).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF

from alarms.colours import ALARM_COLOURS


@dataclass(frozen=True)
class PriorityStyle:
    name: str
    number: int
    colour: str  # fill, the same in both themes
    shape: str  # square | diamond | triangle | inverted_triangle
    text_colour: str  # the number on the fill


PRIORITIES: dict[str, PriorityStyle] = {
    "urgent": PriorityStyle("urgent", 1, ALARM_COLOURS["urgent"], "square", "#FFFFFF"),
    "high": PriorityStyle("high", 2, ALARM_COLOURS["high"], "diamond", "#000000"),
    "medium": PriorityStyle("medium", 3, ALARM_COLOURS["medium"], "triangle", "#000000"),
    "low": PriorityStyle("low", 4, ALARM_COLOURS["low"], "inverted_triangle", "#000000"),
}

# State letters (ISA-18.2 A-H) as the alarm manager reports them.
UNACK, ACKED, RTN_UNACK, LATCHED = "B", "C", "D", "E"
SHELVED, SUPPRESSED, OUT_OF_SERVICE = "F", "G", "H"
STATE_MARKS = {SHELVED: "S", SUPPRESSED: "D", OUT_OF_SERVICE: "X"}

FAST_BLINK_S = 0.5  # unacknowledged: on/off every 0.5 s (1 Hz)
SLOW_BLINK_S = 1.0  # returned unacknowledged: on/off every 1 s (0.5 Hz)
MARK_GREY = "#6E6E6E"  # on a light background only (the trend plot); letters: state_mark_colours()


def state_mark_colours() -> tuple[str, str]:
    """(letter and outline, box fill) for the S / D / X marks in the theme in use: muted text
    on the field colour, about 5:1 contrast in both themes (#6E6E6E on the night theme's dark
    grey was about 2:1)."""
    from hmi.gui import theme  # the widgets' theme; imported late: alarm_style has no Qt app

    palette = theme.current()
    return palette.muted, palette.field


def style_of(priority: str) -> PriorityStyle:
    return PRIORITIES.get(priority, PRIORITIES["low"])


def is_visible(state: str, phase_s: float) -> bool:
    """Whether a blinking mark is drawn at time `phase_s` (any monotonic seconds)."""
    if state == UNACK:
        return int(phase_s / FAST_BLINK_S) % 2 == 0
    if state == RTN_UNACK:
        return int(phase_s / SLOW_BLINK_S) % 2 == 0
    return True


def shape_path(shape: str, rect: QRectF) -> QPainterPath:
    """The outline of a priority shape inscribed in `rect`."""
    path = QPainterPath()
    r = rect.adjusted(1, 1, -1, -1)
    cx, cy = r.center().x(), r.center().y()
    if shape == "square":
        path.addRect(r.adjusted(1, 1, -1, -1))
        return path
    if shape == "diamond":
        points = [QPointF(cx, r.top()), QPointF(r.right(), cy), QPointF(cx, r.bottom()),
                  QPointF(r.left(), cy)]
    elif shape == "triangle":
        points = [QPointF(cx, r.top()), QPointF(r.right(), r.bottom()),
                  QPointF(r.left(), r.bottom())]
    else:  # inverted_triangle
        points = [QPointF(r.left(), r.top()), QPointF(r.right(), r.top()),
                  QPointF(cx, r.bottom())]
    path.addPolygon(QPolygonF([*points, points[0]]))
    return path


def paint_alarm_mark(painter: QPainter, rect: QRectF, priority: str, state: str,
                     phase_s: float = 0.0, mark_colours: tuple[str, str] | None = None) -> None:
    """Draw the alarm indicator for one alarm into `rect` (square-ish, >= 14 px).
    `mark_colours`: (letter/outline, fill) of the S / D / X marks; default the theme's."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    font = QFont(painter.font())
    font.setBold(True)
    font.setPixelSize(max(8, int(rect.height() * 0.55)))
    painter.setFont(font)
    letter = STATE_MARKS.get(state)
    if letter is not None:
        ink, fill = mark_colours or state_mark_colours()
        painter.setPen(QPen(QColor(ink), 1.5))
        painter.setBrush(QColor(fill))
        painter.drawRect(rect.adjusted(2, 2, -2, -2))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, letter)
        painter.restore()
        return
    style = style_of(priority)
    path = shape_path(style.shape, rect)
    if is_visible(state, phase_s):
        painter.setPen(QPen(QColor("#000000"), 1.2))
        painter.setBrush(QColor(style.colour))
        painter.drawPath(path)
        text_rect = QRectF(rect)
        if style.shape == "triangle":
            text_rect.adjust(0, rect.height() * 0.2, 0, 0)
        elif style.shape == "inverted_triangle":
            text_rect.adjust(0, 0, 0, -rect.height() * 0.25)
        painter.setPen(QColor(style.text_colour))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, str(style.number))
    else:  # the "off" half of a blink keeps the outline, so the shape never disappears
        painter.setPen(QPen(QColor(style.colour), 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
    painter.restore()
