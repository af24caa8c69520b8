"""`hmi diag`: run a project's devices for a few seconds and report how their links behave.

Why a separate command from `hmi tags`: a commissioning technician needs the link's health, not
the values: requests, errors by kind (refused, timeout, garbage, exception codes ...), reconnects,
the last error, round-trip mean/p95, and for Modbus the read plan (requests per cycle versus one
per tag). Everything printed comes from `Runtime.device_health()`, the same dict the GUI's device
screen shows, so the two never disagree. No services run (no historian rows, no alarms): a
diagnosis must not leave traces in the plant's records.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from hmi.cli.base import CliError
from hmi.paths import data_dir
from hmi.project import load_project


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the `hmi` parser."""
    p = sub.add_parser(
        "diag", help="device link diagnostics (requests, errors, round trips, read plan)",
        description="Start the project's devices, let them poll for --seconds, then print per "
                    "device: state, requests, errors by kind, reconnects, last error, round-trip "
                    "mean/p95 and the Modbus read plan. Exit 1 if a device is down at the end.")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true", help="print {device: {...}} as JSON")
    p.add_argument("--seconds", type=float, default=3.0, metavar="N",
                   help="how long to poll before reporting (default 3)")
    p.add_argument("--device", action="append", metavar="NAME",
                   help="report only this device (repeatable)")
    p.add_argument("--data", metavar="DIR", help="data directory")
    p.set_defaults(func=cmd_diag)


def collect(project_path: Path, seconds: float, data: str | None = None,
            devices: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Run the project's devices for `seconds` and return `device_health()` (JSON-ready)."""
    from hmi.runtime import Runtime

    if seconds < 0 or seconds > 3600:
        raise CliError(f"--seconds must be 0..3600, found {seconds:g}")
    project = load_project(project_path)
    known = {d.name for d in project.devices}
    unknown = sorted(set(devices or ()) - known)
    if unknown:
        raise CliError(f"unknown device {unknown[0]!r} (devices: {', '.join(sorted(known))})")
    runtime = Runtime(project, data_dir(data), services=())
    runtime.start()
    try:
        deadline = time.monotonic() + seconds
        runtime.wait_first_cycle(max(seconds, 0.1) + 5.0)
        time.sleep(max(0.0, deadline - time.monotonic()))
        health = runtime.device_health()
    finally:
        runtime.stop()
    if devices:
        health = {name: h for name, h in health.items() if name in devices}
    return {name: dict(h) for name, h in health.items()}


def _ms(value: object) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_table(health: dict[str, dict[str, Any]]) -> None:
    print(f"{'device':<14} {'protocol':<11} {'state':<11} {'requests':>8} {'errors':>6} "
          f"{'reconn':>6} {'rtt ms':>6} {'p95 ms':>6}  last error")
    for name, h in health.items():
        print(f"{name:<14} {h.get('protocol', '-'):<11} {h.get('state', '-'):<11} "
              f"{h.get('requests', 0):>8} {h.get('error_total', 0):>6} "
              f"{h.get('reconnects', 0):>6} {_ms(h.get('rtt_mean_ms')):>6} "
              f"{_ms(h.get('rtt_p95_ms')):>6}  {h.get('last_error') or ''}")
        errors = h.get("errors") or {}
        if errors:
            kinds = ", ".join(f"{k}={v}" for k, v in sorted(errors.items()))
            print(f"{'':<14} errors by kind: {kinds}")
        plan = h.get("plan")
        if isinstance(plan, dict):
            print(f"{'':<14} read plan: {plan['requests_per_cycle']} request(s) per cycle for "
                  f"{plan['tags']} tag(s) (one per tag: {plan['naive_requests_per_cycle']}), "
                  f"{plan['requests_per_s']}/s")
            for group in plan.get("groups", []):
                print(f"{'':<14}   every {group['poll_s']:g} s: {group['tags']} tags in "
                      f"{group['requests']} read(s): {' '.join(group['reads'])}")


def cmd_diag(args: argparse.Namespace) -> int:
    health = collect(args.project, args.seconds, args.data, args.device)
    if args.json:
        print(json.dumps(health, indent=2, default=str))
    else:
        print_table(health)
    return 1 if any(h.get("state") == "down" for h in health.values()) else 0
