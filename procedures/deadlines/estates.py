"""What one estate sets about time: its rules' overrides, calendar and report times.

:func:`load_estate` overlays an estate's config (the ``[defaults]`` and
``[estates."<name>"]`` tables, already parsed: reading the file is the process's business)
on the defaults, and validates every overridden field, naming the estate, the rule and the
field of anything invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from functools import cached_property
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from procedures.calendar import DEFAULT_TIMEZONE, WorkingCalendar
from procedures.cases import CATEGORIES
from procedures.deadlines.rules import CLOCK_CHOICES, DEFAULT_RULES, Rule, _role
from procedures.deadlines.timing import Duration, due_at, warn_at
from procedures.renovation_settings import RenovationSettings

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
    # C-13: who approves a complaint's reply (default the customer-centre manager, the
    # cc_supervisor role; "cc_manager" is accepted as its other name). Never the draft's
    # writer: when they are the only one, the project manager approves.
    reply_approver: str = "cc_supervisor"
    # Q-5, C-15, B-5: weekday (Monday = 0) and local time of the weekly summary (default).
    weekly_summary_weekday: int = Field(default=4, ge=0, le=6)
    weekly_summary_at: time = time(17, 0)
    # The categories residents choose from, in this order (a subset of procedures.cases').
    categories: tuple[str, ...] = Field(default_factory=lambda: tuple(CATEGORIES))
    # renovation hours and the fee scale (a ``[…renovation]`` table, money
    # in yuan; see procedures.renovation_settings).
    renovation: RenovationSettings = Field(default_factory=RenovationSettings)

    @field_validator("renovation", mode="before")
    @classmethod
    def _renovation(cls, value: object) -> object:
        """The TOML table, its money in yuan."""
        if isinstance(value, Mapping):
            return RenovationSettings.from_config(dict(value))
        return value

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

    @field_validator("reply_approver", mode="before")
    @classmethod
    def _check_approver(cls, value: object) -> object:
        """A known role (see :data:`procedures.deadlines.rules.ROLES`), by either name."""
        if isinstance(value, str):
            return _role(value)
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


def load_estate(estate: str, config: Mapping[str, Any] | None = None) -> EstateRules:
    """Return the time settings of ``estate``: defaults overlaid with its config.

    ``config`` is the parsed TOML document (``tomllib.load``; the process reads the file), or
    None for the defaults. Settings come from ``[defaults]`` (every estate) and then
    ``[estates."<estate>"]``; each may hold the :class:`EstateRules` settings and a
    ``rules`` table of per-rule field overrides (``[estates."阳光花园".rules.Q-4]
    due = "12h"``). An estate absent from the config gets the defaults.

    Raises ``ValueError`` naming the estate, the rule and the field for anything invalid:
    an unknown setting, rule or field, a malformed duration, an unknown role or time zone.
    """
    document = _table({} if config is None else config, "config")
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


def load_rules(estate: str, config: Mapping[str, Any] | None = None) -> dict[str, Rule]:
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


def _table(value: object, where: str) -> dict[str, Any]:
    """Return ``value`` as a table (a mapping); raise ``ValueError`` otherwise."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a table, got {type(value).__name__}")
    return dict(value)
