"""The Chinese statutory working-day calendar, with an estate's own overrides.

Working days are Monday to Friday, minus the statutory holidays, plus the make-up
workdays (调休) the State Council moves onto weekends around them. The ``holidays``
package's China calendar knows both for every announced year; for a year whose schedule
is not yet published (the State Council publishes it late in the year before) it still
lists the holidays but has no make-up days, so :meth:`WorkingCalendar.schedule_known`
tells callers when to warn an admin. An estate can add days of its own
(``extra_holidays``, ``extra_workdays``) or copy a new year's schedule into its config
before the library knows it; ``known_years`` marks a year as complete.

Working hours (default 09:00–17:30, in the estate's time zone, default Asia/Shanghai)
shape the working-time arithmetic. All methods take aware datetimes in any time zone and
return aware datetimes in UTC, which is how the database stores times.

The counting convention for "within n working days" (R-4 is the model):

* The clock only runs inside working hours ``[workday_start, workday_end)`` on working
  days. One working day is one full span of working hours (8.5 hours by default).
* Started inside working hours, the result is the same local time *n* working days later:
  an application completed at 16:00 on the last working day before the National Day
  holiday is due at 16:00 on the first working day after it.
* Started outside working hours or on a non-working day, counting starts at the next
  working day's start, and *n* full working days from there end at the **end** of the
  *n*-th working day (17:30), not at 09:00 the morning after. Both moments are the same
  amount of working time, but the end of the day keeps the deadline, and the warning
  before it, inside office hours, when someone is there to act on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from holidays import HolidayBase


__all__ = ["DEFAULT_TIMEZONE", "WorkingCalendar"]

#: The time zone of an estate that does not name one.
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: Local time of the end of a calendar day, for "the same day" (当天) limits such as C-11.
END_OF_DAY = time(23, 59, 59)


def country_holidays(country: str, *, years: tuple[int, ...]) -> HolidayBase:
    """``holidays.utils.country_holidays``, the package imported the first time a year is
    asked about rather than with this module: it is heavy, and the bot must start fast."""
    from holidays.utils import country_holidays as load

    return load(country, years=years)


# How far the calendar looks for a working day before it gives up: a year of holidays in
# a row can only come from a broken configuration.
_SEARCH_DAYS = 400
# How many weeks next_weekly() looks ahead for a week with a working day.
_SEARCH_WEEKS = 60


class WorkingCalendar:
    """The working days and hours of one estate: the statutory calendar plus overrides.

    Built once per estate and kept: the statutory days of each year are read from
    ``holidays.China`` the first time that year is asked about and then cached, so
    :meth:`is_working_day` costs a few set look-ups.
    """

    def __init__(
        self,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        known_years: Iterable[int] = (),
        workday_start: time = time(9, 0),
        workday_end: time = time(17, 30),
        tz: ZoneInfo | str = DEFAULT_TIMEZONE,
    ) -> None:
        """Make a calendar; raise ``ValueError`` for bad working hours or time zone.

        ``extra_holidays`` win over everything (statutory workdays, make-up workdays and
        ``extra_workdays``); ``extra_workdays`` win over the statutory holidays, so an
        estate can also correct a holiday the library guessed for an unannounced year.
        Giving any ``extra_workdays`` in a year, or listing it in ``known_years``, marks
        that year's make-up days as known (see :meth:`schedule_known`).
        """
        if workday_start.tzinfo is not None or workday_end.tzinfo is not None:
            raise ValueError("working hours are local wall-clock times, without a time zone")
        if not workday_start < workday_end:
            raise ValueError(
                f"the working day must start before it ends "
                f"(start {workday_start:%H:%M}, end {workday_end:%H:%M})"
            )
        self.tz: ZoneInfo = _zone(tz)
        self.workday_start = workday_start
        self.workday_end = workday_end
        self.extra_holidays: frozenset[date] = frozenset(extra_holidays)
        self.extra_workdays: frozenset[date] = frozenset(extra_workdays)
        self.known_years: frozenset[int] = frozenset(known_years)
        # Wall-clock length of one working day, e.g. 8.5 hours.
        self.workday_length: timedelta = datetime.combine(date.min, workday_end) - datetime.combine(
            date.min, workday_start
        )
        # year -> (statutory days off, make-up workdays), filled lazily.
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}

    def __repr__(self) -> str:
        """Show the settings that make this calendar differ from the statutory one."""
        return (
            f"WorkingCalendar(tz={self.tz.key!r}, hours={self.workday_start:%H:%M}-"
            f"{self.workday_end:%H:%M}, extra_holidays={len(self.extra_holidays)}, "
            f"extra_workdays={len(self.extra_workdays)}, known_years={sorted(self.known_years)})"
        )

    # -- days ---------------------------------------------------------------------------

    def _statutory(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """Return (days off, make-up workdays) of ``year`` from ``holidays``, cached."""
        cached = self._years.get(year)
        if cached is None:
            # The following year is loaded too: a make-up workday late in December can
            # belong to the next New Year's holiday. weekend_workdays may also carry
            # stray dates of other years, hence the filter on the year.
            china = country_holidays("CN", years=(year, year + 1))
            days_off = frozenset(d for d in china if d.year == year)
            workdays = frozenset(d for d in china.weekend_workdays if d.year == year)
            cached = (days_off, workdays)
            self._years[year] = cached
        return cached

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day (R-4: statutory holidays out, 调休 in).

        A weekday that is no holiday, or a make-up workday (statutory or the estate's own);
        an estate's extra holiday wins over everything.
        """
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        days_off, workdays = self._statutory(day.year)
        if day in workdays:
            return True
        if day in days_off:
            return False
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """Return the first working day strictly after ``day``."""
        for offset in range(1, _SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_SEARCH_DAYS} days after {day}")

    def previous_working_day(self, day: date) -> date:
        """Return the last working day strictly before ``day``."""
        for offset in range(1, _SEARCH_DAYS):
            candidate = day - timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_SEARCH_DAYS} days before {day}")

    def schedule_known(self, year: int) -> bool:
        """Whether the make-up workdays (调休) of ``year`` are known.

        True when ``holidays`` lists any make-up workday in that year, when the estate's
        config gives ``extra_workdays`` in it, or when the estate marks it in
        ``known_years``. The State Council publishes a year's schedule late in the year
        before, so a deadline in an unknown year may move once it is published.
        """
        if year in self.known_years:
            return True
        if any(d.year == year for d in self.extra_workdays):
            return True
        return bool(self._statutory(year)[1])

    def unknown_years_between(self, a: date | datetime, b: date | datetime) -> list[int]:
        """Years from ``a`` to ``b`` (either order, inclusive) whose 调休 are unknown.

        Datetimes are read in the estate's time zone. Callers warn the admins when a
        deadline they compute falls in one of these years.
        """
        first, last = sorted((self._local_date(a), self._local_date(b)))
        return [y for y in range(first.year, last.year + 1) if not self.schedule_known(y)]

    # -- moments ------------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        """Return ``moment`` in the estate's time zone; raise ``ValueError`` if naive."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"an aware datetime is needed, got naive {moment.isoformat()}")
        return moment.astimezone(self.tz)

    def at(self, day: date, wall: time) -> datetime:
        """Return the local wall-clock time ``wall`` on ``day`` as an aware local datetime."""
        return datetime.combine(day, wall, tzinfo=self.tz)

    def is_working_time(self, moment: datetime) -> bool:
        """Whether ``moment`` is inside working hours ``[start, end)`` on a working day."""
        local = self.local(moment)
        return self.is_working_day(local.date()) and (
            self.workday_start <= local.time() < self.workday_end
        )

    def next_working_moment(self, moment: datetime) -> datetime:
        """Return ``moment`` if it is working time, else the next working day's start.

        Before the start of a working day that is the same day's start; after its end,
        or on a non-working day, the start of the next working day. The result is UTC.
        """
        return self._next_working_local(self.local(moment)).astimezone(UTC)

    def end_of_working_day(self, moment: datetime) -> datetime:
        """Return the end of ``moment``'s working day, or of the next one (R-14).

        On a working day not yet past ``workday_end`` that is the same day's end;
        otherwise (after the end, or on a non-working day) the next working day's end.
        """
        local = self.local(moment)
        day = local.date()
        if not (self.is_working_day(day) and local.time() <= self.workday_end):
            day = self.next_working_day(day)
        return self.at(day, self.workday_end).astimezone(UTC)

    def end_of_day(self, moment: datetime) -> datetime:
        """Return 23:59:59 local on ``moment``'s calendar day (C-11, C-13 "当天")."""
        return self.at(self.local(moment).date(), END_OF_DAY).astimezone(UTC)

    # -- working-time arithmetic --------------------------------------------------------

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Return the deadline "within ``n`` working days" of ``start`` (R-4), in UTC.

        Inside working hours: the same local time ``n`` working days later (make-up
        workdays count, holidays do not). Outside working hours or on a non-working day:
        counting starts at the next working day's start and ends at the end of the
        ``n``-th working day. See the module docstring for why. ``n == 0`` gives
        :meth:`next_working_moment`; a negative ``n`` is a ``ValueError``.
        """
        if n < 0:
            raise ValueError(f"a number of working days cannot be negative, got {n}")
        return self.add_working_time(start, self.workday_length * n)

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """Return the moment when ``amount`` of working time has passed since ``start``.

        The clock only runs inside working hours on working days ("4 working hours").
        A result that falls exactly on the end of a day stays there (17:30), it does not
        roll over to the next morning. The result is UTC.
        """
        if amount < timedelta(0):
            raise ValueError(f"an amount of working time cannot be negative, got {amount}")
        current = self._next_working_local(self.local(start))
        remaining = amount
        while True:
            day_end = self.at(current.date(), self.workday_end)
            available = day_end - current
            if remaining <= available:
                return (current + remaining).astimezone(UTC)
            remaining -= available
            current = self.at(self.next_working_day(current.date()), self.workday_start)

    def subtract_working_time(self, end: datetime, amount: timedelta) -> datetime:
        """Return the moment ``amount`` of working time before ``end`` (for warnings).

        The mirror of :meth:`add_working_time`: from ``end`` (moved back to the last
        moment of working time at or before it), walk back through working hours only.
        A result exactly on the start of a day stays there. The result is UTC.
        """
        if amount < timedelta(0):
            raise ValueError(f"an amount of working time cannot be negative, got {amount}")
        current = self._previous_working_local(self.local(end))
        remaining = amount
        while True:
            day_start = self.at(current.date(), self.workday_start)
            available = current - day_start
            if remaining <= available:
                return (current - remaining).astimezone(UTC)
            remaining -= available
            current = self.at(self.previous_working_day(current.date()), self.workday_end)

    def _next_working_local(self, local: datetime) -> datetime:
        """Return ``local`` if in working time, else the next working start (local tz)."""
        day, wall = local.date(), local.time()
        if self.is_working_day(day):
            if wall < self.workday_start:
                return self.at(day, self.workday_start)
            if wall < self.workday_end:
                return local
        return self.at(self.next_working_day(day), self.workday_start)

    def _previous_working_local(self, local: datetime) -> datetime:
        """Return ``local`` if in ``(start, end]`` of a working day, else the last end before."""
        day, wall = local.date(), local.time()
        if self.is_working_day(day):
            if wall > self.workday_end:
                return self.at(day, self.workday_end)
            if wall > self.workday_start:
                return local
        return self.at(self.previous_working_day(day), self.workday_end)

    # -- weekly reports -----------------------------------------------------------------

    def weekly_moment(
        self, week_of: date, weekday: int = 4, at: time = time(17, 0)
    ) -> datetime | None:
        """Return when the weekly summary of ``week_of``'s week is due, or None (Q-5).

        The nominal moment is ``weekday`` (Monday = 0; default Friday) at ``at`` local in
        the Monday-to-Sunday week containing ``week_of``. If that day is not a working
        day, the summary moves to the last working day before it in the same week
        (default: Q-5 says "Friday before the end of work"; with the office closed on
        Friday, the last day it is open is the nearest reading). A week with no working
        day up to the nominal day has no summary of its own (None): the next week's covers
        it. The result is UTC.
        """
        if not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday}")
        monday = week_of - timedelta(days=week_of.weekday())
        for offset in range(weekday, -1, -1):
            day = monday + timedelta(days=offset)
            if self.is_working_day(day):
                return self.at(day, at).astimezone(UTC)
        return None

    def next_weekly(self, moment: datetime, weekday: int = 4, at: time = time(17, 0)) -> datetime:
        """Return the first weekly summary moment strictly after ``moment`` (Q-5, C-15, B-5).

        See :meth:`weekly_moment` for how a holiday on the nominal day moves it. Strictly
        after, so that a scheduler asking again right after sending gets next week's.
        """
        monday = self.local(moment).date()
        monday -= timedelta(days=monday.weekday())
        for week in range(_SEARCH_WEEKS):
            due = self.weekly_moment(monday + timedelta(weeks=week), weekday, at)
            if due is not None and due > moment:
                return due
        raise ValueError(f"no weekly summary day within {_SEARCH_WEEKS} weeks of {moment}")

    def _local_date(self, value: date | datetime) -> date:
        """Return a date as is, or a datetime's date in the estate's time zone."""
        if isinstance(value, datetime):
            return self.local(value).date()
        return value


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    """Return ``tz`` as a ZoneInfo; raise ``ValueError`` for an unknown name."""
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {tz!r} (use an IANA name such as 'Asia/Shanghai')"
        ) from exc
