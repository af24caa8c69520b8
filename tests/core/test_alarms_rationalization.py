"""CSV export/import of the master alarm database, and load-time checks of alarm keys."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.project import ProjectInvalid, load_project

PROJECT = """\
[project]
name = "Rationalization"

[[devices]]
name = "d"
protocol = "sim"

[[tags]]
name = "Tank.Level"
device = "d"

[[tags]]
name = "Tank.Running"
device = "d"
type = "bool"

# ---- alarms
[[alarms]]
tag = "Tank.Level"
type = "high"
limit = 90.0
message = "Tank \\"A\\" level high"

[historian]
raw_days = 7
"""


def test_export_edit_import_roundtrip(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    project = tmp_path / "project.toml"
    project.write_text(PROJECT, encoding="utf-8")
    sheet = tmp_path / "alarms.csv"
    assert main(["alarms", "export", str(project), str(sheet)]) == 0
    rows = list(csv.DictReader(sheet.open(encoding="utf-8")))
    assert rows[0]["name"] == "Tank.Level.HI"
    assert rows[0]["message"] == 'Tank "A" level high'
    rows[0]["limit"] = "92.5"
    rows.append({**rows[0], "name": "", "type": "low", "limit": "10", "priority": "low",
                 "suppress_when": "not Tank.Running"})
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["alarms", "import", str(project), str(sheet)]) == 0
    assert "added 1, changed 1, removed 0; project file updated" in capsys.readouterr().out
    loaded = load_project(project)
    assert [(a.type, a.limit) for a in loaded.alarms] == [("high", 92.5), ("low", 10.0)]
    assert loaded.model.historian.raw_days == 7  # the rest of the file is kept
    assert (tmp_path / "project.toml.bak").exists()


def test_import_reports_every_problem_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project.toml"
    project.write_text(PROJECT, encoding="utf-8")
    sheet = tmp_path / "bad.csv"
    sheet.write_text("tag,type,limit,latched,suppress_when\n"
                     "Tank.Level,high,abc,maybe,\n"
                     "No.Such.Tag,low,5,false,not Other.Tag\n", encoding="utf-8")
    assert main(["alarms", "import", str(project), str(sheet)]) == 2
    err = capsys.readouterr().err
    assert f"{sheet}:row 2: latched: must be true or false" in err
    assert f"{sheet}:row 2: limit: " in err
    assert f"{sheet}:row 3: tag: unknown tag 'No.Such.Tag'" in err
    assert f"{sheet}:row 3: suppress_when: unknown tag 'Other.Tag'" in err
    assert project.read_text(encoding="utf-8") == PROJECT


def test_bad_suppression_expression_is_a_load_error(tmp_path: Path) -> None:
    project = tmp_path / "project.toml"
    project.write_text(PROJECT.replace('message = "Tank', 'suppress_when = '
                                       '"__import__(\'os\').system(\'x\')"\nmessage = "Tank'),
                       encoding="utf-8")
    with pytest.raises(ProjectInvalid) as info:
        load_project(project)
    assert ":22: alarms.#1.suppress_when: Call is not allowed here" in str(info.value)
