"""Fixtures every test layer shares: free ports, a data dir, and a check that no `hmi-*` thread
outlives its test (like pymodbus's `system_health_check`): a leaked device thread is a bug that
would keep a plant station from shutting down."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout_s: float = 5.0,
               interval_s: float = 0.01) -> object:
    """Poll `predicate` until truthy or fail after `timeout_s`: a deadline, not a sleep."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("HMI_DATA_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def audit_key_dir(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Audit keys and anchors go outside the data dir (`hmi.security.audit_key`): here a fresh
    folder per test, never the real user config dir; and a fresh keyring probe per test."""
    import keyring
    import keyring.backends.fail

    from hmi.security import keyring_store

    path = tmp_path_factory.mktemp("audit-keys")
    monkeypatch.setenv("HMI_AUDIT_KEY_DIR", str(path))
    # keyring registers every KeyringBackend subclass a test module defines and would pick the
    # highest priority one on its own: pin this box's real default, tests choose their own
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    keyring_store.reset()
    yield path
    keyring.set_keyring(previous)
    keyring_store.reset()


@pytest.fixture(autouse=True)
def no_leaked_hmi_threads() -> Iterator[None]:
    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate()
                  if t.name.startswith("hmi-") and t.ident not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"
