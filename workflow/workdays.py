"""The official PRC working-day calendar.

Working days follow the State Council's yearly arrangement: weekends are off except the
make-up working days (调休上班), statutory holidays are off. The data comes from the
``chinesecalendar`` package (verified against the notices for 2024-2026); staff
overrides (an extra closure for a typhoon, a corrected date) apply on top. For a year
the package does not know, the calendar does not guess silently: it uses an official
arrangement loaded into the database (:class:`YearArrangement`, ``filingflow calendar
load``), else an *estimate* (weekends plus the fixed-date statutory holidays) whose every
note is marked ``estimated`` so deadlines computed from it say so, and are recomputed when
the official data arrives; ``strict=True`` raises
:class:`~workflow.errors.CalendarYearUnknown` instead.
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


# Statutory holidays on fixed Gregorian dates (State Council rules as amended in 2024):
# New Year's Day, Labour Day (two days), National Day (three days). The lunar festivals and
# the make-up working days are only known once a year's arrangement is published.
FIXED_DATE_HOLIDAYS = {
    (1, 1): "New Year's Day",
    (5, 1): "Labour Day",
    (5, 2): "Labour Day",
    (10, 1): "National Day",
    (10, 2): "National Day",
    (10, 3): "National Day",
}


@dataclass(frozen=True, slots=True)
class DayNote:
    """Why one calendar day counts as a working day or not."""

    day: date
    working: bool
    why: str
    holiday: str | None = None
    estimated: bool = False

    def __repr__(self) -> str:
        return f"DayNote({self.day.isoformat()}, working={self.working}, {self.why!r})"


@dataclass(frozen=True, slots=True)
class YearArrangement:
    """A year's official arrangement: its days off and its make-up working days."""

    year: int
    holidays: Mapping[date, str]
    workdays: Mapping[date, str]
    source: str = "loaded"

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> YearArrangement:
        """Parse ``{"year": 2027, "holidays": {"2027-01-01": "New Year's Day"}, "workdays": {...}}``."""
        try:
            year = int(str(raw["year"]))
            holidays = {date.fromisoformat(k): str(v) for k, v in _mapping(raw.get("holidays")).items()}
            workdays = {date.fromisoformat(k): str(v) for k, v in _mapping(raw.get("workdays")).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"calendar file is malformed: {exc}", field="calendar") from None
        for day in (*holidays, *workdays):
            if day.year != year:
                raise InvalidInput(f"{day} is not in {year}", field="calendar")
        overlap = sorted(set(holidays) & set(workdays))
        if overlap:
            raise InvalidInput(f"{overlap[0]} is listed both as a holiday and a working day", field="calendar")
        return cls(year, holidays, workdays, str(raw.get("source") or "loaded"))

    def to_json(self) -> dict[str, object]:
        return {
            "year": self.year,
            "holidays": {d.isoformat(): n for d, n in sorted(self.holidays.items())},
            "workdays": {d.isoformat(): n for d, n in sorted(self.workdays.items())},
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class CalendarOverride:
    """A staff correction of one day: ``working`` is what the day really is."""

    day: date
    working: bool
    reason: str


class WorkingDayCalendar:
    """Answers "is this a working day" and "N working days after this date"."""

    def __init__(
        self,
        overrides: Mapping[date, CalendarOverride] | None = None,
        arrangements: Mapping[int, YearArrangement] | None = None,
        *,
        strict: bool = False,
        package_until: int | None = None,
    ) -> None:
        self._overrides = dict(overrides or {})
        self._arrangements = dict(arrangements or {})
        self.strict = strict
        self.package_until = package_until
        """Trust the package only up to this year (tests pin it; ``None``: every year it has)."""
        self._notes: dict[date, DayNote] = {}  # note() is pure per instance; the package's lookups are slow

    def with_data(
        self, overrides: Mapping[date, CalendarOverride], arrangements: Mapping[int, YearArrangement]
    ) -> WorkingDayCalendar:
        """The same calendar policy over new staff overrides and loaded arrangements."""
        return WorkingDayCalendar(overrides, arrangements, strict=self.strict, package_until=self.package_until)

    def signature(self, around: int) -> tuple[object, ...]:
        """What decides working days near ``around``: changes when data is loaded or the package learns a year."""
        return (
            tuple(sorted((d, o.working) for d, o in self._overrides.items())),
            tuple(sorted((y, a.to_json().__repr__()) for y, a in self._arrangements.items())),
            tuple(self.knows(y) for y in range(around - 1, around + 3)),
        )

    def knows(self, year: int) -> bool:
        """True when the year's official arrangement is known (loaded or packaged)."""
        if year in self._arrangements:
            return True
        return self._package_knows(year)

    def _package_knows(self, year: int) -> bool:
        if self.package_until is not None and year > self.package_until:
            return False
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def note(self, day: date) -> DayNote:
        """Classify ``day`` and say why: staff override, loaded arrangement, package, estimate."""
        known = self._notes.get(day)
        if known is None:
            known = self._notes[day] = self._classify(day)
        return known

    def _classify(self, day: date) -> DayNote:
        override = self._overrides.get(day)
        if override is not None:
            kind = "working day" if override.working else "closure"
            return DayNote(day, override.working, f"staff override ({kind}): {override.reason}")
        weekend = day.weekday() >= 5
        arrangement = self._arrangements.get(day.year)
        if arrangement is not None:
            if day in arrangement.workdays:
                return DayNote(day, True, f"make-up working day for {arrangement.workdays[day]}")
            if day in arrangement.holidays:
                name = arrangement.holidays[day]
                return DayNote(day, False, f"{name} holiday ({_HOLIDAY_NAMES_ZH.get(name, name)})", holiday=name)
            return DayNote(day, not weekend, "weekend" if weekend else "working day")
        try:
            if self.package_until is not None and day.year > self.package_until:
                raise NotImplementedError(f"the package is trusted only up to {self.package_until}")
            working = chinese_calendar.is_workday(day)
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError as exc:
            if self.strict:
                raise CalendarYearUnknown(day.year) from exc
            return _estimate(day)
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


def _mapping(value: object) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError("holidays and workdays must be objects of date: name")
    return value


def _estimate(day: date) -> DayNote:
    name = FIXED_DATE_HOLIDAYS.get((day.month, day.day))
    if name is not None:
        zh = _HOLIDAY_NAMES_ZH.get(name, name)
        return DayNote(day, False, f"{name} holiday ({zh}), estimated", holiday=name, estimated=True)
    if day.weekday() >= 5:
        return DayNote(day, False, "weekend, estimated", estimated=True)
    return DayNote(day, True, f"working day, estimated (no official arrangement for {day.year} yet)", estimated=True)


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
    return [_describe(run) for run in day_runs(notes)]


def day_runs(notes: list[DayNote]) -> list[list[DayNote]]:
    """Consecutive days with the same reason (or one holiday spell across festivals), as runs."""
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
    return runs


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
