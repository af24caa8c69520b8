"""The master alarm database as CSV, for rationalization in a spreadsheet and back.

Why CSV: alarm rationalization is done by process engineers in review meetings with a
spreadsheet; the project file stays the single source of truth. Export writes one row per
`[[alarms]]` table; import validates every row (shape by pydantic, cross-references against the
project's tags), reports every problem as `FILE:row N: column: message`, and only if there are
none rewrites the project file's `[[alarms]]` tables (everything else is kept as written; a
`.bak` copy is left next to it) and checks the result loads.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from alarms.config import AlarmConfig, alarm_name, cross_check
from hmi.project import Project, load_project

COLUMNS = ("name", "tag", "type", "limit", "setpoint_tag", "on_state", "deadband", "on_delay_s",
           "off_delay_s", "priority", "severity", "message", "consequence", "corrective_action",
           "class", "area", "group", "latched", "realarm_min", "suppress_when", "enabled")
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_BOOL_COLUMNS = {"on_state", "latched", "enabled"}


@dataclass
class ImportReport:
    """What an import found: problems (nothing written if any) and the changes it makes."""

    rows: int = 0
    errors: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    written: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "errors": self.errors, "added": self.added,
                "changed": self.changed, "removed": self.removed, "written": self.written}


def _cell(config: AlarmConfig, column: str) -> str:
    key = "alarm_class" if column == "class" else column
    value = alarm_name(config) if column == "name" else getattr(config, key)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_csv(project: Project, path: Path) -> int:
    """Write the project's alarms to `path`; returns the number of rows."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for alarm in project.alarms:
            writer.writerow([_cell(alarm, c) for c in COLUMNS])
    return len(project.alarms)


def _row_to_dict(row: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    data: dict[str, Any] = {}
    problems = []
    for column, text in row.items():
        if column is None or text is None:
            continue
        text = text.strip()
        if not text:
            continue
        if column in _BOOL_COLUMNS:
            if text.lower() not in _BOOLS:
                problems.append((column, f"must be true or false, found {text!r}"))
                continue
            data[column] = _BOOLS[text.lower()]
        else:
            data[column] = text
    return data, problems


def read_csv(path: Path, tag_names: set[str]) -> tuple[list[AlarmConfig], ImportReport]:
    """Parse and validate a CSV file against the project's tags."""
    report = ImportReport()
    configs: list[AlarmConfig] = []
    rows_of: list[int] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            unknown = [c for c in reader.fieldnames or [] if c not in COLUMNS]
            if unknown or not reader.fieldnames:
                report.errors.append(f"{path}:row 1: header: unknown column(s) "
                                     f"{', '.join(unknown) or '(none found)'}; "
                                     f"columns: {', '.join(COLUMNS)}")
                return [], report
            for number, row in enumerate(reader, start=2):
                report.rows += 1
                data, problems = _row_to_dict(row)
                for column, message in problems:
                    report.errors.append(f"{path}:row {number}: {column}: {message}")
                try:
                    configs.append(AlarmConfig.model_validate(data))
                    rows_of.append(number)
                except ValidationError as exc:
                    for err in exc.errors():
                        column = ".".join(str(p) for p in err["loc"]) or "row"
                        message = "is required" if err["type"] == "missing" else err["msg"]
                        report.errors.append(f"{path}:row {number}: {column}: {message}")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        report.errors.append(f"{path}: cannot read: {exc}")
        return [], report
    for loc, message in cross_check(configs, tag_names):
        _, index, column = loc
        report.errors.append(f"{path}:row {rows_of[index]}: {column}: {message}")
    return configs, report


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def alarms_toml(configs: list[AlarmConfig]) -> str:
    """`[[alarms]]` tables for `configs`, only keys that differ from the defaults."""
    blocks = []
    for config in configs:
        data = config.model_dump(by_alias=True, exclude_defaults=True)
        if data.get("name") == alarm_name(config.model_copy(update={"name": None})):
            del data["name"]  # the default name: keep the file as people write it
        lines = ["[[alarms]]"]
        for key in ("name", "tag", "type", *[k for k in data if k not in ("name", "tag", "type")]):
            if key in data and data[key] is not None:
                lines.append(f"{key} = {_toml_value(data[key])}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def replace_alarm_tables(text: str, new_tables: str) -> str:
    """The project text with every `[[alarms]]` table removed and `new_tables` appended.
    Comments just above a following non-alarm table stay with that table."""
    out: list[str] = []
    held: list[str] = []
    skipping = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            if stripped.replace(" ", "").startswith("[[alarms]]"):
                skipping, held = True, []
                continue
            if skipping:
                out.extend(held)
                skipping = False
        if skipping:
            if not stripped or stripped.startswith("#"):
                held.append(line)
            else:
                held = []
            continue
        out.append(line)
    body = "\n".join(out).rstrip() + "\n"
    return body + "\n" + new_tables if new_tables.strip() else body


def _differs(a: AlarmConfig, b: AlarmConfig) -> bool:
    return a.model_dump(exclude={"name"}) != b.model_dump(exclude={"name"})


def import_csv(project_path: Path, csv_path: Path, dry_run: bool = False) -> ImportReport:
    """Validate `csv_path` and, if clean and not `dry_run`, write it into the project file."""
    project = load_project(project_path)
    configs, report = read_csv(csv_path, {t.name for t in project.tags})
    if report.errors:
        return report
    old = {alarm_name(a): a for a in project.alarms}
    new = {alarm_name(a): a for a in configs}
    report.added = [n for n in new if n not in old]
    report.removed = [n for n in old if n not in new]
    report.changed = [n for n in new if n in old and _differs(new[n], old[n])]
    if dry_run or not (report.added or report.removed or report.changed):
        return report
    text = project_path.read_text(encoding="utf-8")
    updated = replace_alarm_tables(text, alarms_toml(configs))
    backup = project_path.with_name(project_path.name + ".bak")
    shutil.copyfile(project_path, backup)
    project_path.write_text(updated, encoding="utf-8")
    try:
        load_project(project_path)
    except Exception:
        shutil.copyfile(backup, project_path)  # never leave a project that does not load
        raise
    report.written = True
    return report
