"""Helper for the kill -9 test: ingests batches through a real `Historian` forever and prints
the number of acknowledged (committed) batches after each one, so the test knows which rows it
may demand after it SIGKILLs this process.

Usage: python -m tests.core.historian_killer DB_PATH BATCH_SIZE
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hmi.historian.service import Historian
from hmi.tags import Sample


def main() -> None:
    path, size = Path(sys.argv[1]), int(sys.argv[2])
    historian = Historian(path, tags=["k"], maintenance_s=0.05)
    historian.start()
    t0 = time.time() - 3600  # an hour ago: rollups and purge steps run while we ingest
    n = 0
    while True:
        base = n * size
        historian.submit([Sample("k", float(base + i), t0 + (base + i) * 0.001)
                          for i in range(size)])
        if not historian.flush(30):
            raise SystemExit("flush timed out")
        n += 1
        sys.stdout.write(f"{n}\n")  # acknowledged: committed before this line is written
        sys.stdout.flush()
        time.sleep(0)


if __name__ == "__main__":
    main()
