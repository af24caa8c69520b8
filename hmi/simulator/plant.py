"""The demo bottling line: a filler tank with level control, a filler and a packer, counters,
temperatures, and a fault now and then. Pure Python, stepped by the simulator; the protocol
servers copy its state into Modbus registers and OPC UA nodes and feed writes back in.

Why faults: a demo whose values never leave normal shows no alarms. Faults are drawn from a
seeded RNG so a test can ask for a reproducible run, and `inject()` forces one on demand.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

TANK_LITRES = 1000.0
BOTTLE_LITRES = 0.5

FAULTS = ("filler_jam", "inlet_valve_stuck", "packer_trip", "product_hot")


@dataclass
class BottlingLine:
    """State of Line 1. Units: %, l/min, degC, bar, bottles/min, counts."""

    seed: int | None = None
    fault_every_s: float = 120.0  # mean time between random faults; 0 = never
    # operator inputs (written over Modbus / OPC UA)
    level_setpoint: float = 60.0
    fill_speed_sp: int = 300
    filler_run_cmd: bool = True
    packer_speed_sp: float = 300.0
    packer_run_cmd: bool = True
    # process state
    level: float = 55.0
    inlet_flow: float = 0.0
    outlet_flow: float = 0.0
    product_temp: float = 18.0
    filler_motor_temp: float = 35.0
    pressure_bar: float = 2.5
    filler_running: bool = False
    packer_speed: float = 0.0
    packer_running: bool = False
    packer_motor_temp: float = 40.0
    capper_torque: float = 0.0
    good_count: int = 0
    reject_count: int = 0
    cases_packed: int = 0
    product_code: str = "WATER05"
    faults: dict[str, float] = field(default_factory=dict)  # fault -> seconds left
    t: float = 0.0
    _bottles: float = 0.0
    _rejects: float = 0.0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def filler_fault(self) -> bool:
        return "filler_jam" in self.faults

    @property
    def packer_fault(self) -> bool:
        return "packer_trip" in self.faults

    @property
    def fault_code(self) -> int:
        """The filler PLC's diagnosis of what holds it up: 0 none, else 1 + the index of the
        first active fault in FAULTS (1 jam, 2 inlet valve, 3 packer trip, 4 product hot)."""
        for code, name in enumerate(FAULTS, start=1):
            if name in self.faults:
                return code
        return 0

    @property
    def filler_blocked(self) -> bool:
        """Running but held up downstream: the packer stopped, bottles back up."""
        return self.filler_running and not self.packer_running

    @property
    def filler_starved(self) -> bool:
        """Running but nothing to fill: the tank is (nearly) empty."""
        return self.filler_running and self.level < 5.0

    @property
    def high_level_switch(self) -> bool:
        return self.level >= 95.0

    @property
    def packer_state(self) -> str:
        if self.packer_fault:
            return "Faulted"
        return "Running" if self.packer_running else "Stopped"

    def inject(self, fault: str, duration_s: float = 20.0) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; faults: {', '.join(FAULTS)}")
        self.faults[fault] = duration_s

    def step(self, dt: float) -> None:
        """Advance the plant by `dt` seconds."""
        rng = self._rng
        self.t += dt
        for name in list(self.faults):
            self.faults[name] -= dt
            if self.faults[name] <= 0:
                del self.faults[name]
        if self.fault_every_s > 0 and rng.random() < dt / self.fault_every_s:
            self.inject(rng.choice(FAULTS), rng.uniform(15.0, 45.0))

        self.filler_running = self.filler_run_cmd and not self.filler_fault
        self.packer_running = self.packer_run_cmd and not self.packer_fault
        # bottles back up when the packer stops: the filler slows to a crawl
        speed = self.fill_speed_sp if self.filler_running else 0.0
        if self.filler_running and not self.packer_running:
            speed *= 0.1
        self.outlet_flow = speed * BOTTLE_LITRES  # l/min
        # PI-ish level control on the inlet valve; a stuck valve delivers nothing
        error = self.level_setpoint - self.level
        demand = self.outlet_flow + 40.0 * error
        stuck = "inlet_valve_stuck" in self.faults
        self.inlet_flow = 0.0 if stuck else max(0.0, min(400.0, demand))
        self.inlet_flow += rng.gauss(0, 1.5) if self.inlet_flow > 0 else 0.0
        self.inlet_flow = max(0.0, self.inlet_flow)
        self.level += (self.inlet_flow - self.outlet_flow) / 60.0 * dt / TANK_LITRES * 100.0
        self.level = max(0.0, min(100.0, self.level))

        target_temp = 31.0 if "product_hot" in self.faults else 18.0 + 0.5 * math.sin(self.t / 60)
        self.product_temp += (target_temp - self.product_temp) * min(1.0, dt / 8.0)
        self.product_temp += rng.gauss(0, 0.02)
        motor_target = 35.0 + (25.0 * speed / 600.0)
        self.filler_motor_temp += (motor_target - self.filler_motor_temp) * min(1.0, dt / 30.0)
        self.pressure_bar = 2.5 + 0.3 * (self.inlet_flow / 400.0) + rng.gauss(0, 0.01)

        packer_target = self.packer_speed_sp if self.packer_running else 0.0
        packer_target = min(packer_target, speed * 1.05 + 5) if self.packer_running else 0.0
        self.packer_speed += (packer_target - self.packer_speed) * min(1.0, dt / 3.0)
        self.packer_motor_temp += ((40.0 + 30.0 * self.packer_speed / 600.0)
                                   - self.packer_motor_temp) * min(1.0, dt / 30.0)
        self.capper_torque = (2.2 + rng.gauss(0, 0.05)) if self.filler_running else 0.0

        self._bottles += speed / 60.0 * dt
        whole = int(self._bottles)
        if whole:
            self._bottles -= whole
            self._rejects += whole * (0.015 + (0.2 if "product_hot" in self.faults else 0.0))
            rejects = int(self._rejects)
            self._rejects -= rejects
            self.reject_count += rejects
            self.good_count += whole - rejects
            self.cases_packed = self.good_count // 12
