"""The core's per-tag ring buffer that live trends read, so a live pen drops no point.

Why it exists: the GUI bridge keeps only the *latest* sample per tag per flush (that is what
keeps qasync alive at plant rates), so a tag polled at 100 ms would lose 9 of 10 points on a
live trend; and the historian stores through a deadband and commits behind a queue, so it lags
and thins. This buffer listens to the tag table (`TagStore.subscribe`, dispatch thread) and keeps
every numeric sample of the tags someone trends, in a fixed-size numpy ring per tag
(`capacity` points: at 10 samples/s, 8,192 points are 13 min, more than a mini trend's 10).
A trend reads it on its redraw tick and gets every point since its last read.

Small on purpose: only tracked tags are kept (`track`/`untrack` are reference counted), 16 bytes
a point. BAD samples are stored as NaN, so a live line breaks where the history will too.

`on_batch` runs in the dispatch thread and must be quick (a lock, a few array writes); `since`
from any thread (the GUI thread, on the bridge's tick). Times are epoch seconds.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from hmi.tags import Quality, Sample

DEFAULT_CAPACITY = 8192
NAN = float("nan")


class _Ring:
    __slots__ = ("count", "head", "t", "v")

    def __init__(self, capacity: int) -> None:
        self.t = np.empty(capacity, dtype=np.float64)
        self.v = np.empty(capacity, dtype=np.float64)
        self.head = 0  # next write position
        self.count = 0

    def append(self, ts: float, value: float) -> None:
        i = self.head
        self.t[i] = ts
        self.v[i] = value
        self.head = (i + 1) % len(self.t)
        self.count = min(self.count + 1, len(self.t))

    def ordered(self) -> tuple[np.ndarray, np.ndarray]:
        n, cap = self.count, len(self.t)
        if n < cap:
            return self.t[:n].copy(), self.v[:n].copy()
        order = np.r_[self.head:cap, 0:self.head]
        return self.t[order], self.v[order]


def numeric(sample: Sample) -> float:
    """The plotted value of a sample: NaN when BAD or not a number (a gap on the line)."""
    if sample.quality is Quality.BAD:
        return NAN
    value: Any = sample.value
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else NAN
    return NAN


class TrendBuffer:
    """Every sample of the tracked tags, newest `capacity` per tag."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._rings: dict[str, _Ring] = {}
        self._refs: dict[str, int] = {}
        self._unsubscribe: Callable[[], None] | None = None

    # ---- wiring ---------------------------------------------------------------------------------
    def attach(self, tags: Any) -> None:
        """Listen to a `TagStore` (`runtime.tags`). Idempotent."""
        if self._unsubscribe is None:
            self._unsubscribe = tags.subscribe(self.on_batch)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def track(self, tags: Iterable[str]) -> None:
        """Start keeping these tags (one more reader each). Any thread."""
        with self._lock:
            for tag in tags:
                self._refs[tag] = self._refs.get(tag, 0) + 1
                if tag not in self._rings:
                    self._rings[tag] = _Ring(self.capacity)

    def untrack(self, tags: Iterable[str]) -> None:
        """One reader less; a tag nobody trends is dropped with its memory. Any thread."""
        with self._lock:
            for tag in tags:
                left = self._refs.get(tag, 0) - 1
                if left > 0:
                    self._refs[tag] = left
                else:
                    self._refs.pop(tag, None)
                    self._rings.pop(tag, None)

    def tracked(self) -> list[str]:
        with self._lock:
            return list(self._rings)

    # ---- data -----------------------------------------------------------------------------------
    def on_batch(self, batch: list[Sample]) -> None:
        """Tag-store listener (dispatch thread): append the tracked tags' samples."""
        with self._lock:
            rings = self._rings
            if not rings:
                return
            for sample in batch:
                ring = rings.get(sample.tag)
                if ring is not None:
                    ring.append(sample.ts, numeric(sample))

    def since(self, tag: str, after: float = -math.inf) -> tuple[np.ndarray, np.ndarray]:
        """(t, v) of the samples with ts > `after`, oldest first (copies). Any thread."""
        with self._lock:
            ring = self._rings.get(tag)
            if ring is None or ring.count == 0:
                return np.empty(0), np.empty(0)
            t, v = ring.ordered()
        keep = t > after
        return t[keep], v[keep]

    def first_ts(self, tag: str) -> float | None:
        """The oldest time still held for `tag` (history answers for anything before)."""
        with self._lock:
            ring = self._rings.get(tag)
            if ring is None or ring.count == 0:
                return None
            return float(ring.t[0] if ring.count < len(ring.t) else ring.t[ring.head])

    def nbytes(self) -> int:
        with self._lock:
            return sum(r.t.nbytes + r.v.nbytes for r in self._rings.values())


_shared: weakref.WeakKeyDictionary[Any, TrendBuffer] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def shared_buffer(runtime: Any) -> TrendBuffer:
    """The one buffer of a runtime, attached to its tag table on first use, so every trend of
    a station (screen, faceplates) shares the same rings. Any thread."""
    with _shared_lock:
        buffer = _shared.get(runtime)
        if buffer is None:
            buffer = _shared[runtime] = TrendBuffer()
            buffer.attach(runtime.tags)
        return buffer
