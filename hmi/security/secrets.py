"""Named secrets (device and MES passwords, key passphrases) in the OS keyring.

The project file names a secret (`password_secret = "plc1-operator"`), never holds it. Values
live only in the keyring under service "hmi-station"; the data directory keeps the *names* that
`hmi secrets set` stored (`secrets.json`), because keyrings cannot list their entries portably.
Without a usable keyring, `store` refuses loudly and `resolve` raises `SecretUnavailable`, so
whatever needs the secret stays disconnected with that reason: never a plain-text fallback.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from hmi.security import keyring_store

NAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


class SecretUnavailable(LookupError):
    """The secret cannot be had; the message is safe to show (it never contains the value).
    A LookupError, so drivers can catch it without importing the security package."""


def check_name(name: str) -> str | None:
    if not NAME.match(name):
        return (f"secret names are 1-128 letters, digits and _ . : @ -, found {name!r}")
    return None


def _registry(data_dir: Path) -> Path:
    return Path(data_dir) / "secrets.json"


def names(data_dir: Path) -> dict[str, float]:
    """Secret name -> when it was last set (epoch s), as recorded by `store`."""
    try:
        return dict(json.loads(_registry(data_dir).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def store(data_dir: Path, name: str, value: str) -> None:
    """Put a secret into the keyring and record its name. KeyringUnavailable, ValueError."""
    problem = check_name(name)
    if problem:
        raise ValueError(problem)
    if not value:
        raise ValueError("the secret is empty")
    keyring_store.put(name, value)
    known = names(data_dir)
    known[name] = time.time()
    path = _registry(data_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(known, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def present(name: str) -> bool | None:
    """Whether the keyring holds `name`; None when the keyring is unusable."""
    try:
        return keyring_store.get(name) is not None
    except keyring_store.KeyringUnavailable:
        return None


def resolve(name: str) -> str:
    """The secret's value, or SecretUnavailable saying why and how to fix it."""
    try:
        value = keyring_store.get(name)
    except keyring_store.KeyringUnavailable as exc:
        raise SecretUnavailable(f"secret {name!r} unavailable: {exc}") from None
    if value is None:
        raise SecretUnavailable(f"secret {name!r} is not set; store it with: "
                                f"hmi secrets set {name} --stdin")
    return value
