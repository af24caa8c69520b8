"""Operator commands from another process (the CLI) and how they reach the alarm manager.

The choice: there is exactly one writer of alarm state at a time. While a station runs, its
`AlarmService` owns the states; the CLI then only inserts a row into `alarm_commands`, which
the service picks up within its cycle (~0.25 s; rows older than 30 s are dropped, never applied
late), applies through the same `AlarmManager`
methods (so permissions, validation and journaling are identical) and marks done or refused
with a one-line result the CLI prints. The service proves it is alive by a heartbeat row it
rewrites every second; with no fresh heartbeat (no station running), the CLI builds an
`AlarmManager` from the project and the persisted states, applies the command itself, and
flushes the journal. Either way the change is journaled once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from alarms.engine import AlarmManager
from alarms.journal import Journal
from alarms.permissions import AlarmCommandError

HEARTBEAT_S = 1.0  # how often the service rewrites its heartbeat
ALIVE_S = 5.0  # a heartbeat younger than this means a service is running
COMMAND_TTL_S = 30.0  # a queued command older than this is dropped, not applied late


def service_running(journal: Journal, now: float | None = None) -> bool:
    beat = journal.heartbeat()
    now = time.time() if now is None else now
    return beat is not None and now - beat[0] < ALIVE_S


def apply(manager: AlarmManager, action: str, alarm: str | None, args: dict[str, Any],
          user: str, role: str | None) -> str:
    """Carry out one command; returns what happened (one line). Raises AlarmCommandError."""
    if action == "ack":
        done = manager.ack(alarm, user=user, comment=args.get("comment", ""),
                           area=args.get("area"), role=role)
        if alarm is not None and not done:
            return f"{alarm} needs no acknowledgement ({manager.state(alarm).label})"
        return f"acknowledged {len(done)} alarm(s)" + (f": {', '.join(done)}" if done else "")
    if alarm is None:
        raise AlarmCommandError(f"{action} needs an alarm name")
    if action == "shelve":
        until = manager.shelve(alarm, args.get("minutes"), args.get("reason", ""), user, role)
        if until is None:
            return f"{alarm} shelved until it returns to normal"
        return f"{alarm} shelved for {args['minutes']:g} min"
    if action == "unshelve":
        manager.unshelve(alarm, user=user, comment=args.get("comment", ""), role=role)
        return f"{alarm} unshelved"
    if action == "reset":
        manager.reset(alarm, user=user, comment=args.get("comment", ""), role=role)
        return f"{alarm} reset"
    if action in ("oos", "in_service"):
        manager.set_out_of_service(alarm, action == "oos", user=user,
                                   reason=args.get("reason", ""), role=role)
        return f"{alarm} {'out of service' if action == 'oos' else 'back in service'}"
    if action == "comment":
        manager.comment(alarm, args.get("text", ""), user=user, role=role)
        return f"comment added to {alarm}"
    raise AlarmCommandError(f"unknown action {action!r}")


def run_pending(manager: AlarmManager, journal: Journal,
                clock: Callable[[], float] = time.time) -> int:
    """Apply every queued command (service side). Returns how many were handled."""
    handled = 0
    for cmd in journal.pending_commands():
        if time.time() - cmd["ts"] > COMMAND_TTL_S:
            # e.g. queued just before the station died: an ack applied minutes later, after a
            # restart, would acknowledge something the operator never saw
            journal.finish_command(cmd["id"], "expired", "not applied: too old", clock())
            handled += 1
            continue
        try:
            result = apply(manager, cmd["action"], cmd["alarm"], cmd["args"], cmd["user"],
                           cmd["role"])
            status = "done"
        except AlarmCommandError as exc:
            result, status = str(exc), "refused"
        journal.finish_command(cmd["id"], status, result, clock())
        handled += 1
    return handled


def submit_and_wait(journal: Journal, action: str, alarm: str | None, args: dict[str, Any],
                    user: str, role: str | None, timeout_s: float = 5.0) -> tuple[str, str]:
    """Queue a command for the running service and wait for its answer (CLI side).
    Returns (status, result); status "timeout" if the service did not answer in time."""
    command_id = journal.submit_command(time.time(), action, alarm, args, user, role)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = journal.command_status(command_id)
        if answer is not None and answer[0] != "pending":
            return answer
        time.sleep(0.05)  # polling another process's row: there is no event to wait on
    return "timeout", f"the running station did not answer within {timeout_s:g} s " \
                      f"(command #{command_id} stays queued)"
