"""R-4 on a renovation's card and in its notices: the heads' signatures so far, a
delegate's shown as "代签：郑海（受冯立委托）", and the delegates in force who hear what
the heads hear (``procedures.renovation.WithDelegates``). Imported by the renovation
notifier; imports nothing of the renovation handlers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from html import escape

from bot.i18n import t, t_raw
from handlers.common import Services
from procedures.renovation_delegate import in_force
from storage.identity import Person
from storage.renovation_delegate import DelegationStore


async def lines(svc: Services, locale: str, renovation_id: int) -> list[str]:
    """The card's signature lines (none before anyone signed): role, who, the decision;
    a delegate's with the head who authorised them."""
    store = DelegationStore(svc.db)
    shown: list[str] = []
    for role, approved, name, delegation_id in await store.signatures(renovation_id):
        key = "approved" if approved else "rejected"
        decision = t(locale, f"renovation_delegate.{key}")
        who = escape(name, quote=False)
        if delegation_id is not None:
            found = await store.get(delegation_id)
            head = found.head_name if found is not None else "—"
            who = t(locale, "renovation_delegate.on_behalf", delegate=name, head=head)
        shown.append(
            t_raw(  # its parameters are HTML already
                locale,
                "renovation_delegate.signature_line",
                role=t(locale, f"role.{role}"),
                who=who,
                decision=decision,
            )
        )
    return shown


async def delegates(
    svc: Services, estate_id: int, roles: Iterable[str], today: date
) -> list[Person]:
    """The delegates in force today for these head roles of an estate (each once)."""
    found: dict[int, Person] = {}
    for delegation in await DelegationStore(svc.db).for_roles(estate_id, roles):
        if in_force(delegation, today) and delegation.delegate_id not in found:
            person = await svc.identity.person(delegation.delegate_id)
            if person is not None:
                found[person.id] = person
    return list(found.values())
