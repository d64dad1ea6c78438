"""The Chinese statutory working-day calendar and estate overrides: the arithmetic every
clock counted in working days relies on (C-11's same day and Q-5's weekly moment are named
where they are what is tested)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from holidays.utils import country_holidays

from procedures import calendar as calendar_module
from procedures.calendar import WorkingCalendar
from tests.support.calendar import PUBLISHED, UNPUBLISHED

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A local time in Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture
def cal() -> WorkingCalendar:
    """The statutory calendar with default hours (09:00–17:30, Asia/Shanghai)."""
    return WorkingCalendar()


# -- working days ----------------------------------------------------------------------


def test_calendar_national_day_2026_is_off(cal: WorkingCalendar) -> None:
    """1–7 October 2026 are statutory days off; the 8th is a working Thursday."""
    for day in range(1, 8):
        assert not cal.is_working_day(date(2026, 10, day)), day
    assert cal.is_working_day(date(2026, 10, 8))
    assert cal.is_working_day(date(2026, 9, 30))


def test_calendar_make_up_weekend_days_of_national_day_2026_are_working(
    cal: WorkingCalendar,
) -> None:
    """调休: Sunday 20 September and Saturday 10 October 2026 are make-up workdays."""
    assert date(2026, 9, 20).weekday() == 6
    assert date(2026, 10, 10).weekday() == 5
    assert cal.is_working_day(date(2026, 9, 20))
    assert cal.is_working_day(date(2026, 10, 10))
    # Ordinary weekends around them are not.
    assert not cal.is_working_day(date(2026, 9, 19))
    assert not cal.is_working_day(date(2026, 10, 11))


def test_calendar_spring_festival_2026(cal: WorkingCalendar) -> None:
    """Spring Festival 2026 is 15–23 February off, with Saturdays 14 and 28 worked."""
    for day in range(15, 24):
        assert not cal.is_working_day(date(2026, 2, day)), day
    assert cal.is_working_day(date(2026, 2, 13))
    assert cal.is_working_day(date(2026, 2, 14))
    assert cal.is_working_day(date(2026, 2, 24))
    assert cal.is_working_day(date(2026, 2, 28))


def test_calendar_ordinary_week(cal: WorkingCalendar) -> None:
    """An ordinary week is Monday to Friday."""
    week = [date(2026, 3, 9) + timedelta(days=i) for i in range(7)]
    assert [cal.is_working_day(d) for d in week] == [True] * 5 + [False] * 2


def test_calendar_estate_adds_a_make_up_day_of_an_unpublished_year() -> None:
    """An estate copies a make-up Saturday the library does not know yet."""
    saturday = next(d for d in (date(UNPUBLISHED, 6, n) for n in range(1, 8)) if d.weekday() == 5)
    assert not WorkingCalendar().is_working_day(saturday)
    estate = WorkingCalendar(extra_workdays={saturday})
    assert estate.is_working_day(saturday)
    assert estate.schedule_known(UNPUBLISHED)


def test_calendar_extra_workday_corrects_a_guessed_holiday() -> None:
    """An extra workday wins over a statutory holiday (a day off of a year whose
    schedule is not published, as the library guesses it)."""
    guessed = date(UNPUBLISHED, 10, 1)  # National Day
    assert not WorkingCalendar().is_working_day(guessed)
    assert WorkingCalendar(extra_workdays={guessed}).is_working_day(guessed)


def test_calendar_extra_holidays_win_over_everything() -> None:
    """An estate's own day off beats a weekday, a make-up day and an extra workday."""
    weekday, make_up = date(2026, 3, 10), date(2026, 10, 10)
    cal = WorkingCalendar(extra_holidays={weekday, make_up}, extra_workdays={weekday})
    assert not cal.is_working_day(weekday)
    assert not cal.is_working_day(make_up)


