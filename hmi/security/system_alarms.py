"""The security layer's own alarms, raised through the ordinary alarm manager.

Digital alarms on internal tags (`$security.*`, fed by the station's security thread, not by a
device): a lockout standing, and the audit trail broken or unwritable. They go through the same
ISA-18.2 states, journal, banner and acknowledgement as process alarms, so an operator sees
them where they look anyway.
"""

from __future__ import annotations

from alarms.config import AlarmConfig

LOCKOUT_TAG = "$security.lockout"
AUDIT_TAG = "$security.audit"
AREA = "$station/security"

SYSTEM_ALARMS: tuple[AlarmConfig, ...] = (
    AlarmConfig(name=LOCKOUT_TAG, tag=LOCKOUT_TAG, type="digital", priority="high",
                area=AREA, message="User account locked out after repeated failed logins",
                consequence="Possible password guessing at this station",
                corrective_action="Check who tried; an admin can unlock (hmi users unlock)",
                **{"class": "security"}),
    AlarmConfig(name=AUDIT_TAG, tag=AUDIT_TAG, type="digital", priority="urgent",
                area=AREA, message="Audit trail broken or cannot be written",
                consequence="Actions are refused while the trail cannot be written; a broken "
                            "chain means entries were altered or removed",
                corrective_action="Run hmi audit verify; check disk space and the key",
                **{"class": "security"}),
)


def system_alarm_names() -> list[str]:
    return [a.name or a.tag for a in SYSTEM_ALARMS]
