"""Production commands from another process (the CLI) and how they reach the MES thread.

The same choice as `alarms.commands`: one writer of production state at a time. While a station
runs, its `MesService` owns the context; `hmi context set` then inserts a row into
`mes_commands` (in `mes.db`), which the service applies within a cycle (~0.25 s; rows older
than 30 s are dropped, never applied late) through the same `apply()` the in-process command
layer uses, and answers with a one-line result. With no fresh heartbeat (no station), the CLI
builds a `MesCore` on the same file, applies the command itself and commits: the context and
its events are written in one transaction either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

from hmi.mes.core import MesCommandError, MesCore
from hmi.mes.store import MesStore

ALIVE_S = 5.0  # a heartbeat younger than this means a station is running
COMMAND_TTL_S = 30.0
ACTIONS = ("set_context", "start_work_order", "complete_work_order", "downtime_reason",
           "quarantine_retry", "drain")


def service_running(store: MesStore, now: float | None = None) -> bool:
    beat = store.heartbeat()
    now = time.time() if now is None else now
    return beat is not None and now - beat[0] < ALIVE_S


def apply(core: MesCore, action: str, args: dict[str, Any], user: str,
          wake: Callable[[], None] | None = None) -> str:
    """Carry out one command; returns what happened (one line). Raises MesCommandError."""
    if action == "set_context":
        fields = {k: args.get(k) for k in ("work_order", "product", "lot", "operator")}
        return core.set_context(args.get("line"), fields, user)
    if action == "start_work_order":
        if not args.get("work_order"):
            raise MesCommandError("a work order needs a name")
        return core.set_context(args.get("line"), {
            "work_order": args["work_order"], "product": args.get("product"),
            "lot": args.get("lot")}, user)
    if action == "complete_work_order":
        tracker = core.line(args.get("line"))
        if not tracker.context["work_order"]:
            raise MesCommandError(f"{tracker.name} has no work order to complete")
        return core.set_context(tracker.name, {"work_order": ""}, user)
    if action == "downtime_reason":
        return core.set_downtime_reason(str(args.get("downtime", "")), str(args.get("code", "")),
                                        user, str(args.get("comment", "")))
    if action == "quarantine_retry":
        count = core.outbox.retry(args.get("seqs") or None)
        core.recount()
        if wake is not None:
            wake()
        return f"{count} event(s) back in the outbox"
    if action == "drain":
        if wake is not None:
            wake()
        return "delivering now"
    raise MesCommandError(f"unknown action {action!r}")


def run_pending(core: MesCore, wake: Callable[[], None] | None = None,
                skip: Collection[int] = ()) -> list[tuple[int, str, str]]:
    """Apply every queued command (service side). Returns the answers (id, status, result),
    to be recorded with `finish()` only after the cycle's commit made the changes durable.
    `skip`: commands applied already whose answers wait for the disk (never applied twice)."""
    answers = []
    for cmd in core.store.pending_commands():
        if cmd["id"] in skip:
            continue
        if time.time() - cmd["ts"] > COMMAND_TTL_S:
            answers.append((cmd["id"], "expired", "not applied: too old"))
            continue
        try:
            answers.append((cmd["id"], "done",
                            apply(core, cmd["action"], cmd["args"], cmd["user"], wake)))
        except MesCommandError as exc:
            answers.append((cmd["id"], "refused", str(exc)))
    return answers


def finish(store: MesStore, answers: list[tuple[int, str, str]]) -> None:
    for command_id, status, result in answers:
        store.finish_command(command_id, status, result, time.time())


def submit_and_wait(store: MesStore, action: str, args: dict[str, Any], user: str,
                    timeout_s: float = 5.0) -> tuple[str, str]:
    """Queue a command for the running station and wait for its answer (CLI side)."""
    command_id = store.submit_command(time.time(), action, args, user)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = store.command_status(command_id)
        if answer is not None and answer[0] != "pending":
            return answer
        time.sleep(0.05)  # polling another process's row: there is no event to wait on
    return "timeout", (f"the running station did not answer within {timeout_s:g} s "
                       f"(command #{command_id} stays queued for {COMMAND_TTL_S:g} s)")
