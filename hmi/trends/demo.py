"""Recorded history for the demo line, for screenshots and trying the trend screen without
waiting hours: the simulator's plant model (`hmi.simulator.plant`) stepped once a second through
the real historian (project storage rules) and the real alarm manager (journal rows raised,
acknowledged and returned to normal by the engine itself, not written by hand).

The script of the run (offsets from its start, hours; a 12 h run ending at 06:00 puts it in
the night shift): 5.5 the operator raises the level setpoint to 88 % (level high), 5.9 back to
60 %; 6.5 the inlet valve sticks for 4 min (level low); 7.5 the product runs hot for 5 min;
8.0 the filler PLC stops answering for 15 min (a gap, "not communicating"); 9.5 the packer
trips; 11.25 the level setpoint goes to 70 %, 11.5 the line speeds up from 300 to 400 bottles
a minute. Standing alarms are acknowledged by "olga"
after 90 s. Qt-free; runs in the caller's thread (12 h take a few seconds).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alarms.engine import AlarmManager, defs_from_project
from alarms.journal import Journal
from hmi.historian.service import Historian
from hmi.simulator.plant import BottlingLine
from hmi.tags import Quality, Sample

# tag -> attribute of BottlingLine
TAGS = {
    "Line1.Filler.Level": "level", "Line1.Filler.InletFlow": "inlet_flow",
    "Line1.Filler.OutletFlow": "outlet_flow", "Line1.Filler.ProductTemp": "product_temp",
    "Line1.Filler.Pressure": "pressure_bar", "Line1.Filler.GoodCount": "good_count",
    "Line1.Filler.RejectCount": "reject_count", "Line1.Filler.MotorTemp": "filler_motor_temp",
    "Line1.Filler.LevelSetpoint": "level_setpoint", "Line1.Filler.SpeedSetpoint": "fill_speed_sp",
    "Line1.Filler.HighLevelSwitch": "high_level_switch", "Line1.Filler.RunCmd": "filler_run_cmd",
    "Line1.Filler.Running": "filler_running", "Line1.Filler.Fault": "filler_fault",
    "Line1.Packer.Speed": "packer_speed", "Line1.Packer.SpeedSetpoint": "packer_speed_sp",
    "Line1.Packer.RunCmd": "packer_run_cmd", "Line1.Packer.Running": "packer_running",
    "Line1.Packer.Fault": "packer_fault", "Line1.Packer.MotorTemp": "packer_motor_temp",
    "Line1.Packer.CasesPacked": "cases_packed", "Line1.Capper.Torque": "capper_torque",
}
OUTAGE = (8.0, 8.25)  # hours from the start: the filler PLC is unreachable
ACK_AFTER_S = 90.0
OPERATOR = "olga"


def _script(line: BottlingLine, hours: float) -> None:
    """The operator's and the plant's part of the story (see the module docstring)."""
    line.level_setpoint = 88.0 if 5.5 <= hours < 5.9 else 70.0 if hours >= 11.25 else 60.0
    line.fill_speed_sp = 400 if hours >= 11.5 else 300
    line.packer_speed_sp = 400.0 if hours >= 11.5 else 300.0
    for at, fault, seconds in ((6.5, "inlet_valve_stuck", 240.0), (7.5, "product_hot", 300.0),
                               (9.5, "packer_trip", 120.0)):
        if at <= hours < at + 1.5 / 3600:
            line.inject(fault, seconds)


def record_demo(project: Any, data_dir: Path | str, hours: float = 12.0,
                end: float | None = None, step_s: float = 1.0, seed: int = 7) -> dict[str, int]:
    """Write `hours` of demo history ending at `end` (default now) into `data_dir`'s
    `history.db` and `alarms.db`. Returns counts (samples submitted, journal rows)."""
    end = time.time() if end is None else end
    start = end - hours * 3600.0
    now = [start]

    def clock() -> float:
        return now[0]

    data_dir = Path(data_dir)
    known = {t.name for t in project.tags}
    tags = {name: attr for name, attr in TAGS.items() if name in known}
    historian = Historian.from_project(project, data_dir, clock=clock, maintenance_s=3600)
    journal = Journal(data_dir / "alarms.db")
    manager = AlarmManager(defs_from_project(project), project.model.alarm_settings, clock,
                           journal)
    line = BottlingLine(seed=seed, fault_every_s=0.0)
    filler = {t.name for t in project.tags if t.device == "filler"}
    submitted = 0
    historian.start()
    try:
        batch: list[Sample] = []
        steps = int(hours * 3600 / step_s)
        for i in range(steps):
            ts = now[0] = start + i * step_s
            offset_h = (ts - start) / 3600.0
            _script(line, offset_h)
            line.step(step_s)
            down = OUTAGE[0] <= offset_h < OUTAGE[1]
            samples = [Sample(name, None, ts, Quality.BAD, "comm failure: connection refused")
                       if down and name in filler else
                       Sample(name, getattr(line, attr), ts)
                       for name, attr in tags.items()]
            manager.on_batch(samples)
            manager.tick(ts)
            for alarm in manager.active():
                raised = alarm.get("raised_ts") or ts
                if not alarm.get("acked") and ts - raised >= ACK_AFTER_S and alarm["state"] in "BD":
                    manager.ack(alarm["name"], user=OPERATOR)
            batch += samples
            if len(batch) >= 2000:
                historian.submit(batch)
                submitted += len(batch)
                batch = []
                journal.flush()
        historian.submit(batch)
        submitted += len(batch)
        historian.flush(120)
        now[0] = end
        historian.maintain(300)
    finally:
        historian.stop()
        rows = journal.rows_written
        journal.close()
    return {"samples": submitted, "journal_rows": rows}
