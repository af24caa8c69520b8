"""Security against a real secured asyncua server: our certificate made on first use, an
unknown server certificate refused and saved to rejected/, trusted after `trust_file`, and the
password read from the OS keyring (an in-memory keyring backend here, via keyring's own API)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.backends.fail
import pytest

from drivers.base import CommError
from drivers.opcua import OpcUaDriver
from drivers.opcua_security import Pki, list_certificates, trust_file
from hmi.tags import DeviceSpec, Point, Sample
from tests.drivers.opcua_fixtures import ServerThread, make_server_cert

USERS = {"operator": "s3cret"}


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend that keeps passwords in a dict (keyring's documented extension API)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    cert = make_server_cert(tmp_path_factory.mktemp("server-pki"))
    server = ServerThread(cert=cert, users=USERS).start()
    yield server
    server.stop()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def device(url: str, data: Path, security: str, username: str | None = "operator") -> DeviceSpec:
    settings: dict[str, Any] = {"url": url, "security": security, "publishing_ms": 100}
    if username:
        settings["username"] = username
    return DeviceSpec("plc1", "opcua", timeout_s=2.0, settings=settings, data_dir=str(data))


POINTS = [Point("Speed", "plc1", data_type="auto", node="ns=2;s=Plant.Speed")]


def read_once(spec: DeviceSpec) -> list[Sample]:
    async def body() -> list[Sample]:
        driver = OpcUaDriver(spec, POINTS)
        try:
            await driver.connect()
            return await driver.read(POINTS)
        finally:
            await driver.close()
    return asyncio.run(body())


@pytest.mark.parametrize("security", ["Basic256Sha256-SignAndEncrypt", "Basic256Sha256-Sign"])
def test_untrusted_server_is_refused_then_trusted(
        secured: ServerThread, tmp_path: Path, memory_keyring: MemoryKeyring,
        security: str) -> None:
    memory_keyring.set_password("hmi-station", "opcua:plc1:operator", USERS["operator"])
    spec = device(secured.url, tmp_path, security)
    with pytest.raises(CommError) as info:
        read_once(spec)
    assert info.value.kind == "untrusted"
    message = str(info.value)
    assert "not trusted" in message
    assert "hmi certs trust" in message
    pki = Pki.under(tmp_path)
    rejected = list(pki.rejected.glob("*.der"))
    assert len(rejected) == 1
    assert str(rejected[0]) in message
    assert pki.cert_path.is_file()  # our own certificate, made on first use
    assert pki.key_path.stat().st_mode & 0o077 == 0

    trusted = trust_file(pki, rejected[0])
    assert trusted.parent == pki.trusted
    assert not rejected[0].exists()
    listing = list_certificates(pki)
    assert len(listing["trusted"]) == 1
    assert listing["rejected"] == []
    assert len(listing["own"]) == 1
    samples = read_once(spec)
    assert samples[0].good
    assert samples[0].value == 10.0


def test_wrong_password_and_missing_keyring(secured: ServerThread, tmp_path: Path,
                                            memory_keyring: MemoryKeyring) -> None:
    pki = Pki.under(tmp_path)
    pki.ensure_dirs()
    (pki.trusted / "server.der").write_bytes(secured.cert[0].read_bytes())  # type: ignore[index]
    spec = device(secured.url, tmp_path, "Basic256Sha256-SignAndEncrypt")

    with pytest.raises(CommError, match="no password") as info:
        read_once(spec)
    assert info.value.kind == "auth"
    memory_keyring.set_password("hmi-station", "opcua:plc1:operator", "wrong")
    with pytest.raises(CommError) as info:
        read_once(spec)
    assert info.value.kind == "auth"

    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(CommError, match="no keyring backend") as info:
        read_once(spec)
    assert info.value.kind == "auth"


def test_no_security_endpoint_on_a_secured_only_server(secured: ServerThread,
                                                       tmp_path: Path) -> None:
    with pytest.raises(CommError):
        read_once(device(secured.url, tmp_path, "none", username=None))
