"""The historian on a real SQLite file: storage rules, gaps, decimation, statistics, retention,
recovery from a corrupt or locked file. Time comes from an injected clock."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from hmi.historian.filter import StoragePolicy
from hmi.historian.schema import HistoryDbError, open_db
from hmi.historian.service import DOWN, STOPPED, Historian
from hmi.tags import Quality, Sample

T0 = 1_800_000_000.0  # 2027-01-15, a whole number of hours


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


def make(path: Path, clock: Clock, **kwargs) -> Historian:
    kwargs.setdefault("tags", ["a", "b", "flag"])
    h = Historian(path / "history.db", clock=clock, maintenance_s=3600, **kwargs)
    h.start()
    return h


@pytest.fixture
def hist(tmp_path: Path, clock: Clock):
    h = make(tmp_path, clock)
    yield h
    h.stop()


def values(h: Historian, tag: str) -> list:
    return [s.value for s in h.raw(tag, 0, 4e9) if s.quality is not Quality.BAD]


def test_stores_changes_only_and_on_quality_change(hist: Historian) -> None:
    batch = [Sample("a", v, T0 + i) for i, v in enumerate([1.0, 1.0, 1.0, 2.0, 2.0, 3.0])]
    hist.submit(batch)
    hist.submit([Sample("a", 3.0, T0 + 10, Quality.UNCERTAIN, "stale"),
                 Sample("a", 3.0, T0 + 11, Quality.UNCERTAIN, "stale")])
    assert hist.flush()
    rows = hist.raw("a", T0, T0 + 100)
    assert [(s.ts - T0, s.value, s.quality) for s in rows] == [
        (0, 1.0, Quality.GOOD), (3, 2.0, Quality.GOOD), (5, 3.0, Quality.GOOD),
        (10, 3.0, Quality.UNCERTAIN)]
    assert rows[-1].reason == "stale"


def test_absolute_and_percent_deadband(tmp_path: Path, clock: Clock) -> None:
    policies = {"a": StoragePolicy(deadband=0.5), "b": StoragePolicy(deadband=2.0)}
    with make(tmp_path, clock, policies=policies) as h:
        seq = [10.0, 10.3, 10.5, 10.6, 9.9, 10.2, 11.2]
        h.submit([Sample("a", v, T0 + i) for i, v in enumerate(seq)])
        h.submit([Sample("b", v, T0 + i) for i, v in enumerate([0, 1.5, 2.5, 1.0, 5.0])])
        assert h.flush()
        # against the last *stored* value: 10.6 is 0.6 away from 10.0; 9.9 is 0.7 from 10.6
        assert values(h, "a") == [10.0, 10.6, 9.9, 11.2]
        assert values(h, "b") == [0, 2.5, 5.0]


def test_percent_deadband_from_project_tag() -> None:
    from hmi.historian.filter import policy_for
    from hmi.project_models import TagConfig

    tag = TagConfig(name="x", device="d", min=0, max=400, history_deadband_pct=0.5)
    assert policy_for(tag, 300).deadband == pytest.approx(2.0)
    both = TagConfig(name="x", device="d", min=0, max=100, history_deadband=3,
                     history_deadband_pct=1, history_heartbeat_s=7)
    assert policy_for(both, 300) == StoragePolicy(True, 3.0, 7.0)
    assert not policy_for(TagConfig(name="x", device="d", history=False), 300).record


def test_heartbeat_stores_unchanged_values(tmp_path: Path, clock: Clock) -> None:
    with make(tmp_path, clock, policies={"a": StoragePolicy(heartbeat_s=60)}) as h:
        h.submit([Sample("a", 5.0, T0 + i) for i in range(0, 200, 5)])
        assert h.flush()
        assert [s.ts - T0 for s in h.raw("a", T0, T0 + 1000)] == [0, 60, 120, 180]


def test_bool_string_and_nan_values(hist: Historian) -> None:
    hist.submit([Sample("flag", False, T0), Sample("flag", True, T0 + 1),
                 Sample("flag", True, T0 + 2), Sample("b", "RECIPE-7", T0),
                 Sample("b", "RECIPE-7", T0 + 1), Sample("b", "RECIPE-8", T0 + 2),
                 Sample("a", float("nan"), T0, Quality.UNCERTAIN, "bad value")])
    assert hist.flush()
    assert values(hist, "flag") == [0.0, 1.0]
    assert values(hist, "b") == ["RECIPE-7", "RECIPE-8"]
    assert hist.raw("a", T0, T0 + 1)[0].value is None


def test_bad_sample_is_a_gap_and_decimation_breaks_there(hist: Historian) -> None:
    hist.submit([Sample("a", float(i), T0 + i) for i in range(10)])
    hist.submit([Sample("a", None, T0 + 10, Quality.BAD, "comm failure: refused")] * 1)
    hist.submit([Sample("a", None, T0 + 11, Quality.BAD, "comm failure: refused")])
    hist.submit([Sample("a", float(i), T0 + i) for i in range(20, 30)])
    assert hist.flush()
    rows = hist.raw("a", T0, T0 + 100)
    assert sum(1 for s in rows if s.quality is Quality.BAD) == 1  # one marker, not one per poll
    assert hist.gaps("a", T0, T0 + 100) == [(T0 + 10, T0 + 20, "comm failure: refused")]
    dec = hist.decimated("a", T0, T0 + 30, buckets=30)
    assert np.isnan(dec.v).sum() == 1
    gap_index = int(np.flatnonzero(np.isnan(dec.v))[0])
    assert dec.t[gap_index] == pytest.approx(T0 + 10)
    assert np.all(np.diff(dec.t) >= 0)


def test_stop_and_unclean_restart_record_gaps(tmp_path: Path, clock: Clock) -> None:
    h = make(tmp_path, clock)
    h.submit([Sample("a", 1.0, T0), Sample("b", 2.0, T0 + 5)])
    assert h.flush()
    clock.now = T0 + 10
    h.stop()
    last = h.raw("a", T0, T0 + 100)[-1]
    assert (last.quality, last.reason, last.ts) == (Quality.BAD, STOPPED, T0 + 10)

    clock.now = T0 + 100
    h = make(tmp_path, clock)
    assert h.value_at("a", T0 + 50).reason == STOPPED
    h.submit([Sample("a", 3.0, T0 + 101)])
    assert h.flush()
    # simulate a crash: the writer dies without stop(), so no "stopped" markers are written
    h.writer.stop()
    h._conn.close()
    h.writer = None

    clock.now = T0 + 500
    with make(tmp_path, clock) as h2:
        marker = h2.value_at("a", T0 + 200)
        assert (marker.quality, marker.reason) == (Quality.BAD, DOWN)
        assert marker.ts == pytest.approx(T0 + 101.001)
        with sqlite3.connect(tmp_path / "history.db") as conn:
            gaps = conn.execute("SELECT t0, t1, reason FROM gaps ORDER BY t0").fetchall()
        assert gaps == [(round((T0 + 10) * 1000), round((T0 + 100) * 1000), STOPPED),
                        (round((T0 + 101) * 1000), round((T0 + 500) * 1000), DOWN)]


def test_decimation_preserves_min_max_and_matches_numpy(hist: Historian) -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    vals = np.cumsum(rng.normal(size=n))
    vals[12_345] = 500.0  # one-sample spike must survive decimation
    vals[777] = -500.0
    hist.submit([Sample("a", float(v), T0 + i * 0.5) for i, v in enumerate(vals)])
    assert hist.flush()
    dec = hist.decimated("a", T0, T0 + n * 0.5, buckets=400)
    assert dec.source == "raw"
    assert len(dec.buckets) == 400
    assert dec.v.max() == 500.0
    assert dec.v.min() == -500.0
    per_bucket = vals.reshape(400, -1)
    for b, info in dec.buckets.items():
        assert info["min"] == per_bucket[b].min()
        assert info["max"] == per_bucket[b].max()
        assert info["first"] == per_bucket[b][0]
        assert info["last"] == per_bucket[b][-1]
        assert info["count"] == per_bucket.shape[1]
    assert len(dec.t) == 800
    assert np.all(np.diff(dec.t) >= 0)


def test_rollups_serve_long_ranges_with_the_same_envelope(hist: Historian, clock: Clock) -> None:
    n = 3 * 24 * 360  # 3 days, one sample every 10 s
    vals = [math.sin(i / 300) * 50 + (100 if i == 5000 else 0) for i in range(n)]
    hist.submit([Sample("a", v, T0 + i * 10) for i, v in enumerate(vals)])
    hist.submit([Sample("a", None, T0 + 40_000, Quality.BAD, "comm failure")])
    assert hist.flush()
    clock.now = T0 + n * 10 + 3600
    hist.maintain()
    coarse = hist.decimated("a", T0, T0 + n * 10, buckets=500)  # 518 s buckets -> 1-min rollup
    assert coarse.source.startswith("rollup_1m")
    hourly = hist.decimated("a", T0, T0 + n * 10, buckets=50)  # 1.44 h buckets -> 1-h rollup
    assert hourly.source.startswith("rollup_1h")
    raw = hist.decimated("a", T0, T0 + n * 10, buckets=5000)
    assert raw.source == "raw"
    for dec in (coarse, hourly, raw):
        finite = dec.v[~np.isnan(dec.v)]
        assert finite.max() == pytest.approx(max(vals))
        assert finite.min() == pytest.approx(min(vals))
        assert np.isnan(dec.v).sum() >= 1
        # issue 11: the BAD sample at a taken millisecond no longer replaces the good one there
        assert sum(b["count"] for b in dec.buckets.values()) == n
    marker = hist.raw("a", T0 + 40_000, T0 + 40_001)
    assert [(s.ts, s.quality) for s in marker] == [(T0 + 40_000, Quality.GOOD),
                                                   (T0 + 40_000.001, Quality.BAD)]


def test_late_samples_reopen_rolled_up_minutes(hist: Historian, clock: Clock) -> None:
    hist.submit([Sample("a", 1.0, T0 + i) for i in range(0, 600, 60)])
    assert hist.flush()
    clock.now = T0 + 7200
    hist.maintain()
    hist.submit([Sample("a", 99.0, T0 + 90)])  # arrives late, after its minute was rolled up
    assert hist.flush()
    hist.maintain()
    dec = hist.decimated("a", T0, T0 + 600, buckets=5)
    assert dec.source.startswith("rollup_1m")
    assert max(b["max"] for b in dec.buckets.values()) == 99.0


def test_value_at_and_statistics(hist: Historian) -> None:
    hist.submit([Sample("a", 10.0, T0), Sample("a", 20.0, T0 + 30),
                 Sample("a", None, T0 + 40, Quality.BAD, "comm failure"),
                 Sample("a", 30.0, T0 + 50)])
    hist.submit([Sample("flag", True, T0), Sample("flag", False, T0 + 15)])
    assert hist.flush()
    assert hist.value_at("a", T0 + 29.9).value == 10.0
    assert hist.value_at("a", T0 + 30).value == 20.0
    assert hist.value_at("a", T0 + 45).quality is Quality.BAD
    assert hist.value_at("a", T0 - 1) is None
    stats = hist.statistics("a", T0, T0 + 60)
    assert (stats["count"], stats["min"], stats["max"]) == (3, 10.0, 30.0)
    assert stats["mean"] == pytest.approx(20.0)
    # 30 s at 10, 10 s at 20, 10 s BAD (excluded), 10 s at 30
    assert stats["time_weighted_mean"] == pytest.approx((300 + 200 + 300) / 50)
    assert stats["bad_s"] == pytest.approx(10.0)
    # a range starting mid-way uses the value in force at its start
    later = hist.statistics("a", T0 + 20, T0 + 40)
    assert later["count"] == 1
    assert later["time_weighted_mean"] == pytest.approx(15.0)
    flag = hist.statistics("flag", T0, T0 + 60)
    assert (flag["time_true_s"], flag["time_false_s"]) == (15.0, 45.0)
    with pytest.raises(ValueError, match="backwards"):
        hist.statistics("a", T0 + 10, T0)


def test_retention_purges_raw_and_rollups_in_chunks(tmp_path: Path, clock: Clock) -> None:
    from hmi.historian.rollup import PURGE_CHUNK

    with make(tmp_path, clock, raw_days=1, rollup_days=2) as h:
        n = PURGE_CHUNK * 3
        step = 4 * 86400 / n  # 4 days of data
        h.submit([Sample("a", float(i % 50), T0 + i * step) for i in range(n)])
        assert h.flush()
        clock.now = T0 + 4 * 86400
        h.maintain()
        rows = h.raw("a", 0, 4e9)
        assert rows[0].ts >= clock.now - 86400
        assert len(rows) == pytest.approx(n / 4, abs=2)
        with sqlite3.connect(tmp_path / "history.db") as conn:
            oldest = conn.execute("SELECT min(t) FROM rollup_1m").fetchone()[0] / 1000
        assert clock.now - 2 * 86400 <= oldest < clock.now - 86400
        assert h.diagnostics()["purged_rows"] > n * 3 / 4


def test_corrupt_database_is_moved_aside(tmp_path: Path, clock: Clock,
                                         caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not a database, just junk" * 200)
    with make(tmp_path, clock) as h:
        h.submit([Sample("a", 1.0, T0)])
        assert h.flush()
    aside = list(tmp_path.glob("history.db.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes().startswith(b"this is not a database")
    assert "CORRUPT" in caplog.text
    conn = open_db(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_locked_database_is_a_clear_error(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "history.db"
    open_db(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO meta VALUES ('x', 'y')")
    try:
        h = Historian(path, clock=clock, busy_timeout_s=0.2)
        with pytest.raises(HistoryDbError, match="locked"):
            h.start()
    finally:
        holder.close()
    assert path.exists()
    assert not list(tmp_path.glob("history.db.corrupt-*"))


def test_schema_is_without_rowid_and_versioned(hist: Historian) -> None:
    conn = open_db(hist.path)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'samples'").fetchone()[0]
    assert "WITHOUT ROWID" in sql
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_kill_9_loses_at_most_the_batch_in_flight(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    path = tmp_path / "history.db"
    size = 500
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "tests.core.historian_killer", str(path),
                             str(size)], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        acked = 0
        for _ in range(40):
            line = proc.stdout.readline()
            assert line, "the ingest process died before it was killed"
            acked = int(line)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    conn = open_db(path, recover=False)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n, lo, hi = conn.execute("SELECT count(*), min(value), max(value) FROM samples s "
                                 "JOIN tags ON tags.id = s.tag_id WHERE tags.name = 'k' "
                                 "AND s.value IS NOT NULL").fetchone()
    finally:
        conn.close()
    assert acked >= 40
    assert n >= acked * size  # every acknowledged row is there, contiguous from 0
    assert (lo, n) == (0.0, hi + 1)
    with Historian(path) as h:  # and the historian starts on it, recording the crash as a gap
        assert h.value_at("k", 4e9).reason == DOWN
