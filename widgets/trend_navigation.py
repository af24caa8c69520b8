"""Moving around a trend: zoom, pan, zoom to fit, undo, and the keys for them.

Undo keeps whole views (time window, value window, every axis scale, live or not), one step per
*gesture*: a mouse drag or a wheel burst makes many range changes but one undo step (a gesture
ends after `GESTURE_END_S` of quiet), and each key press or button is one step. Any move while
live freezes the trend where it is (historical mode); `L` or the Live button returns.

Keys (`KEYS`, listed in docs/operators.md; a test checks): Left/Right pan 25 %, PageUp/PageDown
a whole view, + / - zoom time in and out, F zoom to fit, Backspace or Ctrl+Z undo, L live, C add
a cursor, Esc clear the cursors; Shift+Left/Right move a cursor one pixel (Ctrl+Shift: ten),
1 / 2 choose which, so a value at a chosen time can be read without a mouse. Tab is left to
focus navigation (it would trap the keyboard in the plot).

GUI thread only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent

if TYPE_CHECKING:
    from widgets.trend_plot import TrendPlot

KEYS = (  # (key as the operator guide writes it, what it does): read by tests/core
    ("Left / Right", "pan 25 % of the view"),
    ("PageUp / PageDown", "pan a whole view"),
    ("+ / -", "zoom time in / out around the middle"),
    ("F", "fit every value axis to the data in view"),
    ("Backspace, Ctrl+Z", "undo the last zoom, pan or fit"),
    ("L", "live again"),
    ("C / Esc", "add a cursor / remove the cursors"),
    ("Shift+Left / Shift+Right", "move the cursor one pixel (adds one if there is none)"),
    ("Ctrl+Shift+Left / Ctrl+Shift+Right", "move the cursor ten pixels"),
    ("1 / 2", "choose cursor C1 or C2 (in time order) for the keys above"),
)
CURSOR_STEP_PX, CURSOR_JUMP_PX = 1.0, 10.0
GESTURE_END_S = 0.4
UNDO_DEPTH = 50
Y_PAD = 0.03


class TrendNavigation(QObject):
    """Zoom, pan, fit and undo of one `TrendPlot`."""

    def __init__(self, plot: TrendPlot) -> None:
        super().__init__(plot)
        self.plot = plot
        self.undo_stack: list[dict[str, Any]] = []
        self.anchor: dict[str, Any] | None = None  # the view a new gesture starts from
        self._gesture = False
        self._gesture_timer = QTimer(self)
        self._gesture_timer.setSingleShot(True)
        self._gesture_timer.setInterval(round(GESTURE_END_S * 1000))
        self._gesture_timer.timeout.connect(self._on_gesture_end)
        plot.viewbox.sigRangeChangedManually.connect(self._on_manual)

    def state(self) -> dict[str, Any]:
        plot = self.plot
        return {"x": plot.visible_range(), "y": tuple(plot.viewbox.viewRange()[1]),
                "live": plot.live, "span": plot.span_s,
                "scales": {g.key: (g.lo, g.hi) for g in plot.groups()}}

    def push(self) -> None:
        self.undo_stack.append(self.state())
        del self.undo_stack[:-UNDO_DEPTH]

    def undo(self) -> bool:
        """Back to the view before the last zoom, pan or fit. False when there is none."""
        if not self.undo_stack:
            return False
        state = self.undo_stack.pop()
        plot = self.plot
        for group in plot.groups():
            if group.key in state["scales"]:
                group.lo, group.hi = state["scales"][group.key]
        plot.viewbox.setYRange(*state["y"], padding=0)
        if state["live"]:
            plot.set_live(state["span"])
        else:
            plot.set_range(*state["x"])
        plot.redraw()
        return True

    def zoom(self, factor: float, center: float | None = None) -> None:
        """Time zoom: factor < 1 zooms in, > 1 out, around `center` (default: mid-view)."""
        t0, t1 = self.plot.visible_range()
        c = (t0 + t1) / 2 if center is None else center
        self.push()
        self.plot.set_range(c - (c - t0) * factor, c + (t1 - c) * factor)

    def pan(self, fraction: float) -> None:
        """Move the time window by `fraction` of its width (negative: back in time)."""
        t0, t1 = self.plot.visible_range()
        step = (t1 - t0) * fraction
        self.push()
        self.plot.set_range(t0 + step, t1 + step)

    def fit(self) -> None:
        """Fit every axis group's scale to the data in view, using the plot's full height."""
        self.push()
        plot = self.plot
        t0, t1 = plot.visible_range()
        for group in plot.groups():
            group.fit(t0, t1)
            group.axis.apply_style()
        plot.viewbox.setYRange(0.0, 1.0, padding=Y_PAD)
        plot.redraw()

    def _on_manual(self, *_args: Any) -> None:
        """The operator dragged or wheeled: one undo step per gesture; live mode freezes."""
        if not self._gesture and self.anchor is not None:
            self.undo_stack.append(self.anchor)
            del self.undo_stack[:-UNDO_DEPTH]
        self._gesture = True
        self._gesture_timer.start()
        self.plot.freeze()

    def _on_gesture_end(self) -> None:
        self._gesture = False
        self.anchor = self.state()

    # ---- keys -----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Installed on the plot's view, where the keys arrive once it has been clicked."""
        if event.type() == QEvent.Type.KeyPress and self.handle_key(event):  # type: ignore[arg-type]
            return True
        return super().eventFilter(watched, event)

    def handle_key(self, event: QKeyEvent) -> bool:
        """Run the key's action; False for keys that are not ours."""
        k = Qt.Key
        mods = event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if event.key() == k.Key_Z and ctrl:
            self.undo()
            return True
        plot = self.plot
        if mods & Qt.KeyboardModifier.ShiftModifier and event.key() in (k.Key_Left,
                                                                       k.Key_Right):
            step = CURSOR_JUMP_PX if ctrl else CURSOR_STEP_PX
            plot.cursors.nudge(step if event.key() == k.Key_Right else -step)
            return True
        if event.key() in (k.Key_1, k.Key_2):
            return plot.cursors.select(1 if event.key() == k.Key_1 else 2)
        actions: dict[Any, Callable[[], Any]] = {
            k.Key_Left: functools.partial(self.pan, -0.25),
            k.Key_Right: functools.partial(self.pan, 0.25),
            k.Key_PageUp: functools.partial(self.pan, -1.0),
            k.Key_PageDown: functools.partial(self.pan, 1.0),
            k.Key_Plus: functools.partial(self.zoom, 0.5),
            k.Key_Equal: functools.partial(self.zoom, 0.5),
            k.Key_Minus: functools.partial(self.zoom, 2.0),
            k.Key_F: self.fit,
            k.Key_Backspace: self.undo,
            k.Key_L: plot.set_live,
            k.Key_C: plot.add_cursor,
            k.Key_Escape: plot.cursors.clear,
        }
        action = actions.get(event.key())
        if action is None:
            return False
        action()
        return True
