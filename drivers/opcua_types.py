"""OPC UA values <-> tag values: node id syntax, status codes, decoding and typed writes.

Kept apart from the driver so the rules can be read (and tested) without a connection. Rules:

- Node ids in every text form: `ns=2;s=X`, `ns=2;i=5`, `i=2258`, `ns=1;g=<uuid>`, `ns=1;b=<base64>`
  and `nsu=URI;s=X`. The `nsu=` form names the namespace by URI, resolved to an index at connect
  time, so a server that renumbers its namespaces after an upgrade does not break the project.
- Status codes: Good* is GOOD, Uncertain* is UNCERTAIN and Bad* is BAD, both with the reason
  "server status: <StatusCodeName>" so an operator can look the code up.
- Values: arrays become numpy arrays, DateTime becomes epoch seconds (UTC, float) like every
  other timestamp in the station, unless the tag declares `type = "string"` (then ISO-8601 Z).
  A declared type converts and checks what arrives; "auto" keeps what the server sends.
- Writes are typed: the variant type comes from the declared type or, for "auto", from the
  node's own value (read once and cached by the driver), and the value is range-checked for
  that type's width before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from asyncua import ua

from drivers.base import CommError
from hmi.tags import Point, Quality, Reason, iso_utc

NODE_HINT = 'e.g. "ns=2;s=Packer.Speed", "ns=2;i=1001" or "nsu=urn:plant;s=Packer.Speed"'
DECLARED_VARIANTS: dict[str, ua.VariantType] = {
    "bool": ua.VariantType.Boolean,
    "int16": ua.VariantType.Int16,
    "uint16": ua.VariantType.UInt16,
    "int32": ua.VariantType.Int32,
    "uint32": ua.VariantType.UInt32,
    "float32": ua.VariantType.Float,
    "float64": ua.VariantType.Double,
    "string": ua.VariantType.String,
}
INT_RANGES: dict[ua.VariantType, tuple[int, int]] = {
    ua.VariantType.SByte: (-(2**7), 2**7 - 1),
    ua.VariantType.Byte: (0, 2**8 - 1),
    ua.VariantType.Int16: (-(2**15), 2**15 - 1),
    ua.VariantType.UInt16: (0, 2**16 - 1),
    ua.VariantType.Int32: (-(2**31), 2**31 - 1),
    ua.VariantType.UInt32: (0, 2**32 - 1),
    ua.VariantType.Int64: (-(2**63), 2**63 - 1),
    ua.VariantType.UInt64: (0, 2**64 - 1),
}
FLOAT32_MAX = 3.4028234663852886e38
NUMPY_DTYPES: dict[ua.VariantType, Any] = {
    ua.VariantType.Boolean: np.bool_,
    ua.VariantType.SByte: np.int8,
    ua.VariantType.Byte: np.uint8,
    ua.VariantType.Int16: np.int16,
    ua.VariantType.UInt16: np.uint16,
    ua.VariantType.Int32: np.int32,
    ua.VariantType.UInt32: np.uint32,
    ua.VariantType.Int64: np.int64,
    ua.VariantType.UInt64: np.uint64,
    ua.VariantType.Float: np.float32,
    ua.VariantType.Double: np.float64,
}
_IDENTIFIER = re.compile(r"^(?:(?:ns=\d+|nsu=[^;]+);)?(?:i=\d+|s=.+|g=[0-9a-fA-F-]{36}|b=.+)$")
_GOOD_SEVERITY, _UNCERTAIN_SEVERITY = 0, 1


def node_problem(text: str | None) -> str | None:
    """Why `text` is not a node id we can use, or None. Pure syntax: no connection needed."""
    if not text or not text.strip():
        return f"an OPC UA tag needs a node, {NODE_HINT}"
    if not _IDENTIFIER.match(text.strip()):
        return f"not an OPC UA node id ({NODE_HINT}), found {text!r}"
    try:
        ua.NodeId.from_string(text.strip())
    except (ua.UaStringParsingError, ValueError) as exc:
        return f"not an OPC UA node id ({exc}), found {text!r}"
    return None


def parse_node(text: str, namespaces: Sequence[str]) -> ua.NodeId:
    """A NodeId with `nsu=` resolved against the server's namespace array.
    Raises ValueError with an operator-readable message."""
    parsed = ua.NodeId.from_string(text.strip())
    uri = getattr(parsed, "NamespaceUri", None)
    if uri is None:
        return ua.NodeId(parsed.Identifier, parsed.NamespaceIndex, parsed.NodeIdType)
    try:
        index = list(namespaces).index(uri)
    except ValueError:
        raise ValueError(f"namespace {uri!r} not on the server") from None
    return ua.NodeId(parsed.Identifier, index, parsed.NodeIdType)


def quality_of(status: ua.StatusCode | None) -> tuple[Quality, str]:
    """Tag quality and reason for an OPC UA status code (None means Good)."""
    if status is None:
        return Quality.GOOD, ""
    severity = status.value >> 30
    if severity == _GOOD_SEVERITY:
        return Quality.GOOD, ""
    reason = f"{Reason.SERVER_STATUS}: {status.name}"
    if severity == _UNCERTAIN_SEVERITY:
        return Quality.UNCERTAIN, reason
    return Quality.BAD, reason


def epoch(stamp: dt.datetime | None) -> float | None:
    """Seconds since the epoch for an OPC UA DateTime (naive values are UTC)."""
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def _plain(value: Any, vtype: ua.VariantType | None) -> Any:
    """What arrives, in station terms: numpy arrays for lists, epoch seconds for DateTime."""
    if isinstance(value, list):
        if vtype is ua.VariantType.DateTime:
            return np.array([epoch(v) for v in value], dtype=np.float64)
        dtype = NUMPY_DTYPES.get(vtype) if vtype is not None else None
        return np.array(value, dtype=dtype) if dtype is not None else np.array(value)
    if isinstance(value, dt.datetime):
        return epoch(value)
    if isinstance(value, ua.LocalizedText):
        return value.Text
    if isinstance(value, ua.QualifiedName):
        return value.Name
    if isinstance(value, ua.NodeId | uuid.UUID):
        return value.to_string() if isinstance(value, ua.NodeId) else str(value)
    return value


def decode(point: Point, value: Any, vtype: ua.VariantType | None) -> tuple[Any, str]:
    """(engineering value, problem). A problem makes the sample BAD with reason "bad value"."""
    declared = point.data_type
    if declared == "string" and isinstance(value, dt.datetime):
        return iso_utc(epoch(value) or 0.0), ""
    value = _plain(value, vtype)
    if value is None or declared in ("auto", "", None):
        return point.to_engineering(value), ""
    if isinstance(value, np.ndarray):
        return value, ""  # a declared scalar type does not reshape an array; kept as sent
    if declared == "string":
        return str(value), ""
    if isinstance(value, str | bytes):
        return None, f"expected {declared}, found text {str(value)[:40]!r}"
    if declared == "bool":
        return bool(value), ""
    if declared in ("float32", "float64"):
        return point.to_engineering(float(value)), ""
    variant = DECLARED_VARIANTS[declared]
    low, high = INT_RANGES[variant]
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"expected {declared}, found {value}"
    number = round(value) if isinstance(value, float) else int(value)
    if not low <= number <= high:
        return None, f"{number} does not fit {declared}"
    return point.to_engineering(number), ""


class UnfitValue(ValueError):
    """A value that cannot be written to a node of a given type (or outside the tag's limits)."""


def variant_for_write(point: Point, value: Any, vtype: ua.VariantType) -> ua.Variant:
    """The typed variant to send. Raises ValueError (the caller's WriteRejected) if `value`
    does not fit `vtype` or the tag's write limits."""
    if isinstance(value, list | tuple | np.ndarray):
        return ua.Variant([_scalar_for_write(point, v, vtype, False) for v in value], vtype)
    return ua.Variant(_scalar_for_write(point, value, vtype, True), vtype)


def _scalar_for_write(point: Point, value: Any, vtype: ua.VariantType, limits: bool) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if vtype is ua.VariantType.Boolean:
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        raise UnfitValue(f"{point.tag} takes true/false, found {value!r}")
    if vtype in (ua.VariantType.String, ua.VariantType.LocalizedText):
        if isinstance(value, str):
            return value if vtype is ua.VariantType.String else ua.LocalizedText(value)
        raise UnfitValue(f"{point.tag} takes text, found {value!r}")
    if vtype is ua.VariantType.DateTime:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        if isinstance(value, str):
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        raise UnfitValue(f"{point.tag} takes a time (epoch seconds or ISO-8601), found {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnfitValue(f"{point.tag} takes a number, found {value!r}")
    if not math.isfinite(value):
        raise UnfitValue(f"{point.tag}: {value!r} is not a finite number")
    if limits and point.low is not None and value < point.low:
        raise UnfitValue(f"{point.tag}: {value} is below the minimum {point.low}")
    if limits and point.high is not None and value > point.high:
        raise UnfitValue(f"{point.tag}: {value} is above the maximum {point.high}")
    raw = value if point.scale == 1.0 and point.offset == 0.0 else (
        (value - point.offset) / point.scale)
    if vtype in INT_RANGES:
        scaled = point.scale != 1.0 or point.offset != 0.0
        if not scaled and raw != int(raw):
            raise UnfitValue(f"{point.tag} takes whole numbers ({vtype.name}), found {value!r}")
        number = round(raw)
        low, high = INT_RANGES[vtype]
        if not low <= number <= high:
            raise UnfitValue(f"{point.tag}: {number} does not fit {vtype.name} ({low}..{high})")
        return number
    if vtype is ua.VariantType.Float:
        if abs(raw) > FLOAT32_MAX:
            raise UnfitValue(f"{point.tag}: {value} does not fit Float")
        return float(raw)
    if vtype is ua.VariantType.Double:
        return float(raw)
    raise UnfitValue(f"{point.tag}: writing {vtype.name} values is not supported")


BUILTIN_NAMES: dict[int, str] = {
    1: "Boolean", 2: "SByte", 3: "Byte", 4: "Int16", 5: "UInt16", 6: "Int32", 7: "UInt32",
    8: "Int64", 9: "UInt64", 10: "Float", 11: "Double", 12: "String", 13: "DateTime",
    14: "Guid", 15: "ByteString", 17: "NodeId", 19: "StatusCode", 20: "QualifiedName",
    21: "LocalizedText", 26: "Number", 27: "Integer", 28: "UInteger", 29: "Enumeration",
    290: "Duration", 294: "UtcTime",
}
TAG_TYPES: dict[str, str] = {
    "Boolean": "bool", "Int16": "int16", "UInt16": "uint16", "Int32": "int32",
    "UInt32": "uint32", "Float": "float32", "Double": "float64", "Duration": "float64",
    "String": "string", "LocalizedText": "string",
}


def type_name(data_type: ua.NodeId | None) -> str:
    """A readable name for a DataType node id: the built-in name, else the id itself."""
    if data_type is None:
        return "?"
    if data_type.NamespaceIndex == 0 and data_type.Identifier in BUILTIN_NAMES:
        return BUILTIN_NAMES[data_type.Identifier]
    return data_type.to_string()


def comm_error(exc: BaseException, what: str) -> CommError:
    """Map asyncua/socket failures to the runner's one exception, with a diagnostic kind."""
    if isinstance(exc, TimeoutError):
        return CommError(f"{what}: no answer (timeout)", kind="timeout")
    if isinstance(exc, ConnectionRefusedError):
        return CommError(f"{what}: connection refused", kind="refused")
    if isinstance(exc, ua.UaStatusCodeError):
        code = exc.code
        kind = ("auth" if code in (ua.StatusCodes.BadUserAccessDenied,
                                   ua.StatusCodes.BadIdentityTokenInvalid,
                                   ua.StatusCodes.BadIdentityTokenRejected)
                else "security" if code in (ua.StatusCodes.BadSecurityChecksFailed,
                                            ua.StatusCodes.BadCertificateUntrusted,
                                            ua.StatusCodes.BadSecurityPolicyRejected)
                else "status")
        return CommError(f"{what}: {ua.StatusCode(code).name}", kind=kind)
    return CommError(f"{what}: {str(exc) or type(exc).__name__}", kind="closed")
