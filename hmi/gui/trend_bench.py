"""The Qt half of `hmi bench --only trends`, run in its own process by `hmi.bench.trends`:
`python -m hmi.gui.trend_bench DATA_DIR --end EPOCH [--quick]` prints one JSON object.

A real `TrendPlot` (1600 x 900, offscreen) on a real `StationContext` whose runtime is built
from a small project with the bench's 8 tags (never started: the history is already there).
Frame time = the GUI thread's work for one pan step plus a synchronous repaint of the plot;
answers of the paced re-queries land between steps and their cost falls in the frame that
takes them, as it would on screen.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = """\
[project]
name = "Trend bench"

[[devices]]
name = "bench"
protocol = "sim"
enabled = false
{tags}
"""
TAGS = [f"Bench.Pen{i}" for i in range(1, 9)]
FRAME_S = 1 / 60
SIZE = (1600, 900)


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pump_until(app: Any, done: Any, timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("trend bench: queries not answered in time")
        app.processEvents()
        time.sleep(0.001)


def _percentiles(frames: list[float]) -> dict[str, float]:
    ms = sorted(f * 1000 for f in frames)
    return {"p50_ms": statistics.median(ms), "p95_ms": ms[max(0, round(0.95 * len(ms)) - 1)],
            "max_ms": ms[-1], "steps": len(ms)}


class _PaintCounter:
    """Counts paint events of a viewport (every frame must have painted once)."""

    def __init__(self, widget: Any) -> None:
        from PySide6.QtCore import QEvent, QObject

        paint = QEvent.Type.Paint

        class Filter(QObject):
            count = 0

            def eventFilter(self, watched: Any, event: Any) -> bool:
                if event.type() == paint:
                    Filter.count += 1
                return False

        self.filter = Filter()
        widget.installEventFilter(self.filter)

    @property
    def count(self) -> int:
        return self.filter.count


def _pan(app: Any, viewbox: Any, viewport: Any, steps: int
         ) -> tuple[list[float], list[float], float]:
    """`steps` drag-sized moves (1 % of the view each) at 60 Hz. A frame is the GUI thread's
    work from the move until the event loop is idle again, the repaint included. Returns the
    frames' wall times, the GUI thread's CPU time in each (what the frame costs us, whatever
    else the machine is doing) and paints per frame."""
    counter = _PaintCounter(viewport)
    frames, cpu = [], []
    for _ in range(steps):
        started, cpu_started = time.perf_counter(), time.thread_time()
        x0, x1 = viewbox.viewRange()[0]
        viewbox.translateBy(x=(x1 - x0) * 0.01)
        app.processEvents()
        frames.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - cpu_started)
        until = started + FRAME_S
        while time.perf_counter() < until:  # the rest of the frame: answers may land here
            app.processEvents()
            time.sleep(0.0005)
    return frames, cpu, counter.count / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--end", type=float, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from hmi.gui.bridge import TagBridge
    from hmi.gui.context import StationContext
    from hmi.historian.query import HistoryReader
    from hmi.project import load_project
    from hmi.runtime import Runtime
    from widgets.trend_plot import TrendPlot

    app = QApplication.instance() or QApplication([])
    data_dir = Path(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        project_path = Path(tmp) / "bench.toml"
        project_path.write_text(PROJECT.format(tags="".join(
            f'\n[[tags]]\nname = "{t}"\ndevice = "bench"\nunit = "u{i % 3}"\n'
            for i, t in enumerate(TAGS))), encoding="utf-8")
        runtime = Runtime(load_project(project_path), data_dir, services=())
    bridge = TagBridge()
    context = StationContext(runtime, bridge)
    warm = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})  # Qt's one-time costs
    warm.resize(*SIZE)  # (fonts, raster buffers) are not the trend's: pay them first
    warm.show()
    app.processEvents()
    warm.close()
    app.processEvents()
    rss_before = _rss_mb()

    # ---- first draw: 8 pens over 30 days --------------------------------------------------------
    t0, t1 = args.end - 30 * 86_400, args.end
    started = time.perf_counter()
    plot = TrendPlot(context, clock=lambda: args.end)
    plot.resize(*SIZE)
    plot.show()
    for tag in TAGS:
        plot.add_pen(tag)
    plot.set_range(t0, t1)
    app.processEvents()
    _pump_until(app, lambda: not plot.loading() and all(len(p.t) for p in plot.pens()), 60)
    plot.view.viewport().repaint()
    first_draw_s = time.perf_counter() - started
    points = sum(len(p.t) for p in plot.pens())
    first_queries = plot.queries.sent
    app.processEvents()
    rss_open = _rss_mb()
    pen_bytes = sum(p.t.nbytes + p.v.nbytes for p in plot.pens())

    # ---- pan over 1 M raw points --------------------------------------------------------------
    span = 1_000_000 / len(TAGS) * (10.0 if args.quick else 1.0)
    mid = (t0 + t1) / 2
    plot.set_range(mid - span / 2, mid + span / 2)
    _pump_until(app, lambda: not plot.loading(), 60)
    with HistoryReader(data_dir / "history.db") as reader:
        lo, hi = plot.visible_range()
        raw_points = sum(reader.count(t, lo, hi) for t in TAGS)
        raw = [(np.array([s.ts for s in reader.iter_raw(t, lo - span, hi + span)]),
                np.array([np.nan if s.value is None else s.value
                          for s in reader.iter_raw(t, lo - span, hi + span)])) for t in TAGS]
    sent = plot.queries.sent
    steps = 30 if args.quick else 100
    frames, cpu, paints = _pan(app, plot.viewbox, plot.view.viewport(), steps)
    pan = _percentiles(frames) | {"queries": plot.queries.sent - sent, "raw_points": raw_points,
                                  "paints_per_frame": paints,
                                  "cpu_p95_ms": _percentiles(cpu)["p95_ms"]}
    plot.close()
    plot.deleteLater()
    app.processEvents()

    # ---- raw pyqtgraph: every point in memory, same PlotItem settings ---------------------------
    widget = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
    item = widget.getPlotItem()
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    for i, (t, v) in enumerate(raw):
        item.plot(t, v, pen=pg.mkPen(pg.intColor(i), width=2), connect="finite")
    widget.resize(*SIZE)
    widget.show()
    item.getViewBox().setXRange(lo, hi, padding=0)
    app.processEvents()
    widget.viewport().repaint()
    raw_frames, raw_cpu, raw_paints = _pan(app, item.getViewBox(), widget.viewport(), steps)
    widget.close()
    context.shutdown()
    rows_30d = 30 * 86_400 * len(TAGS) / (10.0 if args.quick else 1.0)
    print(json.dumps({  # noqa: T201 - the parent process reads this line
        "first_draw_s": first_draw_s, "first_draw_points": points,
        "queries": first_queries, "pan": pan,
        "raw_pan": _percentiles(raw_frames) | {"paints_per_frame": raw_paints,
                                               "cpu_p95_ms": _percentiles(raw_cpu)["p95_ms"]},
        "memory": {"rss_mb": rss_open - rss_before, "pen_arrays_kb": pen_bytes / 1024,
                   "raw_arrays_mb": rows_30d * 16 / 2**20},
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
