"""CSV export of a trend's visible range, with progress another thread can read.

The file has the columns and formats of `hmi history export --csv` (tag, ts ISO-8601 UTC,
value, quality, reason), so one script reads both. It is written to `FILE.partial` and renamed
when complete: a cancelled or failed export never leaves a truncated file under the name the
user chose.

Runs in a worker thread; `ExportProgress` is read by the GUI thread's timer (a few plain
attributes, no Qt, no queued call per row).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hmi.tags import iso_utc
from hmi.trends.data import TrendData


class ExportCancelled(Exception):
    """The user cancelled; nothing was written under the target name."""


class ExportProgress:
    """Rows done of rows to do. Written by the export thread, read by any (ints: atomic)."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.cancelled = False

    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


def export_csv(data: TrendData, tags: Iterable[str], t0: float, t1: float, path: Path | str,
               progress: ExportProgress | None = None) -> int:
    """Write every stored sample of `tags` in [t0, t1) to `path`; returns the rows written."""
    progress = progress or ExportProgress()
    path = Path(path)
    reader = data.reader()
    present = [t for t in dict.fromkeys(tags) if reader is not None and reader.has_tag(t)]
    progress.total = sum(reader.count(t, t0, t1) for t in present) if reader else 0
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            _write(csv.writer(handle), reader, present, t0, t1, progress)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if progress.cancelled:
        partial.unlink(missing_ok=True)
        raise ExportCancelled(f"export to {path} cancelled")
    os.replace(partial, path)
    return progress.done


def _write(writer: Any, reader: Any, tags: list[str], t0: float, t1: float,
           progress: ExportProgress) -> None:
    writer.writerow(["tag", "ts", "value", "quality", "reason"])
    for tag in tags:
        for sample in reader.iter_raw(tag, t0, t1):
            value = "" if sample.value is None else sample.value
            writer.writerow([tag, iso_utc(sample.ts), value, str(sample.quality), sample.reason])
            progress.done += 1
            if progress.cancelled:
                return
