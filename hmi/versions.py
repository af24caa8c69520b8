"""What `hmi --version` prints: this build and every library a support call asks about.

Why more than our own number: a plant reporting "the trend is empty" on a frozen build needs to
tell us which Qt, which asyncua, which SQLite it runs; the answer must come from the executable
itself, with no Python on the box. Qt is asked lazily through `hmi.gui.qt_info` so the core still
runs without Qt (a missing Qt reads "not installed").
"""

from __future__ import annotations

import platform
import sqlite3
from importlib.metadata import PackageNotFoundError, version


def package_version(dist: str = "hmi-station") -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "0+unknown" if dist == "hmi-station" else "not installed"


def qt_version() -> str:
    try:
        from hmi.gui.qt_info import qt_runtime_version
    except ImportError:
        return "not installed"
    return qt_runtime_version()


def versions() -> dict[str, str]:
    return {
        "hmi-station": package_version(),
        "Python": platform.python_version(),
        "Qt": qt_version(),
        "PySide6": package_version("PySide6-Essentials"),
        "asyncua": package_version("asyncua"),
        "pymodbus": package_version("pymodbus"),
        "SQLite": sqlite3.sqlite_version,
    }


def version_text() -> str:
    """First line `hmi X.Y.Z` (what scripts parse), then one library per line."""
    info = versions()
    lines = [f"hmi {info.pop('hmi-station')}"]
    lines += [f"  {name:<9} {value}" for name, value in info.items()]
    lines.append(f"  {'platform':<9} {platform.platform(terse=True)} {platform.machine()}")
    return "\n".join(lines)
