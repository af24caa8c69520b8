"""The operator displays a project gets without drawing: its ISA-95 tree as areas, lines and
units, and on each node the tags it shows and with which widget.

Why generated: a station that needs a drawing before it shows anything is a station nobody
commissions quickly. The generator reads the asset tree and each tag's type, range, units and
name, and guesses: a bool named `...Running` with a sibling `...Fault` and `...RunCmd` is a motor,
a number with a range is an analog indicator (with the sibling `...Setpoint` as its marker), an
unsigned integer without a range is a counter, a writable number is a setpoint. `[[displays]]`
hints (`hmi.display_config`) fix what the guess gets wrong.

Levels: `[project].asset` names the line (`Acme/PlantA/Packaging/Line1`) and its children are
the units, unless it is shorter than a full ISA-95 line path (enterprise/site/area/line, 4 parts)
and tags hang two or more levels below it: then the project's asset is an area, its children are
the lines and theirs the units. A project without an asset path gets one line
named after the project. Deeper nodes fold into their unit, tags above the lines go to the
first line.

Qt-free and pure: built once per station from the validated project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from alarms.config import alarm_name, priority_of
from alarms.shelving import max_shelve_min
from hmi.display_config import DisplayConfig
from hmi.project import Project, asset_paths
from hmi.project_models import TagConfig

INTEGER_TYPES = ("int16", "uint16", "int32", "uint32")
RATE_UNITS = re.compile(r"/(s|min|h)$")
LIMIT_MARKS = {"lowlow": "LL", "low": "L", "high": "H", "highhigh": "HH"}
GROUPS = ("Equipment", "Process", "Counters", "Setpoints", "Status")  # unit display order
_KIND_GROUP = {"motor": "Equipment", "valve": "Equipment", "analog": "Process",
               "counter": "Counters", "state": "Status", "value": "Status"}


@dataclass(frozen=True)
class Limit:
    """An alarm limit as an analog indicator draws it: L/LL/H/HH at `value` (engineering
    units), in the alarm's priority colour when violated."""

    mark: str  # LL | L | H | HH
    value: float
    priority: str
    alarm: str  # the alarm's name, to find its live state


@dataclass
class Item:
    """One thing shown on a display: a tag and the widget that shows it."""

    kind: str  # analog | value | motor | valve | counter | state
    tag: str
    label: str
    setpoint: str | None = None
    fault: str | None = None
    command: str | None = None
    group: str = ""

    def tags(self) -> list[str]:
        return [t for t in (self.tag, self.setpoint, self.fault, self.command) if t]


@dataclass
class Node:
    """A node of the ISA-95 tree as the navigation and the screens see it."""

    path: str
    title: str
    level: str  # area | line | unit
    description: str = ""
    items: list[Item] = field(default_factory=list)  # the node's own tags (units: folded)
    children: list[Node] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    rate: str | None = None
    good: str | None = None
    reject: str | None = None
    order: float = 0.0

    def all_items(self) -> list[Item]:
        out = list(self.items)
        for child in self.children:
            out += child.all_items()
        return out

    def all_tags(self) -> list[str]:
        return [t for item in self.all_items() for t in item.tags()]


@dataclass
class Plant:
    """The project's displays: areas -> lines -> units."""

    name: str
    areas: list[Node]
    by_path: dict[str, Node]

    @property
    def lines(self) -> list[Node]:
        return [line for area in self.areas for line in area.children]

    @property
    def units(self) -> list[Node]:
        return [unit for line in self.lines for unit in line.children]

    def find(self, path: str, level: str | None = None) -> Node | None:
        """A node by full path, by a path relative to any ancestor (`Line1/Filler`) or by its
        title, optionally of one level; None if unknown or ambiguous."""
        nodes = [n for n in self.by_path.values() if level is None or n.level == level]
        path = path.strip("/")
        exact = [n for n in nodes if n.path == path]
        if exact:
            return exact[0]
        matches = [n for n in nodes if n.path.endswith("/" + path) or n.title == path]
        return matches[0] if len(matches) == 1 else None

    def node_of_tag(self, tag: str) -> Node | None:
        for node in self.by_path.values():
            if any(tag in item.tags() for item in node.items):
                return node
        return None


def words(name: str) -> str:
    """`Line1.Filler.InletFlow` -> `Inlet flow` (labels when the file gives none)."""
    last = name.rsplit(".", 1)[-1]
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", last).replace("_", " ")
    return spaced[:1].upper() + spaced[1:].lower()


def limits(project: Project) -> dict[str, list[Limit]]:
    """Per tag, its analog alarm limits (L/LL/H/HH), lowest first."""
    out: dict[str, list[Limit]] = {}
    for alarm in project.alarms:
        mark = LIMIT_MARKS.get(alarm.type)
        if mark is None or alarm.limit is None or not alarm.enabled:
            continue
        out.setdefault(alarm.tag, []).append(
            Limit(mark, alarm.limit, priority_of(alarm), alarm_name(alarm)))
    for rows in out.values():
        rows.sort(key=lambda limit: limit.value)
    return out


