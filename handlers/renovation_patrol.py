"""Renovation (P2), step 3 in chat: the works begin, and the daily patrols (R-14, R-18) with
the minor violations they find (R-15). procedures.renovation decides;
storage.renovation_patrol applies in one unit of work.

**Works begin** after the entry inspection (R-12, R-13: handlers.renovation_entry), which
starts the three departments' patrol duties.

**Patrols** (R-14): ``/patrol`` (a customer assistant, an engineer or a guard, private chat)
lists their estate's active renovations their department has not patrolled on today's
working day, by building and unit; a tap opens the unit (period, contractor, who patrolled
today) with "✅ 一切正常" (recorded in that one press) and "⚠️ 有违规": a photo and a line (the
photo's caption is enough), kept as a minor violation (R-15: warned on the spot) with the
photo as evidence (original by SHA-256, a watermarked display copy). R-14's clock of each
department's duty warns the department before the end of the working day, then tells the
project manager (:func:`react`, from the deadline sweeper), each once; a patrol meets it.

Every press is checked again against the roles in the database (``may``). Button data:
``ren:pt:<renovation>`` (open), ``ren:po:<renovation>`` (all in
order), ``ren:pv:<renovation>`` (a violation).
"""

from __future__ import annotations

from datetime import date
from html import escape

import aiosqlite
from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import t
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
from handlers.renovation import Notifier, _ids, pressed_renovation, refusal_text, store
from procedures import renovation as reno
from procedures.permissions import Act, may
from procedures.renovation import PatrolResult, Refusal, Renovation
from procedures.renovation_settings import yuan
from storage import evidence
from storage import renovation as store_module
from storage import renovation_patrol as patrol_store
from storage.deadlines import Firing
from storage.outbox import enqueue
from storage.renovation_patrol import PatrolStore

#: ``user_data`` key of a violation being recorded.
KEY = "renovation_patrol"
#: The most units one ``/patrol`` lists as buttons (the rest: send it again).
MAX_LISTED = 40


class ViolationStep:
    """Recording a violation: its photo, its line; a serious one's due date and penalty."""

    PHOTO = 1
    NOTE = 2
    DUE = 3
    PENALTY = 4


def patrols(svc: Services) -> PatrolStore:
    """The patrols of the deployment."""
    return PatrolStore(svc.db)


def department_of(actor: Actor, estate_id: int) -> str | None:
    """The department ``actor`` patrols for in ``estate_id`` (None: they patrol for none)."""
    held = actor.roles_in(estate_id)
    if not may(Act.PATROL, held):
        return None
    return reno.patrol_department(held)


# --- /patrol ---------------------------------------------------------------------------------


async def patrol(update: Update, context: Context) -> None:
    """``/patrol``: R-14, the patroller's estate's active renovations their department has
    not patrolled on today's working day, one button per unit, by building and unit."""
    actor = await who(update, context)
    if actor is None:
        return
    svc = services(context)
    duties = [
        (m.estate_id, d)
        for m in {m.estate_id: m for m in actor.memberships}.values()
        if (d := department_of(actor, m.estate_id)) is not None
    ]
    if not duties:
        await reply(update, context, actor.t("renovation.patrol.staff_only"))
        return
    for estate_id, department in duties:
        rules = await svc.rules(estate_id)
        day = reno.duty_day(rules, svc.clock.now())
        found = await patrols(svc).unpatrolled([estate_id], department, day)
        named = actor.t(f"department.{department}")
        if not found:
            await reply(
                update,
                context,
                actor.t("renovation.patrol.none", day=day.isoformat(), department=named),
            )
            continue
        text = actor.t(
            "renovation.patrol.list", day=day.isoformat(), department=named, count=len(found)
        )
        if len(found) > MAX_LISTED:
            text += "\n" + actor.t("renovation.patrol.more", count=len(found) - MAX_LISTED)
        rows = [
            [button(f"🔨 {u.label} · {u.number}", f"ren:pt:{u.id}")] for u in found[:MAX_LISTED]
        ]
        await reply(update, context, text, keyboard(rows))


