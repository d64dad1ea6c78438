"""Callbacks in the database (P8, B-1..B-4, C-14): who is responsible for calling a
resident back, the residents a staff-opened callback is for, and recording who called.

Every SQL statement about callbacks lives here; procedures.callbacks decides.
"""

from __future__ import annotations

from procedures.deadlines import EstateRules
from procedures.decisions import Decision
from procedures.identity import Role
from storage import cases
from storage.cases import Case, Render
from storage.db import Database

#: The steps on customer service's card that make an assistant the one responsible (B-2):
#: whoever first referred, resolved or escalated the case.
HANDLED = ("case.refer", "case.resolve", "case.escalate")


async def responsible(db: Database, case: Case) -> int | None:
    """B-2: the person id of the customer assistant responsible for ``case``: the one who
    first handled it on customer service's card (its audit trail: referred, resolved or
    escalated it), else the estate's first customer assistant; None when the estate has
    none. Only someone who is a customer assistant of the case's estate now counts."""
    marks = ", ".join("?" for _ in HANDLED)
    row = await db.fetchone(
        "SELECT a.actor_id FROM audit a JOIN memberships m ON m.person_id = a.actor_id"
        f" WHERE a.subject = ? AND a.event IN ({marks}) AND m.estate_id = ? AND m.role = ?"
        " ORDER BY a.id LIMIT 1",
        (f"case:{case.id}", *HANDLED, case.estate_id, Role.CUSTOMER_ASSISTANT.value),
    )
    if row is None:
        row = await db.fetchone(
            "SELECT person_id AS actor_id FROM memberships WHERE estate_id = ? AND role = ?"
            " ORDER BY person_id LIMIT 1",
            (case.estate_id, Role.CUSTOMER_ASSISTANT.value),
        )
    return int(row["actor_id"]) if row is not None else None


async def bound_to_unit(db: Database, unit_id: int) -> list[int]:
    """The people bound to a unit (its owner with the bot, first bound first)."""
    rows = await db.fetchall(
        "SELECT person_id FROM unit_bindings WHERE unit_id = ? ORDER BY bound_at, person_id",
        (unit_id,),
    )
    return [int(r["person_id"]) for r in rows]


async def person_with_phone(db: Database, phone: str) -> int | None:
    """The person with the bot whose verified phone is ``phone`` (normalised), if any."""
    row = await db.fetchone("SELECT id FROM people WHERE phone = ? ORDER BY id LIMIT 1", (phone,))
    return int(row["id"]) if row is not None else None


async def record(
    db: Database,
    case_id: int,
    decision: Decision,
    *,
    by: int | None,
    actor: str,
    called_back_by: int | None,
    rules: EstateRules | None = None,
    render: Render | None = None,
) -> Case | None:
    """B-4: apply a callback's decision (procedures.callbacks.called_back) and note who
    called the resident back, in one unit of work; None when it no longer applies (the
    callback was recorded already: nothing changes)."""
    async with db.write() as conn:
        after = await cases.apply(
            conn, case_id, decision, by=by, actor=actor, rules=rules, render=render
        )
        if after is not None and called_back_by is not None:
            await conn.execute(
                "UPDATE cases SET called_back_by = ? WHERE id = ?", (called_back_by, case_id)
            )
    return after
