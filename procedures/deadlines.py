"""The time limits of the manual as data ("Time limits at a glance"), overridable per estate.

Each timer the bot keeps is a :class:`Rule`: what starts its clock, when it is due, when
and whom to warn before, whom to tell when it passes and what else a breach does. The
defaults in :data:`DEFAULT_RULES` follow the table in PROCEDURES.md; an estate changes any
field of any rule in its TOML config (see ``config/estates.example.toml``), together with
its working calendar and a few other settings (:class:`EstateRules`, :func:`load_estate`).

Durations are written as a whole number and a unit: ``"10m"`` (minutes), ``"24h"``
(hours), ``"1d"`` (days), ``"1wd"`` (working days). How a duration is counted:

* ``m`` and ``h`` are elapsed time; ``d`` is the same local wall-clock time ``n`` days
  later (the same as ``n × 24h`` in China, which has no daylight saving time).
* ``wd`` counts working days on the estate's calendar (holidays out, 调休 in), see
  :meth:`procedures.calendar.WorkingCalendar.add_working_days`.
* On a rule with ``working_days = true`` the clock only runs in working hours on working
  days, for every unit: ``"1d"`` then means one working day and ``"4h"`` four working
  hours, and the warning before the deadline is counted back in working time too.

"At once" rows of the table (V-2, C-3, C-9 reports, C-5 five at once, H-9, R-15) are
immediate actions, not timers, and R-21 is an earliest date, not a deadline: none is here.
The C-5 "five at once" threshold and window are estate settings (:class:`EstateRules`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from procedures.calendar import DEFAULT_TIMEZONE, WorkingCalendar
from procedures.cases import CATEGORIES

__all__ = [
    "ACCEPTANCE",
    "CLOCK_CHOICES",
    "DEFAULT_RULES",
    "ROLES",
    "Clock",
    "Due",
    "DueKind",
    "Duration",
    "EstateRules",
    "OnBreach",
    "Rule",
    "due_at",
    "load_estate",
    "load_rules",
    "warn_at",
]

#: What starts a rule's clock.
Clock = Literal[
    "accepted",  # a request or complaint is accepted (受理)
    "recorded",  # an item is recorded
    "received",  # a customer's chat message arrives (V-1)
    "referred",  # the case reaches the department that handles it (Q-1, C-9)
    "classified",  # a complaint's nature is decided, or it is made major (C-4..C-7, C-5)
    "completed",  # the work on a case is done (C-14, B-1 callbacks)
    "fixed",  # a next reply time is fixed with the customer (C-1)
    "feedback",  # the department's feedback reaches the assistant (C-11)
    "approved",  # the manager approves the result (C-13)
    "application_complete",  # a renovation application is complete
    "works_day",  # each day of active renovation works
]
#: The moments a case is filed: a chat message is received, recorded and accepted at once.
ACCEPTANCE: frozenset[str] = frozenset({"accepted", "recorded", "received"})
#: The clocks an estate may give each rule. A rule comes into force at a fixed point of a
#: case (Q-4 when a request is filed, C-12 important when a complaint is classified, C-14
#: when the work is done) and stops at one (the answer); its clock can only start at an
#: event that can happen in between, or the rule would never run. A clock that has not
#: started yet when the rule comes into force waits for its event (a Q-4 counted from
#: the referral waits for the referral).
CLOCK_CHOICES: dict[str, frozenset[str]] = {
    "V-1-first-response": ACCEPTANCE,
    "Q-1": ACCEPTANCE,
    "Q-4": ACCEPTANCE | {"referred", "fixed"},
    "C-1-next-reply": frozenset({"fixed"}),
    "C-11-same-day": frozenset({"feedback"}),
    "C-13-same-day": frozenset({"approved"}),
    "C-12-important": ACCEPTANCE | {"referred", "classified"},
    "C-12-major-answer": ACCEPTANCE | {"referred", "classified"},
    "C-12-major-resolve": ACCEPTANCE | {"referred", "classified"},
    "C-5-week": ACCEPTANCE | {"referred", "classified"},
    "C-14": frozenset({"completed"}),
    "B-1": frozenset({"completed"}),
    "R-4": frozenset({"application_complete"}),
    "R-14": frozenset({"works_day"}),
}
#: Deadlines that are not a fixed duration after the clock starts.
DueKind = Literal["end_of_working_day", "end_of_day", "promised"]
#: What a breach does besides telling ``escalate_to``.
OnBreach = Literal["escalate", "make_major", "callback_task"]
_DUE_KINDS: frozenset[str] = frozenset({"end_of_working_day", "end_of_day", "promised"})

#: Roles and groups a rule can warn or escalate to. "cc_manager" is accepted as another
#: name of "cc_supervisor": PROCEDURES.md's roles table makes the customer-centre
#: supervisor and manager (客戶中心主管 / 經理) one role.
ROLES: frozenset[str] = frozenset(
    {
        "first_responder",  # 首問責任人, the assistant who took the case
        "customer_assistant",  # 客戶助理
        "department_group",  # the responsible department's group chat
        "department_head",  # head of the responsible department
        "approvers",  # customer-department head and engineering head
        "patrol_department",  # the department whose patrol it is
        "cc_supervisor",  # 客戶中心主管 (經理)
        "project_supervisor",  # 項目主管
        "project_manager",  # 項目經理
        "mgmt_manager",  # 管理部經理
        "leadership",  # 公司領導
    }
)
_ROLE_ALIASES = {"cc_manager": "cc_supervisor"}

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


#: When a rule is due: a duration after its clock starts, or one of :data:`DueKind`.
Due = Duration | DueKind


class Rule(BaseModel):
    """One time limit: clock, due time, warning, escalation and breach effect.

    ``due = "promised"`` takes the time promised to the customer (C-1); a rule with
    ``promise_overrides`` (Q-4) is due at the promised time when one was given, else
    after ``due``. ``extension_by`` names the role whose approval alone may extend the
    deadline (C-12 important: the management-department manager).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    title_key: str = Field(min_length=1)
    clock: Clock
    due: Due
    warn_before: Duration | None = None
    warn_to: str | None = None
    escalate_to: tuple[str, ...] = ()
    on_breach: OnBreach = "escalate"
    working_days: bool = False
    promise_overrides: bool = False
    extension_by: str | None = None

    @field_validator("due", mode="before")
    @classmethod
    def _parse_due(cls, value: object) -> object:
        """Turn ``"24h"`` into a :class:`Duration`; keep the named kinds as they are."""
        if isinstance(value, str) and value.strip() not in _DUE_KINDS:
            return _parse_duration(value)
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, int | float):
            raise ValueError(
                f"write the duration as text with a unit, e.g. '{value}h' or '{value}d', "
                f"not the bare number {value}"
            )
        return value

    @field_validator("warn_before", mode="before")
    @classmethod
    def _parse_warn_before(cls, value: object) -> object:
        """Read ``"none"``, ``""`` or ``false`` as no warning (TOML has no null)."""
        if value is False or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        return value

    @field_validator("warn_to", "extension_by", mode="before")
    @classmethod
    def _check_role(cls, value: object) -> object:
        """Accept a known role (or ``"none"`` for nobody); see :data:`ROLES`."""
        if value is False or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        if isinstance(value, str):
            return _role(value)
        return value

    @field_validator("escalate_to", mode="before")
    @classmethod
    def _check_roles(cls, value: object) -> object:
        """Accept one role or a list of known roles; see :data:`ROLES`."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(_role(v) if isinstance(v, str) else v for v in value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Reject a rule that escalates to nobody or warns no earlier than it is due."""
        if self.on_breach == "escalate" and not self.escalate_to:
            raise ValueError("on_breach 'escalate' needs at least one role in escalate_to")
        if self.warn_before is not None and self.warn_to is None:
            raise ValueError("warn_before is set but warn_to names nobody to warn")
        due, warn = self.due, self.warn_before
        if (
            isinstance(due, Duration)
            and warn is not None
            and (due.unit == "wd") == (warn.unit == "wd")
            and _comparable(warn) >= _comparable(due)
        ):
            raise ValueError(
                f"warn_before ({warn}) must be shorter than due ({due}), "
                f"or the warning would come with the deadline"
            )
        return self


