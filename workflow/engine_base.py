"""What every engine command shares: configuration, the transaction, loading and snapshots."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, result_tuple

from workflow.applicants import Applicant
from workflow.clock import Clock
from workflow.database import Prepared, constant, fetch, pipeline, read_only, send
from workflow.errors import CaseNotFound, ConflictError, GuardRefused, InvalidInput, StorageUnavailable
from workflow.process import CompiledProcess, ProgramCatalog
from workflow.tables import cases, deadlines
from workflow.views import CaseSnapshot, DeadlineView
from workflow.workdays import WorkingDayCalendar
from workflow.writes import (
    IS_OPEN,
    KNOWN_OPEN_DEADLINES,
    OPEN_DEADLINES_OF_CASE,
    Change,
    WriteResult,
    apply_change,
)

MAX_REASON = 2000
# PostgreSQL's deadlock_detected and serialization_failure: the loser of a race, whatever the lock order
LOST_RACE_STATES = frozenset({"40P01", "40001"})
_NEVER = datetime.max.replace(tzinfo=UTC)
# built once (see workflow.writes): the read side of every command
_LOAD_CASE = Prepared(sa.select(cases).where(cases.c.id == sa.bindparam("case_id")))


def _claim_with_case_statement(dialect: Dialect) -> sa.Executable:
    query = (
        sa.select(*(c.label(f"d_{c.name}") for c in deadlines.c), *(c.label(f"c_{c.name}") for c in cases.c))
        .select_from(deadlines.join(cases, cases.c.id == deadlines.c.case_id))
        .where(
            deadlines.c.id == sa.bindparam("deadline_id"),
            deadlines.c.status == constant("pending"),
            deadlines.c.due_at <= sa.bindparam("now"),
        )
    )
    if dialect.name != "postgresql":
        return query
    # The case row is locked with the deadline, both skipped when either is held: a command takes its
    # case row and then its deadlines, so a sweep that waited for the case while holding the deadline
    # deadlocked with it (issue 13). Never waiting while holding, the sweep leaves that case for the next tick.
    return query.with_for_update(skip_locked=True, of=[cases, deadlines])


_CLAIM_WITH_CASE = Prepared(_claim_with_case_statement)
_claimed = deadlines.alias("claimed")
_OPEN_DEADLINES_BESIDE = Prepared(
    sa.select(deadlines).where(
        deadlines.c.case_id
        == sa.select(_claimed.c.case_id).where(_claimed.c.id == sa.bindparam("deadline_id")).scalar_subquery(),
        IS_OPEN,
    )
)
_DEADLINE_ROW = result_tuple([c.key for c in deadlines.c])
_CASE_ROW_WITH_DEADLINES = result_tuple([*(c.key for c in cases.c), KNOWN_OPEN_DEADLINES])


def claim_with_case(conn: sa.Connection, deadline_id: int, now: datetime) -> tuple[sa.RowMapping, sa.RowMapping] | None:
    """The deadline if it is still pending and still due (an extension may have just moved it),
    with its case and the case's open deadlines, in one round trip.

    On PostgreSQL the deadline row and its case row are locked for the transaction, and skipped
    (``None``) while another worker or a command holds either, so the sweep never waits for a lock
    while holding one (the lock order of commands is case, then deadlines); SQLite's
    ``BEGIN IMMEDIATE`` already serialises the writers.
    The deadline is claimed in the same statement that reads its case; the open
    deadlines come beside it, carried on the case row for the write path. A concurrent
    change to them between these reads and the case update is caught by the version check
    (every change to a deadline changes its case's version).
    """
    with pipeline(conn):
        claimed = send(conn, _CLAIM_WITH_CASE, {"deadline_id": deadline_id, "now": now})
        beside = send(conn, _OPEN_DEADLINES_BESIDE, {"deadline_id": deadline_id})
    rows, open_rows = claimed(), beside()
    if not rows:
        return None
    row = rows[0]
    deadline = _DEADLINE_ROW([row[f"d_{c.name}"] for c in deadlines.c])._mapping
    case = _CASE_ROW_WITH_DEADLINES([*(row[f"c_{c.name}"] for c in cases.c), open_rows])._mapping
    return deadline, case


class EngineBase:
    """Configuration and internals shared by the case and deadline commands."""

    def __init__(
        self,
        *,
        database: sa.Engine,
        programs: ProgramCatalog,
        clock: Clock,
        calendar: WorkingDayCalendar,
        audit_key: bytes,
    ) -> None:
        self.database = database
        self.programs = programs
        self.clock = clock
        self.calendar = calendar
        self._calendar_signature: tuple[object, ...] | None = None
        self._audit_key = audit_key

    def __repr__(self) -> str:
        return f"Engine({self.database.url.render_as_string(hide_password=True)!r}, clock={self.clock!r})"

    def get_case(self, case_id: int) -> CaseSnapshot:
        with read_only(self.database) as conn:
            return self._snapshot(conn, case_id)

    def _due_deadline_ids(self, column: sa.ColumnElement[Any], now: datetime, limit: int) -> list[int]:
        """Ids of pending deadlines whose ``column`` (due time, next reminder) has come, oldest first.

        The partial indexes on pending rows keep this proportional to what is due, not to
        every deadline ever opened.
        """
        with read_only(self.database) as conn:
            return list(
                conn.execute(
                    sa.select(deadlines.c.id)
                    .where(deadlines.c.status == "pending", column <= now)
                    .order_by(column, deadlines.c.id)
                    .limit(limit)
                ).scalars()
            )

    def _write(
        self,
        conn: sa.Connection,
        process: CompiledProcess,
        row: Mapping[Any, Any],
        change: Change,
        now: datetime,
        case_values: Mapping[str, Any] | None = None,
    ) -> WriteResult:
        """Write one change of a loaded case with this engine's calendar and audit key."""
        return apply_change(
            conn,
            process=process,
            case=row,
            change=change,
            now=now,
            calendar=self.calendar,
            audit_key=self._audit_key,
            case_values=case_values,
        )

    @contextmanager
    def _transaction(
        self,
        *,
        case_id: int | None = None,
        event: str | None = None,
        live_rule: str | None = None,
        rollback: bool = False,
    ) -> Iterator[sa.Connection]:
        """One command's transaction (rolled back instead of committed for a dry run).

        Two commands that pass their checks concurrently can still collide on a unique
        constraint (two opens for one applicant, one idempotency key used twice at once,
        two writers of one audit sequence number): the loser gets the error it would have
        got a moment later. Any other integrity error is a bug and is raised as it is.
        """
        try:
            with self.database.connect() as conn:
                transaction = conn.begin()
                try:
                    yield conn
                except BaseException:
                    transaction.rollback()
                    raise
                if rollback:
                    transaction.rollback()
                else:
                    transaction.commit()
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            if getattr(exc.orig, "sqlstate", None) in LOST_RACE_STATES:  # a race lost, not an outage: 409
                raise _lost_race(
                    "a concurrent command held the same rows; read the case again and retry", case_id, event
                ) from exc
            raise StorageUnavailable(
                f"the database failed during the command; nothing was written: {exc.orig}",
                case_id=case_id,
                event=event,
            ) from exc
        except sa.exc.IntegrityError as exc:
            if not _is_unique_violation(exc):
                raise
            if live_rule is not None and "live_key" in str(exc.orig):
                raise GuardRefused(
                    "the applicant already has a live case in this round: no duplicate filing of the same matter",
                    field="applicant.code",
                    rule=live_rule,
                ) from exc
            raise _lost_race(
                "a concurrent command changed the same case; read it again and retry", case_id, event
            ) from exc

    def _check_version(self, row: sa.RowMapping, expected: int | None, event: str | None) -> None:
        if expected is not None and expected != row["version"]:
            raise ConflictError(
                f"case {row['id']} is at version {row['version']}, not {expected}",
                expected=expected,
                actual=row["version"],
                case_id=row["id"],
                event=event,
                field="version",
            )

    def _load(self, conn: sa.Connection, case_id: int, *, with_deadlines: bool = False) -> sa.RowMapping:
        """The case row; ``with_deadlines``: carrying its open deadlines too, read in the same round trip.

        Only for a command that writes its change without touching a deadline first: the
        write path works from the copy read here.
        """
        if not isinstance(case_id, int) or isinstance(case_id, bool):
            raise InvalidInput("case id must be an integer", field="case_id")
        if not with_deadlines:
            rows = fetch(conn, _LOAD_CASE, {"case_id": case_id})
        else:
            with pipeline(conn):
                loaded = send(conn, _LOAD_CASE, {"case_id": case_id})
                beside = send(conn, OPEN_DEADLINES_OF_CASE, {"case_id": case_id})
            rows, open_rows = loaded(), beside()
        if not rows:
            raise CaseNotFound(f"no case {case_id}", case_id=case_id, field="case_id")
        if not with_deadlines:
            return rows[0]
        return _CASE_ROW_WITH_DEADLINES([*rows[0].values(), open_rows])._mapping

    def _process(self, row: sa.RowMapping) -> CompiledProcess:
        return self.programs.get(row["program_key"], row["program_version"])

    def _snapshot(self, conn: sa.Connection, case_id: int) -> CaseSnapshot:
        row = self._load(conn, case_id, with_deadlines=True)
        return self._snapshot_of(row, row[KNOWN_OPEN_DEADLINES])

    def _snapshot_of(self, row: Mapping[Any, Any], open_deadlines: Iterable[Mapping[Any, Any]]) -> CaseSnapshot:
        """A snapshot from a case row and its open deadlines as already known (no query), soonest due first."""
        soonest = sorted(open_deadlines, key=lambda d: (d["due_at"] is None, d["due_at"] or _NEVER))
        process = self.programs.get(row["program_key"], row["program_version"])
        return CaseSnapshot(
            id=row["id"],
            program=row["program_key"],
            program_version=row["program_version"],
            state=row["state"],
            state_label=process.state(row["state"]).label,
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


def _lost_race(message: str, case_id: int | None, event: str | None) -> ConflictError:
    """The error of a command that lost a race for its rows: nothing was written, a retry may succeed."""
    return ConflictError(
        message,
        expected=None,
        actual=None,
        case_id=case_id,
        event=event,
        field="version" if case_id is not None else None,
    )


def _is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    """A duplicate key (SQLSTATE 23505 on PostgreSQL; SQLite says so in its message)."""
    return getattr(error.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(error.orig)


def deadline_view(row: Mapping[Any, Any]) -> DeadlineView:
    return DeadlineView(
        id=row["id"],
        key=row["key"],
        rule=row["rule"],
        label=row["label"],
        state=row["state"],
        due_at=row["due_at"],
        status=row["status"],
        started_at=row["started_at"],
        working_days=row["working_days"],
        estimated=row["estimated"],
        ledger=tuple(row["ledger"]),
        closed_at=row["closed_at"],
    )


def require_reason(reason: object, *, case_id: int | None) -> str:
    if isinstance(reason, str) and "\x00" in reason:
        raise InvalidInput("reason must not contain NUL characters", case_id=case_id, field="reason")
    if not isinstance(reason, str) or not reason.strip():
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
