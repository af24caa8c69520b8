"""Shared pieces of the security tests: one user per role, a small sim project, and a runtime
with the whole station (security, historian, alarms) on a real data dir."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hmi.commands import Commands
from hmi.project import load_project
from hmi.runtime import Runtime
from hmi.security.api import Security
from hmi.security.service import SecurityService

PASSWORDS = {"ann": "admin password 1", "eve": "engineer pass 1", "olga": "operator pass 1",
             "vera": "viewer password 1", "otto": "operator2 pass 1"}
ROLE_OF = {"ann": "admin", "eve": "engineer", "olga": "operator", "vera": "viewer",
           "otto": "operator"}

PROJECT = """\
[project]
name = "Security test"

[security]
idle_lock_min = 10
{security}

[[devices]]
name = "plc"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Tank.Setpoint"
device = "plc"
type = "float32"
writable = true
min = 0
max = 100
sim = {{ value = 5.0 }}

[[tags]]
name = "Tank.Counter"
device = "plc"
type = "int16"
writable = true
sim = {{ value = 7 }}

[[tags]]
name = "Tank.Limit"
device = "plc"
type = "float32"
writable = true
write_role = "engineer"
sim = {{ value = 1.0 }}

[[tags]]
name = "Tank.Recipe"
device = "plc"
type = "float32"
writable = true
signature = true
sim = {{ value = 1.0 }}

[[tags]]
name = "Tank.Batch"
device = "plc"
type = "float32"
writable = true
signature = "double"
sim = {{ value = 1.0 }}

[[tags]]
name = "Tank.Level"
device = "plc"
sim = {{ value = 50.0 }}

[[alarms]]
tag = "Tank.Level"
type = "high"
limit = 10.0
priority = "high"
message = "level high"
"""


def write_project(folder: Path, security: str = "") -> Path:
    path = folder / "p.toml"
    path.write_text(PROJECT.format(security=security), encoding="utf-8")
    return path


def add_users(security: Security) -> None:
    for name in ("ann", "eve", "olga", "vera", "otto"):
        if security.users.get(name) is None:
            security.users.add(name, ROLE_OF[name], PASSWORDS[name], by="os:test",
                               by_role="os-account")


@contextmanager
def station(folder: Path, data_dir: Path, security: str = "") -> Iterator[
        tuple[Runtime, Commands, Security]]:
    """A running station with users: (runtime, commands, its Security)."""
    runtime = Runtime(load_project(write_project(folder, security)), data_dir)
    sec = next(s for s in runtime.services if isinstance(s, SecurityService)).security
    add_users(sec)
    with runtime:
        assert runtime.wait_first_cycle()
        yield runtime, Commands(runtime), sec


def cli_users(data_dir: Path) -> None:
    """The users the alarm CLI tests act as: ann (admin) and bob (engineer)."""
    sec = Security(data_dir)
    try:
        sec.users.add("ann", "admin", PASSWORDS["ann"], by="os:test", by_role="os-account")
        sec.users.add("bob", "engineer", "engineer pass 2", by="os:test", by_role="os-account")
    finally:
        sec.close()
