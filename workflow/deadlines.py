"""How a deadline's due time follows from its rule, its start, and its ledger.

A working-day deadline is a budget: N working days counted from the day after its clock
started, ending at the end of the last one in Asia/Shanghai. Its ledger records staff
extensions (more working days, or a new date); the due time is always derived from rule,
start and ledger, never edited by hand, so it can be explained and recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from workflow.clock import SHANGHAI, shanghai_day_end
from workflow.workdays import DayNote, WorkingDayCalendar


@dataclass(frozen=True, slots=True)
class DueTime:
    due_at: datetime
    last_day: date | None
    walk: tuple[DayNote, ...] = ()


def shanghai_date(instant: datetime) -> date:
    return instant.astimezone(SHANGHAI).date()


def compute_due(
    *,
    working_days: int | None,
    fixed_due: datetime | None,
    started_at: datetime,
    ledger: Sequence[Mapping[str, Any]],
    calendar: WorkingDayCalendar,
) -> DueTime:
    """Derive the due instant from the rule, the start and the ledger's extensions."""
    extra = sum(int(entry.get("working_days", 0)) for entry in ledger if entry.get("kind") == "extend")
    moved_to = [entry["to_date"] for entry in ledger if entry.get("kind") == "extend_to"]
    if working_days is None:
        assert fixed_due is not None
        due = fixed_due
        walk: tuple[DayNote, ...] = ()
        last_day: date | None = None
        if extra:
            start = shanghai_date(fixed_due - timedelta(microseconds=1))
            notes = calendar.walk(start, extra)
            last_day = notes[-1].day
            due = shanghai_day_end(last_day)
            walk = tuple(notes)
    else:
        notes = calendar.walk(shanghai_date(started_at), working_days + extra)
        last_day = notes[-1].day
        due = shanghai_day_end(last_day)
        walk = tuple(notes)
    if moved_to:
        target = date.fromisoformat(moved_to[-1])
        moved_due = shanghai_day_end(target)
        if moved_due > due:
            due, last_day = moved_due, target
    return DueTime(due_at=due, last_day=last_day, walk=walk)
