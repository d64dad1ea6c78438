"""What a deadline's warning or breach does (the rules table's ``warn_to``,
``escalate_to``, ``on_breach`` and ``extension_by``), and whom a rule's names reach.

The sweeper finds a due timer; :func:`react` decides; storage applies the decisions in
the transaction that marks the timer fired, so each happens exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from procedures import callbacks, complaints
from procedures.cases import Case, Status
from procedures.clocks import CALLBACK_CLOCKS, Timer
from procedures.decisions import (
    Assistant,
    Contact,
    Decision,
    Facts,
    Limit,
    Roles,
    Style,
    Targets,
    Tell,
    Title,
)
from procedures.identity import Department, Role
from procedures.permissions import DEPARTMENT_HEADS

#: Names that mean customer service's group (whoever is on duty sees it there).
_CUSTOMER_SERVICE_NAMES = frozenset({"first_responder", "customer_assistant"})
#: Names that mean the case's own department's group.
_DEPARTMENT_NAMES = frozenset({"department_group", "patrol_department"})


@dataclass(frozen=True)
class Route:
    """Where a rule's names lead: department groups (in order) and roles told privately."""

    departments: tuple[str, ...]
    roles: frozenset[str]


def route(names: Iterable[str], department: str | None) -> Route:
    """Whom a rule names (:data:`procedures.deadlines.ROLES`), for a case now with
    ``department`` (None before a referral):

    * ``first_responder``, ``customer_assistant``: the customer-service group;
    * ``department_group``, ``patrol_department``: the case's department group;
    * ``department_head``: the head of the case's department (customer service's before a
      referral), or its group for a department without a head role;
    * ``approvers``: the customer-department and engineering heads (R-4);
    * every other name is a role, told privately (cc_supervisor, project_manager…).
    """
    cs = Department.CUSTOMER_SERVICE.value
    departments: list[str] = []
    roles: set[str] = set()
    for name in names:
        if name in _CUSTOMER_SERVICE_NAMES:
            departments.append(cs)
        elif name in _DEPARTMENT_NAMES:
            departments.append(department or cs)
        elif name == "department_head":
            head = DEPARTMENT_HEADS.get(department or cs)
            if head is not None:
                roles.add(head.value)
            else:
                departments.append(department or cs)
        elif name == "approvers":
            roles |= {Role.CUSTOMER_HEAD.value, Role.ENGINEERING_HEAD.value}
        else:
            roles.add(name)
    return Route(tuple(dict.fromkeys(departments)), frozenset(roles))


@dataclass(frozen=True)
class Due:
    """A timer that fell due: its id and rule, when it is due, a warning or the breach,
    and whether it fires late (the bot was down)."""

    timer_id: int
    rule: str
    due_at: datetime
    warning: bool
    late: bool
    data: dict[str, Any]


def react(case: Case, due: Due, facts: Facts) -> list[Decision]:
    """What a warning or a breach does, in order (empty when nothing is left to say).

    * a warning tells ``warn_to`` (the first responder by default); a rule with an
      ``extension_by`` (C-12) also asks that role, with a button naming this clock;
    * ``callback_task`` (B-1, C-14): the assistant responsible phones the resident (B-2:
      the task names them and their number), and the others named hear it was missed; a
      task still not done is chased every further day (:func:`procedures.callbacks.chased`)
      until the callback is recorded; nothing is left to chase once it was;
    * ``make_major`` (C-5's week): the complaint becomes major, and ``major_tell`` hears it;
    * ``escalate``: ``escalate_to`` hears it.

    A breach is recorded (``case.deadline_missed``). A finished case raises no work alarm:
    a clock that was not stopped has nothing left to say.
    """
    rule = facts.rules.rules.get(due.rule)
    if rule is None:
        return []
    if case.status in (Status.DONE, Status.CLOSED) and rule.id not in CALLBACK_CLOCKS:
        return []
    title = Title(rule.id)
    decisions: list[Decision] = []
    tell: list[Tell] = []
    if due.warning:
        shown = facts.rules.calendar.local(due.due_at).strftime("%m-%d %H:%M")
        tell.append(
            Tell(
                Targets((rule.warn_to or "first_responder",)),
                "deadline.warning",
                {"rule": title, "due": shown},
                style=Style.WITH_CARD,
                late=due.late,
            )
        )
        if rule.extension_by:  # C-12: only this role's approval lets it run over
            tell.append(
                Tell(
                    Roles(frozenset({rule.extension_by})),
                    "complaint.extension_please",
                    {"rule": title, "due": shown, "limit": Limit(rule.id)},
                    style=Style.WITH_CARD,
                    buttons="extension",
                    button_arg=due.timer_id,
                )
            )
        return [Decision(tell=tell)]
    if rule.on_breach == "callback_task":  # B-1, C-14: the assistant phones the resident
        if case.status != Status.DONE:  # recorded already (or reopened): nothing to phone
            return []
        others = tuple(r for r in rule.escalate_to if r != Role.CUSTOMER_ASSISTANT.value)
        chase = due.data.get("chase")
        if isinstance(chase, int) and chase > 0:  # B-2: still not done a day later
            return [callbacks.chased(case, rule.id, chase, others, facts)]
        tell.append(
            Tell(
                Assistant(),
                "callback.task",
                {"rule": title, "contact": Contact()},
                style=Style.WITH_CARD,
                buttons="phone_callback",
                late=due.late,
            )
        )
        tell.append(  # and the supervisor hears it was missed
            Tell(Targets(others), "deadline.breached", {"rule": title}, style=Style.WITH_CARD)
        )
        again = facts.now + callbacks.CHASE_EVERY  # chased daily until it is done (B-2)
        decisions.append(Decision(start=[Timer(rule.id, again, None, {"chase": 1})]))
    elif rule.on_breach == "make_major":  # C-5: a week unresolved makes it major
        major = complaints.made_major(case, rule.id, {"late": due.late}, facts)
        if major is not None:
            decisions.append(major)
            said = {"limit": Limit(rule.id)}
            tell.append(complaints.major_tell(facts.rules, "deadline.made_major", said))
    else:  # escalate
        tell.append(
            Tell(
                Targets(tuple(rule.escalate_to)),
                "deadline.breached",
                {"rule": title},
                style=Style.WITH_CARD,
                late=due.late,
            )
        )
        if rule.extension_by:  # C-12: the overrun may still be approved, as such
            tell.append(
                Tell(
                    Roles(frozenset({rule.extension_by})),
                    "complaint.extension_after",
                    {"rule": title, "limit": Limit(rule.id)},
                    style=Style.WITH_CARD,
                    buttons="extension",
                    button_arg=due.timer_id,
                )
            )
    decisions.append(
        Decision(event="case.deadline_missed", data={"rule": rule.id, "late": due.late}, tell=tell)
    )
    return decisions
