"""The time limits of the manual as data ("Time limits at a glance"), overridable per estate.

Each timer the bot keeps is a :class:`Rule`: what starts its clock, when it is due, when
and whom to warn before, whom to tell when it passes and what else a breach does. The
defaults in :data:`DEFAULT_RULES` follow the table in PROCEDURES.md; an estate changes any
field of any rule in its TOML config (see ``config/estates.example.toml``), together with
its working calendar and a few other settings (:class:`EstateRules`, :func:`load_estate`).

Three parts, one module each:

* :mod:`.rules`: the table as data: what starts a clock (:data:`Clock`), the roles a rule
  warns and escalates to (:data:`ROLES`), :class:`Rule` and :data:`DEFAULT_RULES`;
* :mod:`.timing`: the timing maths: :class:`Duration` (``"10m"``, ``"1wd"``, how each unit
  is counted), :func:`due_at` and :func:`warn_at` on a working calendar;
* :mod:`.estates`: an estate's settings and rule overrides, validated field by field
  (:class:`EstateRules`, :func:`load_estate`, :func:`load_rules`).

Like the rest of ``procedures``, none of it reads a file or a clock: a config arrives as
the parsed document (the process reads ``WUYE_ESTATES_CONFIG``), time as an argument.
"""

from __future__ import annotations

from procedures.deadlines.estates import EstateRules, load_estate, load_rules
from procedures.deadlines.rules import (
    ACCEPTANCE,
    CLOCK_CHOICES,
    DEFAULT_RULES,
    ROLES,
    Clock,
    Due,
    DueKind,
    OnBreach,
    Rule,
)
from procedures.deadlines.timing import Duration, due_at, warn_at

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
