"""What the engine's collaborators share: configuration, the store, and writing a decided change.

The engine is composed of small collaborators (:class:`~workflow.caps.Caps`,
:class:`~workflow.deadline_commands.DeadlineCommands`,
:class:`~workflow.version_commands.VersionMigration`), each given this one context instead of
inheriting private helpers from a base class: following a call means opening the
collaborator and this module, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from workflow.applicants import Applicant
from workflow.clock import Clock
from workflow.errors import ConflictError, InvalidInput
from workflow.plan import LoadedCase, OpenDeadline, plan_change
from workflow.process import CompiledProcess, ProgramCatalog
from workflow.store import Store
from workflow.text import is_blank
from workflow.views import CaseSnapshot, DeadlineView
from workflow.workdays import WorkingDayCalendar
from workflow.writes import Change, WriteResult

MAX_REASON = 2000
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(slots=True)
class EngineContext:
    """The engine's configuration and store; ``calendar`` is replaced when the stored calendar reloads."""

    database: sa.Engine
    programs: ProgramCatalog
    clock: Clock
    calendar: WorkingDayCalendar
    audit_key: bytes = field(repr=False)
    store: Store = field(init=False)

    def __post_init__(self) -> None:
        self.store = Store(self.database)

    def process(self, row: Mapping[Any, Any]) -> CompiledProcess:
        """The definition (key and version) the case is pinned to."""
        return self.programs.get(row["program_key"], row["program_version"])

    def write(
        self,
        conn: sa.Connection,
        process: CompiledProcess,
        loaded: LoadedCase,
        change: Change,
        now: datetime,
        case_values: Mapping[Any, Any] | None = None,
    ) -> WriteResult:
        """Decide the rows of ``change`` (pure) and have the store write them in ``conn``'s transaction."""
        plan = plan_change(
            process, loaded, change, now=now, calendar=self.calendar, audit_key=self.audit_key, case_values=case_values
        )
        return self.store.execute(conn, plan)

    def snapshot_of(self, row: Mapping[Any, Any], open_deadlines: Iterable[OpenDeadline]) -> CaseSnapshot:
        """A snapshot from a case row and its open deadlines as already known (no query), soonest due first."""
        soonest = sorted(open_deadlines, key=lambda d: (d.due_at is None, d.due_at or _NEVER))
        return CaseSnapshot(
            id=row["id"],
            program=row["program_key"],
            program_version=row["program_version"],
            state=row["state"],
            state_label=self.process(row).state(row["state"]).label,
            final=row["final"],
            version=row["version"],
            applicant=Applicant(
                name=row["applicant_name"],
                code=row["applicant_code"],
                email=row["applicant_email"],
                phone=row["applicant_phone"],
            ),
            data=dict(row["data"]),
            amount_fen=row["amount_fen"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            submitted_at=row["submitted_at"],
            deadlines=tuple(deadline_view(d) for d in soonest),
        )


def check_version(row: Mapping[Any, Any], expected: int | None, event: str | None) -> None:
    """Refuse a command sent for another version of the case than the one stored (optimistic locking)."""
    if expected is not None and expected != row["version"]:
        raise ConflictError(
            f"case {row['id']} is at version {row['version']}, not {expected}",
            expected=expected,
            actual=row["version"],
            case_id=row["id"],
            event=event,
            field="version",
        )


def deadline_view(deadline: OpenDeadline | Mapping[Any, Any]) -> DeadlineView:
    """The public view of a deadline, typed or as a row."""
    d = deadline if isinstance(deadline, OpenDeadline) else OpenDeadline.from_row(deadline)
    return DeadlineView(
        id=d.id,
        key=d.key,
        rule=d.rule,
        label=d.label,
        state=d.state,
        due_at=d.due_at,  # type: ignore[arg-type]
        status=d.status,
        started_at=d.started_at,
        working_days=d.working_days,
        estimated=d.estimated,
        ledger=tuple(d.ledger),
        closed_at=d.closed_at,
    )


def require_reason(reason: object, *, case_id: int | None) -> str:
    if isinstance(reason, str) and "\x00" in reason:
        raise InvalidInput("reason must not contain NUL characters", case_id=case_id, field="reason")
    if not isinstance(reason, str) or is_blank(reason):
        raise InvalidInput("a reason is required", case_id=case_id, field="reason", code="reason_required")
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            f"reason is longer than {MAX_REASON} characters",
            case_id=case_id,
            field="reason",
            code="reason_too_long",
            params={"max": MAX_REASON},
        )
    return reason.strip()
