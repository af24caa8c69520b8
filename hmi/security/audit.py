"""The tamper-evident audit trail: append-only, HMAC-SHA256 chained, anchored outside the DB.

Each entry's tag is `HMAC-SHA256(key, canonical(entry) || previous tag)`, where the canonical
form is the JSON array of every stored column but the tag. So:

- editing any column of a row (with sqlite3, after dropping the triggers) breaks that row's tag;
- recomputing the chain with plain SHA-256 (or any key but ours) breaks entry 1;
- deleting a row leaves a gap in `seq`; deleting the newest rows, or restoring an older copy of
  the file, disagrees with the anchor (the last seq and tag, kept beside the key);
- moving rows breaks the chain where the previous tag no longer fits.

An append-only trigger found dropped when the file is opened is re-created together with an
`audit.trigger_restored` entry (`restore_triggers`), so the drop is on record for good; every
later `verify` reports that entry as a warning (the chain itself still proves whether any
entry was altered, so a recorded restoration alone does not fail it).

`verify()` names the first bad entry. Appends run inside `BEGIN IMMEDIATE` (the newest tag is
read and the next entry written under one lock, even across processes), then the anchor moves.
If the entry cannot be written (disk full, database locked past the busy timeout, no key),
`AuditWriteError` is raised and the caller refuses the action it would have recorded.
Any thread may call; the connection is shared under `SecurityDb.lock`.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
import math
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hmi.security.audit_key import AuditKey, AuditKeyError, load_key
from hmi.security.db import SecurityDb
from hmi.tags import iso_utc

log = logging.getLogger(__name__)
GENESIS = "0" * 64
TRIGGER_RESTORED = "audit.trigger_restored"
COLUMNS = ("seq", "ts", "user", "role", "station", "action", "object", "details", "result")


class AuditWriteError(Exception):
    """The entry could not be written; the action it records must not happen."""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: float  # epoch seconds, UTC
    user: str
    role: str
    station: str
    action: str
    object: str
    details: dict[str, Any]
    result: str
    tag: str = ""
    anchored: bool = True  # the chain it extends ends at (or passes through) the anchor

    @property
    def time(self) -> str:
        return iso_utc(self.ts)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "user": self.user, "role": self.role,
                "station": self.station, "action": self.action, "object": self.object,
                "details": self.details, "result": self.result, "tag": self.tag}


@dataclass
class VerifyReport:
    """What `verify` found. `message` is the one line `hmi audit verify` prints."""

    entries: int
    problems: list[str] = field(default_factory=list)
    first_bad: int | None = None  # seq of the first altered/missing/out-of-order entry
    warnings: list[str] = field(default_factory=list)  # recorded events an auditor must see

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        if self.ok:
            more = f", {len(self.warnings)} warning(s)" if self.warnings else ""
            return f"{self.entries} entries, chain intact{more}"
        return self.problems[0]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "first_bad": self.first_bad,
                "problems": self.problems, "warnings": self.warnings, "message": self.message}


def canonical(seq: int, ts: float, user: str, role: str, station: str, action: str,
              obj: str, details: str, result: str) -> bytes:
    return json.dumps([seq, ts, user, role, station, action, obj, details, result],
                      ensure_ascii=False, separators=(",", ":")).encode()


def chain_tag(key: bytes, body: bytes, previous: str) -> str:
    return hmac.new(key, body + previous.encode(), hashlib.sha256).hexdigest()


def plain_value(value: Any) -> Any:
    """A value as an audit entry stores it: JSON scalars, NaN and inf as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def details_text(details: dict[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


class AuditTrail:
    """The trail in `security.db`. The key is loaded on first use (`key` raises
    AuditKeyError when there is none to be had)."""

    def __init__(self, db: SecurityDb, data_dir: Path, clock: Any = time.time,
                 station: str | None = None) -> None:
        self.db = db
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.station = station or socket.gethostname()
        self._key: AuditKey | None = None
        self.last_verify: VerifyReport | None = None
        self.last_verify_at: float | None = None  # wall time of that verify
        self.write_failures = 0
        self.last_error = ""
        self.anchor_mismatch = False  # an append found the database off the anchor
        # triggers restored at open without an entry (the trail was off its anchor already,
        # which verify reports for good): this process's verify names them
        self.unrecorded_triggers: list[str] = []

    # ---- key ---------------------------------------------------------------------------------
    @property
    def key(self) -> AuditKey:
        if self._key is None:
            has_entries = bool(self.db.select("SELECT 1 FROM audit LIMIT 1"))
            self._key = load_key(self.data_dir, has_entries)
        return self._key

    def key_status(self) -> str:
        try:
            return self.key.status()
        except AuditKeyError as exc:
            return f"NO AUDIT KEY: {exc}"

    # ---- writing -----------------------------------------------------------------------------
    def append(self, user: str, role: str, action: str, obj: str = "",
               details: dict[str, Any] | None = None, result: str = "ok",
               conn: sqlite3.Connection | None = None) -> AuditEntry:
        """Write one entry (inside `conn`'s open transaction if given, else its own) and
        advance the anchor. Raises AuditWriteError; the caller then refuses the action."""
        try:
            key = self.key.key
            if conn is not None:
                entry = self._insert(conn, key, user, role, action, obj, details or {}, result)
            else:
                with self.db.transaction() as tx:
                    entry = self._insert(tx, key, user, role, action, obj, details or {},
                                         result)
                self.advance_anchor(entry)
                return entry
        except (sqlite3.Error, AuditKeyError, OSError) as exc:
            self.write_failures += 1
            self.last_error = str(exc) or type(exc).__name__
            raise AuditWriteError(f"the audit trail cannot be written ({self.last_error})"
                                  ) from None
        return entry

    def advance_anchor(self, entry: AuditEntry) -> None:
        """Move the anchor after the entry's transaction committed, but only along the chain
        it anchors: if the database no longer holds the anchored entry (newest rows deleted,
        an older copy restored), the anchor stays where it is, so `verify` keeps reporting it
        instead of the next append erasing the evidence."""
        if not entry.anchored:
            self.anchor_mismatch = True
            return
        try:
            self.key.write_anchor(entry.seq, entry.tag)
        except (OSError, AuditKeyError) as exc:
            self.write_failures += 1
            self.last_error = f"anchor: {exc}"

    def _insert(self, conn: sqlite3.Connection, key: bytes, user: str, role: str, action: str,
                obj: str, details: dict[str, Any], result: str) -> AuditEntry:
        last = conn.execute("SELECT seq, tag FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
        ts = float(self.clock())
        text = details_text(details)
        body = canonical(seq, ts, user, role, self.station, action, obj, text, result)
        tag = chain_tag(key, body, previous)
        conn.execute("INSERT INTO audit (seq, ts, user, role, station, action, object, details,"
                     " result, tag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (seq, ts, user, role, self.station, action, obj, text, result, tag))
        return AuditEntry(seq, ts, user, role, self.station, action, obj, json.loads(text),
                          result, tag, self._on_anchor(conn, seq))

    def _on_anchor(self, conn: sqlite3.Connection, seq: int) -> bool:
        """Whether the entry `seq` extends the anchored chain (see `advance_anchor`)."""
        try:
            anchor = self.key.read_anchor()
        except AuditKeyError:
            return False
        if anchor is None:
            return seq == 1
        if anchor[0] >= seq:
            return False
        row = conn.execute("SELECT tag FROM audit WHERE seq = ?", (anchor[0],)).fetchone()
        return row is not None and hmac.compare_digest(row[0], anchor[1])

    def restore_triggers(self) -> AuditEntry | None:
        """Put back the append-only triggers found missing when the file was opened, in one
        transaction with an `audit.trigger_restored` entry, and log one warning. Returns the
        entry (None when nothing was missing or another process restored them first).

        When the entry cannot be written (no key, database locked) the triggers stay missing,
        so the next open tries again and `verify` keeps reporting them. When the trail is off
        its anchor already (newest rows deleted, an older copy restored), they are restored
        without an entry: an entry there would move the end of the chain and blur the
        truncation `verify` reports exactly; that report is permanent evidence anyway."""
        if not self.db.missing_triggers:
            return None
        entry, problem, restored = None, "", []
        try:
            key = self.key.key
            with self.db.transaction() as tx:
                restored = self.db.create_triggers(tx)
                last = tx.execute("SELECT max(seq) FROM audit").fetchone()[0] or 0
                if restored and self._on_anchor(tx, last + 1):
                    entry = self._insert(tx, key, "system", "", TRIGGER_RESTORED, "security.db",
                                         {"triggers": restored},
                                         f"restored: {', '.join(restored)}")
        except (sqlite3.Error, AuditKeyError, OSError) as exc:
            problem = str(exc) or type(exc).__name__
        if not problem and entry is None:
            self.unrecorded_triggers = restored
        if problem:  # an expected condition (no key, locked database): one line, no traceback
            log.error("audit: append-only trigger(s) %s missing from %s and not restored "
                      "(the restoration could not be audited: %s)",
                      ", ".join(self.db.missing_triggers), self.db.path, problem)
        elif entry is not None:
            self.advance_anchor(entry)
            log.warning("audit: append-only trigger(s) %s had been dropped from %s: restored, "
                        "recorded as audit entry %d", ", ".join(entry.details["triggers"]),
                        self.db.path, entry.seq)
        elif self.unrecorded_triggers:
            log.warning("audit: append-only trigger(s) %s had been dropped from %s: restored "
                        "(not recorded: the trail is off its anchor, see hmi audit verify)",
                        ", ".join(self.unrecorded_triggers), self.db.path)
        return entry

    # ---- verifying ---------------------------------------------------------------------------
    def verify(self) -> VerifyReport:
        """Walk the whole chain and compare its end with the anchor. Never raises."""
        report = self._verify()
        self.last_verify, self.last_verify_at = report, time.time()
        return report

    def _verify(self) -> VerifyReport:
        count = self.db.select("SELECT count(*) FROM audit")[0][0]
        report = VerifyReport(count)
        try:
            key = self.key
            anchor = key.read_anchor()
        except AuditKeyError as exc:
            report.problems += [str(exc), *self._trigger_problems()]
            return report
        previous, expected, last_tag = GENESIS, 1, GENESIS
        tags: dict[int, str] = {}
        for row in self._rows():
            seq, tag = row[0], row[9]
            if seq != expected and report.first_bad is None:
                what = (f"entry {expected} missing" if seq > expected
                        else f"entry {seq} out of order")
                span = f" (entries {expected}..{seq - 1} missing)" if seq > expected + 1 else ""
                report.problems.append(f"{what}{span}: the chain jumps from {expected - 1} "
                                       f"to {seq}")
                report.first_bad = expected
            body = canonical(*row[:9])
            if report.first_bad is None and not hmac.compare_digest(
                    chain_tag(key.key, body, previous), tag):
                report.first_bad = seq
                report.problems.append(
                    f"entry {seq} altered or out of order ({iso_utc(row[1])} {row[2]} "
                    f"{row[5]} {row[6]}): its tag does not match its content and the "
                    f"entry before it")
            previous, expected, last_tag = tag, seq + 1, tag
            if row[5] == TRIGGER_RESTORED:
                names = ", ".join(json.loads(row[7]).get("triggers") or ()) or "?"
                report.warnings.append(
                    f"entry {seq} ({iso_utc(row[1])}): append-only trigger(s) {names} had been "
                    f"dropped from the database; restored then")
            if anchor is not None and seq == anchor[0]:
                tags[seq] = tag
        last_seq = expected - 1
        if anchor is not None:
            a_seq, a_tag = anchor
            if last_seq < a_seq:
                report.problems.append(
                    f"truncated tail: the anchor records entry {a_seq}, the database ends at "
                    f"{last_seq} (entries {last_seq + 1}..{a_seq} deleted, or an older copy "
                    f"of the database restored)")
                report.first_bad = report.first_bad or last_seq + 1
            elif tags.get(a_seq) != a_tag:
                report.problems.append(
                    f"entry {a_seq} does not match the anchor (an older copy of the database "
                    f"restored, then written to?)")
                report.first_bad = report.first_bad or a_seq
            elif last_seq > a_seq and report.ok:
                key.write_anchor(last_seq, last_tag)  # a crash between commit and anchor
        elif count:
            report.problems.append(f"the anchor is missing while the trail has {count} entries "
                                   f"(deleted? expected beside the key)")
        report.problems += self._trigger_problems()
        return report

    def _trigger_problems(self) -> list[str]:
        """Triggers missing now, or restored by this process without an entry."""
        return [f"append-only trigger {name} is missing (dropped; put back with an audit "
                f"entry when security.db is next opened)" for name in self.db.absent_triggers()
                ] + [f"append-only trigger {name} had been dropped (restored now; not "
                     f"recorded in the trail, which is off its anchor)"
                     for name in self.unrecorded_triggers]

    # ---- reading -----------------------------------------------------------------------------
    def _rows(self) -> Iterator[tuple[Any, ...]]:
        """Every entry in seq order, in pages, so a long trail is not held in memory at once."""
        last: float = float("-inf")
        while True:
            page = self.db.select("SELECT seq, ts, user, role, station, action, object, "
                                  "details, result, tag FROM audit WHERE seq > ? "
                                  "ORDER BY seq LIMIT 5000", (last,))
            if not page:
                return
            yield from page
            last = page[-1][0]

    def query(self, *, user: str | None = None, action: str | None = None,
              start: float | None = None, end: float | None = None,
              limit: int | None = None) -> list[AuditEntry]:
        where, params = [], []
        for column, value in (("user", user), ("action", action)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if start is not None:
            where.append("ts >= ?")
            params.append(start)
        if end is not None:
            where.append("ts <= ?")
            params.append(end)
        sql = ("SELECT seq, ts, user, role, station, action, object, details, result, tag "
               "FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY seq" + (f" LIMIT {int(limit)}" if limit else ""))
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8],
                           r[9]) for r in self.db.select(sql, tuple(params))]

    def export_csv(self, path: Path, start: float | None, end: float | None) -> int:
        """Entries in [start, end] as CSV (one row per entry, details as JSON, tag included so
        a copy can be checked later). Returns the number of rows."""
        entries = self.query(start=start, end=end)
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["seq", "time", "user", "role", "station", "action", "object",
                             "details", "result", "tag"])
            for e in entries:
                writer.writerow([e.seq, e.time, e.user, e.role, e.station, e.action, e.object,
                                 details_text(e.details), e.result, e.tag])
        return len(entries)
