"""The PRC working-day calendar: make-up days, statutory holidays, and no silent guessing."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from workflow.errors import CalendarYearUnknown, InvalidInput
from workflow.workdays import CalendarOverride, WorkingDayCalendar, YearArrangement, summarise

CAL = WorkingDayCalendar(package_until=2026)  # 2027 stays unpublished here whatever the package knows


def test_national_day_2025() -> None:
    # 2025: Oct 1-8 off, Sun Sep 28 and Sat Oct 11 are make-up working days
    assert CAL.is_working_day(date(2025, 9, 28))
    assert CAL.is_working_day(date(2025, 10, 11))
    assert not any(CAL.is_working_day(date(2025, 10, d)) for d in range(1, 9))
    assert CAL.add_working_days(date(2025, 9, 26), 5) == date(2025, 10, 10)


def test_spring_festival_2025() -> None:
    # 2025: Jan 28 - Feb 4 off, Sun Jan 26 and Sat Feb 8 are working days
    assert CAL.is_working_day(date(2025, 1, 26))
    assert CAL.is_working_day(date(2025, 2, 8))
    assert not any(CAL.is_working_day(date(2025, 1, 28) + timedelta(days=i)) for i in range(8))
    assert CAL.add_working_days(date(2025, 1, 24), 4) == date(2025, 2, 6)  # 26, 27, then Feb 5, 6


def test_explanation_names_skipped_and_make_up_days() -> None:
    lines = summarise(CAL.walk(date(2025, 9, 26), 5))
    assert "2025-09-28 make-up working day for National Day (counted)" in lines
    assert "2025-10-01..08 National Day and Mid-autumn Festival holiday (国庆节、中秋节) (skipped)" in lines
    assert lines[-1] == "2025-10-09..10 working day (counted)"


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_every_day_agrees_with_the_holidays_package(year: int) -> None:
    # Cross-check of every day, weekends included: statutory holidays and make-up working days alike
    reference = holidays.country_holidays("CN", years=year)
    day = date(year, 1, 1)
    while day.year == year:
        assert CAL.is_working_day(day) == reference.is_working_day(day), day
        day += timedelta(days=1)


# The make-up working days (调休上班) of the State Council's notices, Saturdays and Sundays that are worked
MAKE_UP_DAYS = {
    2024: ["02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12"],
    2025: ["01-26", "02-08", "04-27", "09-28", "10-11"],
    2026: ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"],
}


@pytest.mark.parametrize("year", sorted(MAKE_UP_DAYS))
def test_make_up_working_days_match_the_notices(year: int) -> None:
    worked_weekends = []
    day = date(year, 1, 1)
    while day.year == year:
        if day.weekday() >= 5 and CAL.is_working_day(day):
            worked_weekends.append(day.strftime("%m-%d"))
        day += timedelta(days=1)
    assert worked_weekends == MAKE_UP_DAYS[year]


def test_unknown_year_is_estimated_and_marked_not_guessed_silently() -> None:
    # 2027 is not yet published: weekends and fixed-date holidays only, every day marked estimated
    notes = CAL.walk(date(2026, 12, 28), 5)
    assert [n.day for n in notes if n.working] == [
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 4),
        date(2027, 1, 5),
    ]
    assert not any(n.estimated for n in notes if n.day.year == 2026)
    assert all(n.estimated for n in notes if n.day.year == 2027)
    assert "New Year's Day holiday (元旦), estimated" in CAL.note(date(2027, 1, 1)).why
    assert not CAL.knows(2027)
    assert CAL.knows(2026)


def test_strict_calendar_refuses_an_unknown_year() -> None:
    with pytest.raises(CalendarYearUnknown) as raised:
        WorkingDayCalendar(strict=True).add_working_days(date(2026, 12, 28), 5)
    assert raised.value.year == 2027


def test_a_loaded_arrangement_replaces_the_estimate() -> None:
    arrangement = YearArrangement.from_json(
        {
            "year": 2027,
            "holidays": {"2027-01-01": "New Year's Day", "2027-01-04": "New Year's Day"},
            "workdays": {"2027-01-09": "New Year's Day"},
        }
    )
    loaded = WorkingDayCalendar(arrangements={2027: arrangement})
    assert loaded.knows(2027)
    assert not loaded.is_working_day(date(2027, 1, 4))
    assert loaded.is_working_day(date(2027, 1, 9))
    assert loaded.note(date(2027, 1, 9)).why == "make-up working day for New Year's Day"
    assert not loaded.note(date(2027, 1, 5)).estimated


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"holidays": {}}, "malformed"),
        ({"year": 2027, "holidays": {"2027-13-01": "x"}}, "malformed"),
        ({"year": 2027, "holidays": {"2028-01-01": "x"}}, "not in 2027"),
        ({"year": 2027, "holidays": {"2027-01-01": "x"}, "workdays": {"2027-01-01": "x"}}, "both"),
        ({"year": 2027, "holidays": ["2027-01-01"]}, "malformed"),
    ],
)
def test_malformed_calendar_files_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        YearArrangement.from_json(raw)
    assert message in str(refused.value)
    assert refused.value.field == "calendar"


def test_staff_override_applies_on_top() -> None:
    typhoon = WorkingDayCalendar({date(2025, 9, 24): CalendarOverride(date(2025, 9, 24), False, "台风停工")})
    assert not typhoon.is_working_day(date(2025, 9, 24))
    assert "台风停工" in typhoon.note(date(2025, 9, 24)).why
    assert typhoon.add_working_days(date(2025, 9, 22), 2) == date(2025, 9, 25)