def _comparable(duration: Duration) -> timedelta:
    """A length to compare durations of the same family (working days are days here)."""
    if duration.unit == "wd":
        return timedelta(days=duration.amount)
    return duration.elapsed


def _role(name: str) -> str:
    """Return the canonical name of role ``name``; raise ``ValueError`` if unknown."""
    key = _ROLE_ALIASES.get(name.strip(), name.strip())
    if key not in ROLES:
        raise ValueError(f"unknown role {name!r}; known roles: {', '.join(sorted(ROLES))}")
    return key


def _rule(**fields: Any) -> Rule:
    """Build a default rule from readable values (durations as text)."""
    return Rule.model_validate(fields)


#: The "Time limits at a glance" table of PROCEDURES.md. Warnings marked (default) are
#: this project's choice: the table names whom to warn, not when.
DEFAULT_RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        # V-1: first response in chat, "a few minutes in working hours" → 5 working
        # minutes (default); the table has no warning.
        _rule(
            id="V-1-first-response",
            title_key="deadline.v1_first_response",
            clock="received",
            due="5m",
            working_days=True,
            escalate_to=["cc_supervisor"],
        ),
        # Q-1, C-9: referral to the right department within 10 minutes (seed). Warn the
        # first responder 2 minutes before (default).
        _rule(
            id="Q-1",
            title_key="deadline.q1_referral",
            clock="accepted",
            due="10m",
            warn_before="2m",
            warn_to="first_responder",
            escalate_to=["cc_supervisor"],
        ),
        # handled and answered within 1 day of acceptance (seed), read as 24 hours
        # (default), or by the time promised to the customer. Warn the department's group
        # 2 hours before (default). The table's "customer-centre manager" is the
        # cc_supervisor role.
        _rule(
            id="Q-4",
            title_key="deadline.q4_handled",
            clock="accepted",
            due="24h",
            promise_overrides=True,
            warn_before="2h",
            warn_to="department_group",
            escalate_to=["cc_supervisor"],
        ),
        # C-1: the next reply time fixed with the customer (seed). Warn the first
        # responder 1 hour before (default).
        _rule(
            id="C-1-next-reply",
            title_key="deadline.c1_next_reply",
            clock="fixed",
            due="promised",
            warn_before="1h",
            warn_to="first_responder",
            escalate_to=["cc_supervisor"],
        ),
        # C-11: the customer is answered the same day as the department's feedback
        # (seed: 当天 → 23:59:59 local). Warn the assistant 2 hours before (default).
        _rule(
            id="C-11-same-day",
            title_key="deadline.c11_same_day",
            clock="feedback",
            due="end_of_day",
            warn_before="2h",
            warn_to="customer_assistant",
            escalate_to=["cc_supervisor"],
        ),
        # C-13: the reply goes out the same day the manager approves it (seed).
        _rule(
            id="C-13-same-day",
            title_key="deadline.c13_same_day",
            clock="approved",
            due="end_of_day",
            warn_before="2h",
            warn_to="customer_assistant",
            escalate_to=["cc_supervisor"],
        ),
        # C-12 important: handled within 1 day (seed) of acceptance (default); running
        # over needs the management-department manager's approval. Warn the department
        # head 2 hours before (default).
        _rule(
            id="C-12-important",
            title_key="deadline.c12_important",
            clock="accepted",
            due="1d",
            warn_before="2h",
            warn_to="department_head",
            escalate_to=["mgmt_manager"],
            extension_by="mgmt_manager",
        ),
        # C-12 major: a clear answer within 2 days (seed). Warn 4 hours before (default).
        _rule(
            id="C-12-major-answer",
            title_key="deadline.c12_major_answer",
            clock="accepted",
            due="2d",
            warn_before="4h",
            warn_to="department_head",
            escalate_to=["leadership"],
        ),
        # C-12 major: resolved within 15 days (seed). Warn 1 day before (default).
        _rule(
            id="C-12-major-resolve",
            title_key="deadline.c12_major_resolve",
            clock="accepted",
            due="15d",
            warn_before="1d",
            warn_to="department_head",
            escalate_to=["leadership"],
        ),
        # C-5: a valid complaint not resolved within a week (seed) of acceptance
        # (default) becomes major; becoming major starts the C-3 / C-9 reports itself.
        _rule(
            id="C-5-week",
            title_key="deadline.c5_week",
            clock="accepted",
            due="7d",
            on_breach="make_major",
        ),
        # C-14: every complaint called back within 1 day of completion (seed); a miss
        # counts against the 100 % callback rate. Warn the assistant 2 hours before
        # (default); on breach the assistant gets an overdue callback task and the
        # supervisor is told.
        _rule(
            id="C-14",
            title_key="deadline.c14_callback",
            clock="completed",
            due="1d",
            warn_before="2h",
            warn_to="customer_assistant",
            escalate_to=["cc_supervisor"],
            on_breach="callback_task",
        ),
        # B-1: other callbacks within 3 days of completion (default: the seed has no
        # limit). Warn the assistant 6 hours before (default).
        _rule(
            id="B-1",
            title_key="deadline.b1_callback",
            clock="completed",
            due="3d",
            warn_before="6h",
            warn_to="customer_assistant",
            escalate_to=["cc_supervisor"],
            on_breach="callback_task",
        ),
        # renovation decision within 1 working day (seed) of the complete application
        # (default), holidays out and 调休 in (default). Warn the approvers 2 working
        # hours before (default).
        _rule(
            id="R-4",
            title_key="deadline.r4_renovation_decision",
            clock="application_complete",
            due="1wd",
            working_days=True,
            warn_before="2h",
            warn_to="approvers",
            escalate_to=["project_manager"],
        ),
        # each department's patrol of each active renovation, every day (seed), by
        # the end of the working day (default). Warn the department 1 working hour
        # before (default).
        _rule(
            id="R-14",
            title_key="deadline.r14_daily_patrol",
            clock="works_day",
            due="end_of_working_day",
            working_days=True,
            warn_before="1h",
            warn_to="patrol_department",
            escalate_to=["project_manager"],
        ),
    )
}


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


