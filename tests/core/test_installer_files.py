"""The deployment files stay consistent with the CLI they call (the frozen build itself is
checked by installer/smoke.sh, outside the test run: it takes minutes)."""

from __future__ import annotations

import configparser
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "installer" / "linux"
# PyInstaller's requirements (6.22, sys_platform linux), for a test env without PyInstaller
PYINSTALLER_NEEDS = {"altgraph", "packaging", "pyinstaller-hooks-contrib", "setuptools"}


def test_systemd_unit_runs_headless_unprivileged_and_restarts() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(LINUX / "hmi-station.service")
    service = unit["Service"]
    assert service["User"] not in ("root", "0")
    assert service["Restart"] == "on-failure"
    assert " run /etc/hmi-station/project.toml --headless --data /var/lib/hmi-station" in \
        service["ExecStart"]
    assert service["StateDirectory"].split()[0] == "hmi-station"
    # the audit key dir must be outside the data dir (else every audited action is refused)
    # and writable under ProtectSystem=strict: a state directory of its own
    text = (LINUX / "hmi-station.service").read_text(encoding="utf-8")
    env = dict(line.removeprefix("Environment=").split("=", 1) for line in text.splitlines()
               if line.startswith("Environment="))
    key_dir = env["HMI_AUDIT_KEY_DIR"]
    assert not key_dir.startswith("/var/lib/hmi-station/")
    assert "/var/lib/" + service["StateDirectory"].split()[1] == key_dir
    assert service["RestartPreventExitStatus"] == "2"  # a bad project file is not retried
    # ... which holds for the main process only (systemd #11868): a pre-check exiting 2 would
    # be retried forever; `hmi run` checks the project itself
    assert "ExecStartPre" not in service
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_desktop_entry_has_the_required_keys() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(LINUX / "hmi-station.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].startswith("@BINDIR@/hmi-station-gui")
    assert desktop["Icon"] == "hmi-station"
    assert (ROOT / "resources" / "icons" / "hmi-station-256.png").stat().st_size > 1000


def test_shell_scripts_parse() -> None:
    for script in (LINUX / "install.sh", LINUX / "hmi-station-gui"):
        subprocess.run(["sh", "-n", str(script)], check=True)
    for script in (ROOT / "installer" / "build.sh", ROOT / "installer" / "smoke.sh"):
        subprocess.run(["bash", "-n", str(script)], check=True)


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "installer" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            assert " " not in line, f"not an exact pin: {line!r}"
            pins[_name(name)] = version
    return pins


def _closure(roots: list[Requirement], platform_only: bool) -> set[str]:
    """Names `roots` pull in, through the installed metadata; extras never, and the
    platform-specific ones only for this platform when `platform_only`."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        req = todo.pop()
        name = _name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(req.name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # another platform's, not installed here
        for text in requires:
            sub = Requirement(text)
            if sub.marker is not None and (
                    sub.marker.evaluate({"extra": ""}) is False if platform_only
                    else "extra" in str(sub.marker)):
                continue
            todo.append(sub)
    return seen


def test_the_build_pins_exact_versions_of_the_dependencies_only() -> None:
    build = (ROOT / "installer" / "build.sh").read_text()
    install = next(line for line in build.splitlines() if "pip\" install" in line)
    assert "-c installer/constraints.txt" in install
    assert " . " in install
    pins = _pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    roots = [Requirement(text) for text in project["dependencies"]]
    for req in roots:  # the pins keep pyproject's ranges (pymodbus on one minor)
        assert req.specifier.contains(pins[_name(req.name)]), (req, pins[_name(req.name)])
    builder = {"pyinstaller"} | PYINSTALLER_NEEDS
    try:  # where PyInstaller is installed, from its own metadata
        importlib.metadata.distribution("pyinstaller")
        builder = _closure([Requirement("pyinstaller")], platform_only=False)
    except importlib.metadata.PackageNotFoundError:
        pass
    runtime = _closure(roots, platform_only=False)
    assert set(pins) <= runtime | builder, set(pins) - runtime - builder
    if sys.platform == "linux":  # and the Linux build has every one pinned
        missing = _closure(roots, platform_only=True) - set(pins)
        assert not missing, f"not pinned in installer/constraints.txt: {sorted(missing)}"


def test_pymodbus_data_files_left_out_of_the_build_are_never_read() -> None:
    """pymodbus ships data only for its web simulator; hmi serves the demo plant itself."""
    spec = (ROOT / "installer" / "hmi-station.spec").read_text()
    assert 'collect_data_files("pymodbus")' not in spec
    code = "\n".join(p.read_text() for folder in ("hmi", "drivers", "alarms")
                     for p in (ROOT / folder).rglob("*.py"))
    assert "simulator.http_server" not in code
    assert "ModbusSimulatorServer" not in code
