"""Electronic signatures (21 CFR Part 11 / EU GMP Annex 11) for actions marked in the project.

`signature = true` on a tag (or `[security.signatures] oos = true`) means: at the moment of the
action the acting user gives their password again, a meaning (performed / reviewed / approved)
and a reason. `"double"` also needs a second, different user whose role is at least the
first's. The verified signers, meanings and reason go into the action's audit entry, so they
are bound to it by the chain. Passwords are checked and dropped: never stored, logged or shown
(`repr` hides them). Each password check counts toward that name's lockout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hmi.security.roles import MEANINGS, Actor, role_rank
from hmi.security.users import AuthError, UserStore


class SignatureError(Exception):
    """The signature is missing or refused; the message is shown to the user (and audited)."""


@dataclass(frozen=True)
class Signature:
    """What a signature dialog collects. `second_*` only for a double signature."""

    meaning: str
    reason: str
    password: str = field(repr=False)
    second_user: str = ""
    second_password: str = field(default="", repr=False)
    second_meaning: str = "approved"


@dataclass(frozen=True)
class SignatureRecord:
    """A verified signature as the audit trail records it."""

    reason: str
    signers: tuple[tuple[str, str, str], ...]  # (user, role, meaning)

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason,
                "signers": [{"user": u, "role": r, "meaning": m} for u, r, m in self.signers]}


def describe(rule: bool | str) -> str:
    if rule == "double":
        return ("a double electronic signature (your password, a meaning and a reason, then a "
                "second user with at least your role)")
    return "an electronic signature (your password, a meaning and a reason)"


def verify(users: UserStore, actor: Actor, actor_role: str, rule: bool | str,
           signature: Signature | SignatureRecord | None) -> SignatureRecord:
    """Check a signature against `rule`; returns what to audit. SignatureError if refused.
    A `SignatureRecord` is accepted as already verified (the station applying a command the
    CLI verified). Hashes once or twice: call off the GUI thread."""
    if isinstance(signature, SignatureRecord):
        if rule == "double" and len(signature.signers) < 2:
            raise SignatureError(f"needs {describe(rule)}")
        return signature
    if signature is None:
        raise SignatureError(f"needs {describe(rule)}")
    reason = signature.reason.strip()
    if not reason:
        raise SignatureError("a signature needs a reason")
    for meaning in (signature.meaning,) + ((signature.second_meaning,) if rule == "double"
                                           else ()):
        if meaning not in MEANINGS:
            raise SignatureError(f"meaning must be one of {', '.join(MEANINGS)}, "
                                 f"found {meaning!r}")
    try:
        users.authenticate(actor.user, signature.password, purpose="signature")
    except AuthError as exc:
        raise SignatureError(f"signature of {actor.user} refused: {exc}") from None
    signers = [(actor.user, actor_role, signature.meaning)]
    if rule == "double":
        second = signature.second_user.strip()
        if not second:
            raise SignatureError(f"needs {describe(rule)}")
        if second == actor.user:
            raise SignatureError("the second signer must be another user")
        try:
            user = users.authenticate(second, signature.second_password, purpose="signature")
        except AuthError as exc:
            raise SignatureError(f"second signature refused: {exc}") from None
        if role_rank(user.role) < role_rank(actor_role):
            raise SignatureError(f"the second signer needs a role of at least {actor_role} "
                                 f"({second} is {user.role})")
        signers.append((user.name, user.role, signature.second_meaning))
    return SignatureRecord(reason, tuple(signers))
