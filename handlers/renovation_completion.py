"""Renovation (P2), its last steps in chat: the completion inspection (R-20), the deposit's
refund (R-21), the workers' ID data deleted after the retention period (issue 11, item 7).
procedures.renovation_completion decides; storage.renovation_completion applies in one unit
of work.

**Completion** (R-20): the owner's "works began" notice has "🏁 申请竣工验收": the next
working days as buttons, or "📅 其他日期" (a typed working day). Customer service's card
has "📣 通知工程部、保安部验收": each inspector (engineering and its head, the guards) gets
the notice with the slot and the open rectification notices, and "✅ 验收合格" / "❌ 有问题"
(then the problems, one a line, with the fix; a photo with its caption works too, kept as
evidence). Both passed: the deposit is held, the owner told the earliest refund date; a
problem: the owner reads each with its fix and "🔁 已整改，申请复验" asks again.

**Refund** (R-21): a durable timer (the sweeper's, :func:`react`) opens it once on the
earliest date: the owner (and the contractor's head who joined) get "💰 申请退还押金"; a
press before the date is refused with it. The contractor's claim asks the owner's consent.
Customer service's "🧾 退押金核查" goes on in the private chat: the ledger and the
violations, the checklist (leaks, damage, prohibited acts: tap to mark found; photos optional, kept
as evidence), then the
utilities owed and the damage, in yuan: deducted (clamped at zero, the rest owed), the
refundable amount asked to be confirmed by the owner, the contractor's head and the
project-centre head (the project manager while nobody holds that role); the project manager
approves; the cashier types the voucher number: refunded and closed.

Every press is checked again against the database (roles with ``may``, the owner by id);
a second press or a stale button changes nothing. Button data: ``ren:cpa|cpt|cpn|cpy|cpx|
rfm|rfo|rfc|rfy|rfa|rfp:<renovation>``, ``ren:cps:<renovation>:<YYYYMMDD>``,
``ren:rfk:<renovation>:<check>``, ``ren:rfn:<renovation>``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from html import escape
from typing import Any

import aiosqlite
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
    canceller,
    keyboard,
    persistent_flow,
    person_locale,
    reply,
    services,
    who,
)
from handlers.records import OTHER, TEXT, draft_of
from handlers.renovation import (
    KEYBOARDS,
    Notifier,
    _ids,
    ledger_text,
    one_button,
    pressed_renovation,
    store,
)
from procedures import renovation as reno
from procedures import renovation_completion as done_
from procedures.permissions import Act, may
from procedures.renovation import NoticeState, Refusal, Renovation, Status
from procedures.renovation_completion import Completion
from procedures.renovation_settings import yuan
from storage import evidence
from storage import renovation as store_module
from storage import renovation_completion as completion_store
from storage.deadlines import Firing
from storage.outbox import enqueue
from storage.renovation_completion import CompletionStore
from storage.renovation_patrol import PatrolStore

#: ``user_data`` keys of the flows that wait for a text.
SLOT_KEY = "renovation_slot"
PROBLEM_KEY = "renovation_problems"
CHECK_KEY = "renovation_refund_check"
PAY_KEY = "renovation_refund_pay"


class Step:
    """The states of the flows here."""

    SLOT = 1
    PROBLEMS = 2
    CHECKLIST = 3
    UTILITIES = 4
    DAMAGE = 5
    VOUCHER = 6


def completions(svc: Services) -> CompletionStore:
    """The completion files of the deployment."""
    return CompletionStore(svc.db)


def refusal_text(actor: Actor, refusal: Refusal, **params: object) -> str:
    """Why a step cannot be taken now, in the person's words (this step's texts first)."""
    for key in (
        f"renovation_completion.refused.{refusal.code}",
        f"renovation.refused.{refusal.code}",
    ):
        if has(key):
            return actor.t(key, **params)
    return actor.t("common.stale_button")


async def today_of(svc: Services, estate_id: int) -> date:
    """The estate's date now."""
    rules = await svc.rules(estate_id)
    return rules.calendar.local(svc.clock.now()).date()


# --- keyboards (rendered by handlers.renovation.Notifier) -----------------------------------


_DUE = frozenset({Status.REFUND_DUE})
#: The owner's, while the works are on: apply for the completion inspection (R-20).
apply_keyboard = one_button(
    frozenset({Status.ACTIVE}), "renovation_completion.btn_apply", "ren:cpa"
)
#: The owner's, after a failed inspection: ask for a re-inspection (R-20).
again_keyboard = one_button(
    frozenset({Status.FAILED}), "renovation_completion.btn_again", "ren:cpa"
)
#: Customer service's: tell engineering and security to inspect (R-20).
notify_keyboard = one_button(
    frozenset({Status.COMPLETION_REQUESTED}), "renovation_completion.btn_notify", "ren:cpn"
)


