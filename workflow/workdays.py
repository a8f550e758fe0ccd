"""The official PRC working-day calendar.

Working days follow the State Council's yearly arrangement: weekends are off except the
make-up working days (调休上班), statutory holidays are off. The data comes from the
``chinesecalendar`` package (verified against the notices for 2024-2026); staff
overrides (an extra closure for a typhoon, a corrected date) apply on top. For a year
the package does not know, :class:`WorkingDayCalendar` raises
:class:`~workflow.errors.CalendarYearUnknown` rather than guess silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

from workflow.errors import CalendarYearUnknown, InvalidInput

_HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


@dataclass(frozen=True, slots=True)
class DayNote:
    """Why one calendar day counts as a working day or not."""

    day: date
    working: bool
    why: str
    holiday: str | None = None

    def __repr__(self) -> str:
        return f"DayNote({self.day.isoformat()}, working={self.working}, {self.why!r})"


@dataclass(frozen=True, slots=True)
class CalendarOverride:
    """A staff correction of one day: ``working`` is what the day really is."""

    day: date
    working: bool
    reason: str


class WorkingDayCalendar:
    """Answers "is this a working day" and "N working days after this date"."""

    def __init__(self, overrides: Mapping[date, CalendarOverride] | None = None) -> None:
        self._overrides = dict(overrides or {})

    def note(self, day: date) -> DayNote:
        """Classify ``day`` and say why, overrides first."""
        override = self._overrides.get(day)
        if override is not None:
            kind = "working day" if override.working else "closure"
            return DayNote(day, override.working, f"staff override ({kind}): {override.reason}")
        try:
            working = chinese_calendar.is_workday(day)
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError as exc:
            raise CalendarYearUnknown(day.year) from exc
        weekend = day.weekday() >= 5
        if working and weekend:
            label = f" for {name}" if name else ""
            return DayNote(day, True, f"make-up working day{label}")
        if working:
            return DayNote(day, True, "working day")
        if on_holiday and name:
            return DayNote(day, False, f"{name} holiday ({_HOLIDAY_NAMES_ZH.get(name, name)})", holiday=name)
        return DayNote(day, False, "weekend")

    def is_working_day(self, day: date) -> bool:
        return self.note(day).working

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
        return self.walk(start, count)[-1].day if count else start

    def walk(self, start: date, count: int) -> list[DayNote]:
        """Every day after ``start`` up to the ``count``-th working day, with its note."""
        if count < 0:
            raise InvalidInput("working days must not be negative", field="working_days")
        notes: list[DayNote] = []
        counted = 0
        for day in _days_after(start):
            if counted == count:
                break
            note = self.note(day)
            notes.append(note)
            counted += note.working
        return notes

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open interval ``(start, end]``."""
        return sum(self.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


def _days_after(start: date) -> Iterator[date]:
    day = start
    while True:
        day += timedelta(days=1)
        yield day


def summarise(notes: list[DayNote]) -> list[str]:
    """Collapse a walk into lines such as ``2025-10-01..08 National Day holiday (skipped)``.

    Consecutive days with the same reason form one line; a holiday run that spans two
    festivals (National Day and Mid-autumn in 2025) is one line naming both.
    """
    runs: list[list[DayNote]] = []
    for note in notes:
        last = runs[-1][-1] if runs else None
        same = (
            last is not None
            and note.day - last.day == timedelta(days=1)
            and (note.why == last.why or (note.holiday is not None and last.holiday is not None))
        )
        if same:
            runs[-1].append(note)
        else:
            runs.append([note])
    return [_describe(run) for run in runs]


def _describe(run: list[DayNote]) -> str:
    first, last = run[0].day, run[-1].day
    if first == last:
        span = first.isoformat()
    elif (first.year, first.month) == (last.year, last.month):
        span = f"{first.isoformat()}..{last.strftime('%d')}"
    else:
        span = f"{first.isoformat()}..{last.isoformat()}"
    names = list(dict.fromkeys(n.holiday for n in run if n.holiday))
    if len(names) > 1:
        zh = "、".join(_HOLIDAY_NAMES_ZH.get(n, n) for n in names)
        why = f"{' and '.join(names)} holiday ({zh})"
    else:
        why = run[0].why
    return f"{span} {why} ({'counted' if run[0].working else 'skipped'})"
