"""OPC UA security for the client: our certificate, the trust store, and passwords.

Why this exists: asyncua's client validates nothing about the server by default, so a
man-in-the-middle with any certificate would get our user's password. Here an unknown server
certificate is refused and saved to `<data>/pki/rejected/`, and the message tells the user the
one command that trusts it (`hmi certs trust FILE`), as UaExpert and the OPC Foundation
stacks do. Layout under the data dir:

    pki/own/client_cert.der, client_key.pem   generated on first use (key file mode 0600)
    pki/trusted/*.der|*.pem                   server certificates (or their CAs) we accept
    pki/rejected/*.der                        certificates we refused, waiting for a decision

Passwords never live in the project file: they come from the OS keyring under service
"hmi-station", by the device's `password_secret` name (default "opcua:<device>:<username>"),
and are sent only encrypted: `GuardedClient` refuses a user-name token that would cross the
network in clear (no token encryption on an unencrypted channel) or encrypted with a deprecated
policy (Basic128Rsa15, Basic256: SHA-1 and weak padding, deprecated by the OPC Foundation).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.errors
from asyncua import Client, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto import cert_gen
from asyncua.crypto.security_policies import SecurityPolicyNone
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from drivers.base import CommError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "hmi-station"
SECURITY_MODES = {
    "Basic256Sha256-Sign": ua.MessageSecurityMode.Sign,
    "Basic256Sha256-SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}
# What we check of a server's certificate: valid now, issued for the application it claims
# to be (URI in the SubjectAltName), trusted by us, not revoked. Key-usage bits are not
# checked: several PLC vendors' certificates omit some, and trust is the user's decision.
SERVER_CHECKS = (CertificateValidatorOptions.TIME_RANGE | CertificateValidatorOptions.URI
                 | CertificateValidatorOptions.TRUSTED | CertificateValidatorOptions.REVOKED
                 | CertificateValidatorOptions.PEER_SERVER)


DEPRECATED_POLICIES = {
    "http://opcfoundation.org/UA/SecurityPolicy#Basic128Rsa15": "Basic128Rsa15",
    "http://opcfoundation.org/UA/SecurityPolicy#Basic256": "Basic256",
}


def token_problem(token_policy_uri: str | None, channel_mode: ua.MessageSecurityMode
                  ) -> str | None:
    """Why a password must not be sent under this user-token policy and channel, or None."""
    if token_policy_uri in DEPRECATED_POLICIES:
        return (f"the server wants the password encrypted with the deprecated "
                f"{DEPRECATED_POLICIES[token_policy_uri]} policy: not sent")
    unencrypted = not token_policy_uri or token_policy_uri == SecurityPolicyNone.URI
    if unencrypted and channel_mode != ua.MessageSecurityMode.SignAndEncrypt:
        return ("the password would cross the network unencrypted (no user-token encryption "
                "on an unencrypted channel): not sent; use security = "
                "\"Basic256Sha256-SignAndEncrypt\"")
    return None


class GuardedClient(Client):
    """asyncua's Client that checks how the password would travel before sending it.

    Hooks `_add_user_auth`, the one place asyncua 2.1 builds the user-name token (pinned to
    asyncua 2.1.x in pyproject): asyncua itself only logs a warning and sends it in clear."""

    def _add_user_auth(self, params: ua.ActivateSessionParameters, username: str | None,
                       password: str | None) -> None:
        policy = self.server_policy(ua.UserTokenType.UserName)
        problem = token_problem(policy.SecurityPolicyUri, self.security_policy.Mode)
        if problem is not None:
            raise CommError(problem, kind="security")
        super()._add_user_auth(params, username, password)

    async def drop_background_tasks(self) -> None:
        """Cancel any background task of this client still running (channel renew, supervisor,
        stale watchdog). Why: the renew task only notices a disconnect when it next wakes, 75 %
        of the channel lifetime later (45 min by default), and holds the whole client until
        then. asyncua 2.1 cancels it itself on the paths our tests drive (a clean close, a dead
        server, a refused session), yet the 100-minute soak ended with 8 such tasks failing
        "never retrieved"; this makes sure. Call after the socket is gone."""
        for name in ("_renew_channel_task", "_supervisor_task", "_stale_watchdog_task"):
            task = getattr(self, name, None)
            if isinstance(task, asyncio.Task) and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


def application_uri() -> str:
    """Our client's application URI; it must match the URI in our certificate."""
    return f"urn:{socket.gethostname()}:hmi-station:client"


@dataclass(frozen=True)
class Pki:
    """The certificate folders under one data dir. Any thread (plain file operations)."""

    root: Path

    @classmethod
    def under(cls, data_dir: str | os.PathLike[str]) -> Pki:
        return cls(Path(data_dir) / "pki")

    @property
    def own(self) -> Path:
        return self.root / "own"

    @property
    def trusted(self) -> Path:
        return self.root / "trusted"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def crl(self) -> Path:
        return self.root / "crl"

    @property
    def cert_path(self) -> Path:
        return self.own / "client_cert.der"

    @property
    def key_path(self) -> Path:
        return self.own / "client_key.pem"

    def ensure_dirs(self) -> None:
        for folder in (self.own, self.trusted, self.rejected, self.crl):
            folder.mkdir(parents=True, exist_ok=True)


