""""Trend around this alarm" from anywhere (the alarm summary, the journal, a faceplate): one
rule for which tags and which minutes, so every entry point opens the same trend.

Tags: the alarm's tag first, then the numeric, historised tags of the same asset, at most the
trend screen's 8 pens (`hmi.trends.groups.tags_around`). Time: `MARGIN_S` either side of the
alarm's time (issue 13: "the minutes before and after it"). The request goes through
`context.show_trend`; the main window shows the trends screen and calls its `show_around`.
GUI thread only.
"""

from __future__ import annotations

import time
from typing import Any

from hmi.trends.groups import tags_around

MARGIN_S = 600.0


def trend_around(context: Any, tag: str, at: float | None = None) -> list[str]:
    """Ask for the trend of `tag` (and its asset's tags) around `at` (epoch s; default now).
    Returns the tags asked for (empty when `tag` is empty)."""
    if not tag:
        return []
    tags = tags_around(context.runtime.project, tag) or [tag]
    at = time.time() if at is None else float(at)
    context.show_trend(tags, at - MARGIN_S, at + MARGIN_S)
    return tags
