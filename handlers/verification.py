"""Customer service decides owners whose phone is not on the roster (H-1).

The request goes to the estate's customer-service group with approve / reject buttons
(``ver:ok:<id>``, ``ver:no:<id>`` then a reason ``ver:why:<id>:<reason>``). Every tap is
checked against the database: the presser must hold a customer-service role in that
estate, and the request must still be pending — a second tap is told who decided.
When no group is bound, the request goes to the estate's verifiers and admins privately,
and ``/pending`` shows every open request again, so nothing waits unseen.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.i18n import t
from handlers.common import (
    AnyHandler,
    Context,
    button,
    edit,
    keyboard,
    parse_id,
    person_locale,
    reply,
    services,
    who,
)
from procedures.identity import REJECT_REASONS, VERIFIERS, Department, can_verify_owners
from procedures.phone import mask_phone
from procedures.subjects import Subject
from storage.identity import Verification
from storage.outbox import enqueue

log = logging.getLogger(__name__)


#: /pending shows at most this many cards at once (decided ones make room for the rest).
PENDING_SHOWN = 10


def decision_keyboard(locale: str, verification_id: int) -> InlineKeyboardMarkup:
    """Approve / reject buttons of a pending request."""
    return keyboard(
        [
            [
                button(t(locale, "verify.approve"), f"ver:ok:{verification_id}"),
                button(t(locale, "verify.reject"), f"ver:no:{verification_id}"),
            ]
        ]
    )


def reasons_keyboard(locale: str, verification_id: int) -> InlineKeyboardMarkup:
    """One button per rejection reason, and a way back."""
    rows = [
        [button(t(locale, f"verify.reason.{r}"), f"ver:why:{verification_id}:{r}")]
        for r in REJECT_REASONS
    ]
    rows.append([button(t(locale, "common.back"), f"ver:back:{verification_id}")])
    return keyboard(rows)


async def request_text(context: Context, locale: str, v: Verification) -> str:
    """The card staff see: who, which unit, the roster's owner for comparison."""
    identity = services(context).identity
    person = await identity.person(v.person_id)
    unit = await identity.unit(v.unit_id)
    assert person is not None and unit is not None
    return t(
        locale,
        "verify.card",
        id=v.id,
        name=person.name,
        username=f"@{person.username}" if person.username else "—",
        phone=mask_phone(v.phone),
        estate=unit.estate_name,
        unit=unit.label,
        roster_owner=unit.owner_name,
        roster_phone=mask_phone(unit.owner_phone),
    )


async def post_verification(context: Context, verification_id: int) -> None:
    """Queue a request for the customer-service group, or for the verifiers privately when
    none is bound. It goes through the outbox, so a Telegram error delays the card, never
    loses it (``/pending`` lists open requests again at any time)."""
    svc = services(context)
    v = await svc.identity.verification(verification_id)
    if v is None:
        return
    locale = svc.settings.locale
    department = await svc.identity.department(v.estate_id, Department.CUSTOMER_SERVICE)
    cards: list[tuple[int, str, str]] = []  # (chat, locale, text)
    if department and department.chat_id:
        cards.append((department.chat_id, locale, await request_text(context, locale, v)))
    else:  # no group: every verifier and admin of the estate, privately
        recipients: dict[int, str] = {}
        for role in sorted(VERIFIERS):
            for person in await svc.identity.people_with_role(v.estate_id, role):
                recipients[person.tg_user_id] = person_locale(person, locale)
        for admin in svc.settings.admins:
            recipients.setdefault(admin, locale)
        for chat_id, their_locale in recipients.items():
            text = await request_text(context, their_locale, v)
            cards.append(
                (chat_id, their_locale, t(their_locale, "verify.no_group") + "\n\n" + text)
            )
    if not cards:
        log.error("verification %s of estate %s has nobody to decide it", v.id, v.estate_id)
        return
    subject = Subject("verification", v.id)
    async with svc.db.write() as conn:
        for chat_id, their_locale, text in cards:
            markup = decision_keyboard(their_locale, v.id).to_dict()
            await enqueue(conn, chat_id, text, markup=markup, subject=subject)
    await svc.deliver()


