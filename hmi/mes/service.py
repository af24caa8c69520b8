"""The MES service: production tracking, the outbox and the sender inside the station.

Constructed by the runtime as `MesService(runtime)` (one of `hmi.runtime.SERVICES`); find it
in `runtime.services`. Without `[mes] enabled` and without `[[lines]]` it does nothing.

Threads. `on_batch` runs in `hmi-dispatch` and only enqueues. `hmi-mes` owns `MesCore` and the
only writing connection to `mes.db`: every 0.25 s it feeds the batches, ticks the lines (shift
and break boundaries, micro-stops, counts), turns new alarm journal rows into events, applies
commands queued by the CLI, and commits once. `hmi-mes-send` delivers the outbox; its row
changes (ack, refuse, quarantine) come back to `hmi-mes` through `call()`.

The Qt-free API the GUI builds on (any thread; nothing blocks for longer than a dictionary
copy): `lines()`, `context(line)`, `snapshot()`, `status()`, `reasons()` read the state as of
the last cycle; `set_context`, `start_work_order`, `complete_work_order`,
`set_downtime_reason`, `oee`, `downtimes` return futures resolved in `hmi-mes` after the change
is committed; `add_listener(fn)` calls `fn(changed)` in `hmi-mes` after each cycle that changed
something (`changed` is a set of "context", "state", "downtime", "counts", "outbox", "oee").
Role checks and the audit trail belong to the command layer (`hmi.commands.Commands`), which
calls these methods.
"""

from __future__ import annotations

import concurrent.futures
import copy
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from hmi.mes import commands
from hmi.mes.core import MesCore
from hmi.mes.oee import OeeResult
from hmi.mes.sender import Sender
from hmi.mes.system_alarms import OUTBOX_TAG, WRITE_TAG
from hmi.tags import Sample
from hmi.writebuffer import is_disk_trouble

log = logging.getLogger(__name__)
T = TypeVar("T")
_STOP = object()
HEARTBEAT_S = 1.0
OEE_EVERY_S = 5.0
STOP_DELIVER_S = 3.0  # at a clean stop, how long the sender may deliver the last events
Listener = Callable[[frozenset[str]], None]


@dataclass(frozen=True)
class MesStatus:
    """The outbox and the link to the MES, as the GUI header and diagnostics show them."""

    enabled: bool
    depth: int = 0  # events waiting
    bytes: int = 0
    oldest_age_s: float | None = None
    last_error: str = ""
    quarantined: int = 0
    delivered: int = 0  # acknowledged by the MES since this station started
    connected: bool = False
    over_limit: bool = False
    limit_bytes: int = 0
    write_error: str = ""
    lost_acks: int = 0
    refusals: int = 0
    max_payload: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _ServiceSink:
    """The sender's row changes, run in `hmi-mes` (see `hmi.mes.sender.OutboxSink`)."""

    def __init__(self, service: MesService) -> None:
        self.service = service

    def ack(self, seqs: list[int]) -> concurrent.futures.Future[Any]:
        def run(core: MesCore) -> int:
            freed = core.outbox.ack(seqs, core.clock())
            core.after_ack(len(seqs), freed)
            return freed

        return self.service.call(run)

    def refuse(self, seq: int, error: str) -> concurrent.futures.Future[Any]:
        def run(core: MesCore) -> bool:
            quarantined = core.outbox.refuse(seq, error, core.clock())
            if quarantined:
                core.recount()
            return quarantined

        return self.service.call(run)

    def quarantine(self, seq: int, reason: str) -> concurrent.futures.Future[Any]:
        def run(core: MesCore) -> None:
            core.outbox.quarantine(seq, reason, core.clock())
            core.recount()

        return self.service.call(run)

    def error(self, text: str) -> None:
        self.service.call(lambda core: core.outbox.set_error(text, core.clock()))


