"""The sender: delivers the outbox to the MES in seq order, one batch in flight, in its own thread
`hmi-mes-send` with its own asyncio loop.

The rules (issue 15):
- batches are the oldest pending events, at most `batch_size` events and `batch_bytes` of JSON,
  and never more than the server's negotiated message size allows (`MesClient.max_payload`);
  a server that still says the request is too large halves the byte budget;
- the MES answers how many events from the start of the batch it accepted; exactly those are
  deleted (`OutboxSink.ack`), nothing else ever leaves the outbox but into quarantine;
- no answer (a timeout, a dropped connection) is a lost acknowledgement: reconnect and send the
  same events again; the MES drops the copies by `id`;
- an event the MES refuses (a Bad status such as BadInvalidArgument for a batch of one, or an
  answer of 0) counts a try; after `quarantine_after` tries it goes to quarantine with the
  reason and the rest keep flowing. A refused batch of several is retried one event at a time
  to find the culprit;
- while the MES is unreachable, stalls or says it is busy: capped exponential backoff (0.5 s
  doubling to `retry_max_s`, +-20 % jitter); `wake()` (new events, `hmi mes drain`) ends an
  idle wait, `retry_now()` also ends a backoff.

Row changes go through an `OutboxSink` that runs them where the store's writer lives (the
station's `hmi-mes` thread), so the sender itself only reads the outbox.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from asyncua import ua

from hmi.loop_thread import close_loop
from hmi.mes.client import MesClient, MesUnavailable
from hmi.mes.config import MesConfig
from hmi.mes.outbox import OutboxReader, Pending

log = logging.getLogger(__name__)
BACKOFF_START_S = 0.5
IDLE_WAIT_S = 1.0
# Status codes by which the MES refuses the events themselves (not a transient condition).
REFUSALS = {ua.StatusCodes.BadInvalidArgument, ua.StatusCodes.BadTypeMismatch,
            ua.StatusCodes.BadDecodingError, ua.StatusCodes.BadOutOfRange,
            ua.StatusCodes.BadDataEncodingInvalid, ua.StatusCodes.BadArgumentsMissing}
TOO_LARGE = {ua.StatusCodes.BadRequestTooLarge, ua.StatusCodes.BadEncodingLimitsExceeded,
             ua.StatusCodes.BadTcpMessageTooLarge}


class OutboxSink(Protocol):
    """Where the sender's row changes run (any thread may call; results are futures)."""

    def ack(self, seqs: list[int]) -> concurrent.futures.Future[Any]: ...
    def refuse(self, seq: int, error: str) -> concurrent.futures.Future[Any]: ...
    def quarantine(self, seq: int, reason: str) -> concurrent.futures.Future[Any]: ...
    def error(self, text: str) -> None: ...


@dataclass
class SenderStatus:
    connected: bool = False
    last_error: str = ""
    last_error_ts: float | None = None
    batches: int = 0
    events: int = 0  # acknowledged by the MES
    refusals: int = 0
    lost_acks: int = 0
    reconnects: int = 0
    max_payload: int = 0
    backoff_s: float = 0.0
    last_batch_ms: float | None = None


