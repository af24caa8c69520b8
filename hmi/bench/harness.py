"""`hmi bench`: every figure measured against the raw library doing the same work in the same run.

Each area has a module `hmi.bench.<area>` with `run(quick: bool) -> list[BenchResult]`. A ratio
compares our path with the raw library's (higher is better for throughput, so ratio = ours / raw;
for times, ratio = raw / ours). A module that fails reports its error and the rest still run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import platform
import sys
import time
from dataclasses import asdict, dataclass

AREAS = ("tags", "modbus", "opcua", "historian", "alarms", "trends", "mes", "gui")
log = logging.getLogger(__name__)


@dataclass
class BenchResult:
    area: str
    name: str
    value: float
    unit: str
    baseline: float | None = None  # the raw library's figure, same unit, same run
    ratio: float | None = None  # ours relative to raw, >1 is better than raw
    goal: str = ""  # e.g. ">=0.9x" or "<=60 ms"
    passed: bool | None = None
    note: str = ""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark against the raw libraries",
                       description=__doc__)
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--only", action="append", choices=AREAS, help="run only these areas")
    p.add_argument("--quick", action="store_true", help="smaller workloads (for CI smoke runs)")
    p.set_defaults(func=main)


def run_areas(areas: tuple[str, ...] | list[str], quick: bool
              ) -> tuple[list[BenchResult], list[str]]:
    results: list[BenchResult] = []
    failures: list[str] = []
    for area in areas:
        try:
            module = importlib.import_module(f"hmi.bench.{area}")
        except ModuleNotFoundError:
            continue
        try:
            results += module.run(quick)
        except Exception as exc:  # one broken area must not hide the others' figures
            log.exception("bench area %s failed", area)
            failures.append(f"{area}: {type(exc).__name__}: {exc}")
    return results, failures


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    results, failures = run_areas(args.only or AREAS, args.quick)
    if args.json:
        print(json.dumps({
            "python": platform.python_version(),
            "machine": platform.machine(),
            "seconds": round(time.perf_counter() - started, 1),
            "results": [asdict(r) for r in results],
            "failures": failures,
        }, indent=2))
    else:
        print(f"hmi bench  (python {platform.python_version()}, {platform.machine()})")
        print(f"{'area':<10} {'figure':<48} {'ours':>12} {'raw':>12} {'ratio':>7}  goal")
        for r in results:
            ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
            mark = "" if r.passed is None else ("  ok" if r.passed else "  MISSED")
            print(f"{r.area:<10} {r.name:<48} {_fmt(r.value):>12} {_fmt(r.baseline):>12} "
                  f"{ratio:>7}  {r.goal}{mark}  [{r.unit}]{'  ' + r.note if r.note else ''}")
        for failure in failures:
            print(f"FAILED {failure}", file=sys.stderr)
        print(f"({time.perf_counter() - started:.1f} s)")
    return 1 if failures else 0
