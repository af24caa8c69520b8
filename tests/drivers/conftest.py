"""Fixtures for driver tests: real servers on 127.0.0.1, free ports, asyncio debug on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

# ---- Modbus fixtures (owner: Modbus driver) ---------------------------------------------------


def run(coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
    """Run a test coroutine in a fresh loop with asyncio debug on, under a deadline."""

    async def guarded() -> T:
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(guarded(), debug=True)


class LoopThread:
    """An asyncio loop in a background thread, for servers that must outlive one coroutine
    (e.g. while a DeviceRunner polls them from its own thread)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-server-loop",
                                        daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.call(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)
        self.loop.close()


@pytest.fixture
def server_loop() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture
def image_server(server_loop: LoopThread) -> Iterator[Any]:
    """The simulator's pymodbus TCP server over a register image, in a background loop."""
    from hmi.simulator.modbus_server import ModbusImageServer

    server = ModbusImageServer()
    server_loop.call(server.start())
    yield server
    server_loop.call(server.stop())


# ---- end of Modbus fixtures --------------------------------------------------------------------


# ---- MES fixtures (owner: MES sync) -------------------------------------------------------------


@pytest.fixture
def stubs(tmp_path: Any) -> Iterator[Any]:
    """Reference MES servers (`hmi.mes.stub`) started on demand; all stopped after the test."""
    from tests.drivers.mes_fixtures import Stubs

    owner = Stubs(tmp_path)
    yield owner
    owner.stop()
