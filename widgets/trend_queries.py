"""Background queries of one trend, coalesced per key (a pen, the alarm marks, the cursors).

Why coalesce instead of cancel: while an operator pans, view changes arrive faster than a
30-day query answers. Dropping every answer that is no longer current would show nothing until
the hand stops; queueing every request would answer views long gone. So each key has at most
one query in flight and remembers only the newest wish: when the answer comes it is shown (it is
newer than what is on screen) and the newest wish, if any, goes out next.

Jobs run through `StationContext.submit` (a worker thread); answers come back in the GUI thread.
An exception in a job comes back as the answer's error, so the key is freed and the failure is
shown, never lost. GUI thread only, except `_run`, which runs in the worker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

Answer = Callable[[str, tuple, Any, BaseException | None], None]


def _run(key: str, args: tuple, fn: Callable[..., Any]) -> tuple[str, tuple, Any, Any]:
    """Worker thread: run one query and hand back its answer or its error."""
    try:
        return key, args, fn(*args), None
    except Exception as exc:  # noqa: BLE001 - worker boundary: the error travels back to the
        # GUI thread with its key, which frees the key and shows the failure
        return key, args, None, exc


class QueryQueue(QObject):
    """Per-key: one query in flight, the newest wish waiting. See the module docstring."""

    idle = Signal()  # nothing in flight or waiting: everything asked has been answered

    def __init__(self, context: Any, answer: Answer, parent: QObject,
                 log_size: int = 500) -> None:
        super().__init__(parent)  # dies with its owner: a late answer is then dropped
        self._context = context
        self._answer = answer
        self._in_flight: dict[str, tuple] = {}
        self._wanted: dict[str, tuple[Callable[..., Any], tuple]] = {}
        self.log: deque[tuple[str, tuple]] = deque(maxlen=log_size)  # (key, args) as sent
        self.sent = 0

    def ask(self, key: str, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` for `key` soon; an identical query already in flight is enough."""
        if self._in_flight.get(key) == args:
            self._wanted.pop(key, None)
            return
        self._wanted[key] = (fn, args)
        if key not in self._in_flight:
            self._launch(key)

    def forget(self, key: str) -> None:
        """Drop a waiting wish (its pen was removed); an answer in flight is ignored by the
        owner, who no longer has the key."""
        self._wanted.pop(key, None)

    def busy(self) -> bool:
        return bool(self._in_flight or self._wanted)

    def last(self, key: str) -> tuple | None:
        """The arguments of the newest query sent for `key`."""
        for k, args in reversed(self.log):
            if k == key:
                return args
        return None

    def _launch(self, key: str) -> None:
        fn, args = self._wanted.pop(key)
        self._in_flight[key] = args
        self.log.append((key, args))
        self.sent += 1
        self._context.submit(_run, key, args, fn, slot=self._on_done)

    def _on_done(self, result: tuple[str, tuple, Any, BaseException | None]) -> None:
        key, args, value, error = result
        self._in_flight.pop(key, None)
        self._answer(key, args, value, error)
        if key in self._wanted:
            self._launch(key)
        elif not self.busy():
            self.idle.emit()


class Relay(QObject):
    """One argument-less signal out of several richer ones, for a `SignalProxy` to pace."""

    fired = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)

    def fire(self, *_args: Any) -> None:
        self.fired.emit()


def paced(signal: Any, rate_hz: float, delay_s: float, slot: Callable[[tuple], None],
          parent: QObject) -> pg.SignalProxy:
    """pyqtgraph's `SignalProxy` (the latest arguments, at most `rate_hz` a second while they
    stream, once more `delay_s` after they stop), owned by `parent`.

    Why owned: a proxy and its timer with no Qt parent are deleted whenever Python's cycle
    collector gets to them, and that can be in a worker thread; a QTimer destroyed outside
    its thread stays registered and the next timer pass crashed the GUI thread (seen as a
    segfault in `QTimerInfoList::activateTimers` in the test suite). Parented, both die with
    their widget, in the GUI thread. Single-threaded timer: every signal paced here is
    emitted in the GUI thread."""
    proxy = pg.SignalProxy(signal, delay=delay_s, rateLimit=rate_hz, slot=slot,
                           threadSafe=False)
    proxy.setParent(parent)
    proxy.timer.setParent(proxy)
    return proxy