def test_calendar_schedule_known_for_published_years_only(cal: WorkingCalendar) -> None:
    """2026's 调休 are published; the next unpublished year's are not (ENVIRONMENT.md),
    until an estate marks it known."""
    assert cal.schedule_known(2026) and cal.schedule_known(PUBLISHED)
    assert not cal.schedule_known(UNPUBLISHED)
    assert WorkingCalendar(known_years={UNPUBLISHED}).schedule_known(UNPUBLISHED)


def test_calendar_unknown_years_between(cal: WorkingCalendar) -> None:
    """A deadline running into an unpublished year is flagged so the admins can be
    warned."""
    last, new = PUBLISHED, UNPUBLISHED
    assert cal.unknown_years_between(date(last, 12, 20), date(new, 1, 10)) == [new]
    assert cal.unknown_years_between(date(new, 1, 10), date(last, 12, 20)) == [new]
    assert cal.unknown_years_between(date(last, 1, 1), date(last, 12, 31)) == []
    # A datetime is read in the estate's time zone: 31 Dec 17:00 UTC is New Year in Shanghai.
    new_year = datetime(last, 12, 31, 17, 0, tzinfo=UTC)
    assert cal.unknown_years_between(sh(last, 12, 30), new_year) == [new]
    assert (
        WorkingCalendar(known_years={new}).unknown_years_between(
            date(last, 12, 20), date(new, 1, 10)
        )
        == []
    )


def test_calendar_statutory_days_cached_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library is asked once per year, not once per day."""
    calls: list[object] = []

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("years"))
        return country_holidays(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(calendar_module, "country_holidays", counting)
    cal = WorkingCalendar()
    for offset in range(365 * 2):
        cal.is_working_day(date(2026, 1, 1) + timedelta(days=offset))
    assert len(calls) == 2


# -- "within n working days" ---------------------------------------------------------


def test_calendar_last_working_day_before_national_day_lands_on_oct_8(cal: WorkingCalendar) -> None:
    """One working day from 16:00 on Wed 30 Sep 2026 (last working day) → Oct 8, 16:00.

    In 2026 the Friday before National Day (25 September) is itself the Mid-Autumn
    holiday, so the last working day before the break is Wednesday the 30th.
    """
    assert not cal.is_working_day(date(2026, 9, 25))
    due = cal.add_working_days(sh(2026, 9, 30, 16), 1)
    assert due == sh(2026, 10, 8, 16)
    assert due.tzinfo is UTC


def test_calendar_friday_before_spring_festival_lands_on_make_up_saturday(
    cal: WorkingCalendar,
) -> None:
    """Friday 13 Feb 2026, 16:00 → the make-up Saturday 14 Feb, 16:00."""
    assert cal.add_working_days(sh(2026, 2, 13, 16), 1) == sh(2026, 2, 14, 16)
    # And from that Saturday across the whole Spring Festival to Tuesday the 24th.
    assert cal.add_working_days(sh(2026, 2, 14, 16), 1) == sh(2026, 2, 24, 16)


def test_calendar_make_up_saturday_counts_as_a_working_day(cal: WorkingCalendar) -> None:
    """Friday 9 Oct 2026, 16:00 → Saturday 10 Oct (调休), 16:00."""
    assert cal.add_working_days(sh(2026, 10, 9, 16), 1) == sh(2026, 10, 10, 16)
    assert cal.add_working_days(sh(2026, 10, 9, 16), 2) == sh(2026, 10, 12, 16)


def test_calendar_start_outside_hours_counts_from_next_working_day(cal: WorkingCalendar) -> None:
    """Started off hours → counted from the next working start, due at its end."""
    # During the holiday: the first working day is 8 October.
    assert cal.add_working_days(sh(2026, 10, 3, 11), 1) == sh(2026, 10, 8, 17, 30)
    # Evening of a working day: the next day's end.
    assert cal.add_working_days(sh(2026, 3, 10, 20), 1) == sh(2026, 3, 11, 17, 30)
    # Early morning of a working day: that same day's end.
    assert cal.add_working_days(sh(2026, 3, 10, 7), 1) == sh(2026, 3, 10, 17, 30)
    # Exactly at the end of the day is outside working hours.
    assert cal.add_working_days(sh(2026, 3, 10, 17, 30), 1) == sh(2026, 3, 11, 17, 30)
    # An ordinary Saturday before the make-up Sunday 20 September.
    assert cal.add_working_days(sh(2026, 9, 19, 10), 1) == sh(2026, 9, 20, 17, 30)


def test_calendar_zero_and_negative_working_days(cal: WorkingCalendar) -> None:
    """0 working days is the next working moment; a negative count is refused."""
    assert cal.add_working_days(sh(2026, 10, 3, 11), 0) == sh(2026, 10, 8, 9)
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_days(sh(2026, 3, 10, 10), -1)


def test_calendar_working_time_and_back(cal: WorkingCalendar) -> None:
    """Working hours carry over days; subtracting mirrors adding."""
    start = sh(2026, 9, 30, 16)
    assert cal.add_working_time(start, timedelta(hours=2)) == sh(2026, 10, 8, 9, 30)
    assert cal.add_working_time(start, timedelta(minutes=90)) == sh(2026, 9, 30, 17, 30)
    assert cal.subtract_working_time(sh(2026, 10, 8, 9, 30), timedelta(hours=2)) == start
    assert cal.subtract_working_time(sh(2026, 10, 8, 20), timedelta(hours=1)) == sh(
        2026, 10, 8, 16, 30
    )
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_time(start, timedelta(hours=-1))


def test_calendar_custom_hours_and_one_working_day_length() -> None:
    """An estate's own office hours change the length of a working day."""
    cal = WorkingCalendar(workday_start=time(8, 30), workday_end=time(18, 0))
    assert cal.workday_length == timedelta(hours=9, minutes=30)
    assert cal.add_working_days(sh(2026, 3, 10, 8), 1) == sh(2026, 3, 10, 18)


