"""Serve the demo bottling line over real protocols: Modbus TCP (the filler PLC) and OPC UA (the
packer), both on 127.0.0.1. `hmi sim` runs this in the foreground; tests and `hmi demo` run it in
a thread with `SimulatorThread`. The register and node maps here are what
`resources/demo/project.toml` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import struct
import threading
from importlib import resources
from pathlib import Path

from asyncua import Server, ua

from hmi.loop_thread import ServerThread
from hmi.simulator.modbus_server import ModbusImageServer
from hmi.simulator.plant import BottlingLine

log = logging.getLogger(__name__)

STEP_S = 0.1
NAMESPACE = "urn:hmi-station:demo"
DEFAULT_MODBUS_PORT = 5020
DEFAULT_OPCUA_PORT = 4840
DEFAULT_MES_PORT = 4841  # the reference MES (`hmi mes-stub`) that `hmi demo` starts


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _f32(value: float, order: str = "ABCD") -> list[int]:
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [lo, hi] if order == "CDAB" else [hi, lo]


def _u32(value: int) -> list[int]:
    value &= 0xFFFFFFFF
    return [value >> 16, value & 0xFFFF]


def _from_f32(regs: list[int]) -> float:
    return struct.unpack(">f", struct.pack(">HH", *regs))[0]


def _string_regs(text: str, length: int) -> list[int]:
    raw = text.encode("ascii", "replace")[:length].ljust(length + length % 2, b"\0")
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]


class FillerModbusMap:
    """The filler PLC's register map (0-based), matching resources/demo/project.toml."""

    def __init__(self, server: ModbusImageServer, plant: BottlingLine) -> None:
        self.image = server.image
        self.plant = plant
        img = self.image
        img.hr[100:102] = _f32(plant.level_setpoint)
        img.hr[102] = plant.fill_speed_sp
        img.co[0] = plant.filler_run_cmd
        img.hr[120:124] = _string_regs(plant.product_code, 8)

    def pull_inputs(self) -> None:
        """Operator writes -> plant (writes land in the image)."""
        img, plant = self.image, self.plant
        setpoint = _from_f32(img.hr[100:102])
        if setpoint == setpoint:  # not NaN
            plant.level_setpoint = max(0.0, min(100.0, setpoint))
        plant.fill_speed_sp = min(600, img.hr[102])
        plant.filler_run_cmd = bool(img.co[0])

    def push_outputs(self) -> None:
        img, p = self.image, self.plant
        img.ir[0:2] = _f32(p.level)
        img.ir[2:4] = _f32(p.inlet_flow)
        img.ir[4:6] = _f32(p.outlet_flow)
        img.ir[6:8] = _f32(p.product_temp, "CDAB")
        img.ir[8] = round(p.pressure_bar * 100) & 0xFFFF
        img.ir[10:12] = _u32(p.good_count)
        img.ir[12:14] = _u32(p.reject_count)
        img.ir[14] = round(p.filler_motor_temp * 10) & 0xFFFF
        img.ir[15] = p.fault_code
        img.hr[110] = (p.filler_running << 0) | (p.filler_fault << 1) | (p.high_level_switch << 2)
        img.di[0] = p.filler_running
        img.di[1] = p.filler_fault
        img.di[2] = p.high_level_switch
        img.di[3] = p.filler_blocked
        img.di[4] = p.filler_starved


PACKER_NODES: dict[str, tuple[ua.VariantType, bool]] = {
    # name -> (type, writable)
    "Packer.Speed": (ua.VariantType.Double, False),
    "Packer.SpeedSetpoint": (ua.VariantType.Double, True),
    "Packer.RunCmd": (ua.VariantType.Boolean, True),
    "Packer.Running": (ua.VariantType.Boolean, False),
    "Packer.Fault": (ua.VariantType.Boolean, False),
    "Packer.MotorTemp": (ua.VariantType.Double, False),
    "Packer.CasesPacked": (ua.VariantType.UInt32, False),
    "Packer.State": (ua.VariantType.String, False),
    "Capper.Torque": (ua.VariantType.Float, False),
}


