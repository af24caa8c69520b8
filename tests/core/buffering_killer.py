"""Helper for the kill -9 test of issue 11: commits some batches through a real `Historian`,
then caps the database (a full disk) and keeps submitting, printing what is committed and what
is held in memory, until the test SIGKILLs it.

Usage: python -m tests.core.buffering_killer DB_PATH
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hmi.historian.service import Historian
from hmi.tags import Sample


def main() -> None:
    historian = Historian(Path(sys.argv[1]), tags=["k"], maintenance_s=3600,
                          retry_start_s=0.05, retry_max_s=0.1)
    historian.start()
    t0 = time.time() - 3600
    for n in range(20):
        historian.submit([Sample("k", float(n), t0 + n)])
        if not historian.flush(30):
            raise SystemExit("flush timed out")
        sys.stdout.write(f"committed {n + 1}\n")
        sys.stdout.flush()
    writer = historian.writer
    assert writer is not None

    def cap() -> None:
        pages = writer._conn.execute("PRAGMA page_count").fetchone()[0]
        writer._conn.execute(f"PRAGMA max_page_count={pages}")

    writer.call(cap)
    n = 20
    while True:
        historian.submit([Sample("k", float(n), t0 + n)])
        n += 1
        time.sleep(0.001)
        sys.stdout.write(f"held {historian.budget.history.rows}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
