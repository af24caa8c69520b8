"""The user-name token goes out only encrypted: never in clear over an unencrypted channel,
never under a deprecated policy (Basic128Rsa15, Basic256); and a project file may not ask for
a user name without channel security."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncua import ua

from drivers.base import CommError
from drivers.opcua import OpcUaDriver
from drivers.opcua_security import token_problem
from hmi.project import ProjectInvalid, load_project
from hmi.tags import DeviceSpec, Point
from tests.drivers.opcua_fixtures import ServerThread

BASIC256SHA256 = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"
NONE = "http://opcfoundation.org/UA/SecurityPolicy#None"


def test_token_rules() -> None:
    sign, encrypt = ua.MessageSecurityMode.Sign, ua.MessageSecurityMode.SignAndEncrypt
    assert token_problem(BASIC256SHA256, sign) is None
    assert token_problem(NONE, encrypt) is None  # the channel encrypts it
    assert "unencrypted" in (token_problem(NONE, ua.MessageSecurityMode.None_) or "")
    assert "unencrypted" in (token_problem("", sign) or "")
    for old in ("Basic128Rsa15", "Basic256"):
        problem = token_problem(f"http://opcfoundation.org/UA/SecurityPolicy#{old}", encrypt)
        assert problem == f"the server wants the password encrypted with the deprecated " \
                          f"{old} policy: not sent"


@pytest.fixture(scope="module")
def plain_server() -> Iterator[ServerThread]:
    server = ServerThread(users={"operator": "s3cret"}).start()
    yield server
    server.stop()


def test_password_never_sent_in_clear(plain_server: ServerThread, tmp_path: Path) -> None:
    asked: list[str] = []

    def secrets(name: str) -> str:
        asked.append(name)
        return "s3cret"

    spec = DeviceSpec("plc1", "opcua", timeout_s=2.0, data_dir=str(tmp_path), secrets=secrets,
                      settings={"url": plain_server.url, "security": "none",
                                "username": "operator"})
    points = [Point("Speed", "plc1", data_type="auto", node="ns=2;s=Plant.Speed")]

    async def body() -> None:
        driver = OpcUaDriver(spec, points)
        try:
            await driver.connect()
        finally:
            await driver.close()

    with pytest.raises(CommError, match="unencrypted") as info:
        asyncio.run(body())
    assert info.value.kind == "security"
    assert asked == ["opcua:plc1:operator"]


def test_project_refuses_a_user_name_without_security(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[project]\nname = "x"\n\n[[devices]]\nname = "plc"\nprotocol = "opcua"\n'
                    'url = "opc.tcp://127.0.0.1:4840"\nusername = "op"\n', encoding="utf-8")
    with pytest.raises(ProjectInvalid) as info:
        load_project(path)
    assert [str(e) for e in info.value.errors] == [
        f"{path}:8: devices.plc.username: a user name needs security = "
        "\"Basic256Sha256-SignAndEncrypt\" (or -Sign): with \"none\" the password would cross "
        "the network in clear"]
