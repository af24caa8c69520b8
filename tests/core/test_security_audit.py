"""The audit trail against the attacks the issue lists, each caught by `verify` naming the
entry: a row edited with sqlite3, the newest rows deleted, the chain recomputed with plain
SHA-256, an older copy of the database restored, a trigger dropped and a row edited; plus a
trail that cannot be written (database locked): the action is refused and the alarm raised."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from drivers.base import WriteStatus
from hmi.cli.main import main
from hmi.paths import data_dir as make_data_dir
from hmi.security.api import Security
from hmi.security.audit import GENESIS, canonical
from tests.conftest import wait_until
from tests.core.security_helpers import PASSWORDS, add_users, station


def trail(data_dir: Path, entries: int = 10) -> Path:
    """A trail with `entries` entries besides the user setup; returns security.db."""
    sec = Security(data_dir)
    add_users(sec)
    while sec.db.select("SELECT count(*) FROM audit")[0][0] < entries:
        sec.record("olga", "ack", "Tank.Level.HI", {"comment": "seen"}, "ok")
    assert sec.audit.verify().ok
    sec.close()
    return data_dir / "security.db"


def tamper(db: Path, *sql: str) -> None:
    conn = sqlite3.connect(db)
    try:
        for statement in sql:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def verify(data_dir: Path) -> tuple[bool, int | None, str]:
    sec = Security(data_dir)
    try:
        report = sec.audit.verify()
    finally:
        sec.close()
    return report.ok, report.first_bad, report.message


def test_triggers_refuse_update_and_delete(data_dir: Path) -> None:
    db = trail(data_dir)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(db, "UPDATE audit SET user = 'mallory' WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(db, "DELETE FROM audit WHERE seq = 3")
    assert verify(data_dir)[0]


def test_row_edited_with_sqlite3(data_dir: Path) -> None:
    db = trail(data_dir)
    # INSERT OR REPLACE deletes the old row without firing the delete trigger
    tamper(db, "INSERT OR REPLACE INTO audit SELECT seq, ts, 'mallory', role, station, action, "
               "object, details, result, tag FROM audit WHERE seq = 7")
    ok, first_bad, message = verify(data_dir)
    assert (ok, first_bad) == (False, 7)
    assert message.startswith("entry 7 altered")
    assert "mallory" in message


def test_newest_rows_deleted(data_dir: Path) -> None:
    db = trail(data_dir, 12)
    tamper(db, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq > 10")
    ok, first_bad, message = verify(data_dir)
    assert (ok, first_bad) == (False, 11)
    assert message.startswith("truncated tail: the anchor records entry 12, the database ends "
                              "at 10")


def test_middle_row_deleted(data_dir: Path) -> None:
    db = trail(data_dir)
    tamper(db, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq = 4")
    ok, first_bad, message = verify(data_dir)
    assert (ok, first_bad) == (False, 4)
    assert message.startswith("entry 4 missing")


def test_chain_recomputed_with_plain_sha256(data_dir: Path) -> None:
    db = trail(data_dir)
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_no_update")
    previous = GENESIS
    rows = conn.execute("SELECT seq, ts, user, role, station, action, object, details, result "
                        "FROM audit ORDER BY seq").fetchall()
    for row in rows:
        user = "mallory" if row[0] == 5 else row[2]
        body = canonical(row[0], row[1], user, *row[3:])
        tag = hashlib.sha256(body + previous.encode()).hexdigest()
        conn.execute("UPDATE audit SET user = ?, tag = ? WHERE seq = ?", (user, tag, row[0]))
        previous = tag
    conn.commit()
    conn.close()
    ok, first_bad, message = verify(data_dir)
    assert (ok, first_bad) == (False, 1)
    assert message.startswith("entry 1 altered")


def test_older_copy_of_the_database_restored(data_dir: Path, tmp_path: Path) -> None:
    db = trail(data_dir, 8)
    old = tmp_path / "old.db"
    src = sqlite3.connect(db)
    dst = sqlite3.connect(old)
    src.backup(dst)  # what a backup tool would have taken then
    src.close()
    dst.close()
    sec = Security(data_dir)
    for _ in range(3):
        sec.record("olga", "write", "Tank.Setpoint", {"new": 1}, "confirmed")
    sec.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(old, db)
    ok, first_bad, message = verify(data_dir)
    assert (ok, first_bad) == (False, 9)
    assert message.startswith("truncated tail: the anchor records entry 11")
    # the station goes on writing into the restored file: still caught, at the anchor's entry
    sec = Security(data_dir)
    for _ in range(4):
        sec.record("olga", "ack", "x", {}, "ok")
    sec.close()
    ok, first_bad, message = verify(data_dir)
    assert (ok, first_bad) == (False, 11)
    assert message.startswith("entry 11 does not match the anchor")


def test_trigger_dropped_and_row_edited_cli(data_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = trail(data_dir)
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.strip() == "10 entries, chain intact"
    tamper(db, "DROP TRIGGER audit_no_update",
           "UPDATE audit SET details = '{\"comment\":\"nothing\"}' WHERE seq = 9")
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "entry 9 altered" in err
    # the open that found the trigger gone put it back and recorded that as entry 11
    assert "hmi: audit: warning: entry 11 (" in err
    assert "append-only trigger(s) audit_no_update had been dropped" in err
    assert main(["audit", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["first_bad"], report["entries"]) == (False, 9, 11)
    assert len(report["warnings"]) == 1


def test_dropped_trigger_is_restored_on_record(data_dir: Path, audit_key_dir: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               caplog: pytest.LogCaptureFixture) -> None:
    db = trail(data_dir)
    tamper(db, "DROP TRIGGER audit_no_delete")
    with caplog.at_level(logging.WARNING, logger="hmi.security.audit"):
        sec = Security(data_dir)
    try:
        [record] = [r for r in caplog.records if r.name == "hmi.security.audit"]
        assert "audit_no_delete had been dropped" in record.getMessage()
        assert "recorded as audit entry 11" in record.getMessage()
        assert sec.db.absent_triggers() == []
        [entry] = sec.audit.query(action="audit.trigger_restored")
        assert (entry.seq, entry.user, entry.object, entry.details, entry.result) == (
            11, "system", "security.db", {"triggers": ["audit_no_delete"]},
            "restored: audit_no_delete")
        report = sec.audit.verify()
        assert (report.ok, report.message) == (True, "11 entries, chain intact, 1 warning(s)")
        assert report.warnings[0].startswith(f"entry 11 ({entry.time}): append-only "
                                             "trigger(s) audit_no_delete had been dropped")
    finally:
        sec.close()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(db, "DELETE FROM audit WHERE seq = 3")  # the trigger is back
    for _ in range(2):  # durable: every later verify says so, and no second entry is made
        assert main(["audit", "verify"]) == 0
        out, err = capsys.readouterr()
        assert out.strip() == "11 entries, chain intact, 1 warning(s)"
        assert err.startswith("hmi: audit: warning: entry 11 (")

    # off its anchor (newest rows deleted): restored without an entry, so the truncation is
    # still reported exactly, and this process names the trigger
    tamper(db, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq > 9")
    sec = Security(data_dir)
    try:
        assert sec.db.absent_triggers() == []
        report = sec.audit.verify()
        assert report.problems == [
            "truncated tail: the anchor records entry 11, the database ends at 9 (entries "
            "10..11 deleted, or an older copy of the database restored)",
            "append-only trigger audit_no_delete had been dropped (restored now; not "
            "recorded in the trail, which is off its anchor)"]
    finally:
        sec.close()


def test_dropped_trigger_stays_missing_when_it_cannot_be_recorded(
        data_dir: Path, audit_key_dir: Path) -> None:
    db = trail(data_dir)
    tamper(db, "DROP TRIGGER audit_no_update")
    for key in audit_key_dir.iterdir():  # no key: no entry can be written
        key.unlink()
    sec = Security(data_dir)
    try:
        assert sec.db.absent_triggers() == ["audit_no_update"]
        problems = sec.audit.verify().problems
        assert "append-only trigger audit_no_update is missing (dropped; put back with an " \
               "audit entry when security.db is next opened)" in problems
    finally:
        sec.close()


def test_export_verifies_first(data_dir: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    trail(data_dir)
    out = tmp_path / "audit.csv"
    assert main(["audit", "export", "--from", "-1h", "--to", "now", "--csv", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("seq,time,user,role,station,action,object,details,result,tag")
    assert len(lines) == 11
    assert "chain intact" in capsys.readouterr().out
    assert main(["audit", "show", "--action", "audit.export", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown[0]["details"]["rows"] == 10


def test_unwritable_trail_refuses_the_action_and_raises_the_alarm(
        tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir) as (runtime, commands, sec):
        olga = sec.login("olga", PASSWORDS["olga"])
        sec.db.conn.execute("PRAGMA busy_timeout=200")
        blocker = sqlite3.connect(data_dir / "security.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # another program holds the database
        try:
            result = commands.write(olga, "Tank.Setpoint", 42.0).result(10)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert result.status is WriteStatus.REJECTED
        assert result.refused == "audit"
        assert "audit trail cannot be written" in result.message
        assert runtime.tags.value("Tank.Setpoint") == pytest.approx(5.0)  # nothing sent
        alarms = commands.alarm_service()
        wait_until(lambda: alarms.call(lambda m: m.state("$security.audit").value).result(5)
                   == "B", timeout_s=10)
        assert runtime.tags.value("Tank.Level") is not None  # monitoring goes on
        assert "write failure" in runtime.services[0].status_summary()


def test_broken_chain_at_start_raises_the_alarm(tmp_path: Path, data_dir: Path) -> None:
    db = trail(data_dir)
    tamper(db, "DROP TRIGGER audit_no_update", "UPDATE audit SET result = 'x' WHERE seq = 2")
    with station(tmp_path, data_dir) as (runtime, commands, sec):
        assert sec.audit.last_verify is not None
        assert sec.audit.last_verify.first_bad == 2
        alarms = commands.alarm_service()
        wait_until(lambda: alarms.call(lambda m: m.state("$security.audit").value).result(5)
                   == "B", timeout_s=10)
        assert "entry 2 altered" in runtime.services[0].status_summary()
        assert sec.audit.query(action="audit.verify")[-1].result == "failed"


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_security_db_is_private(tmp_path: Path) -> None:
    """Password hashes and the trail: security.db and its -wal/-shm 0600, the data dir the
    station creates 0700, even under the usual umask 022 (which alone gives 0644 and 0755)."""
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    previous = os.umask(0o022)
    try:
        folder = make_data_dir(tmp_path / "new" / "data")
        assert mode(folder) == 0o700
        sec = Security(folder)
        sec.record("system", "project.load", "p.toml", {}, "ok")  # WAL and SHM exist now
        db = folder / "security.db"
        assert {p.name: mode(p) for p in folder.glob("security.db*")} == {
            "security.db": 0o600, "security.db-wal": 0o600, "security.db-shm": 0o600}
        sec.close()
        other = tmp_path / "other" / "deep"  # SecurityDb creates its own folder if need be
        Security(other).close()
        assert mode(other) == 0o700
        db.chmod(0o644)  # made by an older version: tightened when opened
        Security(folder).close()
        assert mode(db) == 0o600
    finally:
        os.umask(previous)
