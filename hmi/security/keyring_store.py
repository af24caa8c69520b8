"""The OS keyring, asked carefully: is there a usable backend, and does it answer in time?

Why this exists: on a headless box `keyring` falls back to its `fail` backend (every call
raises), a chainer can hold no backend at all, `keyrings.alt` can silently pick a plain-text
file, and a locked Secret Service collection can block a call forever (waiting for an unlock
prompt nobody sees). Every call here runs in a short-lived worker thread (`hmi-keyring`) with a
timeout; a call that does not answer marks the keyring unusable for this process while that
thread is stuck, instead of hanging a device thread or the station's start. Nothing here ever
falls back to storing a secret in plain text: callers get `KeyringUnavailable` with the reason.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import keyring
import keyring.backend
import keyring.errors

SERVICE = "hmi-station"
TIMEOUT_S = 3.0
T = TypeVar("T")


class KeyringUnavailable(Exception):
    """No usable keyring: the message says why (no backend, plain-text refused, not answering)."""


@dataclass(frozen=True)
class KeyringStatus:
    usable: bool
    backend: str  # class name of the chosen backend, e.g. "SecretService Keyring"
    reason: str  # why not usable; "" when usable

    def line(self) -> str:
        return f"keyring {self.backend}" if self.usable else f"NO USABLE KEYRING ({self.reason})"


_lock = threading.Lock()
_stuck: threading.Thread | None = None  # a call that never came back
_status: KeyringStatus | None = None


def reset() -> None:
    """Forget the cached probe (tests switching backends; after `keyring` is reconfigured)."""
    global _status
    with _lock:
        _status = None


def _backends(backend: keyring.backend.KeyringBackend) -> list[keyring.backend.KeyringBackend]:
    inner = getattr(backend, "backends", None)  # ChainerBackend
    return list(inner) if isinstance(inner, list | tuple) else [backend]


def _unusable_reason(backend: keyring.backend.KeyringBackend) -> str:
    """Why this backend cannot hold secrets, or "" if it can."""
    backends = _backends(backend)
    if not backends:
        return "the keyring chainer has no backend"
    names = []
    for b in backends:
        module = type(b).__module__
        if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
            names.append(f"the {module.rsplit('.', 1)[-1]} backend")
            continue
        plain = "plaintext" in type(b).__name__.lower() or "plaintext" in module.lower()
        if plain and "PYTHON_KEYRING_BACKEND" not in os.environ:
            names.append(f"{type(b).__name__} (plain text, refused unless chosen explicitly)")
            continue
        return ""
    return "only " + ", ".join(names) + " available"


def _call(fn: Callable[[], T], timeout_s: float) -> T:
    """Run `fn` in a worker with a deadline. Any thread. Raises KeyringUnavailable."""
    global _stuck, _status
    with _lock:
        if _stuck is not None and _stuck.is_alive():
            raise KeyringUnavailable("the keyring did not answer an earlier call "
                                     "(a locked collection waiting for an unlock prompt?)")
        _stuck = None
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - thread boundary: handed to the caller
            box["error"] = exc

    worker = threading.Thread(target=run, name="hmi-keyring", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        with _lock:
            _stuck = worker
            _status = KeyringStatus(False, _status.backend if _status else "?",
                                    f"the keyring did not answer within {timeout_s:g} s "
                                    "(locked collection?)")
        raise KeyringUnavailable(_status.reason)
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, keyring.errors.KeyringError | RuntimeError | OSError):
            raise KeyringUnavailable(f"keyring error: {exc or type(exc).__name__}") from None
        raise exc
    return box["value"]


def probe(timeout_s: float = TIMEOUT_S, *, fresh: bool = False) -> KeyringStatus:
    """Is there a keyring that can hold secrets and answers within `timeout_s`? Cached per
    process (a probe is a round trip to the secret service); `fresh=True` asks again."""
    global _status
    with _lock:
        if _status is not None and not fresh:
            return _status
    backend = keyring.get_keyring()
    name = getattr(backend, "name", type(backend).__name__)
    reason = _unusable_reason(backend)
    if not reason:
        try:
            _call(lambda: backend.get_password(SERVICE, "__probe__"), timeout_s)
        except KeyringUnavailable as exc:
            reason = str(exc)
    status = KeyringStatus(not reason, str(name), reason)
    with _lock:
        _status = status
    return status


def get(name: str, timeout_s: float = TIMEOUT_S) -> str | None:
    """The secret stored under `name`, None if none is. Raises KeyringUnavailable."""
    status = probe(timeout_s)
    if not status.usable:
        raise KeyringUnavailable(status.reason)
    return _call(lambda: keyring.get_password(SERVICE, name), timeout_s)


def put(name: str, value: str, timeout_s: float = TIMEOUT_S) -> None:
    status = probe(timeout_s)
    if not status.usable:
        raise KeyringUnavailable(status.reason)
    _call(lambda: keyring.set_password(SERVICE, name, value), timeout_s)
