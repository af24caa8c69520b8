"""Alarms the station raises about its own MES sync: the outbox over its configured size, and
the outbox that cannot be written (a full disk). Events are never dropped in either case; the
alarm is how an operator learns that delivery or storage needs attention.

They are ordinary digital alarms on internal tags (`$station.mes.*`, fed by `MesService`
straight to the alarm service, never through the tag table or a device), declared through
`hmi.project.Project.system_alarms()` so the alarm manager knows them in the station and in the
CLI alike, journals them, and (through the journal) reports them upstream once the MES is back.
"""

from __future__ import annotations

from typing import Any

from alarms.config import AlarmConfig

OUTBOX_TAG = "$station.mes.outbox_over_limit"
WRITE_TAG = "$station.mes.write_failed"
OUTBOX_ALARM = "MES.OutboxOverLimit"
WRITE_ALARM = "MES.OutboxWriteFailed"


def alarm_configs(model: Any) -> list[AlarmConfig]:
    if not (model.mes.enabled or model.lines):
        return []
    area = model.project.asset or None
    return [
        AlarmConfig.model_validate({
            "name": OUTBOX_ALARM, "tag": OUTBOX_TAG, "type": "digital", "priority": "high",
            "area": area, "class": "system",
            "message": f"MES outbox over its limit ({model.mes.outbox_limit_mb:g} MB)",
            "consequence": "Nothing is lost, but the MES is far behind and the disk fills",
            "corrective_action": "Check the MES connection: hmi mes status"}),
        AlarmConfig.model_validate({
            "name": WRITE_ALARM, "tag": WRITE_TAG, "type": "digital", "priority": "urgent",
            "area": area, "class": "system",
            "message": "MES outbox cannot be written (disk full?)",
            "consequence": "Production events wait in memory; a crash now would lose them",
            "corrective_action": "Free disk space on the station"}),
    ]