def _guess(tag: TagConfig) -> str:
    if tag.type == "bool":
        return "state"
    if tag.type == "string" or tag.writable:
        return "value"  # a setpoint is a value with a faceplate, not a moving indicator
    if tag.min is not None and tag.max is not None:
        return "analog"
    if tag.type in INTEGER_TYPES and not tag.writable and (tag.type.startswith("u") or tag.unit):
        return "counter"
    return "value"


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _sibling(tag: str, names: set[str], *suffixes: str) -> str | None:
    stem = tag.rsplit(".", 1)[0]
    for suffix in suffixes:
        candidate = f"{stem}.{suffix}"
        if candidate in names and candidate != tag:
            return candidate
    return None


def _auto_items(tags: list[TagConfig], taken: set[str]) -> list[Item]:
    """The generated guess for the tags of one node not placed by hand."""
    names = {t.name for t in tags}
    items: list[Item] = []
    used = set(taken)
    for tag in tags:  # equipment first: it consumes its fault and command signals
        if tag.name in used or tag.type != "bool" or _last(tag.name) not in ("Running", "Run"):
            continue
        fault = _sibling(tag.name, names, "Fault", "Tripped", "Trip")
        command = _sibling(tag.name, names, "RunCmd", "Cmd", "Start")
        stem = tag.name.rsplit(".", 1)[0]
        items.append(Item("motor", tag.name, words(stem), fault=fault, command=command))
        used |= {tag.name} | ({fault} if fault else set()) | ({command} if command else set())
    for tag in tags:
        if tag.name in used:
            continue
        kind = _guess(tag)
        setpoint = None
        if kind == "analog" and not tag.writable:
            setpoint = _sibling(tag.name, names, _last(tag.name) + "Setpoint",
                                _last(tag.name) + "SP")
        group = "Setpoints" if tag.writable else _KIND_GROUP[kind]
        items.append(Item(kind, tag.name, words(tag.name), setpoint=setpoint, group=group))
    for item in items:
        item.group = item.group or _KIND_GROUP[item.kind]
    return items


def _hinted_items(hint: DisplayConfig, by_name: dict[str, TagConfig]) -> list[Item]:
    items = []
    for raw in hint.items:
        if raw.widget == "hidden":
            continue
        tag = by_name[raw.tag]
        kind = raw.widget or _guess(tag)
        label = raw.label or words(raw.tag)
        group = raw.group or ("Setpoints" if tag.writable and kind not in ("motor", "valve")
                              else _KIND_GROUP[kind])
        items.append(Item(kind, raw.tag, label, raw.setpoint, raw.fault, raw.command, group))
    return items


def _placed(hint: DisplayConfig | None) -> set[str]:
    if hint is None:
        return set()
    out = set(hint.hide)
    for raw in hint.items:
        out |= {t for t in (raw.tag, raw.setpoint, raw.fault, raw.command) if t}
    return out - {raw.setpoint for raw in hint.items if raw.setpoint}  # markers stay visible


def level_of(path: str) -> int:
    """How deep `path` is in the tree: "" is 0, "Acme" 1, "Acme/PlantA" 2."""
    return path.count("/") + 1 if path else 0


def _line_depth(tag_paths: set[str], project_asset: str) -> int:
    """The depth of the line level (0: one line above everything, named after the project)."""
    base = level_of(project_asset)
    deepest = max((level_of(p) for p in tag_paths), default=0)
    return base + 1 if base < 4 and deepest >= base + 2 else base


def _kpi(node: Node, hint: DisplayConfig | None, key: str, tags: list[TagConfig]) -> str | None:
    if hint is not None and getattr(hint, key):
        return getattr(hint, key)
    candidates = [t for t in tags if not t.writable]
    if key == "rate":
        found = [t for t in candidates if t.type != "bool" and RATE_UNITS.search(t.unit or "")]
    elif key == "good":
        found = [t for t in candidates if _last(t.name) in ("GoodCount", "Good", "Produced")]
    else:
        found = [t for t in candidates if _last(t.name) in ("RejectCount", "Reject", "Rejects")]
    return found[0].name if found else None


