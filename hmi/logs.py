"""Log files and crash reports where the platform keeps them, for the station's long runs.

Why files at all: a station runs for weeks, often as a service with nobody reading its
console. `hmi run`, `hmi demo`, `hmi gui` and `hmi sim` log to a rotating file (5 x 5 MB) in the
log directory, and any exception that would end the program (or a thread) leaves a crash
report there with the versions of everything, so a plant can mail us one file.

Where: `HMI_LOG_DIR`, else `<data dir>/logs` when the data directory was chosen (`--data`,
`HMI_DATA_DIR`: a service or a test keeps everything together), else the platform's user log
directory (platformdirs: `~/.local/state/hmi-station/log` on Linux, `%LOCALAPPDATA%\\hmi-station
\\Logs` on Windows).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import logging.handlers
import os
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

import platformdirs

LOG_NAME = "hmi.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def log_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """The log directory (created): see the module docstring for the order."""
    if os.environ.get("HMI_LOG_DIR"):
        path = Path(os.environ["HMI_LOG_DIR"])
    elif data or os.environ.get("HMI_DATA_DIR"):
        path = Path(data or os.environ["HMI_DATA_DIR"]) / "logs"
    else:
        path = Path(platformdirs.user_log_dir("hmi-station", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


class LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file, quiet when it cannot be written. Why: the log directory is often
    on the data disk, and when that disk is full the standard handler prints "--- Logging
    error ---" and a traceback on stderr for every message (issue 11: 24 of them in a short
    run, burying the one line that mattered). Here the first failed write is said once on
    stderr with the reason; later messages are retried quietly, each on a freshly opened file
    (a remounted or recreated directory works again too), and the first one written again is
    said once on stderr and in the file, with how many were not written. An error that is not
    I/O (a bad format string in a log call) keeps the standard report. Thread-safe as any
    handler: `emit` runs under the handler's lock."""

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = MAX_BYTES,
                 backups: int = BACKUPS) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self.failure = ""  # why writing fails, "" while it works
        self.missed = 0  # messages not written since it failed
        self._failed_now = False

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)
        if self.failure and not self._failed_now:
            missed, reason = self.missed, self.failure
            self.failure, self.missed = "", 0
            _say(f"hmi: the log file {self.baseFilename} is written again; {missed} "
                 f"message(s) were not written to it ({reason})")
            super().emit(logging.makeLogRecord({
                "name": __name__, "levelno": logging.WARNING, "levelname": "WARNING",
                "msg": "log file: %d message(s) before the previous one were not written (%s)",
                "args": (missed, reason)}))

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        self._failed_now = True
        self.missed += 1
        if not self.failure:
            self.failure = str(exc) or type(exc).__name__
            _say(f"hmi: cannot write the log file {self.baseFilename} ({self.failure}); "
                 "retried quietly with each message, the console still gets them")
        stream, self.stream = self.stream, None  # reopened by the next message
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):  # its buffer cannot be flushed
                stream.close()


def _say(line: str) -> None:
    """A line on stderr, outside logging (the log is what fails)."""
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


def enable_file_log(directory: Path, level: int = logging.INFO) -> Path:
    """Add a rotating file handler to the root logger (once per directory); returns the file."""
    path = directory / LOG_NAME
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and \
                Path(handler.baseFilename) == path:
            return path
    handler = LogFile(path)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        # the console stays at its own level (its handler filters); the file gets INFO
        for console in root.handlers:
            if console is not handler and console.level == logging.NOTSET:
                console.setLevel(root.level or logging.WARNING)
        root.setLevel(level)
    return path


def write_crash_report(directory: Path, exc_type: type[BaseException], exc: BaseException,
                       tb: TracebackType | None, where: str = "main thread") -> Path:
    """One file per crash: time, where, versions, the traceback."""
    from hmi.versions import version_text

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = directory / f"crash-{stamp}-{os.getpid()}.txt"
    text = (f"hmi-station crash report, {dt.datetime.now().astimezone().isoformat()}\n"
            f"where: {where}\ncommand: {' '.join(sys.argv)}\n\n{version_text()}\n\n"
            + "".join(traceback.format_exception(exc_type, exc, tb)))
    path.write_text(text, encoding="utf-8")
    return path


def install_crash_reports(directory: Path) -> None:
    """Route uncaught exceptions (main thread and other threads) to a crash report, then to
    the previous hook (which prints the traceback as before)."""
    previous = sys.excepthook
    previous_thread = threading.excepthook

    def report(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
               where: str) -> None:
        try:
            path = write_crash_report(directory, exc_type, exc, tb, where)
        except OSError as error:  # a full disk: the traceback below is all there is
            logging.getLogger(__name__).critical("crash report not written (%s)", error)
            return
        logging.getLogger(__name__).critical("crash report written to %s", path)

    def hook(exc_type: type[BaseException], exc: BaseException,
             tb: TracebackType | None) -> None:
        if not issubclass(exc_type, KeyboardInterrupt):
            report(exc_type, exc, tb, "main thread")
        previous(exc_type, exc, tb)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            report(args.exc_type, args.exc_value, args.exc_traceback,
                   f"thread {args.thread.name if args.thread else '?'}")
        previous_thread(args)

    sys.excepthook = hook
    threading.excepthook = thread_hook
