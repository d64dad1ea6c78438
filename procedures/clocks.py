"""When a rule's clock starts: the timer a decision asks storage to keep.

A rule comes into force at a fixed point of a procedure (Q-4 when a request is filed, C-12
when a complaint is classified, C-14 when the work is done); the estate decides from which
event its clock counts (the rule's ``clock``, one of
:data:`procedures.deadlines.CLOCK_CHOICES`). :func:`clocked` works out the timer from the
estate's rules and the subject's history (when each clock event happened), with no
database and no clock of its own: time comes in as an argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from procedures.deadlines import ACCEPTANCE, EstateRules
from procedures.rule_ids import RuleId

if TYPE_CHECKING:  # decisions imports this module: its types only
    from procedures.cases import Case
    from procedures.decisions import Facts

#: Every clock of the work itself (not the callback's): all stop when a case is answered.
WORK_CLOCKS: tuple[str, ...] = (
    RuleId.V1_FIRST_RESPONSE,
    RuleId.Q1,
    RuleId.Q4,
    RuleId.C1_NEXT_REPLY,
    RuleId.C5_WEEK,
    RuleId.C4,
    RuleId.C11_OPINION,
    RuleId.C11_SAME_DAY,
    RuleId.C13_SAME_DAY,
    RuleId.C12_IMPORTANT,
    RuleId.C12_MAJOR_ANSWER,
    RuleId.C12_MAJOR_RESOLVE,
)
#: The callback's clocks (B-1 for requests, C-14 for complaints): they run after the work.
CALLBACK_CLOCKS: tuple[str, ...] = (RuleId.B1, RuleId.C14)

#: The audit events that mark when each clock event happened to a case (a clock counted
#: from an event of the past starts at its first occurrence).
CLOCK_EVENTS: dict[str, tuple[str, ...]] = {
    "referred": ("case.refer",),
    "classified": ("case.classify", "case.made_major"),
    "fixed": ("case.promise",),
    "feedback": ("case.feedback",),
    "approved": ("case.approve",),
    "completed": ("case.done", "case.resolve", "case.approve", "case.deliver", "case.invalidate"),
}

#: When each clock event happened to a subject, oldest first (acceptance is the subject's
#: own ``accepted_at``, not listed here).
History = Mapping[str, Sequence[datetime]]

#: When each of a subject's clocks in force is due, by rule (see :func:`in_force`).
Dues = Mapping[str, datetime]

#: Timer states of a clock in force: running (pending, warned), or run out unmet (fired).
IN_FORCE: frozenset[str] = frozenset({"pending", "warned", "fired"})


@dataclass(frozen=True)
class Timer:
    """A deadline to start: rule, due time, warning time; or, ``waiting``, one whose clock
    starts at the event named in ``data["waiting_for"]`` (``due_at`` is then only when it
    came into force)."""

    rule: str
    due_at: datetime
    warn_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    waiting: bool = False


def history_of(events: Sequence[tuple[str, datetime]]) -> dict[str, list[datetime]]:
    """The clock events of a subject's audit events ``(event name, when)``, oldest first."""
    found: dict[str, list[datetime]] = {}
    for name, at in sorted(events, key=lambda item: item[1]):
        for clock, names in CLOCK_EVENTS.items():
            if name in names:
                found.setdefault(clock, []).append(at)
    return found


def in_force(timers: Iterable[tuple[str, datetime, str]]) -> dict[str, datetime]:
    """When each rule's clock in force is due, from a subject's timers ``(rule, due, state)``
    oldest first: the latest timer of each rule, while it runs or once it ran out unmet
    (fired). A rule whose latest timer was met, was cancelled or still waits for its event
    has no clock in force (a promise moved replaces its timer, so the latest is the one
    that counts)."""
    latest: dict[str, tuple[datetime, str]] = {}
    for rule, due, state in timers:
        latest[rule] = (due, state)
    return {rule: due for rule, (due, state) in latest.items() if state in IN_FORCE}


def timer(rules: EstateRules, rule: str, start: datetime, **data: Any) -> Timer:
    """A deadline for ``rule`` counted from ``start`` (its warning included)."""
    due = rules.due_at(rule, start)
    return Timer(rule, due, rules.warn_at(rule, start, due), data)


def clocked(
    rules: EstateRules,
    rule: str,
    at: datetime,
    *,
    accepted_at: datetime,
    history: History,
    events: frozenset[str] | set[str] = ACCEPTANCE,
    since: datetime | None = None,
    happening: Mapping[str, datetime] | None = None,
    **data: Any,
) -> Timer:
    """Rule ``rule`` comes into force now; ``at`` is when ``events`` happened.

    The clock starts at ``at`` when the rule's clock event is one of ``events``; else at
    the first time that event happened (not before ``since``: a reopened case's clocks
    count afresh); else the timer waits for the event, and storage starts it when the event
    happens (:func:`armed`). ``happening`` names other events of this very moment (a
    complaint made major is classified now).
    """
    clock = rules.rule(rule).clock
    start: datetime | None
    if happening and clock in happening:
        start = happening[clock]
    elif clock in events:
        start = at
    elif clock in ACCEPTANCE:
        start = accepted_at if since is None or accepted_at >= since else None
    else:
        start = next((t for t in history.get(clock, ()) if since is None or t >= since), None)
    if start is None:
        return Timer(rule, at, None, data | {"waiting_for": clock}, waiting=True)
    return timer(rules, rule, start, **data)


def armed(rules: EstateRules, rule: str, at: datetime, data: Mapping[str, Any]) -> Timer:
    """A timer that waited for its event (see :func:`clocked`), started at ``at``."""
    return timer(rules, rule, at, **{k: v for k, v in data.items() if k != "waiting_for"})


def major_clocks(
    case: Case,
    facts: Facts,
    *,
    answer: bool = True,
    made_major_at: datetime | None = None,
    raised_at: datetime | None = None,
) -> list[Timer]:
    """C-12 for a major complaint: a clear answer in 2 days, resolved in 15 (from
    acceptance by default). ``made_major_at``: the complaint is classified major at that
    moment (clocks an estate counts from the classification start then); ``raised_at``: it
    was raised to major later (by the supervisor, a week unresolved, a fifth complainant),
    and both clocks count from the raise, whatever the estate counts them from."""
    rules = [RuleId.C12_MAJOR_ANSWER] if answer else []
    rules.append(RuleId.C12_MAJOR_RESOLVE)
    if raised_at is not None:
        return [timer(facts.rules, r, raised_at, raised=True) for r in rules]
    happening = {"classified": made_major_at} if made_major_at is not None else None
    return [facts.clocked(case, r, case.accepted_at, happening=happening) for r in rules]
