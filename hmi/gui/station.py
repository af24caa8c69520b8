"""One operator station in one process: runtime, bridge, command layer, context and window,
built, started and stopped in the one order that loses nothing.

Order matters: the bridge attaches before the runtime starts (no change is missed, the standing
alarms arrive as its first flush); on stop the window's faceplates close first, then the bridge
detaches (no Qt call from a stopping core), then the runtime stops (device threads joined,
historian and journal committed and closed), then the job pool drains. `hmi gui`,
`hmi screenshot`, the GUI bench and the tests all build a station through this class, so they
all run the same code. GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QSettings

from hmi.commands import Actor, Commands
from hmi.gui.bridge import TagBridge
from hmi.gui.context import StationContext
from hmi.gui.main_window import MainWindow
from hmi.gui.session import SessionController
from hmi.project import Project
from hmi.runtime import SERVICES, Runtime

log = logging.getLogger(__name__)


class Station:
    """Build with a validated project; `start()`, show `window`, `stop()` once.

    `actor`: a logged-in user (`Security.login`) to start with; default nobody: the station
    shows everything read-only until someone logs in (`session.prompt()` asks; `hmi gui` calls
    it once the window shows)."""

    def __init__(self, project: Project, data_dir: Path | str | None = None,
                 services: Sequence[str] | None = SERVICES, settings: QSettings | None = None,
                 actor: Actor | None = None, hz: float = 10.0) -> None:
        self.runtime = Runtime(project, data_dir, services=services)
        self.bridge = TagBridge(hz)
        self.bridge.attach(self.runtime)
        self.context = StationContext(self.runtime, self.bridge, Commands(self.runtime))
        self.bridge.error.connect(self._on_bridge_error)
        self.context.set_actor(actor)
        self.session = SessionController(self.context)
        self.window = MainWindow(self.context, settings, self.session)
        self.session.setParent(self.window)  # dialogs open over the window
        self.session.locked.connect(self._on_locked)
        # the window owns the Qt side of the station, so all of it is destroyed in the GUI
        # thread with the window: a Python-owned QObject with a timer, freed by the garbage
        # collector in a device or worker thread, corrupts Qt's timer list (seen as a segfault
        # in a later test)
        self.bridge.setParent(self.window)
        self.context.setParent(self.window)
        self.window.closing.connect(self.stop)
        self._stopped = False

    def _on_locked(self, _reason: str) -> None:
        """A locked session hides what it could operate: the faceplates close."""
        self.window.close_faceplates()

    def _on_bridge_error(self, text: str) -> None:
        """A widget failed on its values: the operator sees it; the others keep updating."""
        self.context.notify(f"display error: {text}", "error")

    def start(self) -> None:
        """Start devices and services (StartError if a service cannot start; then nothing
        keeps running and the window is closed)."""
        try:
            self.runtime.start()
        except Exception:
            self._stopped = True
            self.session.shutdown()
            self.bridge.detach()
            self.window.closing.disconnect(self.stop)
            self.window.close()
            self.context.shutdown()
            raise

    def stop(self) -> None:
        """Idempotent; called when the window closes (and by `close()`)."""
        if self._stopped:
            return
        self._stopped = True
        self.window.close_faceplates()
        self.session.shutdown()
        self.bridge.detach()
        self.runtime.stop()
        self.context.shutdown()
        log.info("station stopped")

    def close(self) -> None:
        """Close the window (which stops the station) and destroy it now, in this (the GUI)
        thread, with the bridge and context it owns."""
        if not shiboken6.isValid(self.window):
            return
        if self.window.isVisible():
            self.window.close()
        self.stop()
        shiboken6.delete(self.window)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def __enter__(self) -> Station:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