# -- estate settings ------------------------------------------------------------------

_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue"),
            ("wednesday", "wed"),
            ("thursday", "thu"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}


class EstateRules(BaseModel):
    """Everything about time one estate can set: its rules, calendar and report times.

    Defaults (all (default) in PROCEDURES.md unless the seed says so): Asia/Shanghai,
    working hours 09:00–17:30, the statutory calendar only; C-5 "five at once" = 5
    complaints (seed) on one event within 24 hours; the weekly summary (Q-5, C-15, B-5)
    on Friday at 17:00. The 3 days for other callbacks (B-1, default) are rule B-1's
    ``due``; the config's ``callback_days`` is a shorthand for it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    estate: str
    rules: dict[str, Rule] = Field(default_factory=lambda: dict(DEFAULT_RULES))
    timezone: str = DEFAULT_TIMEZONE
    workday_start: time = time(9, 0)
    workday_end: time = time(17, 30)
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    known_years: frozenset[int] = frozenset()
    # C-5: complaints about one event "at the same time" = within this window (default).
    same_event_window: Duration = Field(default_factory=lambda: Duration.parse("24h"))
    # C-5: this many customers complaining of one event make it major (seed: 5 or more).
    same_event_threshold: int = Field(default=5, ge=2)
    # C-3, C-9: who hears that a complaint became major, whatever the path (classified,
    # five complainants of one event, a week unresolved); targets as in warn_to.
    major_tell: list[str] = Field(
        default_factory=lambda: [
            "cc_supervisor",
            "project_supervisor",
            "department_head",
            "project_manager",
            "leadership",
        ]
    )
    # Q-5, C-15, B-5: weekday (Monday = 0) and local time of the weekly summary (default).
    weekly_summary_weekday: int = Field(default=4, ge=0, le=6)
    weekly_summary_at: time = time(17, 0)
    # The categories residents choose from, in this order (a subset of procedures.cases').
    categories: tuple[str, ...] = Field(default_factory=lambda: tuple(CATEGORIES))

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Known categories only, each once, at least one."""
        unknown = [c for c in value if c not in CATEGORIES]
        if unknown:
            raise ValueError(
                f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                f"known: {', '.join(CATEGORIES)}"
            )
        if not value or len(set(value)) != len(value):
            raise ValueError("list each category once, and at least one")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        """Accept an IANA time zone name only."""
        WorkingCalendar(tz=value)
        return value

    @field_validator("weekly_summary_weekday", mode="before")
    @classmethod
    def _weekday_name(cls, value: object) -> object:
        """Accept ``"friday"``/``"fri"`` as well as 0–6 (Monday = 0)."""
        if isinstance(value, str):
            key = value.strip().lower()
            if key not in _WEEKDAYS:
                raise ValueError(f"unknown weekday {value!r}; write e.g. 'friday' or 4")
            return _WEEKDAYS[key]
        return value

    @field_validator("same_event_window")
    @classmethod
    def _window_elapsed(cls, value: Duration) -> Duration:
        """The C-5 window is elapsed time: working days make no sense for it."""
        if value.unit == "wd" or value.amount == 0:
            raise ValueError(f"the window must be a positive m, h or d duration, got {value}")
        return value

    @model_validator(mode="after")
    def _check_calendar(self) -> Self:
        """Build the calendar once, so that bad working hours fail at load time."""
        _ = self.calendar
        return self

    @cached_property
    def calendar(self) -> WorkingCalendar:
        """The estate's working calendar (built once, cached)."""
        return WorkingCalendar(
            extra_holidays=self.extra_holidays,
            extra_workdays=self.extra_workdays,
            known_years=self.known_years,
            workday_start=self.workday_start,
            workday_end=self.workday_end,
            tz=self.timezone,
        )

    def rule(self, rule_id: str) -> Rule:
        """Return the estate's rule ``rule_id``; raise ``KeyError`` if there is none."""
        return self.rules[rule_id]

    def due_at(
        self, rule_id: str, start: datetime, *, promised: datetime | None = None
    ) -> datetime:
        """Return :func:`due_at` of rule ``rule_id`` on this estate's calendar."""
        return due_at(self.rules[rule_id], start, self.calendar, promised=promised)

    def warn_at(self, rule_id: str, start: datetime, due: datetime) -> datetime | None:
        """Return :func:`warn_at` of rule ``rule_id`` on this estate's calendar."""
        return warn_at(self.rules[rule_id], start, due, self.calendar)

    def next_weekly_summary(self, moment: datetime) -> datetime:
        """Return the next weekly summary moment after ``moment`` (Q-5, C-15, B-5)."""
        return self.calendar.next_weekly(
            moment, self.weekly_summary_weekday, self.weekly_summary_at
        )


