"""Real asyncua servers for the OPC UA driver tests, each in its own thread and loop.

Why a thread: the driver runs in its device thread's loop (as the runtime runs it), so the
server must keep answering while a test blocks on a condition. The thread is named `hmi-test-*`
so the autouse leak check fails a test that forgets to stop it. Ready means the port accepts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.conftest import free_port, port_open, wait_until

NAMESPACE = "urn:hmi-station:test"
SERVER_URI = "urn:hmi-station:test-server"
# name -> (initial value, variant type); string node ids "ns=2;s=Plant.<name>"
VARIABLES: dict[str, tuple[Any, ua.VariantType]] = {
    "Bool": (True, ua.VariantType.Boolean),
    "SByte": (-5, ua.VariantType.SByte),
    "Byte": (200, ua.VariantType.Byte),
    "Int16": (-1234, ua.VariantType.Int16),
    "UInt16": (65000, ua.VariantType.UInt16),
    "Int32": (-100000, ua.VariantType.Int32),
    "UInt32": (4000000000, ua.VariantType.UInt32),
    "Int64": (-(2**40), ua.VariantType.Int64),
    "UInt64": (2**63, ua.VariantType.UInt64),
    "Float": (1.5, ua.VariantType.Float),
    "Double": (2.25, ua.VariantType.Double),
    "String": ("hello", ua.VariantType.String),
    "DateTime": (dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC), ua.VariantType.DateTime),
    "DoubleArray": ([1.0, 2.0, 3.5], ua.VariantType.Double),
    "Int32Array": ([1, -2, 3], ua.VariantType.Int32),
    "Speed": (10.0, ua.VariantType.Double),
    "Level": (50.0, ua.VariantType.Double),
    "Setpoint": (20, ua.VariantType.Int16),
    "ReadOnly": (7.0, ua.VariantType.Double),
}
NUMERIC_ID = 5001  # "ns=2;i=5001": a Double with a numeric node id


class _PasswordUsers:
    """Server-side user check: one user name and password, or anonymous if none given."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if not self.users:
            return User(role=UserRole.User)
        if username in self.users and self.users[username] == password:
            return User(role=UserRole.User)
        return None


def make_server_cert(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed server certificate like a real PLC's (SERVER_AUTH, its URI in the SAN)."""
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / "server_key.pem", folder / "server_cert.der"
    asyncio.run(cert_gen.setup_self_signed_certificate(
        key, cert, SERVER_URI, host, [ExtendedKeyUsageOID.SERVER_AUTH], {}))
    return cert, key


class ServerThread:
    """An asyncua server on 127.0.0.1 in thread `hmi-test-opcua`. `run()` runs a coroutine
    function in the server's loop from the test thread."""

    def __init__(self, port: int | None = None, cert: tuple[Path, Path] | None = None,
                 users: dict[str, str] | None = None, extra: int = 0,
                 policies: list[ua.SecurityPolicyType] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}/"
        self.cert = cert
        self.users = users or {}
        self.extra = extra  # additional Double variables "Plant.X0".. for load tests
        # with `cert`: the endpoints offered (default Basic256Sha256 Sign and SignAndEncrypt)
        self.policies = policies
        self.server: Server | None = None
        self.nodes: dict[str, Any] = {}
        self.ns = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self) -> ServerThread:
        self._ready.clear()
        self._thread = threading.Thread(target=self._main, name="hmi-test-opcua", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("test OPC UA server did not start")
        if self._error is not None:
            raise RuntimeError(f"test OPC UA server failed: {self._error}")
        wait_until(lambda: port_open(self.port), 10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(15)
        self._thread = None

    def run(self, fn: Callable[[], Awaitable[Any]], timeout_s: float = 10.0) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(_call(fn), self._loop).result(timeout_s)

    def set(self, name: str, value: Any, status: ua.StatusCode | None = None) -> None:
        """Change a variable server-side (as the plant would)."""
        node = self.nodes[name]
        vtype = VARIABLES[name][1] if name in VARIABLES else ua.VariantType.Double

        async def write() -> None:
            await node.write_value(ua.DataValue(
                ua.Variant(value, vtype), StatusCode=status or ua.StatusCode(0),
                SourceTimestamp=dt.datetime.now(dt.UTC)))

        self.run(write)

    def get(self, name: str) -> Any:
        node = self.nodes[name]
        return self.run(node.read_value)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - test server thread: surface to start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = Server(user_manager=_PasswordUsers(self.users))
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("hmi-station test server")
        await server.set_application_uri(SERVER_URI)
        if self.cert is not None:
            await server.load_certificate(str(self.cert[0]))
            await server.load_private_key(str(self.cert[1]))
            server.set_security_policy(self.policies or [
                ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
                ua.SecurityPolicyType.Basic256Sha256_Sign])
        self.ns = await server.register_namespace(NAMESPACE)
        plant = await server.nodes.objects.add_object(ua.NodeId("Plant", self.ns), "Plant")
        for name, (value, vtype) in VARIABLES.items():
            node = await plant.add_variable(ua.NodeId(f"Plant.{name}", self.ns), name,
                                            ua.Variant(value, vtype))
            if name != "ReadOnly":
                await node.set_writable()
            self.nodes[name] = node
        numeric = await plant.add_variable(ua.NodeId(NUMERIC_ID, self.ns), "Numeric", 3.0)
        self.nodes["Numeric"] = numeric
        for i in range(self.extra):
            self.nodes[f"X{i}"] = await plant.add_variable(
                ua.NodeId(f"Plant.X{i}", self.ns), f"X{i}", 0.0)
        self.server = server
        async with server:
            self._ready.set()
            await self._stop.wait()


async def _call(fn: Callable[[], Awaitable[Any]]) -> Any:
    return await fn()


def reserve_port() -> int:
    """A free port that stays free long enough for a restart test to reuse it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def opcua_server() -> Iterator[ServerThread]:
    """One plain server for a module's tests (startup costs ~2 s)."""
    server = ServerThread().start()
    yield server
    server.stop()
