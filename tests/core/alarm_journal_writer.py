"""Helper process for the kill -9 test: journals rows in small committed batches forever and
prints the running total after each commit, so the parent knows what must survive."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from alarms.journal import Journal, JournalEntry


def main() -> None:
    journal = Journal(Path(sys.argv[1]))
    total = 0
    while True:
        for _ in range(5):
            journal.append(JournalEntry(time.time(), "Tank.Level.HI", "Tank.Level", "Plant",
                                        "high", 700, "raise", "B", 95.0, 90.0, "", ""))
        journal.save_state("Tank.Level.HI", {"active": True, "n": total}, time.time())
        total += journal.flush()
        sys.stdout.write(f"{total}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
