"""A real TCP proxy on 127.0.0.1 that fails the way a plant network does, for recovery tests.

Why a proxy: stopping the server only tests a clean shutdown (the client sees FIN or RST at
once). In a plant the server usually stays up and the network fails: a cable is unplugged, a
switch dies, a firewall resets connections. The driver must notice those too, and the only
honest way to test that is real sockets between a real client and a real server:

- `cut()`: every open connection is reset (RST, SO_LINGER 0) and new ones are reset as soon as
  they are accepted, until `heal()`: a firewall or a rebooting switch.
- `stall()`: connections stay open but no byte is forwarded in either direction, and new
  connections are accepted but never reach the server, until `heal()`: a pulled cable or a dead
  switch. Nothing is dropped: bytes wait as TCP retransmissions would, and flow after `heal()`.

The proxy runs its own asyncio loop in thread `hmi-test-proxy`, so the autouse leak check
fails a test that forgets `stop()`. Public methods are for the test thread and return once the
proxy has acted (a cut has reset every connection when `cut()` returns).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

CHUNK = 65536


class _Link:
    """One client connection and (once forwarding) its upstream connection."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None  # the forwarding; cancelled by a cut


def _reset(writer: asyncio.StreamWriter | None) -> None:
    """Close with RST rather than FIN, as a firewall dropping the connection would."""
    if writer is None or writer.transport.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port`; `cut`/`stall`/`heal` on demand."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0  # set by start(): bound to port 0, so never a race for a free port
        self.accepted = 0  # connections accepted so far (including those reset by a cut)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._done: asyncio.Event | None = None
        self._flowing: asyncio.Event | None = None
        self._cut = False
        self._links: set[_Link] = set()
        self._handlers: set[asyncio.Task[Any]] = set()  # start_server's per-connection tasks
        self._error: BaseException | None = None

    # ---- test thread ------------------------------------------------------------------------
    def start(self) -> TcpProxy:
        self._thread = threading.Thread(target=self._main, name="hmi-test-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("TCP proxy did not start")
        if self._error is not None:
            raise RuntimeError(f"TCP proxy failed: {self._error}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._done is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # loop already gone
                self._loop.call_soon_threadsafe(self._done.set)
            self._thread.join(10)
        self._thread = None

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/"

    @property
    def open_connections(self) -> int:
        return len(self._links)

    def cut(self) -> None:
        """Reset every connection now and every new one until `heal()`."""
        self._call(self._do_cut)

    def stall(self) -> None:
        """Stop forwarding bytes (both ways, all connections, new ones too) until `heal()`."""
        self._call(lambda: self._flowing.clear())  # type: ignore[union-attr]

    def heal(self) -> None:
        """Accept and forward again; stalled bytes flow on."""
        self._call(self._do_heal)

    def _call(self, fn: Callable[[], None]) -> None:
        assert self._loop is not None

        async def run() -> None:
            fn()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(5)

    # ---- proxy thread -----------------------------------------------------------------------
    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - test helper thread: surface to start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._done = asyncio.Event()
        self._flowing = asyncio.Event()
        self._flowing.set()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._done.wait()
        finally:
            server.close()
            tasks = [link.task for link in self._links if link.task is not None]
            for link in list(self._links):
                _reset(link.client)
                _reset(link.upstream)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await server.wait_closed()

    def _do_cut(self) -> None:
        self._cut = True
        for link in list(self._links):
            _reset(link.client)
            _reset(link.upstream)
            if link.task is not None:
                link.task.cancel()
        self._links.clear()

    def _do_heal(self) -> None:
        assert self._flowing is not None
        self._cut = False
        self._flowing.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._cut:
            _reset(writer)
            return
        link = _Link(writer)
        self._links.add(link)
        # a separate task, so a cut can cancel it: asyncio (3.11) logs an error when the
        # handler task start_server() made for us ends cancelled
        link.task = asyncio.ensure_future(self._forward(link, reader))
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            await asyncio.wait({link.task})
        finally:
            self._handlers.discard(handler)

    async def _forward(self, link: _Link, reader: asyncio.StreamReader) -> None:
        assert self._flowing is not None
        writer = link.client
        try:
            await self._flowing.wait()  # stalled: accepted, but the server never hears of it
            up_reader, link.upstream = await asyncio.open_connection(*self.target)
            pumps = [asyncio.ensure_future(self._pump(reader, link.upstream)),
                     asyncio.ensure_future(self._pump(up_reader, writer))]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except OSError:
            pass  # one side went away: close the other, as a router's NAT entry would
        finally:
            self._links.discard(link)
            _close(link.client)
            _close(link.upstream)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        with contextlib.suppress(OSError):
            while data := await reader.read(CHUNK):
                await self._flowing.wait()  # stalled: hold the bytes, as the wire would
                writer.write(data)
                await writer.drain()


def _close(writer: Any) -> None:
    if writer is not None and not writer.transport.is_closing():
        writer.close()
