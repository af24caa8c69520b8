"""What every screen and dialog gets from the station: one object instead of a dozen arguments.

Why a QObject hub: screens must not know each other or the main window. A screen that wants a
faceplate, another screen, a trend or a notification emits a request here; the main window
decides how to show it. The current user lives here too (`actor`, `actor_changed`), so every
control can re-check what it may do when someone logs in, switches or locks.

`meta` holds what widgets look up per tag (units, decimals, range, alarm limits, configured
alarms) and the generated displays (`meta.plant`); `alarms` is the GUI's copy of the standing
alarms (`hmi.gui.alarm_table.AlarmTable`) that banner, counts and value widgets share;
`historian()` gives the historian to query in `submit()` jobs.

`submit()` runs blocking work (a journal query, a historian read, an export, a write awaiting
its read-back) in a worker thread and hands the result back in the GUI thread: one queued call
per job, never per value. An exception in the job reaches `error_slot` or, by default, the
notification area (napari's `_NotifyingMixin`): nothing fails silently.

GUI thread only, except what `submit()`'s jobs do in their worker.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

from hmi.commands import Actor, Commands
from hmi.displays import ProjectMeta
from hmi.gui.alarm_table import AlarmTable
from hmi.gui.bridge import TagBridge

log = logging.getLogger(__name__)

ResultSlot = Callable[[Any], None]
# what a control does, for "log in to ..." when nobody is logged in
VERBS = {"write": "write", "ack": "acknowledge", "shelve": "shelve", "unshelve": "unshelve",
         "reset": "reset", "comment": "comment", "oos": "take alarms out of service",
         "in_service": "return alarms to service", "context": "change the production context",
         "users": "manage users", "audit": "read the audit trail"}
ErrorSlot = Callable[[BaseException], None]


class StationContext(QObject):
    """The station as screens see it: runtime, bridge, command layer, user, and requests."""

    actor_changed = Signal(object)  # Actor | None
    notification = Signal(str, str)  # level ("info" | "warning" | "error"), text
    faceplate_requested = Signal(str)  # tag name
    screen_requested = Signal(str, str)  # screen name, asset path ("" = default)
    trend_requested = Signal(list, float, float)  # tags, from (epoch s), to (epoch s)
    _job_done = Signal(object, object, object)  # future, result slot, error slot (queued)

    def __init__(self, runtime: Any, bridge: TagBridge, commands: Commands | None = None,
                 parent: QObject | None = None, workers: int = 4) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.bridge = bridge
        self.commands = commands if commands is not None else Commands(runtime)
        self._actor: Actor | None = None
        # per-tag metadata and the generated displays (built once), and the GUI's copy of the
        # standing alarms that banner, counts and indicators share
        self.meta = ProjectMeta(runtime.project)
        self.alarms = AlarmTable(bridge, self)
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="gui-job")
        self._job_done.connect(self._on_job_done)

    # ---- the user -------------------------------------------------------------------------------
    @property
    def actor(self) -> Actor | None:
        return self._actor

    def set_actor(self, actor: Actor | None) -> None:
        if actor != self._actor:
            self._actor = actor
            self.actor_changed.emit(actor)

    def recheck(self) -> None:
        """Emit `actor_changed` for the same actor: its session was locked or unlocked, so
        what it may do changed although the actor did not (`hmi.gui.session`)."""
        self.actor_changed.emit(self._actor)

    def why_not(self, action: str, target: str = "") -> str | None:
        """None if the current user may do `action` (on `target`), else the reason to show
        ("nobody is logged in: log in to acknowledge", "the session is locked ...")."""
        why = self.commands.check(self._actor, action, target)
        if why is not None and self._actor is None and why.startswith("nobody"):
            return f"{why}: log in to {VERBS.get(action, action)}"
        return why

    def historian(self) -> Any | None:
        """The runtime's historian (query methods callable from any thread), or None when the
        project records no history. Query it in `submit()` jobs, never in the GUI thread."""
        for service in getattr(self.runtime, "services", ()):
            historian = getattr(service, "historian", None)
            if historian is not None:
                return historian
        return None

    # ---- requests to the main window ------------------------------------------------------------
    def notify(self, text: str, level: str = "info") -> None:
        log.log(logging.ERROR if level == "error" else logging.INFO, "%s", text)
        self.notification.emit(level, text)

    def open_faceplate(self, tag: str) -> None:
        self.faceplate_requested.emit(tag)

    def show_screen(self, screen: str, asset: str = "") -> None:
        self.screen_requested.emit(screen, asset)

    def show_trend(self, tags: list[str], start_s: float, end_s: float) -> None:
        self.trend_requested.emit(list(tags), float(start_s), float(end_s))

    # ---- work off the GUI thread ----------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, slot: ResultSlot | None = None,
               error_slot: ErrorSlot | None = None) -> concurrent.futures.Future[Any]:
        """Run `fn(*args)` in a worker; then `slot(result)` or `error_slot(exc)` in the GUI
        thread (bound methods of live QObjects; a deleted receiver is skipped)."""
        future = self._pool.submit(fn, *args)
        self.when_done(future, slot, error_slot)
        return future

    def when_done(self, future: concurrent.futures.Future[Any], slot: ResultSlot | None = None,
                  error_slot: ErrorSlot | None = None) -> None:
        """Deliver an existing future's outcome (e.g. `commands.write(...)`) in the GUI thread."""
        future.add_done_callback(lambda f: self._job_done.emit(f, slot, error_slot))

    def _on_job_done(self, future: concurrent.futures.Future[Any], slot: ResultSlot | None,
                     error_slot: ErrorSlot | None) -> None:
        try:
            result = future.result()
        except Exception as exc:  # worker boundary: the job's failure is shown, not lost
            if error_slot is not None and _alive(error_slot):
                error_slot(exc)
            else:
                log.exception("background job failed", exc_info=exc)
                self.notify(f"{type(exc).__name__}: {exc}", "error")
            return
        if slot is not None and _alive(slot):
            slot(result)

    def shutdown(self) -> None:
        """Finish running jobs, drop queued ones (window closing)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _alive(slot: Callable[..., Any]) -> bool:
    owner = getattr(slot, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)
