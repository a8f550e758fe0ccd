"""Reminder ladders: when each rung of a deadline's reminders falls, and until when it makes sense."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from workflow.clock import SHANGHAI
from workflow.definition import DeadlineRule, ReminderRung
from workflow.workdays import WorkingDayCalendar


@dataclass(frozen=True, slots=True)
class RungTime:
    index: int
    rung: ReminderRung
    moment: datetime
    valid_until: datetime


def _day_of(rung: ReminderRung, last_day: date, calendar: WorkingDayCalendar) -> date:
    if rung.calendar_days_before is not None:
        return last_day - timedelta(days=rung.calendar_days_before)
    day, left = last_day, rung.working_days_before or 0
    while left > 0:
        day -= timedelta(days=1)
        left -= calendar.is_working_day(day)
    return day


def ladder(rule: DeadlineRule, *, due_at: datetime, last_day: date, calendar: WorkingDayCalendar) -> list[RungTime]:
    """The rungs in time order, each valid until the next one (the last until the due time)."""
    moments = sorted(
        (
            datetime.combine(_day_of(rung, last_day, calendar), rung.at, tzinfo=SHANGHAI).astimezone(due_at.tzinfo),
            i,
            rung,
        )
        for i, rung in enumerate(rule.reminders)
    )
    out: list[RungTime] = []
    for position, (moment, index, rung) in enumerate(moments):
        following = moments[position + 1][0] if position + 1 < len(moments) else due_at
        out.append(RungTime(index, rung, moment, min(following, due_at)))
    return out


def next_rung(rungs: list[RungTime], *, sent_before: int, now: datetime) -> tuple[int, datetime | None]:
    """Position and moment of the next rung still to consider (``None`` when none is left).

    Rungs whose validity ended before ``now`` are passed over, so a schedule that moved
    (extension, recomputation) does not fire rungs that no longer make sense.
    """
    for position in range(sent_before, len(rungs)):
        if rungs[position].valid_until > now:
            return position, rungs[position].moment
    return len(rungs), None
