"""The production panel, OEE on the line screens and the MES figures in the header and
diagnostics, on a real station (sim PLC, real MES service and outbox) reporting to the real
reference MES over OPC UA on 127.0.0.1. What the operator does must arrive at the MES."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from hmi.commands import CommandDenied
from hmi.gui.mes_bridge import MesBridge
from hmi.gui.mes_status import WARN_AGE_S, describe
from hmi.simulator.serve import free_port
from tests.gui.mes_station import plc_write, project_text, stubs
from widgets.oee_figures import OeeFigures, percent

__all__ = ["stubs"]


def types_at(stub, kind: str) -> list[dict]:
    return [e for e in list(stub.events) if e["type"] == kind]


def production(station, qtbot):
    window = station.window
    window.resize(1500, 950)
    window.show()
    window.go("production")
    screen = window.screen("production")
    qtbot.waitUntil(screen.isVisible, timeout=2000)
    return screen, screen.panel("Line1")


def test_panel_actions_land_at_the_mes(make_station, stubs, qtbot) -> None:
    stub = stubs.start()
    station = make_station(project_text(stub.url))
    _screen, panel = production(station, qtbot)
    service = station.context.commands.mes_service()
    assert panel.context_labels["work_order"].text() == "-"
    assert not panel.complete_button.isEnabled()
    assert panel.complete_button.toolTip() == "not possible: no work order to complete"
    assert not panel.start_button.isEnabled()  # nothing typed yet

    # start a work order with its product and first lot
    qtbot.keyClicks(panel.wo_edit, "WO-4711")
    panel.product_combo.setCurrentIndex(panel.product_combo.findData("WATER05"))
    qtbot.keyClicks(panel.first_lot_edit, "LOT-1")
    assert panel.start_button.isEnabled()
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.context_labels["work_order"].text() == "WO-4711",
                    timeout=5000)
    assert panel.context_labels["product"].text() == "WATER05"
    assert panel.context_labels["lot"].text() == "LOT-1"
    assert panel.context_labels["operator"].text() in ("-", "olga")

    # change the lot
    qtbot.keyClicks(panel.lot_edit, "LOT-2")
    # the work order's label changes (MES bridge) a moment before the panel's command is done
    qtbot.waitUntil(panel.lot_button.isEnabled, timeout=5000)
    qtbot.mouseClick(panel.lot_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.context_labels["lot"].text() == "LOT-2", timeout=5000)

    # the line stops: after reason_required_s (1 s) the stop is flagged until it has a reason
    plc_write(station, "Filler.Running", False)
    qtbot.waitUntil(lambda: panel.flag.isVisible(), timeout=8000)
    qtbot.waitUntil(lambda: panel.selected_downtime() is not None, timeout=5000)
    downtime = panel.selected_downtime()
    assert downtime == service.snapshot()["lines"]["Line1"]["downtime"]["id"]
    assert not panel.reason_button.isEnabled()  # no reason chosen yet
    assert panel.reason_button.toolTip() == "not possible: choose a reason"
    assert "MECH.JAM" in panel.reason.codes()
    assert panel.reason.set_code("MECH.JAM")
    qtbot.keyClicks(panel.comment, "star wheel jammed")
    qtbot.mouseClick(panel.reason_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.flag.isVisible(), timeout=5000)
    assert "MECH.JAM" in panel.downtime_label.text()

    # complete the work order: asks first (open(), not exec())
    plc_write(station, "Filler.Running", True)
    qtbot.waitUntil(panel.complete_button.isEnabled, timeout=5000)
    qtbot.mouseClick(panel.complete_button, Qt.MouseButton.LeftButton)
    box = panel.confirm
    assert isinstance(box, QMessageBox)
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert "WO-4711" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: panel.context_labels["work_order"].text() == "-", timeout=5000)

    # every change reached the MES through the outbox, with the operator
    def arrived() -> bool:
        return all(types_at(stub, k) for k in ("workorder.started", "lot.changed",
                                               "downtime.reason_set", "workorder.completed"))

    qtbot.waitUntil(arrived, timeout=15000)
    started = types_at(stub, "workorder.started")[-1]
    assert started["context"]["work_order"] == "WO-4711"
    assert started["context"]["product"] == "WATER05"
    assert types_at(stub, "lot.changed")[-1]["context"]["lot"] == "LOT-2"
    reason = types_at(stub, "downtime.reason_set")[-1]
    assert reason["data"]["downtime"] == downtime
    assert reason["data"]["reason"] == "MECH.JAM"
    assert reason["data"]["user"] == "olga"
    assert reason["data"]["comment"] == "star wheel jammed"
    completed = types_at(stub, "workorder.completed")[-1]
    assert completed["context"]["work_order"] == "WO-4711"
    # audited as the CLI's context actions are
    entries = station.context.commands.security.audit.query(action="context")
    details = [e.details for e in entries if e.user == "olga" and e.result == "requested"]
    assert len(details) == 4  # start, lot, reason, complete: one "requested" entry each
    assert any("start_work_order" in str(d) for d in details)


def test_controls_are_disabled_with_the_reason_for_a_viewer(make_station, stubs, qtbot
                                                            ) -> None:
    stub = stubs.start()
    station = make_station(project_text(stub.url), actor="vera")
    _screen, panel = production(station, qtbot)
    for button in (panel.start_button, panel.complete_button, panel.lot_button,
                   panel.reason_button):
        assert not button.isEnabled()
        assert button.toolTip().startswith("not possible: ")
    why = station.context.why_not("context", "line Line1")
    assert why is not None
    assert panel.start_button.toolTip() == f"not possible: {why}"
    assert not panel.wo_edit.isEnabled()
    # and the command layer refuses the same thing (the check that counts)
    future = station.context.commands.start_work_order(station.context.actor, "WO-1")
    with pytest.raises(CommandDenied):
        future.result(5)


def test_oee_on_the_line_and_overview_matches_the_service(make_station, stubs, qtbot) -> None:
    stub = stubs.start()
    station = make_station(project_text(stub.url))
    service = station.context.commands.mes_service()
    commands, actor = station.context.commands, station.context.actor
    commands.start_work_order(actor, "WO-9", product="WATER05").result(5)
    qtbot.wait(1500)  # running, then counts
    plc_write(station, "Filler.Good", 300)
    plc_write(station, "Filler.Reject", 20)
    qtbot.wait(1200)
    plc_write(station, "Filler.Running", False)  # a planned stop: from now nothing moves
    qtbot.waitUntil(lambda: service.snapshot()["lines"]["Line1"]["downtime"] is not None,
                    timeout=5000)
    downtime = service.snapshot()["lines"]["Line1"]["downtime"]["id"]
    commands.set_downtime_reason(actor, downtime, "PLANNED.MAINT").result(5)
    window = station.window
    window.resize(1500, 950)
    window.show()
    window.go("line")
    figures = window.screen("line").findChildren(OeeFigures)
    assert len(figures) == 1
    line_oee = figures[0]
    assert line_oee.isVisible()
    window.go("overview")
    tiles = window.screen("overview").findChildren(OeeFigures)
    assert len(tiles) == 1

    def expected(window_name: str) -> dict[str, str]:
        result = service.oee("Line1", window_name).result(5)
        assert result is not None
        # the panel shows the figures the events carry (4 decimals), rounded to 0.1 %
        values = {k: getattr(result, k) for k in ("oee", "availability", "effectiveness",
                                                  "quality")}
        return {k: percent(None if v is None else round(v, 4)) for k, v in values.items()}

    def shown(widget: OeeFigures, window_name: str) -> dict[str, str]:
        return {k: widget.text(window_name, k) for k in ("oee", "availability",
                                                         "effectiveness", "quality")}

    def matches() -> bool:
        return shown(line_oee, "work_order") == expected("work_order") and \
            shown(line_oee, "hour") == expected("hour")

    qtbot.waitUntil(matches, timeout=15000)  # OEE figures are refreshed every 5 s
    assert shown(line_oee, "work_order")["quality"] == percent(300 / 320)  # GQ / PQ
    assert tiles[0].text("shift", "oee") == "-"  # no [[shifts]]: no shift window
    tip = line_oee.labels[("hour", "oee")].toolTip()
    assert "PQ (produced) 320, GQ (good) 300" in tip


def test_header_and_diagnostics_show_the_outbox(make_station, stubs, qtbot) -> None:
    port = free_port()  # the MES is down at first: events wait in the outbox
    station = make_station(project_text(f"opc.tcp://127.0.0.1:{port}"))
    window = station.window
    window.resize(1500, 950)
    window.show()
    label = window.header.mes
    assert label.isVisible()
    station.context.commands.start_work_order(station.context.actor, "WO-1").result(5)
    bridge = MesBridge.of(station.context)
    emits, t0 = bridge.emits, time.monotonic()
    qtbot.waitUntil(lambda: "pending" in label.text() and "MES: 0 pending" not in label.text(),
                    timeout=5000)
    assert "oldest" in label.text()
    assert "workorder" not in label.text()
    assert "outbox" in label.toolTip()
    window.go("diagnostics")
    diagnostics = window.screen("diagnostics")
    qtbot.waitUntil(lambda: diagnostics.mes.value("Link") == "NOT CONNECTED", timeout=5000)
    assert diagnostics.mes.value("Pending").split()[0] != "0"
    # coalesced: the MES thread reports every cycle, the GUI takes at most 10 a second
    elapsed = time.monotonic() - t0
    assert bridge.emits - emits <= elapsed * 10 + 2

    stubs.start(port=port)  # the MES comes back: the outbox drains
    qtbot.waitUntil(lambda: label.text() == "MES: 0 pending", timeout=20000)
    assert label.property("warn") is False
    qtbot.waitUntil(lambda: diagnostics.mes.value("Link") == "connected", timeout=5000)
    assert diagnostics.mes.value("Pending").startswith("0 events")
    # (the sender's count reaches the snapshot with the next refresh, within 5 s)
    qtbot.waitUntil(lambda: diagnostics.mes.value("Delivered").split()[0] != "0",
                    timeout=10000)


def test_outbox_warning_only_when_it_matters() -> None:
    calm = {"enabled": True, "depth": 3, "oldest_age_s": 2.0, "connected": True}
    text, _tip, warn = describe(calm)
    assert text == "MES: 3 pending · oldest 2 s"
    assert not warn
    stuck = {**calm, "connected": False, "oldest_age_s": WARN_AGE_S + 1,
             "last_error": "connection refused"}
    text, _tip, warn = describe(stuck)
    assert warn
    assert text.endswith("connection refused")
    assert describe({**calm, "quarantined": 1})[2]
    assert describe({**calm, "over_limit": True})[0].endswith("OVER LIMIT")
