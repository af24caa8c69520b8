"""The journal's durability and queries: rows reported committed survive `kill -9`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from alarms.journal import Journal, JournalEntry

HELPER = Path(__file__).with_name("alarm_journal_writer.py")
ROOT = Path(__file__).resolve().parents[2]


def test_journal_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "alarms.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(HELPER), str(db)], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        committed = 0
        assert proc.stdout is not None
        while committed < 300:  # readline blocks until the writer reports; pytest-timeout guards
            line = proc.stdout.readline()
            assert line, "writer exited early"
            committed = int(line)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    journal = Journal(db)
    assert len(journal.query()) >= committed
    assert journal.load_states()["Tank.Level.HI"]["active"] is True
    mode = journal._select("PRAGMA synchronous")[0][0]
    assert mode == 2  # FULL
    journal.close()


def test_queries_by_time_area_priority_tag_state(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "alarms.db")
    rows = [
        (100.0, "A.HI", "A", "Plant/L1/Filler", "high", "raise", "B"),
        (200.0, "B.LO", "B", "Plant/L1/Packer", "low", "raise", "B"),
        (300.0, "A.HI", "A", "Plant/L1/Filler", "high", "ack", "C"),
        (400.0, "C.DI", "C", "Plant/L2", "urgent", "raise", "B"),
    ]
    for ts, alarm, tag, area, prio, event, state in rows:
        journal.append(JournalEntry(ts, alarm, tag, area, prio, 500, event, state))
    journal.flush()
    assert [r["ts"] for r in journal.query(150, 350)] == [200.0, 300.0]
    assert [r["alarm"] for r in journal.query(area="Plant/L1")] == ["A.HI", "B.LO", "A.HI"]
    assert [r["ts"] for r in journal.query(priority="high", state="C")] == [300.0]
    assert [r["event"] for r in journal.query(tag="A")] == ["raise", "ack"]
    assert journal.query(event="raise", limit=1)[0]["time"] == "1970-01-01T00:01:40.000Z"
    journal.close()


def test_purge_keeps_recent_rows(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "alarms.db")
    for ts in (100.0, 200.0, 300.0):
        journal.append(JournalEntry(ts, "A.HI", "A", "P", "high", 700, "raise", "B"))
    journal.flush()
    assert journal.purge(250.0) == 2
    assert [r["ts"] for r in journal.query()] == [300.0]
    journal.close()
