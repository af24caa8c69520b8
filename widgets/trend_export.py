"""The trend's CSV export: a worker writes the file (`hmi.trends.export`), this bar shows its
progress and a Cancel button.

Why a polled bar and not a signal per row: the worker only bumps two integers in an
`ExportProgress`; a 5 Hz timer in the GUI thread reads them. The bar appears only when the
export is still running after `SHOW_AFTER_S` (short exports just finish), and the outcome goes
to the station's notification area either way.

GUI thread only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from hmi.trends.data import TrendData
from hmi.trends.export import ExportCancelled, ExportProgress, export_csv

SHOW_AFTER_S = 0.3
POLL_S = 0.2


class ExportBar(QWidget):
    """Progress of the one export a trend may run at a time."""

    finished = Signal(str, int)  # path, rows written
    failed = Signal(str)  # why (cancelled included)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self.progress: ExportProgress | None = None
        self._context: Any = None
        self._path: Path | None = None
        self._started = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(round(POLL_S * 1000))
        self._timer.timeout.connect(self._on_poll)
        self.hide()

    def running(self) -> bool:
        return self.progress is not None

    def start(self, context: Any, data: TrendData, tags: list[str], t0: float, t1: float,
              path: Path) -> Any:
        """Run the export in a worker; a second one while the first runs is refused."""
        if self.progress is not None:
            raise RuntimeError("an export is already running")
        self.progress = ExportProgress()
        self._context, self._path, self._started = context, path, time.monotonic()
        self.label.setText(f"Exporting to {path.name}")
        self.bar.setValue(0)
        self._timer.start()
        return context.submit(export_csv, data, tags, t0, t1, path, self.progress,
                              slot=self._on_done, error_slot=self._on_error)

    def cancel(self) -> None:
        if self.progress is not None:
            self.progress.cancelled = True

    def _on_poll(self) -> None:
        progress = self.progress
        if progress is None:
            return
        if not self.isVisible() and time.monotonic() - self._started >= SHOW_AFTER_S:
            self.show()
        self.bar.setValue(round(progress.fraction() * 1000))
        self.bar.setFormat(f"{progress.done:,} / {progress.total:,} samples")

    def _finish(self) -> None:
        self.progress = None
        self._timer.stop()
        self.hide()

    def _on_done(self, rows: int) -> None:
        path = str(self._path)
        self._finish()
        self._context.notify(f"exported {rows:,} samples to {path}")
        self.finished.emit(path, rows)

    def _on_error(self, exc: BaseException) -> None:
        self._finish()
        if isinstance(exc, ExportCancelled):
            self._context.notify(str(exc), "warning")
        else:
            self._context.notify(f"export failed: {type(exc).__name__}: {exc}", "error")
        self.failed.emit(str(exc))
