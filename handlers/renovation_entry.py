"""Renovation (P2) in chat from the works permit to the works, and while they run:
procedures.renovation_entry decides, storage.renovation_entry applies in one unit of work.

**Entry inspection** (R-12): once the permit is issued, customer service's card has
"🔍 入场验收": the checklist of common parts comes to the presser's private chat (in a
group the bot would not see the photos: privacy mode), one row per part: "✅" (OK,
one tap) or "⚠️ 损坏" (a photo with a line as its caption, or the line after it: kept as
evidence, watermarked), "✅ 其余完好" for the rest at once. Then "✍️ 客服确认验收" (every part
recorded): the owner gets the checklist with "✍️ 确认入场验收" (the contractor's head too,
when they joined by the owner's link); or "📄 纸质确认表" takes a photo of the paper form the
other side signed (for a party without Telegram). When both sides have confirmed: entry
confirmed, works active, the entry notice out (R-13: engineering and security, the owner;
customer service's patrols), the three departments' patrol duties start (R-14).

**Suspension**: ``/works`` (the project manager, the customer-department head) lists the
estate's active and suspended renovations; a tap shows "⏸ 停工" (then the reason, typed) or
"▶️ 复工".

**Extension**: ``/extend`` (the owner): the new end date, then the reason; the customer-
department head gets ✅ / ❌. Approved: the period's end and the passes' valid-to move.

**Notice signatures** (R-15): the owner's notice and the contractor's message have
"✍️ 签收整改单"; customer service's notice has "🚫 业主拒签" / "🚫 施工方拒签", which asks for
a witness: another staff member presses "👁 我见证" from their own account.

Every press is checked again against the roles in the database (``may``). Button data:
``ren:ent:<renovation>`` (the checklist), ``ren:eok|ebad:<renovation>:<item>``,
``ren:erest|estaff|epaper|eparty:<renovation>``, ``ren:wsel|wsus|wres:<renovation>``,
``ren:xa|xr:<extension>``, ``ren:nsg:<notice>``, ``ren:nrf:<notice>:<party>``,
``ren:nwit:<signature>``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import IntEnum
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import has, t
from handlers import photos
from handlers.common import (
    Actor,
    AnyHandler,
    Context,
    Services,
    button,
    edit,
    keep_answered,
    keyboard,
    persistent_flow,
    reply,
    services,
    who,
)
from handlers.records import OTHER, TEXT, draft_of
from handlers.renovation import (
    KEYBOARDS,
    Notifier,
    _ids,
    arg_buttons,
    one_button,
    pressed_renovation,
    store,
)
from procedures import renovation as reno
from procedures import renovation_entry as entry
from procedures.permissions import Act, may
from procedures.renovation import Refusal, Renovation, RenovationDecision, Status
from procedures.renovation_entry import CHECKLIST, Inspection, NoticeSignature
from procedures.renovation_settings import hours_text
from storage import evidence
from storage.outbox import enqueue
from storage.renovation_entry import EntryStore, Photo

#: ``user_data`` key of what is being typed or photographed.
KEY = "renovation_entry"


class Step(IntEnum):
    """What the flow waits for."""

    PHOTO = 1  # a damaged part's photo, or the paper form's
    NOTE = 2  # a damaged part's line
    REASON = 3  # why works stop; why the works period must be longer
    DATE = 4  # the new end date


def entries(svc: Services) -> EntryStore:
    """The entry inspections, suspensions, extensions and signatures of the deployment."""
    return EntryStore(svc.db)


def refusal_text(actor: Actor, refusal: Refusal) -> str:
    """Why a step cannot be taken now, in the person's words: this part's texts first,
    then the renovation's."""
    for key in (f"renovation_entry.refused.{refusal.code}", f"renovation.refused.{refusal.code}"):
        if has(key):
            return actor.t(key)
    return actor.t("common.stale_button")


# --- keyboards (rendered by handlers.renovation.Notifier) ----------------------------------


#: The owner's (or the contractor head's): confirm the entry inspection (R-12).
party_keyboard = one_button(
    frozenset({Status.PERMITTED}), "renovation_entry.btn_party", "ren:eparty"
)


#: The customer-department head's: approve or refuse an extension.
extension_keyboard = arg_buttons(
    [
        [
            ("renovation_entry.btn_extension_approve", "ren:xa:{}"),
            ("renovation_entry.btn_extension_refuse", "ren:xr:{}"),
        ]
    ]
)


