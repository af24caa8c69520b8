"""The shapes of a project file's tables. Field names are the keys users write; defaults are
what an unset key means. Cross-table checks live in `hmi.project`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alarms.config import AlarmConfig, AlarmSettings
from hmi.mes.config import MesConfig, ProductionTables
from hmi.security.config import SecuritySettings
from hmi.station.config import StationSettings
from hmi.trends.config import TrendGroupConfig

__all__ = ["MesConfig", "ProjectModel"]  # MesConfig moved to hmi.mes.config
from hmi.display_config import DisplayConfig

Protocol = Literal["modbus-tcp", "modbus-rtu", "opcua", "sim"]
DataType = Literal["bool", "int16", "uint16", "int32", "uint32", "float32", "float64", "string"]
ByteOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectInfo(Strict):
    name: str = Field(min_length=1)
    asset: str = ""  # ISA-95 path of the whole project, e.g. Acme/PlantA/Packaging/Line1
    description: str = ""


class AssetConfig(Strict):
    """A node of the ISA-95 tree (enterprise/site/area/line/cell) that tags and alarms hang on."""

    path: str = Field(min_length=1)
    description: str = ""


class DeviceConfig(Strict):
    name: str = Field(min_length=1)
    protocol: Protocol
    enabled: bool = True
    description: str = ""
    asset: str = ""
    poll_ms: int = Field(1000, ge=10, le=3_600_000)
    timeout_ms: int | None = Field(None, ge=10, le=60_000)
    # Modbus TCP / OPC UA
    host: str | None = None
    port: int | str | None = None  # TCP port number, or the serial device for modbus-rtu
    unit: int = Field(1, ge=0, le=247)
    # Modbus RTU
    baudrate: int = Field(19200, ge=300, le=921_600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    max_gap: int = Field(8, ge=0, le=100)  # registers bridged when merging reads
    # OPC UA
    url: str | None = None
    security: Literal["none", "Basic256Sha256-Sign", "Basic256Sha256-SignAndEncrypt"] = "none"
    username: str | None = None
    password_secret: str | None = None  # keyring secret name; default "opcua:<device>:<user>"
    publishing_ms: int = Field(500, ge=10, le=3_600_000)


class TagConfig(Strict):
    name: str = Field(min_length=1)
    device: str
    description: str = ""
    asset: str = ""  # ISA-95 path; relative paths hang under [project].asset
    address: str | None = None  # Modbus
    node: str | None = None  # OPC UA
    type: DataType | None = None  # None: bool for coils/inputs, uint16 for registers, OPC as sent
    byte_order: ByteOrder = "ABCD"
    length: int = Field(0, ge=0, le=246)  # string characters
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    decimals: int = Field(2, ge=0, le=9)
    writable: bool = False
    write_role: Literal["operator", "engineer", "admin"] = "operator"  # lowest role that writes
    signature: bool | Literal["double"] = False  # writes need an electronic signature
    min: float | None = None  # engineering range; writes outside it are refused
    max: float | None = None
    poll_ms: int | None = Field(None, ge=10, le=3_600_000)  # slower than the device, if set
    sampling_ms: int | None = Field(None, ge=0, le=3_600_000)  # OPC UA monitored item
    deadband: float | None = Field(None, ge=0)  # OPC UA absolute data-change deadband
    mode: Literal["auto", "subscribe", "poll"] = "auto"
    history: bool = True
    history_deadband: float | None = Field(None, ge=0)  # absolute, engineering units
    history_deadband_pct: float | None = Field(None, ge=0, le=100)  # % of max - min
    history_heartbeat_s: float | None = Field(None, gt=0)
    sim: dict[str, Any] = Field(default_factory=dict)  # sim driver: signal, period_s, ...

    @field_validator("scale", "offset", "min", "max")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("scale")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("must not be 0 (writes divide by it)")
        return value


class HistorianSettings(Strict):
    enabled: bool = True
    raw_days: float = Field(30, gt=0)
    rollup_days: float = Field(400, gt=0)
    heartbeat_s: float = Field(300, gt=0)  # store at least this often even if unchanged


class ProjectModel(Strict, ProductionTables):
    """The whole file. `[mes]`, `[production]`, `[[shifts]]`, `[[downtime_reasons]]`,
    `[[products]]` and `[[lines]]` come from `hmi.mes.config.ProductionTables`."""

    project: ProjectInfo
    assets: list[AssetConfig] = Field(default_factory=list)
    devices: list[DeviceConfig] = Field(default_factory=list)
    tags: list[TagConfig] = Field(default_factory=list)
    alarms: list[AlarmConfig] = Field(default_factory=list)
    alarm_settings: AlarmSettings = Field(default_factory=AlarmSettings)
    historian: HistorianSettings = Field(default_factory=HistorianSettings)
    station: StationSettings = Field(default_factory=StationSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    trend_groups: list[TrendGroupConfig] = Field(default_factory=list)
    displays: list[DisplayConfig] = Field(default_factory=list)  # layout hints (hmi.displays)