def test_calendar_bad_settings() -> None:
    """An end before the start, or an unknown zone, is refused with a reason."""
    with pytest.raises(ValueError, match="start before it ends"):
        WorkingCalendar(workday_start=time(18), workday_end=time(9))
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        WorkingCalendar(tz="Mars/Olympus")


# -- time zones ------------------------------------------------------------------------


def test_calendar_utc_late_evening_is_next_local_day(cal: WorkingCalendar) -> None:
    """20:00 UTC on Friday 9 Oct is 04:00 on the make-up Saturday in Shanghai."""
    moment = datetime(2026, 10, 9, 20, 0, tzinfo=UTC)
    assert cal.local(moment).date() == date(2026, 10, 10)
    assert cal.next_working_moment(moment) == datetime(2026, 10, 10, 1, 0, tzinfo=UTC)
    assert cal.add_working_days(moment, 1) == sh(2026, 10, 10, 17, 30)
    assert cal.end_of_day(moment) == sh(2026, 10, 10, 23, 59, 59)


def test_calendar_inputs_in_any_zone_outputs_in_utc(cal: WorkingCalendar) -> None:
    """A Tokyo input gives the same UTC answer as the Shanghai one."""
    tokyo = sh(2026, 9, 30, 16).astimezone(ZoneInfo("Asia/Tokyo"))
    due = cal.add_working_days(tokyo, 1)
    assert due.tzinfo is UTC
    assert due == datetime(2026, 10, 8, 8, 0, tzinfo=UTC)


def test_calendar_naive_datetime_refused(cal: WorkingCalendar) -> None:
    """A naive datetime is ambiguous, so it is refused."""
    with pytest.raises(ValueError, match="aware"):
        cal.add_working_days(datetime(2026, 3, 10, 10), 1)


def test_calendar_estate_in_another_time_zone() -> None:
    """Working hours are read in the estate's own zone."""
    cal = WorkingCalendar(tz="Asia/Hong_Kong")
    assert cal.is_working_time(datetime(2026, 3, 10, 1, 30, tzinfo=UTC))  # 09:30 local
    assert not cal.is_working_time(datetime(2026, 3, 10, 0, 30, tzinfo=UTC))  # 08:30


