"""Carries the MES service's changes into Qt: one timer, coalesced, at most 10 Hz.

Why a second bridge and not one queued call per change: `MesService.add_listener` calls back in
`hmi-mes` after every cycle that changed something (every 0.25 s while a line counts, more
often when the sender acknowledges batches); a queued Qt call per callback would pile up when
the GUI thread is busy, and each would copy the snapshot. Here the listener only merges the
changed topics into a set under a lock (no Qt call, so it is safe even while the window is
being destroyed); the GUI thread's timer takes the set and, if anything changed, reads one
`snapshot()` and emits `changed` once (napari's `StatusChecker`: a dirty flag, pulled).

One `MesBridge` per station, found with `MesBridge.of(context)` (created on first use as a
child of the context, so the header, the production panel and the L1/L2 OEE figures share it).
Without production tracking in the project, `service` is None and nothing is ever emitted.
GUI thread only, except `_on_change` (any thread).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

HZ = 10.0


class _Pending:
    """The plain-Python half the MES thread touches: topics changed since the last drain."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.topics: set[str] = set()

    def add(self, changed: frozenset[str]) -> None:  # hmi-mes thread
        with self.lock:
            self.topics |= changed

    def take(self) -> set[str]:  # GUI thread
        with self.lock:
            topics, self.topics = self.topics, set()
        return topics


class MesBridge(QObject):
    """`changed(snapshot, topics)`: the service's `snapshot()` after a change, and which topics
    changed ("context", "state", "downtime", "counts", "outbox", "oee"). `snapshot` is the
    latest copy (empty until the first change or `refresh()`)."""

    changed = Signal(object, object)  # dict snapshot, frozenset[str] topics

    def __init__(self, service: Any | None, parent: QObject | None = None,
                 hz: float = HZ) -> None:
        super().__init__(parent)
        self.service = service
        self.snapshot: dict[str, Any] = {}
        self.emits = 0  # how many times `changed` was emitted (tests, diagnostics)
        self._pending = _Pending()
        self._unsubscribe: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(round(1000 / hz))
        self._timer.timeout.connect(self._drain)
        if service is not None:
            self._unsubscribe = service.add_listener(self._pending.add)
            self.snapshot = service.snapshot()
            self._timer.start()
        self.destroyed.connect(_unsubscriber(self._unsubscribe))

    @classmethod
    def of(cls, context: Any) -> MesBridge:
        """The station's bridge (made on first use, a child of `context`)."""
        found = context.findChild(cls, "mesBridge")
        if found is None:
            found = cls(context.commands.mes_service(), context)
            found.setObjectName("mesBridge")
        return found

    @property
    def active(self) -> bool:
        """Whether the project tracks production (there is something to show)."""
        return self.service is not None

    def refresh(self) -> None:
        """Emit the current snapshot now (a widget that just appeared; tests)."""
        if self.service is not None:
            self._pending.add(frozenset({"context", "state", "downtime", "outbox", "oee"}))
            self._drain()

    def detach(self) -> None:
        """Stop listening (the station is stopping); idempotent."""
        self._timer.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _drain(self) -> None:
        topics = self._pending.take()
        if not topics or self.service is None:
            return
        self.snapshot = self.service.snapshot()
        self.emits += 1
        self.changed.emit(self.snapshot, frozenset(topics))


def _unsubscriber(unsubscribe: Callable[[], None] | None) -> Callable[..., None]:
    """A destroy hook that holds no reference to the bridge itself."""

    def run(*_args: Any) -> None:
        if unsubscribe is not None:
            unsubscribe()

    return run


def line_for_node(snapshot: dict[str, Any], path: str, title: str = "") -> str | None:
    """The MES line shown on the display node at `path` (its ISA-95 asset, else its name)."""
    lines = snapshot.get("lines") or {}
    for name, line in lines.items():
        if line.get("asset") and line["asset"].strip("/") == path.strip("/"):
            return name
    for name in lines:
        if name in (title, path.rsplit("/", 1)[-1]):
            return name
    return None
