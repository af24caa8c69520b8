"""The station's security service: verify the trail, raise security alarms, serve CLI writes.

Constructed by the runtime before the alarm service (see `hmi.runtime.SERVICES`): it registers
the `$security.*` system alarms and the alarm permissions (users database instead of allow-all)
on the runtime, so the alarm service picks both up. `start()` probes the keyring, verifies the
audit chain and audits the project load (with the file's SHA-256); then a thread
(`hmi-security`) every 0.25 s applies writes queued by `hmi write`, locks idle GUI sessions,
and each second rewrites its heartbeat and feeds the lockout and audit alarms; the chain is
verified again every hour. A broken chain or an entry that could not be written raises the
audit alarm; a locked-out name raises the lockout alarm while the lockout stands.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import sqlite3
import threading
import time
from typing import Any

from alarms.engine import build_defs
from hmi.security import keyring_store, station_commands
from hmi.security.api import Security
from hmi.security.audit import AuditWriteError
from hmi.security.permissions import SecurityPermissions
from hmi.security.signatures import SignatureRecord
from hmi.security.system_alarms import AUDIT_TAG, LOCKOUT_TAG, SYSTEM_ALARMS
from hmi.security.users import AuthError
from hmi.tags import Quality, Sample
from hmi.writebuffer import is_disk_trouble

log = logging.getLogger(__name__)
VERIFY_EVERY_S = 3600.0
AUDIT_ALARM_HOLD_S = 60.0  # a write failure keeps the audit alarm active this long


class SecurityService:
    period_s = 0.25

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.security = Security(runtime.data_dir, runtime.project.model.security,
                                 getattr(runtime, "clock", time.time))
        if hasattr(runtime, "system_alarms"):
            runtime.system_alarms.extend(build_defs(SYSTEM_ALARMS))
        runtime.permissions = SecurityPermissions(self.security)
        self.security.on_audit_failure(self._on_audit_failure)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="hmi-security", daemon=True)
        self._started = False
        self._last_failure = 0.0
        self._sent: dict[str, bool] = {}
        self._cycle_error = ""  # the failure being repeated each cycle, said once (issue 11)
        self._next_verify = 0.0
        self._commands: Any = None
        self.keyring = keyring_store.KeyringStatus(False, "?", "not probed")

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.keyring = keyring_store.probe()
        if not self.keyring.usable:
            log.warning("security: no usable keyring (%s): secrets unavailable, the audit key "
                        "is kept in a file (%s)", self.keyring.reason,
                        self.security.audit.key_status())
        self._verify()
        path = self.runtime.project.path
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            digest = f"unreadable: {exc}"
        try:
            self.security.record("system", "project.load", str(path),
                                 {"sha256": digest, "project": self.runtime.project.name})
        except AuditWriteError:
            log.exception("security: cannot audit the project load")
        self._thread.start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._stop.set()
        self._thread.join(10.0)
        try:  # a full disk or a lock must not skip the close (issue 11)
            station_commands.clear_heartbeat(self.security.db)
        except sqlite3.DatabaseError as exc:
            log.warning("security: heartbeat not cleared at stop (%s); the CLI sees the "
                        "station as stopped %g s later", exc, station_commands.ALIVE_S)
        finally:
            self.security.close()

    def on_batch(self, batch: list[Sample]) -> None:
        """Process values are not the security layer's business."""

    # ---- status ------------------------------------------------------------------------------
    def status_summary(self) -> str:
        status = self.security.status()
        line = f"audit: {status['audit_verify']}"
        if status["audit_write_failures"]:
            line += f", {status['audit_write_failures']} write failure(s)"
        line += f"; {status['audit_key']}"
        if status["locked_out"]:
            line += f"; locked out: {', '.join(status['locked_out'])}"
        if not self.keyring.usable:
            line += f"; {self.keyring.line()}: secrets unavailable"
        return line

    def diagnostics(self) -> dict[str, Any]:
        return self.security.status()

    # ---- the thread --------------------------------------------------------------------------
    def _main(self) -> None:
        next_beat = 0.0
        while not self._stop.wait(self.period_s):
            failure: Exception | None = None
            wrote = False  # only a cycle that wrote the heartbeat proves writing works again
            try:
                now = time.monotonic()
                self._apply_commands()
                self.security.sessions.tick()
                if now >= next_beat:
                    next_beat = now + station_commands.HEARTBEAT_S
                    station_commands.beat(self.security.db, time.time())
                    wrote = True
                    self._feed_alarms()
                if now >= self._next_verify:
                    self._verify()
            except Exception as exc:  # thread boundary: log, keep serving on the next cycle
                failure = exc
                if str(exc) != self._cycle_error and not is_disk_trouble(exc):
                    log.exception("security service cycle failed")
            self._said(failure, wrote)

    def _said(self, failure: Exception | None, wrote: bool) -> None:
        """The same failure every second (a full disk refusing the heartbeat) is said once,
        without a traceback when it is the database's refusal, and its end once (issue 11)."""
        if failure is None:
            if self._cycle_error and wrote:
                log.warning("security service: cycles work again (after: %s)",
                            self._cycle_error)
                self._cycle_error = ""
            return
        if is_disk_trouble(failure) and str(failure) != self._cycle_error:
            log.error("security service: the database refuses writes (%s); retried every "
                      "cycle", failure)
        self._cycle_error = str(failure)

    def _verify(self) -> None:
        self._next_verify = time.monotonic() + VERIFY_EVERY_S
        report = self.security.audit.verify()
        if report.ok:
            log.info("audit trail: %s", report.message)
            return
        log.error("AUDIT TRAIL BROKEN: %s", "; ".join(report.problems))
        with contextlib.suppress(AuditWriteError):  # the audit alarm says enough then
            self.security.record("system", "audit.verify", "audit",
                                 {"problems": report.problems, "first_bad": report.first_bad},
                                 "failed")

    def _on_audit_failure(self, message: str) -> None:
        self._last_failure = time.monotonic()
        log.error("audit entry could not be written: %s", message)
        self._feed_alarms()

    def _feed_alarms(self) -> None:
        last = self.security.audit.last_verify
        audit_bad = (last is not None and not last.ok) or (
            self._last_failure and time.monotonic() - self._last_failure < AUDIT_ALARM_HOLD_S)
        values = {LOCKOUT_TAG: bool(self.security.users.locked_names()),
                  AUDIT_TAG: bool(audit_bad)}
        changed = [Sample(tag, value, time.time(), Quality.GOOD)
                   for tag, value in values.items() if self._sent.get(tag) != value]
        service = self._alarm_service()
        if not changed or service is None:
            return
        service.call(lambda manager: manager.on_batch(changed))
        self._sent.update((s.tag, s.value) for s in changed)

    def _alarm_service(self) -> Any | None:
        for service in getattr(self.runtime, "services", ()):
            if type(service).__name__ == "AlarmService":
                return service
        return None

    # ---- writes queued by `hmi write` --------------------------------------------------------
    def commands(self) -> Any:
        if self._commands is None:
            from hmi.commands import Commands  # the command layer imports this package

            self._commands = Commands(self.runtime, self.security)
        return self._commands

    def _apply_commands(self) -> None:
        db = self.security.db
        for cmd in station_commands.pending(db):
            if not station_commands.claim(db, cmd["id"]):
                continue
            if time.time() - cmd["ts"] > station_commands.COMMAND_TTL_S:
                station_commands.finish(db, cmd["id"], "expired", "not applied: too old")
                continue
            self._apply_write(cmd)

    def _apply_write(self, cmd: dict[str, Any]) -> None:
        db, args = self.security.db, cmd["args"]
        try:
            session = self.security.sessions.open_trusted(cmd["user"], "station",
                                                          f"cli ({args.get('auth', '?')})")
        except (AuthError, AuditWriteError) as exc:
            station_commands.finish(db, cmd["id"], "denied", str(exc))
            return
        signature = None
        if args.get("signature"):
            sig = args["signature"]
            signature = SignatureRecord(sig["reason"], tuple(
                (s["user"], s["role"], s["meaning"]) for s in sig["signers"]))
        future = self.commands().write(session.actor, args["tag"], args["value"],
                                       reason=args.get("reason", ""),
                                       timeout_s=float(args.get("timeout_s", 5.0)),
                                       signature=signature)

        def done(f: concurrent.futures.Future[Any]) -> None:
            result = f.result()
            status = result.refused or str(result.status)
            text = result.message or f"{result.tag} = {result.value!r} confirmed by read-back"
            station_commands.finish(db, cmd["id"], status, text)
            self.security.sessions.logout(session.id)

        future.add_done_callback(done)
