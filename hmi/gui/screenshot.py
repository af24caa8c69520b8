"""`hmi screenshot`: run the station on a project offscreen for a while, then render one screen
(or a faceplate) to a PNG. For the docs, for tests, for bug reports.

Everything an operator would see is real: the runtime reads the devices for `after_s` seconds,
alarms come and go, the bridge flushes, then the window (header included) is rendered at the
requested size. Options this module does not know (`group`, `range`, ...) go to the screen's
`configure()`, so screens added later plug in without changes here; a screen that loads in
workers (`loading()`, the trend screen) is rendered once everything has arrived. GUI thread
only.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QWidget

from hmi.gui import security_shots, theme
from hmi.gui.registry import SCREENS
from hmi.gui.station import Station
from hmi.paths import data_dir as default_data_dir
from hmi.project import Project

EXTRA_SCREENS = ("faceplate", *security_shots.SHOTS)


class ScreenshotError(ValueError):
    """Bad input (unknown screen, asset or tag): the CLI prints it and exits 2."""


def screen_names() -> list[str]:
    return [*SCREENS, *EXTRA_SCREENS]


def check_request(project: Project, screen: str, asset: str | None, tag: str | None,
                  options: dict[str, Any] | None = None, data: str | None = None,
                  user: str | None = None) -> None:
    """Refuse an unknown screen, asset or tag, and for the trends and the journal a range
    that is no range or (trends) a trend group that is neither the project's nor the user's,
    before anything starts: a screenshot of the wrong thing with exit 0 would be worse than
    none (the screen itself only notifies)."""
    if screen not in screen_names():
        raise ScreenshotError(f"unknown screen {screen!r} (screens: {', '.join(screen_names())})")
    if tag is not None and project.tag(tag) is None:
        raise ScreenshotError(f"unknown tag {tag!r}")
    if asset:
        from hmi.displays import build_plant

        plant = build_plant(project)
        level = {"line": "line", "unit": "unit"}.get(screen)
        if plant.find(asset, level) is None:
            known = ", ".join(n.path for n in (plant.lines if level == "line" else
                                                plant.units if level == "unit" else
                                                plant.by_path.values()))
            raise ScreenshotError(f"unknown asset {asset!r} (assets: {known or 'none'})")
    if screen == "faceplate" and not project.tags:
        raise ScreenshotError("the project has no tags to show a faceplate of")
    options = options or {}
    if options.get("range") and screen in ("trends", "journal"):
        from hmi.trends.ranges import RangeError, parse_range

        try:
            parse_range(str(options["range"]))
        except RangeError as exc:
            raise ScreenshotError(f"--range: {exc}") from None
    if options.get("group") and screen == "trends":
        from hmi.trends.groups import NOBODY, GroupStore

        names = [g.name for g in project.model.trend_groups]
        names += [g.name for g in GroupStore(default_data_dir(data)).load(user or NOBODY)
                  if g.name not in names]
        if str(options["group"]) not in names:
            raise ScreenshotError(f"unknown trend group {options['group']!r} "
                                  f"(groups: {', '.join(names) or 'none'})")


def wait(seconds: float) -> None:
    """Run the Qt event loop for `seconds` (values flow, timers fire, widgets repaint)."""
    loop = QEventLoop()
    QTimer.singleShot(max(0, round(seconds * 1000)), loop.quit)
    loop.exec()


def blink_on_in() -> float:
    """Seconds until both blink rates are in their "on" half (the first 0.4 s of an even
    second of the monotonic clock the marks blink by)."""
    now = time.monotonic()
    into = now % 2.0
    return 0.0 if into < 0.4 else 2.0 - into + 0.05


def settle(widget: QWidget, timeout_s: float = 20.0) -> bool:
    """Pump events until a screen that loads data in workers (its `loading()` is true while
    a query is in flight: the trend screen) has everything, then a little longer for paced
    view signals. True at once for screens without `loading()`; False on timeout."""
    loading = getattr(widget, "loading", None)
    if not callable(loading):
        return True
    deadline = time.monotonic() + timeout_s
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        wait(0.05)
        if loading():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.6:
            return True
    return False


def render(station: Station, screen: str, out: Path, *, asset: str | None = None,
           tag: str | None = None, theme_name: str = "day",
           options: dict[str, Any] | None = None) -> Path:
    """Render `screen` (or the faceplate of `tag`) of a running, shown station to `out`."""
    window = station.window
    target: QWidget = window
    faceplate = None
    if screen == "faceplate":
        faceplate = window.open_faceplate(tag or station.runtime.project.tags[0].name)
        if faceplate is None:
            raise ScreenshotError(f"no faceplate for {tag!r}")
        target = faceplate
        settle(faceplate.trend)
    else:
        window.go(screen, asset or "")
        widget = window.screen(screen)
        configure = getattr(widget, "configure", None)
        if callable(configure):
            configure({"asset": asset, "tag": tag, "theme": theme_name, **(options or {})})
        settle(widget)
    station.bridge.flush_now()
    wait(0.6)  # layout, replay on show, one more flush
    wait(blink_on_in())  # render blinking marks in their "on" phase
    out.parent.mkdir(parents=True, exist_ok=True)
    if not target.grab().save(str(out), "PNG"):
        raise OSError(f"cannot write {out}")
    if faceplate is not None:
        faceplate.close()
    return out


def take(project: Project, screen: str, out: Path, *, asset: str | None = None,
         tag: str | None = None, theme_name: str = "day", size: tuple[int, int] = (1600, 1000),
         after_s: float = 3.0, data: str | None = None,
         options: dict[str, Any] | None = None, user: str | None = None) -> Path:
    """Render `screen` after `after_s` seconds of running; returns the PNG's path. `user`:
    logged in while rendering (`security_shots.log_in_trusted`), else nobody."""
    from hmi.gui.app import application

    check_request(project, screen, asset, tag, options, data, user)
    if screen in security_shots.NEEDS_USER and not user:
        raise ScreenshotError(f"--screen {screen} needs --user NAME (whose session)")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = application()
    theme.apply(app, theme_name)
    station = Station(project, default_data_dir(data), settings=None)
    window = station.window
    try:
        station.start()
        if user:
            security_shots.log_in_trusted(station, user)
        window.resize(*size)
        window.show()
        wait(after_s)
        if screen in security_shots.SHOTS:
            security_shots.prepare(station, screen, tag, options or {})
            wait(0.6)
            picture = security_shots.render(window, security_shots.extras(station, screen, tag))
            out.parent.mkdir(parents=True, exist_ok=True)
            if not picture.save(str(out), "PNG"):
                raise OSError(f"cannot write {out}")
            return out
        render(station, screen, out, asset=asset, tag=tag, theme_name=theme_name,
               options=options)
    finally:
        station.close()
        wait(0.05)
    return out
