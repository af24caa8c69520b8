"""Load and validate a project file (TOML) once, with errors a technician can act on.

Every mistake becomes a `ProjectError` with file, line, dotted field and what was found; all of
them are collected, sorted and raised together as `ProjectInvalid`, which the CLI prints and turns
into exit 2. Shapes are checked by pydantic (`hmi.project_models`), then cross-references
(unknown device, duplicate tag, bad address) here, mapped to lines by `hmi.toml_lines`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from alarms.config import AlarmConfig, alarm_name, cross_check
from drivers.registry import check_point
from hmi.display_config import check_displays
from hmi.mes.config import cross_check as production_cross_check
from hmi.project_models import DeviceConfig, ProjectModel, TagConfig
from hmi.security.secrets import resolve  # secrets for drivers: the keyring, with a timeout
from hmi.station.config import (
    RESERVED_PREFIX,
    STATION,
    build_alarms,
    station_alarm_specs,
    station_tag_specs,
)
from hmi.tags import DeviceSpec, Point
from hmi.toml_lines import find_line, locate
from hmi.trends.config import cross_check as trend_cross_check


@dataclass(frozen=True)
class ProjectError:
    """One mistake in a project file, located so a technician can fix it in an editor."""

    file: Path
    line: int | None  # None only when not even the enclosing table is found
    field: str  # dotted path as written, e.g. "devices.press1.port"
    message: str  # what was expected and what was found (value cut to 60 chars)

    def __str__(self) -> str:  # plant.toml:14: devices.press1.port: must be 1..65535, found 70000
        return f"{self.file}:{self.line or '?'}: {self.field}: {self.message}"


class ProjectInvalid(Exception):
    """The project file cannot be used. `errors` holds every problem found, sorted by line."""

    def __init__(self, errors: list[ProjectError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.line or 0, e.field))
        super().__init__("\n".join(str(e) for e in self.errors))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class Project:
    """A validated project: the model plus lookups the runtime needs.

    `tags` are the file's tags followed by the `$station` device's (added by the loader, see
    `hmi.station.config`), so every consumer records, trends and alarms them like any tag;
    `alarms` stay the file's own (the master alarm database that `hmi alarms export` writes),
    `station_alarms` the tuned default alarms on the station tags."""

    path: Path
    model: ProjectModel
    lines: dict = field(default_factory=dict, repr=False)
    station_tags: list[TagConfig] = field(default_factory=list, repr=False)
    station_alarms: list[AlarmConfig] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.station_tags:
            self.station_tags = [TagConfig.model_validate(spec) for spec in
                                 station_tag_specs([d.name for d in self.model.devices])]
        if not self.station_alarms:
            self.station_alarms = build_alarms(station_alarm_specs(
                self.model.station, [d.name for d in self.model.devices if d.enabled],
                self.model.historian.enabled))
        self._tags = self.model.tags + self.station_tags
        self._by_name = {t.name: t for t in self._tags}

    @property
    def name(self) -> str:
        return self.model.project.name

    @property
    def devices(self) -> list[DeviceConfig]:
        return self.model.devices

    @property
    def tags(self) -> list[TagConfig]:
        return self._tags

    @property
    def alarms(self) -> list[AlarmConfig]:
        return self.model.alarms

    @property
    def all_alarms(self) -> list[AlarmConfig]:
        """The file's alarms and the station's: what the alarm manager runs."""
        return self.model.alarms + self.station_alarms

    def tag(self, name: str) -> TagConfig | None:
        return self._by_name.get(name)

    def device(self, name: str) -> DeviceConfig | None:
        return next((d for d in self.model.devices if d.name == name), None)

    def tag_asset(self, tag: TagConfig) -> str:
        """The tag's ISA-95 path: its own `asset` (absolute if it starts with the project's),
        else its device's, else the project's."""
        own = tag.asset.strip("/")
        if not own:
            device = self.device(tag.device)
            own = device.asset.strip("/") if device else ""
        return resolve_asset(self.model.project.asset, own)

    def resolve_asset(self, path: str) -> str:
        """An asset path as written in the file -> the full ISA-95 path."""
        return resolve_asset(self.model.project.asset, path)

    def points(self, device: str) -> list[Point]:
        return [point_of(t) for t in self.model.tags if t.device == device]

    def device_spec(self, device: DeviceConfig, data_dir: Path | None = None) -> DeviceSpec:

        poll_s = device.poll_ms / 1000
        timeout_ms = device.timeout_ms or min(max(device.poll_ms, 200), 1000)
        settings = device.model_dump(exclude={"name", "protocol", "poll_ms", "timeout_ms"})
        return DeviceSpec(
            name=device.name,
            protocol=device.protocol,
            poll_s=poll_s,
            timeout_s=timeout_ms / 1000,
            settings=settings,
            data_dir=str(data_dir) if data_dir else None,
            secrets=resolve,
        )

    def alarm_names(self) -> list[str]:
        return [alarm_name(a) for a in (*self.model.alarms, *self.system_alarms())]

    def system_alarms(self) -> list[AlarmConfig]:
        """Alarms the station raises about itself (e.g. the MES outbox over its limit)."""
        from hmi.mes.system_alarms import alarm_configs

        return alarm_configs(self.model)


def resolve_asset(base: str, own: str) -> str:
    """`own` under the project's asset `base`, unless it already starts with it (absolute)."""
    base, own = base.strip("/"), own.strip("/")
    if not own:
        return base
    if not base or own.startswith(base):
        return own
    return f"{base}/{own}"


