"""`hmi alarms` in-process with no station running (actions applied to the persisted states),
and the suppression expression parser's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alarms.suppression import ExpressionError, parse_condition
from hmi.cli.main import main
from tests.core.security_helpers import cli_users

PROJECT = """\
[project]
name = "CLI"
asset = "Site/Line"

[[devices]]
name = "d"
protocol = "sim"

[[tags]]
name = "A.Level"
device = "d"

[[alarms]]
tag = "A.Level"
type = "high"
limit = 90.0
priority = "urgent"

[[alarms]]
tag = "A.Level"
type = "low"
limit = 10.0
priority = "low"
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["alarms", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_offline_actions_journal_and_report(tmp_path: Path, data_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "p.toml"
    project.write_text(PROJECT, encoding="utf-8")
    p = str(project)
    cli_users(data_dir)
    assert run(capsys, "oos", p, "A.Level.LO", "--user", "ann", "--reason", "swap")[0] == 0
    assert run(capsys, "comment", p, "A.Level.LO", "new transmitter", "--user", "ann")[0] == 0
    code, _, err = run(capsys, "oos", p, "A.Level.LO", "--user", "ann")
    assert code == 2
    assert "already out of service" in err
    assert run(capsys, "in-service", p, "A.Level.LO", "--user", "ann")[0] == 0
    code, out, _ = run(capsys, "ack", p, "--all", "--user", "ann")
    assert (code, out.strip()) == (0, "acknowledged 0 alarm(s)")
    code, _, err = run(capsys, "ack", p, "--user", "ann")
    assert code == 2
    assert "exactly one of" in err
    code, _, err = run(capsys, "reset", p, "A.Level.HI", "--user", "ann")
    assert code == 2
    assert "not latched" in err
    code, out, _ = run(capsys, "journal", p, "--json", "--alarm", "A.Level.LO")
    rows = json.loads(out)
    assert [(r["event"], r["state"], r["area"]) for r in rows] == [
        ("oos", "H", "Site/Line"), ("comment", "H", "Site/Line"), ("in_service", "A", "Site/Line")]
    code, out, _ = run(capsys, "journal", p, "--json", "--priority", "urgent")
    assert json.loads(out) == []
    code, out, _ = run(capsys, "report", p, "--json", "--from", "-1h")
    report = json.loads(out)
    oos = next(k for k in report["kpis"] if k["name"] == "out of service")
    assert oos["value"] == 1
    code, _, err = run(capsys, "report", p, "--from", "yesterday-ish")
    assert code == 2
    assert "cannot read time" in err


def test_shelve_defaults_within_the_alarms_own_maximum(tmp_path: Path, data_dir: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    project = tmp_path / "p.toml"
    project.write_text(PROJECT + "shelve_max_min = 10\n", encoding="utf-8")  # the LO alarm
    p = str(project)
    cli_users(data_dir)
    code, _, err = run(capsys, "shelve", p, "A.Level.LO", "--user", "ann", "--minutes", "11",
                       "--reason", "transmitter swap")
    assert code == 2
    assert "above this alarm's maximum shelve time of 10 min" in err
    # no --minutes: the project's default (15) would be refused, the alarm's maximum is used
    code, _, err = run(capsys, "shelve", p, "A.Level.LO", "--user", "ann",
                       "--reason", "transmitter swap")
    assert code == 0, err
    code, out, _ = run(capsys, "journal", p, "--json", "--alarm", "A.Level.LO")
    assert [r["comment"] for r in json.loads(out)] == ["10 min: transmitter swap"]


@pytest.mark.parametrize("text", [
    "__import__('os').system('rm -rf /')",
    "A.Level.__class__",  # folds to a tag name, so it is only an unknown tag, never an attribute
    "[x for x in A]",
    "lambda: 1",
    "A[0]",
    "A.Level + 1 > 2",
    "1 > 0",
])
def test_expression_whitelist(text: str) -> None:
    if text == "A.Level.__class__":
        assert parse_condition(text).tags == {"A.Level.__class__"}
        return
    with pytest.raises(ExpressionError):
        parse_condition(text)


def test_expression_evaluation() -> None:
    cond = parse_condition("not Line.Running or (Line.Speed < 10 and Line.Mode == 'manual')")
    assert cond.tags == {"Line.Running", "Line.Speed", "Line.Mode"}
    assert cond.evaluate({"Line.Running": False})
    assert cond.evaluate({"Line.Running": True, "Line.Speed": 5, "Line.Mode": "manual"})
    assert not cond.evaluate({"Line.Running": True, "Line.Speed": 50, "Line.Mode": "manual"})
    assert not cond.evaluate({})  # unknown values never suppress


def test_queued_commands_are_applied_once_and_stale_ones_dropped(tmp_path: Path) -> None:
    import time

    from alarms import commands
    from tests.core.alarm_helpers import Clock, feed, manager

    clock = Clock(time.time())
    mgr, journal = manager(tmp_path, [{"tag": "T", "type": "digital"}], clock)
    feed(mgr, "T", True)
    fresh = journal.submit_command(time.time(), "ack", "T.DI", {}, "ann", None)
    stale = journal.submit_command(time.time() - 3600, "ack", "T.DI", {}, "bob", None)
    assert commands.run_pending(mgr, journal) == 2
    assert journal.command_status(fresh) == ("done", "acknowledged 1 alarm(s): T.DI")
    assert journal.command_status(stale) == ("expired", "not applied: too old")
    assert commands.run_pending(mgr, journal) == 0
    journal.close()
