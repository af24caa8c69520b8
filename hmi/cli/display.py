"""Progress bars and tables for the CLI, all from one library (rich), none hand-drawn.

Why rich: it knows when its stream is not a terminal (no cursor games in a pipe or a log), it
keeps a bar and ordinary output apart, and tables size themselves. Bars go to stderr so stdout
stays the data a script reads (`--json`, CSV); tables for people go to stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table


def stdout_console() -> Console:
    # a pipe gets a wide plain table rather than one folded to rich's default 80 columns
    return Console(width=None if sys.stdout.isatty() else 200, highlight=False)


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                right: Sequence[str] = (), header: bool = True) -> None:
    """A table for people on stdout. `right`: columns to right-align (numbers)."""
    table = Table(title=title, title_justify="left", box=None, pad_edge=False,
                  header_style="bold", show_header=header)
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left", overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    stdout_console().print(table)


class Bar:
    """A progress bar on stderr; `enabled=False` (not a terminal, a short job) draws nothing."""

    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress = progress
        self._task = task
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total)


@contextmanager
def progress_bar(description: str, total: int | None, enabled: bool | None = None
                 ) -> Iterator[Bar]:
    """`with progress_bar("export", n) as bar: bar.advance()`. Enabled by default only when
    stderr is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield Bar(None, None)
        return
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(description, total=total)
        yield Bar(progress, task)