class PackerOpcUaServer:
    """The packer's OPC UA server: one object per machine, string node ids in NAMESPACE."""

    def __init__(self, plant: BottlingLine, host: str = "127.0.0.1", port: int = 0) -> None:
        self.plant = plant
        self.host = host
        self.port = port or free_port(host)
        self.server = Server()
        self.nodes: dict[str, object] = {}
        self._last: dict[str, object] = {}

    @property
    def url(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}"

    async def start(self) -> None:
        await self.server.init()
        self.server.set_endpoint(f"{self.url}/")
        self.server.set_server_name("HMI Station demo plant (packer)")
        self.server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        idx = await self.server.register_namespace(NAMESPACE)
        objects = self.server.nodes.objects
        folders: dict[str, object] = {}
        for name, (vtype, writable) in PACKER_NODES.items():
            machine = name.split(".")[0]
            if machine not in folders:
                folders[machine] = await objects.add_object(
                    ua.NodeId(machine, idx), ua.QualifiedName(machine, idx))
            initial = self._value(name)
            node = await folders[machine].add_variable(  # type: ignore[attr-defined]
                ua.NodeId(name, idx), ua.QualifiedName(name.split(".", 1)[1], idx),
                ua.Variant(initial, vtype), varianttype=vtype)
            if writable:
                await node.set_writable()
            self.nodes[name] = node
            self._last[name] = initial
        await self.server.start()
        log.info("OPC UA server on %s", self.url)

    async def stop(self) -> None:
        await self.server.stop()

    def _value(self, name: str) -> object:
        p = self.plant
        return {
            "Packer.Speed": float(p.packer_speed),
            "Packer.SpeedSetpoint": float(p.packer_speed_sp),
            "Packer.RunCmd": p.packer_run_cmd,
            "Packer.Running": p.packer_running,
            "Packer.Fault": p.packer_fault,
            "Packer.MotorTemp": float(p.packer_motor_temp),
            "Packer.CasesPacked": int(p.cases_packed),
            "Packer.State": p.packer_state,
            "Capper.Torque": float(p.capper_torque),
        }[name]

    async def pull_inputs(self) -> None:
        speed_sp = await self.nodes["Packer.SpeedSetpoint"].read_value()  # type: ignore[attr-defined]
        if isinstance(speed_sp, int | float) and speed_sp == speed_sp:
            self.plant.packer_speed_sp = max(0.0, min(600.0, float(speed_sp)))
        self._last["Packer.SpeedSetpoint"] = self.plant.packer_speed_sp
        run = await self.nodes["Packer.RunCmd"].read_value()  # type: ignore[attr-defined]
        self.plant.packer_run_cmd = bool(run)
        self._last["Packer.RunCmd"] = self.plant.packer_run_cmd

    async def push_outputs(self) -> None:
        for name, (vtype, writable) in PACKER_NODES.items():
            if writable:
                continue
            value = self._value(name)
            if value != self._last.get(name):
                self._last[name] = value
                await self.server.write_attribute_value(
                    self.nodes[name].nodeid, ua.DataValue(ua.Variant(value, vtype),  # type: ignore[attr-defined]
                                                           SourceTimestamp=None))


class DemoPlant:
    """Plant + both servers in one asyncio loop."""

    def __init__(self, modbus_port: int = DEFAULT_MODBUS_PORT,
                 opcua_port: int = DEFAULT_OPCUA_PORT, seed: int | None = None,
                 fault_every_s: float = 120.0, host: str = "127.0.0.1") -> None:
        self.plant = BottlingLine(seed=seed, fault_every_s=fault_every_s)
        self.modbus = ModbusImageServer(host, modbus_port)
        self.opcua = PackerOpcUaServer(self.plant, host, opcua_port)
        self.filler_map = FillerModbusMap(self.modbus, self.plant)

    async def start(self) -> None:
        self.filler_map.push_outputs()
        await self.modbus.start()
        await self.opcua.start()

    async def stop(self) -> None:
        await self.modbus.stop()
        await self.opcua.stop()

    async def run(self, stop: asyncio.Event, duration_s: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        next_step = started
        while not stop.is_set():
            if duration_s is not None and loop.time() - started >= duration_s:
                return
            self.filler_map.pull_inputs()
            await self.opcua.pull_inputs()
            self.plant.step(STEP_S)
            self.filler_map.push_outputs()
            await self.opcua.push_outputs()
            next_step += STEP_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_step - loop.time()))


async def serve(modbus_port: int, opcua_port: int, duration_s: float | None, seed: int | None,
                fault_every_s: float, ready: threading.Event | None = None,
                stop: asyncio.Event | None = None) -> None:
    demo = DemoPlant(modbus_port, opcua_port, seed, fault_every_s)
    await demo.start()
    stop = stop or asyncio.Event()
    try:
        if ready:
            ready.set()
        await demo.run(stop, duration_s)
    finally:
        await demo.stop()


class SimulatorThread(ServerThread):
    """The demo plant in a background thread `hmi-sim` (for `hmi demo` and tests)."""

    what = "demo plant"

    def __init__(self, modbus_port: int = 0, opcua_port: int = 0, seed: int | None = 1,
                 fault_every_s: float = 0.0) -> None:
        super().__init__("hmi-sim")
        self.modbus_port = modbus_port or free_port()
        self.opcua_port = opcua_port or free_port()
        self.seed = seed
        self.fault_every_s = fault_every_s
        self.demo: DemoPlant | None = None

    async def serve(self, ready: threading.Event) -> None:
        self.demo = DemoPlant(self.modbus_port, self.opcua_port, self.seed, self.fault_every_s)
        await self.demo.start()
        try:
            ready.set()
            await self.demo.run(self.stopping)
        finally:
            await self.demo.stop()


def demo_project_path() -> Path:
    return Path(str(resources.files("resources") / "demo" / "project.toml"))


def demo_project_text(modbus_port: int, opcua_port: int, mes_port: int | None = None) -> str:
    """The demo project with the simulator's ports and the MES stub's swapped in. With no
    `mes_port`, the MES URL gets a free port nobody listens on: a test's or a soak's station
    must never deliver its events to the stub of a demo running beside it (the default 4841)."""
    text = demo_project_path().read_text(encoding="utf-8")
    text = re.sub(rf"(?m)^port = {DEFAULT_MODBUS_PORT}\b", f"port = {modbus_port}", text)
    text = text.replace(f"opc.tcp://127.0.0.1:{DEFAULT_MES_PORT}",
                        f"opc.tcp://127.0.0.1:{mes_port or free_port()}")
    return text.replace(f"opc.tcp://127.0.0.1:{DEFAULT_OPCUA_PORT}",
                        f"opc.tcp://127.0.0.1:{opcua_port}")
