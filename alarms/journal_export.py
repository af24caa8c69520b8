"""Reading the alarm journal for people: filtered queries with free text, and CSV export.

Why here and not in the screen: the journal screen runs these in a worker thread, and the same
filters must mean the same thing everywhere (`hmi alarms journal` filters by exact column
values through `Journal.query`; free text is matched here, case-insensitive, over the alarm,
tag, message, user and comment). No Qt: any thread.
"""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alarms.journal import Journal

CSV_COLUMNS = ("time", "alarm", "message", "tag", "area", "priority", "severity", "event",
               "state", "value", "limit", "user", "comment")
PROGRESS_EVERY = 2000  # rows between progress reports (a few dozen per export, not per row)


class ExportCancelled(Exception):
    """The operator cancelled the export; nothing was left at the destination."""


@dataclass(frozen=True)
class JournalFilter:
    """What to read: a time range (epoch s) and the CLI's exact filters, plus free text."""

    start: float | None = None
    end: float | None = None
    alarm: str | None = None
    area: str | None = None
    priority: str | None = None
    tag: str | None = None
    state: str | None = None
    event: str | None = None
    text: str = ""


def query(path: Path, flt: JournalFilter, messages: Mapping[str, str] | None = None,
          limit: int | None = None) -> list[dict[str, Any]]:
    """Journal rows in time order, each with its alarm's `message`. Opens its own connection
    (the service's stays free for the alarm thread). `limit` applies before the text filter
    only when there is no text; with text, the first `limit` matches are returned."""
    messages = messages or {}
    journal = Journal(path)
    try:
        rows = journal.query(flt.start, flt.end, alarm=flt.alarm, area=flt.area,
                             priority=flt.priority, tag=flt.tag, state=flt.state,
                             event=flt.event, limit=None if flt.text else limit)
    finally:
        journal.close()
    needle = flt.text.strip().casefold()
    out = []
    for row in rows:
        row["message"] = messages.get(row["alarm"], "")
        if needle:
            hay = " ".join(str(row.get(k) or "") for k in ("alarm", "tag", "message", "user",
                                                           "comment", "area"))
            if needle not in hay.casefold():
                continue
        out.append(row)
        if limit is not None and len(out) >= limit:
            break
    return out


def _check(cancel: threading.Event | None, why: str) -> None:
    if cancel is not None and cancel.is_set():
        raise ExportCancelled(why)


def write_csv(rows: list[dict[str, Any]], dest: Path,
              progress: Callable[[int, int], None] | None = None,
              cancel: threading.Event | None = None) -> int:
    """Write `rows` as CSV (UTF-8, header first) via a temporary file renamed into place, so a
    cancelled or failed export never leaves half a file. Returns the rows written."""
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.part")
    total = len(rows)
    try:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for i, row in enumerate(rows, 1):
                writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
                if i % PROGRESS_EVERY == 0:
                    _check(cancel, f"export cancelled after {i} of {total} rows")
                    if progress is not None:
                        progress(i, total)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(total, total)
    return total


def export(path: Path, flt: JournalFilter, dest: Path, messages: Mapping[str, str] | None = None,
           progress: Callable[[int, int], None] | None = None,
           cancel: threading.Event | None = None) -> int:
    """Query then write: what the journal screen's "Export CSV" runs in a worker."""
    if progress is not None:
        progress(0, 0)  # unknown total while the query runs
    rows = query(path, flt, messages)
    _check(cancel, "export cancelled")
    return write_csv(rows, dest, progress, cancel)
