"""What commands return: immutable snapshots of a case, its audit trail, deadlines and options.

Snapshots are plain frozen dataclasses, detached from any database session, and
serialisable to JSON (an idempotent replay returns the stored JSON of the first result).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from workflow.applicants import Applicant
from workflow.definition import Amount, Refusal
from workflow.errors import FilingFlowError


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class DeadlineView:
    id: int
    key: str
    rule: str
    label: str
    state: str
    due_at: datetime
    status: str
    started_at: datetime
    working_days: int | None
    estimated: bool
    ledger: tuple[dict[str, Any], ...] = ()
    closed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(due_at=_iso(self.due_at), started_at=_iso(self.started_at), closed_at=_iso(self.closed_at))
        out["ledger"] = list(self.ledger)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DeadlineView:
        return cls(
            **{
                **raw,
                "due_at": _dt(raw["due_at"]),
                "started_at": _dt(raw["started_at"]),
                "closed_at": _dt(raw.get("closed_at")),
                "ledger": tuple(raw.get("ledger", ())),
            }
        )


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """A case as of one committed version."""

    id: int
    program: str
    program_version: int
    state: str
    state_label: str
    final: bool
    version: int
    applicant: Applicant
    data: dict[str, Any]
    amount_fen: int | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    deadlines: tuple[DeadlineView, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "program": self.program,
            "program_version": self.program_version,
            "state": self.state,
            "state_label": self.state_label,
            "final": self.final,
            "version": self.version,
            "applicant": self.applicant.to_json(),
            "data": self.data,
            "amount_fen": self.amount_fen,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "submitted_at": _iso(self.submitted_at),
            "deadlines": [d.to_json() for d in self.deadlines],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CaseSnapshot:
        created, updated = _dt(raw["created_at"]), _dt(raw["updated_at"])
        assert created is not None
        assert updated is not None
        return cls(
            id=raw["id"],
            program=raw["program"],
            program_version=raw["program_version"],
            state=raw["state"],
            state_label=raw["state_label"],
            final=raw["final"],
            version=raw["version"],
            applicant=Applicant(**raw["applicant"]),
            data=raw["data"],
            amount_fen=raw["amount_fen"],
            created_at=created,
            updated_at=updated,
            submitted_at=_dt(raw["submitted_at"]),
            deadlines=tuple(DeadlineView.from_json(d) for d in raw.get("deadlines", [])),
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit event as the trail shows it."""

    case_id: int
    seq: int
    at: datetime
    kind: str
    actor: str
    role: str
    via: str
    event: str | None
    from_state: str | None
    to_state: str | None
    reason: str | None
    old_values: dict[str, Any]
    new_values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventOption:
    """An event leaving the current state, and whether this actor may fire it now."""

    name: str
    label: str
    target: str
    allowed: bool
    refusal: Refusal | None = None
    requires: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OverrideOutcome:
    """What a staff override did, or would do in a dry run."""

    case_id: int
    from_state: str
    to_state: str
    dry_run: bool
    version: int
    deadlines_closed: tuple[str, ...]
    deadlines_opened: tuple[str, ...]
    notices: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "dry_run": self.dry_run,
            "version": self.version,
            "deadlines_closed": list(self.deadlines_closed),
            "deadlines_opened": list(self.deadlines_opened),
            "notices": list(self.notices),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> OverrideOutcome:
        return cls(
            case_id=raw["case_id"],
            from_state=raw["from_state"],
            to_state=raw["to_state"],
            dry_run=raw["dry_run"],
            version=raw["version"],
            deadlines_closed=tuple(raw["deadlines_closed"]),
            deadlines_opened=tuple(raw["deadlines_opened"]),
            notices=tuple(raw["notices"]),
        )


@dataclass(frozen=True, slots=True)
class CaseInspection:
    """A case with what a given actor may do now and how its amount is computed."""

    case: CaseSnapshot
    options: list[EventOption]
    amount: Amount | None


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """Which cases a batch advanced, and where and why it stopped early (if it did)."""

    advanced: tuple[int, ...]
    stopped_at: int | None = None
    reason: str | None = None
    error: FilingFlowError | None = field(default=None, compare=False, repr=False)
    """The refusal itself (its rule, field and zh-CN structure), for a caller that shows it."""
