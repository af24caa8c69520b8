"""The core must import without Qt. `check_layers.py` reads each file's own imports; this test
catches the indirect case (a core module importing something that imports Qt) by importing every
core module in a fresh interpreter where PySide6, shiboken6, pyqtgraph and qasync are blocked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUI_NAMES = {"app.py", "gui.py", "bridge.py", "qt.py"}
GUI_DIRS = {"gui", "ui", "qt"}


def core_modules() -> list[str]:
    modules = []
    for package in ("hmi", "drivers", "alarms"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if package == "hmi" and (path.name in GUI_NAMES or GUI_DIRS & set(rel.parts[1:-1])):
                continue
            modules.append(".".join(rel.with_suffix("").parts).removesuffix(".__init__"))
    return modules


def test_core_modules_import_with_qt_blocked() -> None:
    modules = core_modules()
    assert "hmi.runtime" in modules
    assert "drivers.base" in modules
    script = (
        "import sys\n"
        "for name in ('PySide6', 'shiboken6', 'pyqtgraph', 'qasync'):\n"
        "    sys.modules[name] = None\n"
        "import importlib\n"
        f"for module in {modules!r}:\n"
        "    importlib.import_module(module)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


def test_shared_layer_check_passes() -> None:
    checker = ROOT.parent / "shared" / "tools" / "check_layers.py"
    if not checker.exists():  # CI runs it separately; locally the shared folder may be absent
        return
    proc = subprocess.run([sys.executable, str(checker)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
