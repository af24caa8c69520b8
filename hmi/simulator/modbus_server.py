"""A real Modbus TCP server (pymodbus) over a plain register image, for the demo plant and tests.

Why not pymodbus's datastores: 3.16 deprecates the old ones and its new `SimDevice` packs coils
into registers; a PLC simulator wants four flat 0-based tables it can read and write directly.
A `ModbusServerContext` subclass that answers `async_getValues`/`async_setValues` itself is what
pymodbus's server accepts for that (its "old simulator" path). Writes from clients land in the
image and are reported to `on_write`, so the plant can react to setpoints and commands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.server import ModbusTcpServer

SIZE = 65536
log = logging.getLogger(__name__)

# function code -> table
_TABLE = {1: "co", 5: "co", 15: "co", 2: "di", 4: "ir", 3: "hr", 6: "hr", 16: "hr", 22: "hr",
          23: "hr"}

WriteHook = Callable[[str, int, list], None]


@dataclass
class RegisterImage:
    """The four Modbus tables, 0-based. Plain lists: the simulator writes them directly."""

    hr: list[int] = field(default_factory=lambda: [0] * SIZE)
    ir: list[int] = field(default_factory=lambda: [0] * SIZE)
    co: list[bool] = field(default_factory=lambda: [False] * SIZE)
    di: list[bool] = field(default_factory=lambda: [False] * SIZE)
    valid: dict[str, set[int]] | None = None  # None: every address answers

    def table(self, name: str) -> list:
        return getattr(self, name)


class _ImageContext(ModbusServerContext):
    """Serves a `RegisterImage` to pymodbus's request handlers."""

    def __init__(self, image: RegisterImage, on_write: WriteHook | None) -> None:  # no super():
        # the base __init__ only builds the deprecated datastores and logs a deprecation warning
        self.image = image
        self.on_write = on_write
        self.simdevices = []
        self.old_simulator = True
        self.fail_with: ExcCodes | None = None  # tests: make every request an exception

    def device_ids(self) -> list[int]:
        return [0]

    def _check(self, table: str, address: int, count: int) -> ExcCodes | None:
        if self.fail_with is not None:
            return self.fail_with
        if address < 0 or count < 0 or address + count > SIZE:
            return ExcCodes.ILLEGAL_ADDRESS
        valid = self.image.valid
        if valid is not None and any(a not in valid.get(table, ()) for a in
                                     range(address, address + count)):
            return ExcCodes.ILLEGAL_ADDRESS
        return None

    async def async_getValues(self, device_id: int, func_code: int, address: int,
                              count: int = 1) -> list[int] | list[bool] | ExcCodes:
        table = _TABLE.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if (problem := self._check(table, address, count)) is not None:
            return problem
        return list(self.image.table(table)[address:address + count])

    async def async_setValues(self, device_id: int, func_code: int, address: int,
                              values: Sequence[int] | Sequence[bool]) -> ExcCodes | None:
        table = _TABLE.get(func_code)
        if table is None or table in ("ir", "di"):
            return ExcCodes.ILLEGAL_FUNCTION
        values = list(values) if isinstance(values, list | tuple) else [values]
        if (problem := self._check(table, address, len(values))) is not None:
            return problem
        data = self.image.table(table)
        data[address:address + len(values)] = [bool(v) for v in values] if table == "co" else [
            int(v) & 0xFFFF for v in values]
        if self.on_write:
            self.on_write(table, address, values)
        return None


class ModbusImageServer:
    """Modbus TCP server on `host:port` (port 0 picks a free one; read `.port` after start)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, image: RegisterImage | None = None,
                 on_write: WriteHook | None = None) -> None:
        self.host = host
        self.port = port
        self.image = image or RegisterImage()
        self.context = _ImageContext(self.image, on_write)
        self._server: ModbusTcpServer | None = None

    async def start(self) -> None:
        if self.port == 0:
            import socket

            with socket.socket() as s:
                s.bind((self.host, 0))
                self.port = s.getsockname()[1]
        self._server = ModbusTcpServer(self.context, address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        log.info("Modbus TCP server on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
