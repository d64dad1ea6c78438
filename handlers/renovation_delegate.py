"""``/delegate``: a head records who signs renovation applications in their place (R-4, "or
someone they authorised"; procedures.renovation_delegate decides, storage keeps it).

**A head** (``customer_head`` or ``engineering_head``, private chat): ``/delegate`` shows
the delegations still current, each with "撤销委托"; for a role with none, it asks which
role (when they hold both), the delegate (buttons: the estate's staff; or a typed part of a
name), the last day (from today, at most 30 days), a reason. The delegation is recorded
and audited; the delegate is told, and from then on hears what the head hears about
applications to decide (the card with ✅ 批准 / ❌ 驳回, R-4's warning) and signs in the
head's role, the approval naming the delegation (handlers.renovation's signing step).

Every press is checked again against the database: the role with ``may``
(:attr:`Act.DELEGATE_SIGNATURE`), the delegate against the estate's staff, a revocation
against the head who recorded it. Button data: ``rdl:<action>:<number>``.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import t
from handlers.common import (
    Actor,
    AnyHandler,
    Context,
    Services,
    button,
    canceller,
    in_rows,
    keep_answered,
    keyboard,
    persistent_flow,
    person_locale,
    reply,
    services,
    who,
)
from handlers.records import OTHER, TEXT, draft_of, stale
from handlers.renovation import KEYBOARDS, Notifier, today_of
from procedures import renovation_delegate as dlg
from procedures.decisions import Roles, Style, Tell, Title
from procedures.identity import STAFF_ROLES
from procedures.permissions import Act, may
from procedures.renovation import Refusal
from procedures.rule_ids import RuleId
from storage.cases import Notice
from storage.identity import Person
from storage.renovation import RenovationStore
from storage.renovation_delegate import DelegationStore

#: ``user_data`` key of the flow.
KEY = "renovation_delegate"
#: Most staff offered as buttons at once (a typed name narrows them).
MAX_BUTTONS = 24


class DelegateStep(IntEnum):
    """Where a head is in recording a delegate."""

    ROLE = 1
    WHO = 2
    UNTIL = 3
    REASON = 4


def store(svc: Services) -> DelegationStore:
    """The deployment's delegations."""
    return DelegationStore(svc.db)


def _heads(actor: Actor) -> list[tuple[int, str, str]]:
    """(estate, estate name, role) of each head role the person holds (checked with
    ``may`` per estate)."""
    found = []
    for m in actor.memberships:
        if m.role in dlg.delegable({m.role}) and may(
            Act.DELEGATE_SIGNATURE, actor.roles_in(m.estate_id)
        ):
            found.append((m.estate_id, m.estate_name, m.role))
    return found


def shown(actor: Actor, d: dlg.Delegation, estate: str) -> str:
    """A delegation as its head reads it."""
    return actor.t(
        "renovation_delegate.current",
        role=actor.t(f"role.{d.role}"),
        estate=estate,
        delegate=d.delegate_name,
        start=d.valid_from.isoformat(),
        end=d.valid_to.isoformat(),
        reason=d.reason,
    )


async def start(update: Update, context: Context) -> int:
    """``/delegate``: the current delegations with their revoke button, then a new one for
    a head role that has none."""
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return ConversationHandler.END
    context.user_data.pop(KEY, None)
    heads = _heads(actor)
    if not heads:
        await reply(update, context, actor.t("renovation_delegate.not_a_head"))
        return ConversationHandler.END
    svc = services(context)
    names = {estate: name for estate, name, _ in heads}
    taken: set[tuple[int, str]] = set()
    for d in await store(svc).of_head(actor.person.id):
        if (d.estate_id, d.role) in taken or d.estate_id not in names:
            continue
        if dlg.current(d, await today_of(svc, d.estate_id)):
            taken.add((d.estate_id, d.role))
            markup = keyboard(
                [[button(actor.t("renovation_delegate.btn_revoke"), f"rdl:rv:{d.id}")]]
            )
            await reply(update, context, shown(actor, d, names[d.estate_id]), markup)
    free = [h for h in heads if (h[0], h[2]) not in taken]
    if not free:
        return ConversationHandler.END
    context.user_data[KEY] = {"choices": [[e, r] for e, _, r in free]}
    if len(free) == 1:
        return await _chose(update, context, actor, free[0][0], free[0][2])
    buttons = [
        button(f"{actor.t(f'role.{role}')}（{name}）", f"rdl:role:{index}")
        for index, (_, name, role) in enumerate(free)
    ]
    await reply(
        update, context, actor.t("renovation_delegate.ask_role"), keyboard(in_rows(buttons, 1))
    )
    return DelegateStep.ROLE


