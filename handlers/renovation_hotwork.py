"""Renovation (P2) in chat: hot-work permits (R-17, 動火審批) and temporary passes
(臨時出入證, S-1). procedures.renovation_hotwork decides; storage.renovation_hotwork applies.

**Hot work** (R-17): ``/hotwork`` (private chat) — the owner or the contractor's head of an
active renovation, or customer service for them (``/hotwork ZX-…``) — asks the place, the
window (``12-02 09:00-11:00``), the kind (buttons), the operator's name and certificate
number, and whether an extinguisher is on site. Engineering (its group, or its members
privately) gets the application with ✅ 批准动火 / ❌ 不批准 (then a reason button); an
engineer or the engineering head decides (re-checked against the roles in the database). An
approved permit gets its code (``DH…``): the owner and security are told.

**Temporary passes**: customer service's ``/temppass ZX-…`` asks the visitor's name, the
purpose and the validity (2 hours, 4 hours, today); the pass's code (``LS…``) admits once.

**At the gate**: ``/pass CODE`` (handlers.renovation.check) hands a code that is no worker's
pass to :func:`other_pass`: a hot-work permit admits welding gear and gas cylinders inside
its window while the works are active; a temporary pass admits its visitor once. Every check
is logged with the worker passes' checks.

Button data: ``ren:hwk:<kind index>``, ``ren:hwx:<0|1>`` (the extinguisher),
``ren:hwok:<permit>``, ``ren:hwno:<permit>``, ``ren:hwwhy:<permit>:<reason index>``,
``ren:tpv:<validity index>``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import datetime
from html import escape

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
    edit,
    in_rows,
    keyboard,
    parse_id,
    persistent_flow,
    reply,
    services,
    who,
)
from handlers.records import OTHER, TEXT, draft_of
from handlers.renovation import KEYBOARDS, Notifier, _ids, arg_buttons, refusal_text, store
from procedures import renovation as reno
from procedures import renovation_hotwork as hot
from procedures.permissions import Act, may
from procedures.renovation import Refusal, Renovation, Status
from procedures.renovation_hotwork import HotKind, HotWork, HotWorkForm, TempValidity
from storage.renovation_hotwork import HotWorkStore, NewTempPass

#: ``user_data`` keys of the two flows.
KEY = "renovation_hotwork"
TEMP_KEY = "renovation_temp_pass"
KINDS: tuple[HotKind, ...] = tuple(HotKind)
VALIDITIES: tuple[TempValidity, ...] = tuple(TempValidity)


class HotStep:
    """Applying for a hot-work permit."""

    PLACE = 1
    WINDOW = 2
    KIND = 3
    OPERATOR = 4
    CERTIFICATE = 5
    EXTINGUISHER = 6


class TempStep:
    """Issuing a temporary pass."""

    NAME = 1
    PURPOSE = 2
    VALIDITY = 3


def permits(svc: Services) -> HotWorkStore:
    """The hot-work permits and temporary passes of the deployment."""
    return HotWorkStore(svc.db)


#: Engineering's buttons on a hot-work application.
decide_keyboard = arg_buttons(
    [
        [
            ("renovation_hotwork.btn_approve", "ren:hwok:{}"),
            ("renovation_hotwork.btn_refuse", "ren:hwno:{}"),
        ]
    ]
)


#: The Notifier draws engineering's buttons by this name (a registration line).
KEYBOARDS["ren_hot"] = decide_keyboard


def hot_card(locale: str, ren: Renovation, permit: HotWork) -> str:
    """A hot-work permit as cards show it."""
    form = permit.form
    state = t(locale, f"renovation_hotwork.state.{permit.state.value}")
    return t(
        locale,
        "renovation_hotwork.card",
        code=permit.code or "—",
        state=state,
        number=ren.number,
        unit=ren.unit_label,
        place=escape(form.place),
        day=form.starts.date().isoformat(),
        start=f"{form.starts:%H:%M}",
        end=f"{form.ends:%H:%M}",
        kind=t(locale, f"renovation_hotwork.kind.{form.kind.value}"),
        operator=escape(form.operator),
        certificate=escape(form.certificate),
    )


async def _by_number(svc: Services, text: str) -> Renovation | None:
    number = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    found = await permits(svc).renovation_id(number)
    return await store(svc).get(found) if found is not None else None


async def _signed_active(svc: Services, actor: Actor) -> list[Renovation]:
    """The active renovations ``actor`` signs for (the owner or the contractor's head)."""
    found = [await store(svc).get(i) for i in await permits(svc).active_signed_by(actor.person.id)]
    return [r for r in found if r is not None]


def may_apply(actor: Actor, ren: Renovation) -> bool:
    """R-17: the owner, the contractor's head, or customer service for them."""
    return reno.signer(ren, actor.person.id) is not None or may(
        Act.ISSUE_PERMIT, actor.roles_in(ren.estate_id)
    )


# --- applying (R-17) ------------------------------------------------------------------------


async def start(update: Update, context: Context) -> int:
    """``/hotwork [ZX-…]``: which renovation, then the place."""
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return ConversationHandler.END
    svc = services(context)
    context.user_data.pop(KEY, None)
    typed = " ".join(context.args or [])
    if typed:
        ren = await _by_number(svc, typed)
        if ren is None or not may_apply(actor, ren):
            await reply(update, context, actor.t("renovation_hotwork.unknown_number"))
            return ConversationHandler.END
    else:
        mine = await _signed_active(svc, actor)
        if not mine:
            staff = any(
                may(Act.ISSUE_PERMIT, actor.roles_in(m.estate_id)) for m in actor.memberships
            )
            key = "renovation_hotwork.usage" if staff else "renovation_hotwork.none_active"
            await reply(update, context, actor.t(key))
            return ConversationHandler.END
        ren = mine[-1]
    if ren.status != Status.ACTIVE:
        await reply(update, context, refusal_text(actor, Refusal("hot_not_active")))
        return ConversationHandler.END
    context.user_data[KEY] = {"id": ren.id}
    await reply(
        update,
        context,
        actor.t("renovation_hotwork.ask_place", number=ren.number, unit=ren.unit_label),
    )
    return HotStep.PLACE


async def got_place(update: Update, context: Context) -> int:
    """The place of the hot work."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    place = hot.clean_text(message.text or "")
    if place is None:
        await reply(update, context, actor.t("renovation_hotwork.text_hint", limit=hot.MAX_TEXT))
        return HotStep.PLACE
    draft_of(context, KEY)["place"] = place
    await reply(update, context, actor.t("renovation_hotwork.ask_window"))
    return HotStep.WINDOW


async def got_window(update: Update, context: Context) -> int:
    """The window: a date and the hours; not in the past."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    svc = services(context)
    pending = draft_of(context, KEY)
    ren = await store(svc).get(int(pending["id"]))
    if ren is None:
        return ConversationHandler.END
    local = (await svc.rules(ren.estate_id)).calendar.local(svc.clock.now())
    found = hot.parse_hot_window(message.text or "", local.date())
    if found is None:
        await reply(update, context, actor.t("renovation_hotwork.window_hint"))
        return HotStep.WINDOW
    day, start_at, end_at = found
    starts = datetime.combine(day, start_at, local.tzinfo)
    ends = datetime.combine(day, end_at, local.tzinfo)
    if ends <= local:
        await reply(update, context, actor.t("renovation.refused.hot_window_past"))
        return HotStep.WINDOW
    pending |= {"starts": starts.isoformat(), "ends": ends.isoformat()}
    kinds = [
        button(actor.t(f"renovation_hotwork.kind.{k.value}"), f"ren:hwk:{i}")
        for i, k in enumerate(KINDS)
    ]
    await reply(update, context, actor.t("renovation_hotwork.ask_kind"), keyboard(in_rows(kinds)))
    return HotStep.KIND


async def got_kind(update: Update, context: Context) -> int:
    """The kind, by button."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    index = _ids(query.data, 1)
    if not index or not 0 <= index[0] < len(KINDS):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return HotStep.KIND
    await query.answer()
    draft_of(context, KEY)["kind"] = KINDS[index[0]].value
    await reply(update, context, actor.t("renovation_hotwork.ask_operator"))
    return HotStep.OPERATOR


async def got_operator(update: Update, context: Context) -> int:
    """The operator's name."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    name = reno.clean_name(message.text or "")
    if name is None:
        await reply(update, context, actor.t("renovation.name_hint", limit=reno.MAX_NAME))
        return HotStep.OPERATOR
    draft_of(context, KEY)["operator"] = name
    await reply(update, context, actor.t("renovation_hotwork.ask_certificate"))
    return HotStep.CERTIFICATE


async def got_certificate(update: Update, context: Context) -> int:
    """The operator's certificate number, then whether an extinguisher is on site."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    certificate = hot.clean_certificate(message.text or "")
    if certificate is None:
        await reply(update, context, actor.t("renovation_hotwork.certificate_hint"))
        return HotStep.CERTIFICATE
    draft_of(context, KEY)["certificate"] = certificate
    markup = keyboard([[
        button(actor.t("renovation_hotwork.btn_extinguisher"), "ren:hwx:1"),
        button(actor.t("renovation_hotwork.btn_no_extinguisher"), "ren:hwx:0"),
    ]])  # fmt: skip
    await reply(update, context, actor.t("renovation_hotwork.ask_extinguisher"), markup)
    return HotStep.EXTINGUISHER


async def got_extinguisher(update: Update, context: Context) -> int:
    """The extinguisher, by button: the application made (or refused with the reason)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None or KEY not in context.user_data:
        return ConversationHandler.END
    svc = services(context)
    pending = context.user_data.pop(KEY)
    await query.answer()
    form = HotWorkForm(
        str(pending["place"]),
        datetime.fromisoformat(str(pending["starts"])),
        datetime.fromisoformat(str(pending["ends"])),
        HotKind(str(pending["kind"])),
        str(pending["operator"]),
        str(pending["certificate"]),
        query.data == "ren:hwx:1",
    )
    now = svc.clock.now()
    try:
        made = await permits(svc).apply_for(
            int(pending["id"]),
            form,
            lambda r, pid: hot.applied(r, pid, form, may_apply(actor, r), now),
            by=actor.person.id,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        return ConversationHandler.END
    if made is None:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    ren = await store(svc).get(made.renovation_id)
    assert ren is not None
    text = actor.t("renovation_hotwork.applied") + "\n\n" + hot_card(actor.locale, ren, made)
    await reply(update, context, text)
    await svc.deliver()
    return ConversationHandler.END


async def hot_expected(update: Update, context: Context) -> int:
    """Something else while applying: ask for what is missing."""
    actor = await who(update, context)
    pending = draft_of(context, KEY)
    order = [("place", HotStep.PLACE), ("starts", HotStep.WINDOW), ("kind", HotStep.KIND),
             ("operator", HotStep.OPERATOR), ("certificate", HotStep.CERTIFICATE)]  # fmt: skip
    step = next((s for k, s in order if k not in pending), HotStep.EXTINGUISHER)
    if actor is not None:
        key = (
            "renovation_hotwork.tap_please"
            if step in (HotStep.KIND, HotStep.EXTINGUISHER)
            else "renovation.text_please"
        )
        await reply(update, context, actor.t(key))
    return step


cancel_hot = canceller(KEY, "renovation_hotwork.cancelled")


def conversation() -> ConversationHandler[Context]:
    """Applying for a hot-work permit (R-17), persistent."""
    H = HotStep
    return persistent_flow(
        entry_points=[CommandHandler("hotwork", start, filters.ChatType.PRIVATE)],
        states={
            H.PLACE: [MessageHandler(TEXT, got_place)],
            H.WINDOW: [MessageHandler(TEXT, got_window)],
            H.KIND: [CallbackQueryHandler(got_kind, pattern=r"^ren:hwk:")],
            H.OPERATOR: [MessageHandler(TEXT, got_operator)],
            H.CERTIFICATE: [MessageHandler(TEXT, got_certificate)],
            H.EXTINGUISHER: [CallbackQueryHandler(got_extinguisher, pattern=r"^ren:hwx:")],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_hot),
            CommandHandler("hotwork", start, filters.ChatType.PRIVATE),
            MessageHandler(OTHER | TEXT, hot_expected),
        ],
        name="renovation_hotwork",
    )


# --- engineering decides (R-17) ---------------------------------------------------------------


async def _decide(update: Update, context: Context, approved: bool, reason: str | None) -> None:
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = (query.data or "").split(":")[2:3]
    svc = services(context)
    permit_id = parse_id(ids[0]) if ids else None
    permit = await permits(svc).get(permit_id) if permit_id else None
    ren = await store(svc).get(permit.renovation_id) if permit else None
    if permit is None or ren is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    role = hot.decider_role(actor.roles_in(ren.estate_id))
    now = svc.clock.now()
    try:
        done = await permits(svc).decide(
            permit.id,
            lambda p, r, code: hot.decided(p, r, approved, reason, role, code, now),
            by=actor.person.id,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return
    if done is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await query.answer()
    changed, after = done
    head = actor.t(
        "renovation_hotwork.decided_approved" if approved else "renovation_hotwork.decided_refused",
        name=escape(actor.person.name),
    )
    await edit(query.message, head + "\n\n" + hot_card(actor.locale, after, changed), later=svc)
    await svc.deliver()


async def on_approve(update: Update, context: Context) -> None:
    """``ren:hwok:<permit>``: engineering approves: the permit gets its code."""
    await _decide(update, context, True, None)


async def on_refuse(update: Update, context: Context) -> None:
    """``ren:hwno:<permit>``: engineering refuses: which reason?"""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    svc = services(context)
    permit = await permits(svc).get(ids[0]) if ids else None
    ren = await store(svc).get(permit.renovation_id) if permit else None
    if permit is None or ren is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if hot.decider_role(actor.roles_in(ren.estate_id)) is None:
        await query.answer(actor.t("renovation.refused.hot_not_engineering"), show_alert=True)
        return
    await query.answer()
    reasons = [
        button(actor.t(f"renovation_hotwork.reason.{r}"), f"ren:hwwhy:{permit.id}:{i}")
        for i, r in enumerate(hot.REFUSE_REASONS)
    ]
    await edit(
        query.message,
        actor.t("renovation_hotwork.ask_reason") + "\n\n" + hot_card(actor.locale, ren, permit),
        keyboard(in_rows(reasons)),
        later=svc,
    )


async def on_reason(update: Update, context: Context) -> None:
    """``ren:hwwhy:<permit>:<reason>``: refused with that reason."""
    query = update.callback_query
    if query is None:
        return
    ids = _ids(query.data, 2)
    reason = hot.REFUSE_REASONS[ids[1]] if ids and 0 <= ids[1] < len(hot.REFUSE_REASONS) else None
    await _decide(update, context, False, reason)


# --- temporary passes -------------------------------------------------------------------------


async def temp_start(update: Update, context: Context) -> int:
    """``/temppass ZX-…``: customer service issues a visitor's temporary pass."""
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return ConversationHandler.END
    svc = services(context)
    context.user_data.pop(TEMP_KEY, None)
    typed = " ".join(context.args or [])
    ren = await _by_number(svc, typed) if typed else None
    if ren is None:
        await reply(update, context, actor.t("renovation_hotwork.temp_usage"))
        return ConversationHandler.END
    try:
        hot.temp_issued(ren, may(Act.ISSUE_PERMIT, actor.roles_in(ren.estate_id)))
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        return ConversationHandler.END
    context.user_data[TEMP_KEY] = {"id": ren.id}
    text = actor.t("renovation_hotwork.temp_ask_name", number=ren.number, unit=ren.unit_label)
    await reply(update, context, text)
    return TempStep.NAME


async def temp_name(update: Update, context: Context) -> int:
    """The visitor's name."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or TEMP_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    name = reno.clean_name(message.text or "")
    if name is None:
        await reply(update, context, actor.t("renovation.name_hint", limit=reno.MAX_NAME))
        return TempStep.NAME
    draft_of(context, TEMP_KEY)["name"] = name
    await reply(update, context, actor.t("renovation_hotwork.temp_ask_purpose"))
    return TempStep.PURPOSE


async def temp_purpose(update: Update, context: Context) -> int:
    """The purpose of the visit, then how long the pass is valid."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or TEMP_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    purpose = hot.clean_text(message.text or "")
    if purpose is None:
        await reply(update, context, actor.t("renovation_hotwork.text_hint", limit=hot.MAX_TEXT))
        return TempStep.PURPOSE
    draft_of(context, TEMP_KEY)["purpose"] = purpose
    choices = [
        button(actor.t(f"renovation_hotwork.validity.{v.value}"), f"ren:tpv:{i}")
        for i, v in enumerate(VALIDITIES)
    ]
    await reply(update, context, actor.t("renovation_hotwork.temp_ask_validity"),
                keyboard([choices]))  # fmt: skip
    return TempStep.VALIDITY


async def temp_validity(update: Update, context: Context) -> int:
    """The validity, by button: the pass made with its code."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    index = _ids(query.data, 1)
    if TEMP_KEY not in context.user_data or not index or not 0 <= index[0] < len(VALIDITIES):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    svc = services(context)
    pending = context.user_data.pop(TEMP_KEY)
    ren = await store(svc).get(int(pending["id"]))
    try:
        if ren is None:
            raise Refusal("no_works")
        hot.temp_issued(ren, may(Act.ISSUE_PERMIT, actor.roles_in(ren.estate_id)))
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        return ConversationHandler.END
    local = (await svc.rules(ren.estate_id)).calendar.local(svc.clock.now())
    start, end = hot.temp_window(VALIDITIES[index[0]], local)
    made = await permits(svc).issue_temp(
        ren.id, NewTempPass(str(pending["name"]), str(pending["purpose"]), start, end),
        by=actor.person.id,
    )  # fmt: skip
    if made is None:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    await reply(update, context, actor.t("renovation_hotwork.temp_issued") + "\n\n"
                + temp_card(actor.locale, ren, made))  # fmt: skip
    return ConversationHandler.END


def temp_card(locale: str, ren: Renovation, found: hot.TempPass) -> str:
    """A temporary pass as cards show it."""
    state = "used" if found.used_at else "unused"
    return t(
        locale,
        "renovation_hotwork.temp_card",
        code=found.code,
        state=t(locale, f"renovation_hotwork.temp_state.{state}"),
        name=escape(found.name),
        purpose=escape(found.purpose),
        number=ren.number,
        unit=ren.unit_label,
        start=f"{found.valid_from:%m-%d %H:%M}",
        end=f"{found.valid_to:%m-%d %H:%M}",
    )


async def temp_expected(update: Update, context: Context) -> int:
    """Something else while issuing a pass: ask for what is missing."""
    actor = await who(update, context)
    pending = draft_of(context, TEMP_KEY)
    step = (
        TempStep.VALIDITY
        if "purpose" in pending
        else TempStep.PURPOSE
        if "name" in pending
        else TempStep.NAME
    )
    if actor is not None:
        key = (
            "renovation_hotwork.tap_please"
            if step == TempStep.VALIDITY
            else "renovation.text_please"
        )
        await reply(update, context, actor.t(key))
    return step


cancel_temp = canceller(TEMP_KEY, "renovation_hotwork.temp_cancelled")


def temp_conversation() -> ConversationHandler[Context]:
    """Issuing a temporary pass, persistent."""
    T = TempStep
    return persistent_flow(
        entry_points=[CommandHandler("temppass", temp_start, filters.ChatType.PRIVATE)],
        states={
            T.NAME: [MessageHandler(TEXT, temp_name)],
            T.PURPOSE: [MessageHandler(TEXT, temp_purpose)],
            T.VALIDITY: [CallbackQueryHandler(temp_validity, pattern=r"^ren:tpv:")],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_temp),
            CommandHandler("temppass", temp_start, filters.ChatType.PRIVATE),
            MessageHandler(OTHER | TEXT, temp_expected),
        ],
        name="renovation_temp_pass",
    )


# --- at the gate (S-1, R-17) ------------------------------------------------------------------


async def other_pass(
    update: Update, context: Context, actor: Actor, code: str, estates: list[int]
) -> bool:
    """``/pass CODE`` for a code that is no worker's pass: a hot-work permit (R-17) or a
    temporary pass (S-1) is checked, logged and answered here (True); any other code is left
    to the worker passes' answer (False). A permit or pass of an estate where the guard
    holds no security role is unknown to them."""
    if not (hot.is_hot_code(code) or hot.is_temp_code(code)):
        return False
    svc = services(context)
    gate = permits(svc)
    now = svc.clock.now()
    kind = "hotwork" if hot.is_hot_code(code) else "temp"
    permit = await gate.find_hot(code) if kind == "hotwork" else None
    visitor = await gate.find_temp(code) if kind == "temp" else None
    held = permit or visitor
    ren = await store(svc).get(held.renovation_id) if held else None
    if ren is not None and not may(Act.CHECK_PASS, actor.roles_in(ren.estate_id)):
        ren, permit, visitor, held = None, None, None, None
    status = ren.status if ren else None
    refused = (
        hot.check_hot_work(permit, status, now)
        if kind == "hotwork"
        else hot.check_temp_pass(visitor, status, now)
    )
    refused = await gate.check(
        kind, code, held.id if held else None, ren, refused, by=actor.person.id,
        estate_id=estates[0],
    )  # fmt: skip
    if ren is None:
        why = actor.t("renovation.pass.why.unknown")
        await reply(update, context, actor.t("renovation.pass.refused", code=code, reason=why))
        return True
    if permit is not None:
        card = hot_card(actor.locale, ren, permit)
    else:
        assert visitor is not None
        used = visitor.used_at or (now if refused is None else None)
        card = temp_card(actor.locale, ren, replace(visitor, used_at=used))
    if refused is None:
        head = actor.t(f"renovation_hotwork.admitted_{kind}", code=code)
    else:
        reason = actor.t(
            f"renovation_hotwork.why_{kind}.{refused}",
            status=actor.t(f"renovation.status.{ren.status}"),
        )
        head = actor.t("renovation.pass.refused", code=code, reason=reason)
    await reply(update, context, head + "\n\n" + card)
    return True


def handlers() -> list[AnyHandler]:
    """Hot work applied for and decided; temporary passes issued."""
    return [
        conversation(),
        temp_conversation(),
        CallbackQueryHandler(on_approve, pattern=r"^ren:hwok:"),
        CallbackQueryHandler(on_refuse, pattern=r"^ren:hwno:"),
        CallbackQueryHandler(on_reason, pattern=r"^ren:hwwhy:"),
    ]


__all__ = ["handlers", "other_pass"]
