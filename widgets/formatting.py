"""How a tag's value reads on screen: decimals and units from the project file, quality rules.

The rule every widget keeps (ISA-101, and the issue's "never a stale good value"): a BAD sample
shows no number at all, only "BAD" and its reason; an UNCERTAIN sample shows its number marked
with "?"; a tag never read yet shows "----". Pure functions, any thread.
"""

from __future__ import annotations

import math
from typing import Any

from hmi.project_models import TagConfig
from hmi.tags import Quality, Sample

NO_VALUE = "----"
BAD_TEXT = "BAD"


def format_number(value: Any, cfg: TagConfig | None, with_unit: bool = False) -> str:
    """`value` with the tag's decimals (thousands separated for counters) and unit."""
    if value is None:
        text = NO_VALUE
    elif isinstance(value, bool):
        text = "ON" if value else "OFF"
    elif isinstance(value, int):
        text = f"{value:,}".replace(",", "\u2009")  # thin space: 12 345 reads in any locale
    elif isinstance(value, float):
        if not math.isfinite(value):
            text = NO_VALUE
        else:
            decimals = cfg.decimals if cfg is not None else 2
            text = f"{value:.{decimals}f}"
    elif hasattr(value, "tolist"):
        text = f"[{len(value)} values]"
    else:
        text = str(value)
    if with_unit and cfg is not None and cfg.unit and text not in (NO_VALUE,):
        text = f"{text} {cfg.unit}"
    return text


def display_text(sample: Sample | None, cfg: TagConfig | None) -> str:
    """What a value field shows (without unit): the number, "BAD" or "----"."""
    if sample is None or (sample.quality is Quality.BAD and sample.reason == "not yet read"):
        return NO_VALUE
    if sample.quality is Quality.BAD:
        return BAD_TEXT
    return format_number(sample.value, cfg)


def quality_tooltip(tag: str, sample: Sample | None, cfg: TagConfig | None) -> str:
    """Tooltip: tag, description, quality and reason (the why of a BAD or UNCERTAIN value)."""
    lines = [tag]
    if cfg is not None and cfg.description:
        lines.append(cfg.description)
    if sample is None:
        lines.append("no value yet")
    elif sample.quality is Quality.GOOD:
        lines.append(f"{format_number(sample.value, cfg, True)} (good)")
    else:
        label = "BAD" if sample.quality is Quality.BAD else "UNCERTAIN"
        lines.append(f"{label}: {sample.reason or 'no reason given'}")
        if sample.quality is Quality.UNCERTAIN:
            lines.append(f"value {format_number(sample.value, cfg, True)} may be wrong")
    lines.append("Click or Enter: faceplate")
    return "\n".join(lines)


def as_float(sample: Sample | None) -> float | None:
    """The sample's value as a finite float when it is usable for a bar (not BAD)."""
    if sample is None or sample.quality is Quality.BAD:
        return None
    value = sample.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None