def asset_paths(model: ProjectModel) -> set[str]:
    """Every node of the project's ISA-95 tree: declared assets, device and tag assets, and all
    their ancestors."""
    base = model.project.asset
    leaves = {resolve_asset(base, "")}
    leaves |= {resolve_asset(base, a.path) for a in model.assets}
    leaves |= {resolve_asset(base, d.asset) for d in model.devices}
    devices = {d.name: d.asset for d in model.devices}
    leaves |= {resolve_asset(base, t.asset or devices.get(t.device, "")) for t in model.tags}
    paths: set[str] = set()
    for leaf in leaves:
        parts = leaf.split("/") if leaf else []
        paths |= {"/".join(parts[:n]) for n in range(1, len(parts) + 1)}
    return paths


def point_of(tag: TagConfig) -> Point:
    """The driver's view of a tag."""
    return Point(
        tag=tag.name,
        device=tag.device,
        data_type=tag.type or "auto",
        address=tag.address,
        node=tag.node,
        byte_order=tag.byte_order,
        scale=tag.scale,
        offset=tag.offset,
        length=tag.length,
        writable=tag.writable,
        low=tag.min,
        high=tag.max,
        poll_s=tag.poll_ms / 1000 if tag.poll_ms else None,
        sampling_s=tag.sampling_ms / 1000 if tag.sampling_ms is not None else None,
        deadband=tag.deadband,
        mode=tag.mode,
        options=dict(tag.sim),
    )


def _field_name(raw: dict, loc: tuple) -> str:
    """Dotted path with array items named by their `name` key: devices.press1.port."""
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and 0 <= item < len(node):
            node = node[item]
            label = node.get("name") if isinstance(node, dict) else None
            parts.append(str(label) if isinstance(label, str) and label else f"#{item + 1}")
            continue
        parts.append(str(item))
        node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def _get(raw: dict, loc: tuple) -> Any:
    node: Any = raw
    for item in loc:
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _pydantic_errors(path: Path, raw: dict, lines: dict, exc: ValidationError
                     ) -> list[ProjectError]:
    errors = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if loc and loc[-1] == "[key]":  # a bad key of a table: name the key, not "[key]"
            loc = loc[:-1]
            message = f"unknown key: {message[0].lower()}{message[1:]}"
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        elif err["type"] == "missing":
            message = "is required"
        elif "input" in err and err["type"] != "missing":
            message = f"{message}, found {_show(err['input'])}"
        errors.append(ProjectError(path, find_line(lines, loc), _field_name(raw, loc), message))
    return errors