def inspect_keyboard(locale: str, ren: Renovation, _arg: int | None) -> InlineKeyboardMarkup | None:
    """An inspector's: passed, or problems (R-20)."""
    if ren.status != Status.COMPLETION_REQUESTED:
        return None
    return keyboard(
        [
            [
                button(t(locale, "renovation_completion.btn_passed"), f"ren:cpy:{ren.id}"),
                button(t(locale, "renovation_completion.btn_problems"), f"ren:cpx:{ren.id}"),
            ]
        ]
    )


#: The owner's (and the contractor head's): claim the deposit back (R-21).
claim_keyboard = one_button(
    frozenset({Status.DEPOSIT_HELD, Status.REFUND_DUE}), "renovation_completion.btn_claim",
    "ren:rfm",
)  # fmt: skip
#: The owner's: consent to the contractor's claim (R-21).
consent_keyboard = one_button(_DUE, "renovation_completion.btn_consent", "ren:rfo")
#: Customer service's: the refund's check (R-21).
check_keyboard = one_button(_DUE, "renovation_completion.btn_check", "ren:rfc")
#: The confirmers': confirm the refundable amount (R-21).
confirm_keyboard = one_button(_DUE, "renovation_completion.btn_confirm", "ren:rfy")
#: The project manager's: approve the refund (R-21).
approve_keyboard = one_button(_DUE, "renovation_completion.btn_approve", "ren:rfa")
#: The cashier's: record the refund (R-21).
pay_keyboard = one_button(_DUE, "renovation_completion.btn_pay", "ren:rfp")


#: This step's keyboards, by the name a decision's Tell gives (added to the renovation's
#: Notifier's table when this module is imported: bot.app imports it at start-up).
COMPLETION_KEYBOARDS = {
    "ren_cp_apply": apply_keyboard,
    "ren_cp_again": again_keyboard,
    "ren_cp_notify": notify_keyboard,
    "ren_cp_inspect": inspect_keyboard,
    "ren_rf_claim": claim_keyboard,
    "ren_rf_consent": consent_keyboard,
    "ren_rf_check": check_keyboard,
    "ren_rf_confirm": confirm_keyboard,
    "ren_rf_approve": approve_keyboard,
    "ren_rf_pay": pay_keyboard,
}
KEYBOARDS.update(COMPLETION_KEYBOARDS)


# --- shared --------------------------------------------------------------------------------


async def pressed(update: Update, context: Context) -> tuple[Actor, Renovation] | None:
    """The person pressing a button of this step and the renovation it names; an alert
    (and None) when it is gone."""
    return await pressed_renovation(update, context)


async def _refused(update: Update, actor: Actor, refusal: Refusal, done: Completion | None) -> None:
    query = update.callback_query
    when = done.refund_from.isoformat() if done and done.refund_from else "—"
    text = refusal_text(actor, refusal, date=when)
    if query is not None:
        await query.answer(text, show_alert=True)


async def tell_contractor(
    svc: Services,
    conn: aiosqlite.Connection,
    ren: Renovation,
    key: str,
    params: dict[str, object],
    buttons: str | None = None,
) -> None:
    """Tell the contractor's head who joined by the owner's link (R-8), inside the step's
    transaction, in their language, with a keyboard of this step."""
    if ren.contractor_id is None:
        return
    head = await svc.identity.person(ren.contractor_id)
    if head is None:
        return
    locale = person_locale(head, svc.settings.locale)
    markup = COMPLETION_KEYBOARDS[buttons](locale, ren, None) if buttons else None
    text = t(locale, key, number=ren.number, unit=ren.unit_label, **params)
    await enqueue(
        conn, head.tg_user_id, text, markup=markup.to_dict() if markup else None,
        subject=reno.subject(ren.id), person_id=head.id,
    )  # fmt: skip


async def privately(svc: Services, actor: Actor, text: str, markup: Any = None) -> None:
    """A question in the person's private chat (a group sees no typed amounts), delivered
    through the outbox."""
    async with svc.db.write() as conn:
        await enqueue(
            conn, actor.person.tg_user_id, text,
            markup=markup.to_dict() if markup is not None else None, person_id=actor.person.id,
        )  # fmt: skip
    await svc.deliver()


# --- the owner applies, with a slot ----------------------------------------------------


