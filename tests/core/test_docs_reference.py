"""The project-file reference (`docs/project-file.md`) against the loader's schema, both ways.

Why a test: a reference that drifts from the loader is worse than none (a technician copies a
key that the loader then refuses, or never learns of one that exists). The schema is walked from
`hmi.project_models.ProjectModel` through every model it pulls in (alarms, MES, security,
station, trends, displays): each table becomes a section named by its TOML path, headed
"### `[path]`" (a table), "### `[[path]]`" (an array of tables) or "### `[path.<key>]`" (a table
of tables keyed by name, e.g. `[station.alarms.<key>]`). A model that contains itself (downtime
reason `children`) is documented once, at its first level. Each section's first Markdown table
lists the keys in backticks in its first column, then type, default, example, meaning.

Checked: the documented sections and keys equal the schema's (aliases such as `class` as
written in the file); every value a `Literal` allows is named in its key's row (a new protocol
or alarm type must be documented); every documented default equals the model's ("required" and
"unset" spelled out). Also every ```toml block in the README and `docs/*.md` parses, and one
that starts with `[project]` passes the real loader (`hmi.project.load_project`), fragments the
model's shapes, so examples cannot rot either; and every relative link or image in those
files points to an existing file and heading. The README's CLI table names every command of
the real parser, and the operator guide every keyboard shortcut the code binds.
"""

from __future__ import annotations

import argparse
import ast
import re
import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, Field, ValidationError
from pydantic.fields import FieldInfo

from hmi.cli.main import build_parser
from hmi.project import ProjectInvalid, load_project
from hmi.project_models import DeviceConfig, ProjectModel

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "project-file.md"
HEADER = ["key", "type", "default", "example", "meaning"]
_HEADING = re.compile(r"^###\s+`(\[[^`]+\])`\s*$")
_ANY_HEADING = re.compile(r"^#{1,3}\s")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_TOML_BLOCK = re.compile(r"^[ \t]*```toml\n(.*?)^[ \t]*```", re.DOTALL | re.MULTILINE)


# ---- the schema -----------------------------------------------------------------------------
@dataclass
class Section:
    """One table of the project file: its model and its keys (as written in the file)."""

    name: str
    model: type[BaseModel]
    fields: dict[str, FieldInfo]
    dict_keys: list[Any] = field(default_factory=list)  # allowed <key>s of a table of tables


def _strip_none(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _sub_table(tp: Any) -> tuple[str, type[BaseModel], list[Any]] | None:
    """("table" | "array" | "dict", model, dict key literals) when a field holds tables."""
    tp = _strip_none(tp)
    if _is_model(tp):
        return "table", tp, []
    origin, args = get_origin(tp), get_args(tp)
    if origin is list and _is_model(_strip_none(args[0])):
        return "array", _strip_none(args[0]), []
    if origin is dict and _is_model(_strip_none(args[1])):
        return "dict", _strip_none(args[1]), literals(args[0])
    return None


def literals(tp: Any) -> list[Any]:
    """Every value a `Literal` anywhere in the annotation allows."""
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    return [value for arg in get_args(tp) for value in literals(arg)]


def section_name(path: str, kind: str) -> str:
    return {"table": f"[{path}]", "array": f"[[{path}]]", "dict": f"[{path}.<key>]"}[kind]


def key_of(name: str, info: FieldInfo) -> str:
    return info.alias or name


def schema_sections(root: type[BaseModel] = ProjectModel) -> dict[str, Section]:
    """Every table reachable from `root`, by section name."""
    sections: dict[str, Section] = {}

    def walk(model: type[BaseModel], path: str, kind: str, dict_keys: list[Any],
             ancestors: tuple[type[BaseModel], ...]) -> None:
        name = section_name(path, kind)
        sections[name] = Section(name, model, {key_of(n, f): f for n, f in
                                               model.model_fields.items()}, dict_keys)
        prefix = f"{path}.<key>" if kind == "dict" else path
        for fname, info in model.model_fields.items():
            sub = _sub_table(info.annotation)
            if sub and sub[1] not in (*ancestors, model):  # recursion: documented once
                walk(sub[1], f"{prefix}.{key_of(fname, info)}", sub[0], sub[2],
                     (*ancestors, model))

    for fname, info in root.model_fields.items():
        sub = _sub_table(info.annotation)
        assert sub is not None, f"top-level key {fname!r} is not a table"
        walk(sub[1], key_of(fname, info), sub[0], sub[2], (root,))
    return sections


# ---- the document ---------------------------------------------------------------------------
@dataclass
class DocSection:
    name: str
    line: int
    body: str
    rows: dict[str, tuple[int, list[str]]]  # key -> (line, cells)
    problems: list[str]


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(line.strip())[1:-1]]


