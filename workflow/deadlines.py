"""How a deadline's due time follows from its rule, its start, and its ledger.

A working-day deadline is a budget: N working days counted from the day after its clock
started, ending at the end of the last one in Asia/Shanghai. Its ledger records, in order,
staff extensions (more working days) and suspensions: while suspended the clock stops,
whole days from the suspension day up to the day before the resumption (the days in
``[suspended, resumed)``, so a suspension and resumption on the same day changes nothing),
so a 5-day deadline suspended after 2 days has 3 left when it resumes. An extension while
suspended adds working days without restarting the clock. A fixed-time deadline (a
window's close) moves by the same extensions, and a suspension shifts it by the time
it was suspended. The due time is always derived from rule, start and ledger, never
edited by hand, so it can be explained (:func:`explain`) and recomputed when the
calendar changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from workflow.clock import SHANGHAI, shanghai_day_end
from workflow.workdays import DayNote, WorkingDayCalendar, day_runs, summarise


@dataclass(frozen=True, slots=True)
class ExplanationLine:
    """One line of a deadline's explanation: its English ``text`` and its structure.

    ``code`` says what the line is (``clock_started``, ``days``, ``suspended_left``, ``due_by``,
    ``estimated``, ``ledger``) and ``params`` its figures, so each surface can say it in its own
    language (the console in zh-CN) instead of parsing the English.
    """

    code: str
    text: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DueTime:
    """The derived due instant (``None`` while suspended) and how it was reached."""

    due_at: datetime | None
    last_day: date | None
    walk: tuple[DayNote, ...] = ()
    remaining_working_days: int | None = None
    estimated: bool = False

    @property
    def suspended(self) -> bool:
        return self.due_at is None


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
    """Derive the due instant from the rule, the start and the ledger."""
    if working_days is None:
        assert fixed_due is not None
        return _fixed(fixed_due, ledger, calendar)
    return _working(working_days, started_at, ledger, calendar)


def _working(
    budget: int, started_at: datetime, ledger: Sequence[Mapping[str, Any]], calendar: WorkingDayCalendar
) -> DueTime:
    budget += sum(int(e.get("working_days", 0)) for e in ledger if e.get("kind") == "extend")
    cursor = shanghai_date(started_at)  # counting starts the day after
    used = 0
    walk: list[DayNote] = []
    why = "suspended"
    suspended = False  # an extension while suspended adds days but does not restart the clock
    for entry in ledger:
        if entry.get("kind") == "suspend":
            suspended = True
            why = f"suspended: {entry.get('reason') or 'clock stopped'}"
            stop = shanghai_date(datetime.fromisoformat(entry["at"]))
            while cursor + timedelta(days=1) < stop and used < budget:
                cursor += timedelta(days=1)
                note = calendar.note(cursor)
                walk.append(note)
                used += note.working
            cursor = max(cursor, stop - timedelta(days=1))
        elif entry.get("kind") == "resume":
            suspended = False
            restart = shanghai_date(datetime.fromisoformat(entry["at"]))
            suspended_from = cursor + timedelta(days=1)
            walk.extend(
                DayNote(suspended_from + timedelta(days=i), False, why) for i in range((restart - suspended_from).days)
            )
            cursor = max(cursor, restart - timedelta(days=1))
    if suspended:
        return DueTime(None, None, tuple(walk), budget - used, any(n.estimated for n in walk))
    remaining = budget - used
    rest = calendar.walk(cursor, remaining) if remaining > 0 else []
    walk.extend(rest)
    last_day = rest[-1].day if rest else cursor
    # an extension "to a date" is a promise: a later calendar correction never pulls it earlier
    promised = [date.fromisoformat(e["to_date"]) for e in ledger if e.get("kind") == "extend" and e.get("to_date")]
    if promised and max(promised) > last_day:
        last_day = max(promised)
    return DueTime(shanghai_day_end(last_day), last_day, tuple(walk), remaining, any(n.estimated for n in walk))


def _fixed(fixed_due: datetime, ledger: Sequence[Mapping[str, Any]], calendar: WorkingDayCalendar) -> DueTime:
    due = fixed_due
    walk: list[DayNote] = []
    suspended_at: datetime | None = None
    for entry in ledger:
        kind = entry.get("kind")
        if kind == "extend":
            start = shanghai_date(due - timedelta(microseconds=1))
            notes = calendar.walk(start, int(entry["working_days"]))
            walk.extend(notes)
            due = shanghai_day_end(notes[-1].day)
        elif kind == "suspend":
            suspended_at = datetime.fromisoformat(entry["at"])
        elif kind == "resume" and suspended_at is not None:
            due += datetime.fromisoformat(entry["at"]) - suspended_at
            suspended_at = None
    if suspended_at is not None:
        return DueTime(None, None, tuple(walk), None, any(n.estimated for n in walk))
    last_day = shanghai_date(due - timedelta(microseconds=1))
    return DueTime(due, last_day, tuple(walk), None, any(n.estimated for n in walk))


def explain_lines(due: DueTime) -> list[ExplanationLine]:
    """The days counted and skipped, one line per run, ending with the due time (see :class:`ExplanationLine`)."""
    lines = [ExplanationLine("days", summarise(run)[0], day_run(run)) for run in day_runs(list(due.walk))]
    if due.due_at is None:
        left = due.remaining_working_days
        lines.append(
            ExplanationLine(
                "suspended_left", f"suspended: {left} working day(s) left when it resumes", {"working_days": left}
            )
        )
    else:
        local = (due.due_at - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
        lines.append(
            ExplanationLine(
                "due_by", f"due by the end of {local.isoformat()} (Asia/Shanghai)", {"last_day": local.isoformat()}
            )
        )
    if due.estimated:
        text = "estimated: part of this period falls in a year whose official arrangement is not known yet"
        lines.append(ExplanationLine("estimated", text, {}))
    return lines


def day_run(run: list[DayNote]) -> dict[str, Any]:
    """A run of days as data: its span, whether it counts, and why (``kind`` with its details).

    ``kind`` is ``working``, ``weekend``, ``holiday`` (``holidays`` names them), ``makeup`` (a
    make-up working day, ``for`` the festival), ``override`` (a staff correction, ``reason``)
    or ``suspended`` (the clock stopped, ``reason``); ``estimated`` when no official
    arrangement for the year was known.
    """
    first = run[0]
    why = first.why
    params: dict[str, Any] = {
        "first": first.day.isoformat(),
        "last": run[-1].day.isoformat(),
        "working": first.working,
        "estimated": any(n.estimated for n in run),
        "holidays": list(dict.fromkeys(n.holiday for n in run if n.holiday)),
    }
    if params["holidays"]:
        params["kind"] = "holiday"
    elif why.startswith("staff override"):
        params.update(kind="override", reason=why.partition(": ")[2])
    elif why.startswith("suspended"):
        params.update(kind="suspended", reason=why.partition(": ")[2])
    elif why.startswith("make-up working day"):
        params.update(kind="makeup", **{"for": why.partition(" for ")[2]})
    elif why.startswith("weekend"):
        params["kind"] = "weekend"
    else:
        params["kind"] = "working"
    return params
