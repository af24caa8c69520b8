"""The command layer as the enforcement point, on a running station (sim device, real
security.db and alarm journal): the role matrix (every role x every action), bad values,
sessions (idle lock, lock, unlock, switch user, a locked or ended session replaying a write),
and electronic signatures (single, double, refused)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from alarms.permissions import AlarmCommandError
from drivers.base import WriteStatus
from hmi.commands import CommandDenied, Commands, Signature
from hmi.security.roles import ACTION_ROLES, ROLES, role_rank
from hmi.security.users import AuthError
from tests.core.security_helpers import PASSWORDS, ROLE_OF, station

BY_ROLE = {role: next(n for n, r in ROLE_OF.items() if r == role) for role in ROLES}
ALARM = "Tank.Level.HI"


def denials(sec, action: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.result for e in sec.audit.query(action=action) if e.result.startswith("denied")]


def test_role_matrix_every_role_every_action(tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir) as (_runtime, commands, sec):
        actors = {role: sec.login(BY_ROLE[role], PASSWORDS[BY_ROLE[role]]) for role in ROLES}
        # the table itself, as the GUI asks it
        for role, actor in actors.items():
            for action, needed in ACTION_ROLES.items():
                why = commands.check(actor, action)
                assert (why is None) == (role_rank(role) >= role_rank(needed)), (role, action)
                if why is not None:
                    assert why == f"needs role {needed} (you are {role})"
        # and carried out: writes (operator tag, engineer tag) and every alarm action
        for role, actor in actors.items():
            for tag, needed in (("Tank.Setpoint", "operator"), ("Tank.Limit", "engineer")):
                result = commands.write(actor, tag, 3.0).result(5)
                allowed = role_rank(role) >= role_rank(needed)
                assert (result.status is WriteStatus.CONFIRMED) == allowed, (role, tag)
                if not allowed:
                    assert result.refused == "denied"
            for action, args in (("ack", {}), ("shelve", {"minutes": 5, "reason": "work"}),
                                 ("unshelve", {}), ("reset", {}), ("comment", {"text": "x"}),
                                 ("oos", {"reason": "swap"}), ("in_service", {})):
                allowed = role_rank(role) >= role_rank(ACTION_ROLES[action])
                try:
                    commands.alarm(actor, action, ALARM, **args).result(5)
                    outcome = "done"
                except CommandDenied:
                    outcome = "denied"
                except AlarmCommandError:
                    outcome = "refused by the alarm state"  # permission passed
                assert (outcome != "denied") == allowed, (role, action, outcome)
        assert len(denials(sec, "write")) == 3  # viewer x2, operator on the engineer tag
        assert len(denials(sec, "oos")) == 2
        assert sec.audit.verify().ok


def test_viewer_write_denied_audited_nothing_sent(tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir) as (runtime, commands, sec):
        vera = sec.login("vera", PASSWORDS["vera"])
        result = commands.write(vera, "Tank.Setpoint", 42.0, reason="try").result(5)
        assert (result.status, result.refused) == (WriteStatus.REJECTED, "denied")
        assert result.message == "denied: needs role operator (you are viewer)"
        runtime.flush()
        assert runtime.tags.value("Tank.Setpoint") == pytest.approx(5.0)
        entries = sec.audit.query(action="write")
        assert [(e.user, e.result) for e in entries] == \
            [("vera", "denied: needs role operator (you are viewer)")]
        assert entries[0].details == {"tag": "Tank.Setpoint", "new": 42.0, "reason": "try"}


@pytest.mark.parametrize(("tag", "value", "message"), [
    ("Tank.Setpoint", math.nan, "nan is not a finite number"),
    ("Tank.Setpoint", math.inf, "inf is not a finite number"),
    ("Tank.Setpoint", float("1e309"), "inf is not a finite number"),
    ("Tank.Setpoint", "12,5", "takes a number, found '12,5'"),
    ("Tank.Counter", 65536, "65536 does not fit int16"),
    ("Tank.Setpoint", 100.5, "100.5 is above the maximum 100.0"),
    ("Tank.Level", 1.0, "Tank.Level is not writable"),
])
def test_bad_values_refused_with_a_clear_message_and_audited(
        tmp_path: Path, data_dir: Path, tag: str, value: object, message: str) -> None:
    with station(tmp_path, data_dir) as (runtime, commands, sec):
        olga = sec.login("olga", PASSWORDS["olga"])
        before = runtime.tags.value(tag)
        result = commands.write(olga, tag, value).result(5)
        assert (result.status, result.refused) == (WriteStatus.REJECTED, "invalid")
        assert message in result.message
        runtime.flush()
        assert runtime.tags.value(tag) == pytest.approx(before)
        entry = sec.audit.query(action="write")[-1]
        assert entry.result.startswith("invalid: ")
        assert message in entry.result
        assert not [e for e in sec.audit.query(action="write") if e.result == "requested"]


def test_confirmed_write_audits_request_and_outcome(tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir) as (_runtime, commands, sec):
        olga = sec.login("olga", PASSWORDS["olga"])
        result = commands.write(olga, "Tank.Setpoint", 42.0, reason="recipe B").result(5)
        assert result.status is WriteStatus.CONFIRMED, result.message
        requested, outcome = sec.audit.query(action="write")
        assert requested.result == "requested"
        assert requested.details == {"tag": "Tank.Setpoint", "old": 5.0, "new": 42.0,
                                     "reason": "recipe B"}
        assert outcome.result == "confirmed"
        assert (outcome.details["read_back"], outcome.details["requested_seq"]) == \
            (42.0, requested.seq)


def test_sessions_idle_lock_unlock_switch_and_replay(tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir) as (runtime, commands, sec):
        clock = {"now": 1_900_000_000.0}
        sec.sessions.clock = lambda: clock["now"]
        seen = []
        sec.sessions.add_listener(lambda s: seen.append((s.user, s.state)))
        olga = sec.login("olga", PASSWORDS["olga"])
        clock["now"] += 9 * 60
        sec.touch(olga)
        clock["now"] += 9 * 60
        assert commands.check(olga, "write", "Tank.Setpoint") is None
        clock["now"] += 11 * 60  # idle_lock_min = 10
        assert sec.sessions.tick()[0].locked_reason == "idle"
        assert ("olga", "locked") in seen
        replay = commands.write(olga, "Tank.Setpoint", 42.0).result(5)
        assert (replay.refused, replay.message) == \
            ("denied", "denied: the session is locked (idle): unlock it first")
        with pytest.raises(AuthError, match="only olga or a user with a role above operator"):
            sec.unlock(olga, "otto", PASSWORDS["otto"])  # same role, another user
        assert sec.unlock(olga, "olga", PASSWORDS["olga"]) == olga
        assert commands.write(olga, "Tank.Setpoint", 41.0).result(5).ok
        sec.lock(olga)
        eve = sec.unlock(olga, "eve", PASSWORDS["eve"])  # a higher role takes over
        assert (eve.user, eve.role) == ("eve", "engineer")
        ended = commands.write(olga, "Tank.Setpoint", 40.0).result(5)
        assert ended.message == "denied: the session has ended: log in again"
        with pytest.raises(AuthError):
            sec.switch_user(eve, "ann", "wrong password!")
        assert commands.check(eve, "oos") is None  # a failed switch keeps eve logged in
        ann = sec.switch_user(eve, "ann", PASSWORDS["ann"])
        assert commands.check(eve, "oos") == "the session has ended: log in again"
        assert commands.check(ann, "users") is None
        sec.logout(ann)
        assert commands.write(ann, "Tank.Setpoint", 39.0).result(5).refused == "denied"
        forged = type(olga)("ann", "admin", "made-up-session")
        assert commands.check(forged, "users") == "the session has ended: log in again"
        assert type(olga)("ann", "admin").session == ""
        assert commands.check(type(olga)("ann", "admin"), "ack") == "not logged in (no session)"
        actions = [e.action for e in sec.audit.query()]
        for expected in ("session.lock", "session.unlock", "logout", "login"):
            assert expected in actions
        runtime.flush()
        assert runtime.tags.value("Tank.Setpoint") == pytest.approx(41.0)


def test_disabled_or_demoted_user_loses_rights_at_once(tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir) as (_runtime, commands, sec):
        eve = sec.login("eve", PASSWORDS["eve"])
        assert commands.check(eve, "oos") is None
        sec.users.set_role("eve", "operator", by="ann", by_role="admin")
        assert commands.check(eve, "oos") == "needs role engineer (you are operator)"
        sec.users.disable("eve", by="ann", by_role="admin")
        assert commands.check(eve, "ack") == "account eve is disabled"


SIGNATURES = '[security.signatures]\noos = "double"\nshelve = true'


def test_signatures_single_and_double(tmp_path: Path, data_dir: Path) -> None:
    with station(tmp_path, data_dir, SIGNATURES) as (_runtime, commands, sec):
        olga = sec.login("olga", PASSWORDS["olga"])
        assert commands.needs_signature("write", "Tank.Recipe") is True
        assert commands.needs_signature("write", "Tank.Batch") == "double"
        assert commands.needs_signature("write", "Tank.Setpoint") is False
        assert commands.needs_signature("oos") == "double"
        missing = commands.write(olga, "Tank.Recipe", 2.0).result(5)
        assert missing.message.startswith("denied: needs an electronic signature")
        blank = Signature("performed", "  ", PASSWORDS["olga"])
        assert commands.write(olga, "Tank.Recipe", 2.0, signature=blank).result(5).message == \
            "denied: a signature needs a reason"
        other = Signature("performed", "new recipe", PASSWORDS["otto"])  # otto's password
        refused = commands.write(olga, "Tank.Recipe", 2.0, signature=other).result(5)
        assert refused.message.startswith("denied: signature of olga refused: wrong user")
        good = Signature("performed", "new recipe", PASSWORDS["olga"])
        assert "password" not in repr(good) or PASSWORDS["olga"] not in repr(good)
        assert commands.write(olga, "Tank.Recipe", 2.0, signature=good).result(5).ok
        signed = [e for e in sec.audit.query(action="write") if e.result == "confirmed"][-1]
        assert signed.details["signature"] == {
            "reason": "new recipe",
            "signers": [{"user": "olga", "role": "operator", "meaning": "performed"}]}
        assert (signed.details["old"], signed.details["new"]) == (1.0, 2.0)
        # double: a second, different user with a role at least the first's
        alone = Signature("performed", "batch", PASSWORDS["olga"])
        assert "double" in commands.write(olga, "Tank.Batch", 3.0, signature=alone
                                          ).result(5).message
        lower = Signature("performed", "batch", PASSWORDS["olga"], "vera", PASSWORDS["vera"])
        assert "needs a role of at least operator (vera is viewer)" in commands.write(
            olga, "Tank.Batch", 3.0, signature=lower).result(5).message
        same = Signature("performed", "batch", PASSWORDS["olga"], "olga", PASSWORDS["olga"])
        assert "another user" in commands.write(olga, "Tank.Batch", 3.0,
                                                signature=same).result(5).message
        double = Signature("performed", "batch", PASSWORDS["olga"], "otto", PASSWORDS["otto"],
                           "reviewed")
        assert commands.write(olga, "Tank.Batch", 3.0, signature=double).result(5).ok
        batch = [e for e in sec.audit.query(action="write") if e.result == "confirmed"][-1]
        assert [s["user"] for s in batch.details["signature"]["signers"]] == ["olga", "otto"]
        # actions: shelve needs a signature, oos a double one
        with pytest.raises(CommandDenied, match="needs an electronic signature"):
            commands.alarm(olga, "shelve", ALARM, minutes=5, reason="work").result(5)
        commands.alarm(olga, "shelve", ALARM, minutes=5, reason="work",
                       signature=Signature("performed", "work", PASSWORDS["olga"])).result(5)
        eve = sec.login("eve", PASSWORDS["eve"])
        with pytest.raises(CommandDenied, match="needs a role of at least engineer"):
            commands.alarm(eve, "oos", ALARM, reason="swap", signature=Signature(
                "performed", "swap", PASSWORDS["eve"], "olga", PASSWORDS["olga"])).result(5)
        assert "out of service" in commands.alarm(eve, "oos", ALARM, reason="swap", signature=(
            Signature("performed", "swap", PASSWORDS["eve"], "ann", PASSWORDS["ann"],
                      "approved"))).result(5)
        assert sec.audit.verify().ok


def test_commands_without_a_security_service_still_enforce(tmp_path: Path,
                                                           data_dir: Path) -> None:
    from hmi.project import load_project
    from hmi.runtime import Runtime
    from tests.core.security_helpers import add_users, write_project

    runtime = Runtime(load_project(write_project(tmp_path)), data_dir, services=())
    with runtime:
        assert runtime.wait_first_cycle()
        commands = Commands(runtime)
        add_users(commands.security)
        from hmi.commands import Actor

        assert commands.write(Actor("ann", "admin"), "Tank.Setpoint", 9.0).result(5).refused \
            == "denied"
        olga = commands.security.login("olga", PASSWORDS["olga"])
        assert commands.write(olga, "Tank.Setpoint", 9.0).result(5).ok
        commands.security.close()
