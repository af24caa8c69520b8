"""Versions, log files and crash reports: what a plant sends us when something goes wrong."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hmi.logs import LogFile, enable_file_log, log_dir

ROOT = Path(__file__).resolve().parents[2]
HMI = [sys.executable, "-m", "hmi.cli"]


def test_version_names_every_library() -> None:
    proc = subprocess.run([*HMI, "--version"], capture_output=True, text=True, timeout=60,
                          check=True)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("hmi ")
    names = {line.split()[0] for line in lines[1:]}
    assert {"Python", "Qt", "PySide6", "asyncua", "pymodbus", "SQLite"} <= names
    qt = next(line for line in lines if line.split()[0] == "Qt")
    assert qt.split()[1][0].isdigit()


def test_version_without_qt_says_not_installed() -> None:
    code = ("import sys\nfor n in ('PySide6', 'shiboken6'): sys.modules[n] = None\n"
            "from hmi.versions import versions\nprint(versions()['Qt'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, check=True)
    assert proc.stdout.strip() == "not installed"


def test_uncaught_exceptions_leave_a_crash_report(tmp_path: Path) -> None:
    code = (
        "import sys, threading\nfrom pathlib import Path\n"
        "from hmi.logs import install_crash_reports\n"
        f"install_crash_reports(Path({str(tmp_path)!r}))\n"
        "def boom(): raise RuntimeError('thread went down')\n"
        "t = threading.Thread(target=boom, name='hmi-test'); t.start(); t.join()\n"
        "raise ValueError('main went down')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 1
    assert "ValueError: main went down" in proc.stderr  # the usual traceback still prints
    reports = sorted(tmp_path.glob("crash-*.txt"))
    texts = "\n".join(p.read_text() for p in reports)
    assert len(reports) >= 1
    assert "RuntimeError: thread went down" in texts
    assert "where: thread hmi-test" in texts
    assert "ValueError: main went down" in texts
    assert "asyncua" in texts
    assert "SQLite" in texts


def test_a_crash_report_that_cannot_be_written_leaves_the_traceback_alone(
        tmp_path: Path) -> None:
    """A full disk refuses the report too (seen: "Error in sys.excepthook" and two tracebacks
    on a station started on a full disk); a file where the folder should be refuses alike."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    code = ("from pathlib import Path\nfrom hmi.logs import install_crash_reports\n"
            f"install_crash_reports(Path({str(blocked)!r}))\n"
            "raise ValueError('main went down')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 1
    assert "crash report not written ([Errno 20] Not a directory" in proc.stderr
    assert "Error in sys.excepthook" not in proc.stderr
    assert proc.stderr.count("Traceback") == 1
    assert proc.stderr.rstrip().endswith("ValueError: main went down")


def test_long_runs_log_to_a_rotating_file_beside_the_data(tmp_path: Path) -> None:
    project = tmp_path / "p.toml"
    project.write_text('[project]\nname = "log"\n[[devices]]\nname = "d"\nprotocol = "sim"\n'
                       '[[tags]]\nname = "T"\ndevice = "d"\n')
    data = tmp_path / "data"
    proc = subprocess.run([*HMI, "run", str(project), "--headless", "--for", "0.5",
                           "--data", str(data), "--status-every", "0"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    log = (data / "logs" / "hmi.log").read_text()
    assert "runtime started" in log
    assert "runtime stopped" in log


def test_log_dir_order_and_single_handler(tmp_path: Path, monkeypatch) -> None:
    import logging

    monkeypatch.setenv("HMI_LOG_DIR", str(tmp_path / "explicit"))
    assert log_dir(tmp_path / "data") == tmp_path / "explicit"
    monkeypatch.delenv("HMI_LOG_DIR")
    assert log_dir(tmp_path / "data") == tmp_path / "data" / "logs"
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        path = enable_file_log(tmp_path)
        assert enable_file_log(tmp_path) == path
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)


def _records(count: int, text: str = "message") -> list[logging.LogRecord]:
    return [logging.makeLogRecord({"name": "hmi.test", "levelno": logging.INFO,
                                   "levelname": "INFO", "msg": f"{text} %d", "args": (i,)})
            for i in range(count)]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_log_file_on_a_full_disk_says_so_once_then_once_again_when_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/full is a real device whose every write fails with ENOSPC; the log path is a
    symlink to it, then to a real file (space again): the handler reopens it by name."""
    link, real = tmp_path / "hmi.log", tmp_path / "real.log"
    link.symlink_to("/dev/full")
    handler = LogFile(link, max_bytes=1000)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    try:
        for record in _records(50, "lost"):
            handler.handle(record)
        err = capsys.readouterr().err
        assert err.splitlines() == [
            f"hmi: cannot write the log file {link} ([Errno 28] No space left on device); "
            "retried quietly with each message, the console still gets them"]
        link.unlink()
        link.symlink_to(real)
        for record in _records(3, "kept"):
            handler.handle(record)
        err = capsys.readouterr().err
        assert err.splitlines() == [
            f"hmi: the log file {link} is written again; 50 message(s) were not written to it "
            "([Errno 28] No space left on device)"]
    finally:
        handler.close()
    assert real.read_text().splitlines() == [
        "INFO kept 0",
        "WARNING log file: 50 message(s) before the previous one were not written ([Errno 28] "
        "No space left on device)",
        "INFO kept 1", "INFO kept 2"]


def test_a_bad_log_call_still_gets_the_standard_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    handler = LogFile(tmp_path / "hmi.log")
    try:
        handler.handle(logging.makeLogRecord({"msg": "%d items", "args": ("many",)}))
    finally:
        handler.close()
    assert "--- Logging error ---" in capsys.readouterr().err  # a bug, not the disk
