"""Layout hints for the generated operator displays (`[[displays]]` in the project file).

Why hints and not drawings: every project gets usable overview/line/unit displays generated from
its ISA-95 asset tree and its tags (`hmi.displays`); a project only writes hints where the
generated guess is not what the operators want: a title, the order of units along the line,
which tag is the line's rate, which tags form a motor symbol, a label, a tag to hide. Hints are
validated like every other table (pydantic shapes here, cross-references in `check_displays`),
so a typo is a `file:line: field: message`, not a silently empty display.

Qt-free: the project loader imports it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WidgetKind = Literal["analog", "value", "motor", "valve", "counter", "state", "hidden"]


class DisplayItem(BaseModel):
    """One tag on a display, placed and labelled by hand (`[[displays.items]]`)."""

    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1)
    widget: WidgetKind | None = None  # None: the generated guess for this tag
    label: str = ""  # default: the tag's last name part, split into words
    setpoint: str | None = None  # analog: the tag whose value is the setpoint marker
    fault: str | None = None  # motor/valve: the fault signal (shown as FAULT)
    command: str | None = None  # motor/valve: the run/open command (its faceplate writes it)
    group: str = ""  # unit display: the section it goes in (default by widget kind)


class DisplayConfig(BaseModel):
    """Hints for one asset's display (`[[displays]]`)."""

    model_config = ConfigDict(extra="forbid")

    asset: str = Field(min_length=1)  # ISA-95 path, relative to [project].asset or absolute
    title: str = ""  # default: the asset path's last part
    order: int | None = None  # position among its siblings (default: file order)
    rate: str | None = None  # line: the production rate the overview shows
    good: str | None = None  # line: the good-count tag the overview shows
    reject: str | None = None  # line: the reject-count tag the overview shows
    hide: list[str] = Field(default_factory=list)  # tags left off every generated display
    auto: bool = True  # false: show only `items`, no generated ones
    items: list[DisplayItem] = Field(default_factory=list)


def check_displays(displays: list[DisplayConfig], tag_names: set[str],
                   asset_paths: set[str], resolve: object) -> list[tuple[tuple, str]]:
    """Cross-references: every tag named exists, every asset is a known node, no asset twice.
    `resolve(path) -> full path` is the project's rule for relative paths. Returns
    (loc, message) pairs as pydantic would locate them."""
    problems: list[tuple[tuple, str]] = []
    seen: dict[str, int] = {}
    for i, display in enumerate(displays):
        full = resolve(display.asset)  # type: ignore[operator]
        if full not in asset_paths:
            known = ", ".join(sorted(p for p in asset_paths if p)[:8]) or "none"
            problems.append((("displays", i, "asset"),
                             f"unknown asset {display.asset!r} (assets: {known})"))
        if full in seen:
            problems.append((("displays", i, "asset"),
                             f"asset {display.asset!r} already has hints (display "
                             f"#{seen[full] + 1})"))
        seen.setdefault(full, i)
        for key in ("rate", "good", "reject"):
            tag = getattr(display, key)
            if tag is not None and tag not in tag_names:
                problems.append((("displays", i, key), f"unknown tag {tag!r}"))
        for tag in display.hide:
            if tag not in tag_names:
                problems.append((("displays", i, "hide"), f"unknown tag {tag!r}"))
        for j, item in enumerate(display.items):
            for key in ("tag", "setpoint", "fault", "command"):
                tag = getattr(item, key)
                if tag is not None and tag not in tag_names:
                    problems.append((("displays", i, "items", j, key), f"unknown tag {tag!r}"))
            if item.widget not in (None, "motor", "valve") and (item.fault or item.command):
                problems.append((("displays", i, "items", j, "widget"),
                                 f"fault/command need widget \"motor\" or \"valve\", found "
                                 f"{item.widget!r}"))
            if item.setpoint and item.widget not in (None, "analog"):
                problems.append((("displays", i, "items", j, "setpoint"),
                                 f"a setpoint marker needs widget \"analog\", found "
                                 f"{item.widget!r}"))
    return problems
