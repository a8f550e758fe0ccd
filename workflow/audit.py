"""The tamper-evident audit trail: a keyed hash chain per case, and its verification.

Each audit event stores ``hash = HMAC(key, prev_hash || canonical(event))``; the key
(``FILINGFLOW_AUDIT_KEY``) is not stored in the database, so whoever edits rows cannot
recompute the chain. Editing, deleting or reordering events breaks a link; rewriting a
chain needs the key. A truncated tail leaves a valid but shorter chain: the case row's
version and chain head catch that, and an exported anchor (the heads at a moment,
kept outside the database) catches it even when the case row is rewritten too.

The case row itself is checked against its trail too: replaying the events (state,
program version, applicant, data, amount, submission time) must give the row as stored,
so an ``UPDATE cases SET state = 'funded'`` that skips the engine is caught. Given the
program catalog, every other column that follows from the trail is checked as well:
``final`` (the replayed state's) and ``live_key`` (set exactly while a case is live in a
program with one live case per applicant, LG-ELIG-2). The rows beside the case are
replayed too: each deadline's status and due time follow from the events that opened,
closed, extended, suspended, resumed or recomputed it (a pending deadline moved 30 days or
set to met is caught), and every notice an event says it queued must still be in the outbox
(a deleted notice is caught).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from workflow.statuses import DeadlineStatus
from workflow.tables import audit_events, cases, deadlines, notices

if TYPE_CHECKING:
    from workflow.process import ProgramCatalog

GENESIS = "0" * 64
HASHED_FIELDS = (
    "case_id",
    "seq",
    "at",
    "kind",
    "actor",
    "role",
    "via",
    "event",
    "from_state",
    "to_state",
    "reason",
    "old_values",
    "new_values",
)


def _utc_text(obj: Any) -> str:
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).isoformat()
    raise TypeError(f"not JSON-native: {type(obj).__name__}")


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_utc_text)
"""One encoder for every call: ``json.dumps`` builds a new one per call for these options (about 40 %
of serialising a small value, and a command serialises six or seven). Its ``encode`` keeps no state
between calls, so threads may share it."""


def canonical(value: Any) -> str:
    """The one serialisation hashed: sorted keys, no spaces, UTF-8 kept, UTC instants."""
    return _CANONICAL.encode(value)


def chain_hash(key: bytes, prev_hash: str, event: Mapping[Any, Any]) -> str:
    body = canonical({name: event[name] for name in HASHED_FIELDS})
    return hmac.new(key, (prev_hash + body).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """The first place a chain does not verify, and what is wrong there."""

    case_id: int
    seq: int | None
    problem: str

    def __str__(self) -> str:
        at = f" event {self.seq}" if self.seq is not None else ""
        return f"case {self.case_id}{at}: {self.problem}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    cases: int
    events: int
    broken: tuple[BrokenLink, ...]

    @property
    def ok(self) -> bool:
        return not self.broken


def export_anchor(connection: sa.Connection, *, at: datetime) -> dict[str, Any]:
    """The chain head (last seq and hash) of every case, to be kept outside the database."""
    rows = connection.execute(sa.select(cases.c.id, cases.c.version, cases.c.chain_head).order_by(cases.c.id))
    heads = {str(r.id): {"seq": r.version, "hash": r.chain_head} for r in rows}
    return {"format": "filingflow-audit-anchor/1", "exported_at": at.isoformat(), "heads": heads}


def verify_chains(
    connection: sa.Connection,
    key: bytes,
    *,
    anchor: Mapping[str, Any] | None = None,
    programs: ProgramCatalog | None = None,
) -> VerifyReport:
    """Walk every case's chain and report the first broken link of each.

    With ``programs`` the case rows' ``final`` and ``live_key`` are checked against their
    definitions too (``filingflow audit verify`` always passes them).
    """
    heads = {int(k): v for k, v in (anchor or {}).get("heads", {}).items()}
    case_rows = {r.id: r for r in connection.execute(sa.select(cases))}
    beside = _Beside.read(connection)
    events = connection.execute(sa.select(audit_events).order_by(audit_events.c.case_id, audit_events.c.seq))
    broken: list[BrokenLink] = []
    by_case: dict[int, list[sa.RowMapping]] = {}
    count = 0
    for row in events.mappings():
        by_case.setdefault(row["case_id"], []).append(row)
        count += 1
    for case_id in sorted(set(case_rows) | set(by_case) | set(heads)):
        trail = by_case.get(case_id, [])
        link = _verify_case(case_id, trail, case_rows.get(case_id), heads.get(case_id), key)
        if link is None and case_id in case_rows:
            problem = beside.mismatch(case_id, trail) or _derived_mismatch(case_rows[case_id], programs)
            link = BrokenLink(case_id, None, problem) if problem else None
        if link is not None:
            broken.append(link)
    return VerifyReport(cases=len(case_rows), events=count, broken=tuple(broken))


@dataclass(frozen=True, slots=True)
class _Beside:
    """The deadline and notice rows of every case, to replay against the trail."""

    deadlines: dict[int, dict[str, sa.RowMapping]]  # case -> key -> newest row of that key
    notice_keys: frozenset[str]

    @classmethod
    def read(cls, connection: sa.Connection) -> _Beside:
        newest: dict[int, dict[str, sa.RowMapping]] = {}
        query = sa.select(deadlines.c.case_id, deadlines.c.key, deadlines.c.status, deadlines.c.due_at)
        for row in connection.execute(query.order_by(deadlines.c.id)).mappings():
            newest.setdefault(row["case_id"], {})[row["key"]] = row
        keys = frozenset(connection.execute(sa.select(notices.c.idempotency_key)).scalars())
        return cls(newest, keys)

    def mismatch(self, case_id: int, events: Iterable[Mapping[Any, Any]]) -> str | None:
        expected = replay_deadlines(events)
        stored = self.deadlines.get(case_id, {})
        for name in sorted(set(expected) | set(stored)):
            if name not in expected:
                return f"deadline {name!r} exists but the trail never opened it (inserted outside the engine)"
            if name not in stored:
                return f"deadline {name!r} is gone but the trail opened it (deleted outside the engine)"
            row, want = stored[name], expected[name]
            if row["status"] != want["status"]:
                return f"deadline {name!r} is {row['status']!r}, the trail says {want['status']!r}"
            if "due_at" in want and _instant(row["due_at"]) != _instant(want["due_at"]):
                return f"deadline {name!r} is due {_iso(row['due_at'])}, the trail says {want['due_at']}"
        for event in events:
            for label in (event["new_values"] or {}).get("notices") or ():
                if f"case/{case_id}/v{event['seq']}/{label}" not in self.notice_keys:
                    return f"notice {label!r} queued by event {event['seq']} is gone (deleted outside the engine)"
        return None


def replay_deadlines(events: Iterable[Mapping[Any, Any]]) -> dict[str, dict[str, Any]]:
    """Each deadline's status and due time as the trail leaves them (by deadline key; the newest opening wins)."""
    out: dict[str, dict[str, Any]] = {}
    for event in events:
        new = event["new_values"] or {}
        for name, status in (new.get("deadlines_closed") or {}).items():
            out.setdefault(name, {})["status"] = status
        for name, due in (new.get("deadlines_opened") or {}).items():
            out[name] = {"status": DeadlineStatus.PENDING.value, "due_at": due}
        if event["kind"] == "deadline" and new.get("deadline") in out:
            target = out[new["deadline"]]
            target.update({k: new[k] for k in ("status", "due_at") if k in new})
    return out


