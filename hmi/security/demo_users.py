"""Demo accounts for `hmi demo`, and only for it.

Why they exist at all, when the issue forbids default accounts: the demo must be usable at once
(an operator logged in, an engineer and an admin to try signatures, lock and user management),
and it runs in its own data folder (`<data>/demo/`, see `hmi.cli.core.cmd_demo`), never the
data directory of a real station, so `hmi gui` and `hmi run` on a project never get these
accounts. They are made only in an empty users database (a demo folder where someone already
made users is left alone), audited as made by `hmi demo`, and their passwords are printed on
the console and in the window as "demo only".

Any thread (hashing four passwords: ~80 ms); the CLI calls it before the station starts.
"""

from __future__ import annotations

from pathlib import Path

from hmi.security.api import Security
from hmi.security.config import SecuritySettings

# (name, role, password): the admin first (the first user must be an admin)
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "admin-demo-only"),
    ("engineer", "engineer", "engineer-demo-only"),
    ("operator", "operator", "operator-demo-only"),
    ("viewer", "viewer", "viewer-demo-only"),
)
DEMO_LOGIN = "operator"  # who the demo window logs in automatically


def ensure_demo_users(data_dir: Path, settings: SecuritySettings | None = None
                      ) -> list[tuple[str, str, str]]:
    """Create the demo accounts in an empty users database. Returns the demo accounts that
    exist in `data_dir` now (made now or on an earlier run), [] if the folder has other
    users only."""
    security = Security(data_dir, settings)
    try:
        if security.needs_first_admin():
            for name, role, password in DEMO_USERS:
                security.users.add(name, role, password, by="hmi demo", by_role="os-account")
        return [(name, role, password) for name, role, password in DEMO_USERS
                if (user := security.users.get(name)) is not None and user.enabled
                and user.created_by == "hmi demo"]
    finally:
        security.close()


def describe(accounts: list[tuple[str, str, str]]) -> str:
    """One line: `operator / operator-demo-only, ...` for the console and the window."""
    return ", ".join(f"{name} / {password} ({role})" for name, role, password in accounts)
