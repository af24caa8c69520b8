"""One station per data directory.

Why: two stations on one data directory (a second `hmi run`, a `hmi screenshot` or a demo
started without `--data` beside a running station) both write the history, the alarm journal
and the MES outbox: the outbox's `seq` collides ("UNIQUE constraint failed"), the journal gets
each transition twice, and a false "outbox cannot be written" alarm follows. The station takes
an exclusive OS lock on `<data>/station.lock` while it runs. The OS drops the lock when the
process ends, `kill -9` included, so a crash never leaves a stale lock behind. Read-only tools
(`hmi tags`, `hmi history`, `hmi alarms journal`) and the direct `hmi write` take no lock.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO

LOCK_NAME = "station.lock"


class DataDirInUse(Exception):
    """Another station runs on this data directory; the message names it, in one line."""


class StationLock:
    """The exclusive lock on a data directory, held from `acquire()` to `release()`."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self, project: str = "") -> None:
        """Take the lock or raise `DataDirInUse` naming the holder (pid, host, project, since)."""
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held while running)
        try:
            _lock(handle)
        except OSError:
            try:
                handle.seek(0)
                holder = _describe(handle.read())
            except OSError:  # Windows: the holder's locked byte cannot be read
                holder = "unknown process"
            handle.close()
            raise DataDirInUse(
                f"data directory {self.path.parent} is in use by another station ({holder}): "
                "one station per data directory; give this one its own with --data DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "project": project, "since": time.time()}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is None:
            return
        try:
            handle.seek(0)
            handle.truncate()
            _unlock(handle)
        except OSError:
            pass  # the lock goes with the file handle anyway
        finally:
            handle.close()


def _describe(text: str) -> str:
    try:
        info = json.loads(text)
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["since"])))
        project = f", project {info['project']}" if info.get("project") else ""
        return f"pid {info['pid']} on {info['host']}{project}, since {since}"
    except (ValueError, KeyError, TypeError):
        return "unknown process"


if sys.platform == "win32":  # pragma: no cover - exercised on Windows builds only
    import msvcrt

    def _lock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