# -- end of the (working) day ----------------------------------------------------------


def test_calendar_end_of_working_day(cal: WorkingCalendar) -> None:
    """The end of the working day: 17:30 that day, or of the next working day."""
    assert cal.end_of_working_day(sh(2026, 3, 10, 10)) == sh(2026, 3, 10, 17, 30)
    assert cal.end_of_working_day(sh(2026, 3, 10, 17, 30)) == sh(2026, 3, 10, 17, 30)
    assert cal.end_of_working_day(sh(2026, 3, 10, 18)) == sh(2026, 3, 11, 17, 30)
    assert cal.end_of_working_day(sh(2026, 10, 2, 10)) == sh(2026, 10, 8, 17, 30)
    assert cal.end_of_working_day(sh(2026, 10, 10, 8)) == sh(2026, 10, 10, 17, 30)


def test_c11_end_of_day_is_midnight_minus_one_second_local(cal: WorkingCalendar) -> None:
    """C-11: "the same day" ends at 23:59:59 local, holiday or not."""
    assert cal.end_of_day(sh(2026, 10, 2, 10)) == sh(2026, 10, 2, 23, 59, 59)
    assert cal.end_of_day(datetime(2026, 3, 10, 15, 0, tzinfo=UTC)) == sh(2026, 3, 10, 23, 59, 59)


def test_calendar_next_working_moment(cal: WorkingCalendar) -> None:
    """Working time is kept; off hours move to the next working start."""
    assert cal.next_working_moment(sh(2026, 3, 10, 10)) == sh(2026, 3, 10, 10)
    assert cal.next_working_moment(sh(2026, 3, 10, 7)) == sh(2026, 3, 10, 9)
    assert cal.next_working_moment(sh(2026, 3, 13, 18)) == sh(2026, 3, 16, 9)
    assert cal.next_working_moment(sh(2026, 9, 19, 12)) == sh(2026, 9, 20, 9)


# -- weekly summary --------------------------------------------------------------------


def test_q5_weekly_summary_on_an_ordinary_friday(cal: WorkingCalendar) -> None:
    """Q-5: the weekly summary is on Friday at 17:00."""
    assert cal.next_weekly(sh(2026, 3, 9, 10)) == sh(2026, 3, 13, 17)
    # Strictly after: asking at that moment gives next week's.
    assert cal.next_weekly(sh(2026, 3, 13, 17)) == sh(2026, 3, 20, 17)


def test_q5_weekly_summary_on_holiday_friday_moves_to_the_day_before(
    cal: WorkingCalendar,
) -> None:
    """Q-5, C-15, B-5: Friday 25 Sep 2026 is Mid-Autumn → Thursday 24th, 17:00."""
    assert cal.next_weekly(sh(2026, 9, 21, 9)) == sh(2026, 9, 24, 17)
    # National Day week: Friday 2 Oct is off → Wednesday 30 Sep.
    assert cal.next_weekly(sh(2026, 9, 24, 17)) == sh(2026, 9, 30, 17)


def test_q5_week_without_working_days_has_no_summary(cal: WorkingCalendar) -> None:
    """Q-5: the Spring Festival week (16–20 Feb 2026) is skipped; the next week's counts."""
    assert cal.weekly_moment(date(2026, 2, 18)) is None
    assert cal.next_weekly(sh(2026, 2, 13, 17, 0, 1)) == sh(2026, 2, 27, 17)


def test_q5_weekly_other_weekday_and_time(cal: WorkingCalendar) -> None:
    """Q-5: an estate may report on another weekday and time."""
    assert cal.next_weekly(sh(2026, 3, 9, 10), weekday=0, at=time(9, 30)) == sh(2026, 3, 16, 9, 30)
    with pytest.raises(ValueError, match="weekday"):
        cal.weekly_moment(date(2026, 3, 9), weekday=7)
