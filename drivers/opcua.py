"""OPC UA client driver: subscriptions by default, polling per tag as a fallback.

Why it is shaped this way:

- A fresh `asyncua.Client` on every `connect()` (not asyncua's auto_reconnect): the runner owns
  backoff and BAD marking for every protocol alike, and a fresh client cannot carry half-dead
  state (old session, stale subscription ids) over a server restart.
- Subscriptions go through asyncua's low-level session API with our own publish callback:
  one `PublishResponse` becomes one batch of `Sample`s handed to the sink, with no task per
  notification (asyncua's high-level `Subscription` spawns a task per value, which is what
  caps a raw client at 10,000 items; see `hmi bench --only opcua`). The callback does no I/O
  and never awaits.
- One subscription per publishing interval (the device's `publishing_ms`, or a tag's slower
  `sampling_ms`), monitored items created in batches of `ITEM_BATCH`.
- `supervise()` returns by raising `CommError` when asyncua's connection supervisor (a
  server_state probe every `watchdog_s`) gives up, when a subscription reports a Bad status
  (server shutdown, subscription timeout), or when no publish response or keep-alive came for
  two keep-alive periods: the runner then marks the tags BAD and reconnects.

Device keys: url, security, username, publishing_ms. Tag keys: node, type, sampling_ms,
deadband (absolute, engineering units), mode (auto | subscribe | poll), min/max, scale/offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import platformdirs
from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from drivers import opcua_noise  # noqa: F401 (installs its log filter)
from drivers.base import CommError, DriverHealth, WriteRejected
from drivers.opcua_security import (
    SECURITY_MODES,
    GuardedClient,
    Pki,
    ServerCertificateCheck,
    application_uri,
    ensure_client_certificate,
    password_for,
)
from drivers.opcua_types import (
    DECLARED_VARIANTS,
    comm_error,
    decode,
    epoch,
    node_problem,
    parse_node,
    quality_of,
    variant_for_write,
)
from hmi.tags import DeviceSpec, Point, Quality, Reason, Sample, SampleSink, Scalar, bad

log = logging.getLogger(__name__)


ITEM_BATCH = 1000  # monitored items per CreateMonitoredItems request
READ_BATCH = 2000  # nodes per Read request
KEEPALIVE_S = 2.0  # target keep-alive period of an idle subscription
SESSION_TIMEOUT_MS = 30_000  # a dead client's session is dropped by the server after this
MODES = ("auto", "subscribe", "poll")
# Creation failures that polling cannot fix: the node itself is wrong.
_NODE_ERRORS = {ua.StatusCodes.BadNodeIdUnknown, ua.StatusCodes.BadNodeIdInvalid,
                ua.StatusCodes.BadAttributeIdInvalid}


def check_point(point: Point) -> list[tuple[str, str]]:
    """Project-load checks of one tag (field, message), without connecting."""
    problems = []
    problem = node_problem(point.node)
    if problem:
        problems.append(("node", problem))
    if point.data_type not in ("auto", *DECLARED_VARIANTS):
        problems.append(("type", f"must be one of {', '.join(DECLARED_VARIANTS)} or unset "
                                 f"(as the server sends), found {point.data_type!r}"))
    if point.mode not in MODES:
        problems.append(("mode", f"must be one of {', '.join(MODES)}, found {point.mode!r}"))
    if point.deadband and point.data_type in ("bool", "string"):
        problems.append(("deadband", f"applies to numbers only, not {point.data_type}"))
    return problems


def _default_data_dir() -> str:
    return os.environ.get("HMI_DATA_DIR") or platformdirs.user_data_dir("hmi-station",
                                                                         appauthor=False)


class OpcUaDriver:
    """One OPC UA server. Lives in its device thread and loop (see `hmi.device_runner`)."""

    push: ClassVar[bool] = True

    def __init__(self, device: DeviceSpec, points: Sequence[Point]) -> None:
        settings = device.settings
        self._device = device
        self._points = list(points)
        self._url = str(settings.get("url") or "")
        self._security = str(settings.get("security") or "none")
        self._username = settings.get("username")
        self._publishing_ms = float(settings.get("publishing_ms") or 500)
        self._timeout_s = max(float(device.timeout_s), 0.5)
        self._health = DriverHealth()
        self._client: Client | None = None
        self._nodes: dict[str, ua.NodeId] = {}
        self._node_errors: dict[str, str] = {}
        self._vtypes: dict[str, ua.VariantType] = {}  # node's own type, learned from values
        self._handles: dict[int, Point] = {}
        self._reported: set[int] = set()  # handles that delivered their initial value
        self._clock = device.clock  # station time: receive times and stamps for local values
        self._skew_s = float(device.skew_s)
        self._next_handle = 0
        self._subscriptions: list[int] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._sink: SampleSink | None = None
        self._lost: asyncio.Event | None = None
        self._lost_reason = ""
        self._last_publish = 0.0
        self._keepalive_s = KEEPALIVE_S
        self._rate_mark = (time.monotonic(), 0)
        self.polled: list[str] = []  # tags served by polling (mode poll, or fallback)

    # ---- connection --------------------------------------------------------------------------
    async def connect(self) -> None:
        await self.close()
        client = GuardedClient(self._url, timeout=self._timeout_s,
                        watchdog_intervall=max(1.0, self._timeout_s))
        client.application_uri = application_uri()
        client.name = client.description = f"hmi-station {self._device.name}"
        client.session_timeout = SESSION_TIMEOUT_MS
        self._client = client
        self._lost = asyncio.Event()
        self._lost_reason = ""
        client.connection_lost_callback = self._on_connection_lost
        check: ServerCertificateCheck | None = None
        try:
            if self._username:  # first: without its secret the device is not even dialled
                client.set_user(self._username)
                client.set_password(self._password())
            if self._security != "none":
                check = await self._secure(client)
            await client.connect()
            namespaces = await client.get_namespace_array()
        except CommError:
            raise
        except (OSError, TimeoutError, ua.UaError) as exc:
            if check is not None and check.problem is not None:
                raise check.problem from None
            raise comm_error(exc, f"cannot connect to {self._url}") from None
        self._resolve(namespaces)
        self._health.connected = True
        self._health.extra.update({"endpoint": self._url, "security": self._security})

    def _password(self) -> str:
        """From the keyring by the device's `password_secret` name; CommError(kind="auth")
        when it cannot be had, so the device stays disconnected with that reason."""
        entry = str(self._device.settings.get("password_secret")
                    or f"opcua:{self._device.name}:{self._username}")
        resolve = self._device.secrets
        if resolve is None:
            return password_for(self._device.name, str(self._username), entry)
        try:
            return resolve(entry)
        except LookupError as exc:
            raise CommError(str(exc), kind="auth") from None

    async def _secure(self, client: GuardedClient) -> ServerCertificateCheck:
        pki = Pki.under(self._device.data_dir or _default_data_dir())
        cert, key = await ensure_client_certificate(pki)
        check = ServerCertificateCheck(pki)
        client.certificate_validator = check
        try:
            await client.set_security(SecurityPolicyBasic256Sha256, str(cert), str(key),
                                      mode=SECURITY_MODES[self._security])
        except ua.UaError as exc:  # no endpoint offers this policy and mode
            raise CommError(f"{self._url} offers no {self._security} endpoint ({exc})",
                            kind="security") from None
        return check

    def _resolve(self, namespaces: Sequence[str]) -> None:
        self._nodes, self._node_errors = {}, {}
        for point in self._points:
            try:
                self._nodes[point.tag] = parse_node(point.node or "", namespaces)
            except (ValueError, ua.UaStringParsingError) as exc:
                self._node_errors[point.tag] = f"node {point.node!r}: {exc}"

    async def _on_connection_lost(self, exc: Exception) -> None:
        self._mark_lost(f"connection lost: {str(exc) or type(exc).__name__}")

    def _mark_lost(self, reason: str) -> None:
        if self._lost is not None and not self._lost.is_set():
            self._lost_reason = reason
            self._lost.set()

    def _require(self) -> Client:
        if self._client is None or self._client.uaclient.state is not UaClientState.CONNECTED:
            raise CommError(f"not connected to {self._url}", kind="closed")
        return self._client

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        client, self._client = self._client, None
        self._handles, self._subscriptions, self._sink = {}, [], None
        self._health.connected = False
        if client is None:
            return
        try:
            if client.uaclient.state is UaClientState.CONNECTED:
                await asyncio.wait_for(client.disconnect(), self._timeout_s + 1)
            else:
                await asyncio.wait_for(client.close_session(), self._timeout_s + 1)
        except Exception:  # close must never raise (runner contract) and the connection is
            # being dropped anyway, so a failing goodbye is only worth a debug line
            log.debug("device %s: disconnect failed", self._device.name, exc_info=True)
        finally:
            client.uaclient.disconnect_socket()
            await client.drop_background_tasks()

    def health(self) -> DriverHealth:
        now = time.monotonic()
        mark_t, mark_n = self._rate_mark
        if now - mark_t >= 1.0:
            rate = (self._health.notifications - mark_n) / (now - mark_t)
            self._health.extra["notifications_per_s"] = round(rate, 1)
            self._rate_mark = (now, self._health.notifications)
        age = now - self._last_publish if self._subscriptions else None
        self._health.extra.update({
            "keepalive": "n/a" if age is None else
            ("ok" if age <= self._keepalive_s * 1.5 + self._timeout_s else "late"),
            "last_publish_age_s": None if age is None else round(age, 2),
            "subscriptions": len(self._subscriptions),
            "monitored_items": len(self._handles),
            "polled_tags": len(self.polled),
        })
        return self._health

    # ---- subscriptions -----------------------------------------------------------------------
    async def subscribe(self, points: Sequence[Point], sink: SampleSink) -> None:
        client = self._require()
        self._sink = sink
        self._reported.clear()
        now = self._clock()
        broken = [bad(p.tag, Reason.CONFIG_ERROR, self._node_errors[p.tag], now)
                  for p in points if p.tag in self._node_errors]
        usable = [p for p in points if p.tag in self._nodes]
        polled = [p for p in usable if p.mode == "poll"]
        groups: dict[float, list[Point]] = {}
        for point in usable:
            if point.mode != "poll":
                sampling_ms = (point.sampling_s or 0) * 1000
                groups.setdefault(max(self._publishing_ms, sampling_ms), []).append(point)
        self._last_publish = time.monotonic()
        for period_ms, members in sorted(groups.items()):
            fallback, failed = await self._subscribe_group(client, period_ms, members)
            polled += fallback
            broken += failed
        if broken:
            sink(broken)
        self.polled = [p.tag for p in polled]
        if polled:
            self._tasks.append(asyncio.ensure_future(self._poll_loop(polled)))

    async def _subscribe_group(self, client: Client, period_ms: float, points: list[Point]
                               ) -> tuple[list[Point], list[Sample]]:
        """One subscription for `points`; returns (points to poll instead, BAD samples)."""
        keepalive = max(1, math.ceil(KEEPALIVE_S * 1000 / period_ms))
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=period_ms, RequestedLifetimeCount=keepalive * 10,
            RequestedMaxKeepAliveCount=keepalive, MaxNotificationsPerPublish=0,
            PublishingEnabled=True, Priority=0)
        try:
            result = await client.uaclient.create_subscription(params, self._on_publish)
        except (OSError, TimeoutError, ua.UaError) as exc:
            raise comm_error(exc, "cannot create a subscription") from None
        self._subscriptions.append(result.SubscriptionId)
        revised_s = result.RevisedPublishingInterval * result.RevisedMaxKeepAliveCount / 1000
        self._keepalive_s = max(self._keepalive_s, revised_s)
        fallback: list[Point] = []
        failed: list[Sample] = []
        for start in range(0, len(points), ITEM_BATCH):
            batch = points[start:start + ITEM_BATCH]
            requests = [self._item_request(p, period_ms) for p in batch]
            for request, point in zip(requests, batch, strict=True):
                self._handles[request.RequestedParameters.ClientHandle] = point
            create = ua.CreateMonitoredItemsParameters(
                SubscriptionId=result.SubscriptionId,
                TimestampsToReturn=ua.TimestampsToReturn.Both, ItemsToCreate=requests)
            try:
                results = await client.uaclient.create_monitored_items(create)
            except (OSError, TimeoutError, ua.UaError) as exc:
                raise comm_error(exc, "cannot create monitored items") from None
            for request, point, item in zip(requests, batch, results, strict=True):
                if item.StatusCode.is_good():
                    continue
                del self._handles[request.RequestedParameters.ClientHandle]
                code = item.StatusCode
                if point.mode == "auto" and code.value not in _NODE_ERRORS:
                    log.info("device %s: %s cannot be monitored (%s); polling it",
                             self._device.name, point.tag, code.name)
                    fallback.append(point)
                else:
                    failed.append(bad(point.tag, Reason.SERVER_STATUS, code.name))
        return fallback, failed

    def _item_request(self, point: Point, period_ms: float) -> ua.MonitoredItemCreateRequest:
        self._next_handle += 1
        handle = self._next_handle
        mparams = ua.MonitoringParameters(
            ClientHandle=handle,
            SamplingInterval=(point.sampling_s * 1000 if point.sampling_s is not None
                              else period_ms),
            QueueSize=1, DiscardOldest=True)
        if point.deadband:
            # the server compares raw values; the project's deadband is in engineering units
            mparams.Filter = ua.DataChangeFilter(
                Trigger=ua.DataChangeTrigger.StatusValue, DeadbandType=ua.DeadbandType.Absolute,
                DeadbandValue=point.deadband / abs(point.scale))
        return ua.MonitoredItemCreateRequest(
            ItemToMonitor=ua.ReadValueId(NodeId=self._nodes[point.tag],
                                         AttributeId=ua.AttributeIds.Value),
            MonitoringMode=ua.MonitoringMode.Reporting, RequestedParameters=mparams)

    def _on_publish(self, result: ua.PublishResult) -> None:
        """asyncua's publish loop calls this per response and sends the next PublishRequest only
        after it returns, so decoding is scheduled just after (`call_soon`): the next request
        is already on the wire while this response is decoded. No I/O, no awaiting."""
        self._last_publish = time.monotonic()
        data = result.NotificationMessage.NotificationData
        if data:
            asyncio.get_running_loop().call_soon(self._deliver, data)

    def _deliver(self, data: list[Any]) -> None:
        """One publish response -> one batch of samples to the sink."""
        batch: list[Sample] = []
        handles = self._handles
        reported = self._reported
        received = self._clock()
        for notification in data:
            if isinstance(notification, ua.DataChangeNotification):
                for item in notification.MonitoredItems:
                    handle = item.ClientHandle
                    point = handles.get(handle)
                    if point is not None:
                        change = handle in reported  # not the initial value: fresh data
                        if not change:
                            reported.add(handle)
                        batch.append(self._sample(point, item.Value, received, change))
            elif (isinstance(notification, ua.StatusChangeNotification)
                  and not notification.Status.is_good()):
                self._mark_lost(f"subscription ended: {notification.Status.name}")
        if batch and self._sink is not None:
            self._health.notifications += len(batch)
            self._sink(batch)

    def _sample(self, point: Point, value: ua.DataValue | None, received: float,
                change: bool = False) -> Sample:
        """A Sample with the server's source time as `ts` and the station's `received` time.

        Skew: a source time more than `skew_s` ahead of the receive time is never right; one
        that far *behind* means a clock disagreement only for a data change (`change`): a read
        or a subscription's initial value legitimately carries the time the value last
        changed, which may be hours ago. Either makes a GOOD value UNCERTAIN, with the reason.
        """
        if value is None:
            return bad(point.tag, Reason.BAD_VALUE, "empty value", received)
        ts = epoch(value.SourceTimestamp) or epoch(value.ServerTimestamp) or received
        status = value.StatusCode
        if status is None or status.value == 0:
            quality, reason = Quality.GOOD, ""
        else:
            quality, reason = quality_of(status)
            if quality is Quality.BAD:
                return Sample(point.tag, None, ts, quality, reason, received)
        variant = value.Value
        if variant is None or variant.VariantType is ua.VariantType.Null:
            return Sample(point.tag, None, ts, Quality.BAD, f"{Reason.BAD_VALUE}: no value",
                          received)
        if point.tag not in self._vtypes:
            self._vtypes[point.tag] = variant.VariantType
        decoded, problem = decode(point, variant.Value, variant.VariantType)
        if problem:
            return Sample(point.tag, None, ts, Quality.BAD, f"{Reason.BAD_VALUE}: {problem}",
                          received)
        skew = ts - received
        if skew > self._skew_s or (change and -skew > self._skew_s):
            way = "ahead of" if skew > 0 else "behind"
            text = f"{Reason.CLOCK_SKEW}: source time {abs(skew):.1f} s {way} the receive time"
            quality, reason = Quality.UNCERTAIN, f"{reason}; {text}" if reason else text
        return Sample(point.tag, decoded, ts, quality, reason, received)

    async def _poll_loop(self, points: list[Point]) -> None:
        """Tags that cannot (or should not) be monitored, read every poll period."""
        groups: dict[float, list[Point]] = {}
        for point in points:
            groups.setdefault(max(point.poll_s or self._device.poll_s, 0.01), []).append(point)
        due = dict.fromkeys(groups, 0.0)
        while True:
            now = time.monotonic()
            for period, members in groups.items():
                if now >= due[period]:
                    samples = await self.read(members)
                    if self._sink is not None:
                        self._sink(samples)
                    due[period] = max(due[period] + period, time.monotonic())
            await asyncio.sleep(max(0.0, min(due.values()) - time.monotonic()))

    async def supervise(self) -> None:
        lost = self._lost
        assert lost is not None
        while True:
            if lost.is_set():
                raise CommError(self._lost_reason or "connection lost", kind="closed")
            for task in self._tasks:
                if task.done():
                    task.result()  # a poll loop's CommError ends the connection
                    raise CommError("poll loop ended", kind="closed")
            client = self._client
            if client is None or client.uaclient.state is not UaClientState.CONNECTED:
                raise CommError(f"connection to {self._url} lost", kind="closed")
            silent_s = time.monotonic() - self._last_publish
            if self._subscriptions and silent_s > 2 * self._keepalive_s + self._timeout_s:
                raise CommError(f"no publish response or keep-alive for {silent_s:.1f} s",
                                kind="timeout")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), 0.25)

    # ---- reads and writes ------------------------------------------------------------------
    async def read(self, points: Sequence[Point]) -> list[Sample]:
        client = self._require()
        out: dict[str, Sample] = {}
        now = self._clock()
        usable = []
        for point in points:
            if point.tag in self._node_errors:
                out[point.tag] = bad(point.tag, Reason.CONFIG_ERROR, self._node_errors[point.tag],
                                     now)
            elif point.tag in self._nodes:
                usable.append(point)
            else:
                out[point.tag] = bad(point.tag, Reason.CONFIG_ERROR, "unknown to this driver", now)
        for start in range(0, len(usable), READ_BATCH):
            batch = usable[start:start + READ_BATCH]
            params = ua.ReadParameters(
                TimestampsToReturn=ua.TimestampsToReturn.Both,
                NodesToRead=[ua.ReadValueId(NodeId=self._nodes[p.tag],
                                            AttributeId=ua.AttributeIds.Value) for p in batch])
            started = time.perf_counter()
            try:
                values = await client.uaclient.read(params)
            except (OSError, TimeoutError, ua.UaError) as exc:
                raise comm_error(exc, "read failed") from None
            self._health.record_rtt(time.perf_counter() - started)
            received = self._clock()
            for point, value in zip(batch, values, strict=True):
                out[point.tag] = self._sample(point, value, received)
        return [out[p.tag] for p in points]

    async def write(self, point: Point, value: Scalar) -> None:
        """Typed and range-checked; `WriteRejected` if refused here or by the server."""
        if not point.writable:
            raise WriteRejected(f"{point.tag} is not writable")
        node = self._nodes.get(point.tag)
        if node is None:
            raise WriteRejected(self._node_errors.get(point.tag, f"unknown tag {point.tag}"))
        client = self._require()
        declared = DECLARED_VARIANTS.get(point.data_type)
        actual = self._vtypes.get(point.tag) or await self._node_type(client, node)
        try:
            if declared is not None and declared is not actual:
                variant_for_write(point, value, declared)  # the project's type limits too
            variant = variant_for_write(point, value, actual or declared or ua.VariantType.Double)
        except ValueError as exc:
            raise WriteRejected(str(exc)) from None
        request = ua.WriteParameters(NodesToWrite=[ua.WriteValue(
            NodeId=node, AttributeId=ua.AttributeIds.Value, Value=ua.DataValue(Value=variant))])
        started = time.perf_counter()
        try:
            status = (await client.uaclient.write(request))[0]
        except (OSError, TimeoutError, ua.UaError) as exc:
            raise comm_error(exc, "write failed") from None
        self._health.record_rtt(time.perf_counter() - started)
        if not status.is_good():
            raise WriteRejected(f"server refused the write to {point.tag}: {status.name}")

    async def _node_type(self, client: Client, node: ua.NodeId) -> ua.VariantType | None:
        try:
            value = (await client.uaclient.read_attributes([node], ua.AttributeIds.Value))[0]
        except (OSError, TimeoutError, ua.UaError) as exc:
            raise comm_error(exc, "read failed") from None
        variant = value.Value
        if variant is None or variant.VariantType is ua.VariantType.Null:
            return None
        return variant.VariantType

