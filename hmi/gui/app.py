"""`hmi gui`: the operator station on a qasync event loop.

Bootstrap: one QApplication, a qasync loop (so coroutines and Qt share the GUI thread), the
theme, the station (runtime in its own threads, bridge, window), one exception hook for Qt slots
and asyncio tasks, and shutdown on window close, Ctrl+C or SIGTERM: the window closes, the
station stops (device threads joined, historian and journal closed), the loop ends.

The exception hook logs the traceback and shows the error in the window's notification line;
the runtime keeps recording (an exception in a screen is a screen's problem, not the plant's).
`CancelledError` is not an error: tasks are cancelled on shutdown (a known qasync trap is to
report them). GUI thread only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QMessageLogContext,
    QObject,
    QSettings,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication

from hmi.gui import theme
from hmi.gui.gc_guard import GuiThreadCollector
from hmi.gui.station import Station
from hmi.paths import data_dir as default_data_dir
from hmi.project import Project, load_project

log = logging.getLogger(__name__)
ORGANIZATION = "hmi-station"
REPORT_ENV = "HMI_GUI_REPORT"  # bench: write startup figures (JSON) to this file

ExcHook = Callable[[type[BaseException], BaseException, types.TracebackType | None], Any]


def _quiet_platform_notes(_kind: QtMsgType, _context: QMessageLogContext, text: str) -> None:
    """The offscreen platform says "This plugin does not support raise()" for every window and
    dialog; that is noise on a console. Everything else Qt says still reaches stderr."""
    if not text.startswith("This plugin does not support"):
        sys.stderr.write(text + "\n")


_collector: GuiThreadCollector | None = None


def application() -> QApplication:
    """The one QApplication (created on first call)."""
    app = QApplication.instance()
    if app is None:
        if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
            qInstallMessageHandler(_quiet_platform_notes)
        app = QApplication([sys.argv[0] if sys.argv else "hmi"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName("station")
    assert isinstance(app, QApplication)
    global _collector
    if _collector is None:  # cyclic garbage with QObjects must die in this thread
        _collector = GuiThreadCollector(parent=app)
        _collector.start()
    return app


def install_exception_hook(context: Any, loop: asyncio.AbstractEventLoop | None = None
                           ) -> ExcHook:
    """Route uncaught exceptions in Qt slots (PySide6 calls `sys.excepthook`) and in asyncio
    tasks to the log and the notification line. Returns the previous `sys.excepthook`."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException,
             tb: types.TracebackType | None) -> None:
        if issubclass(kind, asyncio.CancelledError):
            return
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, exc, tb)
            return
        log.error("unhandled exception in the GUI", exc_info=(kind, exc, tb))
        context.notify(f"{kind.__name__}: {exc}", "error")

    def loop_handler(_loop: asyncio.AbstractEventLoop, info: dict[str, Any]) -> None:
        exc = info.get("exception")
        if isinstance(exc, asyncio.CancelledError):
            return
        if exc is None:
            log.error("asyncio: %s", info.get("message"))
            return
        hook(type(exc), exc, exc.__traceback__)

    sys.excepthook = hook
    if loop is not None:
        loop.set_exception_handler(loop_handler)
    return previous


class FirstPaint(QObject):
    """Notes when the window first painted (the bench's "time to first frame")."""

    def __init__(self, started_wall: float) -> None:
        super().__init__()
        self.started = started_wall
        self.at: float | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.at is None and event.type() == QEvent.Type.Paint:
            self.at = time.time()
        return False


def rss_mb(field: str = "VmRSS") -> float | None:
    """Resident set size of this process in MB (`VmHWM`: the peak); Linux /proc, else None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_gui(project: Project | Path | str, data: str | None = None,
            duration: float | None = None, theme_name: str | None = None,
            login: tuple[str, str] | None = None, notice: str = "") -> int:
    """Run the station with its window until closed, Ctrl+C, SIGTERM or `duration` seconds.
    `project` is a loaded Project (the CLI has validated it: a 10,000-tag file takes over a
    second to parse, so it is parsed once) or a path. Raises ProjectInvalid / StartError for
    the CLI to turn into exit 2 / exit 1 (2 only when `StartError.bad_input`).

    Nobody is logged in at start: the window asks (the first-admin dialog while there are no
    users, else the login dialog; both non-modal, the station annunciates meanwhile).
    `login` (name, password) logs that user in instead (`hmi demo` only: its own data folder,
    its demo accounts); `notice` goes to the notification line."""
    import qasync  # here, not at import: `hmi --help` must not pay for it

    started_wall = float(os.environ.get("HMI_GUI_T0", time.time()))
    if not isinstance(project, Project):
        project = load_project(project)
    app = application()
    settings = QSettings()
    name = theme_name or str(settings.value("theme", "day"))
    theme.apply(app, name if name in theme.THEMES else "day")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    station = Station(project, default_data_dir(data), settings=settings)
    previous_hook = install_exception_hook(station.context, loop)
    first_paint = FirstPaint(started_wall)
    station.window.installEventFilter(first_paint)
    closed = asyncio.Event()
    station.window.closing.connect(closed.set)
    if settings.value("geometry") is None:
        # first start on this workstation: a control-room station fills its screen
        available = app.primaryScreen().availableGeometry()
        station.window.setGeometry(available)
        station.window.showMaximized()
    else:
        station.window.show()
    app.processEvents()  # the first frame now (values show "----"), the plant right after
    try:
        station.start()
    except Exception:
        sys.excepthook = previous_hook
        loop.close()
        raise
    if notice:
        station.context.notify(notice, "warning")
    if login is not None:
        station.session.log_in_as(*login)
    else:
        station.session.prompt()

    def request_close(*_args: object) -> None:
        QTimer.singleShot(0, station.window.close)

    previous_signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous_signals:
        try:
            loop.add_signal_handler(sig, request_close)
        except (NotImplementedError, RuntimeError, ValueError):  # not on this platform/thread
            signal.signal(sig, request_close)
    if duration is not None:
        loop.call_later(max(0.0, duration), request_close)
    report = os.environ.get(REPORT_ENV)
    if report:
        after_s = float(os.environ.get("HMI_GUI_REPORT_AFTER", "3"))
        loop.call_later(after_s, _write_report, Path(report), first_paint, station)
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        station.stop()
        sys.excepthook = previous_hook
        for sig, handler in previous_signals.items():
            signal.signal(sig, handler)
    return 0


def _write_report(path: Path, first_paint: FirstPaint, station: Station) -> None:
    """GUI thread, once: startup figures for `hmi bench --only gui`."""
    figures = {
        "first_paint_s": (first_paint.at - first_paint.started) if first_paint.at else None,
        "rss_mb": rss_mb(),
        "rss_peak_mb": rss_mb("VmHWM"),
        "tags": len(station.runtime.tags.names()),
    }
    path.write_text(json.dumps(figures), encoding="utf-8")
