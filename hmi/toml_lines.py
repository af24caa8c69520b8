"""Find the line of each key in a TOML file, so validation errors can say `file:line`.

`tomllib` gives values without positions. This scanner walks the text once and records the line
of every table header and `key = value`, keyed by the same path pydantic reports in an error's
`loc`, e.g. ("devices", 1, "port"). Arrays of tables get their running index. It is tolerant:
anything it cannot follow (multi-line strings, odd quoting) just has no entry, and the caller
falls back to the enclosing table's line, as Home Assistant's `find_annotation` does.
"""

from __future__ import annotations

import re

Path_ = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_PART = r"""(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")


def _split_key(key: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'""", key)
    return [p.strip("\"'") for p in parts]


def locate(text: str) -> dict[Path_, int]:
    """Map key paths to 1-based line numbers."""
    lines: dict[Path_, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    current: Path_ = ()
    in_multiline: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            names = _split_key(header.group(2))
            is_array = header.group(1) == "[["
            path: list[str | int] = []
            for depth, name in enumerate(names):
                path.append(name)
                key = tuple(str(p) for p in path)
                last = depth == len(names) - 1
                if last and is_array:
                    array_counts[key] = array_counts.get(key, -1) + 1
                    path.append(array_counts[key])
                elif key in array_counts:
                    path.append(array_counts[key])
            current = tuple(path)
            lines.setdefault(current, lineno)
            if is_array:
                lines.setdefault(current[:-1], lineno)
            continue
        key_match = _KEY.match(line)
        if key_match:
            path_ = current + tuple(_split_key(key_match.group(1)))
            lines.setdefault(path_, lineno)
            rest = line[key_match.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
    return lines


def find_line(lines: dict[Path_, int], loc: Path_) -> int | None:
    """The line of `loc`, else of its nearest located parent."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None
