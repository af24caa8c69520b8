"""`hmi screenshot` exit codes and output, `hmi gui` on qasync end to end (first frame, SIGTERM
stops it cleanly), and one line + exit 2 when there is no display or it does not answer."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from alarms.commands import service_running
from alarms.journal import Journal
from hmi.cli import display_server
from hmi.cli.main import main
from tests.conftest import wait_until
from tests.gui.stations import write_project

ROOT = Path(__file__).resolve().parents[2]


def shot(tmp_path: Path, *args: str) -> int:
    project = write_project(tmp_path)
    return main(["screenshot", str(project), "--data", str(tmp_path / "data"), "--after",
                 "0.3", *args])


@pytest.mark.parametrize(("args", "message"), [
    (["--screen", "cockpit"], "unknown screen 'cockpit'"),
    (["--screen", "unit", "--asset", "Nowhere"], "unknown asset 'Nowhere'"),
    (["--screen", "faceplate", "--tag", "No.Such.Tag"], "unknown tag 'No.Such.Tag'"),
    (["--screen", "line", "--size", "huge"], "--size must be WIDTHxHEIGHT"),
    (["--screen", "trends", "--group", "NoGroup"], "unknown trend group 'NoGroup'"),
    (["--screen", "trends", "--range", "garbage"], "--range: unknown range 'garbage'"),
    (["--screen", "journal", "--range", "-1 hour"], "--range: unknown range '-1 hour'"),
])
def test_screenshot_bad_input_exits_2_with_one_line(tmp_path, qapp, capsys, args, message
                                                    ) -> None:
    out = tmp_path / "x.png"
    assert shot(tmp_path, *args, "--out", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]
    assert not out.exists()


def test_screenshot_renders_the_screen_at_the_size_asked(tmp_path, qapp, capsys) -> None:
    out = tmp_path / "shots" / "unit.png"
    assert shot(tmp_path, "--screen", "unit", "--asset", "Pump", "--theme", "night",
                "--size", "1200x800", "--out", str(out)) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)
    assert "unit (night, 1200x800)" in capsys.readouterr().out
    face = tmp_path / "face.png"
    assert shot(tmp_path, "--screen", "faceplate", "--tag", "Tank.LevelSetpoint", "--out",
                str(face)) == 0
    assert not QImage(str(face)).isNull()


def test_screenshot_knows_the_users_saved_trend_groups_and_the_journals_ranges(tmp_path
                                                                              ) -> None:
    from hmi.gui.screenshot import ScreenshotError, check_request
    from hmi.project import load_project
    from hmi.trends.config import TrendGroupConfig
    from hmi.trends.groups import GroupStore

    project = load_project(write_project(tmp_path))
    data = tmp_path / "data"
    GroupStore(data).save("olga", TrendGroupConfig(name="Mine", pens=[project.tags[0].name]))
    check_request(project, "trends", None, None, {"group": "Mine"}, str(data), "olga")
    with pytest.raises(ScreenshotError, match="unknown trend group 'Mine'"):
        check_request(project, "trends", None, None, {"group": "Mine"}, str(data), "erik")
    for text in ("-1h", "last_shift", "2026-11-23T22:00..2026-11-24T06:00", "week"):
        check_request(project, "journal", None, None, {"range": text}, str(data))


def test_screenshot_of_a_screen_not_in_this_build_is_a_placeholder(tmp_path, qapp, monkeypatch
                                                                   ) -> None:
    from hmi.gui import registry

    monkeypatch.setitem(registry.SCREENS, "future", "screens.future:FutureScreen")
    out = tmp_path / "future.png"
    assert shot(tmp_path, "--screen", "future", "--range", "-1h", "--set", "x=1", "--out",
                str(out)) == 0
    assert out.exists()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


@pytest.mark.parametrize("command", [["gui"], ["run"]])
def test_no_display_says_so_in_one_line_and_exits_2(tmp_path, command) -> None:
    project = write_project(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "hmi.cli", *command, str(project)],
                          cwd=ROOT, env=_env(HMI_DATA_DIR=str(tmp_path / "d")),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "no display" in lines[0]
    assert "--headless" in lines[0]


def _free_x_display() -> int:
    """A display number nobody serves: no socket file, nothing on its TCP port."""
    for number in range(180, 260):
        if (display_server.X_SOCKET_DIR / f"X{number}").exists():
            continue
        if not display_server.x_server_answers(f":{number}"):
            return number
    pytest.skip("no free X display number")


@pytest.mark.parametrize("command", [["gui"], ["run"]])
def test_an_unreachable_display_says_so_in_one_line_and_exits_2(tmp_path, command) -> None:
    """DISPLAY set, no server: Qt's xcb plugin used to abort (exit 134, eight lines)."""
    project = write_project(tmp_path)
    display = f":{_free_x_display()}"
    proc = subprocess.run([sys.executable, "-m", "hmi.cli", *command, str(project)],
                          cwd=ROOT, env=_env(HMI_DATA_DIR=str(tmp_path / "d"), DISPLAY=display),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"no X server answers on DISPLAY={display}" in lines[0]
    assert "--headless" in lines[0]


def test_a_stale_x_socket_is_not_a_server(tmp_path) -> None:
    """The socket file of a killed server stays behind: it is connected to, not just seen."""
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "X7"))
    stale.close()  # the file stays, nobody listens
    assert (tmp_path / "X7").exists()
    assert display_server.x_server_answers("unix:7", tmp_path) is False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as live:
        live.bind(str(tmp_path / "X8"))
        live.listen(1)
        assert display_server.x_server_answers("unix:8", tmp_path) is True
        assert display_server.x_server_answers(":8", tmp_path) is True
    assert display_server.x_server_answers("not a display", tmp_path) is None
    nobody = f":{_free_x_display()}"
    assert display_server.unreachable(nobody, "", set()) is not None
    assert display_server.unreachable(nobody, "", {"wayland"}) is None  # not X's business


def test_hmi_gui_paints_and_stops_cleanly_on_sigterm(tmp_path) -> None:
    project = write_project(tmp_path)
    report = tmp_path / "report.json"
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "hmi.cli", "gui", str(project), "--data",
                             str(data)], cwd=ROOT,
                            env=_env(QT_QPA_PLATFORM="offscreen", HMI_GUI_REPORT=str(report)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(report.exists, 60)
        figures = json.loads(report.read_text())
        assert figures["first_paint_s"] is not None
        assert figures["first_paint_s"] < 30
        journal = Journal(data / "alarms.db")
        try:
            assert service_running(journal)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, proc.stderr.read()
            assert not service_running(journal)  # heartbeat cleared: the service stopped
        finally:
            journal.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