async def on_decision(update: Update, context: Context) -> None:
    """A tap on approve, reject, a reason or back: re-check everything, then act once."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    parts = (query.data or "").split(":")
    svc = services(context)
    v = None
    verification_id = parse_id(parts[2]) if len(parts) >= 3 else None
    if verification_id is not None:
        v = await svc.identity.verification(verification_id)
    if v is None or parts[1] not in {"ok", "no", "why", "back"}:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    allowed = can_verify_owners(actor.roles_in(v.estate_id), is_global_admin=actor.is_global_admin)
    if not allowed:
        await query.answer(actor.t("verify.not_allowed"), show_alert=True)
        return
    if v.person_id == actor.person.id:
        await query.answer(actor.t("verify.not_yourself"), show_alert=True)
        return
    locale = actor.locale
    if v.status != "pending":
        await query.answer(await decided_note(context, locale, v), show_alert=True)
        await edit(query.message, await final_text(context, locale, v), later=services(context))
        return
    action = parts[1]
    if action == "no":
        await query.answer()
        await edit(
            query.message, await request_text(context, locale, v), reasons_keyboard(locale, v.id)
        )
        return
    if action == "back":
        await query.answer()
        await edit(
            query.message, await request_text(context, locale, v), decision_keyboard(locale, v.id)
        )
        return
    reason = None
    if action == "why":
        reason = parts[3] if len(parts) == 4 and parts[3] in REJECT_REASONS else None
        if reason is None:
            await query.answer(actor.t("common.stale_button"), show_alert=True)
            return
    decided = await svc.identity.decide_verification(
        v.id, by=actor.person, approve=action == "ok", reason=reason
    )
    if decided is None:  # someone else decided between our read and our write
        fresh = await svc.identity.verification(v.id)
        assert fresh is not None
        await query.answer(await decided_note(context, locale, fresh), show_alert=True)
        await edit(query.message, await final_text(context, locale, fresh), later=services(context))
        return
    await query.answer(actor.t("verify.done"))
    await edit(query.message, await final_text(context, locale, decided), later=services(context))
    await tell_applicant(context, decided)


async def decided_note(context: Context, locale: str, v: Verification) -> str:
    """``Already approved by …`` for a second tap."""
    decider = await services(context).identity.person(v.decided_by) if v.decided_by else None
    return t(
        locale,
        f"verify.already_{v.status}",
        name=decider.name if decider else "—",
    )


async def final_text(context: Context, locale: str, v: Verification) -> str:
    """The card once decided: the request and who decided what."""
    decider = await services(context).identity.person(v.decided_by) if v.decided_by else None
    outcome = t(
        locale,
        f"verify.outcome_{v.status}",
        name=decider.name if decider else "—",
        reason=t(locale, f"verify.reason.{v.reason}") if v.reason else "",
    )
    return await request_text(context, locale, v) + "\n\n" + outcome


async def tell_applicant(context: Context, v: Verification) -> None:
    """Tell the owner the decision in their own language."""
    svc = services(context)
    person = await svc.identity.person(v.person_id)
    unit = await svc.identity.unit(v.unit_id)
    if person is None or unit is None:
        return
    locale = person_locale(person, svc.settings.locale)
    if v.status == "approved":
        text = t(locale, "reg.approved", estate=unit.estate_name, unit=unit.label)
    else:
        text = t(
            locale,
            "reg.rejected",
            estate=unit.estate_name,
            unit=unit.label,
            reason=t(locale, f"verify.reason_for_owner.{v.reason}"),
        )
    async with svc.db.write() as conn:  # through the outbox: a Telegram error only delays it
        await enqueue(
            conn, person.tg_user_id, text, person_id=person.id,
            subject=Subject("verification", v.id),
        )  # fmt: skip
    await svc.deliver()


async def pending(update: Update, context: Context) -> None:
    """/pending: every open verification request of the estates the person serves."""
    actor = await who(update, context)
    if actor is None:
        return
    svc = services(context)
    estates = [e.id for e in await svc.identity.estates()]
    mine = [
        e
        for e in estates
        if can_verify_owners(actor.roles_in(e), is_global_admin=actor.is_global_admin)
    ]
    if not mine:
        await reply(update, context, actor.t("verify.not_allowed"))
        return
    open_requests = await svc.identity.pending_verifications(mine)
    if not open_requests:
        await reply(update, context, actor.t("verify.none_pending"))
        return
    await reply(update, context, actor.t("verify.pending_count", count=len(open_requests)))
    for v in open_requests[:PENDING_SHOWN]:
        await reply(
            update,
            context,
            await request_text(context, actor.locale, v),
            decision_keyboard(actor.locale, v.id),
        )


async def private_only(update: Update, context: Context) -> None:
    """Personal data stays out of groups: ask for the command in private."""
    actor = await who(update, context)
    if actor is not None:
        await reply(update, context, actor.t("common.private_only"))


def handlers() -> list[AnyHandler]:
    """The decision buttons (any chat) and /pending."""
    return [
        CallbackQueryHandler(on_decision, pattern=r"^ver:"),
        CommandHandler("pending", pending, filters.ChatType.PRIVATE),
        CommandHandler("pending", private_only, filters.ChatType.GROUPS),
    ]