def doc_sections(text: str, source: str = "docs/project-file.md") -> dict[str, DocSection]:
    lines = text.splitlines()
    found: dict[str, DocSection] = {}
    i = 0
    while i < len(lines):
        match = _HEADING.match(lines[i])
        if not match:
            i += 1
            continue
        start, name = i, match.group(1)
        i += 1
        body: list[tuple[int, str]] = []
        while i < len(lines) and not _ANY_HEADING.match(lines[i]):
            body.append((i + 1, lines[i]))
            i += 1
        section = DocSection(name, start + 1, "\n".join(t for _, t in body), {}, [])
        table = []
        for number, text_line in body:
            if text_line.lstrip().startswith("|"):
                table.append((number, text_line))
            elif table:
                break  # the first table only
        if name in found:
            section.problems.append(f"{source}:{start + 1}: section {name} is documented twice")
        if not table:
            section.problems.append(f"{source}:{start + 1}: section {name} has no key table")
        else:
            header = [c.lower() for c in _cells(table[0][1])]
            if header != HEADER:
                section.problems.append(f"{source}:{table[0][0]}: section {name}: the table's "
                                        f"columns must be {HEADER}, found {header}")
            for number, row in table[2:]:
                cells = _cells(row)
                key = re.fullmatch(r"`([^`]+)`", cells[0]) if cells else None
                if key is None or len(cells) != len(HEADER):
                    section.problems.append(f"{source}:{number}: section {name}: a row needs "
                                            f"{len(HEADER)} cells and a `key` first: {row!r}")
                    continue
                if key.group(1) in section.rows:
                    section.problems.append(f"{source}:{number}: section {name}: key "
                                            f"{key.group(1)!r} listed twice")
                section.rows[key.group(1)] = (number, cells)
        found[name] = section
    return found


# ---- the comparison -------------------------------------------------------------------------
def _same(documented: Any, default: Any) -> bool:
    numbers = (int, float)
    if isinstance(documented, numbers) and isinstance(default, numbers) and \
            not isinstance(documented, bool) and not isinstance(default, bool):
        return float(documented) == float(default)
    return documented == default and type(documented) is type(default)


def _default_problem(cell: str, info: FieldInfo) -> str | None:
    """Why the documented default cell does not match the field, or None."""
    text = cell.strip()
    if info.is_required():
        return None if text.lower().startswith("required") else \
            f"is required in the schema, documented default {text!r}"
    default = info.get_default(call_default_factory=True)
    if default is None:
        return None if text.lower().startswith("unset") else \
            f"defaults to unset (None) in the schema, documented {text!r}"
    if isinstance(default, BaseModel):
        return None
    spans = re.findall(r"`([^`]+)`", text)
    if not spans:
        return f"default {default!r} in the schema, documented {text!r} (write it as `value`)"
    try:
        documented = tomllib.loads(f"v = {spans[0]}")["v"]
    except tomllib.TOMLDecodeError:
        return f"documented default `{spans[0]}` is not a TOML value"
    if not _same(documented, default):
        return f"default {default!r} in the schema, documented `{spans[0]}`"
    return None


def drift(schema: dict[str, Section], docs: dict[str, DocSection],
          source: str = "docs/project-file.md") -> list[str]:
    """Every difference between schema and reference, as one line each."""
    problems = [p for d in docs.values() for p in d.problems]
    for name in sorted(set(schema) - set(docs)):
        problems.append(f"{source}: section {name} ({schema[name].model.__module__}."
                        f"{schema[name].model.__name__}) is in the schema but not documented "
                        f"(add a heading ### `{name}` and its key table)")
    for name in sorted(set(docs) - set(schema)):
        problems.append(f"{source}:{docs[name].line}: section {name} is documented but the "
                        f"schema has no such table")
    for name in sorted(set(schema) & set(docs)):
        section, doc = schema[name], docs[name]
        where = f"{section.model.__module__}.{section.model.__name__}"
        for key in sorted(set(section.fields) - set(doc.rows)):
            problems.append(f"{source}:{doc.line}: section {name}: key {key!r} is in the schema "
                            f"({where}) but not documented")
        for key in sorted(set(doc.rows) - set(section.fields)):
            problems.append(f"{source}:{doc.rows[key][0]}: section {name}: key {key!r} is "
                            f"documented but not in the schema ({where})")
        for key in sorted(set(doc.rows) & set(section.fields)):
            number, cells = doc.rows[key]
            info = section.fields[key]
            row_text = " ".join(cells)
            missing = [v for v in literals(info.annotation) if str(v) not in row_text]
            if missing:
                problems.append(f"{source}:{number}: section {name}: key {key!r} allows "
                                f"{', '.join(map(repr, missing))}, not named in its row")
            wrong = _default_problem(cells[2], info)
            if wrong:
                problems.append(f"{source}:{number}: section {name}: key {key!r} {wrong}")
        missing_keys = [v for v in section.dict_keys if str(v) not in doc.body]
        if missing_keys:
            problems.append(f"{source}:{doc.line}: section {name}: the table names "
                            f"{', '.join(map(repr, missing_keys))} are not described")
    return problems


