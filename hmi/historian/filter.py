"""Which samples are worth a row: per-tag storage deadband, heartbeat and quality changes.

A plant tag polled every 500 ms that sits at 42.0 all night should cost a handful of rows, not
86,400 a day; a real change must never be skipped. The rule, per tag:
- store when quality changes (a BAD sample is the gap marker a trend breaks on);
- store when the value moves beyond the deadband from the last *stored* value (absolute, or a %
  of the tag's max - min; when both are set the wider band wins). Bools, strings and tags without
  a deadband store on any change;
- store at least every heartbeat seconds even if unchanged, so "the value at 03:00" and the
  trend's right edge never rest on a row older than the heartbeat.

Runs in the historian writer thread only (the state is not locked).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hmi.tags import Quality, Sample

Row = tuple[int, int, float | None, int, str | None, str | None]
"""(tag_id, t_ms, value, quality, text, reason): one `samples` row, in column order."""


@dataclass(frozen=True, slots=True)
class StoragePolicy:
    """How one tag is filtered. `deadband` is absolute, in engineering units (0: any change)."""

    record: bool = True
    deadband: float = 0.0
    heartbeat_s: float = 300.0


def policy_for(tag: Any, default_heartbeat_s: float) -> StoragePolicy:
    """A `StoragePolicy` from a project `TagConfig` (history, history_deadband[_pct], ...)."""
    band = float(tag.history_deadband or 0.0)
    if tag.history_deadband_pct and tag.min is not None and tag.max is not None:
        band = max(band, (tag.max - tag.min) * tag.history_deadband_pct / 100.0)
    heartbeat = tag.history_heartbeat_s or default_heartbeat_s
    return StoragePolicy(record=bool(tag.history), deadband=band, heartbeat_s=float(heartbeat))


def to_row(tag_id: int, sample: Sample) -> Row:
    """Encode a sample for the `samples` table. Non-finite numbers are stored as NULL."""
    value = sample.value
    number: float | None = None
    text: str | None = None
    if sample.quality is not Quality.BAD and value is not None:
        if isinstance(value, bool | int | float):
            number = float(value)
            if not math.isfinite(number):
                number = None
        elif isinstance(value, str):
            text = value
        elif hasattr(value, "tolist"):
            text = json.dumps(value.tolist())
        else:
            text = json.dumps(value, default=str)
    reason = sample.reason or None if sample.quality is not Quality.GOOD else None
    return (tag_id, round(sample.ts * 1000), number, int(sample.quality), text, reason)


class _Last:
    __slots__ = ("quality", "t_ms", "text", "value")

    def __init__(self, row: Row) -> None:
        self.t_ms = row[1]
        self.value = row[2]
        self.quality = row[3]
        self.text = row[4]


class StorageFilter:
    """Decides, sample by sample, what goes to disk. Writer thread only."""

    def __init__(self, default_heartbeat_s: float = 300.0) -> None:
        self.default_heartbeat_s = default_heartbeat_s
        self._policies: dict[str, StoragePolicy] = {}
        self._last: dict[int, _Last] = {}
        self.seen = 0
        self.stored = 0

    def set_policy(self, tag: str, policy: StoragePolicy) -> None:
        self._policies[tag] = policy

    def policy(self, tag: str) -> StoragePolicy:
        policy = self._policies.get(tag)
        if policy is None:
            policy = self._policies[tag] = StoragePolicy(heartbeat_s=self.default_heartbeat_s)
        return policy

    def remember(self, row: Row) -> None:
        """Note a row written outside `filter` (gap markers, the last row from a previous run)."""
        self._last[row[0]] = _Last(row)

    def filter(self, samples: Iterable[tuple[int, Sample]]) -> list[Row]:
        """The rows to store from (tag_id, sample) pairs, in arrival order."""
        rows: list[Row] = []
        for tag_id, sample in samples:
            self.seen += 1
            policy = self.policy(sample.tag)
            if not policy.record:
                continue
            row = to_row(tag_id, sample)
            last = self._last.get(tag_id)
            if last is None or self._changed(last, row, policy):
                rows.append(row)
                self._last[tag_id] = _Last(row)
        self.stored += len(rows)
        return rows

    @staticmethod
    def _changed(last: _Last, row: Row, policy: StoragePolicy) -> bool:
        if row[3] != last.quality:
            return True
        if row[1] - last.t_ms >= policy.heartbeat_s * 1000:
            return True
        if row[1] < last.t_ms:  # the source clock went back: keep it, a person will ask
            return True
        value, before = row[2], last.value
        if value is None or before is None:
            return value is not before or row[4] != last.text
        if policy.deadband > 0:
            return abs(value - before) > policy.deadband
        return value != before
