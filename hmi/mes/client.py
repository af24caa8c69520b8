"""The station as an OPC UA client of the MES: `Objects/MES/SubmitEvents(events: String) -> Int32`
in namespace `urn:hmi-station:mes` (configurable).

Security is the OPC UA driver's, reused (`drivers.opcua_security`): the same client certificate
and trust store under `<data>/pki`, an unknown MES certificate refused and saved to
`pki/rejected/` with the `hmi certs trust` hint, and the password from the OS keyring by the
`[mes] password_secret` name (default "opcua:mes:<username>"), resolved with the security
layer's timeout. The client is the driver's `GuardedClient`: the MES password is sent only
encrypted, never in clear over an unencrypted channel nor under a deprecated policy
(Basic128Rsa15, Basic256); otherwise the sender stays disconnected with that reason (issue
14). A fresh client per connection, as the driver does.

`max_payload` is the largest JSON text one call may carry: the message size the server
negotiated in its Acknowledge (the smaller of MaxMessageSize and MaxChunkCount x chunk size)
minus headroom for the request's own encoding and per-chunk security headers.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from drivers.base import CommError
from drivers.opcua_security import (
    SECURITY_MODES,
    GuardedClient,
    Pki,
    ServerCertificateCheck,
    application_uri,
    ensure_client_certificate,
)

log = logging.getLogger(__name__)
CHUNK_OVERHEAD = 512  # bytes per chunk kept free for headers, padding and signature
REQUEST_OVERHEAD = 4096  # the CallRequest around the string
SESSION_TIMEOUT_MS = 30_000  # a dead station's session is dropped by the MES after this


class MesUnavailable(Exception):
    """The MES cannot be reached or its interface is not there; the message says why."""


class MesClient:
    """One connection to the MES. Lives in the sender's thread and loop."""

    def __init__(self, url: str, security: str, username: str | None, namespace: str,
                 timeout_s: float, data_dir: Path, password_secret: str | None = None) -> None:
        self.url = url
        self.security = security
        self.username = username
        self.password_secret = password_secret
        self.namespace = namespace
        self.timeout_s = timeout_s
        self.data_dir = Path(data_dir)
        self._client: Client | None = None
        self._object: object | None = None
        self._method: ua.NodeId | None = None
        self.max_payload = 0

    @property
    def connected(self) -> bool:
        client = self._client
        return client is not None and client.uaclient.state is UaClientState.CONNECTED

    async def connect(self) -> None:
        await self.close()
        client = GuardedClient(self.url, timeout=self.timeout_s)
        client.application_uri = application_uri()
        client.name = client.description = "hmi-station MES sync"
        client.session_timeout = SESSION_TIMEOUT_MS
        check: ServerCertificateCheck | None = None
        self._client = client
        try:
            if self.security != "none":
                pki = Pki.under(self.data_dir)
                cert, key = await ensure_client_certificate(pki)
                check = ServerCertificateCheck(pki)
                client.certificate_validator = check
                await client.set_security(SecurityPolicyBasic256Sha256, str(cert), str(key),
                                          mode=SECURITY_MODES[self.security])
            if self.username:
                client.set_user(self.username)
                client.set_password(self._password())
            await client.connect()
            idx = await client.get_namespace_index(self.namespace)
            mes = await client.nodes.objects.get_child(f"{idx}:MES")
            method = await mes.get_child(f"{idx}:SubmitEvents")
        except CommError as exc:
            await self.close()
            raise MesUnavailable(str(exc)) from None
        except ValueError:
            await self.close()
            raise MesUnavailable(f"{self.url} has no namespace {self.namespace}") from None
        except ua.UaStatusCodeError as exc:
            await self.close()
            if check is not None and check.problem is not None:
                raise MesUnavailable(str(check.problem)) from None
            if exc.code == ua.StatusCodes.BadNoMatch:
                raise MesUnavailable(f"{self.url} has no Objects/MES/SubmitEvents in "
                                     f"{self.namespace}") from None
            raise MesUnavailable(f"cannot connect to {self.url}: {exc}") from None
        except (OSError, TimeoutError, ua.UaError) as exc:
            await self.close()
            if check is not None and check.problem is not None:
                raise MesUnavailable(str(check.problem)) from None
            raise MesUnavailable(f"cannot connect to {self.url}: "
                                 f"{str(exc) or type(exc).__name__}") from None
        self._object, self._method = mes, method.nodeid
        self.max_payload = self._negotiated_payload(client)

    def _password(self) -> str:
        """From the keyring by `password_secret` (default "opcua:mes:<username>"), with the
        security layer's timeout; MesUnavailable saying how to fix it."""
        from hmi.security.secrets import resolve

        entry = self.password_secret or f"opcua:mes:{self.username}"
        try:
            return resolve(entry)
        except LookupError as exc:
            raise MesUnavailable(str(exc)) from None

    @staticmethod
    def _negotiated_payload(client: Client) -> int:
        # asyncua keeps the limits of the server's Acknowledge on the connection object, with
        # no public accessor (asyncua 2.1); without it, assume the spec's 64 KiB chunk x 1.
        try:
            limits = client.uaclient.protocol._connection._limits  # type: ignore[union-attr]
        except AttributeError:
            return 65535 - REQUEST_OVERHEAD
        sizes = []
        if limits.max_message_size:
            sizes.append(int(limits.max_message_size))
        if limits.max_chunk_count and limits.max_send_buffer:
            sizes.append(int(limits.max_chunk_count)
                         * (int(limits.max_send_buffer) - CHUNK_OVERHEAD))
        biggest = min(sizes) if sizes else 100 * 1024 * 1024
        return max(1024, biggest - REQUEST_OVERHEAD)

    async def submit(self, payload: str) -> int:
        """Call SubmitEvents; how many events (from the start) the MES accepted. Raises
        ua.UaStatusCodeError (the MES refused), TimeoutError or a connection error."""
        if self._client is None or self._object is None or self._method is None:
            raise MesUnavailable("not connected")
        result = await self._object.call_method(  # type: ignore[attr-defined]
            self._method, ua.Variant(payload, ua.VariantType.String))
        return int(result)

    async def close(self) -> None:
        client, self._client = self._client, None
        self._object = self._method = None
        if client is None:
            return
        try:
            if client.uaclient.state is UaClientState.CONNECTED:
                with contextlib.suppress(TimeoutError):
                    await client.disconnect()
        except Exception:  # closing a connection that is being dropped anyway: a failing
            # goodbye is only worth a debug line
            log.debug("MES disconnect failed", exc_info=True)
        finally:
            client.uaclient.disconnect_socket()
            await client.drop_background_tasks()  # else the old client lives 45 min more