async def got_role(update: Update, context: Context) -> int:
    """A role picked among the head's."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    choices = draft_of(context, KEY).get("choices") or []
    index = int((query.data or "").rsplit(":", 1)[-1] or -1)
    if not 0 <= index < len(choices):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return DelegateStep.ROLE
    await query.answer()
    await keep_answered(query)
    estate_id, role = choices[index]
    return await _chose(update, context, actor, int(estate_id), str(role))


async def staff_of(svc: Services, estate_id: int, head_id: int) -> list[Person]:
    """The estate's staff who may be a delegate (not the head), by name."""
    found: dict[int, Person] = {}
    for role in STAFF_ROLES:
        for person in await svc.identity.people_with_role(estate_id, role.value):
            if person.id != head_id:
                found.setdefault(person.id, person)
    return sorted(found.values(), key=lambda p: (p.name, p.id))


async def _chose(update: Update, context: Context, actor: Actor, estate_id: int, role: str) -> int:
    if not may(Act.DELEGATE_SIGNATURE, actor.roles_in(estate_id)) or role not in actor.roles_in(
        estate_id
    ):
        await reply(update, context, actor.t("renovation_delegate.not_a_head"))
        return ConversationHandler.END
    draft = draft_of(context, KEY)
    draft.update({"estate": estate_id, "role": role})
    staff = await staff_of(services(context), estate_id, actor.person.id)
    if not staff:
        await reply(update, context, actor.t("renovation_delegate.no_staff"))
        return ConversationHandler.END
    return await _ask_who(update, context, actor, staff, role)


async def _ask_who(
    update: Update, context: Context, actor: Actor, staff: list[Person], role: str, text: str = ""
) -> int:
    buttons = [button(p.name, f"rdl:who:{p.id}") for p in staff[:MAX_BUTTONS]]
    head = text or actor.t("renovation_delegate.ask_who", role=actor.t(f"role.{role}"))
    await reply(update, context, head, keyboard(in_rows(buttons, 3)))
    return DelegateStep.WHO


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace(" ", "")


async def got_who_typed(update: Update, context: Context) -> int:
    """A typed part of a name: one match is chosen, several are offered, none asked again."""
    actor = await who(update, context)
    message = update.effective_message
    draft = draft_of(context, KEY)
    if actor is None or message is None or "estate" not in draft:
        return ConversationHandler.END
    typed = " ".join((message.text or "").split())[:40]
    staff = await staff_of(services(context), int(draft["estate"]), actor.person.id)
    matches = [p for p in staff if typed and _folded(typed) in _folded(p.name)]
    if len(matches) == 1:
        return await _picked(update, context, actor, matches[0])
    if not matches:
        hint = actor.t("renovation_delegate.no_match", typed=typed)
        return await _ask_who(update, context, actor, staff, str(draft["role"]), hint)
    return await _ask_who(update, context, actor, matches, str(draft["role"]))


async def got_who(update: Update, context: Context) -> int:
    """A delegate pressed: checked against the estate's staff now."""
    query = update.callback_query
    actor = await who(update, context)
    draft = draft_of(context, KEY)
    if query is None or actor is None or "estate" not in draft:
        return ConversationHandler.END
    tail = (query.data or "").rsplit(":", 1)[-1]
    staff = await staff_of(services(context), int(draft["estate"]), actor.person.id)
    found = next((p for p in staff if tail.isdigit() and p.id == int(tail)), None)
    if found is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return DelegateStep.WHO
    await query.answer()
    await keep_answered(query)
    return await _picked(update, context, actor, found)


