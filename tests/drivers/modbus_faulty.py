"""A Modbus TCP server that misbehaves on purpose, for the driver's fault tests.

Why not pymodbus's server: it is too well-behaved to send a wrong transaction id, a truncated
frame or random bytes. This one speaks just enough Modbus TCP (FC1-4, 5, 6, 16) over a register
dict to serve good answers, and `mode` switches it, at any moment, to one fault:

- "ok": answer correctly;       "silent": read requests, never answer (a hung device);
- "drop": close the connection when a request arrives;
- "garbage": answer random bytes; "short": a frame cut in half; "wrong_tid": tid + 1;
- "exception": answer exception `exception_code`; "delay": answer after `delay_s`.

It runs in whatever loop starts it; `connections` counts accepted connections so a test can show
the driver's reconnects are paced, not a busy loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct


class FaultyModbusServer:
    """Raw asyncio Modbus TCP server on 127.0.0.1 with switchable faults (see module doc)."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.mode = "ok"
        self.exception_code = 2
        self.delay_s = 0.0
        self.registers: dict[int, int] = {}
        self.bits: dict[int, bool] = {}
        self.connections = 0
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every connection (a device switched off)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()  # a handler blocked in read gets EOF and ends by itself
        if self._tasks:
            _done, pending = await asyncio.wait(list(self._tasks), timeout=2.0)
            for task in pending:  # e.g. sleeping in "delay" mode
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            while True:
                header = await reader.readexactly(7)
                tid, _pid, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                self.requests += 1
                reply = self._answer(pdu)
                mode = self.mode
                if mode == "silent":
                    continue
                if mode == "drop":
                    return
                if mode == "delay":
                    await asyncio.sleep(self.delay_s)
                if mode == "exception":
                    reply = bytes([pdu[0] | 0x80, self.exception_code])
                frame = struct.pack(">HHHB", tid, 0, len(reply) + 1, unit) + reply
                if mode == "garbage":
                    frame = random.Random(tid).randbytes(len(frame))
                    frame = b"\x13\x37\xff\xff" + frame[4:]  # nonzero protocol id: never a frame
                elif mode == "short":
                    frame = frame[: max(8, len(frame) // 2)]
                elif mode == "wrong_tid":
                    frame = struct.pack(">H", (tid + 1) & 0xFFFF) + frame[2:]
                writer.write(frame)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or stop(): either way this connection is over
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._tasks.discard(task)

    def _answer(self, pdu: bytes) -> bytes:
        fc = pdu[0]
        if fc in (3, 4):
            start, count = struct.unpack(">HH", pdu[1:5])
            regs = [self.registers.get(a, 0) for a in range(start, start + count)]
            return bytes([fc, 2 * count]) + struct.pack(f">{count}H", *regs)
        if fc in (1, 2):
            start, count = struct.unpack(">HH", pdu[1:5])
            data = bytearray((count + 7) // 8)
            for i in range(count):
                if self.bits.get(start + i):
                    data[i // 8] |= 1 << (i % 8)
            return bytes([fc, len(data)]) + bytes(data)
        if fc == 6:
            address, value = struct.unpack(">HH", pdu[1:5])
            self.registers[address] = value
            return pdu[:5]
        if fc == 5:
            address, value = struct.unpack(">HH", pdu[1:5])
            self.bits[address] = value == 0xFF00
            return pdu[:5]
        if fc == 16:
            start, count = struct.unpack(">HH", pdu[1:5])
            for i, value in enumerate(struct.unpack(f">{count}H", pdu[6:6 + 2 * count])):
                self.registers[start + i] = value
            return pdu[:5]
        return bytes([fc | 0x80, 1])
