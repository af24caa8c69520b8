"""Argon2id password hashes (argon2-cffi), with parameters from the project file.

Why these choices: OWASP's 2023 minimum for argon2id is m=19 MiB, t=2, p=1, measured here at
about 19 ms per verification on a 2-core machine (`docs/notes/issue-14.md`), cheap for a login
and costly for an offline guesser. When the parameters change, a hash made with the old ones is
replaced at the next successful login (`needs_rehash`). An unknown user name is verified
against a dummy hash made with the same parameters, so both failures take the same time.
Hashing blocks for tens of milliseconds: call from a worker, never the Qt thread.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@functools.lru_cache(maxsize=8)
def hasher(memory_kib: int = 19456, time_cost: int = 2, parallelism: int = 1) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                          hash_len=32, salt_len=16, type=Type.ID)


@functools.lru_cache(maxsize=8)
def _dummy_hash(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return hasher(memory_kib, time_cost, parallelism).hash("not a password of anyone")


def hash_password(password: str, params: tuple[int, int, int]) -> str:
    return hasher(*params).hash(password)


def verify(stored: str | None, password: str, params: tuple[int, int, int]) -> bool:
    """True when `password` matches `stored`; with `stored` None (unknown user) the same work
    is done against a dummy hash and False returned."""
    ph = hasher(*params)
    try:
        return ph.verify(stored or _dummy_hash(*params), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str, params: tuple[int, int, int]) -> bool:
    try:
        return hasher(*params).check_needs_rehash(stored)
    except InvalidHashError:
        return True
