"""A small plant for trend tests: a project file, two hours of 1 s history in a real historian
file (one pen with a comm-failure gap), alarm journal rows, and a station context around them.

Written in well under a second: 2 x 7,200 samples through the real `Historian`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alarms.journal import Journal, JournalEntry
from hmi.historian.service import Historian
from hmi.tags import Quality, Sample

T_END = 1_800_000_000.0  # 2027-01-15 08:00 UTC
SPAN_S = 7200
T0 = T_END - SPAN_S
GAP = (T0 + 3000, T0 + 3300)  # Tank.Flow unreadable
GAP_REASON = "comm failure: timeout"

PROJECT = """\
[project]
name = "Trend test"
asset = "Plant/Line"

[[devices]]
name = "plc"
protocol = "sim"
poll_ms = 50

[[tags]]
name = "Tank.Level"
device = "plc"
asset = "Tank"
unit = "%"
decimals = 3
min = 0
max = 100
sim = { signal = "sine", period_s = 5, center = 50, amplitude = 20 }

[[tags]]
name = "Tank.Flow"
device = "plc"
asset = "Tank"
unit = "l/min"
sim = { signal = "ramp", period_s = 5, amplitude = 100 }

[[tags]]
name = "Tank.Temp"
device = "plc"
asset = "Tank"
unit = "degC"

[[tags]]
name = "Tank.Never"
device = "plc"
asset = "Tank"
unit = "%"

[[tags]]
name = "Tank.Mode"
device = "plc"
asset = "Tank"
type = "string"

[[tags]]
name = "Pump.Speed"
device = "plc"
asset = "Pump"
unit = "rpm"

[[alarms]]
tag = "Tank.Level"
type = "high"
limit = 75.0
priority = "high"
message = "Tank level high"

[[trend_groups]]
name = "Tank"
pens = ["Tank.Level", { tag = "Tank.Flow", colour = "#2E7D6B" }]
range = "-1h"
"""

ALARM_ROWS = [(T0 + 1000.0, "raise", "B", ""), (T0 + 1090.0, "ack", "C", "olga"),
              (T0 + 1500.0, "rtn", "A", "")]


def level(k: int) -> float:
    """Tank.Level at T0 + k seconds."""
    return round(50.0 + 30.0 * math.sin(k / 300.0), 3)


def flow(k: int) -> float:
    return float(k % 400) / 2.0


@dataclass
class TrendEnv:
    project_path: Path
    data_dir: Path


def write_env(root: Path) -> TrendEnv:
    """Project file + history + journal under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    project_path = root / "plant.toml"
    project_path.write_text(PROJECT, encoding="utf-8")
    data_dir = root / "data"
    data_dir.mkdir(exist_ok=True)
    samples: list[Sample] = []
    for k in range(SPAN_S):
        ts = T0 + k
        samples.append(Sample("Tank.Level", level(k), ts))
        if ts == GAP[0]:
            samples.append(Sample("Tank.Flow", None, ts, Quality.BAD, GAP_REASON))
        elif not GAP[0] < ts < GAP[1]:
            samples.append(Sample("Tank.Flow", flow(k), ts))
    historian = Historian(data_dir / "history.db",
                          tags=["Tank.Level", "Tank.Flow", "Tank.Temp", "Tank.Never",
                                "Pump.Speed"], clock=lambda: T_END, maintenance_s=3600)
    with historian:
        for i in range(0, len(samples), 5000):
            historian.submit(samples[i:i + 5000])
        assert historian.flush(30)
    journal = Journal(data_dir / "alarms.db")
    for ts, event, state, user in ALARM_ROWS:
        journal.append(JournalEntry(ts, "Tank.Level.HI", "Tank.Level", "Plant/Line/Tank", "high",
                                    700, event, state, level(int(ts - T0)), 75.0, user, ""))
    journal.flush()
    journal.close()
    return TrendEnv(project_path, data_dir)


def make_context(project_path: Path, data_dir: Path) -> tuple[Any, Any, Any]:
    """(runtime, bridge, context), the runtime not started (no device threads)."""
    from hmi.gui.bridge import TagBridge
    from hmi.gui.context import StationContext
    from hmi.project import load_project
    from hmi.runtime import Runtime

    runtime = Runtime(load_project(project_path), data_dir, services=())
    bridge = TagBridge()
    bridge.attach(runtime)
    return runtime, bridge, StationContext(runtime, bridge)
