"""Rows held in memory while their database refuses writes, under one shared memory budget.

Why: a full disk, an I/O error or another program holding the database lock must not lose
what the station recorded (issue 11: 40 s of a full disk lost every batch and printed 467
tracebacks). The historian writer and the alarm journal each keep a `RowBuffer` of what they
could not write and retry with backoff; both buffers draw on one `WriteBudget` (`[station]
buffer_rows`, `buffer_mb`). The rule that keeps the alarm journal's record safest: history rows
are shed first, whenever the two buffers together exceed the budget; journal rows only when the
journal alone exceeds the whole budget (by then the history buffer is empty). What is shed is
counted by its owner, logged once and recorded as a gap.

Sizes are estimates per row (`HISTORY_ROW_BYTES`, `JOURNAL_ROW_BYTES`), rounded up from
`tracemalloc` on typical rows (a history row, a 6-tuple with a float and two ints: 160 B; a
journal row, a 12-tuple whose names and area are shared with the alarm definition: 192 B, more
with comments); `sys.getsizeof` per row would cost more than the row. A kill -9 loses what is
in these buffers, at most the budget: see `docs/notes/issue-11.md`.

Threads: a `RowBuffer` belongs to its owner's thread (the historian writer, the alarm thread);
other threads only read the `Usage` counters (plain ints, so a read is atomic), e.g. the station
monitor for `$station.*.buffered_rows`.
"""

from __future__ import annotations

import sqlite3
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

HISTORY_ROW_BYTES = 180
JOURNAL_ROW_BYTES = 400
MB = 1_000_000


def is_disk_trouble(exc: BaseException) -> bool:
    """A database error worth holding rows and retrying for (full, I/O, locked, read-only,
    ...), not a bug in the rows (constraint, binding), which would fail the same way forever."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError)


class Usage:
    """What one buffer holds now, and what it has dropped since the start. Written by the owner
    thread, read by anyone. `bytes` is the estimate for `rows` rows of `row_bytes` each."""

    __slots__ = ("dropped", "row_bytes", "rows")

    def __init__(self, row_bytes: int) -> None:
        self.row_bytes = row_bytes
        self.rows = 0
        self.dropped = 0

    @property
    def bytes(self) -> int:
        return self.rows * self.row_bytes


class WriteBudget:
    """The memory the buffers may use together. See the module docstring for the shedding rule."""

    def __init__(self, max_rows: int = 1_000_000, max_mb: float = 200.0) -> None:
        self.max_rows = int(max_rows)
        self.max_bytes = int(max_mb * MB)
        self.history = Usage(HISTORY_ROW_BYTES)
        self.journal = Usage(JOURNAL_ROW_BYTES)

    def history_room(self) -> tuple[int, int]:
        """(rows, bytes) the history buffer may hold now: the budget minus the journal's use."""
        return (max(0, self.max_rows - self.journal.rows),
                max(0, self.max_bytes - self.journal.bytes))

    def journal_room(self) -> tuple[int, int]:
        """(rows, bytes) the journal buffer may hold: all of it (history goes first)."""
        return self.max_rows, self.max_bytes


class RowBuffer:
    """Rows waiting for the disk, oldest first, in the order they were produced. Owner thread
    only (see the module docstring). `peek`/`pop` let the owner write a head chunk and remove it
    only once its transaction committed."""

    def __init__(self, usage: Usage) -> None:
        self.usage = usage
        self._chunks: deque[tuple[float, list[Any]]] = deque()  # (monotonic time added, rows)

    def __len__(self) -> int:
        return self.usage.rows

    @property
    def oldest_mono(self) -> float | None:
        """When the oldest row still waiting was added (time.monotonic), or None."""
        return self._chunks[0][0] if self._chunks else None

    def add(self, rows: Sequence[Any], now_mono: float | None = None) -> None:
        if rows:
            self._chunks.append((time.monotonic() if now_mono is None else now_mono, list(rows)))
            self.usage.rows += len(rows)

    def peek(self, limit: int) -> list[Any]:
        """Up to `limit` of the oldest rows, not removed."""
        out: list[Any] = []
        for _, rows in self._chunks:
            out += rows[:limit - len(out)]
            if len(out) >= limit:
                break
        return out

    def pop(self, count: int) -> None:
        """Remove the `count` oldest rows (after they were written)."""
        self._remove(count)

    def trim(self, max_rows: int, max_bytes: int) -> list[Any]:
        """Drop the oldest rows until the buffer fits; returns the rows dropped (counted)."""
        excess = max(self.usage.rows - max_rows,
                     -(-(self.usage.bytes - max_bytes) // self.usage.row_bytes), 0)
        if not excess:
            return []
        dropped = self.peek(excess)
        self._remove(len(dropped))
        self.usage.dropped += len(dropped)
        return dropped

    def _remove(self, count: int) -> None:
        left = count
        while left > 0 and self._chunks:
            added, rows = self._chunks[0]
            if len(rows) <= left:
                self._chunks.popleft()
                left -= len(rows)
            else:
                self._chunks[0] = (added, rows[left:])
                left = 0
        removed = count - left
        self.usage.rows -= removed