class MesService:
    period_s = 0.25

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        model = runtime.project.model
        self.config = model.mes
        self.active = bool(model.mes.enabled or model.lines)
        self.clock: Callable[[], float] = getattr(runtime, "clock", time.time)
        self.core: MesCore | None = None
        self.sender: Sender | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="hmi-mes", daemon=True)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._snapshot: dict[str, Any] = {"lines": {}, "status": MesStatus(False)}
        self._alarm_inputs: dict[str, bool] = {}
        self._answers: list[tuple[int, str, str]] = []  # CLI commands applied, not yet answered
        self._started = False
        self._closed = False
        self._stopping = False  # stop() has begun
        self._final = False  # the lines were stopped (set in hmi-mes)
        if not self.active:
            return
        self.core = MesCore(runtime.project, runtime.data_dir, self.clock)
        if model.mes.enabled:
            self.sender = Sender(model.mes, self.core.store.path, runtime.data_dir,
                                 _ServiceSink(self), self.clock)
        self._refresh(oee=True)

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._started or self.core is None:
            return
        self._started = True
        self.core.beat(time.time(), os.getpid())
        self.core.commit()  # a full disk at start: the station runs, MES holds and retries
        self._thread.start()
        if self.sender is not None:
            self.sender.start()

    def stop(self) -> None:
        """Record the lines' states as unknown from now and commit; give the sender a bounded
        moment to deliver those last events (a clean stop would otherwise leave the final
        production.count and downtime.ended waiting for the next start); then stop it, close.
        """
        if self._closed or self._stopping:
            return
        self._stopping = True  # samples from now on are not tracked: the line is "stopped"
        if self.sender is not None and self._started:
            try:
                self.call(self._finish).result(5.0)
            except (concurrent.futures.TimeoutError, RuntimeError):
                log.warning("mes: the final commit did not finish in time")
            else:
                self._deliver_before_stop(STOP_DELIVER_S)
        self._closed = True
        if self.sender is not None and self._started:
            self.sender.stop()
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(15.0)
        core = self.core
        if core is None:
            return
        if not self._started:
            core.commit()
        refused = core.write_error
        try:  # a full disk or a lock must not skip the close: one line, the file closed
            core.store.clear_heartbeat()
        except sqlite3.DatabaseError as exc:
            refused = refused or str(exc)
        finally:
            core.close()
        if refused:
            log.error("mes: stopped while mes.db refuses writes (%s): %d event(s) held in "
                      "memory are not written (those made from alarm journal rows are made "
                      "again at the next start)", refused, core.held_events())

    def _finish(self, core: MesCore) -> None:
        """In `hmi-mes`: the station stops; later cycles only commit (no ticks, no samples),
        so no event follows the lines' last `state.changed` to unknown."""
        self._final = True
        core.stop()

    def _deliver_before_stop(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the outbox to empty while the MES answers. Returns at
        once when it is unreachable: nothing is lost, the events go at the next start."""
        sender, core = self.sender, self.core
        assert sender is not None
        assert core is not None
        sender.retry_now()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if core.depth <= 0:
                return True
            if not sender.status.connected and sender.status.last_error:
                break
            time.sleep(0.02)
        log.info("mes: stopping with %d event(s) pending; they are sent at the next start",
                 core.depth)
        return False

    def on_batch(self, batch: list[Sample]) -> None:
        """Dispatch thread: hand the batch over and return."""
        if self.core is not None and self._started and not self._stopping:
            self._queue.put(batch)

    def call(self, fn: Callable[[MesCore], T]) -> concurrent.futures.Future[T]:
        """Run `fn(core)` in `hmi-mes`; the future resolves after that cycle's commit."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self.core is None:
            future.set_exception(RuntimeError("production tracking is not configured "
                                              "([mes] or [[lines]] in the project file)"))
        elif not self._started or self._closed:
            future.set_exception(RuntimeError("the MES service is not running"))
        else:
            self._queue.put((fn, future))
        return future

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued so far is processed and committed."""
        try:
            self.call(lambda core: None).result(timeout_s)
        except (concurrent.futures.TimeoutError, RuntimeError):
            return False
        return True

    # ---- the API for the GUI ------------------------------------------------------------------
    def lines(self) -> list[str]:
        return list(self.core.lines) if self.core else []

    def context(self, line: str | None = None) -> dict[str, Any]:
        """{work_order, product, lot, shift, operator} of a line (default: the first)."""
        lines = self.snapshot()["lines"]
        if not lines:
            return {}
        name = line if line is not None else next(iter(lines))
        return dict(lines[name]["context"]) if name in lines else {}

    def snapshot(self) -> dict[str, Any]:
        """Per line: context, state, since, open downtime, needs_reason, oee (shift, hour,
        work_order, each a dict of OeeResult.to_json()); and the status. A deep copy."""
        with self._lock:
            return copy.deepcopy(self._snapshot)

    def status(self) -> MesStatus:
        with self._lock:
            return self._snapshot["status"]

    def reasons(self) -> list[dict[str, Any]]:
        return self.core.reasons.to_json() if self.core else []

    def set_context(self, line: str | None = None, *, work_order: str | None = None,
                    product: str | None = None, lot: str | None = None,
                    operator: str | None = None, user: str = ""
                    ) -> concurrent.futures.Future[str]:
        args = {"line": line, "work_order": work_order, "product": product, "lot": lot,
                "operator": operator}
        return self.call(lambda core: commands.apply(core, "set_context", args, user))

    def start_work_order(self, work_order: str, product: str | None = None,
                         lot: str | None = None, line: str | None = None, user: str = ""
                         ) -> concurrent.futures.Future[str]:
        args = {"line": line, "work_order": work_order, "product": product, "lot": lot}
        return self.call(lambda core: commands.apply(core, "start_work_order", args, user))

    def complete_work_order(self, line: str | None = None, user: str = ""
                            ) -> concurrent.futures.Future[str]:
        return self.call(lambda core: commands.apply(core, "complete_work_order",
                                                     {"line": line}, user))

    def set_downtime_reason(self, downtime: str, code: str, user: str = "", comment: str = ""
                            ) -> concurrent.futures.Future[str]:
        args = {"downtime": downtime, "code": code, "comment": comment}
        return self.call(lambda core: commands.apply(core, "downtime_reason", args, user))

    def downtimes(self, line: str | None = None, needs_reason: bool = False,
                  limit: int = 100) -> concurrent.futures.Future[list[dict[str, Any]]]:
        return self.call(lambda core: core.downtimes(line, needs_reason=needs_reason,
                                                     limit=limit))

    def oee(self, line: str | None = None, window: str | tuple[float, float] = "shift"
            ) -> concurrent.futures.Future[OeeResult | None]:
        """OEE of "shift" (the current one), "hour" (the last 60 min), "work_order" (the
        current one) or (from, to) epoch seconds. None when there is no such window."""

        def run(core: MesCore) -> OeeResult | None:
            core.commit()
            if window == "shift":
                return core.oee_shift(line)
            if window == "hour":
                return core.oee(line)
            if window == "work_order":
                return core.oee_work_order(line)
            t0, t1 = window  # type: ignore[misc]
            return core.oee(line, t0, t1)

        return self.call(run)

    def add_listener(self, fn: Listener) -> Callable[[], None]:
        """`fn(changed)` after each cycle that changed something; runs in `hmi-mes`."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def retry_quarantined(self, seqs: list[int] | None = None
                          ) -> concurrent.futures.Future[str]:
        return self.call(lambda core: commands.apply(core, "quarantine_retry",
                                                     {"seqs": seqs}, "", self._wake))

    def diagnostics(self) -> dict[str, Any]:
        return self.status().to_json()

    def status_summary(self) -> str:
        """One line for `hmi run`'s status output ("" when nothing is configured)."""
        if self.core is None:
            return ""
        snap = self.snapshot()
        status: MesStatus = snap["status"]
        parts = []
        for name, line in snap["lines"].items():
            oee = (line.get("oee") or {}).get("shift") or {}
            figure = f", OEE {oee['oee']:.2f}" if oee.get("oee") is not None else ""
            parts.append(f"{name} {line['state'] or '?'} "
                         f"({line['context'].get('work_order') or 'no order'}{figure})")
        text = "mes: " + "; ".join(parts)
        if status.enabled:
            text += (f" | outbox {status.depth} pending, {status.delivered} delivered, "
                     f"{'connected' if status.connected else 'not connected'}")
            if status.last_error:
                text += f" ({status.last_error})"
        return text

    # ---- the thread ---------------------------------------------------------------------------
    def _wake(self) -> None:
        if self.sender is not None:
            self.sender.retry_now()

    def _main(self) -> None:
        core = self.core
        assert core is not None
        next_tick = time.monotonic()
        next_beat = next_tick + HEARTBEAT_S
        next_oee = next_tick + OEE_EVERY_S
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                item = None
            items = [] if item is None else [item]
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = any(i is _STOP for i in items)
            futures = self._handle(core, items)
            now = time.monotonic()
            try:
                if (now >= next_tick or stopping) and not self._final:
                    next_tick = now + self.period_s
                    core.tick()
                    self._answers += commands.run_pending(
                        core, self._wake, skip={a[0] for a in self._answers})
                if now >= next_beat and not stopping:
                    next_beat = now + HEARTBEAT_S
                    core.beat(time.time(), os.getpid())
                written = core.stop() if stopping and not self._final else core.commit()
                if written and self._answers:  # answered once the changes are durable
                    commands.finish(core.store, self._answers)
                    self._answers = []
            except sqlite3.DatabaseError as exc:  # e.g. an answer refused by a full disk
                if is_disk_trouble(exc):
                    core.write_failed(exc)  # said once; kept and tried again next cycle
                else:
                    log.exception("MES cycle failed")
            except Exception:  # thread boundary: log it, keep the station's MES thread alive;
                # whatever was not committed stays in memory and is tried again next cycle
                log.exception("MES cycle failed")
            oee_due = time.monotonic() >= next_oee
            if oee_due:
                next_oee = time.monotonic() + OEE_EVERY_S
            self._after_cycle(core, oee_due)  # the snapshot is current when a future resolves
            for future, result, error in futures:
                if future.cancelled():
                    continue
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(result)
            if stopping:
                return

    def _handle(self, core: MesCore, items: list[Any]
                ) -> list[tuple[concurrent.futures.Future[Any], Any, BaseException | None]]:
        futures = []
        for item in items:
            if item is _STOP:
                continue
            if isinstance(item, tuple):
                fn, future = item
                try:
                    futures.append((future, fn(core), None))
                except Exception as exc:  # noqa: BLE001 - handed to the caller's future
                    futures.append((future, None, exc))
                continue
            if self._final:  # the lines are stopped: a late batch is not tracked
                continue
            try:
                core.on_samples(item)
            except Exception:  # thread boundary: one bad batch must not stop tracking
                log.exception("MES tracking failed for a batch of %d samples", len(item))
        return futures

    def _after_cycle(self, core: MesCore, oee_due: bool) -> None:
        changed = core.changed
        core.changed = set()
        if "outbox" in changed and self.sender is not None:
            self.sender.wake()
        self._system_alarms(core)
        if changed or oee_due:
            self._refresh(oee=oee_due or bool(changed & {"state", "context", "counts"}))
            if oee_due:
                changed.add("oee")
        if changed:
            for fn in list(self._listeners):
                try:
                    fn(frozenset(changed))
                except Exception:  # a listener bug must not stop MES tracking
                    log.exception("MES listener failed")

    def _system_alarms(self, core: MesCore) -> None:
        limit = int(self.config.outbox_limit_mb * 1024 * 1024)
        inputs = {OUTBOX_TAG: core.bytes > limit, WRITE_TAG: bool(core.write_error)}
        changed = [tag for tag, value in inputs.items() if self._alarm_inputs.get(tag) != value]
        if not changed:
            return
        alarm_service = next((s for s in getattr(self.runtime, "services", ())
                              if type(s).__name__ == "AlarmService"), None)
        if alarm_service is None:
            return
        now = self.clock()
        alarm_service.on_batch([Sample(tag, inputs[tag], now) for tag in changed])
        self._alarm_inputs.update({tag: inputs[tag] for tag in changed})
        if inputs[OUTBOX_TAG] and OUTBOX_TAG in changed:
            log.warning("MES outbox over its limit: %d bytes pending", core.bytes)

    def _refresh(self, oee: bool) -> None:
        core = self.core
        if core is None:
            return
        now = self.clock()
        lines = {}
        previous = self._snapshot.get("lines", {})
        for name, tracker in core.lines.items():
            downtime = dict(tracker.downtime) if tracker.downtime else None
            entry = {"context": tracker.event_context(now), "state": tracker.state,
                     "since": tracker.state_since, "asset": tracker.asset,
                     "downtime": downtime, "needs_reason": tracker.needs_reason(now),
                     "microstops": tracker.microstops,
                     "oee": previous.get(name, {}).get("oee", {})}
            if oee:
                entry["oee"] = self._oee_figures(core, name)
            lines[name] = entry
        sender = self.sender.status if self.sender else None
        limit = int(self.config.outbox_limit_mb * 1024 * 1024)
        quarantined = core.store.select("SELECT COUNT(*) FROM quarantine")[0][0]
        status = MesStatus(
            enabled=bool(self.config.enabled), depth=core.depth, bytes=core.bytes,
            oldest_age_s=round(max(0.0, now - core.oldest), 3) if core.oldest else None,
            last_error=core.write_error or (sender.last_error if sender else ""),
            quarantined=int(quarantined),
            delivered=sender.events if sender else 0,
            connected=bool(sender and sender.connected), over_limit=core.bytes > limit,
            limit_bytes=limit, write_error=core.write_error,
            lost_acks=sender.lost_acks if sender else 0,
            refusals=sender.refusals if sender else 0,
            max_payload=sender.max_payload if sender else 0)
        with self._lock:
            self._snapshot = {"lines": lines, "status": status}

    @staticmethod
    def _oee_figures(core: MesCore, line: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, fn in (("shift", lambda: core.oee_shift(line)), ("hour", lambda: core.oee(line)),
                        ("work_order", lambda: core.oee_work_order(line))):
            try:
                result = fn()
            except Exception:  # a figure for a screen: log, show nothing, keep tracking
                log.exception("OEE of %s (%s) failed", line, key)
                result = None
            out[key] = result.to_json() if result else None
        return out
