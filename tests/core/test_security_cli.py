"""`hmi users`, `hmi write` directly to the device and through a running station (another
process, as a technician would run it), with the exit codes of the issue: 0 confirmed, 3
denied, 2 bad input, 1 rejected."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.security.api import Security
from tests.conftest import wait_until
from tests.core.security_helpers import PASSWORDS, add_users, station, write_project


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str,
        *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_cli(data_dir: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(capsys, monkeypatch, "operator pass 1\n", "users", "add", "olga", "--role",
               "operator", "--password-stdin")[0] == 2
    assert run(capsys, monkeypatch, "admin password 1\n", "users", "add", "ann", "--role",
               "admin", "--password-stdin")[0] == 0
    assert run(capsys, monkeypatch, "operator pass 1\n", "users", "add", "olga", "--role",
               "operator", "--password-stdin")[0] == 0
    assert run(capsys, monkeypatch, "operator pass 2\n", "users", "passwd", "olga",
               "--password-stdin")[0] == 0
    code, out, _ = run(capsys, monkeypatch, "", "users", "list", "--json")
    users = json.loads(out)
    assert [(u["name"], u["role"], u["enabled"], u["created_by"]) for u in users] == [
        ("ann", "admin", True, "os:root"), ("olga", "operator", True, "os:root")]
    for _ in range(5):
        assert run(capsys, monkeypatch, "nope\n", "write", str(write_project(data_dir.parent)),
                   "Tank.Setpoint", "1", "--user", "olga", "--password-stdin")[0] == 3
    code, out, _ = run(capsys, monkeypatch, "", "users", "list", "--json")
    assert json.loads(out)[1]["locked_until"] is not None
    code, out, _ = run(capsys, monkeypatch, "", "users", "unlock", "olga")
    assert (code, "olga unlocked (was locked until" in out) == (0, True)
    assert run(capsys, monkeypatch, "", "users", "disable", "olga")[0] == 0
    code, _, err = run(capsys, monkeypatch, "", "users", "disable", "ann")
    assert (code, "last enabled admin" in err) == (2, True)
    sec = Security(data_dir)
    assert [e.user for e in sec.audit.query(action="user.add")] == ["os:root", "os:root"]
    assert sec.audit.verify().ok
    sec.close()


def test_write_direct_exit_codes(tmp_path: Path, data_dir: Path,
                                 capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    project = str(write_project(tmp_path))
    sec = Security(data_dir)
    add_users(sec)
    sec.close()
    code, out, _ = run(capsys, monkeypatch, PASSWORDS["olga"] + "\n", "write", project,
                       "Tank.Setpoint", "42.5", "--user", "olga", "--password-stdin",
                       "--reason", "recipe B")
    assert (code, out.strip()) == (0, "Tank.Setpoint = 42.5 confirmed by read-back")
    code, _, err = run(capsys, monkeypatch, PASSWORDS["vera"] + "\n", "write", project,
                       "Tank.Setpoint", "42", "--user", "vera", "--password-stdin")
    assert (code, err.strip()) == (3, "hmi: denied: needs role operator (you are viewer)")
    code, _, err = run(capsys, monkeypatch, "wrong password\n", "write", project,
                       "Tank.Setpoint", "42", "--user", "nobody", "--password-stdin")
    assert (code, err.strip()) == (3, "hmi: denied: wrong user name or password")
    for value, message in (("12,5", "is not a number (use a dot"), ("nan", "not a finite"),
                           ("1e309", "inf is not a finite"), ("101", "above the maximum")):
        code, _, err = run(capsys, monkeypatch, PASSWORDS["olga"] + "\n", "write", project,
                           "Tank.Setpoint", value, "--user", "olga", "--password-stdin")
        assert (code, message in err) == (2, True), (value, err)
    code, _, err = run(capsys, monkeypatch, "", "write", project, "Tank.Counter", "65536",
                       "--user", "olga")
    assert (code, "does not fit int16" in err) == (2, True)
    assert run(capsys, monkeypatch, "", "write", project, "No.Such", "1", "--user",
               "olga")[0] == 2
    sec = Security(data_dir)
    writes = sec.audit.query(action="write")
    assert [e.result for e in writes if e.user == "vera"] == \
        ["denied: needs role operator (you are viewer)"]
    assert not [e for e in writes if e.user == "vera" and e.result == "requested"]
    assert sum(e.result.startswith("invalid") for e in writes) == 6
    assert sec.audit.verify().ok
    sec.close()


def test_write_authenticates_before_it_audits_a_bad_value(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad value under a claimed name is not put into the trail as that user's act before
    the password is checked: a wrong password is a denial (exit 3) and only a failed login."""
    project = str(write_project(tmp_path))
    sec = Security(data_dir)
    add_users(sec)
    sec.close()
    for tag, value in (("Tank.Setpoint", "12,5"), ("No.Such", "1")):
        code, _, err = run(capsys, monkeypatch, "wrong password\n", "write", project, tag,
                           value, "--user", "olga", "--password-stdin")
        assert (code, err.strip()) == (3, "hmi: denied: wrong user name or password")
    sec = Security(data_dir)
    try:
        assert sec.audit.query(action="write") == []
        assert [e.action for e in sec.audit.query(user="olga")][-2:] == ["login.failed"] * 2
    finally:
        sec.close()
    code, _, err = run(capsys, monkeypatch, PASSWORDS["olga"] + "\n", "write", project,
                       "Tank.Setpoint", "12,5", "--user", "olga", "--password-stdin")
    assert (code, "is not a number (use a dot" in err) == (2, True)
    sec = Security(data_dir)
    try:
        [entry] = sec.audit.query(action="write")
        assert (entry.user, entry.role) == ("olga", "operator")
        assert entry.result.startswith("invalid: Tank.Setpoint: '12,5' is not a number")
        assert [e.action for e in sec.audit.query(user="olga")][-3:] == [
            "login", "write", "logout"]
        assert sec.audit.verify().ok
    finally:
        sec.close()


def hmi(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    code = "import sys; from hmi.cli.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


def test_write_through_a_running_station(tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir) as (runtime, _commands, sec):
        project = str(tmp_path / "p.toml")
        wait_until(lambda: sec.db.select("SELECT 1 FROM station_heartbeat"), timeout_s=5)
        ok = hmi("write", project, "Tank.Setpoint", "33", "--user", "olga", "--password-stdin",
                 "--reason", "from the CLI", stdin=PASSWORDS["olga"] + "\n")
        assert ok.returncode == 0, ok.stderr
        assert "confirmed" in ok.stdout
        assert runtime.tags.value("Tank.Setpoint") == pytest.approx(33.0)
        denied = hmi("write", project, "Tank.Setpoint", "44", "--user", "vera",
                     "--password-stdin", stdin=PASSWORDS["vera"] + "\n")
        assert (denied.returncode, denied.stderr.strip()) == \
            (3, "hmi: denied: needs role operator (you are viewer)")
        bad = hmi("write", project, "Tank.Setpoint", "nan", "--user", "olga")
        assert bad.returncode == 2
        runtime.flush()
        assert runtime.tags.value("Tank.Setpoint") == pytest.approx(33.0)
        confirmed = [e for e in sec.audit.query(action="write") if e.result == "confirmed"]
        assert confirmed[-1].details["reason"] == "from the CLI"
        assert confirmed[-1].user == "olga"
        assert sec.db.select("SELECT status FROM station_commands") == [("confirmed",)]
