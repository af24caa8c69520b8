"""Issue 11: wall-clock steps. The wall clock is injected (`Runtime(clock=...)`), the monotonic
clock is the real one: what an NTP correction does to a running station."""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from alarms.journal import Journal
from alarms.service import AlarmService
from hmi.clock import SLEW_RATE, StationClock
from hmi.historian.query import HistoryReader
from hmi.project import load_project
from hmi.runtime import Runtime
from tests.conftest import wait_until

T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def service(runtime: Runtime, cls: type) -> Any:
    return next(s for s in runtime.services if isinstance(s, cls))


class Wall:
    """Real time plus an offset a test steps."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_station_clock_absorbs_a_step_back_and_follows_a_step_forward() -> None:
    wall, mono = Clock(T0), Clock(100.0)
    clock = StationClock(wall, mono, step_s=2.0, slew_max_s=60.0)
    steps = []
    clock.add_listener(steps.append)
    stamps = []
    for _ in range(10):
        wall.now += 0.1
        mono.now += 0.1
        stamps.append(clock.now())
    assert stamps[-1] == pytest.approx(T0 + 1.0)
    wall.now -= 5.0  # NTP steps the wall clock back
    for _ in range(200):
        wall.now += 0.1
        mono.now += 0.1
        stamps.append(clock.now())
    assert all(b > a for a, b in itertools.pairwise(stamps))  # never back, never equal
    assert len(steps) == 1
    assert steps[0].step_s == pytest.approx(-5.0)
    assert steps[0].slewed
    # half speed until the wall clock catches up after 5 / (1 - SLEW_RATE) s, then the wall
    assert stamps[11] - stamps[10] == pytest.approx(0.1 * SLEW_RATE)
    assert stamps[-1] == pytest.approx(wall.now)
    wall.now += 30.0  # a step forward is followed at once
    mono.now += 0.1
    assert clock.now() == pytest.approx(wall.now)
    assert len(steps) == 2
    assert steps[1].step_s == pytest.approx(29.9)
    assert clock.steps == 2


def test_station_clock_follows_a_step_back_larger_than_slew_max() -> None:
    wall, mono = Clock(T0), Clock(0.0)
    clock = StationClock(wall, mono, step_s=2.0, slew_max_s=60.0)
    clock.now()
    wall.now -= 3600.0
    mono.now += 1.0
    assert clock.now() == pytest.approx(T0 - 3599.0)  # not an hour in the future for 2 hours
    assert not clock.last_step.slewed


def test_station_clock_ignores_drift_below_the_threshold() -> None:
    wall, mono = Clock(T0), Clock(0.0)
    clock = StationClock(wall, mono, step_s=2.0)
    wall.now += 1.5  # 1.5 s off in one call: an NTP slew, a slow call, not a step
    mono.now += 0.1
    clock.now()
    assert clock.steps == 0


def project(tmp_path: Path) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(
        '[project]\nname = "clock"\n\n[[devices]]\nname = "sim"\nprotocol = "sim"\n'
        'poll_ms = 100\n\n[[tags]]\nname = "Counter"\ndevice = "sim"\ntype = "int32"\n'
        'sim = { signal = "counter" }\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("step_s", [-5.0, 5.0])
def test_a_clock_step_keeps_every_sample_in_order_and_is_recorded(
        tmp_path: Path, data_dir: Path, step_s: float, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    wall = Wall()
    runtime = Runtime(load_project(project(tmp_path)), data_dir, clock=wall)
    runtime.start()
    try:
        wait_until(lambda: (runtime.tags.value("Counter") or 0) >= 8)
        wall.offset += step_s
        seen = runtime.tags.value("Counter")
        wait_until(lambda: runtime.tags.value("Counter") >= seen + 15)
        wait_until(lambda: any(a["name"] == "$station.clock_stepped"
                               for a in service(runtime, AlarmService).manager.active()))
        last = runtime.tags.value("Counter")
        assert runtime.tags.value("$station.clock.last_step_s") == pytest.approx(step_s, abs=0.3)
        assert runtime.tags.value("$station.clock.steps") == 1
    finally:
        runtime.stop()
    with HistoryReader(data_dir / "history.db") as reader:
        rows = [s for s in reader.raw("Counter", 0, 4e9) if s.value is not None]
        steps = reader.raw("$station.clock.last_step_s", 0, 4e9)
        events = reader.conn.execute("SELECT reason FROM gaps").fetchall()
    values = [int(s.value) for s in rows]
    assert values[:last] == list(range(1, last + 1))  # every value once, read back in order
    assert all(b.ts > a.ts for a, b in itertools.pairwise(rows))
    assert any(s.value == pytest.approx(step_s, abs=0.3) for s in steps)  # recorded as a tag
    way = "back" if step_s < 0 else "forward"
    assert next(r[0] for r in events if "clock stepped" in r[0]).startswith(
        f"clock stepped {way} 5.")
    journal = Journal(data_dir / "alarms.db")
    try:
        events = journal.query(event="station")
        raised = journal.query(alarm="$station.clock_stepped", event="raise")
    finally:
        journal.close()
    assert len(events) == 1, events  # the station event in the alarm journal
    assert events[0]["tag"] == "$station.clock.last_step_s"
    assert f"stepped {way} 5." in events[0]["comment"]
    assert events[0]["value"] == pytest.approx(step_s, abs=0.3)
    assert len(raised) == 1  # and the default alarm on it
    said = [r for r in caplog.records if "stepped" in r.getMessage()]
    assert [r.name for r in said] == ["hmi.clock"]  # one line in the log