async def ensure_client_certificate(pki: Pki) -> tuple[Path, Path]:
    """(cert, key) paths, generating a self-signed pair on first use (or when the host name
    or application URI changed, or the certificate expired)."""
    pki.ensure_dirs()
    await cert_gen.setup_self_signed_certificate(
        pki.key_path, pki.cert_path, application_uri(), socket.gethostname(),
        [ExtendedKeyUsageOID.CLIENT_AUTH], {"organizationName": "hmi-station"})
    os.chmod(pki.key_path, 0o600)
    return pki.cert_path, pki.key_path


def load_cert(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else "unnamed"


class FolderTrustStore(TrustStore):
    """asyncua's TrustStore plus exact-match trust: a self-signed server certificate copied
    into trusted/ is trusted as is (the library's chain verifier wants a CA and a leaf)."""

    def __init__(self, pki: Pki) -> None:
        super().__init__([pki.trusted], [pki.crl])
        self._fingerprints: set[str] = set()
        self._subjects: set[x509.Name] = set()  # of the trusted certificates (possible issuers)
        self._pki = pki

    async def load(self) -> None:
        self._fingerprints = set()
        self._subjects = set()
        for path in sorted(self._pki.trusted.glob("*")):
            if path.suffix.lower() in (".der", ".pem"):
                try:
                    cert = load_cert(path)
                except ValueError:
                    log.warning("cannot read trusted certificate %s", path)
                    continue
                self._fingerprints.add(fingerprint(cert))
                self._subjects.add(cert.subject)
        await self.load_crl()
        if self._fingerprints:  # the library refuses to build an empty store
            await self.load_trust()

    def is_trusted(self, certificate: x509.Certificate) -> bool:
        if fingerprint(certificate) in self._fingerprints:
            return True
        return certificate.issuer in self._subjects and super().is_trusted(certificate)


class ServerCertificateCheck:
    """`Client.certificate_validator`: validates the server's certificate at CreateSession and,
    when it is unknown, saves it to rejected/ and keeps the message for the driver to raise."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.store = FolderTrustStore(pki)
        self.validator = CertificateValidator(SERVER_CHECKS, self.store)
        self.problem: CommError | None = None

    async def __call__(self, cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        self.problem = None
        self.pki.ensure_dirs()
        await self.store.load()
        try:
            await self.validator.validate(cert, app)
        except ServiceError as exc:
            status = ua.StatusCode(exc.code)
            if exc.code in (ua.StatusCodes.BadCertificateUntrusted,
                            ua.StatusCodes.BadCertificateRevoked):
                path = save_rejected(self.pki, cert)
                self.problem = CommError(
                    f"server certificate not trusted ({common_name(cert)}); saved to {path}; "
                    f"trust it with: hmi certs trust {path}", kind="untrusted")
            else:
                self.problem = CommError(
                    f"server certificate refused: {status.name} ({common_name(cert)})",
                    kind="certificate")
            raise


def save_rejected(pki: Pki, cert: x509.Certificate) -> Path:
    """Store a refused certificate under a stable, readable name; returns its path."""
    pki.ensure_dirs()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", common_name(cert)).strip("_") or "server"
    path = pki.rejected / f"{name}-{fingerprint(cert)[:12]}.der"
    path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    return path


def trust_file(pki: Pki, source: Path) -> Path:
    """Copy a certificate into trusted/ (and drop it from rejected/). ValueError if unreadable."""
    cert = load_cert(source)
    pki.ensure_dirs()
    target = pki.trusted / (source.stem + ".der")
    target.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    if source.resolve().parent == pki.rejected.resolve():
        source.unlink()
    return target


def describe(path: Path) -> dict[str, str]:
    """One certificate as `hmi certs list` shows it."""
    try:
        cert = load_cert(path)
    except ValueError as exc:
        return {"file": str(path), "subject": f"unreadable: {exc}", "expires": "", "sha256": ""}
    return {
        "file": str(path),
        "subject": common_name(cert),
        "expires": cert.not_valid_after_utc.strftime("%Y-%m-%d"),
        "sha256": fingerprint(cert)[:16],
    }


def list_certificates(pki: Pki) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for label, folder in (("own", pki.own), ("trusted", pki.trusted), ("rejected", pki.rejected)):
        files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".der", ".pem")) \
            if folder.is_dir() else []
        out[label] = [describe(p) for p in files if p != pki.key_path]
    return out


def password_for(device: str, username: str, entry: str | None = None) -> str:
    """The user's password from the OS keyring (standalone use: the runtime passes a resolver
    with a timeout instead); CommError(kind="auth") saying how to fix it."""
    entry = entry or f"opcua:{device}:{username}"
    try:
        password = keyring.get_password(KEYRING_SERVICE, entry)
    except keyring.errors.NoKeyringError:
        raise CommError(
            f"no keyring backend: cannot read the password of {username!r} for device "
            f"{device} (install/unlock an OS keyring, then: keyring set {KEYRING_SERVICE} {entry})",
            kind="auth") from None
    except keyring.errors.KeyringError as exc:
        raise CommError(f"keyring error reading the password of {username!r}: {exc}",
                        kind="auth") from None
    if password is None:
        raise CommError(
            f"no password for {username!r} in the keyring; store it with: "
            f"keyring set {KEYRING_SERVICE} {entry}", kind="auth")
    return password
