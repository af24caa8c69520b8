"""Historian figures: ingest through `Historian` vs raw `sqlite3.executemany` into the same schema,
decimated trend queries (1 day raw, 30 days via rollups) into 2,000 buckets, bytes per sample.

Every value differs from the last, so the storage filter keeps every sample and both sides write
the same rows. All files live in a temporary directory removed afterwards.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path

from hmi.bench.harness import BenchResult
from hmi.historian.schema import open_db
from hmi.historian.service import Historian
from hmi.historian.writer import INSERT_SQL
from hmi.tags import Sample

AREA = "historian"
T0 = 1_800_000_000.0
BATCH = 1000
TAGS = 100


def _batches(n_rows: int) -> list[list[Sample]]:
    rng = random.Random(1)
    names = [f"Tag{i:03d}" for i in range(TAGS)]
    samples = [Sample(names[i % TAGS], rng.random() * 100, T0 + i // TAGS)
               for i in range(n_rows)]
    return [samples[i:i + BATCH] for i in range(0, n_rows, BATCH)]


def _ingest_ours(path: Path, batches: list[list[Sample]]) -> float:
    clock_now = T0 + len(batches) * BATCH / TAGS
    h = Historian(path, tags=sorted({s.tag for s in batches[0]}), clock=lambda: clock_now,
                  maintenance_s=3600)
    h.start()
    try:
        started = time.perf_counter()
        for batch in batches:
            h.submit(batch)
        if not h.flush(600):
            raise RuntimeError("historian did not finish ingest in 600 s")
        return time.perf_counter() - started
    finally:
        h.stop()


def _ingest_raw(path: Path, batches: list[list[Sample]]) -> float:
    conn = open_db(path)
    ids = {f"Tag{i:03d}": i + 1 for i in range(TAGS)}
    conn.executemany("INSERT INTO tags (id, name, created_ms) VALUES (?, ?, 0)",
                     [(i, n) for n, i in ids.items()])
    rows = [[(ids[s.tag], round(s.ts * 1000), s.value, 2, None, None) for s in b]
            for b in batches]
    try:
        started = time.perf_counter()
        for chunk in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT_SQL, chunk)
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


def _best_ms(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _raw_decimation(conn: sqlite3.Connection, tag_id: int, t0: float, t1: float) -> None:
    """The baseline: the same GROUP BY straight on the raw table (no rollups)."""
    m0, m1 = round(t0 * 1000), round(t1 * 1000)
    width = -(-(m1 - m0) // 2000)
    conn.execute("SELECT (t - ?) / ? AS b, min(value), max(value), min(t), max(t) FROM samples "
                 "WHERE tag_id = ? AND t >= ? AND t < ? GROUP BY b",
                 (m0, width, tag_id, m0, m1)).fetchall()


def _queries(path: Path, quick: bool) -> list[BenchResult]:
    day = 86_400
    step_30d = 60 if quick else 10
    n_30d = 30 * day // step_30d
    now = T0 + 30 * day + 3600  # keep raw rows: retention would purge anything older
    h = Historian(path, tags=["day", "month"], clock=lambda: now, maintenance_s=3600,
                  raw_days=60)
    h.start()
    try:
        rng = random.Random(2)
        for i in range(0, day, 10_000):
            h.submit([Sample("day", rng.random(), T0 + j) for j in range(i, min(day, i + 10_000))])
        for i in range(0, n_30d, 10_000):
            h.submit([Sample("month", rng.random(), T0 + j * step_30d)
                      for j in range(i, min(n_30d, i + 10_000))])
        h.flush(300)
        h.maintain(300)
        reader = h.reader()
        conn = reader.conn
        day_ms = _best_ms(lambda: h.decimated("day", T0, T0 + day, 2000))
        day_raw = _best_ms(lambda: conn.execute(
            "SELECT t, value FROM samples WHERE tag_id = ? AND t >= ? AND t < ?",
            (reader.tag_id("day"), round(T0 * 1000), round((T0 + day) * 1000))).fetchall())
        month_ms = _best_ms(lambda: h.decimated("month", T0, T0 + 30 * day, 2000))
        month_raw = _best_ms(lambda: _raw_decimation(conn, reader.tag_id("month"), T0,
                                                     T0 + 30 * day), repeat=2)
        source = h.decimated("month", T0, T0 + 30 * day, 2000).source
    finally:
        h.stop()
    return [
        BenchResult(AREA, "trend 1 tag x 1 day (86,400 rows) -> 2,000 px", day_ms, "ms",
                    baseline=day_raw, ratio=day_raw / day_ms, goal="<=60 ms",
                    passed=day_ms <= 60, note="raw: fetch all rows, no decimation"),
        BenchResult(AREA, f"trend 1 tag x 30 days ({n_30d:,} rows) -> 2,000 px", month_ms, "ms",
                    baseline=month_raw, ratio=month_raw / month_ms, goal="<=300 ms",
                    passed=month_ms <= 300,
                    note=f"ours: {source}; raw: GROUP BY on the raw table"),
    ]


def run(quick: bool) -> list[BenchResult]:
    n_rows = 100_000 if quick else 500_000
    batches = _batches(n_rows)
    with tempfile.TemporaryDirectory(prefix="hmi-bench-historian-") as tmp:
        ours_db, raw_db = Path(tmp) / "ours.db", Path(tmp) / "raw.db"
        raw_s = _ingest_raw(raw_db, batches)
        ours_s = _ingest_ours(ours_db, batches)
        ours_rate, raw_rate = n_rows / ours_s, n_rows / raw_s
        conn = sqlite3.connect(ours_db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
        conn.close()
        size = ours_db.stat().st_size
        results = [
            BenchResult(AREA, f"ingest {n_rows:,} samples, {TAGS} tags, batches of {BATCH}",
                        ours_rate, "rows/s", baseline=raw_rate, ratio=ours_rate / raw_rate,
                        goal=">=0.8x", passed=ours_rate / raw_rate >= 0.8,
                        note="raw: executemany of prebuilt tuples, same schema"),
            BenchResult(AREA, "database bytes per sample", size / rows, "B", goal="",
                        note=f"{rows:,} rows, {size:,} bytes"),
        ]
        results += _queries(Path(tmp) / "query.db", quick)
    return results
