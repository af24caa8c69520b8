"""The reference MES: serves `Objects/MES/SubmitEvents(events: String) -> Int32` in namespace
`urn:hmi-station:mes` over OPC UA, stores what it receives deduplicated by `id`, and misbehaves
on demand so tests (and people) can watch the station cope.

- Deduplication survives the stub's own restarts: with `out`, every new event is appended to a
  JSON-lines file (flushed and fsynced before the answer) and the ids in it are read at start.
  A write that fails (its own disk full) is undone and answered BadResourceUnavailable, said
  once in the log: the station sends the batch again later.
- `refuse_first` N: the first N calls answer BadResourceUnavailable (a busy MES).
- `stall_s` S: a call stores its events, then waits S seconds before answering (a slow MES; a
  station whose `timeout_s` is shorter sees a lost acknowledgement). `stall_calls` limits how
  many calls stall (None: all).
- `poison` TYPE: events of this type are refused: the answer counts the events before the
  first one, or is BadInvalidArgument if it comes first.
- `max_message_size`: the transport limit the server negotiates (to test batch splitting).
- `certificate` (cert, key): offer Basic256Sha256 Sign and SignAndEncrypt with this server
  certificate (its SubjectAltName URI becomes the application URI), as a secured MES would.

`hmi mes-stub` runs it in the foreground; tests and `hmi demo` use `StubThread`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import threading
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.common.connection import TransportLimits

from hmi.loop_thread import ServerThread

log = logging.getLogger(__name__)
NAMESPACE = "urn:hmi-station:mes"


class MesStub:
    """One stub server; its coroutines run in one loop (see `StubThread`)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", out: Path | None = None,
                 refuse_first: int = 0, stall_s: float = 0.0, poison: str | None = None,
                 max_message_size: int = 0, stall_calls: int | None = None,
                 namespace: str = NAMESPACE,
                 certificate: tuple[Path, Path] | None = None) -> None:
        from hmi.simulator.serve import free_port

        self.host = host
        self.port = port or free_port(host)
        self.out = Path(out) if out else None
        self.refuse_first = refuse_first
        self.stall_s = stall_s
        self.stall_calls = stall_calls
        self.poison = poison
        self.max_message_size = max_message_size
        self.namespace = namespace
        self.certificate = certificate
        self.events: list[dict[str, Any]] = []  # stored, in arrival order, without copies
        self.ids: set[str] = set()
        self.store_error = ""  # why the out file cannot be written, "" while it can
        self.calls = 0
        self.batches: list[tuple[int, int]] = []  # (events, UTF-8 bytes) of each parsed call
        self.duplicates = 0
        self.refused = 0
        self.stalls = 0
        self.stalling = threading.Event()  # set while a call holds stored events unanswered
        self.received = threading.Condition()
        self.server: Server | None = None
        self._handle: Any = None

    @property
    def url(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}"

    def load(self) -> int:
        """Read what an earlier run stored (for dedup across restarts); returns events read."""
        if self.out is None or not self.out.is_file():  # none yet (or a device: nothing)
            return 0
        count = 0
        with self.out.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash mid-write: its batch was never answered
                if isinstance(event, dict) and event.get("id") not in self.ids:
                    self.ids.add(event["id"])
                    self.events.append(event)
                    count += 1
        return count

    async def start(self) -> None:
        self.load()
        if self.out is not None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.out.open("a", encoding="utf-8")
        server = Server()
        await server.init()
        server.set_endpoint(f"{self.url}/")
        server.set_server_name("hmi-station reference MES")
        if self.certificate is None:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        else:
            cert, key = self.certificate
            uri = _certificate_uri(Path(cert))
            if uri:
                await server.set_application_uri(uri)
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
                                        ua.SecurityPolicyType.Basic256Sha256_Sign])
        if self.max_message_size:
            chunk = min(65535, self.max_message_size)
            server.limits = TransportLimits(
                max_recv_buffer=chunk, max_send_buffer=chunk,
                max_chunk_count=max(1, math.ceil(self.max_message_size / chunk)),
                max_message_size=self.max_message_size)
        idx = await server.register_namespace(self.namespace)
        mes = await server.nodes.objects.add_object(ua.NodeId("MES", idx),
                                                    ua.QualifiedName("MES", idx))
        await mes.add_method(ua.NodeId("SubmitEvents", idx), ua.QualifiedName("SubmitEvents", idx),
                             self._submit, [ua.VariantType.String], [ua.VariantType.Int32])
        await server.start()
        self.server = server
        log.info("MES stub on %s", self.url)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    async def _submit(self, parent: ua.NodeId, events: Any) -> Any:
        self.calls += 1
        if self.calls <= self.refuse_first:
            self.refused += 1
            return ua.StatusCode(ua.StatusCodes.BadResourceUnavailable)
        text = events.Value if isinstance(events, ua.Variant) else events
        try:
            batch = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            self.refused += 1
            return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)
        if not isinstance(batch, list):
            self.refused += 1
            return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)
        self.batches.append((len(batch), len(text.encode("utf-8"))))
        accepted, new, fresh = 0, [], set()
        for event in batch:
            if not isinstance(event, dict) or not isinstance(event.get("id"), str):
                break
            if self.poison and event.get("type") == self.poison:
                break
            if event["id"] in self.ids or event["id"] in fresh:
                self.duplicates += 1
            else:
                fresh.add(event["id"])
                new.append(event)
            accepted += 1
        if accepted == 0 and batch:
            self.refused += 1
            return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)
        try:
            self._store(new)
        except OSError as exc:  # its own disk is full: a busy MES, the station sends again
            if not self.store_error:
                log.warning("MES stub: cannot store events (%s): answering "
                            "BadResourceUnavailable until it can", exc)
            self.store_error = str(exc)
            self.refused += 1
            return ua.StatusCode(ua.StatusCodes.BadResourceUnavailable)
        if self.store_error:
            log.warning("MES stub: storing events again")
            self.store_error = ""
        self.ids |= fresh
        if self.stall_s > 0 and (self.stall_calls is None or self.stalls < self.stall_calls):
            self.stalls += 1
            self.stalling.set()
            try:
                await asyncio.sleep(self.stall_s)
            finally:
                self.stalling.clear()
        return [ua.Variant(accepted, ua.VariantType.Int32)]

    def _store(self, new: list[dict[str, Any]]) -> None:
        """Append to the file (fsynced) first, then to memory. A failed write is undone (the
        file cut back, the handle reopened), so no half line or stale buffer lands later."""
        if new and self.out is not None and self._handle is not None:
            start = self._handle.tell()
            try:
                self._handle.write("".join(json.dumps(e, separators=(",", ":")) + "\n"
                                           for e in new))
                self._handle.flush()
                os.fsync(self._handle.fileno())
            except OSError:
                with contextlib.suppress(OSError, ValueError):
                    self._handle.close()  # its buffer cannot be flushed: dropped
                with contextlib.suppress(OSError):
                    os.truncate(self.out, start)
                self._handle = self.out.open("a", encoding="utf-8")
                raise
        with self.received:
            self.events.extend(new)
            self.received.notify_all()

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Block (another thread) until `count` events are stored."""
        with self.received:
            return self.received.wait_for(lambda: len(self.events) >= count, timeout_s)


def _certificate_uri(path: Path) -> str | None:
    """The application URI in a certificate's SubjectAltName (clients check they match)."""
    from cryptography import x509

    from drivers.opcua_security import load_cert

    try:
        names = load_cert(path).extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


class StubThread(ServerThread):
    """A `MesStub` in thread `hmi-mes-stub` with its own loop (tests, `hmi demo`)."""

    what = "MES stub"

    def __init__(self, stub: MesStub) -> None:
        super().__init__("hmi-mes-stub")
        self.stub = stub

    @property
    def url(self) -> str:
        return self.stub.url

    def start(self, timeout_s: float = 20.0) -> StubThread:
        super().start(timeout_s)
        return self

    async def serve(self, ready: threading.Event) -> None:
        await self.stub.start()
        try:
            ready.set()
            await self.stopping.wait()
        finally:
            await self.stub.stop()
