""""Trend around this alarm" from anywhere (the alarm summary, the journal, a faceplate): one
rule for which tags and which minutes, so every entry point opens the same trend.

Tags: the alarm's tag first, then the numeric, historised tags of the same asset, at most the
trend screen's 8 pens (`hmi.trends.groups.tags_around`). Time: `MARGIN_S` either side of the
alarm's **last raise** (issue 13: "the minutes before and after it"): a standing alarm knows
it (`raised_ts`); for one that has cleared, or from a journal row that is not the raise (an
acknowledge, a return to normal), the journal is asked for the last raise of that alarm at or
before that moment, in a worker (`hmi.trends.data.last_raise`), and the trend opens when it
answers. Before, a cleared alarm centred on now and an acknowledge row on the acknowledge:
a technician tracing a trip after it cleared saw the wrong minutes. The request goes through
`context.show_trend`; the main window shows the trends screen and calls its `show_around`.
GUI thread only.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Any

from hmi.trends.data import JOURNAL_NAME, last_raise
from hmi.trends.groups import tags_around

log = logging.getLogger(__name__)
MARGIN_S = 600.0


def trend_around(context: Any, tag: str, at: float | None = None, *, alarm: str | None = None,
                 raised: float | None = None) -> list[str]:
    """Ask for the trend of `tag` (and its asset's tags) around an alarm. `raised`: its raise
    when known (epoch s); else, with `alarm`, its last raise at or before `at` (default now)
    from the journal, `at` itself when the journal has none; else around `at`. Returns the
    tags asked for (empty when `tag` is empty)."""
    if not tag:
        return []
    tags = tags_around(context.runtime.project, tag) or [tag]
    at = time.time() if at is None else float(at)
    if raised is not None or alarm is None:
        _show(context, tags, at, raised)
        return tags
    journal = Path(context.runtime.data_dir) / JOURNAL_NAME
    context.submit(last_raise, journal, alarm, at,
                   slot=functools.partial(_show, context, tags, at),
                   error_slot=functools.partial(_on_failed, context, tags, at))
    return tags


def _show(context: Any, tags: list[str], at: float, raised: float | None) -> None:
    centre = at if raised is None else float(raised)
    context.show_trend(tags, centre - MARGIN_S, centre + MARGIN_S)


def _on_failed(context: Any, tags: list[str], at: float, exc: BaseException) -> None:
    log.warning("trend around: cannot read the alarm journal: %s", exc)
    context.notify(f"alarm journal unreadable ({exc}): the trend is centred on the event",
                   "warning")
    _show(context, tags, at, None)
