"""Where the audit trail's HMAC key and its anchor live: never inside the data directory.

The key (32 random bytes) is kept in the OS keyring when one is usable; otherwise in a key file
readable only by the station's user (mode 0600, folder 0700) under
`$HMI_AUDIT_KEY_DIR` or the platform's user config dir, and the station says so in its status
line and diagnostics. A key file that already exists wins (a keyring that appears later must
not orphan the chain). The anchor, the last (seq, tag) written, is a small JSON file beside the
key, itself MACed with the key, so deleting the newest rows or restoring an older database file
is detected, not only an edited row. Restoring the anchor *and* the database together is not
detectable from this machine alone (see docs/notes/issue-14.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from hmi.security import keyring_store


class AuditKeyError(Exception):
    """No key can be had (unwritable key dir, key lost while entries exist): the trail cannot
    be extended or verified. The station refuses actions and raises an alarm."""


def key_dir() -> Path:
    env = os.environ.get("HMI_AUDIT_KEY_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir("hmi-station",
                                                                   appauthor=False)) / "audit"


def data_id(data_dir: Path) -> str:
    """A stable short id of a data directory: keys and anchors of several stations (or test
    data dirs) on one account never mix."""
    return hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]


@dataclass
class AuditKey:
    key: bytes
    where: str  # "keyring" or the key file's path
    note: str  # "" or why the keyring was not used (shown loudly)
    anchor_path: Path

    @property
    def in_keyring(self) -> bool:
        return self.where == "keyring"

    def status(self) -> str:
        if self.in_keyring:
            return "key in the OS keyring"
        return f"key in file {self.where} (no keyring: {self.note})"

    # ---- anchor ------------------------------------------------------------------------------
    def _mac(self, seq: int, tag: str) -> str:
        return hmac.new(self.key, f"anchor|{seq}|{tag}".encode(), hashlib.sha256).hexdigest()

    def read_anchor(self) -> tuple[int, str] | None:
        """(seq, tag) of the last entry written, None if never written. AuditKeyError if the
        anchor file was tampered with."""
        try:
            data = json.loads(self.anchor_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AuditKeyError(f"audit anchor {self.anchor_path} unreadable: {exc}") from None
        seq, tag = int(data.get("seq", 0)), str(data.get("tag", ""))
        if not hmac.compare_digest(self._mac(seq, tag), str(data.get("mac", ""))):
            raise AuditKeyError(f"audit anchor {self.anchor_path} does not match its MAC "
                                "(edited or from another key)")
        return seq, tag

    def write_anchor(self, seq: int, tag: str) -> None:
        """Advance the anchor to (seq, tag); never moves it back (several processes append).
        Atomic: write a temporary file, then rename, under an advisory lock."""
        lock_path = self.anchor_path.with_suffix(".lock")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with contextlib.suppress(AuditKeyError):
                current = self.read_anchor()
                if current is not None and current[0] >= seq:
                    return
            tmp = self.anchor_path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"seq": seq, "tag": tag, "mac": self._mac(seq, tag)}, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.anchor_path)


def _private_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)


def load_key(data_dir: Path, has_entries: bool) -> AuditKey:
    """The key for this data dir, made on first use. Raises AuditKeyError."""
    folder = key_dir()
    data = Path(data_dir).resolve()
    if folder.resolve() == data or data in folder.resolve().parents:
        raise AuditKeyError(f"the audit key dir {folder} is inside the data dir {data}: "
                            "set HMI_AUDIT_KEY_DIR elsewhere")
    ident = data_id(data_dir)
    try:
        _private_dir(folder)
    except OSError as exc:
        raise AuditKeyError(f"cannot create the audit key dir {folder}: {exc}") from None
    key_file, anchor = folder / f"{ident}.key", folder / f"{ident}.anchor"
    if key_file.exists():
        return AuditKey(_read_key_file(key_file), str(key_file),
                        _keyring_note(), anchor)
    status = keyring_store.probe()
    entry = f"audit-key:{ident}"
    if status.usable:
        try:
            stored = keyring_store.get(entry)
            if stored is None and not has_entries:
                stored = secrets.token_hex(32)
                keyring_store.put(entry, stored)
            if stored is not None:
                return AuditKey(bytes.fromhex(stored), "keyring", "", anchor)
        except (keyring_store.KeyringUnavailable, ValueError) as exc:
            status = keyring_store.KeyringStatus(False, status.backend, str(exc))
    if has_entries:
        raise AuditKeyError("the audit key is missing (no key file, not in the keyring) while "
                            "the trail has entries: it can be neither verified nor extended")
    key = secrets.token_bytes(32)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(key.hex())
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise AuditKeyError(f"cannot write the audit key file {key_file}: {exc}") from None
    return AuditKey(key, str(key_file), status.reason or "keyring not used", anchor)


def _keyring_note() -> str:
    status = keyring_store.probe()
    return status.reason or "a key file made earlier is kept"


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise AuditKeyError(f"audit key file {path} is readable by others (mode {mode:o}); "
                            f"chmod 600 it")
    try:
        return bytes.fromhex(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError) as exc:
        raise AuditKeyError(f"audit key file {path} unreadable: {exc}") from None
