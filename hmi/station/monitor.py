"""The `$station` device's driver, in effect: samples the station's health into tags.

One thread, `hmi-station`, wakes every `[station] period_s` (and at once after a clock step),
reads counters the other parts already keep (the historian writer, the alarm journal, the
dispatch path, the device runners, the clock) plus free disk space and resident memory, and
posts one batch through `Runtime.post`, like a device. So the station tags reach the tag table,
the historian, the alarm manager and the GUI by the same path as plant tags, and a station that
is itself in trouble (dispatch lag) shows it in the same lag it measures.

Every value is true also when a part is absent (`hmi tags` runs no historian: nothing fails,
nothing is held), so the tags are GOOD unless a measurement fails (BAD with the reason).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from typing import Any

from alarms.service import AlarmService
from hmi.clock import ClockStep
from hmi.historian.service import HistorianService
from hmi.station.config import STATION
from hmi.tags import Quality, Reason, Sample

log = logging.getLogger(__name__)


def rss_mb() -> float | None:
    """Resident memory of this process in MB (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


class StationMonitor:
    """Publishes `$station.*` samples for one `Runtime`. `start`/`stop` from the runtime."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        settings = runtime.project.model.station
        self.period_s = settings.period_s
        self.hold_s = settings.clock_stepped_hold_s
        self._names = {t.name for t in runtime.project.station_tags}
        self._thread = threading.Thread(target=self._main, name="hmi-station", daemon=True)
        self._wake = threading.Event()
        self._stopping = False
        self._stepped_until = 0.0  # monotonic
        self.published = 0
        self.last_error = ""

    def start(self) -> None:
        """Publish once now (so `hmi tags --once` sees the tags), then every period."""
        self.publish()
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def note_clock_step(self, step: ClockStep) -> None:
        """A step was detected (any thread): hold `clock.stepped` true and publish at once."""
        self._stepped_until = time.monotonic() + self.hold_s
        self._wake.set()

    def _main(self) -> None:
        while not self._stopping:
            self._wake.wait(self.period_s)
            self._wake.clear()
            if self._stopping:
                return
            try:
                self.publish()
            except Exception as exc:  # thread boundary: the monitor must outlive a bug in a
                # counter it reads; said once per distinct error, then retried next period
                if str(exc) != self.last_error:
                    log.exception("station monitor failed")
                self.last_error = str(exc)

    def publish(self) -> None:
        self.runtime.post(self.sample())
        self.published += 1

    def sample(self) -> list[Sample]:
        """One sample per station tag, stamped with the station clock."""
        rt = self.runtime
        now = rt.clock()
        values: dict[str, Any] = {}
        bad: dict[str, str] = {}
        try:
            values["disk_free_mb"] = round(shutil.disk_usage(rt.data_dir).free / 1e6, 1)
        except OSError as exc:
            bad["disk_free_mb"] = f"{Reason.DEVICE_ERROR}: {exc}"
        hist, alarms = _services(rt.services)
        writer = hist.historian.writer if hist is not None and hist.historian else None
        budget = rt.write_budget
        values["historian.failing"] = bool(writer is not None and writer.error)
        values["historian.lag_s"] = round(writer.lag_s(), 3) if writer is not None else 0.0
        values["historian.buffered_rows"] = budget.history.rows
        values["historian.dropped_rows"] = budget.history.dropped
        values["journal.failing"] = bool(alarms is not None and alarms.error)
        values["journal.buffered_rows"] = alarms.journal.buffered_rows() if alarms else 0
        values["journal.dropped_rows"] = budget.journal.dropped
        values["dispatch.lag_s"] = round(rt.dispatch_lag_s, 4)
        clock = rt.time
        values["clock.last_step_s"] = round(clock.last_step.step_s, 3) if clock.last_step else 0.0
        values["clock.steps"] = clock.steps
        values["clock.stepped"] = time.monotonic() < self._stepped_until
        memory = rss_mb()
        if memory is None:
            bad["memory_mb"] = f"{Reason.CONFIG_ERROR}: not measurable on this system"
        else:
            values["memory_mb"] = round(memory, 1)
        for name, runner in rt.runners.items():
            values[f"device.{name}.connected"] = runner.state == "connected"
        for name in rt.disabled_devices:
            bad[f"device.{name}.connected"] = f"{Reason.OUT_OF_SERVICE}: device disabled"
        out = [Sample(f"{STATION}.{key}", value, now) for key, value in values.items()]
        out += [Sample(f"{STATION}.{key}", None, now, Quality.BAD, why)
                for key, why in bad.items()]
        return [s for s in out if s.tag in self._names]

    def health(self) -> dict[str, object]:
        clock = self.runtime.time
        step = clock.last_step
        return {"device": STATION, "state": "running" if self._thread.is_alive() else "stopped",
                "published": self.published, "period_s": self.period_s,
                "clock_steps": clock.steps,
                "last_clock_step_s": step.step_s if step else None,
                "last_error": self.last_error}


def _services(services: list[Any]) -> tuple[HistorianService | None, AlarmService | None]:
    hist = next((s for s in services if isinstance(s, HistorianService)), None)
    alarms = next((s for s in services if isinstance(s, AlarmService)), None)
    return hist, alarms
