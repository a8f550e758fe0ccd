"""The read side of the console: the work queue, counts, round overview, CSV rows (over :mod:`workflow.read_model`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from app.refusal_counts import staff_refusal_counts
from workflow import read_model
from workflow.clock import SHANGHAI, shanghai_day_end, shanghai_day_start
from workflow.engine import Engine

PAGE = 50


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


def queue(engine: Engine, f: QueueFilter) -> tuple[list[dict[str, Any]], int]:
    """Cases of one program matching the filter, sorted and paginated, with the total."""
    now = engine.clock.now()
    due_by = None
    if f.due_within is not None:
        today = now.astimezone(SHANGHAI).date()
        due_by = shanghai_day_end(engine.calendar.add_working_days(today, f.due_within))
    query = read_model.CaseQuery(
        program=f.program,
        state=f.state,
        search=f.q,
        due_before=now if f.overdue else None,
        due_by=due_by,
        order="due" if f.sort == "due" else "submitted",
        limit=PAGE,
        offset=(max(f.page, 1) - 1) * PAGE,
        running_only=True,
    )
    return read_model.case_page(engine.database, query)


def state_counts(engine: Engine, program: str) -> dict[str, int]:
    return read_model.state_counts(engine.database, program)


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
    # a deadline is due at the midnight that ends its last day: one due at Monday 00:00 ended
    # last Sunday, one due next Monday 00:00 ends this Sunday
    due_soon = read_model.running_deadlines_due(
        engine.database, program, after=shanghai_day_start(monday), until=shanghai_day_end(sunday)
    )
    return {
        "counts": state_counts(engine, program),
        "due_soon": due_soon,
        "week": (monday, sunday),
        "dead": read_model.dead_notices(engine.database, program),
        "staff_refusals": staff_refusal_counts(engine, program),  # e.g. filed through an intermediary (LG-AGENT-1)
    }


def export_rows(engine: Engine, program: str, *, publicity_only: bool) -> list[dict[str, Any]]:
    """A program's cases in submission order (only those in publicity for the publicity list)."""
    states = engine.programs.get(program).definition.publicity_states if publicity_only else ()
    query = read_model.CaseQuery(program=program, states=states, order="submitted", running_only=True)
    return read_model.case_rows(engine.database, query)


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
