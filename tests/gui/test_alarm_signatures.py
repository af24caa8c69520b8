"""Alarm actions the project signs (`[security.signatures]`): the summary's dialogs ask for the
signature, the command layer checks it in a worker, and the audit trail records the signers."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel

from screens.alarm_summary import AlarmSummaryScreen
from tests.core.security_helpers import PASSWORDS
from tests.gui.alarm_station import ALARMING, PROJECT, Station, open_station
from widgets.alarm_dialogs import ShelveDialog, TextDialog

SIGNED = PROJECT.replace("[alarm_settings]", '[security.signatures]\nshelve = true\n'
                         'oos = "double"\n\n[alarm_settings]')


@pytest.fixture
def station(tmp_path: Path, data_dir: Path, qapp):
    yield from open_station(SIGNED, tmp_path, data_dir)


@pytest.fixture
def screen(station: Station, qtbot) -> AlarmSummaryScreen:
    station.post(ALARMING)
    widget = AlarmSummaryScreen(station.context)
    qtbot.addWidget(widget)
    widget.resize(1400, 600)
    widget.show()
    qtbot.waitUntil(lambda: widget.model.rowCount() == 7, timeout=5000)
    return widget


def select(screen: AlarmSummaryScreen, name: str) -> None:
    index = screen.model.index(screen.model.position(name), 0)
    selection = screen.table.selectionModel()
    selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
    selection.select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                     | QItemSelectionModel.SelectionFlag.Rows)


def test_shelve_asks_a_signature_and_the_audit_keeps_it(station, screen, qtbot) -> None:
    select(screen, "Tank.Temp.HI")
    screen.actions_.actions["shelve"].trigger()
    dialog = screen.actions_.dialog
    assert isinstance(dialog, ShelveDialog)
    fields = dialog.signature_fields
    assert fields is not None
    assert not fields.double
    ok = dialog.buttons.buttons()[0]
    dialog.reason.setText("sensor work")
    assert not ok.isEnabled()  # no password yet
    fields.password.setText("not olga's password")
    assert ok.isEnabled()
    with qtbot.waitSignal(screen.actions_.done, timeout=10_000) as done:
        dialog.accept()
    [(name, result, error)] = done.args[1]
    assert (name, result) == ("Tank.Temp.HI", "")
    assert "refused" in error
    assert station.state("Tank.Temp.HI") == "B"  # nothing happened

    screen.actions_.actions["shelve"].trigger()
    dialog = screen.actions_.dialog
    dialog.reason.setText("sensor work")
    dialog.signature_fields.meaning.setCurrentIndex(
        dialog.signature_fields.meaning.findData("performed"))
    dialog.signature_fields.password.setText(PASSWORDS["olga"])
    with qtbot.waitSignal(screen.actions_.done, timeout=10_000) as done:
        dialog.accept()
    assert done.args[1][0][2] == ""
    assert station.state("Tank.Temp.HI") == "F"
    security = station.context.commands.security
    [entry] = [e for e in security.audit.query(action="shelve") if e.result != "requested"
               and not e.result.startswith("denied")]
    assert entry.details["signature"] == {
        "reason": "sensor work",
        "signers": [{"user": "olga", "role": "operator", "meaning": "performed"}]}
    assert security.audit.verify().ok


def test_out_of_service_needs_a_second_signer(station, screen, qtbot) -> None:
    station.context.set_actor(station.login("eve"))
    select(screen, "Pump.Speed.HI")
    screen.actions_.actions["oos"].trigger()
    dialog = screen.actions_.dialog
    assert isinstance(dialog, TextDialog)
    fields = dialog.signature_fields
    assert fields is not None
    assert fields.double
    assert fields.second_user.isVisibleTo(dialog)
    ok = dialog.buttons.buttons()[0]
    dialog.text.setText("speed sensor removed")
    fields.password.setText(PASSWORDS["eve"])
    assert not ok.isEnabled()  # the second signer is missing
    fields.second_user.setText("ann")
    fields.second_password.setText(PASSWORDS["ann"])
    assert ok.isEnabled()
    with qtbot.waitSignal(screen.actions_.done, timeout=10_000) as done:
        dialog.accept()
    assert done.args[1][0][2] == "", done.args
    assert station.state("Pump.Speed.HI") == "H"
    security = station.context.commands.security
    entry = [e for e in security.audit.query(action="oos") if e.result != "requested"][-1]
    assert [s["user"] for s in entry.details["signature"]["signers"]] == ["eve", "ann"]