#: Customer service's: a second staff member witnesses a refusal to sign (R-15).
witness_keyboard = arg_buttons([[("renovation_entry.btn_witness", "ren:nwit:{}")]])


KEYBOARDS.update(
    {
        "ren_entry_party": party_keyboard,
        "ren_extension": extension_keyboard,
        "ren_witness": witness_keyboard,
    }
)


# --- the entry inspection (R-12, R-13) -------------------------------------------------------


def checklist_text(locale: str, ren: Renovation, ins: Inspection) -> str:
    """The checklist as it stands: each part's state and line."""
    lines = [t(locale, "renovation_entry.checklist", number=ren.number, unit=ren.unit_label)]
    for item in CHECKLIST:
        found = ins.items.get(item)
        name = t(locale, f"renovation_entry.item.{item.value}")
        if found is None:
            lines.append(f"▫️ {name}")
        elif found.ok:
            lines.append(f"✅ {name}")
        else:
            lines.append(f"⚠️ {name}：{escape(found.note or '')}")
    if ins.staff:
        lines.append(t(locale, "renovation_entry.staff_done"))
    if ins.party is not None:
        lines.append(t(locale, "renovation_entry.party_done"))
    return "\n".join(lines)


def checklist_keyboard(
    locale: str, ren: Renovation, ins: Inspection
) -> InlineKeyboardMarkup | None:
    """Customer service's buttons on the checklist (none left once both confirmed)."""
    rows = []
    if not ins.signed:
        for index, item in enumerate(CHECKLIST):
            name = t(locale, f"renovation_entry.item.{item.value}")
            rows.append(
                [
                    button(f"✅ {name}", f"ren:eok:{ren.id}:{index}"),
                    button(t(locale, "renovation_entry.btn_damaged"), f"ren:ebad:{ren.id}:{index}"),
                ]
            )
        rows.append([button(t(locale, "renovation_entry.btn_rest"), f"ren:erest:{ren.id}")])
    if not ins.staff:
        rows.append([button(t(locale, "renovation_entry.btn_staff"), f"ren:estaff:{ren.id}")])
    if ins.party is None:
        rows.append([button(t(locale, "renovation_entry.btn_paper"), f"ren:epaper:{ren.id}")])
    return keyboard(rows) if rows else None


async def inspector(update: Update, context: Context) -> tuple[Actor, Renovation] | None:
    """The customer-service member pressing and the renovation their button names; an
    alert and None otherwise."""
    return await pressed_renovation(
        update, context, Act.ISSUE_PERMIT, "renovation_entry.refused.not_issuer", more_data=True
    )


#: An inspection step: (the renovation, its inspection, the hours shown, the workers) →
#: its decision or decisions (it may raise Refusal).
InspectionStep = Callable[
    [Renovation, Inspection, str, int], RenovationDecision | list[RenovationDecision]
]
#: A signature step: (the presser, the notice, its renovation, its signatures) → decision.
SignatureStep = Callable[
    [Actor, reno.ViolationNotice, Renovation, dict[str, NoticeSignature]], RenovationDecision
]