async def patroller_for(update: Update, context: Context) -> tuple[Actor, Renovation, str] | None:
    """The pressing patroller, the renovation their button names and their department; an
    alert and None when they patrol for none there or it is gone."""
    found = await pressed_renovation(update, context)
    if found is None:
        return None
    actor, ren = found
    query = update.callback_query
    assert query is not None
    department = department_of(actor, ren.estate_id)
    if department is None:
        await query.answer(actor.t("renovation.refused.not_patroller"), show_alert=True)
        return None
    if ren.status != reno.Status.ACTIVE:
        await query.answer(actor.t("renovation.refused.not_patrollable"), show_alert=True)
        return None
    return actor, ren, department


async def on_open(update: Update, context: Context) -> None:
    """``ren:pt:<id>``: one unit to patrol: its period, contractor and head, who patrolled
    it today, and the two buttons."""
    found = await patroller_for(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren, _department = found
    svc = services(context)
    rules = await svc.rules(ren.estate_id)
    day = reno.duty_day(rules, svc.clock.now())
    done = [p.department for p in await patrols(svc).patrols(ren.id) if p.day == day]
    shown = "、" if actor.locale.startswith("zh") else ", "
    text = actor.t(
        "renovation.patrol.unit",
        number=ren.number,
        unit=ren.unit_label,
        start=ren.form.period_from.isoformat(),
        end=ren.form.period_to.isoformat(),
        contractor=escape(ren.form.contractor),
        head=escape(ren.form.head_name),
        phone=ren.form.head_phone,
        done=shown.join(actor.t(f"department.{d}") for d in done)
        or actor.t("renovation.patrol.nobody"),
    )
    if ren.open_filings:  # filings whose authority's receipt is still missing
        scope = actor.t("renovation.list_separator").join(
            actor.t(f"renovation.scope.{s}") for s in ren.open_filings
        )
        text += "\n" + actor.t("renovation.patrol.filings_open", scope=scope)
    markup = keyboard(
        [
            [
                button(actor.t("renovation.patrol.btn_ok"), f"ren:po:{ren.id}"),
                button(actor.t("renovation.patrol.btn_minor"), f"ren:pv:{ren.id}"),
            ],
            [button(actor.t("renovation.notice.btn_serious"), f"ren:ps:{ren.id}")],
        ]
    )
    await query.answer()
    await reply(update, context, text, markup)


async def record(
    update: Update,
    context: Context,
    actor: Actor,
    ren: Renovation,
    department: str,
    result: PatrolResult,
    note: str | None = None,
    photo: tuple[str, str, str] | None = None,
) -> Renovation | Refusal | None:
    """Record a patrol (R-14) now: its clock of the day met, the next day's started."""
    svc = services(context)
    rules = await svc.rules(ren.estate_id)
    now = svc.clock.now()
    day = reno.duty_day(rules, now)
    try:
        return await patrols(svc).patrol(
            ren.id,
            lambda r: reno.patrolled(r, department, result, day, note, photo[0] if photo else None),
            lambda: reno.next_duty_timer(
                rules, rules.calendar.end_of_working_day(now), ren.form.period_from
            ),
            by=actor.person.id,
            photo=photo,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        return refusal


async def on_ok(update: Update, context: Context) -> None:
    """``ren:po:<id>``: "✅ 一切正常": the department's patrol of the day recorded."""
    found = await patroller_for(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren, department = found
    done = await record(update, context, actor, ren, department, PatrolResult.OK)
    if isinstance(done, Refusal):
        await query.answer(refusal_text(actor, done), show_alert=True)
        return
    if done is None:
        named = actor.t(f"department.{department}")
        await query.answer(actor.t("renovation.patrol.already", department=named), show_alert=True)
        return
    await query.answer()
    text = actor.t("renovation.patrol.ok_done", number=ren.number, unit=ren.unit_label)
    await edit(query.message, text, later=services(context))


async def on_minor(update: Update, context: Context) -> int:
    """``ren:pv:<id>``: "⚠️ 有违规": asks for the photo and a line (R-15, minor);
    ``ren:ps:<id>``: "🚫 严重违规": the same, then the due date and the penalty (R-15, R-16)."""
    found = await patroller_for(update, context)
    query = update.callback_query
    if found is None or query is None or context.user_data is None:
        return ConversationHandler.END
    actor, ren, _department = found
    await query.answer()
    serious = (query.data or "").startswith("ren:ps:")
    context.user_data[KEY] = {"id": ren.id, "serious": serious}
    key = "renovation.notice.ask_photo" if serious else "renovation.patrol.ask_photo"
    await reply(update, context, actor.t(key, number=ren.number, unit=ren.unit_label))
    return ViolationStep.PHOTO


async def _pending(
    update: Update, context: Context
) -> tuple[Actor, Renovation, str, dict[str, object]] | None:
    actor = await who(update, context)
    if actor is None or KEY not in (context.user_data or {}):
        return None
    pending = draft_of(context, KEY)
    ren = await store(services(context)).get(int(str(pending["id"])))
    department = department_of(actor, ren.estate_id) if ren else None
    if ren is None or department is None or ren.status != reno.Status.ACTIVE:
        await reply(update, context, actor.t("renovation.refused.not_patrollable"))
        _forget(context)
        return None
    return actor, ren, department, pending


def _forget(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)


async def got_photo(update: Update, context: Context) -> int:
    """The violation's photo (its caption, the line): kept as evidence, watermarked with the
    renovation's number, the estate's time and the patroller; recorded once the line is
    there too."""
    found = await _pending(update, context)
    if found is None:
        return ConversationHandler.END
    actor, ren, department, pending = found
    svc = services(context)
    received = await photos.take_in(update, context, actor)
    if received is None:
        return ViolationStep.PHOTO
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
    pending["photo"] = [received.sha256, shown.sha256, received.file_id]
    message = update.effective_message
    caption = reno.clean_note(message.caption or "") if message is not None else None
    note = caption or (str(pending["note"]) if pending.get("note") else None)
    if note is None:
        await reply(update, context, actor.t("renovation.patrol.ask_note"))
        return ViolationStep.NOTE
    return await _finish(update, context, actor, ren, department, note, pending)


async def got_note(update: Update, context: Context) -> int:
    """The violation's line: recorded when the photo is in; else kept, the photo asked."""
    found = await _pending(update, context)
    message = update.effective_message
    if found is None or message is None:
        return ConversationHandler.END
    actor, ren, department, pending = found
    note = reno.clean_note(message.text or "")
    if note is None:
        await reply(update, context, actor.t("renovation.patrol.note_hint", limit=reno.MAX_NOTE))
        return ViolationStep.NOTE if pending.get("photo") else ViolationStep.PHOTO
    if not pending.get("photo"):
        pending["note"] = note
        await reply(update, context, actor.t("renovation.patrol.photo_please"))
        return ViolationStep.PHOTO
    return await _finish(update, context, actor, ren, department, note, pending)


async def _finish(
    update: Update,
    context: Context,
    actor: Actor,
    ren: Renovation,
    department: str,
    note: str,
    pending: dict[str, object],
) -> int:
    if pending.get("serious"):
        pending["note"] = note
        await reply(update, context, actor.t("renovation.notice.ask_due"))
        return ViolationStep.DUE
    kept = pending["photo"]
    assert isinstance(kept, list)
    photo = (str(kept[0]), str(kept[1]), str(kept[2]))
    done = await record(update, context, actor, ren, department, PatrolResult.MINOR, note, photo)
    _forget(context)
    if isinstance(done, Refusal):
        await reply(update, context, refusal_text(actor, done))
    elif done is None:
        named = actor.t(f"department.{department}")
        await reply(update, context, actor.t("renovation.patrol.already", department=named))
    else:
        text = actor.t(
            "renovation.patrol.minor_done",
            number=ren.number,
            unit=ren.unit_label,
            note=escape(note),
        )
        await reply(update, context, text)
    return ConversationHandler.END


async def got_due(update: Update, context: Context) -> int:
    """A serious violation's date to rectify by (not before today)."""
    found = await _pending(update, context)
    message = update.effective_message
    if found is None or message is None:
        return ConversationHandler.END
    actor, ren, _department, pending = found
    svc = services(context)
    rules = await svc.rules(ren.estate_id)
    today = rules.calendar.local(svc.clock.now()).date()
    due = reno.parse_date(message.text or "", today)
    if due is None or due < today:
        await reply(update, context, actor.t("renovation.notice.due_hint"))
        return ViolationStep.DUE
    pending["due"] = due.isoformat()
    await reply(update, context, actor.t("renovation.notice.ask_penalty"))
    return ViolationStep.PENALTY


async def got_penalty(update: Update, context: Context) -> int:
    """A serious violation's penalty under the agreement, in yuan (0: none): the notice is
    issued, the owner told first (R-15), the project manager asked about the penalty."""
    found = await _pending(update, context)
    message = update.effective_message
    if found is None or message is None:
        return ConversationHandler.END
    actor, ren, department, pending = found
    penalty = reno.parse_penalty(message.text or "")
    if penalty is None:
        await reply(update, context, actor.t("renovation.notice.penalty_hint"))
        return ViolationStep.PENALTY
    svc = services(context)
    rules = await svc.rules(ren.estate_id)
    now = svc.clock.now()
    today, day = rules.calendar.local(now).date(), reno.duty_day(rules, now)
    kept = pending["photo"]
    assert isinstance(kept, list)
    photo = (str(kept[0]), str(kept[1]), str(kept[2]))
    note, due = str(pending["note"]), date.fromisoformat(str(pending["due"]))
    _forget(context)
    try:
        done = await patrols(svc).patrol(
            ren.id,
            lambda r: reno.notice_issued(r, department, note, due, today, penalty, photo[0], day),
            lambda: reno.next_duty_timer(
                rules, rules.calendar.end_of_working_day(now), ren.form.period_from
            ),
            by=actor.person.id,
            photo=photo,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        return ConversationHandler.END
    if done is None:
        named = actor.t(f"department.{department}")
        await reply(update, context, actor.t("renovation.patrol.already", department=named))
        return ConversationHandler.END
    await svc.deliver()
    text = actor.t(
        "renovation.notice.issued",
        number=ren.number,
        unit=ren.unit_label,
        note=escape(note),
        due=due.isoformat(),
        penalty=yuan(penalty),
    )
    await reply(update, context, text)
    return ConversationHandler.END


async def violation_expected(update: Update, context: Context) -> int:
    """Something else while a violation is recorded: ask again for what is missing."""
    actor = await who(update, context)
    pending = draft_of(context, KEY)
    if "due" in pending:
        step, key = ViolationStep.PENALTY, "renovation.notice.penalty_hint"
    elif pending.get("serious") and pending.get("photo") and pending.get("note"):
        step, key = ViolationStep.DUE, "renovation.notice.due_hint"
    elif pending.get("photo"):
        step, key = ViolationStep.NOTE, "renovation.patrol.ask_note"
    else:
        step, key = ViolationStep.PHOTO, "renovation.patrol.photo_please"
    if actor is not None:
        await reply(update, context, actor.t(key))
    return step


async def cancel(update: Update, context: Context) -> int:
    """/cancel while recording a violation: nothing recorded."""
    actor = await who(update, context)
    _forget(context)
    if actor is not None:
        await reply(update, context, actor.t("renovation.patrol.cancelled"))
    return ConversationHandler.END


def violation_conversation() -> ConversationHandler[Context]:
    """Recording a minor violation (R-15): a photo and a line, persistent."""
    V = ViolationStep
    image = filters.PHOTO | filters.Document.IMAGE
    return persistent_flow(
        entry_points=[CallbackQueryHandler(on_minor, pattern=r"^ren:p[vs]:")],
        states={
            V.PHOTO: [MessageHandler(image, got_photo), MessageHandler(TEXT, got_note)],
            V.NOTE: [MessageHandler(TEXT, got_note), MessageHandler(image, got_photo)],
            V.DUE: [MessageHandler(TEXT, got_due)],
            V.PENALTY: [MessageHandler(TEXT, got_penalty)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            MessageHandler(OTHER, violation_expected),
        ],
        name="renovation_violation",
    )


# --- the rectification notice's steps (R-15, R-16) -------------------------------------------


#: Presses that settle what the message asked (the penalty decided, the notice closed).
FINAL = frozenset({"approve", "refuse", "reinspect"})


async def _notice_press(update: Update, context: Context, action: str) -> None:
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    svc = services(context)

    def decide(notice: reno.ViolationNotice, ren: Renovation) -> reno.RenovationDecision:
        held = actor.roles_in(ren.estate_id)
        staff = may(Act.ISSUE_PERMIT, held)
        if action == "ack":
            return reno.owner_understood(notice, "button", actor.person.id == ren.owner_id, staff)
        if action == "call":
            return reno.owner_understood(notice, "call", False, staff)
        if action == "contractor":
            return reno.contractor_told(notice, staff)
        if action == "reinspect":
            return reno.reinspected(notice, staff)
        manager = may(Act.APPROVE_PENALTY, held)
        return reno.penalty_decided(notice, action == "approve", manager)

    try:
        done = (
            await patrols(svc).notice_step(ids[0], decide, by=actor.person.id, render=Notifier(svc))
            if ids
            else None
        )
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return
    if done is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    notice, ren = done
    if action == "contractor" and ren.contractor_id is not None:
        head = await svc.identity.person(ren.contractor_id)
        if head is not None:  # the site head joined by the owner's link: told in the chat
            async with svc.db.write() as conn:
                await enqueue(
                    conn, head.tg_user_id,
                    t(svc.settings.locale, "renovation.notice.contractor", number=ren.number,
                      unit=ren.unit_label, note=escape(notice.note), due=notice.due.isoformat()),
                    subject=reno.subject(ren.id), person_id=head.id,
                    markup=keyboard([[button(t(svc.settings.locale, "renovation_entry.btn_sign"),
                                             f"ren:nsg:{notice.id}")]]).to_dict(),
                )  # fmt: skip
    done_key = f"renovation.notice.done_{action}"
    await query.answer(
        actor.t(done_key, head=ren.form.head_name, phone=ren.form.head_phone), show_alert=True
    )
    if action in FINAL:  # decided: the message shows the answer instead of its buttons
        await keep_answered(query)
    await svc.deliver()


async def on_notice_ack(update: Update, context: Context) -> None:
    """``ren:nack:<notice>``: the owner understood and supports the rectification (R-15)."""
    await _notice_press(update, context, "ack")


async def on_notice_call(update: Update, context: Context) -> None:
    """``ren:ncall:<notice>``: customer service records the call in which the owner
    understood (R-15)."""
    await _notice_press(update, context, "call")


async def on_notice_contractor(update: Update, context: Context) -> None:
    """``ren:nctr:<notice>``: customer service tells the contractor's head — refused while
    the owner has not been told (R-15)."""
    await _notice_press(update, context, "contractor")


async def on_notice_reinspect(update: Update, context: Context) -> None:
    """``ren:nok:<notice>``: the re-inspection found it rectified: closed (R-15)."""
    await _notice_press(update, context, "reinspect")


async def on_penalty_approve(update: Update, context: Context) -> None:
    """``ren:npa:<notice>``: the project manager approves the penalty: into the ledger."""
    await _notice_press(update, context, "approve")


async def on_penalty_refuse(update: Update, context: Context) -> None:
    """``ren:npr:<notice>``: the project manager does not approve the penalty."""
    await _notice_press(update, context, "refuse")


# --- R-14's clock ----------------------------------------------------------------------------


async def react(svc: Services, conn: aiosqlite.Connection, firing: Firing) -> None:
    """R-14's warning or breach for one department's patrol of the day (the sweeper's
    reaction for patrol duties), inside the transaction that marks the timer:
    :func:`procedures.renovation.patrol_reaction` decides; after a breach the next working
    day's clock starts while the works are on."""
    deadline = firing.deadline
    duty = await patrol_store.duty_of(conn, deadline.subject.id)
    if duty is None:
        return
    ren = await store_module.read(conn, duty[0])
    if ren is None:
        return
    rules = await svc.rules(ren.estate_id)
    for decision in reno.patrol_reaction(
        ren, duty[1], firing.warning, firing.late, rules, deadline.due_at
    ):
        await store_module.apply(
            conn, ren.id, decision, by=None, actor="system", render=Notifier(svc)
        )
    if not firing.warning and ren.status == reno.Status.ACTIVE:
        await patrol_store.schedule_next(
            conn,
            deadline.subject.id,
            reno.next_duty_timer(rules, deadline.due_at, ren.form.period_from),
        )


def handlers() -> list[AnyHandler]:
    """/patrol and its buttons, a violation's photo and line."""
    return [
        violation_conversation(),
        CallbackQueryHandler(on_open, pattern=r"^ren:pt:"),
        CallbackQueryHandler(on_ok, pattern=r"^ren:po:"),
        CallbackQueryHandler(on_notice_ack, pattern=r"^ren:nack:"),
        CallbackQueryHandler(on_notice_call, pattern=r"^ren:ncall:"),
        CallbackQueryHandler(on_notice_contractor, pattern=r"^ren:nctr:"),
        CallbackQueryHandler(on_notice_reinspect, pattern=r"^ren:nok:"),
        CallbackQueryHandler(on_penalty_approve, pattern=r"^ren:npa:"),
        CallbackQueryHandler(on_penalty_refuse, pattern=r"^ren:npr:"),
        CommandHandler("patrol", patrol, filters.ChatType.PRIVATE),
    ]