def _check_devices(model: ProjectModel) -> list[tuple[tuple, str]]:
    problems: list[tuple[tuple, str]] = []
    seen: set[str] = set()
    for i, dev in enumerate(model.devices):
        if dev.name.startswith(RESERVED_PREFIX):
            problems.append((("devices", i, "name"), f"names starting with "
                             f"{RESERVED_PREFIX!r} are reserved for the station's own "
                             f"{STATION} device, found {dev.name!r}"))
        if dev.name in seen:
            problems.append((("devices", i, "name"), f"duplicate device name {dev.name!r}"))
        seen.add(dev.name)
        if dev.protocol == "modbus-tcp":
            if not dev.host:
                problems.append((("devices", i, "host"), "modbus-tcp needs a host"))
            if dev.port is not None and (
                not isinstance(dev.port, int) or not 1 <= dev.port <= 65535
            ):
                problems.append((("devices", i, "port"),
                                 f"must be a TCP port 1..65535, found {_show(dev.port)}"))
        elif dev.protocol == "modbus-rtu":
            if not isinstance(dev.port, str) or not dev.port:
                problems.append((("devices", i, "port"),
                                 "modbus-rtu needs the serial device, e.g. \"/dev/ttyUSB0\""))
        elif dev.protocol == "opcua" and not (dev.url or "").startswith("opc.tcp://"):
            problems.append((("devices", i, "url"),
                             f"opcua needs url = \"opc.tcp://host:port\", found {_show(dev.url)}"))
        if dev.protocol == "opcua" and dev.username and dev.security == "none":
            problems.append((("devices", i, "username"),
                             "a user name needs security = \"Basic256Sha256-SignAndEncrypt\" (or "
                             "-Sign): with \"none\" the password would cross the network in clear"))
    return problems


def _check_tags(model: ProjectModel) -> list[tuple[tuple, str]]:
    problems: list[tuple[tuple, str]] = []
    devices = {d.name: d for d in model.devices}
    seen: set[str] = set()
    for i, tag in enumerate(model.tags):
        if tag.name.startswith(RESERVED_PREFIX):
            problems.append((("tags", i, "name"), f"names starting with {RESERVED_PREFIX!r} "
                             f"are reserved for the station's own tags, found {tag.name!r}"))
        if tag.name in seen:
            problems.append((("tags", i, "name"), f"duplicate tag name {tag.name!r}"))
        seen.add(tag.name)
        if tag.min is not None and tag.max is not None and tag.min >= tag.max:
            problems.append((("tags", i, "max"), f"must be above min ({tag.min}), found {tag.max}"))
        device = devices.get(tag.device)
        if device is None:
            known = ", ".join(sorted(devices)) or "none declared"
            problems.append((("tags", i, "device"),
                             f"unknown device {tag.device!r} (devices: {known})"))
            continue
        if device.protocol.startswith("modbus") and not tag.address:
            problems.append((("tags", i, "address"),
                             "a Modbus tag needs an address, e.g. \"hr:100\""))
            continue
        if device.protocol == "opcua" and not tag.node:
            problems.append((("tags", i, "node"), "an OPC UA tag needs a node, e.g. \"ns=2;s=X\""))
            continue
        for key, message in check_point(device.protocol, point_of(tag)):
            problems.append((("tags", i, key), message))
    return problems


def load_project(path: str | Path) -> Project:
    """Read, parse and validate a project file. Raises `ProjectInvalid` with every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectInvalid([ProjectError(path, None, "file", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectInvalid([ProjectError(path, None, "file", f"cannot read: {exc}")]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError has no lineno attribute: the position is in the text
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(found.group(1)) if found else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        if "end of document" in str(exc):
            line = line or text.count("\n") + 1
        raise ProjectInvalid([ProjectError(path, line, "toml", f"not valid TOML: {msg}")]) from None
    lines = locate(text)
    try:
        model = ProjectModel.model_validate(raw)
    except ValidationError as exc:
        raise ProjectInvalid(_pydantic_errors(path, raw, lines, exc)) from None
    problems = _check_devices(model) + _check_tags(model)
    project = Project(path=path, model=model, lines=lines)
    station_names = {alarm_name(a) for a in project.station_alarms}
    tag_names = {t.name for t in project.tags}  # the file's and the $station tags
    problems += cross_check(model.alarms, tag_names, model.alarm_settings)
    problems += [(("alarms", i, "name"), f"alarm name {alarm_name(a)!r} is taken by a "
                  f"default {STATION} alarm (tune it in [station.alarms] instead)")
                 for i, a in enumerate(model.alarms) if alarm_name(a) in station_names]
    problems += trend_cross_check(model.trend_groups, {t.name: t.type for t in project.tags})
    problems += production_cross_check(model, {t.name: t for t in model.tags},
                                       {alarm_name(a) for a in model.alarms})
    problems += check_displays(model.displays, tag_names, asset_paths(model),
                               lambda path: resolve_asset(model.project.asset, path))
    if problems:
        raise ProjectInvalid([
            ProjectError(path, find_line(lines, loc), _field_name(raw, loc), message)
            for loc, message in problems
        ])
    return project
