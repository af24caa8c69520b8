"""Render the trend screen offscreen to PNG files, on recorded demo history.

`python -m screens.trend_render [--out docs/screenshots] [--project FILE]` records 12 hours of
the demo line into a temporary data dir (`hmi.trends.demo`: real historian, real alarm
engine), ending at the last 06:00, then saves three views of the screen:
- `trends-live.png`: the "Filler" group, live, last hour;
- `trends-historical-alarms.png`: the "Filler" group over last night's shift (22:00-06:00)
  with the alarm journal's marks and the statistics panel;
- `trends-cursors.png`: the level-high episode with two cursors (values and differences).

`render_screen()` is what `hmi screenshot --screen trends` needs from this screen: build it,
`configure(options)`, wait until every query is answered, grab. It runs in the GUI thread and
pumps the event loop while it waits (a tool, not something the running station calls).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication

from screens.trends import TrendScreen

SIZE = (1500, 900)


def wait_idle(screen: TrendScreen, timeout_s: float = 15.0) -> bool:
    """Pump events until the plot and statistics have no query in flight (and a bit more,
    for the paced view signals). False on timeout."""
    app = QApplication.instance()
    deadline = time.monotonic() + timeout_s
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        app.processEvents()
        busy = screen.plot.loading() or screen.stats.queries.busy()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.8:
            return True
        time.sleep(0.01)
    return False


def render_screen(context: Any, out: Path | str, options: dict[str, Any],
                  size: tuple[int, int] = SIZE, clock: Callable[[], float] | None = None,
                  prepare: Callable[[TrendScreen], None] | None = None) -> Path:
    """Build the screen, apply `options` (see `TrendScreen.configure`), wait, save a PNG."""
    screen = TrendScreen(context)
    try:
        if clock is not None:
            screen.plot.clock = clock
        screen.resize(*size)
        screen.show()
        screen.configure(options)
        wait_idle(screen)
        if prepare is not None:
            prepare(screen)
            wait_idle(screen)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not screen.grab().save(str(out)):
            raise OSError(f"could not write {out}")
        return out
    finally:
        screen.close()
        screen.deleteLater()


def last_six_am(now: float) -> float:
    local = datetime.fromtimestamp(now).astimezone()
    six = local.replace(hour=6, minute=0, second=0, microsecond=0)
    return (six if six <= local else six - timedelta(days=1)).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/screenshots", help="directory for the PNGs")
    parser.add_argument("--project", default="resources/demo/project.toml")
    args = parser.parse_args(argv)
    from hmi.gui.bridge import TagBridge
    from hmi.gui.context import StationContext
    from hmi.project import load_project
    from hmi.runtime import Runtime
    from hmi.trends.demo import record_demo

    app = QApplication.instance() or QApplication([])
    project = load_project(args.project)
    end = last_six_am(time.time())
    start = end - 12 * 3600
    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="hmi-trend-shots-") as tmp:
        record_demo(project, tmp, hours=12, end=end)
        runtime = Runtime(project, tmp, services=())
        bridge = TagBridge()
        bridge.post(_last_values(Path(tmp), [t.name for t in project.tags], end))
        bridge.flush_now()  # the live legend shows the values the station would have now
        context = StationContext(runtime, bridge)
        try:
            shots = [
                ("trends-live.png", {"group": "Filler", "range": "-1h"}, end, None),
                ("trends-historical-alarms.png", {"group": "Filler", "range": "last_shift"},
                 end + 1800, _show_stats),
                ("trends-cursors.png", {"group": "Filler", "range": f"{_iso(start + 5.4 * 3600)}"
                                        f"..{_iso(start + 6.1 * 3600)}",
                                        "cursors": f"{_iso(start + 5.5 * 3600 + 140)},"
                                                   f"{_iso(start + 5.9 * 3600 + 300)}"},
                 end + 1800, None),
            ]
            for name, options, now, prepare in shots:
                path = render_screen(context, out / name, options, clock=_fixed(now),
                                     prepare=prepare)
                print(f"wrote {path}")  # noqa: T201 - a command-line tool's output
        finally:
            context.shutdown()
            bridge.detach()
    app.processEvents()
    return 0


def _last_values(data_dir: Path, tags: list[str], end: float) -> list[Any]:
    from hmi.historian.query import HistoryReader

    with HistoryReader(data_dir / "history.db") as reader:
        found = [reader.value_at(t, end - 1) if reader.has_tag(t) else None for t in tags]
    return [s for s in found if s is not None]


def _show_stats(screen: TrendScreen) -> None:
    screen.stats_box.setChecked(True)


def _fixed(now: float) -> Callable[[], float]:
    return lambda: now


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


if __name__ == "__main__":
    raise SystemExit(main())
