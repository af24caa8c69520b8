"""Issue 11: the historian and the alarm journal when their database refuses writes.

A real `SQLITE_FULL` comes from `PRAGMA max_page_count` on the writer's own connection (the
database cannot grow past its current size, exactly as on a full disk); lifting the limit is
"space returns". A real `SQLITE_IOERR` comes from a process whose file size limit is 0
(`tests/core/ioerror_historian.py`). No mocks: real SQLite files in tmp_path, the real writer
thread."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from alarms.journal import Journal, JournalEntry
from hmi.historian.schema import open_db
from hmi.historian.service import DOWN, Historian
from hmi.historian.writer import LOST
from hmi.tags import Quality, Sample
from hmi.writebuffer import WriteBudget
from tests.conftest import wait_until

T0 = 1_800_000_000.0


def limit_pages(conn: sqlite3.Connection, extra: int | None) -> None:
    """Cap the database at its current size (+ extra pages), or lift the cap (None)."""
    if extra is None:
        conn.execute("PRAGMA max_page_count=1073741823")
    else:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={pages + extra}")


def fill(hist: Historian, start: int, count: int, tags: tuple[str, ...] = ("a", "b")) -> None:
    """`count` batches, one sample per tag each, every value different (all stored)."""
    for i in range(start, start + count):
        hist.submit([Sample(tag, float(i), T0 + i * 0.1) for tag in tags])


def stored(hist: Historian, tag: str) -> list[float]:
    return [s.value for s in hist.raw(tag, T0 - 1, T0 + 10_000) if s.value is not None]


@pytest.fixture
def hist(tmp_path: Path) -> Historian:
    h = Historian(tmp_path / "history.db", tags=["a", "b"], maintenance_s=3600,
                  retry_start_s=0.05, retry_max_s=0.2)
    h.start()
    yield h
    h.stop()


def writer_conn(hist: Historian) -> sqlite3.Connection:
    assert hist.writer is not None
    return hist.writer._conn


def test_full_disk_holds_rows_says_so_once_and_writes_them_when_space_returns(
        hist: Historian, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    fill(hist, 0, 10)
    assert hist.flush()
    hist.writer.call(lambda: limit_pages(writer_conn(hist), 0))
    fill(hist, 10, 300)  # 300 batches: each one would have been a traceback before
    wait_until(lambda: hist.diagnostics()["pending_batches"] == 0
               and hist.diagnostics()["buffered_rows"] > 0)
    d = hist.diagnostics()
    assert d["state"] == "holding in memory"
    assert "full" in d["write_error"]
    assert d["dropped_rows"] == 0
    assert not hist.flush(0.3)  # not on disk yet: flush says so instead of lying
    hist.writer.call(lambda: limit_pages(writer_conn(hist), None))
    assert hist.flush(10)
    assert stored(hist, "a") == [float(i) for i in range(310)]  # nothing lost, in order
    assert stored(hist, "b") == [float(i) for i in range(310)]
    d = hist.diagnostics()
    assert (d["state"], d["write_error"], d["buffered_rows"]) == ("writing", "", 0)
    assert "full" in d["last_error"]  # kept for the record, not shown as current
    mine = [r for r in caplog.records if r.name.startswith("hmi.historian")]
    assert not any(r.exc_info for r in mine), "no traceback while the disk is full"
    stopped = [r.getMessage() for r in mine if "writing stopped" in r.getMessage()]
    resumed = [r.getMessage() for r in mine if "writing resumed" in r.getMessage()]
    assert len(stopped) == 1
    assert "database or disk is full" in stopped[0]
    assert len(resumed) == 1
    assert "nothing lost" in resumed[0]
    assert len([r for r in mine if r.levelno >= logging.WARNING]) == 2


def test_over_the_buffer_limit_the_oldest_rows_are_dropped_counted_and_gapped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    budget = WriteBudget(max_rows=100, max_mb=100)
    hist = Historian(tmp_path / "history.db", tags=["a", "b"], maintenance_s=3600,
                     retry_start_s=0.05, retry_max_s=0.2, budget=budget, busy_timeout_s=0.02)
    hist.start()
    other = sqlite3.connect(tmp_path / "history.db", isolation_level=None)
    try:
        fill(hist, 0, 5)
        assert hist.flush()
        other.execute("BEGIN IMMEDIATE")  # nothing can be written from now on
        fill(hist, 5, 200)  # 400 rows into a 100-row buffer
        wait_until(lambda: hist.diagnostics()["dropped_rows"] >= 300)
        assert hist.diagnostics()["buffered_rows"] == 100
        other.execute("COMMIT")
        assert hist.flush(10)
        kept = stored(hist, "a")
        assert hist.diagnostics()["dropped_rows"] == 300  # every row is written or counted
        assert kept == [0.0, 1.0, 2.0, 3.0, 4.0] + [float(i) for i in range(155, 205)]
        gaps = hist.reader().conn.execute("SELECT t0, t1, reason FROM gaps").fetchall()
        assert len(gaps) == 1
        assert gaps[0][2].startswith(LOST)
        assert gaps[0][0] == round((T0 + 0.5) * 1000)  # from the first sample dropped
        marker = [s for s in hist.raw("a", T0, T0 + 1000) if s.quality is Quality.BAD]
        assert [(m.ts, m.reason) for m in marker] == [(T0 + 0.5, LOST)]  # the trend breaks
        assert hist.gaps("a", T0, T0 + 1000)[0][2] == LOST
        full = [r for r in caplog.records if "memory buffer full" in r.getMessage()]
        assert len(full) == 1
        assert not any(r.exc_info for r in caplog.records)
    finally:
        other.close()
        hist.stop()


def test_stop_with_a_full_disk_ends_cleanly_in_one_line(
        hist: Historian, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    fill(hist, 0, 3)
    assert hist.flush()
    hist.writer.call(lambda: limit_pages(writer_conn(hist), 0))
    fill(hist, 3, 200)
    wait_until(lambda: hist.diagnostics()["pending_batches"] == 0
               and hist.diagnostics()["buffered_rows"] > 0)
    held = hist.diagnostics()["buffered_rows"]
    hist.stop()  # must not raise ("cannot rollback - no transaction is active" before)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("stopped while the database refuses writes" in m and f"{held} held rows" in m
               for m in lines), lines
    assert not any("cannot rollback" in m for m in lines)
    assert not any(r.exc_info for r in caplog.records)
    with Historian(hist.path, tags=["a", "b"]) as again:  # the next start records the gap
        assert again.value_at("a", T0 + 100).reason == DOWN
        kept = stored(again, "a")
        assert kept == [float(i) for i in range(len(kept))]  # what was written, contiguous
        assert 2 * (203 - len(kept)) == held  # lost: exactly the rows held at the stop


def test_a_locked_database_is_held_and_caught_up(tmp_path: Path) -> None:
    hist = Historian(tmp_path / "history.db", tags=["a"], maintenance_s=3600,
                     busy_timeout_s=0.05, retry_start_s=0.05, retry_max_s=0.1)
    hist.start()
    other = sqlite3.connect(tmp_path / "history.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        fill(hist, 0, 20, ("a",))
        wait_until(lambda: "locked" in hist.diagnostics()["write_error"])
        other.execute("COMMIT")
        assert hist.flush(10)
        assert stored(hist, "a") == [float(i) for i in range(20)]
    finally:
        other.close()
        hist.stop()


def test_samples_on_a_taken_millisecond_are_all_kept(hist: Historian) -> None:
    hist.submit([Sample("a", 76.0, T0), Sample("a", 77.0, T0 + 0.001)])
    hist.submit([Sample("a", 26.0, T0), Sample("a", 27.0, T0)])  # the source clock went back
    assert hist.flush()
    got = [(round(s.ts * 1000) - round(T0 * 1000), s.value) for s in hist.raw("a", T0, T0 + 1)]
    assert got == [(0, 76.0), (1, 77.0), (2, 26.0), (3, 27.0)]


def test_journal_rows_survive_a_failing_commit(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "alarms.db")
    try:
        for i in range(5):
            journal.append(JournalEntry(T0 + i, "A", "T", "", "high", 700, "raise", "B", i))
        journal.flush()
        limit_pages(journal._db, 0)
        for i in range(5, 400):
            journal.append(JournalEntry(T0 + i, "A", "T", "", "high", 700, "raise", "B", i))
        journal.save_state("A", {"active": True}, T0)
        with pytest.raises(sqlite3.OperationalError, match="full"):
            journal.flush()
        assert journal.buffered_rows() == 395  # kept, in order, for the next commit
        assert journal.usage.rows == 395
        with pytest.raises(sqlite3.OperationalError):
            journal.flush()
        limit_pages(journal._db, None)
        assert journal.flush() == 395
        assert [r["value"] for r in journal.query()] == list(range(400))
        assert journal.load_states() == {"A": {"active": True}}
    finally:
        journal.close()


def _kill_while_buffering(path: Path) -> int:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "tests.core.buffering_killer", str(path)],
                            cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        committed = 0
        for line in proc.stdout:
            kind, n = line.split()
            if kind == "committed":
                committed = int(n)
            elif kind == "held" and int(n) >= 200:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return committed


def test_kill_9_while_holding_loses_at_most_the_buffer(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    committed = _kill_while_buffering(path)
    conn = open_db(path, recover=False)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        values = [r[0] for r in conn.execute(
            "SELECT value FROM samples WHERE value IS NOT NULL ORDER BY t")]
    finally:
        conn.close()
    # every acknowledged row survived, contiguous; lost: only what was held or queued
    assert values == [float(i) for i in range(len(values))]
    assert len(values) >= committed == 20
    with Historian(path, tags=["k"]) as h:  # and the loss is a recorded gap, not a silent line
        assert h.value_at("k", 4e9).reason == DOWN


def test_history_is_shed_before_any_journal_row(tmp_path: Path) -> None:
    budget = WriteBudget(max_rows=1000, max_mb=100)
    journal = Journal(tmp_path / "alarms.db")
    journal.usage = budget.journal  # as the alarm service shares it
    hist = Historian(tmp_path / "history.db", tags=["a"], maintenance_s=3600, budget=budget,
                     busy_timeout_s=0.02, retry_start_s=0.05, retry_max_s=0.1)
    hist.start()
    other = sqlite3.connect(tmp_path / "history.db", isolation_level=None)
    try:
        limit_pages(journal._db, 0)
        for i in range(600):
            journal.append(JournalEntry(T0 + i, "A", "T", "", "high", 700, "raise", "B", i))
        with pytest.raises(sqlite3.OperationalError):
            journal.flush()
        assert budget.journal.rows == 600
        other.execute("BEGIN IMMEDIATE")
        fill(hist, 0, 800, ("a",))
        wait_until(lambda: hist.diagnostics()["pending_batches"] == 0
                   and hist.diagnostics()["dropped_rows"] > 0)
        assert budget.history.rows == 400  # what the journal leaves of the budget
        assert budget.history.dropped == 400
        assert journal.trim(*budget.journal_room()) == (0, None, None)  # no journal row lost
        for i in range(600, 1200):
            journal.append(JournalEntry(T0 + i, "A", "T", "", "high", 700, "raise", "B", i))
        with pytest.raises(sqlite3.OperationalError):
            journal.flush()
        dropped, first, last = journal.trim(*budget.journal_room())
        assert (dropped, first, last) == (200, T0, T0 + 199)  # only now, the oldest
        assert budget.journal.rows == 1000
        fill(hist, 800, 10, ("a",))  # and the history buffer gives up everything it held
        wait_until(lambda: budget.history.rows == 0 and hist.diagnostics()["pending_batches"]
                   == 0)
        limit_pages(journal._db, None)
        assert journal.flush() == 1000
        assert [r["value"] for r in journal.query()] == list(range(200, 1200))
    finally:
        other.close()
        hist.stop()
        journal.close()


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_an_io_error_holds_rows_says_so_once_and_catches_up(tmp_path: Path) -> None:
    """Every write refused by the kernel (EFBIG: SQLite's "disk I/O error") for a while:
    the rows are held, one line says why, one says how many were caught up, none is lost."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "tests.core.ioerror_historian",
                           str(tmp_path / "history.db")], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    failing, resumed = (json.loads(line) for line in proc.stdout.splitlines())
    assert failing == {"phase": "failing", "state": "holding in memory",
                       "error": "disk I/O error", "held": 600, "flushed": False}
    assert (resumed["flushed"], resumed["state"], resumed["error"]) == (True, "writing", "")
    assert (resumed["held"], resumed["dropped"]) == (0, 0)
    assert resumed["a"] == resumed["b"] == [float(i) for i in range(310)]  # in order, all
    said = [line for line in proc.stderr.splitlines() if not line.startswith("INFO ")]
    assert said == [
        "ERROR hmi.historian.writer: history: writing stopped: disk I/O error; holding samples "
        "in memory (up to 1000000 rows / 200 MB) and retrying",
        said[1]]
    assert said[1].startswith("WARNING hmi.historian.writer: history: writing resumed after ")
    assert said[1].endswith(": 600 rows caught up from memory, nothing lost")
