"""The read model: case lists with filters and paging, counts per state, a round's due deadlines and dead notices.

One place for the queries the HTTP API (``GET /v1/cases``) and the staff console (work queue,
round overview, exports) both show, so neither builds SQL in a route and both agree on what
"next due" and "submission order" mean. Reads only, each in one read-only transaction; rows
come back as plain dicts of the ``cases`` columns plus ``next_due`` (the earliest due instant
of the case's open deadlines, ``None`` without one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from workflow.database import read_only
from workflow.tables import cases, deadlines, notices
from workflow.writes import OPEN_STATUSES

RUNNING = ("pending",)  # a deadline whose clock runs (a suspended one has no due time that counts)
ORDERS = ("id", "submitted", "due")


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """Which cases, in which order, which page.

    ``due_before`` keeps cases whose next deadline is strictly before an instant (the API's
    filter), ``due_by`` those due at or before one (the console's "within N working days").
    ``search`` matches a part of the applicant's name or credit code. ``order`` is ``id``,
    ``submitted`` (submission order, never-submitted last: SZ-FLOW-3's order) or ``due``
    (soonest next deadline first, none last). ``running_only`` counts only running deadlines
    (``pending``) for ``next_due``, not suspended ones.
    """

    program: str | None = None
    state: str | None = None
    states: tuple[str, ...] = ()
    applicant_code: str | None = None
    search: str | None = None
    due_before: datetime | None = None
    due_by: datetime | None = None
    order: str = "id"
    limit: int | None = None
    offset: int = 0
    running_only: bool = False


def _next_due(statuses: tuple[str, ...]) -> sa.Subquery:
    return (
        sa.select(deadlines.c.case_id, sa.func.min(deadlines.c.due_at).label("next_due"))
        .where(deadlines.c.status.in_(statuses))
        .group_by(deadlines.c.case_id)
        .subquery()
    )


def _filtered(q: CaseQuery) -> tuple[sa.Select[Any], sa.Subquery]:
    next_due = _next_due(RUNNING if q.running_only else OPEN_STATUSES)
    query = sa.select(cases, next_due.c.next_due).outerjoin(next_due, next_due.c.case_id == cases.c.id)
    conditions = [
        cases.c.program_key == q.program if q.program else None,
        cases.c.state == q.state if q.state else None,
        cases.c.state.in_(q.states) if q.states else None,
        cases.c.applicant_code == q.applicant_code.strip().upper() if q.applicant_code else None,
        next_due.c.next_due < q.due_before if q.due_before is not None else None,
        next_due.c.next_due <= q.due_by if q.due_by is not None else None,
    ]
    if q.search and q.search.strip():
        needle = f"%{q.search.strip()}%"
        conditions.append(sa.or_(cases.c.applicant_name.like(needle), cases.c.applicant_code.like(needle.upper())))
    return query.where(*(c for c in conditions if c is not None)), next_due


def _ordered(query: sa.Select[Any], next_due: sa.Subquery, order: str) -> sa.Select[Any]:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    if order == "due":
        return query.order_by(next_due.c.next_due.is_(None), next_due.c.next_due, cases.c.id)
    if order == "submitted":
        return query.order_by(cases.c.submitted_at.is_(None), cases.c.submitted_at, cases.c.id)
    return query.order_by(cases.c.id)


def case_page(database: sa.Engine, q: CaseQuery) -> tuple[list[dict[str, Any]], int]:
    """The cases ``q`` selects (its page when ``q.limit`` is set) and how many match in all."""
    query, next_due = _filtered(q)
    page = _ordered(query, next_due, q.order)
    if q.limit is not None:
        page = page.limit(q.limit).offset(q.offset)
    with read_only(database) as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(page).mappings().all()
    return [dict(r) for r in rows], int(total)


def case_rows(database: sa.Engine, q: CaseQuery) -> list[dict[str, Any]]:
    """Every case ``q`` selects, in its order (exports): no count, no page."""
    query, next_due = _filtered(q)
    with read_only(database) as conn:
        return [dict(r) for r in conn.execute(_ordered(query, next_due, q.order)).mappings()]


def state_counts(database: sa.Engine, program: str) -> dict[str, int]:
    """How many cases of a program are in each state (states without a case are absent)."""
    with read_only(database) as conn:
        rows = conn.execute(
            sa.select(cases.c.state, sa.func.count()).where(cases.c.program_key == program).group_by(cases.c.state)
        ).all()
    return {state: int(n) for state, n in rows}


def running_deadlines_due(database: sa.Engine, program: str, *, after: datetime, until: datetime) -> list[Any]:
    """A program's running deadlines due in ``(after, until]``, soonest first, with the applicant's name."""
    with read_only(database) as conn:
        return list(
            conn.execute(
                sa.select(deadlines, cases.c.applicant_name)
                .join(cases, cases.c.id == deadlines.c.case_id)
                .where(
                    cases.c.program_key == program,
                    deadlines.c.status.in_(RUNNING),
                    deadlines.c.due_at > after,
                    deadlines.c.due_at <= until,
                )
                .order_by(deadlines.c.due_at)
            )
            .mappings()
            .all()
        )


def dead_notices(database: sa.Engine, program: str) -> list[Any]:
    """A program's notices the outbox gave up on, newest first, with the applicant's name."""
    with read_only(database) as conn:
        return list(
            conn.execute(
                sa.select(notices, cases.c.applicant_name)
                .join(cases, cases.c.id == notices.c.case_id)
                .where(cases.c.program_key == program, notices.c.status == "dead")
                .order_by(notices.c.id.desc())
            )
            .mappings()
            .all()
        )


def case_notices(
    database: sa.Engine, case_id: int, *, without_channel: str | None = None, without_recipient: str | None = None
) -> list[Any]:
    """A case's notices in the order they were queued, optionally without one channel or one recipient."""
    query = sa.select(notices).where(notices.c.case_id == case_id)
    if without_channel is not None:
        query = query.where(notices.c.channel != without_channel)
    if without_recipient is not None:
        query = query.where(notices.c.recipient != without_recipient)
    with read_only(database) as conn:
        return list(conn.execute(query.order_by(notices.c.id)).mappings().all())
