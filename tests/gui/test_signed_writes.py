"""Electronic signatures in the faceplate: a write to a `signature = true` tag asks, at the moment
of the action, for the password again, a meaning and a reason (and a second user for
"double"); a wrong password is refused before the device is touched; the signers land in the
write's audit entry. Real station, real sim device, real audit trail."""

from __future__ import annotations

import shiboken6

from tests.core.security_helpers import PASSWORDS
from tests.gui.security_env import SIGNED_PROJECT, TEMP_ALARM, alarm_row, with_security
from widgets.faceplate_alarms import AlarmSection
from widgets.signature_dialog import SignatureDialog

SETPOINT = "Tank.LevelSetpoint"
DOUBLE = SIGNED_PROJECT.replace('name = "Tank.Temp"\ndevice = "tank"\ntype = "float32"\n'
                                'unit = "°C"\nwritable = true',
                                'name = "Tank.Temp"\ndevice = "tank"\ntype = "float32"\n'
                                'unit = "°C"\nwritable = true\nsignature = "double"')


def ask(section, qtbot, text: str) -> SignatureDialog:
    section.entry.setText(text)
    section.request_write()
    qtbot.waitUntil(lambda: section.sign_dialog is not None and section.sign_dialog.isVisible(),
                    timeout=3000)
    assert section.confirm is None  # the signature dialog is the confirmation
    return section.sign_dialog


def test_signed_write_asks_again_and_the_audit_keeps_the_signer(make_station, qtbot) -> None:
    assert DOUBLE != SIGNED_PROJECT
    station = make_station(SIGNED_PROJECT)
    qtbot.waitUntil(lambda: station.bridge.current[SETPOINT].value == 60.0, timeout=10_000)
    faceplate = station.window.open_faceplate(SETPOINT)
    section = faceplate.write
    labels = [label.text() for label in section.findChildren(type(section.result_label))]
    assert "Reason (signed write: required):" in labels
    dialog = ask(section, qtbot, "70")
    assert f"Write {SETPOINT}?" in dialog.findChild(type(section.result_label),
                                                     "SignatureSummary").text()
    assert "60.00 %  →  70.00 %" in dialog.findChild(type(section.result_label),
                                                      "SignatureSummary").text()
    assert not dialog.ok_button.isEnabled()  # no reason, no password
    dialog.reason.setText("recipe change 42")
    assert not dialog.ok_button.isEnabled()
    dialog.fields.password.setText("someone else's password")
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(section.write_finished, timeout=10_000):
        dialog.ok_button.click()
    assert section.result_label.text() == ("denied: signature of olga refused: wrong user "
                                           "name or password")
    assert section.result_label.property("outcome") == "rejected"
    assert not shiboken6.isValid(dialog) or dialog.fields.password.text() == ""
    assert station.bridge.current[SETPOINT].value == 60.0  # nothing reached the device

    dialog = ask(section, qtbot, "70")
    assert dialog.reason.text() == "recipe change 42"  # kept from the first try
    dialog.fields.meaning.setCurrentIndex(dialog.fields.meaning.findData("approved"))
    dialog.fields.password.setText(PASSWORDS["olga"])
    with qtbot.waitSignal(section.write_finished, timeout=10_000):
        dialog.ok_button.click()
    assert section.result_label.text() == f"confirmed: {SETPOINT} reads back 70.00 %"
    security = station.context.commands.security
    entries = security.audit.query(action="write")
    [requested] = [e for e in entries if e.result == "requested"]
    assert requested.user == "olga"
    assert requested.details["old"] == 60.0
    assert requested.details["new"] == 70.0
    assert requested.details["signature"] == {
        "reason": "recipe change 42",
        "signers": [{"user": "olga", "role": "operator", "meaning": "approved"}]}
    assert [e.result for e in entries] == [
        "denied: signature of olga refused: wrong user name or password", "requested",
        "confirmed"]
    assert [e.result for e in security.audit.query(action="signature.failed")] == [
        "wrong password or unknown user"]
    assert security.audit.verify().ok
    faceplate.close()


