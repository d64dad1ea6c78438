"""The glue of every step of a procedure: check → decide → apply → wake.

A handler checks who pressed what (:func:`is_first_responder` and the others, on roles read
from the database just now), asks the procedure for a decision with the :func:`facts` it
needs, and has storage apply it in one unit of work (:func:`apply`); then it wakes the
outbox sender (``Services.deliver``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from handlers.common import Actor, Services
from procedures.cases import Case
from procedures.clocks import in_force
from procedures.decisions import By, Decision, Facts
from procedures.permissions import Act, in_department, may
from storage.cases import NewCase


def by(actor: Actor) -> By:
    """The person taking a step, as decisions name them."""
    return By(actor.person.id, actor.person.name)


def signed(actor: Actor) -> str:
    """The audit trail's name for a person's act."""
    return f"person:{actor.person.id}"


async def facts(svc: Services, case: Case) -> Facts:
    """What a decision about ``case`` reads: its estate's rules, now, its clock history and
    when its clocks in force are due."""
    timers = [(d.rule, d.due_at, d.state) for d in await svc.cases.clocks(case.id)]
    return Facts(
        await svc.rules(case.estate_id),
        svc.clock.now(),
        await svc.cases.history(case.id),
        in_force(timers),
    )


async def apply(svc: Services, case: Case, decision: Decision, actor: Actor | None) -> Case | None:
    """Apply a decision about ``case`` in one unit of work (its tells rendered per reader);
    None when it no longer applies (someone else acted first; nothing changed)."""
    return await svc.cases.apply(
        case.id,
        decision,
        by=actor.person.id if actor else None,
        actor=signed(actor) if actor else "system",
        rules=await svc.rules(case.estate_id),
        render=svc.notifier,
    )


async def file(
    svc: Services, new: NewCase, decide: Callable[[Case, Facts], Decision], actor: Actor
) -> Case:
    """File a case (Q-2, C-10: recorded) with what filing decides, in one unit of work."""
    rules = await svc.rules(new.estate_id)
    now: datetime = svc.clock.now()
    if new.unit_id is not None and new.unit_label is None:
        unit = await svc.identity.unit(new.unit_id)
        if unit is not None:
            new = replace(new, unit_label=unit.label)
    return await svc.cases.file(
        new,
        rules.calendar.local(now),
        lambda case: decide(case, Facts(rules, now)),
        actor=signed(actor),
        rules=rules,
        render=svc.notifier,
    )


# --- who may act on a case (re-read on every update) -------------------------------------------


def is_first_responder(actor: Actor, case: Case) -> bool:
    """Customer-service staff of the case's estate (Q-1, C-9; an admin is IT, not one)."""
    return may(Act.FIRST_RESPONSE, actor.roles_in(case.estate_id))


def is_staff_of(actor: Actor, estate_id: int) -> bool:
    """May read the estate's cases: its staff, and its admins (support, no steps)."""
    return may(Act.READ_CASE, actor.roles_in(estate_id), deployment_admin=actor.is_global_admin)


def is_department_member(actor: Actor, case: Case) -> bool:
    """Belongs to the department the case was referred to (Q-4)."""
    memberships = [
        (m.role, m.department) for m in actor.memberships if m.estate_id == case.estate_id
    ]
    return in_department(memberships, case.department)


def may_override(actor: Actor, case: Case) -> bool:
    """The department's head or the supervisor: may reassign or re-promise (Q-4)."""
    return may(Act.OVERRIDE, actor.roles_in(case.estate_id), department=case.department)


def late_promise_role(actor: Actor, case: Case) -> str | None:
    """The role in which ``actor`` may promise a time once a request's day ran out (Q-4:
    the customer-centre supervisor), or None."""
    held = sorted(actor.roles_in(case.estate_id))
    return next((role for role in held if may(Act.LATE_PROMISE, {role})), None)


def may_finish(actor: Actor, case: Case) -> bool:
    """The assignee, the department's head or the supervisor."""
    return case.assignee_id in (None, actor.person.id) or may(
        Act.FINISH_ANY, actor.roles_in(case.estate_id), department=case.department
    )
