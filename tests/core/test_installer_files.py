"""The deployment files stay consistent with the CLI they call (the frozen build itself is
checked by installer/smoke.sh, outside the test run: it takes minutes)."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "installer" / "linux"


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