# Config keys of an estate besides its rules: the EstateRules fields, and callback_days,
# a shorthand for rule B-1's due in days.
_ESTATE_SETTINGS = frozenset(EstateRules.model_fields) - {"estate", "rules"} | {"callback_days"}


def load_estate(estate: str, config: Mapping[str, Any] | Path | None = None) -> EstateRules:
    """Return the time settings of ``estate``: defaults overlaid with its config.

    ``config`` is the parsed TOML document (``tomllib.load``), a path to one, or None for
    the defaults. Settings come from ``[defaults]`` (every estate) and then
    ``[estates."<estate>"]``; each may hold the :class:`EstateRules` settings and a
    ``rules`` table of per-rule field overrides (``[estates."阳光花园".rules.Q-4]
    due = "12h"``). An estate absent from the config gets the defaults.

    Raises ``ValueError`` naming the estate, the rule and the field for anything invalid:
    an unknown setting, rule or field, a malformed duration, an unknown role or time zone.
    """
    document = _read(config)
    unknown_top = set(document) - {"defaults", "estates"}
    if unknown_top:
        raise ValueError(
            f"config: unknown top-level table(s) {', '.join(sorted(unknown_top))}; "
            f'expected [defaults] and [estates."<name>"]'
        )
    defaults = _table(document.get("defaults", {}), "config: [defaults]")
    estates = _table(document.get("estates", {}), "config: [estates]")
    own = _table(estates.get(estate, {}), f"estate {estate!r}")
    settings: dict[str, Any] = {}
    rule_overrides: dict[str, dict[str, Any]] = {}
    for where, layer in (("[defaults]", defaults), (f"estate {estate!r}", own)):
        for key, value in layer.items():
            if key == "rules":
                for rule_id, fields in _table(value, f"{where}: rules").items():
                    rule_overrides.setdefault(rule_id, {}).update(
                        _table(fields, f"{where}: rule {rule_id!r}")
                    )
            elif key in _ESTATE_SETTINGS:
                settings[key] = value
            else:
                raise ValueError(
                    f"{where}: unknown setting {key!r}; known settings: "
                    f"{', '.join(sorted(_ESTATE_SETTINGS))}, rules"
                )
    prefix = f"estate {estate!r}"
    callback_days = settings.pop("callback_days", None)
    try:
        base = EstateRules(estate=estate, **settings)
    except ValidationError as exc:
        raise ValueError(f"{prefix}: {_describe(exc)}") from None
    rules = dict(DEFAULT_RULES)
    if callback_days is not None:
        # B-1: "3 days (default)" written as a number of days.
        if isinstance(callback_days, bool) or not isinstance(callback_days, int):
            raise ValueError(f"{prefix}, field 'callback_days': expected a whole number of days")
        if callback_days < 1:
            raise ValueError(f"{prefix}, field 'callback_days': must be at least 1")
        if "due" in rule_overrides.get("B-1", {}):
            raise ValueError(
                f"{prefix}: callback_days and rules.B-1.due both set the B-1 limit; keep one"
            )
        rules["B-1"] = _override(prefix, rules, "B-1", {"due": f"{callback_days}d"})
    for rule_id, fields in rule_overrides.items():
        rules[rule_id] = _override(prefix, rules, rule_id, fields)
    return base.model_copy(update={"rules": rules})