class Sender:
    """See the module docstring. `start()`/`stop()` from one thread; `wake()` from any."""

    def __init__(self, config: MesConfig, db_path: Path, data_dir: Path, sink: OutboxSink,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.db_path = Path(db_path)
        self.sink = sink
        self.clock = clock
        self.client = MesClient(config.url, config.security, config.username, config.namespace,
                                config.timeout_s, data_dir, config.password_secret)
        self.status = SenderStatus()
        self._byte_budget = config.batch_bytes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._retry: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="hmi-mes-send", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5.0)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop now, even mid-call: an unacknowledged batch stays in the outbox and is sent
        again on the next start (the MES drops what it already has)."""
        self._stopping.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def wake(self) -> None:
        """New events are waiting (any thread)."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def retry_now(self) -> None:
        """Deliver now: end an idle wait or a backoff (e.g. `hmi mes drain`)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._set_both)

    def _set_both(self) -> None:
        for event in (self._wake, self._retry):
            if event is not None:
                event.set()

    # ---- the thread ---------------------------------------------------------------------------
    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._run())
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        except Exception:  # thread boundary: logged; the outbox keeps every event for the
            # next start, so nothing is lost, but delivery stopped and the status says why
            log.exception("MES sender failed")
            self.status.last_error = "sender failed (see the log)"
        finally:
            close_loop(loop)

    async def _run(self) -> None:
        self._wake, self._retry = asyncio.Event(), asyncio.Event()
        self._ready.set()
        reader = OutboxReader(self.db_path)
        first_backoff = min(BACKOFF_START_S, self.config.retry_max_s)
        backoff = first_backoff
        single = False  # after a refused batch: one event at a time to find the culprit
        try:
            while not self._stopping.is_set():
                budget = min(self._byte_budget, self.client.max_payload or self._byte_budget)
                batch = reader.peek(1 if single else self.config.batch_size, budget)
                if not batch:
                    await self._wait(self._wake, IDLE_WAIT_S)
                    continue
                outcome = await self._deliver(batch, budget)
                if outcome == "ok":
                    backoff, single = first_backoff, False
                    self.status.backoff_s = 0.0
                    continue
                if outcome == "refused-batch":
                    single = True
                    continue
                if outcome == "shrink":
                    continue
                self.status.backoff_s = backoff
                await self._wait(self._retry, backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, self.config.retry_max_s)
        finally:
            reader.close()
            await self.client.close()
            self.status.connected = False

    async def _wait(self, event: asyncio.Event, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
        event.clear()

    def _fail(self, text: str) -> None:
        if text != self.status.last_error:
            log.warning("MES: %s", text)
            self.sink.error(text)
        self.status.last_error = text
        self.status.last_error_ts = self.clock()

    async def _settle(self, future: concurrent.futures.Future[Any]) -> Any:
        """Wait for a row change in the writer's thread. If it failed (a full disk), the rows
        are as they were: an acknowledged batch is simply sent again later."""
        try:
            return await asyncio.wrap_future(future)
        except Exception as exc:  # noqa: BLE001 - another thread's failure, reported here
            self._fail(f"outbox update failed: {exc}")
            return None

    async def _deliver(self, batch: list[Pending], budget: int) -> str:
        """One attempt. Returns ok | refused-batch | shrink | retry (back off first)."""
        if not self.client.connected:
            try:
                await self.client.connect()
            except MesUnavailable as exc:
                self.status.connected = False
                self._fail(str(exc))
                return "retry"
            self.status.connected = True
            self.status.reconnects += 1
            self.status.max_payload = self.client.max_payload
            budget = min(self._byte_budget, self.client.max_payload)
            if sum(p.size + 1 for p in batch) + 1 > budget and len(batch) > 1:
                return "shrink"  # re-read the batch under the negotiated size
        first = batch[0]
        if first.size + 2 > budget and first.size + 2 > self.client.max_payload:
            await self._settle(self.sink.quarantine(
                first.seq, f"{first.size} bytes: larger than the MES accepts in one message "
                           f"({self.client.max_payload} bytes)"))
            return "shrink"
        payload = "[" + ",".join(p.body for p in batch) + "]"
        started = time.perf_counter()
        try:
            accepted = await self.client.submit(payload)
        except ua.UaStatusCodeError as exc:
            return await self._on_status(batch, exc)
        except TimeoutError:
            self.status.lost_acks += 1
            self._fail(f"no answer from the MES within {self.config.timeout_s:g} s "
                       f"(batch of {len(batch)} will be sent again)")
            await self.client.close()
            self.status.connected = False
            return "retry"
        except (OSError, ua.UaError, MesUnavailable, ConnectionError) as exc:
            self._fail(f"connection to the MES lost: {str(exc) or type(exc).__name__}")
            await self.client.close()
            self.status.connected = False
            return "retry"
        self.status.last_batch_ms = round((time.perf_counter() - started) * 1000, 2)
        if not 0 <= accepted <= len(batch):
            self._fail(f"the MES answered {accepted} for a batch of {len(batch)}")
            return "retry"
        if accepted:
            if await self._settle(self.sink.ack([p.seq for p in batch[:accepted]])) is None:
                # mes.db refused the ack (a full disk): the MES has the batch and gets it again
                # (deduplicated by id) after a backoff, not in a loop (issue 11: 1,870 resends
                # and as many log lines in 2 s)
                return "retry"
            self.status.batches += 1
            self.status.events += accepted
            if self.status.last_error:
                log.info("MES: delivering again")
                self.status.last_error = ""
        if accepted < len(batch):
            refused = batch[accepted]
            self.status.refusals += 1
            await self._settle(self.sink.refuse(
                refused.seq, f"the MES accepted {accepted} of {len(batch)}, not this event"))
            return "retry" if accepted == 0 else "ok"
        return "ok"

    async def _on_status(self, batch: list[Pending], exc: ua.UaStatusCodeError) -> str:
        name = ua.StatusCode(exc.code).name
        if exc.code in TOO_LARGE:
            self._byte_budget = max(1024, self._byte_budget // 2)
            self._fail(f"the MES says the request is too large ({name}); batches now at most "
                       f"{self._byte_budget} bytes")
            await self.client.close()
            self.status.connected = False
            return "shrink"
        if exc.code in REFUSALS:
            self.status.refusals += 1
            if len(batch) > 1:
                return "refused-batch"
            quarantined = await self._settle(self.sink.refuse(batch[0].seq,
                                                              f"refused by the MES: {name}"))
            if quarantined:
                log.warning("MES: event seq %d quarantined (%s)", batch[0].seq, name)
            return "ok" if quarantined else "retry"
        self._fail(f"the MES is not accepting events: {name}")
        return "retry"
