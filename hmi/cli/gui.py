"""GUI subcommands: `hmi gui` (the operator station) and `hmi screenshot` (one screen to PNG,
offscreen). Qt is imported only when one of them runs, so every other command starts fast and
works on a machine without Qt's system libraries."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from hmi.cli.base import CliError, accept_relative_times
from hmi.cli.display_server import unreachable
from hmi.project import Project, load_project

THEMES = ("day", "night")
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the operator station",
                       description="Run the station with its operator window: devices, "
                                   "historian, alarms and the ISA-101 screens.")
    p.add_argument("project", type=Path)
    p.add_argument("--data", metavar="DIR", help="data directory (default: HMI_DATA_DIR or the "
                                                 "platform's user data dir)")
    p.add_argument("--theme", choices=THEMES, help="day or night (default: the last one used)")
    p.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                   help="close after this many seconds (default: until the window closes)")
    p.set_defaults(func=cmd_gui, long_running=True)

    p = sub.add_parser("screenshot", help="render one screen of a running station to PNG",
                       description="Run the station on PROJECT offscreen for --after seconds, "
                                   "then render one screen (window with header) or a faceplate "
                                   "to a PNG file.")
    accept_relative_times(p)
    p.add_argument("project", type=Path)
    p.add_argument("--screen", required=True, metavar="NAME",
                   help="overview|line|unit|alarms|journal|diagnostics|trends|users|faceplate"
                        "|login|locked|signature")
    p.add_argument("--asset", metavar="PATH", help="the line or unit (default: the first)")
    p.add_argument("--tag", metavar="NAME", help="the faceplate's tag (default: the first)")
    p.add_argument("--theme", choices=THEMES, default="day")
    p.add_argument("--size", default="1600x1000", metavar="WxH")
    p.add_argument("--after", type=float, default=3.0, metavar="SECONDS",
                   help="run this long before rendering (default 3)")
    p.add_argument("--data", metavar="DIR", help="data directory")
    p.add_argument("--user", metavar="NAME",
                   help="log NAME in while rendering (for the OS account that owns the data "
                        "directory, as the CLI acts without a password); default: nobody")
    p.add_argument("--group", metavar="NAME", help="trends: the trend group")
    p.add_argument("--range", dest="time_range", metavar="RANGE",
                   help="trends/journal: the time range, e.g. -1h")
    p.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                   help="any other option for the screen's configure() (repeatable)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE.png")
    p.set_defaults(func=cmd_screenshot)


def display_problem() -> str | None:
    """Why a window cannot open here, or None. Offscreen/minimal platforms always can; on X11
    and Wayland the server must answer (`hmi.cli.display_server`), or Qt would abort."""
    platforms = {p.split(":")[0].strip()
                 for p in os.environ.get("QT_QPA_PLATFORM", "").split(";")} - {""}
    if platforms & {"offscreen", "minimal", "vnc", "eglfs", "linuxfb"}:
        return None
    if not (sys.platform.startswith("linux") or "bsd" in sys.platform):
        return None
    x_display = os.environ.get("DISPLAY", "")
    wayland = os.environ.get("WAYLAND_DISPLAY", "")
    if not (x_display or wayland):
        return "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
    return unreachable(x_display, wayland, platforms)


def require_display() -> None:
    problem = display_problem()
    if problem is not None:
        raise CliError(f"{problem}; run with --headless for the runtime without a window")


def cmd_gui(args: argparse.Namespace) -> int:
    require_display()
    project = load_project(args.project)  # bad file: exit 2 before anything opens
    return open_station(project, args.data, args.duration, args.theme)


def open_station(project: Project, data: str | None, duration: float | None,
                 theme_name: str | None = None, login: tuple[str, str] | None = None,
                 notice: str = "") -> int:
    """The station's window (what `hmi run`/`hmi demo` without --headless also call).
    `login`: log this (name, password) in at start (`hmi demo` only)."""
    require_display()
    from hmi.gui.app import run_gui

    return run_gui(project, data, duration, theme_name, login, notice)


def _size(text: str) -> tuple[int, int]:
    match = _SIZE.match(text)
    if not match:
        raise CliError(f"--size must be WIDTHxHEIGHT, e.g. 1600x1000, found {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (200 <= width <= 8000 and 150 <= height <= 8000):
        raise CliError(f"--size must be between 200x150 and 8000x8000, found {text}")
    return width, height


def cmd_screenshot(args: argparse.Namespace) -> int:
    size = _size(args.size)
    if args.after < 0:
        raise CliError(f"--after must be >= 0, found {args.after}")
    if args.out.suffix.lower() != ".png":
        raise CliError(f"--out must name a .png file, found {args.out}")
    options: dict[str, str] = {}
    for item in args.extra:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--set needs KEY=VALUE, found {item!r}")
        options[key] = value
    if args.group:
        options["group"] = args.group
    if args.time_range:
        options["range"] = args.time_range
    project = load_project(args.project)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # never a window on someone's desktop
    from hmi.gui.screenshot import ScreenshotError, check_request, take
    from hmi.gui.security_shots import ShotError

    try:
        check_request(project, args.screen, args.asset, args.tag)
        out = take(project, args.screen, args.out, asset=args.asset, tag=args.tag,
                   theme_name=args.theme, size=size, after_s=args.after, data=args.data,
                   options=options, user=args.user)
    except (ScreenshotError, ShotError) as exc:
        raise CliError(str(exc)) from None
    print(f"{out}: {args.screen} ({args.theme}, {size[0]}x{size[1]})")
    return 0
