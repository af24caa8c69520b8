"""The Qt runtime version, for `hmi --version` (kept apart so the core imports it lazily)."""

from PySide6.QtCore import qVersion


def qt_runtime_version() -> str:
    return qVersion()
