"""The read side of the console: the work queue, counts, round overview, CSV rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from app.refusal_counts import staff_refusal_counts
from workflow.clock import SHANGHAI, shanghai_day_end, shanghai_day_start
from workflow.database import read_only
from workflow.engine import Engine
from workflow.tables import cases, deadlines, notices
from workflow.writes import OPEN_STATUSES

PAGE = 50
PUBLICITY_STATES = ("publicity", "public_notice")


@dataclass(frozen=True, slots=True)
class QueueFilter:
    program: str
    state: str | None = None
    due_within: int | None = None  # working days
    overdue: bool = False
    q: str | None = None
    sort: str = "submitted"  # submitted | due
    page: int = 1

    def query(self, **changes: Any) -> str:
        """The whole filter as a query string (with ``changes``), so a page link keeps every filter."""
        params: dict[str, Any] = {
            "program": self.program,
            "state": self.state,
            "due_within": self.due_within,
            "overdue": "true" if self.overdue else None,
            "q": self.q,
            "sort": self.sort,
            "page": self.page,
            **changes,
        }
        return urlencode({k: v for k, v in params.items() if v is not None and v != ""})


def _next_due() -> Any:
    return (
        sa.select(deadlines.c.case_id, sa.func.min(deadlines.c.due_at).label("next_due"))
        .where(deadlines.c.status == "pending")
        .group_by(deadlines.c.case_id)
        .subquery()
    )


def queue(engine: Engine, f: QueueFilter) -> tuple[list[dict[str, Any]], int]:
    """Cases of one program matching the filter, sorted and paginated, with the total."""
    next_due = _next_due()
    query = (
        sa.select(cases, next_due.c.next_due)
        .outerjoin(next_due, next_due.c.case_id == cases.c.id)
        .where(cases.c.program_key == f.program)
    )
    now = engine.clock.now()
    if f.state:
        query = query.where(cases.c.state == f.state)
    if f.overdue:
        query = query.where(next_due.c.next_due < now)
    if f.due_within is not None:
        today = now.astimezone(SHANGHAI).date()
        limit = shanghai_day_end(engine.calendar.add_working_days(today, f.due_within))
        query = query.where(next_due.c.next_due <= limit)
    if f.q:
        needle = f"%{f.q.strip()}%"
        query = query.where(sa.or_(cases.c.applicant_name.like(needle), cases.c.applicant_code.like(needle.upper())))
    if f.sort == "due":
        query = query.order_by(next_due.c.next_due.is_(None), next_due.c.next_due, cases.c.id)
    else:
        query = query.order_by(cases.c.submitted_at.is_(None), cases.c.submitted_at, cases.c.id)
    with read_only(engine.database) as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.limit(PAGE).offset((max(f.page, 1) - 1) * PAGE)).mappings().all()
    return [dict(r) for r in rows], int(total)


def state_counts(engine: Engine, program: str) -> dict[str, int]:
    with read_only(engine.database) as conn:
        rows = conn.execute(
            sa.select(cases.c.state, sa.func.count()).where(cases.c.program_key == program).group_by(cases.c.state)
        ).all()
    return {state: int(n) for state, n in rows}


def calendar_week(now: datetime) -> tuple[date, date]:
    """Monday and Sunday of the calendar week ``now`` falls in, in Asia/Shanghai."""
    today = now.astimezone(SHANGHAI).date()
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


def round_overview(engine: Engine, program: str) -> dict[str, Any]:
    """Counts per state, pending deadlines due this calendar week (Mon-Sun, Shanghai), dead notices.

    "This week" is the calendar week, not the next seven days: on a Friday, next Tuesday's
    deadline is next week's work. A deadline due earlier this week and still pending
    (overdue, not yet swept) is listed too.
    """
    monday, sunday = calendar_week(engine.clock.now())
    with read_only(engine.database) as conn:
        due_soon = (
            conn.execute(
                sa.select(deadlines, cases.c.applicant_name)
                .join(cases, cases.c.id == deadlines.c.case_id)
                .where(
                    cases.c.program_key == program,
                    deadlines.c.status == "pending",
                    # a deadline is due at the midnight that ends its last day: one due at
                    # Monday 00:00 ended last Sunday, one due next Monday 00:00 ends this Sunday
                    deadlines.c.due_at > shanghai_day_start(monday),
                    deadlines.c.due_at <= shanghai_day_end(sunday),
                )
                .order_by(deadlines.c.due_at)
            )
            .mappings()
            .all()
        )
        dead = (
            conn.execute(
                sa.select(notices, cases.c.applicant_name)
                .join(cases, cases.c.id == notices.c.case_id)
                .where(cases.c.program_key == program, notices.c.status == "dead")
                .order_by(notices.c.id.desc())
            )
            .mappings()
            .all()
        )
    return {
        "counts": state_counts(engine, program),
        "due_soon": due_soon,
        "week": (monday, sunday),
        "dead": dead,
        "staff_refusals": staff_refusal_counts(engine, program),  # e.g. filed through an intermediary (LG-AGENT-1)
    }


def export_rows(engine: Engine, program: str, *, publicity_only: bool) -> list[dict[str, Any]]:
    next_due = _next_due()
    query = (
        sa.select(cases, next_due.c.next_due)
        .outerjoin(next_due, next_due.c.case_id == cases.c.id)
        .where(cases.c.program_key == program)
        .order_by(cases.c.submitted_at.is_(None), cases.c.submitted_at, cases.c.id)
    )
    if publicity_only:
        query = query.where(cases.c.state.in_(PUBLICITY_STATES))
    with read_only(engine.database) as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def open_deadline_statuses() -> tuple[str, ...]:
    return OPEN_STATUSES


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(SHANGHAI).strftime(fmt) if value else ""


def due(value: datetime | None) -> str:
    """A due instant as reviewers say it: the midnight ending a last day is that day's 24:00."""
    if value is None:
        return ""
    moment = value.astimezone(SHANGHAI)
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return f"{(moment - timedelta(days=1)).strftime('%Y-%m-%d')} 24:00"
    return moment.strftime("%Y-%m-%d %H:%M")
