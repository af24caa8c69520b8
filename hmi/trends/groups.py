"""Trend groups: the predefined ones of the project file and the ones each user saves.

A saved group has the shape of a `[[trend_groups]]` entry (pens with colours, visibility and
axis scales; the range; shared or separate axes) and is validated by the same model, so a group
can be copied between a user's file and the project file as is. Each user's groups live in
`<data>/trend_groups/<user>.json`, written to a temporary file and renamed (a crash mid-write
never leaves half a file). A file that no longer parses is moved aside with a loud log line,
never overwritten, and the user starts with an empty list.

`tags_around` picks the pens for "trend around this alarm": the alarm's tag first, then the
other numeric tags of the same ISA-95 asset.

Qt-free. A `GroupStore` is used from the GUI thread (small files, a few ms).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hmi.trends.config import MAX_PENS, TrendGroupConfig

log = logging.getLogger(__name__)
NOBODY = "station"  # whose groups are shown while nobody is logged in
DIR_NAME = "trend_groups"


class GroupStoreError(Exception):
    """A user's groups could not be written; the message says where and why."""


def _file_name(user: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", user or NOBODY).lstrip(".") or NOBODY


class GroupStore:
    """One JSON file per user under `<data>/trend_groups/`."""

    def __init__(self, data_dir: Path | str) -> None:
        self.dir = Path(data_dir) / DIR_NAME

    def path(self, user: str | None) -> Path:
        return self.dir / f"{_file_name(user or NOBODY)}.json"

    def load(self, user: str | None) -> list[TrendGroupConfig]:
        """The user's groups in the order saved; [] if none (or the file was unreadable)."""
        path = self.path(user)
        if not path.exists():
            return []
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return [TrendGroupConfig.model_validate(g) for g in raw.get("groups", [])]
        except (OSError, ValueError, AttributeError, ValidationError) as exc:
            why = str(exc).splitlines()[0]
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            path.rename(aside)
        except OSError as exc:
            log.error("trend groups %s unreadable (%s) and cannot be moved aside: %s",  # noqa: TRY400
                      path, why, exc)
            return []
        log.error("trend groups %s unreadable (%s): moved aside to %s", path, why, aside)
        return []

    def save(self, user: str | None, group: TrendGroupConfig) -> None:
        """Add `group`, replacing one of the same name."""
        groups = self.load(user)
        names = [g.name for g in groups]
        if group.name in names:
            groups[names.index(group.name)] = group  # keeps its place in the list
        else:
            groups.append(group)
        self._write(user, groups)

    def delete(self, user: str | None, name: str) -> bool:
        groups = self.load(user)
        kept = [g for g in groups if g.name != name]
        if len(kept) == len(groups):
            return False
        self._write(user, kept)
        return True

    def _write(self, user: str | None, groups: list[TrendGroupConfig]) -> None:
        path = self.path(user)
        tmp = path.with_name(path.name + ".tmp")
        body = {"user": user or NOBODY,
                "groups": [g.model_dump(mode="json", exclude_defaults=True) for g in groups]}
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(body, indent=2), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise GroupStoreError(f"cannot save trend groups to {path}: {exc}") from None


def tags_around(project: Any, tag: str, limit: int = MAX_PENS) -> list[str]:
    """`tag`, then the other numeric, historised tags of its ISA-95 asset, up to `limit`."""
    config = project.tag(tag)
    if config is None:
        return [tag]
    asset = project.tag_asset(config)
    others = [t.name for t in project.tags
              if t.name != tag and t.type != "string" and t.history
              and project.tag_asset(t) == asset]
    return [tag, *others][:limit]