def test_double_signature_needs_a_second_user_of_at_least_the_same_role(make_station, qtbot
                                                                        ) -> None:
    station = make_station(DOUBLE, actor="eve")  # an engineer
    qtbot.waitUntil(lambda: station.bridge.current["Tank.Temp"].value == 95.0, timeout=10_000)
    faceplate = station.window.open_faceplate("Tank.Temp")
    section = faceplate.write
    dialog = ask(section, qtbot, "75")
    assert dialog.fields.double
    dialog.reason.setText("cooling tuned")
    dialog.fields.password.setText(PASSWORDS["eve"])
    assert not dialog.ok_button.isEnabled()  # the second signer is missing
    dialog.fields.second_user.setText("olga")  # an operator: below eve
    dialog.fields.second_password.setText(PASSWORDS["olga"])
    with qtbot.waitSignal(section.write_finished, timeout=10_000):
        dialog.ok_button.click()
    assert section.result_label.text() == ("denied: the second signer needs a role of at "
                                           "least engineer (olga is operator)")
    dialog = ask(section, qtbot, "75")
    dialog.fields.password.setText(PASSWORDS["eve"])
    dialog.fields.second_user.setText("ann")
    dialog.fields.second_password.setText(PASSWORDS["ann"])
    with qtbot.waitSignal(section.write_finished, timeout=10_000):
        dialog.ok_button.click()
    assert section.result_label.text().startswith("confirmed: Tank.Temp reads back 75")
    [requested] = [e for e in station.context.commands.security.audit.query(action="write")
                   if e.result == "requested"]
    assert requested.details["signature"]["signers"] == [
        {"user": "eve", "role": "engineer", "meaning": "performed"},
        {"user": "ann", "role": "admin", "meaning": "approved"}]
    faceplate.close()


def test_cancelling_the_signature_writes_nothing(make_station, qtbot) -> None:
    station = make_station(SIGNED_PROJECT)
    faceplate = station.window.open_faceplate(SETPOINT)
    dialog = ask(faceplate.write, qtbot, "30")
    dialog.fields.password.setText(PASSWORDS["olga"])
    dialog.reject()
    qtbot.waitUntil(lambda: faceplate.write.sign_dialog is None, timeout=2000)
    assert faceplate.write.result_label.text() == "write cancelled"
    assert station.context.commands.security.audit.query(action="write") == []
    faceplate.close()


def test_signed_acknowledge_from_the_faceplate_and_the_banner(make_station, qtbot) -> None:
    station = make_station(with_security("[security.signatures]\nack = true"))
    qtbot.waitUntil(lambda: alarm_row(station) is not None, timeout=10_000)
    faceplate = station.window.open_faceplate("Tank.Temp")
    section = faceplate.findChild(AlarmSection)
    section.ack(TEMP_ALARM)
    dialog = section.sign_dialog
    assert isinstance(dialog, SignatureDialog)
    assert dialog.isVisible()
    dialog.reason.setText("temperature seen, cooling on")
    dialog.fields.password.setText(PASSWORDS["olga"])
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: alarm_row(station)["acked"], timeout=10_000)
    security = station.context.commands.security
    [requested] = [e for e in security.audit.query(action="ack") if e.result == "requested"]
    assert requested.details["signature"] == {
        "reason": "temperature seen, cooling on",
        "signers": [{"user": "olga", "role": "operator", "meaning": "performed"}]}
    faceplate.close()
    # the banner's F8 asks too; cancelled, nothing is sent
    station.window.header.banner.select(TEMP_ALARM)
    station.window.ack_selected()
    banner_dialog = station.window.findChild(SignatureDialog)
    assert banner_dialog is not None
    assert banner_dialog.isVisible()
    banner_dialog.reject()
    qtbot.waitUntil(lambda: station.window._ack_dialog is None, timeout=2000)
    assert len(security.audit.query(action="ack")) == 2  # requested + outcome, nothing new
