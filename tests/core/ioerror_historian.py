"""Helper for the I/O error test of issue 11: a real `Historian` whose process may not write a
byte to any regular file for a while (`RLIMIT_FSIZE` = 0: every write fails with EFBIG, which
SQLite reports as SQLITE_IOERR_WRITE, "disk I/O error"), then may again. A subprocess, because
the limit is per process and the test runner writes files of its own.

Prints one JSON line per phase on stdout; the historian logs to stderr.

Usage: python -m tests.core.ioerror_historian DB_PATH
"""

from __future__ import annotations

import json
import logging
import resource
import signal
import sys
from pathlib import Path

from hmi.historian.service import Historian
from hmi.tags import Sample
from tests.conftest import wait_until

T0 = 1_800_000_000.0


def _say(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _fill(historian: Historian, start: int, count: int) -> None:
    for i in range(start, start + count):
        historian.submit([Sample(tag, float(i), T0 + i * 0.1) for tag in ("a", "b")])


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    historian = Historian(Path(sys.argv[1]), tags=["a", "b"], maintenance_s=3600,
                          retry_start_s=0.05, retry_max_s=0.2)
    historian.start()
    try:
        _fill(historian, 0, 10)
        if not historian.flush(10):
            raise SystemExit("flush timed out")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
        _fill(historian, 10, 300)
        wait_until(lambda: historian.diagnostics()["pending_batches"] == 0
                   and historian.diagnostics()["buffered_rows"] > 0, 20)
        d = historian.diagnostics()
        _say(phase="failing", state=d["state"], error=d["write_error"],
             held=d["buffered_rows"], flushed=historian.flush(0.3))
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        flushed = historian.flush(10)
        d = historian.diagnostics()
        _say(phase="resumed", flushed=flushed, state=d["state"], error=d["write_error"],
             held=d["buffered_rows"], dropped=d["dropped_rows"],
             a=[s.value for s in historian.raw("a", T0 - 1, T0 + 1000)],
             b=[s.value for s in historian.raw("b", T0 - 1, T0 + 1000)])
    finally:
        historian.stop()


if __name__ == "__main__":
    main()