async def on_apply(update: Update, context: Context) -> None:
    """``ren:cpa:<id>``: the owner applies for the completion inspection (or, after a failed
    one, for the re-inspection): the next working days as buttons, or a typed date."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    if actor.person.id != ren.owner_id:
        await query.answer(refusal_text(actor, Refusal("not_owner")), show_alert=True)
        return
    if ren.status not in (Status.ACTIVE, Status.FAILED):
        await query.answer(refusal_text(actor, Refusal("not_completable")), show_alert=True)
        return
    svc = services(context)
    rules = await svc.rules(ren.estate_id)
    today = await today_of(svc, ren.estate_id)
    rows = [
        [button(f"📅 {day.isoformat()}", f"ren:cps:{ren.id}:{day:%Y%m%d}")]
        for day in done_.slots(rules.calendar, today)
    ]
    rows.append([button(actor.t("renovation_completion.btn_other_day"), f"ren:cpt:{ren.id}")])
    await query.answer()
    text = actor.t("renovation_completion.ask_slot", number=ren.number, unit=ren.unit_label)
    await reply(update, context, text, keyboard(rows))


async def _request(
    update: Update, context: Context, actor: Actor, ren: Renovation, slot: date
) -> str:
    """Apply (or ask again) with ``slot``: what to say to the owner."""
    svc = services(context)
    is_owner = actor.person.id == ren.owner_id

    def decide(r: Renovation, _done: Completion | None) -> reno.RenovationDecision:
        if r.status == Status.FAILED:
            return done_.reinspection_asked(r, is_owner, slot)
        return done_.completion_requested(r, is_owner, slot)

    try:
        after = await completions(svc).request(
            ren.id, decide, slot, by=actor.person.id, render=Notifier(svc)
        )
    except Refusal as refusal:
        return refusal_text(actor, refusal)
    await svc.deliver()
    if after is None:
        return actor.t("common.stale_button")
    return actor.t("renovation_completion.slot_taken", slot=slot.isoformat())


async def on_slot(update: Update, context: Context) -> None:
    """``ren:cps:<id>:<YYYYMMDD>``: one of the offered days (checked again: a button of
    yesterday offers a day that may have passed)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    parts = (query.data or "").split(":")
    svc = services(context)
    ren = await store(svc).get(int(parts[2])) if len(parts) == 4 and parts[2].isdigit() else None
    try:
        slot = datetime.strptime(parts[3], "%Y%m%d").date() if ren else None
    except ValueError:
        slot = None
    if ren is None or slot is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    rules = await svc.rules(ren.estate_id)
    problem = done_.slot_problem(rules.calendar, slot, await today_of(svc, ren.estate_id))
    if problem is not None:
        await query.answer(refusal_text(actor, Refusal(problem)), show_alert=True)
        return
    said = await _request(update, context, actor, ren, slot)
    await query.answer()
    await reply(update, context, said)


async def on_other_day(update: Update, context: Context) -> int:
    """``ren:cpt:<id>``: the owner types the day."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None or context.user_data is None:
        return ConversationHandler.END
    actor, ren = found
    if actor.person.id != ren.owner_id:
        await query.answer(refusal_text(actor, Refusal("not_owner")), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    context.user_data[SLOT_KEY] = {"id": ren.id}
    await reply(update, context, actor.t("renovation_completion.ask_day"))
    return Step.SLOT


async def got_day(update: Update, context: Context) -> int:
    """The typed day: a working day after today, within two months; else asked again."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or SLOT_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    svc = services(context)
    ren = await store(svc).get(int(draft_of(context, SLOT_KEY)["id"]))
    if ren is None:
        return ConversationHandler.END
    rules = await svc.rules(ren.estate_id)
    today = await today_of(svc, ren.estate_id)
    day = reno.parse_date(message.text or "", today)
    problem = "slot_unreadable" if day is None else done_.slot_problem(rules.calendar, day, today)
    if problem is not None or day is None:
        await reply(update, context, refusal_text(actor, Refusal(problem or "slot_unreadable")))
        return Step.SLOT
    if context.user_data is not None:
        context.user_data.pop(SLOT_KEY, None)
    await reply(update, context, await _request(update, context, actor, ren, day))
    return ConversationHandler.END


# --- customer service tells the inspectors; they inspect -----------------------------


