"""Priority marks differ in shape, not only colour: rendered in greyscale they still differ,
and a blinking mark keeps its outline in the off phase."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from widgets.alarm_style import PRIORITIES, UNACK, paint_alarm_mark


def render(priority: str, state: str = "C", phase_s: float = 0.0, grey: bool = True) -> QImage:
    image = QImage(32, 32, QImage.Format.Format_ARGB32)
    image.fill(QColor("#D5D5D5"))
    painter = QPainter(image)
    paint_alarm_mark(painter, QRectF(0, 0, 32, 32), priority, state, phase_s)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_Grayscale8) if grey else image


def silhouette(image: QImage) -> set[tuple[int, int]]:
    """Pixels that differ from the background: the shape, whatever its colour."""
    background = render_background()
    return {(x, y) for x in range(32) for y in range(32)
            if abs(image.pixelColor(x, y).value() - background) > 30}


def render_background() -> int:
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(QColor("#D5D5D5"))
    return image.convertToFormat(QImage.Format.Format_Grayscale8).pixelColor(0, 0).value()


def test_priorities_differ_in_shape_in_greyscale(qapp) -> None:
    shapes = {name: frozenset(silhouette(render(name))) for name in PRIORITIES}
    assert len(set(shapes.values())) == len(PRIORITIES)
    for a in shapes:
        for b in shapes:
            if a < b:
                overlap = len(shapes[a] ^ shapes[b])
                assert overlap > 60, f"{a} and {b} silhouettes nearly equal ({overlap} px differ)"


def test_unacknowledged_blinks_but_keeps_its_outline(qapp) -> None:
    on = render("urgent", UNACK, 0.0, grey=False)
    off = render("urgent", UNACK, 0.6, grey=False)
    assert on != off
    assert silhouette(render("urgent", UNACK, 0.6))  # the outline stays in the off phase
