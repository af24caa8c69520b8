"""GUI tests run offscreen with real widgets; no top-level widget may outlive its test (napari's
`strict_qt`): a leaked window is a leaked screen in the station."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.gui.stations import make_station

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
__all__ = ["make_station"]  # a fixture every GUI test module may use


@pytest.fixture(scope="session", autouse=True)
def gc_in_the_gui_thread(qapp) -> Iterator[None]:
    """As the station does (hmi.gui.gc_guard): a cycle holding a QObject must never be
    collected by a producer or worker thread, which crashes Qt later."""
    from hmi.gui.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector()
    collector.start()
    yield
    collector.stop()


@pytest.fixture(autouse=True)
def no_leaked_top_level_widgets(qapp) -> Iterator[None]:
    from PySide6.QtWidgets import QApplication

    before = {id(w) for w in QApplication.topLevelWidgets()}
    yield
    QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets()
              if id(w) not in before and w.isVisible()]
    assert not leaked, f"top-level widgets left open: {[type(w).__name__ for w in leaked]}"