async def _picked(update: Update, context: Context, actor: Actor, person: Person) -> int:
    draft = draft_of(context, KEY)
    draft.update({"delegate": person.id, "delegate_name": person.name})
    today = await today_of(services(context), int(draft["estate"]))
    await reply(
        update,
        context,
        actor.t(
            "renovation_delegate.ask_until",
            delegate=person.name,
            today=today.isoformat(),
            example=(today + timedelta(days=7)).isoformat(),
            days=dlg.MAX_DAYS,
        ),
    )
    return DelegateStep.UNTIL


async def got_until(update: Update, context: Context) -> int:
    """The last day, typed: from today, at most :data:`procedures.renovation_delegate.MAX_DAYS`."""
    actor = await who(update, context)
    message = update.effective_message
    draft = draft_of(context, KEY)
    if actor is None or message is None or "delegate" not in draft:
        return ConversationHandler.END
    today = await today_of(services(context), int(draft["estate"]))
    example = (today + timedelta(days=7)).isoformat()
    try:
        until = date.fromisoformat(unicodedata.normalize("NFKC", (message.text or "").strip()))
    except ValueError:
        await reply(update, context, actor.t("renovation_delegate.until_hint", example=example))
        return DelegateStep.UNTIL
    try:
        dlg.period(today, until)
    except Refusal as refusal:
        await reply(
            update, context, actor.t(f"renovation.refused.{refusal.code}", days=dlg.MAX_DAYS)
        )
        return DelegateStep.UNTIL
    draft["until"] = until.isoformat()
    await reply(update, context, actor.t("renovation_delegate.ask_reason"))
    return DelegateStep.REASON


async def got_reason(update: Update, context: Context) -> int:
    """The reason: the delegation is recorded (checked again: the head's role, the
    delegate on the staff, the period from today), the delegate told."""
    actor = await who(update, context)
    message = update.effective_message
    draft = draft_of(context, KEY)
    if actor is None or message is None or "until" not in draft:
        return ConversationHandler.END
    reason = " ".join((message.text or "").split())
    if not reason or len(reason) > dlg.MAX_REASON:
        await reply(
            update, context, actor.t("renovation_delegate.reason_hint", limit=dlg.MAX_REASON)
        )
        return DelegateStep.REASON
    svc = services(context)
    estate_id, role = int(draft["estate"]), str(draft["role"])
    held = actor.roles_in(estate_id)
    delegate = await svc.identity.person(int(draft["delegate"]))
    today = await today_of(svc, estate_id)
    if context.user_data is not None:
        context.user_data.pop(KEY, None)
    if not may(Act.DELEGATE_SIGNATURE, held) or role not in held:
        await reply(update, context, actor.t("renovation_delegate.not_a_head"))
        return ConversationHandler.END
    roles = await svc.identity.roles_in(delegate.id, estate_id) if delegate else set()
    if delegate is None or not dlg.may_be_delegate(actor.person.id, delegate.id, roles):
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    try:
        start_day, until = dlg.period(today, date.fromisoformat(str(draft["until"])))
    except Refusal as refusal:
        await reply(
            update, context, actor.t(f"renovation.refused.{refusal.code}", days=dlg.MAX_DAYS)
        )
        return ConversationHandler.END
    locale = person_locale(delegate, svc.settings.locale)
    told = Notice(
        delegate.tg_user_id,
        t(
            locale,
            "renovation_delegate.told",
            head=actor.person.name,
            role=t(locale, f"role.{role}"),
            start=start_day.isoformat(),
            end=until.isoformat(),
            reason=reason,
        ),
        None,
        delegate.id,
        locale=locale,
    )
    waiting = await _waiting(svc, delegate, estate_id, role)  # R-4 already under way
    await store(svc).record(
        estate_id, role, actor.person.id, delegate.id, start_day, until, reason, [told, *waiting]
    )
    await svc.deliver()
    await reply(
        update,
        context,
        actor.t(
            "renovation_delegate.recorded",
            delegate=delegate.name,
            role=actor.t(f"role.{role}"),
            start=start_day.isoformat(),
            end=until.isoformat(),
        ),
    )
    return ConversationHandler.END


