"""Protocol name -> driver class, imported lazily so a project without OPC UA never loads asyncua.

Each driver module also offers `check_point(point) -> list[tuple[str, str]]` (field, message),
used by the project loader to reject a bad address with `file:line` before anything runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from hmi.tags import DeviceSpec, Point

PROTOCOLS: dict[str, str] = {
    "modbus-tcp": "drivers.modbus:ModbusDriver",
    "modbus-rtu": "drivers.modbus:ModbusDriver",
    "opcua": "drivers.opcua:OpcUaDriver",
    "sim": "drivers.sim:SimDriver",
}


def _load(protocol: str) -> Any:
    module_name, _, attr = PROTOCOLS[protocol].partition(":")
    module = importlib.import_module(module_name)
    return module, getattr(module, attr)


def create_driver(device: DeviceSpec, points: Sequence[Point]) -> Any:
    """A new driver instance for `device`. Call in the device's thread (it may create loops)."""
    _, cls = _load(device.protocol)
    return cls(device, points)


def check_point(protocol: str, point: Point) -> list[tuple[str, str]]:
    """Protocol-specific problems with a point's address/type, as (field, message) pairs."""
    module_name = PROTOCOLS[protocol].partition(":")[0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return []  # driver not in this build: the runner reports it when the device starts
    checker = getattr(module, "check_point", None)
    return list(checker(point)) if checker else []