def _instant(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _derived_mismatch(case_row: Any, programs: ProgramCatalog | None) -> str | None:
    """``final`` and ``live_key``, which follow from the (already replayed) state and the definition."""
    if programs is None:
        return None
    row = case_row._mapping
    from workflow.writes import live_key  # (writes imports this module for the chain hash)

    process = programs.get(row["program_key"], row["program_version"])
    state = process.states.get(row["state"])
    if state is None:
        return f"state {row['state']!r} is not in {row['program_key']} v{row['program_version']}"
    if bool(row["final"]) != state.final:
        return f"final is {row['final']!r} but state {state.key!r} says {state.final!r} (edited outside the engine)"
    expected = None if state.final else live_key(process.definition, row["applicant_code"])
    if row["live_key"] != expected:
        return f"live_key is {row['live_key']!r}, the trail says {expected!r} (edited outside the engine)"
    return None


def replay(events: Iterable[Mapping[Any, Any]]) -> dict[str, Any]:
    """The case fields that follow from its audit events, applied in order."""
    out: dict[str, Any] = {"data": {}}
    for event in events:
        new = event["new_values"] or {}
        out["state"] = event["to_state"]
        if event["kind"] == "open":
            applicant = new.get("applicant") or {}
            out.update({f"applicant_{k}": v for k, v in applicant.items()}, data=dict(new.get("data") or {}))
        else:
            out["data"].update(new.get("data") or {})
        for name in ("program_key", "amount_fen", "program_version", "submitted_at"):
            if name in new:
                out[name] = new[name]
    return out


INSTANT_FIELDS = frozenset({"submitted_at"})
"""Case columns that are instants: compared as moments, since the trail keeps the text the clock wrote
(``+08:00`` from a clock in Asia/Shanghai) while the row reads back in UTC."""


def _row_mismatch(case_row: Any, replayed: Mapping[str, Any]) -> str | None:
    row = case_row._mapping
    for name, value in replayed.items():
        stored = row[name]
        if name == "data":
            stored, value = _without_nulls(stored), _without_nulls(value)
        elif name in INSTANT_FIELDS:
            if not _same_instant(stored, value):
                return f"{name} is {_iso(stored)!r}, the trail says {value!r}"
            continue
        if stored != value:
            return f"{name} is {stored!r}, the trail says {value!r}"
    return None


def _same_instant(stored: datetime | None, recorded: datetime | str | None) -> bool:
    """The same moment, whatever offset each side is written in (an unreadable recorded value never is)."""
    try:
        return _instant(stored) == _instant(recorded)
    except (TypeError, ValueError):
        return False


def _without_nulls(data: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (data or {}).items() if v is not None}


def _verify_case(
    case_id: int,
    events: Iterable[sa.RowMapping],
    case_row: Any,
    anchored: Mapping[str, Any] | None,
    key: bytes,
) -> BrokenLink | None:
    prev = GENESIS
    seen: dict[int, str] = {}
    expected_seq = 1
    for event in events:
        seq = event["seq"]
        if seq != expected_seq:
            return BrokenLink(case_id, expected_seq, f"event {expected_seq} is missing (next is {seq})")
        if event["prev_hash"] != prev:
            return BrokenLink(case_id, seq, "previous-hash link does not match (deleted or reordered event)")
        if chain_hash(key, prev, event) != event["hash"]:
            return BrokenLink(case_id, seq, "hash does not match the event (edited or re-hashed without the key)")
        prev = event["hash"]
        seen[seq] = prev
        expected_seq += 1
    last = expected_seq - 1
    if case_row is None:
        return BrokenLink(case_id, None, "audit events or anchor exist for a case that is gone")
    if case_row.version != last or case_row.chain_head != prev:
        return BrokenLink(
            case_id, None, f"case is at version {case_row.version} but its chain ends at event {last} (truncated tail)"
        )
    mismatch = _row_mismatch(case_row, replay(events))
    if mismatch is not None:
        return BrokenLink(case_id, None, f"case row differs from its trail: {mismatch} (edited outside the engine)")
    if anchored is not None:
        seq = int(anchored["seq"])
        if seq > last:
            return BrokenLink(case_id, seq, f"anchor has event {seq} but the chain ends at {last} (truncated tail)")
        if seen.get(seq) != anchored["hash"]:
            return BrokenLink(case_id, seq, "event differs from the exported anchor (rewritten history)")
    return None
