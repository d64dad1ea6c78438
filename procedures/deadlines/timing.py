"""The timing maths of the time limits: durations, and when a rule is due and warned.

Durations are written as a whole number and a unit: ``"10m"`` (minutes), ``"24h"``
(hours), ``"1d"`` (days), ``"1wd"`` (working days). How a duration is counted:

* ``m`` and ``h`` are elapsed time; ``d`` is the same local wall-clock time ``n`` days
  later (the same as ``n × 24h`` in China, which has no daylight saving time).
* ``wd`` counts working days on the estate's calendar (holidays out, 调休 in), see
  :meth:`procedures.calendar.WorkingCalendar.add_working_days`.
* On a rule with ``working_days = true`` the clock only runs in working hours on working
  days, for every unit: ``"1d"`` then means one working day and ``"4h"`` four working
  hours, and the warning before the deadline is counted back in working time too.

Time comes in as an argument: :func:`due_at` and :func:`warn_at` read no clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from procedures.calendar import WorkingCalendar

if TYPE_CHECKING:
    from procedures.deadlines.rules import Rule

_DURATION = re.compile(r"\s*(\d+)\s*(wd|s|m|h|d)\s*", re.ASCII)
_UNIT_NAMES = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "wd": "working days"}


class Duration(BaseModel):
    """A whole number of seconds, minutes, hours, days or working days: ``"10m"``, ``"1wd"``.

    Seconds exist for training and tests (a sandbox where a referral is due in 30 s); the
    manual's limits are minutes and more.

    Validates from such a string (or from a mapping of its fields) and serialises back to
    the string, so rules round-trip through config files and JSON.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: int = Field(ge=0)
    unit: Literal["s", "m", "h", "d", "wd"]

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        """Parse ``"24h"``-style text; leave anything else to the field validation."""
        if isinstance(value, str):
            return _parse_duration(value)
        if isinstance(value, int | float):
            raise ValueError(
                f"write the duration as text with a unit, e.g. '{value}h' or '{value}d', "
                f"not the bare number {value}"
            )
        return value

    @model_serializer
    def _to_text(self) -> str:
        """Serialise as ``"24h"``."""
        return str(self)

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Return the duration written in ``text``; raise ``ValueError`` if malformed."""
        return cls(**_parse_duration(text))

    def __str__(self) -> str:
        """Write the duration back as ``"24h"``."""
        return f"{self.amount}{self.unit}"

    @property
    def elapsed(self) -> timedelta:
        """Elapsed length, reading ``d`` as 24 hours; ``wd`` has none (ValueError)."""
        if self.unit == "s":
            return timedelta(seconds=self.amount)
        if self.unit == "m":
            return timedelta(minutes=self.amount)
        if self.unit == "h":
            return timedelta(hours=self.amount)
        if self.unit == "d":
            return timedelta(days=self.amount)
        raise ValueError(f"{self} is in working days: it has no fixed length")

    def working_time(self, calendar: WorkingCalendar) -> timedelta:
        """Length in working time: ``d`` and ``wd`` are whole working days of ``calendar``."""
        if self.unit in ("d", "wd"):
            return calendar.workday_length * self.amount
        return self.elapsed


def _parse_duration(text: str) -> dict[str, Any]:
    """Return the fields of a duration written like ``"10m"``; raise ``ValueError``."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(
            f"invalid duration {text!r}: write a whole number and a unit, m (minutes), "
            f"h (hours), d (days) or wd (working days), e.g. '10m', '24h', '1wd'"
        )
    return {"amount": int(match.group(1)), "unit": match.group(2)}


def _comparable(duration: Duration) -> timedelta:
    """A length to compare durations of the same family (working days are days here)."""
    if duration.unit == "wd":
        return timedelta(days=duration.amount)
    return duration.elapsed


def due_at(
    rule: Rule,
    start: datetime,
    calendar: WorkingCalendar,
    *,
    promised: datetime | None = None,
) -> datetime:
    """Return when ``rule`` is due for a clock started at ``start``, in UTC.

    ``promised`` is the time promised to the customer: required for ``due = "promised"``
    (C-1), optional for a rule with ``promise_overrides`` (Q-4), refused otherwise. A
    promise must be after ``start``. Raises ``ValueError`` for naive datetimes.
    """
    local_start = calendar.local(start)
    if promised is not None:
        if rule.due != "promised" and not rule.promise_overrides:
            raise ValueError(f"rule {rule.id} does not take a promised time")
        calendar.local(promised)  # rejects a naive datetime
        if promised <= start:
            raise ValueError(
                f"rule {rule.id}: the promised time {promised.isoformat()} is not after "
                f"the clock start {start.isoformat()}"
            )
        # "or by the time promised to the customer beforehand"; C-1: that time.
        return promised.astimezone(UTC)
    due = rule.due
    if due == "promised":
        raise ValueError(f"rule {rule.id} is due at the promised time, and none was given")
    if due == "end_of_working_day":
        return calendar.end_of_working_day(start)
    if due == "end_of_day":
        return calendar.end_of_day(start)  # C-11, C-13 当天
    if due.unit == "wd":
        return calendar.add_working_days(start, due.amount)
    if rule.working_days:
        return calendar.add_working_time(start, due.working_time(calendar))
    if due.unit == "d":
        # The same local wall-clock time n days later (aware arithmetic is wall-clock).
        return (local_start + timedelta(days=due.amount)).astimezone(UTC)
    return (start + due.elapsed).astimezone(UTC)


def warn_at(
    rule: Rule, start: datetime, due: datetime, calendar: WorkingCalendar
) -> datetime | None:
    """Return when to warn ``rule.warn_to`` before ``due``, in UTC, or None.

    None when the rule has no warning, or when the warning would not come before the
    deadline. Never before ``start``: a deadline closer than its warning period is warned
    about at once. On a ``working_days`` rule (and for a warning in ``wd``) the period is
    counted back in working time, so the warning lands in office hours.
    """
    warn = rule.warn_before
    if warn is None:
        return None
    calendar.local(start)  # rejects a naive datetime
    if rule.working_days or warn.unit == "wd":
        moment = calendar.subtract_working_time(due, warn.working_time(calendar))
    elif warn.unit == "d":
        moment = calendar.local(due) - timedelta(days=warn.amount)
    else:
        moment = due - warn.elapsed
    moment = max(moment, start).astimezone(UTC)
    return moment if moment < due else None
