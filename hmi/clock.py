"""The station's time for data: the wall clock, made safe against steps.

Why: an NTP correction steps the wall clock (`time.time`) while the monotonic clock runs on.
Measured before this module existed (issue 11, a sim counter at 100 ms, wall clock stepped back
5 s): 29 of 201 counter values were overwritten in the historian (its key is tag + integer ms)
and 16 pairs read back out of order, and nothing said the clock had moved.

`StationClock.now()` is what drivers without a source timestamp (Modbus, sim), the device
runners and the services stamp with. It detects a step by comparing the wall-clock delta with the
monotonic delta since the previous call (threshold `step_s`, default 2 s, `[station]
clock_step_s`), tells its listeners once per step, and keeps its stamps from ever going back:
- a forward step is followed at once (the stamps jump, the history records the jump as a gap);
- a backward step of up to `slew_max_s` is absorbed: the stamp clock runs at half speed
  (`SLEW_RATE`) until the wall clock has caught up, so a 5 s step back costs 10 s of stamps
  that are at most 5 s ahead, and no two samples of a tag can swap order or collide;
- a larger backward step is followed (a station whose clock was an hour off must not stamp an
  hour into the future for two hours); the historian then keeps both timelines (it never
  overwrites a sample whose time is taken) and records the ambiguous interval as an event.

Thread-safe: device threads, the dispatch thread and the station monitor all call `now()`; one
lock keeps the reads of both clocks and the update of the last stamp together (~0.3 us).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

SLEW_RATE = 0.5  # stamp seconds per monotonic second while a backward step is absorbed


@dataclass(frozen=True, slots=True)
class ClockStep:
    """One detected wall-clock step. `step_s` > 0: forward. `before`/`after` are the wall-clock
    readings (epoch seconds) around the step; `stamp` is the station time it was seen at."""

    step_s: float
    before: float
    after: float
    stamp: float
    slewed: bool  # True: absorbed by slewing (stamps stayed in order); False: followed

    def describe(self) -> str:
        way = "forward" if self.step_s > 0 else "back"
        how = ("samples are stamped in order, catching up at half speed"
               if self.slewed else "samples follow the new time")
        return (f"wall clock stepped {way} {abs(self.step_s):.1f} s against the monotonic "
                f"clock (clock correction or suspend); {how}")


StepListener = Callable[[ClockStep], None]


class StationClock:
    """Monotone, step-aware station time. See the module docstring."""

    def __init__(self, wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, step_s: float = 2.0,
                 slew_max_s: float = 60.0) -> None:
        self._wall = wall
        self._mono = monotonic
        self.step_s = step_s
        self.slew_max_s = slew_max_s
        self._lock = threading.Lock()
        self._listeners: list[StepListener] = []
        self._last_wall = wall()
        self._last_mono = monotonic()
        self._last_stamp = self._last_wall
        self.steps = 0
        self.last_step: ClockStep | None = None

    def add_listener(self, fn: StepListener) -> None:
        """Call `fn(step)` once per detected step, in the thread that noticed it: be quick."""
        self._listeners.append(fn)

    def wall(self) -> float:
        """The raw wall clock (what was injected); for display, never for stamping data."""
        return self._wall()

    def now(self) -> float:
        """Epoch seconds to stamp data with: never behind the previous stamp. Any thread."""
        step: ClockStep | None = None
        with self._lock:
            wall = self._wall()
            mono = self._mono()
            elapsed = mono - self._last_mono
            drift = wall - (self._last_wall + elapsed)
            last = self._last_stamp
            if abs(drift) > self.step_s:
                slewed = drift < 0 and -drift <= self.slew_max_s
                step = ClockStep(drift, self._last_wall, wall, wall if not slewed else last,
                                 slewed)
                self.steps += 1
                self.last_step = step
            if wall >= last or (step is not None and not step.slewed):
                stamp = wall
            else:
                stamp = last + elapsed * SLEW_RATE
            self._last_wall, self._last_mono, self._last_stamp = wall, mono, stamp
        if step is not None:
            log.warning("clock: %s", step.describe())
            for fn in list(self._listeners):
                try:
                    fn(step)
                except Exception:  # a listener bug must not break stamping in a device thread
                    log.exception("clock step listener failed")
        return stamp
