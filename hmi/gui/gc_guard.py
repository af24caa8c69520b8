"""Garbage collection only in the GUI thread.

Why: Python's cyclic collector runs in whichever thread happens to allocate when a threshold is
crossed. In the station that is often a device, dispatch or worker thread; if the cycle it frees
holds a QObject (a QTimer inside a closed screen, a proxy, a curve), Qt deletes that object from
the wrong thread and the process dies with a segfault some time later, in the GUI thread. We
saw exactly this in the test suite (a producer thread's allocations collected a previous test's
bridge). pyqtgraph's `GarbageCollector` documents the cure used here: switch automatic
collection off and collect from a timer in the GUI thread, generation by generation, when the
same thresholds would have triggered it. GUI thread only.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    """While alive and started, cyclic garbage is collected by the GUI thread only."""

    def __init__(self, interval_s: float = 0.5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, round(interval_s * 1000)))
        self._timer.timeout.connect(self._on_tick)

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect once more and give collection back to Python (at shutdown)."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def _on_tick(self) -> None:
        count0, count1, count2 = gc.get_count()
        if count0 > self._threshold[0]:
            gc.collect(0)
            if count1 > self._threshold[1]:
                gc.collect(1)
                if count2 > self._threshold[2]:
                    gc.collect(2)