# ---- tests ----------------------------------------------------------------------------------
def test_the_reference_documents_every_table_and_key_of_the_schema() -> None:
    problems = drift(schema_sections(), doc_sections(REFERENCE.read_text(encoding="utf-8")))
    assert not problems, "the project-file reference drifted from the schema:\n" + \
        "\n".join(problems)


def test_the_schema_walk_finds_nested_aliased_and_keyed_tables() -> None:
    """The walk itself: nested arrays, a table of tables, an alias, a recursive model."""
    sections = schema_sections()
    assert {"[project]", "[[devices]]", "[[shifts.breaks]]", "[[displays.items]]",
            "[[trend_groups.pens]]", "[station.alarms.<key>]"} <= set(sections)
    assert "class" in sections["[[alarms]]"].fields  # alias, as written in the file
    assert "children" in sections["[[downtime_reasons]]"].fields
    assert not any("children" in name for name in sections)  # recursion documented once
    assert set(sections["[station.alarms.<key>]"].dict_keys) == {
        "disk_low", "historian_not_writing", "journal_not_writing", "clock_stepped",
        "device_down"}


class _FakeDevice(DeviceConfig):
    fake_key: int = 3  # what an engineer adds to a model without documenting it


class _FakeProject(ProjectModel):
    devices: list[_FakeDevice] = Field(default_factory=list)  # type: ignore[assignment]


def test_a_key_added_to_a_model_or_only_to_the_docs_is_caught_by_name() -> None:
    """The check fails both ways, naming the section and the key (not only "differs")."""
    text = REFERENCE.read_text(encoding="utf-8")
    problems = drift(schema_sections(_FakeProject), doc_sections(text))
    assert any("[[devices]]" in p and "'fake_key' is in the schema" in p for p in problems), \
        problems
    ghost = re.sub(r"^(\| `poll_ms` \|.*)$", r"\1\n| `ghost_ms` | integer | `1` | `2` | none |",
                   text, count=1, flags=re.MULTILINE)
    problems = drift(schema_sections(), doc_sections(ghost))
    assert any("'ghost_ms' is documented but not in the schema" in p for p in problems), \
        problems
    wrong_default = re.sub(r"^\| `poll_ms` \| ([^|]*) \| `1000` \|", r"| `poll_ms` | \1 | `999` |",
                           text, count=1, flags=re.MULTILINE)
    problems = drift(schema_sections(), doc_sections(wrong_default))
    assert any("'poll_ms' default 1000" in p for p in problems), problems


def _toml_blocks() -> list[tuple[str, int, str]]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    blocks = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in _TOML_BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 2
            blocks.append((str(path.relative_to(ROOT)), line, match.group(1)))
    return blocks


def _first_table(block: str) -> str | None:
    for line in block.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped.startswith("["):
            return stripped
    return None


