"""Generated displays: every project gets L1-L3 from its asset tree and tags (no drawing), the
demo reads as a bottling line, and `[[displays]]` hints are validated with file:line errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hmi.cli.main import main
from hmi.displays import build_plant, words
from hmi.project import ProjectInvalid, load_project

ROOT = Path(__file__).resolve().parents[2]

PLAIN = """\
[project]
name = "Two lines"
asset = "Acme/Site/Bottling"

[[devices]]
name = "d"
protocol = "sim"

[[tags]]
name = "L1.Mixer.Running"
device = "d"
type = "bool"
asset = "Line1/Mixer"

[[tags]]
name = "L1.Mixer.Fault"
device = "d"
type = "bool"
asset = "Line1/Mixer"

[[tags]]
name = "L1.Mixer.Temp"
device = "d"
type = "float32"
unit = "°C"
min = 0
max = 90
asset = "Line1/Mixer"

[[tags]]
name = "L1.Mixer.TempSP"
device = "d"
type = "float32"
writable = true
min = 0
max = 90
asset = "Line1/Mixer"

[[tags]]
name = "L1.Output"
device = "d"
type = "uint32"
unit = "bottles"
asset = "Line1"

[[tags]]
name = "L2.Oven.Temp"
device = "d"
type = "float32"
min = 0
max = 300
asset = "Line2/Oven"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_new_project_gets_areas_lines_and_units_without_drawing(tmp_path: Path) -> None:
    plant = build_plant(load_project(write(tmp_path, PLAIN)))
    assert [a.path for a in plant.areas] == ["Acme/Site/Bottling"]
    assert [n.title for n in plant.lines] == ["Line1", "Line2"]
    assert [n.path for n in plant.units] == ["Acme/Site/Bottling/Line1/Mixer",
                                             "Acme/Site/Bottling/Line2/Oven"]
    mixer = plant.find("Line1/Mixer", "unit")
    assert mixer is not None
    kinds = {i.tag: (i.kind, i.group) for i in mixer.items}
    assert kinds["L1.Mixer.Running"] == ("motor", "Equipment")
    assert "L1.Mixer.Fault" not in kinds  # folded into the motor symbol
    assert kinds["L1.Mixer.Temp"] == ("analog", "Process")
    assert kinds["L1.Mixer.TempSP"] == ("value", "Setpoints")
    motor = next(i for i in mixer.items if i.kind == "motor")
    assert motor.fault == "L1.Mixer.Fault"
    assert motor.label == "Mixer"
    line1 = plant.find("Line1", "line")
    assert [i.tag for i in line1.items] == ["L1.Output"]
    assert line1.items[0].kind == "counter"
    assert plant.find("Nowhere") is None


def test_the_demo_is_a_bottling_line(tmp_path: Path) -> None:
    plant = build_plant(load_project(ROOT / "resources" / "demo" / "project.toml"))
    line = plant.lines[0]
    assert line.title == "Bottling line 1"
    assert (line.rate, line.good, line.reject) == (
        "Line1.Packer.Speed", "Line1.Filler.GoodCount", "Line1.Filler.RejectCount")
    assert [u.title for u in line.children] == ["Filler", "Packer"]
    filler, packer = line.children
    motors = [i for u in (filler, packer) for i in u.items if i.kind == "motor"]
    assert [m.tag for m in motors] == ["Line1.Filler.Running", "Line1.Packer.Running"]
    analog = {i.tag: i for i in filler.items if i.kind == "analog"}
    assert {"Line1.Filler.Level", "Line1.Filler.InletFlow", "Line1.Filler.OutletFlow",
            "Line1.Filler.ProductTemp", "Line1.Filler.Pressure"} <= set(analog)
    assert analog["Line1.Filler.Level"].setpoint == "Line1.Filler.LevelSetpoint"
    assert analog["Line1.Filler.Level"].label == "Tank level"
    counters = [i.tag for i in filler.items if i.kind == "counter"]
    assert counters == ["Line1.Filler.GoodCount", "Line1.Filler.RejectCount"]


