"""The tamper-evident audit trail: a keyed hash chain per case, and its verification.

Each audit event stores ``hash = HMAC(key, prev_hash || canonical(event))``; the key
(``FILINGFLOW_AUDIT_KEY``) is not stored in the database, so whoever edits rows cannot
recompute the chain. Editing, deleting or reordering events breaks a link; rewriting a
chain needs the key. A truncated tail leaves a valid but shorter chain: the case row's
version and chain head catch that, and an exported anchor (the heads at a moment,
kept outside the database) catches it even when the case row is rewritten too.

The case row itself is checked against its trail too: replaying the events (state,
program version, applicant, data, amount, submission time) must give the row as stored,
so an ``UPDATE cases SET state = 'funded'`` that skips the engine is caught.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from workflow.tables import audit_events, cases

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


def canonical(value: Any) -> str:
    """The one serialisation hashed: sorted keys, no spaces, UTF-8 kept, UTC instants."""

    def default(obj: Any) -> str:
        if isinstance(obj, datetime):
            return obj.astimezone(UTC).isoformat()
        raise TypeError(f"not JSON-native: {type(obj).__name__}")

    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)


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


def verify_chains(connection: sa.Connection, key: bytes, *, anchor: Mapping[str, Any] | None = None) -> VerifyReport:
    """Walk every case's chain and report the first broken link of each."""
    heads = {int(k): v for k, v in (anchor or {}).get("heads", {}).items()}
    case_rows = {r.id: r for r in connection.execute(sa.select(cases))}
    events = connection.execute(sa.select(audit_events).order_by(audit_events.c.case_id, audit_events.c.seq))
    broken: list[BrokenLink] = []
    by_case: dict[int, list[sa.RowMapping]] = {}
    count = 0
    for row in events.mappings():
        by_case.setdefault(row["case_id"], []).append(row)
        count += 1
    for case_id in sorted(set(case_rows) | set(by_case) | set(heads)):
        link = _verify_case(case_id, by_case.get(case_id, []), case_rows.get(case_id), heads.get(case_id), key)
        if link is not None:
            broken.append(link)
    return VerifyReport(cases=len(case_rows), events=count, broken=tuple(broken))


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


def _row_mismatch(case_row: Any, replayed: Mapping[str, Any]) -> str | None:
    row = case_row._mapping
    for name, value in replayed.items():
        stored = row[name]
        if name == "data":
            stored, value = _without_nulls(stored), _without_nulls(value)
        elif name == "submitted_at" and stored is not None:
            stored = stored.isoformat()
        if stored != value:
            return f"{name} is {stored!r}, the trail says {value!r}"
    return None


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
