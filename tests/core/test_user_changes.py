"""`Commands.change_user` (the GUI's user administration goes through it) and the demo accounts
of `hmi demo`. Qt-free, on a running station with a real users database and audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest

from hmi.commands import CommandDenied, Signature
from hmi.security.api import Security
from hmi.security.demo_users import DEMO_USERS, describe, ensure_demo_users
from hmi.security.users import UserError
from tests.core.security_helpers import PASSWORDS, station


def test_user_changes_are_checked_and_audited(tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir) as (_runtime, commands, security):
        ann = security.login("ann", PASSWORDS["ann"])
        olga = security.login("olga", PASSWORDS["olga"])
        assert commands.change_user(ann, "add", "paul", role="operator",
                                    password="paul password 1") == "user paul added as operator"
        assert commands.change_user(ann, "role", "paul", role="engineer") == \
            "paul is now engineer"
        assert commands.change_user(ann, "passwd", "paul", password="paul password 2") == \
            "password of paul set"
        assert commands.change_user(ann, "unlock", "paul") == \
            "paul was not locked out (failures reset)"
        assert commands.change_user(ann, "disable", "paul") == "user paul disabled"
        with pytest.raises(CommandDenied, match=r"needs role admin \(you are operator\)"):
            commands.change_user(olga, "add", "mallory", role="admin",
                                 password="mallory password")
        with pytest.raises(UserError, match="at least 12 characters"):
            commands.change_user(ann, "add", "shorty", role="viewer", password="short")
        with pytest.raises(CommandDenied, match="unknown user change 'delete'"):
            commands.change_user(ann, "delete", "paul")
        rows = [(e.user, e.action, e.object, e.result) for e in security.audit.query()
                if e.action.startswith("user.") and e.user != "os:test"]
        assert rows == [
            ("ann", "user.add", "paul", "ok"), ("ann", "user.role", "paul", "ok"),
            ("ann", "user.passwd", "paul", "ok"), ("ann", "user.disable", "paul", "ok"),
            ("olga", "user.add", "mallory", "denied: needs role admin (you are operator)"),
            ("ann", "user.add", "shorty",
             "invalid: the password must have at least 12 characters"),
            ("ann", "user.delete", "paul",
             "denied: unknown user change 'delete' (changes: add, passwd, role, disable, "
             "unlock)")]
        assert security.users.get("mallory") is None
        assert security.audit.verify().ok


def test_signed_user_changes_need_the_admins_signature(tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir, "[security.signatures]\nusers = true") as (
            _runtime, commands, security):
        ann = security.login("ann", PASSWORDS["ann"])
        with pytest.raises(CommandDenied, match="needs an electronic signature"):
            commands.change_user(ann, "disable", "otto")
        assert security.users.get("otto").enabled
        commands.change_user(ann, "disable", "otto", signature=Signature(
            "approved", "left the company", PASSWORDS["ann"]))
        assert not security.users.get("otto").enabled
        [requested] = [e for e in security.audit.query(action="user.disable")
                       if e.result == "requested"]
        assert requested.details["signature"] == {
            "reason": "left the company",
            "signers": [{"user": "ann", "role": "admin", "meaning": "approved"}]}


def test_demo_accounts_only_in_an_empty_users_database(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    made = ensure_demo_users(demo)
    assert [(n, r) for n, r, _p in made] == [("admin", "admin"), ("engineer", "engineer"),
                                             ("operator", "operator"), ("viewer", "viewer")]
    assert ensure_demo_users(demo) == made  # the second run finds them, makes nothing
    assert "operator / operator-demo-only (operator)" in describe(made)
    security = Security(demo)
    try:
        assert security.login("operator", "operator-demo-only").role == "operator"
        assert {e.user for e in security.audit.query(action="user.add")} == {"hmi demo"}
    finally:
        security.close()
    other = tmp_path / "real"
    other.mkdir()
    security = Security(other)
    try:
        security.users.add("boss", "admin", "a real password", by="os:x", by_role="os-account")
    finally:
        security.close()
    assert ensure_demo_users(other) == []  # a folder with users of its own is left alone
    security = Security(other)
    try:
        assert [u.name for u in security.users.list()] == ["boss"]
    finally:
        security.close()
    assert len(DEMO_USERS) == 4