def test_layout_hints_are_validated_with_file_and_line(tmp_path: Path) -> None:
    text = PLAIN + textwrap.dedent("""\

        [[displays]]
        asset = "Line1/Mixer"
        title = "Mixer"
        rate = "L1.Nope"

        [[displays.items]]
        tag = "L1.Mixer.Temp"
        widget = "gauge"

        [[displays.items]]
        tag = "L1.Ghost"

        [[displays]]
        asset = "Line9"
        """)
    path = write(tmp_path, text)
    with pytest.raises(ProjectInvalid) as info:
        load_project(path)
    lines = text.splitlines()

    def line_of(text_line: str) -> int:
        return lines.index(text_line) + 1

    errors = [str(e) for e in info.value.errors]
    gauge = line_of('widget = "gauge"')
    assert any(e.startswith(f"{path}:{gauge}: displays.#1.items.#1.widget: Input should be")
               for e in errors), errors
    text = text.replace('widget = "gauge"', 'widget = "analog"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProjectInvalid) as info:
        load_project(path)
    errors = [str(e) for e in info.value.errors]
    assert errors == sorted(errors, key=lambda e: int(e.split(":")[1]))
    rate, ghost = line_of('rate = "L1.Nope"'), line_of('tag = "L1.Ghost"')
    assert f"{path}:{rate}: displays.#1.rate: unknown tag 'L1.Nope'" in errors
    assert f"{path}:{ghost}: displays.#1.items.#2.tag: unknown tag 'L1.Ghost'" in errors
    assert any("displays.#2.asset: unknown asset 'Line9'" in e for e in errors)


def test_hints_place_label_hide_and_order(tmp_path: Path) -> None:
    text = PLAIN + textwrap.dedent("""\

        [[displays]]
        asset = "Line2"
        order = 1

        [[displays]]
        asset = "Line1"
        title = "Filling"
        order = 2
        rate = "L1.Mixer.Temp"
        hide = ["L1.Output"]

        [[displays]]
        asset = "Line1/Mixer"
        [[displays.items]]
        tag = "L1.Mixer.Temp"
        label = "Batch temperature"
        setpoint = "L1.Mixer.TempSP"
        """)
    plant = build_plant(load_project(write(tmp_path, text)))
    assert [n.title for n in plant.lines] == ["Line2", "Filling"]
    filling = plant.find("Filling", "line")
    assert filling.rate == "L1.Mixer.Temp"
    assert filling.items == []  # L1.Output hidden
    mixer = filling.children[0]
    temp = next(i for i in mixer.items if i.tag == "L1.Mixer.Temp")
    assert (temp.label, temp.setpoint, temp.kind) == ("Batch temperature", "L1.Mixer.TempSP",
                                                      "analog")
    assert any(i.tag == "L1.Mixer.TempSP" for i in mixer.items)  # the marker's tag stays


def test_a_project_without_assets_gets_one_line(tmp_path: Path) -> None:
    text = '[project]\nname = "Bare"\n[[devices]]\nname = "d"\nprotocol = "sim"\n' \
           '[[tags]]\nname = "X"\ndevice = "d"\ntype = "float32"\nmin = 0\nmax = 1\n'
    plant = build_plant(load_project(write(tmp_path, text)))
    assert [n.title for n in plant.lines] == ["Bare"]
    assert [i.tag for i in plant.lines[0].items] == ["X"]


def test_words_turns_names_into_labels() -> None:
    assert words("Line1.Filler.InletFlow") == "Inlet flow"
    assert words("motor_temp") == "Motor temp"


def test_hmi_check_reports_display_errors(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, PLAIN + '\n[[displays]]\nasset = "Line1"\ngood = "Missing"\n')
    assert main(["check", str(path)]) == 2
    assert "displays.#1.good: unknown tag 'Missing'" in capsys.readouterr().err
