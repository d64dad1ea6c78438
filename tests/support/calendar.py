"""Years the calendar tests can name without going stale.

The ``holidays`` package learns a year's make-up workdays (调休) when the State Council
publishes them, late in the year before; a test that says "2027's are unknown" breaks on
the day a new release knows them. Tests name :data:`UNPUBLISHED` instead: the first year,
by the installed package, whose schedule is not out yet, and :data:`PUBLISHED`, the year
before it, whose schedule is.
"""

from __future__ import annotations

from procedures.calendar import WorkingCalendar


def _first_unpublished(start: int = 2026) -> int:
    calendar = WorkingCalendar()
    year = start
    while calendar.schedule_known(year):
        year += 1
    return year


#: The first year whose make-up workdays the installed ``holidays`` does not know.
UNPUBLISHED = _first_unpublished()
#: The last year before it: its schedule is published.
PUBLISHED = UNPUBLISHED - 1
