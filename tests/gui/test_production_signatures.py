"""The production panel when the project signs context changes (`[security.signatures]
context = true`, issue 14): each action opens the signature dialog (`open()`, not `exec()`),
which is also its confirmation; a cancelled dialog sends nothing and keeps what was typed; a
signed action reaches the MES with its signature in the audit trail. A real station (sim PLC,
MES service) reporting to the reference MES on 127.0.0.1."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from tests.core.security_helpers import PASSWORDS
from tests.gui.mes_station import project_text, stubs
from widgets.signature_dialog import SignatureDialog

__all__ = ["stubs"]

SIGNED = "\n[security.signatures]\ncontext = true\n"


def production(station, qtbot):
    window = station.window
    window.resize(1500, 950)
    window.show()
    window.go("production")
    screen = window.screen("production")
    qtbot.waitUntil(screen.isVisible, timeout=2000)
    return screen.panel("Line1")


def sign(dialog: SignatureDialog, reason: str, password: str) -> None:
    dialog.reason.setText(reason)
    dialog.fields.password.setText(password)
    assert dialog.ok_button.isEnabled()
    dialog.accept()


def test_signed_context_changes_ask_the_signature(make_station, stubs, qtbot) -> None:
    stub = stubs.start()
    station = make_station(project_text(stub.url) + SIGNED)
    panel = production(station, qtbot)
    security = station.context.commands.security

    qtbot.keyClicks(panel.wo_edit, "WO-7")
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    dialog = panel.signing
    assert isinstance(dialog, SignatureDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert not dialog.isModal()  # non-modal (F9 and Silence stay usable), no nested loop
    assert "Start work order WO-7 on Line1" in dialog.findChild(
        QLabel, "SignatureSummary").text()
    dialog.reject()  # cancelled: nothing sent, the typed order kept
    assert panel.signing is None
    assert panel.wo_edit.text() == "WO-7"
    assert security.audit.query(action="context") == []

    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    sign(panel.signing, "shift start", PASSWORDS["olga"])
    qtbot.waitUntil(lambda: panel.context_labels["work_order"].text() == "WO-7", timeout=5000)
    assert panel.wo_edit.text() == ""

    # a wrong password: the command layer refuses, nothing changes
    qtbot.keyClicks(panel.lot_edit, "LOT-9")
    qtbot.mouseClick(panel.lot_button, Qt.MouseButton.LeftButton)
    sign(panel.signing, "new lot", "not olga's password")
    qtbot.waitUntil(lambda: panel.result.text().startswith("refused: signature of olga"),
                    timeout=5000)
    assert panel.context_labels["lot"].text() == "-"

    # completing: the signature dialog is the confirmation (no question box first)
    qtbot.mouseClick(panel.complete_button, Qt.MouseButton.LeftButton)
    assert not isinstance(getattr(panel, "confirm", None), QMessageBox)
    assert "Complete work order WO-7" in panel.signing.findChild(
        QLabel, "SignatureSummary").text()
    sign(panel.signing, "order done", PASSWORDS["olga"])
    qtbot.waitUntil(lambda: panel.context_labels["work_order"].text() == "-", timeout=5000)

    entries = security.audit.query(action="context")
    requested = [e for e in entries if e.result == "requested"]
    assert [e.details["signature"]["reason"] for e in requested] == ["shift start",
                                                                    "order done"]
    assert all(e.details["signature"]["signers"][0]["user"] == "olga" for e in requested)
    assert [e.result for e in entries if e.result.startswith("denied")] == [
        "denied: signature of olga refused: wrong user name or password"]
    qtbot.waitUntil(lambda: any(e["type"] == "workorder.completed" for e in stub.events),
                    timeout=15000)