def test_toml_examples_in_the_docs_are_valid(tmp_path: Path) -> None:
    blocks = _toml_blocks()
    assert len(blocks) >= 12, "the docs lost their examples"
    assert any(_first_table(b) == "[project]" for _, _, b in blocks)
    problems: list[str] = []
    for source, line, block in blocks:
        try:
            raw = tomllib.loads(block)
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{source}:{line}: not valid TOML: {exc}")
            continue
        if _first_table(block) == "[project]":
            path = tmp_path / f"example-{line}.toml"
            path.write_text(block, encoding="utf-8")
            try:
                load_project(path)
            except ProjectInvalid as exc:
                problems.append(f"{source}:{line}: the loader refuses the example:\n  " +
                                "\n  ".join(str(e) for e in exc.errors))
        else:  # a fragment: the shapes of its tables, with a minimal [project]
            try:
                ProjectModel.model_validate({"project": {"name": "example"}} | raw)
            except ValidationError as exc:
                problems.append(f"{source}:{line}: the fragment does not fit the schema: "
                                f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    assert not problems, "\n".join(problems)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_in_the_docs_point_to_files_and_headings() -> None:
    """Relative links and images in the README and docs/*.md resolve (file and #anchor)."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    anchors = {path: {_slug(m.group(1)) for m in
                      re.finditer(r"^#+\s+(.*)$", path.read_text(encoding="utf-8"), re.M)}
               for path in files}
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\]\(([^)\s]+)\)", text):
            target = match.group(1)
            if "://" in target or target.startswith("mailto:"):
                continue
            name, _, anchor = target.partition("#")
            where = (path.parent / name).resolve() if name else path
            line = text.count("\n", 0, match.start()) + 1
            if not where.exists():
                problems.append(f"{path.relative_to(ROOT)}:{line}: no such file {name}")
            elif anchor and where in anchors and anchor not in anchors[where]:
                problems.append(f"{path.relative_to(ROOT)}:{line}: no heading #{anchor} in "
                                f"{where.relative_to(ROOT)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ["[[devices]]", "[[tags]]", "[[alarms]]"])
def test_literal_values_must_be_named(name: str) -> None:
    """A row that drops one allowed value is reported (here: protocol, type, priority)."""
    text = REFERENCE.read_text(encoding="utf-8")
    docs = doc_sections(text)
    key = {"[[devices]]": "protocol", "[[tags]]": "type", "[[alarms]]": "priority"}[name]
    number, _cells_of_row = docs[name].rows[key]
    value = literals(schema_sections()[name].fields[key].annotation)[0]
    lines = text.splitlines()
    lines[number - 1] = lines[number - 1].replace(str(value), "X")
    problems = drift(schema_sections(), doc_sections("\n".join(lines)))
    assert any(f"key {key!r} allows {value!r}" in p for p in problems), problems


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "hmi") -> list[str]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        return [prefix]
    return [name for action in actions for sub, child in action.choices.items()
            for name in _subcommands(child, f"{prefix} {sub}")]


def test_the_readme_lists_every_command() -> None:
    """Each `hmi` command and subcommand (from the real parser) has a row in the CLI table;
    a subcommand may share its group's row (`hmi users list [--json]`, `passwd NAME`, ...)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## The CLI", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `hmi")]
    missing = []
    for command in _subcommands(build_parser()):
        words = command.split()
        group, last = " ".join(words[:-1]), words[-1]
        if not any(f"`{command}" in row or (len(words) > 2 and f"`{group}" in row and
                                             re.search(rf"[`\\|, ]{re.escape(last)}\b", row))
                   for row in rows):
            missing.append(command)
    assert not missing, f"README.md's CLI table lacks: {', '.join(missing)}"


def _literal(path: Path, name: str) -> ast.expr:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target = getattr(node, "target", None) or (node.targets[0] if isinstance(
            node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == name and node.value is not None:
            return node.value
    raise AssertionError(f"{name} not found in {path}")


def test_the_operator_guide_lists_every_shortcut() -> None:
    """The keys of `hmi/gui/shortcuts.py`, of the alarm summary's actions and of the trend plot
    are in the operator guide (read from the sources with `ast`: tests/core imports no Qt)."""
    guide = (ROOT / "docs" / "operators.md").read_text(encoding="utf-8")
    keys = [row[0] for row in ast.literal_eval(_literal(ROOT / "hmi/gui/shortcuts.py",
                                                        "SHORTCUTS"))]
    keys += [row[0] for row in ast.literal_eval(_literal(ROOT / "hmi/gui/shortcuts.py",
                                                         "WIDGET_KEYS"))]
    specs = _literal(ROOT / "screens/alarm_actions.py", "SPECS")
    keys += [ast.literal_eval(call.args[2]) for call in specs.elts]  # type: ignore[attr-defined]
    keys += [row[0] for row in ast.literal_eval(_literal(ROOT / "widgets/trend_navigation.py",
                                                         "KEYS"))]
    missing = [key for key in keys if f"| {key} |" not in guide]
    assert len(keys) > 25
    assert not missing, f"docs/operators.md lacks the shortcuts: {', '.join(missing)}"

