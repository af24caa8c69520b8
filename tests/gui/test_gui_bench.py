"""The GUI bench runs end to end on a small project (the figures are for `hmi bench`, not
asserted here), and its 10,000-tag project is a valid project."""

from __future__ import annotations

from pathlib import Path

from hmi.bench import gui
from hmi.displays import build_plant
from hmi.project import load_project


def test_bench_project_is_10k_tags_in_10_lines(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(gui.project_text(), encoding="utf-8")
    project = load_project(path)
    assert len(project.model.tags) == 10_000  # the file's own; the loader adds $station tags
    plant = build_plant(project)
    assert len(plant.lines) == 10
    assert len(plant.units) == 100


def test_bench_load_measures_busy_share_and_flush_time(tmp_path: Path, qapp) -> None:
    results = gui.load(1.5, tmp_path, gui.project_text(2, 2, 5), warmup_s=1.0)
    by_name = {r.name: r for r in results}
    busy = by_name["GUI thread busy, 10k tags/s (share of a core)"]
    assert 0 < busy.value < 100
    assert by_name["bridge flush time p95, 10k tags/s"].value >= 0
    assert callable(gui.alarm_flood)  # the alarm summary's flood figures, same area
