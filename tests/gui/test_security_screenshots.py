"""`hmi screenshot --user NAME` and the security pictures (login dialog, locked station,
signature dialog): rendered from a real station, bad input is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from hmi.cli.main import main
from hmi.security.api import Security
from tests.core.security_helpers import add_users
from tests.gui.security_env import SIGNED_PROJECT
from tests.gui.stations import SIM_PROJECT, write_project


def shot(tmp_path: Path, text: str, *args: str) -> int:
    project = write_project(tmp_path, text)
    return main(["screenshot", str(project), "--data", str(tmp_path / "data"), "--after",
                 "0.3", "--size", "1200x800", *args])


@pytest.fixture
def with_users(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    security = Security(data)
    try:
        add_users(security)
    finally:
        security.close()
    return data


@pytest.mark.parametrize(("text", "args", "message"), [
    (SIM_PROJECT, ["--screen", "locked"], "--screen locked needs --user NAME"),
    (SIM_PROJECT, ["--screen", "locked", "--user", "ghost"], "--user: no enabled user 'ghost'"),
    (SIM_PROJECT, ["--screen", "signature", "--user", "olga"],
     "no writable tag with signature = true"),
    (SIGNED_PROJECT, ["--screen", "signature", "--user", "olga", "--tag", "Tank.Temp"],
     "Tank.Temp needs no signature"),
])
def test_bad_security_screenshots_exit_2_with_one_line(tmp_path, qapp, capsys, with_users,
                                                       text, args, message) -> None:
    out = tmp_path / "x.png"
    assert shot(tmp_path, text, *args, "--out", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]
    assert not out.exists()


def test_login_locked_and_signature_pictures(tmp_path, qapp, capsys, with_users) -> None:
    for screen, extra in (("login", []), ("locked", ["--user", "olga"]),
                          ("signature", ["--user", "olga", "--set", "value=70"])):
        out = tmp_path / f"{screen}.png"
        assert shot(tmp_path, SIGNED_PROJECT, "--screen", screen, *extra, "--out",
                    str(out)) == 0, capsys.readouterr().err
        image = QImage(str(out))
        assert (image.width(), image.height()) == (1200, 800)
    security = Security(with_users)
    try:  # --user went through the trusted path, audited as such
        logins = [e for e in security.audit.query(action="login") if e.user == "olga"]
        assert len(logins) == 2
        assert all(e.details["via"].startswith("os:") for e in logins)
        assert [e.details["reason"] for e in security.audit.query(action="session.lock")] == [
            "request"]
    finally:
        security.close()