async def on_notify(update: Update, context: Context) -> None:
    """``ren:cpn:<id>``: customer service tells engineering and security, with the slot and
    the open rectification notices."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    svc = services(context)
    notices = await PatrolStore(svc.db).notices(ren.id)
    shown = [
        actor.t("renovation_completion.open_notice", note=escape(n.note), due=n.due.isoformat())
        for n in notices
        if n.state != NoticeState.CLOSED
    ]
    staff = may(Act.ISSUE_PERMIT, actor.roles_in(ren.estate_id))
    await _step(update, actor, svc, ren, lambda r, d: done_.inspectors_told(r, d, staff, shown),
                "renovation_completion.told_done")  # fmt: skip


def inspector_of(actor: Actor, ren: Renovation) -> str | None:
    """The department ``actor`` inspects for there (None: none), re-checked by role."""
    held = actor.roles_in(ren.estate_id)
    return done_.inspector_department(held) if may(Act.INSPECT_COMPLETION, held) else None


async def record_inspection(
    context: Context,
    actor: Actor,
    ren: Renovation,
    passed: bool,
    problems: Sequence[str] = (),
    photo: tuple[str, str, str | None] | None = None,
) -> str:
    """Record a department's inspection now: what to say to the inspector."""
    svc = services(context)
    rules = await svc.rules(ren.estate_id)
    today = await today_of(svc, ren.estate_id)
    department = inspector_of(actor, ren)
    try:
        found = await completions(svc).inspect(
            ren.id,
            lambda r, d: done_.inspected(
                r, d, department, passed, problems, today, photo[0] if photo else None
            ),
            lambda day: done_.refund_opens_at(rules.calendar, day),
            by=actor.person.id,
            photo=photo,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        return refusal_text(actor, refusal)
    await svc.deliver()
    if found is None:
        return refusal_text(actor, Refusal("inspected_already"))
    key = "renovation_completion.passed_done" if passed else "renovation_completion.problems_done"
    return actor.t(key, number=ren.number, unit=ren.unit_label)


async def on_passed(update: Update, context: Context) -> None:
    """``ren:cpy:<id>``: the inspector's department found nothing wrong."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    said = await record_inspection(context, actor, ren, True)
    await query.answer(said, show_alert=True)


async def on_problems(update: Update, context: Context) -> int:
    """``ren:cpx:<id>``: the inspector writes the problems (and may send a photo)."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None or context.user_data is None:
        return ConversationHandler.END
    actor, ren = found
    if inspector_of(actor, ren) is None:
        await query.answer(refusal_text(actor, Refusal("not_inspector")), show_alert=True)
        return ConversationHandler.END
    if ren.status != Status.COMPLETION_REQUESTED:
        await query.answer(refusal_text(actor, Refusal("not_inspectable")), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    context.user_data[PROBLEM_KEY] = {"id": ren.id}
    await reply(update, context, actor.t("renovation_completion.ask_problems", limit=30))
    return Step.PROBLEMS


def problem_lines(text: str) -> list[str]:
    """The problems typed, one a line (empty lines dropped; each cleaned, too long cut)."""
    lines = [done_.clean_problem(line[: done_.MAX_PROBLEM]) for line in text.splitlines()]
    return [line for line in lines if line][:30]


async def got_problems(update: Update, context: Context) -> int:
    """The problems as text (one a line), or a photo with them as its caption: recorded."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or PROBLEM_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    pending = draft_of(context, PROBLEM_KEY)
    svc = services(context)
    ren = await store(svc).get(int(pending["id"]))
    if ren is None:
        return ConversationHandler.END
    if message.photo or message.document:
        received = await photos.take_in(update, context, actor)
        if received is None:
            return Step.PROBLEMS
        rules = await svc.rules(ren.estate_id)
        at = rules.calendar.local(svc.clock.now()).strftime("%Y-%m-%d %H:%M")
        font = str(svc.settings.chart_font) if svc.settings.chart_font else None
        shown = await evidence.render(
            svc.evidence, svc.db, received.sha256,
            label_lines=[ren.number, ren.unit_label, at, actor.person.name], font_path=font,
        )  # fmt: skip
        pending["photo"] = [received.sha256, shown.sha256, received.file_id]
    lines = problem_lines(message.caption or message.text or "")
    if not lines:
        await reply(update, context, actor.t("renovation_completion.problems_hint"))
        return Step.PROBLEMS
    kept = pending.get("photo")
    photo = (str(kept[0]), str(kept[1]), kept[2]) if isinstance(kept, list) else None
    if context.user_data is not None:
        context.user_data.pop(PROBLEM_KEY, None)
    await reply(update, context, await record_inspection(context, actor, ren, False, lines, photo))
    return ConversationHandler.END


# --- the refund ----------------------------------------------------------------------


async def _file(svc: Services, ren: Renovation) -> Completion | None:
    return await completions(svc).completion(ren.id)


async def _step(
    update: Update,
    actor: Actor,
    svc: Services,
    ren: Renovation,
    decide: Callable[[Renovation, Completion], reno.RenovationDecision],
    done: str,
    *,
    dated: bool = False,
) -> None:
    """One press's step of completion or refund: ``decide`` applied (re-checked on the
    record as it is), told and delivered, the presser answered with ``done``; a refusal
    answered with its reason (``dated``: with the refund's earliest date), a stale press as
    such."""
    query = update.callback_query
    if query is None:
        return
    try:
        step = await completions(svc).step(ren.id, decide, by=actor.person.id,
                                           render=Notifier(svc))  # fmt: skip
    except Refusal as refusal:
        await _refused(update, actor, refusal, await _file(svc, ren) if dated else None)
        return
    if step is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await svc.deliver()
    await query.answer(actor.t(done), show_alert=True)


async def _open_if_due(svc: Services, renovation_id: int, today: date) -> None:
    """R-21: the earliest date is a date, so a claim on it is accepted even before the
    timer opened the refund (it fires at 09:00, or later when the bot was down): the claim
    opens it first, as the timer would (the owner, the contractor's head who joined and
    customer service told); the timer then finds it open and does nothing."""
    async with svc.db.write() as conn:
        await open_refund(svc, conn, renovation_id, today)


async def open_refund(
    svc: Services, conn: aiosqlite.Connection, renovation_id: int, today: date
) -> None:
    """R-21: the refund opened on ``today`` inside the caller's transaction — refund due,
    the owner, customer service and the contractor's head who joined told — unless it is
    open already (nothing said twice)."""
    after = await completion_store.open_refund(
        conn, renovation_id, lambda r, d: done_.refund_opened(r, d, today), Notifier(svc)
    )
    if after is None:
        return
    done = await completion_store.completion_in(conn, renovation_id)
    when = done.refund_from.isoformat() if done and done.refund_from else ""
    await tell_contractor(svc, conn, after, "renovation_completion.open_contractor",
                          {"refund_from": when}, "ren_rf_claim")  # fmt: skip


async def on_claim(update: Update, context: Context) -> None:
    """``ren:rfm:<id>``: the owner (or the contractor's head who joined) claims the deposit
    back; before the earliest date, refused with it."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    svc = services(context)
    today = await today_of(svc, ren.estate_id)
    await _open_if_due(svc, ren.id, today)
    await _step(update, actor, svc, ren, lambda r, d: done_.claimed(r, d, actor.person.id, today),
                "renovation_completion.claim_done", dated=True)  # fmt: skip


async def on_consent(update: Update, context: Context) -> None:
    """``ren:rfo:<id>``: the owner consents to the contractor's claim."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    svc = services(context)
    by_owner = actor.person.id == ren.owner_id
    await _step(update, actor, svc, ren, lambda r, d: done_.consented(r, d, by_owner),
                "renovation_completion.consent_done")  # fmt: skip


def checklist_keyboard(actor: Actor, ren: Renovation, marked: dict[str, bool]) -> Any:
    """R-21's checklist: each check a toggle (✅ nothing found / ⚠️ found), then next."""
    rows = [
        [
            button(
                ("⚠️ " if marked.get(c) else "✅ ") + actor.t(f"renovation_completion.check.{c}"),
                f"ren:rfk:{ren.id}:{i}",
            )
        ]
        for i, c in enumerate(done_.CHECKS)
    ]
    rows.append([button(actor.t("renovation_completion.btn_next"), f"ren:rfn:{ren.id}")])
    return keyboard(rows)


async def history_text(svc: Services, actor: Actor, ren: Renovation) -> str:
    """The violations history customer service reads before a refund: the rectification
    notices (with their penalties) and the minor violations the patrols recorded."""
    patrols = PatrolStore(svc.db)
    lines = [actor.t("renovation_completion.history_title")]
    for n in await patrols.notices(ren.id):
        lines.append(
            actor.t(
                "renovation_completion.history_notice",
                note=escape(n.note),
                state=actor.t(f"renovation_completion.notice_state.{n.state.value}"),
                penalty=yuan(n.penalty_fen),
            )
        )
    for p in await patrols.patrols(ren.id):
        if p.result == reno.PatrolResult.MINOR.value:
            lines.append(
                actor.t(
                    "renovation_completion.history_minor",
                    day=p.day.isoformat(),
                    note=escape(p.note or ""),
                )
            )
    if len(lines) == 1:
        lines.append(actor.t("renovation_completion.history_none"))
    return "\n".join(lines)


async def on_check(update: Update, context: Context) -> int:
    """``ren:rfc:<id>``: customer service starts the refund's check, in the private chat:
    the ledger, the violations, the checklist. Refused before the earliest date, twice,
    or while a contractor's claim waits for the owner."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None or context.user_data is None:
        return ConversationHandler.END
    actor, ren = found
    svc = services(context)
    done = await _file(svc, ren)
    today = await today_of(svc, ren.estate_id)
    try:
        if not may(Act.ISSUE_PERMIT, actor.roles_in(ren.estate_id)):
            raise Refusal("not_checker")
        done_.refund_not_yet(ren, done, today)
        if done is None or done.checked:
            raise Refusal("checked_already")
        if done.claimant == reno.CONTRACTOR and not done.consented:
            raise Refusal("consent_first")
    except Refusal as refusal:
        await _refused(update, actor, refusal, done)
        return ConversationHandler.END
    await query.answer(actor.t("renovation_completion.check_private"))
    context.user_data[CHECK_KEY] = {"id": ren.id, "marked": {}}
    text = "\n\n".join(
        [
            actor.t("renovation_completion.check_title", number=ren.number, unit=ren.unit_label),
            ledger_text(actor.locale, ren, await store(svc).ledger(ren.id)),
            await history_text(svc, actor, ren),
            actor.t("renovation_completion.check_ask"),
        ]
    )
    await privately(svc, actor, text, checklist_keyboard(actor, ren, {}))
    return Step.CHECKLIST


async def on_toggle(update: Update, context: Context) -> int:
    """``ren:rfk:<id>:<check>``: a check marked found, or back to nothing found."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or CHECK_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    pending = draft_of(context, CHECK_KEY)
    ids = _ids(query.data, 2)
    if ids is None or ids[0] != pending["id"] or not 0 <= ids[1] < len(done_.CHECKS):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return Step.CHECKLIST
    marked = pending.setdefault("marked", {})
    name = done_.CHECKS[ids[1]]
    marked[name] = not marked.get(name)
    ren = await store(services(context)).get(int(pending["id"]))
    await query.answer()
    if ren is not None and query.message is not None:
        await query.edit_message_reply_markup(checklist_keyboard(actor, ren, marked))
    return Step.CHECKLIST


async def got_check_photo(update: Update, context: Context) -> int:
    """A photo during the check (optional: a leak, a damaged wall…): kept as evidence with
    a watermarked copy, attached to the check when it is recorded."""
    actor = await who(update, context)
    if actor is None or CHECK_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    pending = draft_of(context, CHECK_KEY)
    svc = services(context)
    ren = await store(svc).get(int(pending["id"]))
    received = await photos.take_in(update, context, actor)
    if ren is None or received is None:
        return Step.CHECKLIST
    rules = await svc.rules(ren.estate_id)
    at = rules.calendar.local(svc.clock.now()).strftime("%Y-%m-%d %H:%M")
    font = str(svc.settings.chart_font) if svc.settings.chart_font else None
    shown = await evidence.render(
        svc.evidence, svc.db, received.sha256,
        label_lines=[ren.number, ren.unit_label, at, actor.person.name], font_path=font,
    )  # fmt: skip
    kept = pending.setdefault("photos", [])
    kept.append([received.sha256, shown.sha256, received.file_id])
    await reply(update, context, actor.t("renovation_completion.check_photo", count=len(kept)))
    return Step.CHECKLIST


async def on_next(update: Update, context: Context) -> int:
    """``ren:rfn:<id>``: the checklist done: the utilities owed are asked."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or CHECK_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    await query.answer()
    await reply(update, context, actor.t("renovation_completion.ask_utilities"))
    return Step.UTILITIES


async def got_utilities(update: Update, context: Context) -> int:
    """The utilities owed, in yuan (0: none): the damage is asked."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or CHECK_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    amount = done_.parse_amount(message.text or "")
    if amount is None:
        await reply(update, context, actor.t("renovation_completion.amount_hint"))
        return Step.UTILITIES
    draft_of(context, CHECK_KEY)["utilities"] = amount
    await reply(update, context, actor.t("renovation_completion.ask_damage"))
    return Step.DAMAGE


async def got_damage(update: Update, context: Context) -> int:
    """The damage to common parts or neighbours, in yuan (0: none): the check recorded,
    the deductions posted, the refundable amount sent to be confirmed."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or CHECK_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    damage = done_.parse_amount(message.text or "")
    if damage is None:
        await reply(update, context, actor.t("renovation_completion.amount_hint"))
        return Step.DAMAGE
    pending = draft_of(context, CHECK_KEY)
    if context.user_data is not None:
        context.user_data.pop(CHECK_KEY, None)
    svc = services(context)
    ren = await store(svc).get(int(pending["id"]))
    if ren is None:
        return ConversationHandler.END
    utilities = int(pending.get("utilities", 0))
    marked = {c: bool(pending.get("marked", {}).get(c)) for c in done_.CHECKS}
    today = await today_of(svc, ren.estate_id)
    centre = bool(await svc.identity.people_with_role(ren.estate_id, done_.CENTRE_HEAD))
    staff = may(Act.ISSUE_PERMIT, actor.roles_in(ren.estate_id))
    kept = [(str(p[0]), str(p[1]), p[2]) for p in pending.get("photos", [])]
    shas = [p[0] for p in kept]
    try:
        found = await completions(svc).check(
            ren.id,
            lambda r, d, ded: done_.refund_checked(r, d, staff, marked, ded, today, centre, shas),
            lambda ledger: done_.deductions(ledger, utilities, damage),
            marked,
            by=actor.person.id,
            photos=kept,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal, date="—"))
        return ConversationHandler.END
    if found is None:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    after, _done, deducted = found
    async with svc.db.write() as conn:
        await tell_contractor(
            svc, conn, after, "renovation_completion.confirm_ask",
            {"amount": yuan(deducted.refundable_fen), "arrears": yuan(deducted.arrears_fen)},
            "ren_rf_confirm",
        )  # fmt: skip
    await svc.deliver()
    key = (
        "renovation_completion.checked_owes"
        if deducted.clamped
        else ("renovation_completion.checked")
    )
    text = actor.t(
        key,
        amount=yuan(deducted.refundable_fen),
        arrears=yuan(deducted.arrears_fen),
        utilities=yuan(utilities),
        damage=yuan(damage),
    )
    await reply(update, context, text)
    return ConversationHandler.END


async def check_expected(update: Update, context: Context) -> int:
    """Something else during the check: ask again for what is missing."""
    actor = await who(update, context)
    pending = draft_of(context, CHECK_KEY)
    if "utilities" in pending:
        step, key = Step.DAMAGE, "renovation_completion.amount_hint"
    else:
        step, key = Step.UTILITIES, "renovation_completion.amount_hint"
    if actor is not None:
        await reply(update, context, actor.t(key))
    return step


async def on_confirm(update: Update, context: Context) -> None:
    """``ren:rfy:<id>``: the owner, the contractor's head or the project-centre head (the
    project manager while nobody holds it) confirms the refundable amount."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    svc = services(context)
    held = actor.roles_in(ren.estate_id)
    centre = bool(await svc.identity.people_with_role(ren.estate_id, done_.CENTRE_HEAD))

    def decide(r: Renovation, d: Completion) -> reno.RenovationDecision:
        role = done_.confirming_role(r, actor.person.id, held, centre, d)
        return done_.refund_confirmed(r, d, role)

    await _step(update, actor, svc, ren, decide, "renovation_completion.confirm_done")


async def on_approve(update: Update, context: Context) -> None:
    """``ren:rfa:<id>``: the project manager approves the refund (退還同意表)."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren = found
    svc = services(context)
    manager = may(Act.APPROVE_REFUND, actor.roles_in(ren.estate_id))
    await _step(update, actor, svc, ren, lambda r, d: done_.refund_approved(r, d, manager),
                "renovation_completion.approve_done")  # fmt: skip


async def on_pay(update: Update, context: Context) -> int:
    """``ren:rfp:<id>``: the cashier records the refund: the voucher number is asked."""
    found = await pressed(update, context)
    query = update.callback_query
    if found is None or query is None or context.user_data is None:
        return ConversationHandler.END
    actor, ren = found
    svc = services(context)
    done = await _file(svc, ren)
    try:
        if not may(Act.PAY_REFUND, actor.roles_in(ren.estate_id)):
            raise Refusal("not_cashier")
        if ren.status != Status.REFUND_DUE or done is None:
            raise Refusal("not_refundable")
        if not done.approved:
            raise Refusal("approval_first")
    except Refusal as refusal:
        await _refused(update, actor, refusal, done)
        return ConversationHandler.END
    await query.answer()
    context.user_data[PAY_KEY] = {"id": ren.id}
    amount = yuan(done.refundable_fen or 0)
    await reply(update, context, actor.t("renovation_completion.ask_voucher", amount=amount))
    return Step.VOUCHER


async def got_voucher(update: Update, context: Context) -> int:
    """The voucher number: refunded (the ledger's refund entry, the balance zero) and
    closed; the ID retention's clock starts."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or PAY_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    voucher = done_.clean_voucher(message.text or "")
    if voucher is None:
        await reply(update, context, actor.t("renovation_completion.voucher_hint"))
        return Step.VOUCHER
    pending = draft_of(context, PAY_KEY)
    if context.user_data is not None:
        context.user_data.pop(PAY_KEY, None)
    svc = services(context)
    ren = await store(svc).get(int(pending["id"]))
    if ren is None:
        return ConversationHandler.END
    rules = await svc.rules(ren.estate_id)
    cashier = may(Act.PAY_REFUND, actor.roles_in(ren.estate_id))
    try:
        after = await completions(svc).refund(
            ren.id,
            lambda r, d: done_.refunded(r, d, cashier, voucher),
            voucher,
            rules.renovation.id_retention_days,
            by=actor.person.id,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        return ConversationHandler.END
    await svc.deliver()
    if after is None:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    text = actor.t("renovation_completion.paid", number=after.number, voucher=escape(voucher))
    await reply(update, context, text)
    return ConversationHandler.END


def text_expected(step: int, key: str) -> Any:
    """Something other than a text where one is asked: ask again."""

    async def expected(update: Update, context: Context) -> int:
        actor = await who(update, context)
        if actor is not None:
            await reply(update, context, actor.t(key))
        return step

    return expected


# --- the clocks after the works (R-21, item 7) ---------------------------------------------


async def react(svc: Services, conn: aiosqlite.Connection, firing: Firing) -> None:
    """The sweeper's reaction for the clocks after the works, inside the transaction that
    marks the timer fired (so each fires once, also across a restart): the refund's
    earliest date opens the refund (the owner told; the contractor's head who joined too);
    the ID retention deletes the passes' ID numbers and photos."""
    deadline = firing.deadline
    renovation_id = deadline.subject.id
    if firing.warning:
        return
    if deadline.rule == done_.ID_RETENTION:
        await completion_store.purge_ids(conn, renovation_id, svc.evidence)
        return
    ren = await store_module.read(conn, renovation_id)
    if ren is None:
        return
    today = (await svc.rules(ren.estate_id)).calendar.local(firing.now).date()
    await open_refund(svc, conn, renovation_id, today)


# --- registration ------------------------------------------------------------------------------


def _conversation(
    name: str,
    entry: str,
    start: Any,
    states: dict[object, list[Any]],
    key: str,
    said: str,
    *,
    per_chat: bool = True,
) -> ConversationHandler[Context]:
    return persistent_flow(
        entry_points=[CallbackQueryHandler(start, pattern=entry)],
        states=states,
        fallbacks=[CommandHandler("cancel", canceller(key, said))],
        name=name,
        per_chat=per_chat,
    )


def handlers() -> list[AnyHandler]:
    """The owner's application and slot, the inspections, the refund's steps."""
    image = filters.PHOTO | filters.Document.IMAGE
    private = filters.ChatType.PRIVATE
    cancelled = "renovation_completion.cancelled"
    again_day = text_expected(Step.SLOT, "renovation_completion.ask_day")
    again_problems = text_expected(Step.PROBLEMS, "renovation_completion.problems_hint")
    again_voucher = text_expected(Step.VOUCHER, "renovation_completion.voucher_hint")
    return [
        _conversation(
            "renovation_slot", r"^ren:cpt:", on_other_day,
            {Step.SLOT: [MessageHandler(TEXT, got_day),
                         MessageHandler(OTHER, again_day)]},
            SLOT_KEY, cancelled,
        ),
        _conversation(
            "renovation_problems", r"^ren:cpx:", on_problems,
            {Step.PROBLEMS: [MessageHandler(TEXT | image, got_problems),
                             MessageHandler(OTHER, again_problems)]},
            PROBLEM_KEY, cancelled,
        ),
        _conversation(
            "renovation_refund_check", r"^ren:rfc:", on_check,
            {
                Step.CHECKLIST: [CallbackQueryHandler(on_toggle, pattern=r"^ren:rfk:"),
                                 CallbackQueryHandler(on_next, pattern=r"^ren:rfn:"),
                                 MessageHandler(image & private, got_check_photo)],
                Step.UTILITIES: [MessageHandler(TEXT & private, got_utilities),
                                 MessageHandler(OTHER & private, check_expected)],
                Step.DAMAGE: [MessageHandler(TEXT & private, got_damage),
                              MessageHandler(OTHER & private, check_expected)],
            },
            CHECK_KEY, cancelled, per_chat=False,
        ),
        _conversation(
            "renovation_refund_pay", r"^ren:rfp:", on_pay,
            {Step.VOUCHER: [MessageHandler(TEXT, got_voucher),
                            MessageHandler(OTHER, again_voucher)]},
            PAY_KEY, cancelled,
        ),
        CallbackQueryHandler(on_apply, pattern=r"^ren:cpa:"),
        CallbackQueryHandler(on_slot, pattern=r"^ren:cps:"),
        CallbackQueryHandler(on_notify, pattern=r"^ren:cpn:"),
        CallbackQueryHandler(on_passed, pattern=r"^ren:cpy:"),
        CallbackQueryHandler(on_claim, pattern=r"^ren:rfm:"),
        CallbackQueryHandler(on_consent, pattern=r"^ren:rfo:"),
        CallbackQueryHandler(on_confirm, pattern=r"^ren:rfy:"),
        CallbackQueryHandler(on_approve, pattern=r"^ren:rfa:"),
    ]  # fmt: skip
