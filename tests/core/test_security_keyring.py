"""Keyring and secrets with the backends a plant box really has: keyring's `fail` backend
(this headless machine's default), a keyring that hangs (a locked collection waiting for an
unlock prompt), a plain-text backend nobody chose, and a working one (an in-memory backend via
keyring's documented extension API). The station starts in every case and says why a secret
is missing; an OPC UA device that needs one stays disconnected with that reason."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import pytest

from hmi.cli.main import main
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.security import keyring_store, secrets
from tests.conftest import free_port, wait_until

OPCUA_PROJECT = """\
[project]
name = "Secrets"

[[devices]]
name = "packer"
protocol = "opcua"
url = "opc.tcp://127.0.0.1:{port}"
security = "Basic256Sha256-SignAndEncrypt"
username = "op"
password_secret = "packer-op"

[[tags]]
name = "Packer.Speed"
device = "packer"
node = "ns=2;s=Speed"
"""


class MemoryKeyring(keyring.backend.KeyringBackend):
    # below the fail backend's 0: keyring registers every subclass and would otherwise pick
    # these on its own in any later test of the session (a hanging one, at that)
    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


class HangingKeyring(MemoryKeyring):
    """Blocks every call until released, like a locked Secret Service collection."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None


class PlaintextKeyring(MemoryKeyring):
    """Named like keyrings.alt's plain-text file backend."""


@pytest.fixture
def backend() -> Iterator[None]:
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)
    keyring_store.reset()


def use(ring: keyring.backend.KeyringBackend) -> None:
    keyring.set_keyring(ring)
    keyring_store.reset()


def station_reason(tmp_path: Path, data_dir: Path) -> tuple[str, str]:
    path = tmp_path / "p.toml"
    path.write_text(OPCUA_PROJECT.format(port=free_port()), encoding="utf-8")
    with Runtime(load_project(path), data_dir) as runtime:
        sample = wait_until(lambda: (s := runtime.tags.get("Packer.Speed")) is not None
                            and "secret" in s.reason and s, timeout_s=20)
        return sample.reason, runtime.services[0].status_summary()  # type: ignore[union-attr]


def test_fail_backend_station_starts_and_says_so(tmp_path: Path, data_dir: Path,
                                                 backend: None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    use(keyring.backends.fail.Keyring())
    status = keyring_store.probe()
    assert not status.usable
    assert "fail backend" in status.reason
    reason, summary = station_reason(tmp_path, data_dir)
    assert "secret 'packer-op' unavailable" in reason
    assert "NO USABLE KEYRING" in summary
    assert "key in file" in summary  # the audit key went to the 0600 file instead
    key_file = next(Path(p) for p in [summary.split("key in file ")[1].split(" ")[0]])
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert not str(key_file).startswith(str(data_dir))
    monkey_stdin(capsys, "s3cret value")
    assert main(["secrets", "set", "packer-op", "--stdin"]) == 1
    err = capsys.readouterr().err
    assert "NOT STORED" in err
    assert "s3cret" not in err
    assert main(["secrets", "list"]) == 0
    assert "NO USABLE KEYRING" in capsys.readouterr().out


def monkey_stdin(capsys: pytest.CaptureFixture[str], text: str) -> None:
    import io
    import sys

    sys.stdin = io.StringIO(text + "\n")


def test_hanging_keyring_does_not_hang_the_station(tmp_path: Path, data_dir: Path,
                                                   backend: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ring = HangingKeyring()
    use(ring)
    monkeypatch.setattr(keyring_store, "TIMEOUT_S", 0.5)
    monkeypatch.setattr(keyring_store.probe, "__defaults__", (0.5,))
    try:
        started = time.monotonic()
        status = keyring_store.probe()
        assert time.monotonic() - started < 3
        assert not status.usable
        assert "did not answer within 0.5 s" in status.reason
        reason, summary = station_reason(tmp_path, data_dir)
        assert "secret 'packer-op' unavailable" in reason
        assert "did not answer" in reason or "did not answer" in summary
        with pytest.raises(secrets.SecretUnavailable, match="did not answer"):
            secrets.resolve("packer-op")
    finally:
        ring.release.set()
    wait_until(lambda: not any(t.name == "hmi-keyring" and t.is_alive()
                               for t in threading.enumerate()), timeout_s=5)


def test_plaintext_backend_refused_unless_chosen(backend: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    use(PlaintextKeyring())
    status = keyring_store.probe()
    assert not status.usable
    assert "plain text" in status.reason
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.PlaintextKeyring")
    assert keyring_store.probe(fresh=True).usable


def test_working_keyring_secrets_set_list_resolve(tmp_path: Path, data_dir: Path,
                                                  backend: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ring = MemoryKeyring()
    use(ring)
    monkey_stdin(capsys, "s3cret value")
    assert main(["secrets", "set", "packer-op", "--stdin"]) == 0
    assert "s3cret" not in capsys.readouterr().out
    assert ring.store[("hmi-station", "packer-op")] == "s3cret value"
    assert "s3cret" not in (data_dir / "secrets.json").read_text()
    assert main(["secrets", "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"packer-op"' in out
    assert '"present": true' in out
    assert "s3cret" not in out
    assert secrets.resolve("packer-op") == "s3cret value"
    with pytest.raises(secrets.SecretUnavailable, match="hmi secrets set other"):
        secrets.resolve("other")
    assert main(["secrets", "set", "bad name!", "--stdin"]) == 2
    # the audit key now goes to the keyring (no key file made)
    from hmi.security.api import Security

    sec = Security(data_dir)
    sec.record("os:test", "x", "y")
    assert sec.audit.key_status() == "key in the OS keyring"
    assert any(k[1].startswith("audit-key:") for k in ring.store)
    assert sec.audit.verify().ok
    sec.close()
