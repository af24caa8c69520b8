"""An asyncio server in a thread of its own: the demo plant, the reference MES, senders.

Why one class: each of them needs the same four things done right, and each copy had them:
start and wait until the server is really up (or report why not), stop from any thread by
setting an event inside the loop, join with a deadline, and close the loop clean. asyncua's
server leaves session and subscription tasks behind after `stop()`; `close_loop` cancels what
is left so the loop closes without "Task was destroyed but it is pending".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

log = logging.getLogger(__name__)


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks still pending on `loop`, let them finish, close it. Loop's thread."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


class ServerThread:
    """Subclasses implement `serve(ready)`: start the server, call `ready()`, then await
    `self.stopping.wait()` and shut the server down. `start()` raises RuntimeError with the
    reason when it does not come up within the timeout."""

    what = "server"  # for messages: "demo plant", "MES stub"

    def __init__(self, thread_name: str) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=thread_name, daemon=True)

    @property
    def stopping(self) -> asyncio.Event:
        assert self._stopping is not None, "only inside serve()"
        return self._stopping

    async def serve(self, ready: threading.Event) -> None:
        raise NotImplementedError

    def start(self, timeout_s: float = 20.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout_s) or self._error:
            self.stop()
            raise RuntimeError(f"{self.what} did not start: {self._error}")

    def stop(self) -> None:
        """Any thread; idempotent."""
        if self._loop and self._stopping and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread.is_alive():
            self._thread.join(15.0)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run())
        except Exception as exc:  # thread boundary: reported to start() and logged
            log.exception("%s failed", self.what)
            self._error = exc
            self._ready.set()
        finally:
            close_loop(loop)

    async def _run(self) -> None:
        self._stopping = asyncio.Event()
        await self.serve(self._ready)
