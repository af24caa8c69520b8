"""`[security.signatures] context` is enforced (issue 14): the command layer refuses a
production action (work order, lot, downtime reason) without the signature, audits the denial
and binds the signers to the "requested" entry; `hmi context set` asks for it as `hmi write`
does (password, `--meaning`, `--reason`, `--second-user`). Signature keys that no command uses
yet (`project`, `alarm_settings`) are refused by the loader instead of being ignored. A real
station (sim PLC, MES service, security.db) on a real data dir."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.commands import CommandDenied, Commands, Signature
from hmi.project import ProjectInvalid
from hmi.runtime import Runtime
from hmi.security.api import Security
from hmi.security.service import SecurityService
from tests.core.mes_helpers import project
from tests.core.security_helpers import PASSWORDS, add_users

SIM = """
[[devices]]
name = "fast"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Always"
device = "fast"
type = "bool"
sim = { value = true }

[[lines]]
name = "Line1"
running_tag = "Always"
"""


def signed_project(tmp_path: Path, rule: str = "true"):
    return project(tmp_path, f"\n[security.signatures]\ncontext = {rule}\n", SIM)


def test_the_command_layer_asks_the_signature(tmp_path: Path, data_dir: Path) -> None:
    runtime = Runtime(signed_project(tmp_path), data_dir)
    sec = next(s for s in runtime.services if isinstance(s, SecurityService)).security
    add_users(sec)
    with runtime:
        commands = Commands(runtime)
        olga = sec.login("olga", PASSWORDS["olga"])
        assert commands.needs_signature("context") is True
        with pytest.raises(CommandDenied, match="needs an electronic signature"):
            commands.set_context(olga, "Line1", lot="L1").result(5)
        with pytest.raises(CommandDenied, match="needs an electronic signature"):
            commands.start_work_order(olga, "WO1", line="Line1").result(5)
        wrong = Signature("performed", "new lot", PASSWORDS["otto"])
        with pytest.raises(CommandDenied, match="signature of olga refused"):
            commands.set_context(olga, "Line1", lot="L1", signature=wrong).result(5)
        good = Signature("performed", "new lot", PASSWORDS["olga"])
        assert commands.set_context(olga, "Line1", lot="L1", signature=good).result(5) == \
            "Line1: lot L1"
        assert commands.start_work_order(olga, "WO1", line="Line1", signature=Signature(
            "performed", "order", PASSWORDS["olga"])).result(5).startswith("Line1: started WO1")
        assert commands.mes_service().context("Line1")["work_order"] == "WO1"
        entries = sec.audit.query(action="context")
        assert [e.result for e in entries if e.result.startswith("denied")] == [
            "denied: needs an electronic signature (your password, a meaning and a reason)"] * 2 \
            + ["denied: signature of olga refused: wrong user name or password"]
        requested = [e for e in entries if e.result == "requested"]
        assert [e.details["signature"] for e in requested] == [
            {"reason": "new lot", "signers": [{"user": "olga", "role": "operator",
                                               "meaning": "performed"}]},
            {"reason": "order", "signers": [{"user": "olga", "role": "operator",
                                             "meaning": "performed"}]}]
        assert sec.audit.verify().ok


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str,
        *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_context_set_cli_signs(tmp_path: Path, data_dir: Path,
                               capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    p = str(signed_project(tmp_path, '"double"').path)
    sec = Security(data_dir)
    add_users(sec)
    sec.close()
    # trusted as the OS account, but a signature needs the password: refused, audited
    code, _, err = run(capsys, monkeypatch, "", "context", "set", p, "--lot", "L1",
                       "--user", "olga")
    assert (code, "needs an electronic signature" in err) == (3, True), err
    both = f"{PASSWORDS['olga']}\n{PASSWORDS['otto']}\n"
    code, _, err = run(capsys, monkeypatch, both, "context", "set", p, "--lot", "L1",
                       "--user", "olga", "--password-stdin", "--second-user", "otto")
    assert (code, err.strip()) == (3, "hmi: denied: a signature needs a reason")
    code, _, err = run(capsys, monkeypatch, PASSWORDS["olga"] + "\n", "context", "set", p,
                       "--lot", "L1", "--user", "olga", "--password-stdin", "--reason", "lot")
    assert (code, "double electronic signature" in err) == (3, True), err
    code, out, err = run(capsys, monkeypatch, both, "context", "set", p, "--lot", "L1",
                         "--user", "olga", "--password-stdin", "--reason", "new lot",
                         "--second-user", "otto", "--second-meaning", "reviewed")
    assert (code, out.strip()) == (0, "Line1: lot L1"), err
    sec = Security(data_dir)
    entries = sec.audit.query(action="context")
    assert sum(e.result.startswith("denied") for e in entries) == 3
    assert not [e for e in entries if e.result.startswith("denied") and "signature" in e.details]
    [requested] = [e for e in entries if e.result == "requested"]
    assert requested.details["reason"] == "new lot"
    assert requested.details["signature"]["signers"] == [
        {"user": "olga", "role": "operator", "meaning": "performed"},
        {"user": "otto", "role": "operator", "meaning": "reviewed"}]
    assert sec.audit.verify().ok
    sec.close()


@pytest.mark.parametrize("action", ["project", "alarm_settings"])
def test_signatures_no_command_uses_are_refused(tmp_path: Path, action: str) -> None:
    with pytest.raises(ProjectInvalid) as info:
        project(tmp_path, f"\n[security.signatures]\nshelve = true\n{action} = true\n", SIM)
    [error] = info.value.errors
    assert error.field == "security.signatures"
    assert error.line == error.file.read_text(encoding="utf-8").splitlines().index(
        "[security.signatures]") + 1
    assert error.message.startswith(f"{action}: no command uses it yet")