async def _waiting(svc: Services, delegate: Person, estate_id: int, role: str) -> list[Notice]:
    """The applications of the estate awaiting ``role``'s signature now, each as the card a
    head got (with ✅ 批准 / ❌ 驳回), for a delegate starting today."""
    locale = person_locale(delegate, svc.settings.locale)
    notifier, notices = Notifier(svc), []
    tell = Tell(
        Roles(frozenset({role})),
        "renovation.to_decide",
        {"limit": Title(RuleId.R4)},
        style=Style.WITH_CARD,
        buttons="ren_decide",
    )
    for renovation_id in await store(svc).awaiting(estate_id, role):
        ren = await RenovationStore(svc.db).get(renovation_id)
        if ren is None:
            continue
        owner = await svc.identity.person(ren.owner_id)
        text = await notifier.text(locale, ren, tell, owner)
        built = KEYBOARDS["ren_decide"](locale, ren, None)
        markup = built.to_dict() if built is not None else None
        notices.append(Notice(delegate.tg_user_id, text, markup, delegate.id, locale=locale))
    return notices


async def expected(update: Update, context: Context) -> int:
    """Something else than the step asks for (a photo, a sticker…): asked again, politely,
    for what the step wants."""
    actor = await who(update, context)
    state: Any = context.user_data.get(KEY) if context.user_data else None
    if actor is None or not isinstance(state, dict):
        return ConversationHandler.END
    if "until" in state:
        await reply(
            update, context, actor.t("renovation_delegate.reason_hint", limit=dlg.MAX_REASON)
        )
        return DelegateStep.REASON
    if "delegate" in state:
        today = await today_of(services(context), int(state["estate"]))
        example = (today + timedelta(days=7)).isoformat()
        await reply(update, context, actor.t("renovation_delegate.until_hint", example=example))
        return DelegateStep.UNTIL
    await reply(update, context, actor.t("renovation_delegate.choose_please"))
    return DelegateStep.WHO if "estate" in state else DelegateStep.ROLE


#: /cancel: nobody delegated.
cancel = canceller(KEY, "renovation_delegate.cancelled")


async def on_revoke(update: Update, context: Context) -> None:
    """``rdl:rv:<id>``: the head who recorded it revokes a delegation; the delegate is
    told. Anyone else is refused."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    tail = (query.data or "").rsplit(":", 1)[-1]
    svc = services(context)
    found = await store(svc).get(int(tail)) if tail.isdigit() else None
    if found is None or found.head_id != actor.person.id:
        await query.answer(actor.t("renovation_delegate.not_yours"), show_alert=True)
        return

    delegate = await svc.identity.person(found.delegate_id)
    told: list[Notice] = []
    if delegate is not None:
        locale = person_locale(delegate, svc.settings.locale)
        text = t(
            locale,
            "renovation_delegate.revoked_told",
            head=actor.person.name,
            role=t(locale, f"role.{found.role}"),
        )
        told.append(Notice(delegate.tg_user_id, text, None, delegate.id, locale=locale))
    after = await store(svc).revoke(found.id, by=actor.person.id, notices=lambda _d: told)
    if after is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await svc.deliver()
    await query.answer()
    await keep_answered(query)
    await reply(
        update,
        context,
        actor.t(
            "renovation_delegate.revoked",
            delegate=after.delegate_name,
            role=actor.t(f"role.{after.role}"),
        ),
    )


def conversation() -> ConversationHandler[Context]:
    """Recording a delegate (R-4), persistent."""
    S = DelegateStep
    return persistent_flow(
        entry_points=[CommandHandler("delegate", start, filters.ChatType.PRIVATE)],
        states={
            S.ROLE: [CallbackQueryHandler(got_role, pattern=r"^rdl:role:")],
            S.WHO: [
                CallbackQueryHandler(got_who, pattern=r"^rdl:who:"),
                MessageHandler(TEXT, got_who_typed),
            ],
            S.UNTIL: [MessageHandler(TEXT, got_until)],
            S.REASON: [MessageHandler(TEXT, got_reason)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("delegate", start, filters.ChatType.PRIVATE),
            CallbackQueryHandler(stale, pattern=r"^rdl:(role|who):"),
            MessageHandler(OTHER | TEXT, expected),
        ],
        name="renovation_delegate",
    )


def handlers() -> list[AnyHandler]:
    """``/delegate`` and the revoke button."""
    return [conversation(), CallbackQueryHandler(on_revoke, pattern=r"^rdl:rv:")]
