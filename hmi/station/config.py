"""The `$station` device: the station's own health as tags and default alarms, and its
`[station]` table in the project file.

Why as tags: an operator (and the historian, the alarm manager, the GUI) already knows how to
watch, trend and alarm on tags, so disk space, history and journal write state, dispatch lag,
clock steps and device links become tags of a device every project has. The loader adds them
(`station_tags`, `station_alarms`); users never write them, and names starting with `$` are
reserved. A project tunes or switches off the default alarms in `[station.alarms.<key>]`:

```toml
[station]
period_s = 1.0              # how often the station tags are sampled
clock_step_s = 2.0          # a wall-clock jump larger than this is a clock step
clock_slew_max_s = 60       # backward steps up to this are absorbed (stamps stay in order)
source_skew_s = 10          # OPC UA source vs receive time beyond this: UNCERTAIN
disk_low_mb = 500           # the disk_low alarm's limit
buffer_rows = 1000000       # rows history + journal may hold in memory while writes fail
buffer_mb = 200             # the same budget in MB (history is shed first)

[station.alarms.disk_low]   # disk_low, historian_not_writing, journal_not_writing,
enabled = true              # clock_stepped, device_down (every device's)
priority = "high"
limit = 1000
on_delay_s = 5
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alarms.config import AlarmConfig, Priority

STATION = "$station"
AREA = "$station"  # the alarms' area (the security layer's own are under "$station/security")
RESERVED_PREFIX = "$"
AlarmKey = Literal["disk_low", "historian_not_writing", "journal_not_writing", "clock_stepped",
                   "device_down"]


class StationAlarmTuning(BaseModel):
    """Overrides for one default station alarm; unset keys keep the default."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    priority: Priority | None = None
    limit: float | None = None
    deadband: float | None = Field(None, ge=0)
    on_delay_s: float | None = Field(None, ge=0)
    off_delay_s: float | None = Field(None, ge=0)
    message: str | None = None


class StationSettings(BaseModel):
    """`[station]`: see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    period_s: float = Field(1.0, ge=0.1, le=60)
    clock_step_s: float = Field(2.0, gt=0)
    clock_slew_max_s: float = Field(60.0, ge=0)
    clock_stepped_hold_s: float = Field(60.0, gt=0)  # $station.clock.stepped stays true
    source_skew_s: float = Field(10.0, gt=0)
    disk_low_mb: float = Field(500.0, ge=0)
    buffer_rows: int = Field(1_000_000, ge=1_000)
    buffer_mb: float = Field(200.0, gt=0)
    alarms: dict[AlarmKey, StationAlarmTuning] = Field(default_factory=dict)


def _tag(name: str, kind: str, unit: str = "", description: str = "", decimals: int = 0,
         deadband: float | None = None) -> dict:
    return {"name": f"{STATION}.{name}", "device": STATION, "type": kind, "unit": unit,
            "description": description, "decimals": decimals, "history_deadband": deadband}


def station_tag_specs(device_names: list[str]) -> list[dict]:
    """The `$station` tags as `TagConfig` keyword dicts (the loader validates them)."""
    specs = [
        _tag("disk_free_mb", "float64", "MB", "free space where history and journal live",
             deadband=10.0),
        _tag("historian.failing", "bool", "", "true while the history database refuses writes"),
        _tag("historian.lag_s", "float64", "s", "age of the oldest sample not yet on disk",
             1, 1.0),
        _tag("historian.buffered_rows", "int32", "rows", "history rows held in memory",
             deadband=100),
        _tag("historian.dropped_rows", "int32", "rows", "history rows dropped (buffer full)"),
        _tag("journal.failing", "bool", "", "true while the alarm journal refuses writes"),
        _tag("journal.buffered_rows", "int32", "rows", "journal rows held in memory"),
        _tag("journal.dropped_rows", "int32", "rows", "journal rows dropped (buffer full)"),
        _tag("dispatch.lag_s", "float64", "s", "delay from a device to the services", 3, 0.5),
        _tag("clock.last_step_s", "float64", "s", "size of the last wall-clock step (+ forward)",
             1),
        _tag("clock.steps", "int32", "", "wall-clock steps seen since start"),
        _tag("clock.stepped", "bool", "", "true for a while after a wall-clock step"),
        _tag("memory_mb", "float64", "MB", "resident memory of the station process", 0, 5.0),
    ]
    specs += [_tag(f"device.{name}.connected", "bool", "", f"device {name} is connected")
              for name in device_names]
    return specs


def station_alarm_specs(settings: StationSettings, device_names: list[str],
                        history: bool) -> list[dict]:
    """The default `$station` alarms, tuned by `[station.alarms.*]`, as `AlarmConfig` dicts."""
    limit = settings.disk_low_mb
    base: list[tuple[AlarmKey, dict]] = [
        ("disk_low", {"name": f"{STATION}.disk_low", "tag": f"{STATION}.disk_free_mb",
                      "type": "low", "limit": limit, "deadband": max(10.0, limit * 0.05),
                      "on_delay_s": 5.0, "priority": "high",
                      "message": "Data disk almost full: history and alarm journal will stop"}),
        ("journal_not_writing", {
            "name": f"{STATION}.journal_not_writing", "tag": f"{STATION}.journal.failing",
            "type": "digital", "on_delay_s": 2.0, "priority": "high",
            "message": "Alarm journal not writing: rows are held in memory"}),
        ("clock_stepped", {
            "name": f"{STATION}.clock_stepped", "tag": f"{STATION}.clock.stepped",
            "type": "digital", "priority": "low",
            "message": "Station clock stepped (see $station.clock.last_step_s)"}),
    ]
    if history:
        base.insert(1, ("historian_not_writing", {
            "name": f"{STATION}.historian_not_writing", "tag": f"{STATION}.historian.failing",
            "type": "digital", "on_delay_s": 5.0, "priority": "high",
            "message": "Historian not writing: samples are held in memory"}))
    base += [("device_down", {
        "name": f"{STATION}.device.{name}.down", "tag": f"{STATION}.device.{name}.connected",
        "type": "digital", "on_state": False, "on_delay_s": 10.0, "priority": "medium",
        "message": f"Device {name} not connected"}) for name in device_names]
    out = []
    for key, spec in base:
        tuning = settings.alarms.get(key)
        if tuning is not None:
            if not tuning.enabled:
                continue
            spec |= tuning.model_dump(exclude={"enabled"}, exclude_none=True)
        out.append({**spec, "class": "system", "area": AREA})
    return out


def build_alarms(specs: list[dict]) -> list[AlarmConfig]:
    return [AlarmConfig.model_validate(spec) for spec in specs]
