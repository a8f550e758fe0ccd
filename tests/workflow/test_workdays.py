"""The PRC working-day calendar: make-up days, statutory holidays, and no silent guessing."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from workflow.errors import CalendarYearUnknown
from workflow.workdays import CalendarOverride, WorkingDayCalendar, summarise

CAL = WorkingDayCalendar()


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
def test_statutory_holidays_agree_with_the_holidays_package(year: int) -> None:
    # Cross-check: every day `holidays` lists as a PRC public holiday on a weekday is off here,
    # and every day off on a weekday is a holiday there (make-up weekends are chinesecalendar's).
    reference = holidays.country_holidays("CN", years=year, categories=("public",))
    day = date(year, 1, 1)
    while day.year == year:
        if day.weekday() < 5:
            assert CAL.is_working_day(day) == (day not in reference), day
        day += timedelta(days=1)


def test_unknown_year_is_an_error_not_a_guess() -> None:
    with pytest.raises(CalendarYearUnknown) as raised:
        CAL.add_working_days(date(2026, 12, 28), 5)
    assert raised.value.year == 2027


def test_staff_override_applies_on_top() -> None:
    typhoon = WorkingDayCalendar({date(2025, 9, 24): CalendarOverride(date(2025, 9, 24), False, "台风停工")})
    assert not typhoon.is_working_day(date(2025, 9, 24))
    assert "台风停工" in typhoon.note(date(2025, 9, 24)).why
    assert typhoon.add_working_days(date(2025, 9, 22), 2) == date(2025, 9, 25)