def build_plant(project: Project) -> Plant:
    """Areas -> lines -> units for `project`, with the items each node shows."""
    model = project.model
    base = model.project.asset.strip("/")
    paths = asset_paths(model)
    hints = {project.resolve_asset(h.asset): h for h in model.displays}
    descriptions = {project.resolve_asset(a.path): a.description for a in model.assets}
    hidden = {t for h in model.displays for t in h.hide}
    # the plant's tags: the $station device's (issue 11) belong on the diagnostics screen,
    # not among the areas, lines and units (they still trend and alarm like any tag)
    plant = project.model.tags
    tag_paths = {project.tag_asset(t) for t in plant}
    depth = _line_depth(tag_paths, base)

    def cut(path: str, n: int) -> str:
        return "/".join(path.split("/")[:n])

    tags_at: dict[str, list[TagConfig]] = {}
    for tag in plant:
        if tag.name in hidden:
            continue
        path = project.tag_asset(tag)
        tags_at.setdefault(path, []).append(tag)
    by_name = {t.name: t for t in project.tags}
    device_assets = {d.name: project.resolve_asset(d.asset) for d in project.devices}

    def node_for(path: str, level: str, index: int) -> Node:
        hint = hints.get(path)
        title = (hint.title if hint and hint.title else path.rsplit("/", 1)[-1]) or project.name
        order = hint.order if hint and hint.order is not None else 1000 + index
        return Node(path, title, level, descriptions.get(path, ""), order=order)

    sorted_paths = sorted(paths, key=lambda p: (level_of(p), p))
    line_paths = [p for p in sorted_paths if level_of(p) == depth] or [base]
    if depth == 0:
        line_paths = [""]  # one line, titled after the project
    lines = {p: node_for(p, "line", i) for i, p in enumerate(line_paths)}
    units: dict[str, Node] = {}
    for i, p in enumerate(sorted_paths):
        if level_of(p) == depth + 1 and cut(p, depth) in lines:
            units[p] = node_for(p, "unit", i)
            lines[cut(p, depth)].children.append(units[p])
    # tags fold into their unit, else their line; tags above the lines go to the first line
    owner_tags: dict[str, list[TagConfig]] = {}
    for path, tags in tags_at.items():
        if p_unit := (cut(path, depth + 1) if level_of(path) > depth else None):
            key = p_unit if p_unit in units else cut(path, depth)
        else:
            key = cut(path, depth) if cut(path, depth) in lines else line_paths[0]
        owner_tags.setdefault(key, []).extend(tags)
    for key, tags in owner_tags.items():
        node = units.get(key) or lines.get(key) or lines[line_paths[0]]
        hint = hints.get(key)
        own = _hinted_items(hint, by_name) if hint else []
        if hint is None or hint.auto:
            own += _auto_items([t for t in tags if t.name not in hidden], _placed(hint))
        node.items += own
        for device in sorted({t.device for t in tags}):
            if device not in node.devices:
                node.devices.append(device)
    for name, path in device_assets.items():
        node = units.get(cut(path, depth + 1)) or lines.get(cut(path, depth))
        if node is not None and name not in node.devices:
            node.devices.append(name)
    areas: dict[str, Node] = {}
    for i, line in enumerate(lines.values()):
        line.children.sort(key=lambda n: (n.order, n.path))
        area_path = cut(line.path, depth - 1) if depth > 1 and line.path else ""
        if area_path not in areas:
            area = node_for(area_path, "area", i)
            if not area_path:
                area.title = project.name
            areas[area_path] = area
        areas[area_path].children.append(line)
        line_tags = [by_name[t] for t in line.all_tags() if t in by_name]
        for key in ("rate", "good", "reject"):
            setattr(line, key, _kpi(line, hints.get(line.path), key, line_tags))
        for unit in line.children:
            line.devices += [d for d in unit.devices if d not in line.devices]
    for area in areas.values():
        area.children.sort(key=lambda n: (n.order, n.path))
        area.devices = sorted({d for line in area.children for d in line.devices})
    by_path: dict[str, Node] = {}
    for area in areas.values():  # lines and units first: a synthetic area shares the path ""
        for node in (*area.children, *(u for line in area.children for u in line.children)):
            by_path.setdefault(node.path, node)
    for area in areas.values():
        by_path.setdefault(area.path, area)
    return Plant(project.name, list(areas.values()), by_path)


def tag_index(project: Project) -> dict[str, TagConfig]:
    """name -> config, for widgets that look up units, decimals and ranges per repaint."""
    return {t.name: t for t in project.tags}


def alarms_by_tag(project: Project) -> dict[str, list[dict[str, Any]]]:
    """Per tag, the alarms configured on it (name, type, priority, limit, message, and the
    longest it may be shelved in minutes: its own maximum within the project's)."""
    out: dict[str, list[dict[str, Any]]] = {}
    settings = project.model.alarm_settings
    for alarm in project.alarms:
        out.setdefault(alarm.tag, []).append({
            "name": alarm_name(alarm), "type": alarm.type, "priority": priority_of(alarm),
            "limit": alarm.limit, "message": alarm.message,
            "shelve_max_min": max_shelve_min(alarm, settings)})
    return out



class ProjectMeta:
    """What widgets look up per tag (units, decimals, range, limits, configured alarms) as
    dicts built once, and the generated displays built on first use. Any thread (read-only)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.tags = tag_index(project)
        self.limits = limits(project)
        self.alarms = alarms_by_tag(project)
        self._plant: Plant | None = None

    def tag(self, name: str) -> TagConfig | None:
        return self.tags.get(name)

    @property
    def plant(self) -> Plant:
        if self._plant is None:
            self._plant = build_plant(self.project)
        return self._plant
