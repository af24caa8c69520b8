"""The alarm table model turns one flush into a handful of signals, and keeps the selection."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QTableView

from widgets.alarm_filter import AlarmFilter, areas_with_parents
from widgets.alarm_table import COLUMN, AlarmTableModel, blocks, format_value

PRIORITIES = ("urgent", "high", "medium", "low")


def row(i: int, state: str = "B", value: float = 60.0, raised: float | None = None) -> dict:
    return {"name": f"A{i:03d}", "tag": f"T{i:03d}", "state": state, "state_name": state,
            "priority": PRIORITIES[i % 4], "message": f"alarm {i}", "value": value,
            "limit": 50.0, "raised_ts": raised if raised is not None else 1000.0 + i,
            "area": f"Plant/Area{i % 3}", "first_out": False}


class Recorder:
    def __init__(self, model: AlarmTableModel) -> None:
        self.events: list[tuple] = []
        model.dataChanged.connect(self.on_data)
        model.layoutChanged.connect(self.on_layout)
        model.rowsInserted.connect(self.on_inserted)
        model.rowsRemoved.connect(self.on_removed)

    def on_data(self, first, last, _roles=()) -> None:
        self.events.append(("data", first.row(), last.row()))

    def on_layout(self, *_args) -> None:
        self.events.append(("layout",))

    def on_inserted(self, _parent, first: int, last: int) -> None:
        self.events.append(("inserted", first, last))

    def on_removed(self, _parent, first: int, last: int) -> None:
        self.events.append(("removed", first, last))


def test_blocks_group_adjacent_rows() -> None:
    assert blocks([7, 2, 3, 4, 9, 10]) == [(2, 4), (7, 7), (9, 10)]
    assert blocks([]) == []


def test_one_data_changed_per_block_of_adjacent_rows(qapp) -> None:
    model = AlarmTableModel()
    model.sort(COLUMN["name"], Qt.SortOrder.AscendingOrder)
    model.set_rows([row(i) for i in range(20)])
    recorder = Recorder(model)
    # value changes do not move rows when sorted by name: rows 2-4 and 7 -> two signals
    model.apply([row(i, value=70.0) for i in (2, 3, 4, 7)])
    assert recorder.events == [("data", 2, 4), ("data", 7, 7)]


def test_a_flush_that_reorders_is_one_layout_change_and_no_per_row_signal(qapp) -> None:
    model = AlarmTableModel()  # default sort: priority, unacknowledged first, newest first
    model.set_rows([row(i) for i in range(40)])
    recorder = Recorder(model)
    burst = [row(i, state="C") for i in range(0, 40, 2)] + [row(i) for i in range(40, 50)]
    model.apply(burst)
    assert recorder.events == [("inserted", 40, 49), ("layout",)]
    names = model.names()
    assert names == sorted(names, key=lambda n: (
        PRIORITIES.index(model.row(model.position(n))["priority"]),
        {"B": 0, "C": 2}[model.row(model.position(n))["state"]],
        -model.row(model.position(n))["raised_ts"], n))


def test_cleared_rows_leave_in_blocks_and_selection_follows_its_alarm(qtbot) -> None:
    model = AlarmTableModel()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    model.set_rows([row(i) for i in range(30)])
    keep = model.names()[20]
    view.selectionModel().select(model.index(20, 0), QItemSelectionModel.SelectionFlag.Select
                                 | QItemSelectionModel.SelectionFlag.Rows)
    recorder = Recorder(model)
    gone = model.names()[0:3] + model.names()[10:12]
    by_name = {r["name"]: r for r in (row(i) for i in range(30))}
    model.apply([{**by_name[n], "state": "A"} for n in gone]
                + [row(i, raised=9999.0 + i) for i in (30, 31)])
    assert recorder.events[:2] == [("removed", 10, 11), ("removed", 0, 2)]
    assert ("layout",) in recorder.events
    selected = [model.row(i.row())["name"] for i in view.selectionModel().selectedRows(0)]
    assert selected == [keep]
    assert not set(gone) & set(model.names())


def test_frozen_rows_stay_put_and_new_ones_go_to_the_bottom(qapp) -> None:
    model = AlarmTableModel()
    model.set_rows([row(i) for i in range(10)])
    before = model.names()
    model.set_frozen(True)
    recorder = Recorder(model)
    cleared = before[3]
    model.apply([{**model.row(3), "state": "A"}, row(50, raised=5000.0),
                 {**model.row(7), "state": "C"}])
    assert model.names() == [*before, "A050"]  # nothing moved, the cleared row stays
    assert model.row(3)["state"] == "A"
    assert recorder.events == [("inserted", 10, 10), ("data", 3, 3), ("data", 7, 7)]
    model.set_frozen(False)
    assert cleared not in model.names()
    assert model.names()[:3] == ["A008", "A004", "A000"]  # urgent, newest first
    assert model.names().index("A050") == model.names().index("A006") - 1  # newest medium


def test_filter_and_views(qapp) -> None:
    model = AlarmTableModel()
    rows = [row(i) for i in range(8)] + [row(8, state="F"), row(9, state="H"),
                                         row(10, state="G")]
    model.set_rows(rows)
    assert model.rowCount() == 8
    assert model.counts() == {"standing": 8, "shelved": 1, "suppressed": 1, "oos": 1}
    model.set_filter(AlarmFilter(priorities=frozenset({"urgent"})))
    assert model.names() == ["A004", "A000"]
    model.set_filter(AlarmFilter(area="Plant/Area1"))
    assert sorted(model.names()) == ["A001", "A004", "A007"]
    model.set_filter(AlarmFilter(text="ALARM 7"))
    assert model.names() == ["A007"]
    model.set_filter(AlarmFilter(view="shelved"))
    assert model.names() == ["A008"]
    model.set_filter(AlarmFilter(view="oos"))
    assert model.names() == ["A009"]


def test_values_show_units_and_decimals() -> None:
    assert format_value(95.04, "%", 1) == "95.0 %"
    assert format_value(True, "", None) == "on"
    assert format_value(7, "rpm", 0) == "7 rpm"
    assert format_value(None, "%", 1) == ""


def test_areas_to_filter_by() -> None:
    areas = {"Acme/P/Line1/Filler", "Acme/P/Line1/Packer", "$station/security"}
    assert areas_with_parents(areas, "Acme/P/Line1") == [
        "$station/security", "Acme/P/Line1", "Acme/P/Line1/Filler", "Acme/P/Line1/Packer"]
    assert areas_with_parents({"A/B/C", "A/B/D"}) == ["A/B", "A/B/C", "A/B/D"]
    assert areas_with_parents(set()) == []
