"""Predefined trend groups in the project file (`[[trend_groups]]`).

```toml
[[trend_groups]]
name = "Filler"                      # unique; what the trend screen's group list shows
pens = ["Line1.Filler.Level",
        { tag = "Line1.Filler.InletFlow", colour = "#2E7D6B", min = 0, max = 200 }]
range = "shift"                      # -1h, -30m, -2d, hour, shift, last_shift, day, week, FROM..TO
axes = "separate"                    # one axis per unit, or "shared" (one axis for all)
description = "Tank level and flows"
```

Pen tables take `tag`, `colour`, `visible`, and `min`/`max` (the pen's axis scale). The same
model validates the groups users save (`hmi.trends.groups`). Shapes are checked here (pydantic);
whether a pen names a known, numeric tag, and that its colour is not one an operator could take
for an alarm's (`alarms.colours`, ISA-101), is checked with the rest of the project by
`cross_check`, called from `hmi.project`. The colour is checked there and not in the model so
that a user's saved file with such a colour is not refused as a whole (the trend draws that pen
in a palette colour instead, `widgets.trend_plot`). Qt-free.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alarms.colours import alarm_likeness
from hmi.trends.ranges import RangeError, parse_range

MAX_PENS = 8
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class TrendPenConfig(BaseModel):
    """One pen written as a table; a bare string is the same with defaults."""

    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1)
    colour: str | None = None  # "#RRGGBB"; default: the next free colour of the palette
    visible: bool = True
    min: float | None = None  # the pen's axis scale; default: the tag's min/max, else fitted
    max: float | None = None

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is not None and not _COLOUR.match(value):
            raise ValueError("must be a colour like \"#1F4E8C\"")
        return value

    @model_validator(mode="after")
    def _scale(self) -> TrendPenConfig:
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


class TrendGroupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    pens: list[TrendPenConfig] = Field(min_length=1)
    range: str = "-1h"
    axes: Literal["separate", "shared"] = "separate"
    description: str = ""

    @field_validator("pens", mode="before")
    @classmethod
    def _bare_tags(cls, value: object) -> object:
        """A bare string is a pen with defaults (so errors name `pens.N.tag`, one path)."""
        if isinstance(value, list):
            if len(value) > MAX_PENS:
                raise ValueError(f"a trend holds at most {MAX_PENS} pens ({len(value)} given)")
            return [{"tag": p} if isinstance(p, str) else p for p in value]
        return value

    @field_validator("range")
    @classmethod
    def _range(cls, value: str) -> str:
        try:
            parse_range(value)
        except RangeError as exc:
            raise ValueError(str(exc)) from None
        return value


def cross_check(groups: list[TrendGroupConfig], tag_types: dict[str, str | None]
                ) -> list[tuple[tuple, str]]:
    """(loc, message) for unknown, string or repeated pens, pen colours that read like an
    alarm's, and repeated group names.
    `tag_types`: tag name -> its `type` in the project (None when the driver decides)."""
    problems: list[tuple[tuple, str]] = []
    seen: dict[str, int] = {}
    for i, group in enumerate(groups):
        if group.name in seen:
            first = seen[group.name] + 1
            problems.append((("trend_groups", i, "name"),
                             f"duplicate trend group {group.name!r} (first is #{first})"))
        seen.setdefault(group.name, i)
        pens: set[str] = set()
        for j, pen in enumerate(group.pens):
            loc = ("trend_groups", i, "pens", j, "tag")
            if pen.tag not in tag_types:
                problems.append((loc, f"unknown tag {pen.tag!r}"))
            elif tag_types[pen.tag] == "string":
                problems.append((loc, f"tag {pen.tag!r} holds text; a trend plots numbers"))
            elif pen.tag in pens:
                problems.append((loc, f"tag {pen.tag!r} is already a pen of this group"))
            pens.add(pen.tag)
            why = alarm_likeness(pen.colour) if pen.colour else None
            if why:
                problems.append((("trend_groups", i, "pens", j, "colour"), why))
    return problems