def load_rules(estate: str, config: Mapping[str, Any] | Path | None = None) -> dict[str, Rule]:
    """Return the rules of ``estate``: :data:`DEFAULT_RULES` with its overrides applied.

    See :func:`load_estate` for the config's shape and errors.
    """
    return dict(load_estate(estate, config).rules)


def _override(prefix: str, rules: Mapping[str, Rule], rule_id: str, fields: dict[str, Any]) -> Rule:
    """Return rule ``rule_id`` with ``fields`` replaced, validated; ``ValueError`` if bad."""
    if rule_id not in rules:
        raise ValueError(
            f"{prefix}: unknown rule {rule_id!r}; known rules: {', '.join(sorted(rules))}"
        )
    where = f"{prefix}, rule {rule_id!r}"
    if "id" in fields and fields["id"] != rule_id:
        raise ValueError(f"{where}, field 'id': cannot rename a rule (got {fields['id']!r})")
    unknown = set(fields) - set(Rule.model_fields)
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(sorted(unknown))}; known fields: "
            f"{', '.join(f for f in Rule.model_fields if f != 'id')}"
        )
    try:
        rule = Rule.model_validate({**rules[rule_id].model_dump(), **fields})
    except ValidationError as exc:
        raise ValueError(f"{where}: {_describe(exc)}") from None
    choices = CLOCK_CHOICES.get(rule_id)
    if choices is not None and rule.clock not in choices:
        raise ValueError(
            f"{where}, field 'clock': {rule.clock!r} cannot start this rule (it comes into "
            f"force and stops elsewhere); choose {', '.join(sorted(choices))}"
        )
    return rule


def _describe(exc: ValidationError) -> str:
    """Render pydantic's errors as ``field 'due': invalid duration …; …``."""
    parts = []
    for error in exc.errors(include_url=False):
        # A validator's own ValueError shows as "Value error, <message>".
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        # Union members and validator names are noise in a config message.
        field = field.split(".", 1)[0] if field else ""
        parts.append(f"field {field!r}: {message}" if field else message)
    return "; ".join(dict.fromkeys(parts))


def _read(config: Mapping[str, Any] | Path | None) -> Mapping[str, Any]:
    """Return the config document: as given, read from a TOML file, or empty."""
    if config is None:
        return {}
    if isinstance(config, Path):
        with config.open("rb") as file:
            try:
                return tomllib.load(file)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"config {config}: not valid TOML: {exc}") from None
    return config


def _table(value: object, where: str) -> dict[str, Any]:
    """Return ``value`` as a table (a mapping); raise ``ValueError`` otherwise."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a table, got {type(value).__name__}")
    return dict(value)
