"""Shared helpers for the alarm tests: a settable clock and alarm definitions from dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alarms.config import AlarmConfig, AlarmSettings
from alarms.engine import AlarmManager, build_defs
from alarms.journal import Journal
from alarms.permissions import AlarmPermissions
from hmi.tags import Quality, Sample


class Clock:
    """A clock the test moves by hand: `clock.t += 10` is ten seconds later."""

    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def manager(tmp_path: Path, alarms: list[dict[str, Any]], clock: Clock,
            permissions: AlarmPermissions | None = None, **settings: Any
            ) -> tuple[AlarmManager, Journal]:
    configs = [AlarmConfig.model_validate(a) for a in alarms]
    journal = Journal(tmp_path / "alarms.db")
    defs = build_defs(configs, lambda tag: "Plant/" + "/".join(tag.split(".")[:-1]))
    return AlarmManager(defs, AlarmSettings(**settings), clock, journal, permissions), journal


def feed(mgr: AlarmManager, tag: str, value: Any, quality: Quality = Quality.GOOD) -> None:
    mgr.on_batch([Sample(tag, value, mgr.clock(), quality)])


def events(journal: Journal, alarm: str | None = None) -> list[str]:
    journal.flush()
    return [r["event"] for r in journal.query(alarm=alarm)]
