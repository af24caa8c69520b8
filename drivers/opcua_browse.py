"""Browse an OPC UA server's address space into tag candidates (`hmi browse`).

Why: typing node ids by hand is where commissioning goes wrong. This walks the hierarchy from a
root (the Objects folder by default), one Browse request per level for all nodes of that level,
then one batched Read of DataType/ValueRank/AccessLevel/Description for all variables found. It
skips the standard namespace (ns=0: the Server object and its diagnostics) and properties
(HasProperty: EURange and friends), which are metadata, not process values.

`to_toml()` writes node ids in the `nsu=URI;...` form, so the pasted tags keep working when the
server renumbers its namespaces.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from asyncua import Client, ua

from drivers.base import CommError
from drivers.opcua_types import TAG_TYPES, parse_node, type_name

OBJECTS_FOLDER = "i=85"
_HAS_PROPERTY = ua.NodeId(ua.ObjectIds.HasProperty)
_ATTRIBUTES = (ua.AttributeIds.DataType, ua.AttributeIds.ValueRank,
               ua.AttributeIds.UserAccessLevel, ua.AttributeIds.Description)
_CHUNK = 500


@dataclass(frozen=True)
class BrowsedVariable:
    """One variable found: where it is, what it holds, whether we may write it."""

    node: str  # ns=2;s=Plant.Speed
    node_uri: str  # nsu=urn:...;s=Plant.Speed (what a project should store)
    path: tuple[str, ...]  # browse names below the root
    data_type: str  # OPC UA type name, e.g. Double
    array: bool
    writable: bool
    description: str

    @property
    def tag_type(self) -> str | None:
        """The project's `type` for this variable, or None (keep what the server sends)."""
        return None if self.array else TAG_TYPES.get(self.data_type)


def _uri_form(node: ua.NodeId, namespaces: Sequence[str]) -> str:
    if node.NamespaceIndex == 0 or node.NamespaceIndex >= len(namespaces):
        return node.to_string()
    local = ua.NodeId(node.Identifier, 0, node.NodeIdType).to_string()
    return f"nsu={namespaces[node.NamespaceIndex]};{local}"


async def _browse_level(client: Client, nodes: list[ua.NodeId]
                        ) -> list[list[ua.ReferenceDescription]]:
    out: list[list[ua.ReferenceDescription]] = []
    for start in range(0, len(nodes), _CHUNK):
        params = ua.BrowseParameters()
        params.NodesToBrowse = [ua.BrowseDescription(
            NodeId=node, BrowseDirection=ua.BrowseDirection.Forward,
            ReferenceTypeId=ua.NodeId(ua.ObjectIds.HierarchicalReferences),
            IncludeSubtypes=True,
            NodeClassMask=ua.NodeClass.Object | ua.NodeClass.Variable,
            ResultMask=ua.BrowseResultMask.All) for node in nodes[start:start + _CHUNK]]
        for result in await client.uaclient.browse(params):
            refs = list(result.References)
            point = result.ContinuationPoint
            while point:
                more = ua.BrowseNextParameters(ReleaseContinuationPoints=False,
                                               ContinuationPoints=[point])
                extra = (await client.uaclient.browse_next(more))[0]
                refs.extend(extra.References)
                point = extra.ContinuationPoint
            out.append(refs)
    return out


async def browse_variables(client: Client, root: str = OBJECTS_FOLDER, depth: int = 5
                           ) -> list[BrowsedVariable]:
    """All variables below `root` up to `depth` levels, sorted by path. ValueError if the
    root is not a node id we can use."""
    namespaces = await client.get_namespace_array()
    start = parse_node(root, namespaces)
    found: list[tuple[ua.NodeId, tuple[str, ...]]] = []
    seen = {start}
    level: list[tuple[ua.NodeId, tuple[str, ...]]] = [(start, ())]
    for _ in range(max(depth, 0)):
        if not level:
            break
        results = await _browse_level(client, [node for node, _ in level])
        next_level = []
        for (_, path), refs in zip(level, results, strict=True):
            for ref in refs:
                target = ref.NodeId
                if ref.ReferenceTypeId == _HAS_PROPERTY or target.NamespaceIndex == 0:
                    continue
                if target in seen:
                    continue
                seen.add(target)
                child = (target, (*path, ref.BrowseName.Name))
                next_level.append(child)
                if ref.NodeClass == ua.NodeClass.Variable:
                    found.append(child)
        level = next_level
    return sorted(await _describe(client, found, namespaces), key=lambda v: v.path)


async def _describe(client: Client, found: list[tuple[ua.NodeId, tuple[str, ...]]],
                    namespaces: Sequence[str]) -> list[BrowsedVariable]:
    out = []
    for start in range(0, len(found), _CHUNK):
        chunk = found[start:start + _CHUNK]
        params = ua.ReadParameters(NodesToRead=[
            ua.ReadValueId(NodeId=node, AttributeId=attr)
            for node, _ in chunk for attr in _ATTRIBUTES])
        values = await client.uaclient.read(params)
        for i, (node, path) in enumerate(chunk):
            dtype, rank, access, text = (v.Value.Value if v.Value is not None else None
                                         for v in values[i * 4:i * 4 + 4])
            out.append(BrowsedVariable(
                node=node.to_string(), node_uri=_uri_form(node, namespaces), path=path,
                data_type=type_name(dtype), array=isinstance(rank, int) and rank >= 0,
                writable=bool((access or 0) & ua.AccessLevel.CurrentWrite.mask),
                description=_description(text, path)))
    return out


async def browse(url: str, root: str = OBJECTS_FOLDER, depth: int = 5,
                 timeout_s: float = 5.0) -> list[BrowsedVariable]:
    """Connect (no security), browse, disconnect. CommError if the server cannot be reached."""
    client = Client(url, timeout=timeout_s)
    client.name = client.description = "hmi-station browse"
    try:
        await client.connect()
    except (OSError, TimeoutError, ua.UaError) as exc:
        client.uaclient.disconnect_socket()
        raise CommError(f"cannot reach {url}: {exc or type(exc).__name__}", kind="refused"
                        ) from None
    try:
        return await browse_variables(client, root, depth)
    except (OSError, TimeoutError) as exc:
        raise CommError(f"browse of {url} failed: {exc or type(exc).__name__}") from None
    finally:
        await client.disconnect()


def tag_name(variable: BrowsedVariable) -> str:
    return ".".join(part.replace(" ", "_") for part in variable.path)


def to_toml(variables: Sequence[BrowsedVariable], device: str, url: str) -> str:
    """`[[tags]]` tables ready to paste under a project's `[[devices]]` named `device`."""
    lines = [f"# {len(variables)} variables browsed from {url}"]
    for var in variables:
        lines += ["", "[[tags]]", f"name = {json.dumps(tag_name(var), ensure_ascii=False)}",
                  f"device = {json.dumps(device)}",
                  f"node = {json.dumps(var.node_uri, ensure_ascii=False)}"]
        kind = f"{var.data_type}[]" if var.array else var.data_type
        if var.tag_type:
            lines.append(f'type = "{var.tag_type}"')
        else:
            lines.append(f"# type: {kind} is kept as the server sends it")
        if var.writable:
            lines.append("writable = true")
        if var.description:
            lines.append(f"description = {json.dumps(var.description, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def _description(text: object, path: tuple[str, ...]) -> str:
    """The node's Description, unless it only repeats the browse name (many servers' default)."""
    value = (text.Text or "") if isinstance(text, ua.LocalizedText) else ""
    return "" if path and value == path[-1] else value