async def _step(
    svc: Services,
    actor: Actor,
    ren: Renovation,
    decide: InspectionStep,
    photo: Photo | None = None,
) -> Renovation | Refusal | None:
    """An inspection step through the store, with R-14's first clocks and the entry
    notice's hours and workers; a Refusal returned, not raised."""
    rules = await svc.rules(ren.estate_id)
    now = svc.clock.now()
    hours = hours_text(
        rules.renovation.work_hours, t(svc.settings.locale, "common.choice_separator")
    )
    workers = len([p for p in await store(svc).passes(ren.id) if not p.revoked])

    def decided(r: Renovation, ins: Inspection) -> list[RenovationDecision]:
        found = decide(r, ins, hours, workers)
        return found if isinstance(found, list) else [found]

    try:
        after = await entries(svc).inspect(
            ren.id,
            decided,
            lambda: reno.duty_timer(rules, now, ren.form.period_from),
            by=actor.person.id,
            photo=photo,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        return refusal
    await svc.deliver()
    return after


async def _redraw(update: Update, context: Context, actor: Actor, ren: Renovation) -> None:
    query = update.callback_query
    ins = await entries(services(context)).inspection(ren.id)
    text = checklist_text(actor.locale, ren, ins)
    markup = checklist_keyboard(actor.locale, ren, ins)
    if (
        query is not None
        and query.message is not None
        and query.data
        and "ren:ent:" not in query.data
    ):
        await edit(query.message, text, markup, later=services(context))
    else:
        await reply(update, context, text, markup)


async def on_open(update: Update, context: Context) -> None:
    """``ren:ent:<id>``: the entry inspection's checklist (R-12), in the presser's private
    chat: the inspection is walked on a phone, and in a group the bot would not see the
    photos (Telegram's privacy mode)."""
    found = await inspector(update, context)
    query = update.callback_query
    chat = update.effective_chat
    if found is None or query is None:
        return
    actor, ren = found
    if ren.status != Status.PERMITTED:
        await query.answer(actor.t("renovation.refused.not_startable"), show_alert=True)
        return
    if chat is None or chat.type == "private":
        await query.answer()
        await _redraw(update, context, actor, ren)
        return
    svc = services(context)
    ins = await entries(svc).inspection(ren.id)
    markup = checklist_keyboard(actor.locale, ren, ins)
    async with svc.db.write() as conn:
        await enqueue(
            conn, actor.person.tg_user_id, checklist_text(actor.locale, ren, ins),
            markup=markup.to_dict() if markup else None, subject=reno.subject(ren.id),
            person_id=actor.person.id,
        )  # fmt: skip
    await query.answer(actor.t("renovation_entry.sent_private"), show_alert=True)
    await svc.deliver()


async def _answer(update: Update, actor: Actor, done: Renovation | Refusal | None) -> bool:
    query = update.callback_query
    assert query is not None
    if isinstance(done, Refusal):
        await query.answer(refusal_text(actor, done), show_alert=True)
        return False
    if done is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return False
    await query.answer()
    return True


def _item(data: str | None) -> entry.Item | None:
    ids = _ids(data, 2)
    if ids is None or not 0 <= ids[1] < len(CHECKLIST):
        return None
    return CHECKLIST[ids[1]]


async def on_item_ok(update: Update, context: Context) -> None:
    """``ren:eok:<id>:<item>``: a part recorded OK."""
    found = await inspector(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    item = _item(query.data)
    if item is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    done = await _step(
        services(context),
        actor,
        ren,
        lambda r, ins, _h, _w: entry.item_checked(r, ins, item, True, True),
    )
    if await _answer(update, actor, done):
        await _redraw(update, context, actor, ren)


async def on_rest_ok(update: Update, context: Context) -> None:
    """``ren:erest:<id>``: every part not recorded yet, OK."""
    found = await inspector(update, context)
    if found is None:
        return
    actor, ren = found
    done = await _step(
        services(context), actor, ren, lambda r, ins, _h, _w: entry.rest_ok(r, ins, True)
    )
    if await _answer(update, actor, done):
        await _redraw(update, context, actor, ren)


async def on_staff(update: Update, context: Context) -> None:
    """``ren:estaff:<id>``: customer service confirms the inspection; the owner (and the
    contractor's head, when in the bot) asked to confirm too."""
    found = await inspector(update, context)
    if found is None:
        return
    actor, ren = found
    svc = services(context)
    done = await _step(
        svc, actor, ren, lambda r, ins, h, w: entry.staff_confirmed(r, ins, True, h, w)
    )
    if not await _answer(update, actor, done):
        return
    assert isinstance(done, Renovation)
    if done.status == Status.PERMITTED and done.contractor_id is not None:
        await _ask_contractor(svc, done)
    await _redraw(update, context, actor, done)
    if done.status == Status.ACTIVE:
        await reply(update, context, actor.t("renovation_entry.started", number=done.number))


async def _ask_contractor(svc: Services, ren: Renovation) -> None:
    head = await svc.identity.person(ren.contractor_id) if ren.contractor_id else None
    if head is None:
        return
    ins = await entries(svc).inspection(ren.id)
    locale = svc.settings.locale
    text = t(locale, "renovation_entry.ask_party", number=ren.number, unit=ren.unit_label,
             damaged=len(ins.damaged))  # fmt: skip
    markup = party_keyboard(locale, ren, None)
    async with svc.db.write() as conn:
        await enqueue(
            conn, head.tg_user_id, text, markup=markup.to_dict() if markup else None,
            subject=reno.subject(ren.id), person_id=head.id,
        )  # fmt: skip
    await svc.deliver()


async def on_party(update: Update, context: Context) -> None:
    """``ren:eparty:<id>``: the owner or the contractor's head confirms the inspection."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    svc = services(context)
    ren = await store(svc).get(ids[0]) if ids else None
    if ren is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    role = reno.signer(ren, actor.person.id)
    done = await _step(
        svc, actor, ren, lambda r, ins, h, w: entry.party_confirmed(r, ins, role, h, w)
    )
    if not await _answer(update, actor, done):
        return
    await keep_answered(query)
    assert isinstance(done, Renovation)
    key = "renovation_entry.party_thanks"
    if done.status == Status.ACTIVE and done.owner_id != actor.person.id:
        key = "renovation_entry.started"
    await reply(update, context, actor.t(key, number=done.number))


async def on_damaged(update: Update, context: Context) -> int:
    """``ren:ebad:<id>:<item>``: a damaged part: its photo and line asked."""
    found = await inspector(update, context)
    query = update.callback_query
    if found is None or query is None or context.user_data is None:
        return ConversationHandler.END
    actor, ren = found
    item = _item(query.data)
    if item is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    context.user_data[KEY] = {"what": "damaged", "id": ren.id, "item": item.value}
    name = actor.t(f"renovation_entry.item.{item.value}")
    await reply(update, context, actor.t("renovation_entry.ask_damage", item=name))
    return Step.PHOTO


async def on_paper(update: Update, context: Context) -> int:
    """``ren:epaper:<id>``: the photo of the paper form the other side signed asked."""
    found = await inspector(update, context)
    query = update.callback_query
    if found is None or query is None or context.user_data is None:
        return ConversationHandler.END
    actor, ren = found
    await query.answer()
    context.user_data[KEY] = {"what": "paper", "id": ren.id}
    await reply(update, context, actor.t("renovation_entry.ask_paper"))
    return Step.PHOTO


async def _draft(
    update: Update, context: Context
) -> tuple[Actor, Renovation, dict[str, object]] | None:
    actor = await who(update, context)
    draft = draft_of(context, KEY)
    if actor is None or not draft:
        return None
    ren = await store(services(context)).get(int(str(draft["id"])))
    if ren is None:
        _forget(context)
        await reply(update, context, actor.t("common.stale_button"))
        return None
    return actor, ren, draft


def _forget(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)


async def got_photo(update: Update, context: Context) -> int:
    """A damaged part's photo (its caption: the line) or the signed paper form's: kept as
    evidence, watermarked with the renovation's number, the time and the staff member."""
    found = await _draft(update, context)
    if found is None:
        return ConversationHandler.END
    actor, ren, draft = found
    if draft.get("what") not in ("damaged", "paper"):
        return await expected(update, context)
    svc = services(context)
    received = await photos.take_in(update, context, actor)
    if received is None:
        return Step.PHOTO
    rules = await svc.rules(ren.estate_id)
    at = rules.calendar.local(svc.clock.now()).strftime("%Y-%m-%d %H:%M")
    font = str(svc.settings.chart_font) if svc.settings.chart_font else None
    shown = await evidence.render(
        svc.evidence,
        svc.db,
        received.sha256,
        label_lines=[ren.number, ren.unit_label, at, actor.person.name],
        font_path=font,
    )
    draft["photo"] = [received.sha256, shown.sha256, received.file_id]
    if draft["what"] == "paper":
        return await _paper(update, context, actor, ren, draft)
    message = update.effective_message
    line = entry.clean_line(message.caption or "") if message is not None else None
    line = line or (str(draft["note"]) if draft.get("note") else None)
    if line is None:
        await reply(update, context, actor.t("renovation_entry.ask_line"))
        return Step.NOTE
    return await _damaged(update, context, actor, ren, draft, line)


def _photo(draft: dict[str, object]) -> Photo:
    kept = draft["photo"]
    assert isinstance(kept, list)
    return str(kept[0]), str(kept[1]), str(kept[2])


async def _paper(
    update: Update, context: Context, actor: Actor, ren: Renovation, draft: dict[str, object]
) -> int:
    photo = _photo(draft)
    may_inspect = may(Act.ISSUE_PERMIT, actor.roles_in(ren.estate_id))
    done = await _step(
        services(context),
        actor,
        ren,
        lambda r, ins, h, w: entry.party_confirmed(
            r, ins, None, h, w, paper=photo[0], may_inspect=may_inspect
        ),
        photo,
    )
    _forget(context)
    if isinstance(done, Refusal):
        await reply(update, context, refusal_text(actor, done))
    elif done is None:
        await reply(update, context, actor.t("common.stale_button"))
    else:
        key = (
            "renovation_entry.started"
            if done.status == Status.ACTIVE
            else "renovation_entry.paper_kept"
        )
        await reply(update, context, actor.t(key, number=done.number))
        if done.status == Status.PERMITTED:
            await _redraw(update, context, actor, done)
    return ConversationHandler.END


async def _damaged(
    update: Update,
    context: Context,
    actor: Actor,
    ren: Renovation,
    draft: dict[str, object],
    line: str,
) -> int:
    photo = _photo(draft)
    item = entry.Item(str(draft["item"]))
    may_inspect = may(Act.ISSUE_PERMIT, actor.roles_in(ren.estate_id))
    done = await _step(
        services(context),
        actor,
        ren,
        lambda r, ins, _h, _w: entry.item_checked(r, ins, item, False, may_inspect, line, photo[0]),
        photo,
    )
    _forget(context)
    if isinstance(done, Refusal):
        await reply(update, context, refusal_text(actor, done))
    elif done is None:
        await reply(update, context, actor.t("common.stale_button"))
    else:
        await _redraw(update, context, actor, done)
    return ConversationHandler.END


async def got_text(update: Update, context: Context) -> int:
    """A typed line: a damaged part's line, a reason, a date — by what the flow waits for."""
    found = await _draft(update, context)
    message = update.effective_message
    if found is None or message is None:
        return ConversationHandler.END
    actor, ren, draft = found
    what = draft.get("what")
    text = message.text or ""
    if what == "damaged":
        line = entry.clean_line(text)
        if line is None:
            await reply(
                update, context, actor.t("renovation_entry.line_hint", limit=entry.MAX_LINE)
            )
            return Step.NOTE if draft.get("photo") else Step.PHOTO
        if not draft.get("photo"):
            draft["note"] = line
            await reply(update, context, actor.t("renovation_entry.photo_please"))
            return Step.PHOTO
        return await _damaged(update, context, actor, ren, draft, line)
    if what == "suspend":
        return await _suspend(update, context, actor, ren, text)
    if what == "extend":
        return await _extend(update, context, actor, ren, draft, text)
    return await expected(update, context)


async def expected(update: Update, context: Context) -> int:
    """Something else than what the flow waits for: ask again."""
    actor = await who(update, context)
    draft = draft_of(context, KEY)
    what = draft.get("what")
    if what == "paper":
        step, key = Step.PHOTO, "renovation_entry.ask_paper"
    elif what == "damaged":
        step = Step.NOTE if draft.get("photo") else Step.PHOTO
        key = "renovation_entry.ask_line" if draft.get("photo") else "renovation_entry.photo_please"
    elif what == "extend" and "to" not in draft:
        step, key = Step.DATE, "renovation_entry.date_hint"
    else:
        step, key = Step.REASON, "renovation_entry.reason_hint"
    if actor is not None:
        await reply(update, context, actor.t(key, limit=entry.MAX_REASON))
    return step


async def cancel(update: Update, context: Context) -> int:
    """/cancel: nothing recorded."""
    actor = await who(update, context)
    _forget(context)
    if actor is not None:
        await reply(update, context, actor.t("renovation_entry.cancelled"))
    return ConversationHandler.END


# --- suspension and resumption ---------------------------------------------------------------


async def works(update: Update, context: Context) -> None:
    """``/works``: the project manager's or the customer-department head's list of the
    estate's active and suspended renovations, one button per unit."""
    actor = await who(update, context)
    if actor is None:
        return
    estates = sorted(
        {
            m.estate_id
            for m in actor.memberships
            if may(Act.SUSPEND_WORKS, actor.roles_in(m.estate_id))
        }
    )
    if not estates:
        await reply(update, context, actor.t("renovation_entry.works_staff_only"))
        return
    found = await entries(services(context)).listed(estates)
    if not found:
        await reply(update, context, actor.t("renovation_entry.works_none"))
        return
    rows = [
        [button(f"{'⏸' if status == Status.SUSPENDED else '🔨'} {unit} · {number}",
                f"ren:wsel:{ren_id}")]
        for ren_id, number, unit, status in found[:40]
    ]  # fmt: skip
    await reply(update, context, actor.t("renovation_entry.works_list", count=len(found)),
                keyboard(rows))  # fmt: skip


async def suspender(update: Update, context: Context) -> tuple[Actor, Renovation] | None:
    """The person pressing (who may stop works there) and the renovation; None otherwise."""
    return await pressed_renovation(
        update, context, Act.SUSPEND_WORKS, "renovation_entry.refused.not_suspender"
    )


async def on_select(update: Update, context: Context) -> None:
    """``ren:wsel:<id>``: one renovation: its state (and why stopped) with stop / resume."""
    found = await suspender(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    await query.answer()
    why = await entries(services(context)).suspension(ren.id)
    text = actor.t(
        "renovation_entry.works_unit",
        number=ren.number,
        unit=ren.unit_label,
        status=actor.t(f"renovation.status.{ren.status}"),
        end=ren.form.period_to.isoformat(),
    )
    if why:
        text += "\n" + actor.t("renovation_entry.works_why", reason=why)
    if ren.status == Status.ACTIVE:
        markup = keyboard([[button(actor.t("renovation_entry.btn_suspend"), f"ren:wsus:{ren.id}")]])
    elif ren.status == Status.SUSPENDED:
        markup = keyboard([[button(actor.t("renovation_entry.btn_resume"), f"ren:wres:{ren.id}")]])
    else:
        markup = None
    await reply(update, context, text, markup)


async def on_suspend(update: Update, context: Context) -> int:
    """``ren:wsus:<id>``: stop works: the reason asked."""
    found = await suspender(update, context)
    query = update.callback_query
    if found is None or query is None or context.user_data is None:
        return ConversationHandler.END
    actor, ren = found
    if ren.status != Status.ACTIVE:
        await query.answer(actor.t("renovation_entry.refused.not_suspendable"), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    context.user_data[KEY] = {"what": "suspend", "id": ren.id}
    await reply(update, context, actor.t("renovation_entry.ask_suspend", number=ren.number))
    return Step.REASON


async def _suspend_or_resume(
    svc: Services, actor: Actor, ren: Renovation, decide: Callable[[Renovation], RenovationDecision]
) -> Renovation | Refusal | None:
    rules = await svc.rules(ren.estate_id)
    now = svc.clock.now()
    try:
        after = await entries(svc).suspend_or_resume(
            ren.id,
            decide,
            lambda: reno.duty_timer(rules, now, ren.form.period_from),
            by=actor.person.id,
            render=Notifier(svc),
            day=reno.duty_day(rules, now),
            later=lambda: reno.next_duty_timer(
                rules, rules.calendar.end_of_working_day(now), ren.form.period_from
            ),
        )
    except Refusal as refusal:
        return refusal
    if after is not None:
        await _tell_contractor(svc, after)
    await svc.deliver()
    return after


async def _tell_contractor(svc: Services, ren: Renovation) -> None:
    """The contractor's head, when in the bot, hears that works stop or resume."""
    head = await svc.identity.person(ren.contractor_id) if ren.contractor_id else None
    if head is None:
        return
    why = await entries(svc).suspension(ren.id)
    locale = svc.settings.locale
    if ren.status == Status.SUSPENDED:
        text = t(locale, "renovation_entry.suspended_owner", number=ren.number,
                 unit=ren.unit_label, reason=why or "")  # fmt: skip
    else:
        text = t(locale, "renovation_entry.resumed_owner", number=ren.number, unit=ren.unit_label)
    async with svc.db.write() as conn:
        await enqueue(conn, head.tg_user_id, text, subject=reno.subject(ren.id),
                      person_id=head.id)  # fmt: skip


async def _suspend(
    update: Update, context: Context, actor: Actor, ren: Renovation, text: str
) -> int:
    reason = entry.clean_reason(text)
    if reason is None:
        await reply(
            update, context, actor.t("renovation_entry.reason_hint", limit=entry.MAX_REASON)
        )
        return Step.REASON
    allowed = may(Act.SUSPEND_WORKS, actor.roles_in(ren.estate_id))
    done = await _suspend_or_resume(
        services(context), actor, ren, lambda r: entry.suspended(r, reason, allowed)
    )
    _forget(context)
    if isinstance(done, Refusal):
        await reply(update, context, refusal_text(actor, done))
    elif done is None:
        await reply(update, context, actor.t("common.stale_button"))
    else:
        await reply(update, context, actor.t("renovation_entry.suspended_done",
                                             number=done.number, reason=reason))  # fmt: skip
    return ConversationHandler.END


async def on_resume(update: Update, context: Context) -> None:
    """``ren:wres:<id>``: works resumed."""
    found = await suspender(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    done = await _suspend_or_resume(services(context), actor, ren, lambda r: entry.resumed(r, True))
    if await _answer(update, actor, done):
        assert isinstance(done, Renovation)
        await keep_answered(query)
        await reply(update, context, actor.t("renovation_entry.resumed_done", number=done.number))


# --- the extension of the works period -------------------------------------------------------


async def extend(update: Update, context: Context) -> int:
    """``/extend``: the owner's renovation whose works period may be extended: the new end
    date asked."""
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return ConversationHandler.END
    svc = services(context)
    found = [r for r in await store(svc).of_owner(actor.person.id) if r.status in entry.EXTENDABLE]
    if not found:
        await reply(update, context, actor.t("renovation_entry.extend_none"))
        return ConversationHandler.END
    ren = found[0]
    if await entries(svc).extension_pending(ren.id):
        await reply(update, context, actor.t("renovation_entry.refused.extension_pending"))
        return ConversationHandler.END
    context.user_data[KEY] = {"what": "extend", "id": ren.id}
    await reply(update, context, actor.t("renovation_entry.ask_date", number=ren.number,
                                         end=ren.form.period_to.isoformat()))  # fmt: skip
    return Step.DATE


async def _extend(
    update: Update,
    context: Context,
    actor: Actor,
    ren: Renovation,
    draft: dict[str, object],
    text: str,
) -> int:
    svc = services(context)
    rules = await svc.rules(ren.estate_id)
    today = rules.calendar.local(svc.clock.now()).date()
    if "to" not in draft:
        new_to = reno.parse_date(text, today)
        problem = "date_hint" if new_to is None else entry.extension_problem(ren, new_to, today)
        if problem is not None:
            key = "date_hint" if problem == "date_hint" else f"refused.{problem}"
            await reply(update, context, actor.t(f"renovation_entry.{key}"))
            return Step.DATE
        assert new_to is not None
        draft["to"] = new_to.isoformat()
        await reply(update, context, actor.t("renovation_entry.ask_reason"))
        return Step.REASON
    reason = entry.clean_reason(text)
    if reason is None:
        await reply(
            update, context, actor.t("renovation_entry.reason_hint", limit=entry.MAX_REASON)
        )
        return Step.REASON
    new_to = date.fromisoformat(str(draft["to"]))
    _forget(context)
    try:
        ext = await entries(svc).request_extension(
            ren.id,
            lambda r, pending: entry.extension_requested(
                r, new_to, reason, today, r.owner_id == actor.person.id, pending
            ),
            by=actor.person.id,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        return ConversationHandler.END
    await svc.deliver()
    if ext is None:
        await reply(update, context, actor.t("common.stale_button"))
    else:
        await reply(
            update, context, actor.t("renovation_entry.extend_sent", end=new_to.isoformat())
        )
    return ConversationHandler.END


async def _decide_extension(update: Update, context: Context, approved: bool) -> None:
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    svc = services(context)
    try:
        done = (
            await entries(svc).decide_extension(
                ids[0],
                lambda r, ext: entry.extension_decided(
                    r, ext, approved, may(Act.APPROVE_EXTENSION, actor.roles_in(r.estate_id))
                ),
                by=actor.person.id,
                render=Notifier(svc),
            )
            if ids
            else None
        )
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return
    if done is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await svc.deliver()
    await query.answer(actor.t("renovation_entry.extension_done"))
    await keep_answered(query)


async def on_extension_approve(update: Update, context: Context) -> None:
    """``ren:xa:<extension>``: the customer-department head approves."""
    await _decide_extension(update, context, True)


async def on_extension_refuse(update: Update, context: Context) -> None:
    """``ren:xr:<extension>``: the customer-department head refuses."""
    await _decide_extension(update, context, False)


# --- signatures on the rectification notice (R-15) -------------------------------------------


async def _signature(
    update: Update, context: Context, decide: SignatureStep, *, signature_id: int | None = None
) -> bool:
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return False
    ids = _ids(":".join((query.data or "").split(":")[:3]), 1)
    svc = services(context)
    try:
        done = (
            await entries(svc).notice_signature(
                None if signature_id is not None else ids[0],
                lambda n, r, s: decide(actor, n, r, s),
                by=actor.person.id,
                render=Notifier(svc),
                signature_id=signature_id,
            )
            if ids
            else None
        )
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return False
    if done is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return False
    await svc.deliver()
    return True


async def on_sign(update: Update, context: Context) -> None:
    """``ren:nsg:<notice>``: the owner or the contractor's head signs the notice."""
    query = update.callback_query

    def decide(
        actor: Actor, n: reno.ViolationNotice, r: Renovation, s: dict[str, NoticeSignature]
    ) -> RenovationDecision:
        return entry.notice_signed(r, n, reno.signer(r, actor.person.id), s)

    if await _signature(update, context, decide) and query is not None:
        actor = await who(update, context)
        await query.answer(actor.t("renovation_entry.signed_done") if actor else None)
        await keep_answered(query)


async def on_refusal(update: Update, context: Context) -> None:
    """``ren:nrf:<notice>:<party>``: customer service records a party refusing to sign;
    a witness is asked for."""
    query = update.callback_query
    parts = (query.data or "").split(":") if query else []
    index = int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else -1
    party = entry.PARTIES[index] if 0 <= index < len(entry.PARTIES) else ""

    def decide(
        actor: Actor, n: reno.ViolationNotice, r: Renovation, s: dict[str, NoticeSignature]
    ) -> RenovationDecision:
        return entry.refusal_recorded(
            n, party, s, may(Act.ISSUE_PERMIT, actor.roles_in(r.estate_id))
        )

    if await _signature(update, context, decide) and query is not None:
        actor = await who(update, context)
        await query.answer(actor.t("renovation_entry.refusal_done") if actor else None)


async def on_witness(update: Update, context: Context) -> None:
    """``ren:nwit:<signature>``: a second staff member witnesses the refusal."""
    query = update.callback_query
    ids = _ids(query.data if query else None, 1)
    if not ids:
        if query is not None:
            await query.answer()
        return

    def decide(
        actor: Actor, n: reno.ViolationNotice, r: Renovation, s: dict[str, NoticeSignature]
    ) -> RenovationDecision:
        found = next((x for x in s.values() if x.id == ids[0]), None)
        if found is None:
            raise Refusal("witnessed_already")
        staff = may(Act.ISSUE_PERMIT, actor.roles_in(r.estate_id)) or may(
            Act.PATROL, actor.roles_in(r.estate_id)
        )
        return entry.refusal_witnessed(n, found, actor.person.id, staff)

    if await _signature(update, context, decide, signature_id=ids[0]) and query is not None:
        actor = await who(update, context)
        await query.answer(actor.t("renovation_entry.witness_done") if actor else None)
        await keep_answered(query)


def conversation() -> ConversationHandler[Context]:
    """A damaged part's photo and line, the paper form's photo, a reason to stop works, an
    extension's date and reason: persistent."""
    image = filters.PHOTO | filters.Document.IMAGE
    return persistent_flow(
        entry_points=[
            CallbackQueryHandler(on_damaged, pattern=r"^ren:ebad:"),
            CallbackQueryHandler(on_paper, pattern=r"^ren:epaper:"),
            CallbackQueryHandler(on_suspend, pattern=r"^ren:wsus:"),
            CommandHandler("extend", extend, filters.ChatType.PRIVATE),
        ],
        states={
            Step.PHOTO: [MessageHandler(image, got_photo), MessageHandler(TEXT, got_text)],
            Step.NOTE: [MessageHandler(TEXT, got_text), MessageHandler(image, got_photo)],
            Step.REASON: [MessageHandler(TEXT, got_text)],
            Step.DATE: [MessageHandler(TEXT, got_text)],
        },
        fallbacks=[CommandHandler("cancel", cancel), MessageHandler(OTHER, expected)],
        name="renovation_entry",
    )


def handlers() -> list[AnyHandler]:
    """The entry inspection, /works and its buttons, /extend, the notice's signatures."""
    return [
        conversation(),
        CallbackQueryHandler(on_open, pattern=r"^ren:ent:"),
        CallbackQueryHandler(on_item_ok, pattern=r"^ren:eok:"),
        CallbackQueryHandler(on_rest_ok, pattern=r"^ren:erest:"),
        CallbackQueryHandler(on_staff, pattern=r"^ren:estaff:"),
        CallbackQueryHandler(on_party, pattern=r"^ren:eparty:"),
        CallbackQueryHandler(on_select, pattern=r"^ren:wsel:"),
        CallbackQueryHandler(on_resume, pattern=r"^ren:wres:"),
        CallbackQueryHandler(on_extension_approve, pattern=r"^ren:xa:"),
        CallbackQueryHandler(on_extension_refuse, pattern=r"^ren:xr:"),
        CallbackQueryHandler(on_sign, pattern=r"^ren:nsg:"),
        CallbackQueryHandler(on_refusal, pattern=r"^ren:nrf:"),
        CallbackQueryHandler(on_witness, pattern=r"^ren:nwit:"),
        CommandHandler("works", works, filters.ChatType.PRIVATE),
    ]
