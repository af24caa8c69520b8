"""`hmi bench --only trends`: the trend widget on 8 pens x 30 days of 1 s data (20.7 M rows).

Figures (goals from issue 13):
- time to first draw: a `TrendPlot` opened with 8 pens over the 30 days, from construction to
  the first frame with every pen's data (goal <= 1 s);
- frame time while panning a view that holds 1 M raw points (8 pens x 34.7 h): 100 drag-sized
  steps at 60 Hz, each step's GUI work until the event loop is idle, its repaint included
  (goal p95 <= 20 ms), against
  raw pyqtgraph holding the same 1 M points with the same PlotItem settings (peak downsampling,
  clip to view), panned the same way;
- memory held by the open 30-day, 8-pen trend (process RSS growth), against the raw arrays the
  same data would take in memory.

The history is written with raw `executemany` into the historian's schema (the bench measures
trends, not ingest) and rolled up by the historian's own `Maintenance`, as a running station
would have it. The Qt part runs in a subprocess (`hmi.gui.trend_bench`, offscreen): this module
is core and imports no Qt, and a fresh process gives an honest memory figure.
`--quick` uses 10 s data (2.1 M rows) and 30 pan steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hmi.bench.harness import BenchResult
from hmi.historian.rollup import Maintenance
from hmi.historian.schema import open_db
from hmi.historian.writer import INSERT_SQL

AREA = "trends"
PENS = 8
DAYS = 30
END = 1_800_000_000.0  # fixed, so runs compare
TAGS = [f"Bench.Pen{i}" for i in range(1, PENS + 1)]


def write_history(data_dir: Path, step_s: float) -> int:
    """8 random walks over 30 days at `step_s`, one short gap a day per pen; returns rows."""
    conn = open_db(data_dir / "history.db")
    conn.execute("PRAGMA synchronous=OFF")  # bench data, not a plant's record
    rng = np.random.default_rng(13)
    start = END - DAYS * 86_400
    per_day = int(86_400 / step_s)
    rows = 0
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO tags (id, name, created_ms) VALUES (?, ?, 0)",
                     [(i + 1, name) for i, name in enumerate(TAGS)])
    conn.execute("COMMIT")
    for i in range(PENS):
        level = 50.0
        for day in range(DAYS):
            ms = np.round((start + day * 86_400 + np.arange(per_day) * step_s) * 1000)
            walk = level + np.cumsum(rng.normal(0, 0.05 * (i + 1), per_day))
            level = float(walk[-1])
            quality = np.full(per_day, 2)
            values: list = walk.round(3).tolist()
            gap = int(rng.integers(0, per_day - 120))
            for k in range(gap, gap + max(1, int(60 / step_s))):  # a minute without data
                values[k] = None
                quality[k] = 0
            conn.execute("BEGIN")
            conn.executemany(INSERT_SQL, zip([i + 1] * per_day, ms.astype(np.int64).tolist(),
                                             values, quality.tolist(), [None] * per_day,
                                             ["comm failure" if v is None else None
                                              for v in values], strict=True))
            conn.execute("COMMIT")
            rows += per_day
    maintenance = Maintenance(conn, raw_days=DAYS * 2, rollup_days=400)
    while maintenance.rollup_step(round((END + 3600) * 1000)):
        pass
    conn.close()
    return rows


def _gui(data_dir: Path, quick: bool) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    args = [sys.executable, "-m", "hmi.gui.trend_bench", str(data_dir), "--end", str(END)]
    if quick:
        args.append("--quick")
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"trend GUI bench failed: {proc.stderr.strip()[-800:]}")
    return json.loads(proc.stdout)


def run(quick: bool) -> list[BenchResult]:
    step_s = 10.0 if quick else 1.0
    with tempfile.TemporaryDirectory(prefix="hmi-bench-trends-") as tmp:
        started = time.perf_counter()
        rows = write_history(Path(tmp), step_s)
        prepared_s = time.perf_counter() - started
        gui = _gui(Path(tmp), quick)
    data_note = (f"{rows:,} rows ({PENS} pens x {DAYS} d at {step_s:g} s), written and "
                 f"rolled up in {prepared_s:.0f} s")
    first = gui["first_draw_s"] * 1000
    pan = gui["pan"]
    raw = gui["raw_pan"]
    mem = gui["memory"]
    return [
        BenchResult(AREA, f"first draw, {PENS} pens x {DAYS} days", first, "ms", goal="<=1000 ms",
                    passed=first <= 1000, note=f"{data_note}; {gui['first_draw_points']:,} "
                                                f"points on screen, {gui['queries']} queries"),
        BenchResult(AREA, f"pan frame p95, {pan['raw_points']:,} points in view",
                    pan["p95_ms"], "ms", baseline=raw["p95_ms"],
                    ratio=raw["p95_ms"] / pan["p95_ms"] if pan["p95_ms"] else None,
                    goal="<=20 ms", passed=pan["p95_ms"] <= 20,
                    note=f"{pan['steps']} steps at 60 Hz: p50 {pan['p50_ms']:.1f} ms, max "
                         f"{pan['max_ms']:.1f} ms, GUI-thread CPU p95 {pan['cpu_p95_ms']:.1f} ms, "
                         f"{pan['paints_per_frame']:.2f} paints/frame, {pan['queries']} "
                         f"re-queries; raw: pyqtgraph holding all points, p50 "
                         f"{raw['p50_ms']:.1f} ms, CPU p95 {raw['cpu_p95_ms']:.1f} ms; "
                         f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"),
        BenchResult(AREA, f"memory of an open {DAYS}-day {PENS}-pen trend", mem["rss_mb"], "MB",
                    baseline=mem["raw_arrays_mb"],
                    ratio=mem["raw_arrays_mb"] / mem["rss_mb"] if mem["rss_mb"] > 0 else None,
                    note=f"RSS growth; pen arrays {mem['pen_arrays_kb']:.0f} kB; raw: the "
                         f"{rows:,} samples as float64 time+value arrays"),
    ]
