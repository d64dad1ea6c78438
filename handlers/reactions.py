"""Deadlines and the outbox reacting: what a timer's warning or breach does
(:func:`procedures.reactions.react`), and what a resident blocking the bot does, each
applied inside the transaction that marks the timer fired or the message refused."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiosqlite

from handlers import renovation, renovation_completion, renovation_patrol
from handlers.common import Services
from procedures import reactions, requests
from procedures.decisions import Facts
from procedures.renovation import PATROL_DUTY, RENOVATION
from procedures.renovation_completion import DEPOSIT
from procedures.subjects import CASE
from storage import cases
from storage.deadlines import Firing
from storage.outbox import OutboxMessage

log = logging.getLogger(__name__)


def reactor(svc: Services) -> Callable[[aiosqlite.Connection, Firing], Awaitable[None]]:
    """The sweeper's reaction (see bot.sweeper), run in the transaction that marks the timer."""

    async def react(conn: aiosqlite.Connection, firing: Firing) -> None:
        deadline = firing.deadline
        if deadline.subject.kind == RENOVATION:  # the renovation procedure reacts
            await renovation.react(svc, conn, firing)
            return
        if deadline.subject.kind == PATROL_DUTY:  # a department's patrol of the day
            await renovation_patrol.react(svc, conn, firing)
            return
        if deadline.subject.kind == DEPOSIT:  # R-21's date, the workers' ID retention
            await renovation_completion.react(svc, conn, firing)
            return
        if deadline.subject.kind != CASE or deadline.case_id is None:
            # Each kind of subject reacts by its own procedure.
            log.warning("deadline %s of %s has no reaction", deadline.id, deadline.subject)
            return
        case = await svc.cases.get(deadline.case_id)
        if case is None:
            return
        rules = await svc.rules(case.estate_id)
        if deadline.rule not in rules.rules:
            log.warning("deadline %s has unknown rule %s", deadline.id, deadline.rule)
            return
        due = reactions.Due(
            deadline.id,
            deadline.rule,
            deadline.due_at,
            firing.warning,
            firing.late,
            deadline.data,
        )
        facts = Facts(rules, svc.clock.now(), await cases.history_in(conn, case.id))
        for decision in reactions.react(case, due, facts):
            await cases.apply(
                conn,
                case.id,
                decision,
                by=None,
                actor="system",
                rules=rules,
                render=svc.notifier,
            )

    return react


def on_blocked(svc: Services) -> Callable[[aiosqlite.Connection, OutboxMessage], Awaitable[None]]:
    """A resident blocked the bot: the case goes on; customer service phones instead."""

    async def blocked(conn: aiosqlite.Connection, message: OutboxMessage) -> None:
        case = await svc.cases.get(message.case_id) if message.case_id else None
        person = await svc.identity.person(message.person_id) if message.person_id else None
        if case is None or person is None or person.id != case.resident_id:
            return  # only a resident's refusal is news for customer service (not staff's)
        decision = requests.resident_blocked(case, person.name, person.phone)
        await cases.apply(conn, case.id, decision, by=None, actor="system", render=svc.notifier)

    return blocked
