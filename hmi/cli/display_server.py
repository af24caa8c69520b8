"""Is there a display server to open a window on? Asked before Qt starts, without Qt.

Why: with DISPLAY set to a server that is gone (an SSH session's forwarding closed, a stopped
Xvfb, `DISPLAY=:99` copied from a how-to) Qt's xcb plugin aborts the process: exit 134 and
eight lines about plugins, none saying "no X server". `hmi gui`, `hmi run` and `hmi demo`
answer in one line with exit 2 instead, as with no DISPLAY at all.

A socket file is not proof: /tmp/.X11-unix/X<n> outlives a killed server, so each candidate is
actually connected to, as libxcb would: for ":n" (or "unix:n") the abstract socket
"\\0/tmp/.X11-unix/X<n>" (Linux), the socket file, then TCP localhost:6000+n; for "host:n" TCP
host:6000+n. Wayland: $WAYLAND_DISPLAY (absolute, or under $XDG_RUNTIME_DIR). Connecting costs
a millisecond locally; a remote host gets CONNECT_TIMEOUT_S. Any thread, no Qt.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

X_SOCKET_DIR = Path("/tmp/.X11-unix")
X_TCP_BASE = 6000
CONNECT_TIMEOUT_S = 2.0
_X_DISPLAY = re.compile(r"^(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?$")


def _connects(family: int, address: str | tuple[str, int]) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT_S)
            sock.connect(address)
    except OSError:
        return False
    return True


def x_server_answers(display: str, socket_dir: Path = X_SOCKET_DIR) -> bool | None:
    """True if an X server accepts a connection for `display` (":0", "unix:1.0",
    "localhost:10.0"), False if none does, None for a form not checked here (let Qt try)."""
    match = _X_DISPLAY.match(display)
    if match is None:
        return None
    host, number = match.group("host"), int(match.group("number"))
    if host in ("", "unix"):
        path = str(socket_dir / f"X{number}")
        if sys.platform.startswith("linux") and _connects(socket.AF_UNIX, "\0" + path):
            return True
        if _connects(socket.AF_UNIX, path):
            return True
        if host == "unix":
            return False
        host = "localhost"
    return _connects(socket.AF_INET, (host, X_TCP_BASE + number))


def wayland_answers(name: str) -> bool:
    """True if the Wayland compositor's socket `name` ($WAYLAND_DISPLAY) accepts a connection."""
    path = Path(name)
    if not path.is_absolute():
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if not runtime:
            return False
        path = Path(runtime) / name
    return _connects(socket.AF_UNIX, str(path))


def unreachable(x_display: str, wayland: str, platforms: set[str]) -> str | None:
    """Why neither display named in the environment can be used, or None if one can (or one
    is in a form not checked). `platforms`: QT_QPA_PLATFORM's names (empty: Qt chooses)."""
    tried: list[str] = []
    if x_display and (not platforms or "xcb" in platforms):
        answers = x_server_answers(x_display)
        if answers is None or answers:
            return None
        tried.append(f"no X server answers on DISPLAY={x_display}")
    if wayland and (not platforms or any(p.startswith("wayland") for p in platforms)):
        if wayland_answers(wayland):
            return None
        tried.append(f"no Wayland compositor answers on WAYLAND_DISPLAY={wayland}")
    return " and ".join(tried) or None
