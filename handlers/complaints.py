"""Complaints (P7) in chat: the nature (C-4..C-7), one event with many complainants (C-5),
an important complaint's extension (C-12), and the review before the reply (C-11 opinion,
C-13 approval). Every press is re-checked against the database; procedures.complaints
decides.

Button data: ``cp:sev:<case>:<severity>``, ``cp:inv:<case>:<reason>``,
``cp:ext:<case>:<timer>``, ``cp:link:<case>``, ``cp:lk:<case>:<other>``, ``cp:op:<case>``,
``cp:ok:<case>:<version>``, ``cp:no:<case>:<version>``. Buttons of earlier versions
(``cx:…``, ``op:…``, ``cs:link|lk:…``) are still answered (handlers.cards).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, MessageHandler, filters

from handlers import callbacks, limits, steps
from handlers.cards import (
    approval_keyboard,
    card,
    first_responder_keyboard,
    review_card,
)
from handlers.common import (
    AnyHandler,
    Context,
    awaited_reply,
    button,
    edit,
    flush_persistence,
    keyboard,
    parse_id,
    prompt_reply,
    reply,
    services,
    who,
)
from handlers.requests import case_button, staff_card
from handlers.steps import facts
from procedures import complaints
from procedures.cases import INVALID_REASONS, Kind, Severity, Status
from procedures.permissions import Act, may
from procedures.rule_ids import RuleId
from storage.cases import link_event


async def on_complaint(update: Update, context: Context) -> None:
    """C-4 classification (``cp:sev``, ``cp:inv``) and C-12 extension (``cp:ext``)."""
    pressed = await case_button(update, context, {"sev", "inv", "ext"})
    if pressed is None:
        return
    query, actor, parts, case = pressed
    svc = services(context)
    if case.kind != Kind.COMPLAINT:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    roles = actor.roles_in(case.estate_id)
    rules = await svc.rules(case.estate_id)
    if parts[1] == "ext":
        # C-12: the role the clock's own rule names (the one its warning asked) extends it.
        rule = rules.rule(RuleId.C12_IMPORTANT)
        if not may(Act.EXTEND, roles, rule=rule):
            role = actor.t(f"role.{rule.extension_by}") if rule.extension_by else "—"
            await query.answer(actor.t("complaint.only_extender", role=role), show_alert=True)
            return
        timer_id = parse_id(parts[3]) if len(parts) == 4 else None
        extended = timer_id is not None and await svc.cases.extend(
            case.id,
            timer_id,
            RuleId.C12_IMPORTANT,
            lambda due: complaints.extended(rules, due, steps.by(actor), str(rule.extension_by)),
            by=actor.person.id,
            actor=steps.signed(actor),
        )
        if not extended:
            await query.answer(actor.t("case.already_moved"), show_alert=True)
            return
        await query.answer(actor.t("case.step_done"))
        await edit(
            query.message,
            actor.t(
                "complaint.extended",
                number=case.number,
                limit=limits.limit(actor.locale, rules, RuleId.C12_IMPORTANT),
            ),
            later=services(context),
        )
        return
    if not may(Act.CLASSIFY, roles):  # C-4: the project supervisor decides
        await query.answer(actor.t("complaint.only_supervisor"), show_alert=True)
        return
    value = parts[3] if len(parts) == 4 else ""
    if case.severity is not None:
        after = None
    elif parts[1] == "sev" and value in {Severity.MINOR, Severity.IMPORTANT, Severity.MAJOR}:
        decision = complaints.classify(case, value, steps.by(actor), await facts(svc, case))
        after = await steps.apply(svc, case, decision, actor)
    elif parts[1] == "inv" and value in INVALID_REASONS:
        decision = complaints.invalidate(case, value, await facts(svc, case))
        after = await steps.apply(svc, case, decision, actor)
    else:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if after is None:
        await query.answer(actor.t("complaint.already_classified"), show_alert=True)
        fresh = await svc.cases.get(case.id)
        if fresh is not None:
            await edit(query.message, card(actor.locale, fresh), later=services(context))
        return
    await query.answer(actor.t("case.step_done"))
    await edit(query.message, card(actor.locale, after), later=services(context))
    await svc.deliver()


async def on_link(update: Update, context: Context) -> None:
    """C-5: ``cp:link`` shows the complaints this one may be about the same event as;
    ``cp:lk:<case>:<other>`` links them (and, at the estate's threshold, makes the event
    major)."""
    pressed = await case_button(update, context, {"link", "lk"})
    if pressed is None:
        return
    query, actor, parts, case = pressed
    svc = services(context)
    if not may(Act.LINK_EVENT, actor.roles_in(case.estate_id)):
        await query.answer(actor.t("case.not_first_responder"), show_alert=True)
        return
    rules = await svc.rules(case.estate_id)
    if parts[1] == "link":
        await query.answer()
        others = await svc.cases.link_candidates(case, rules.same_event_window.elapsed)
        buttons = [
            button(f"{o.number} · {o.description[:12]}", f"cp:lk:{case.id}:{o.id}") for o in others
        ]
        buttons.append(button(actor.t("common.back"), f"rq:menu:{case.id}"))
        text = await staff_card(context, actor.locale, case) + "\n\n"
        window = limits.span(actor.locale, rules.same_event_window)  # C-5, the estate's
        text += actor.t("event_link.choose" if others else "event_link.none", limit=window)
        await edit(query.message, text, keyboard([[b] for b in buttons]), later=services(context))
        return
    other = await svc.cases.get(parse_id(parts[3]) or 0) if len(parts) == 4 else None
    if other is None or not complaints.linkable(case, other):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    now = svc.clock.now()
    count = await link_event(
        svc.db,
        case.id,
        other.id,
        lambda event: complaints.linked(case, event, rules, now),
        by=actor.person.id,
        actor=steps.signed(actor),
        rules=rules,
        render=svc.notifier,
    )
    await query.answer(actor.t("event_link.linked", count=count or 0), show_alert=True)
    fresh = await svc.cases.get(case.id)
    if fresh is not None:
        await edit(
            query.message,
            await staff_card(context, actor.locale, fresh),
            first_responder_keyboard(actor.locale, fresh),
        )
    await svc.deliver()


# --- review (C-11, C-13) ---------------------------------------------------------------------


async def on_review(update: Update, context: Context) -> None:
    """``cp:op`` (write the opinion), ``cp:ok`` (approve the reply), ``cp:no`` (send back)."""
    pressed = await case_button(update, context, {"op", "ok", "no"})
    if pressed is None or context.user_data is None:
        return
    query, actor, parts, case = pressed
    svc = services(context)
    roles = actor.roles_in(case.estate_id)
    if parts[1] == "op":
        if not may(Act.WRITE_OPINION, roles):  # C-11: the customer-centre supervisor
            await query.answer(actor.t("review.only_supervisor"), show_alert=True)
            return
        if case.status != Status.REVIEW or case.opinion:
            # Written already (awaiting approval), or the review is over: the button is stale.
            key = "review.already_written" if case.opinion else "case.already_moved"
            await query.answer(actor.t(key, number=case.number), show_alert=True)
            await edit(
                query.message,
                await staff_card(context, actor.locale, case),
                later=services(context),
            )
            return
        # Only a reply to this prompt, within the hour, is taken as the opinion.
        asked = await prompt_reply(
            context, actor, case.id, "opinion_case",
            actor.t("review.write_now", number=case.number), actor.t("review.placeholder"),
        )  # fmt: skip
        if not asked:
            await query.answer(actor.t("review.open_private_chat"), show_alert=True)
            return
        await query.answer(actor.t("review.see_private_chat"))
        return
    version = parts[3] if len(parts) == 4 else ""
    approvers = {p.id for p in await svc.notifier.approvers(case, case.opinion_by)}
    if actor.person.id not in approvers:  # C-13: the approver signs, never an admin as such
        await query.answer(actor.t("review.only_approver"), show_alert=True)
        return
    if actor.person.id == case.opinion_by:
        await query.answer(actor.t("review.not_own_opinion"), show_alert=True)
        return
    role = complaints.approver_role(roles) or ""  # the role they sign in (C-13)
    if parts[1] == "ok":
        decision = complaints.approve(case, version, steps.by(actor), role, await facts(svc, case))
    else:
        decision = complaints.reject(case, version, steps.by(actor), role)
    after = await steps.apply(svc, case, decision, actor)
    if after is None:  # another version of the opinion, or someone acted first: show it now
        await query.answer(actor.t("case.already_moved"), show_alert=True)
        fresh = await svc.cases.get(case.id)
        if fresh is not None:
            await edit(
                query.message,
                review_card(actor.locale, fresh),
                approval_keyboard(actor.locale, fresh),
            )
        return
    await query.answer(actor.t("case.step_done"))
    key = "review.approved" if parts[1] == "ok" else "review.sent_back"
    await edit(query.message, actor.t(key, number=case.number), later=services(context))
    await svc.deliver()


async def opinion_text(update: Update, context: Context) -> None:
    """The supervisor's next private message after ``cp:op`` is the handling opinion
    (C-11); a resident's reply to "anything more?" is their comment (B-3).

    Runs in an early handler group: it acts only when an answer is awaited, and then stops
    the update from reaching the other handlers.
    """
    comment = await awaited_reply(context, "comment_case", update, OPINION_SECONDS)
    if await callbacks.resident_comment(update, context, comment):
        await flush_persistence(update, context)
        raise ApplicationHandlerStop
    waiting = await awaited_reply(context, "opinion_case", update, OPINION_SECONDS)
    message = update.effective_message
    if waiting is None or message is None:
        return  # not an answer to a prompt: the message goes its usual way
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return
    svc = services(context)
    case = await svc.cases.get(int(waiting["case"]))
    text = (message.text or "").strip()[:MAX_OPINION]
    if case is None or len(text) < 4:
        await reply(update, context, actor.t("review.too_short"))
    elif not may(Act.WRITE_OPINION, actor.roles_in(case.estate_id)):
        await reply(update, context, actor.t("review.only_supervisor"))
    else:
        context.user_data.pop("opinion_case", None)
        after = await steps.apply(
            svc, case, complaints.write_opinion(case, text, steps.by(actor)), actor
        )
        await reply(
            update,
            context,
            actor.t("review.opinion_saved" if after else "case.already_moved", number=case.number),
        )
        await svc.deliver()
    await flush_persistence(update, context)
    raise ApplicationHandlerStop


#: Longest handling opinion kept (it is sent to the resident in one message).
MAX_OPINION = 2000
#: How long the prompt for an opinion waits for its answer.
OPINION_SECONDS = 3600


def handlers() -> list[AnyHandler]:
    """The complaint buttons (today's and an earlier version's)."""
    return [
        CallbackQueryHandler(on_complaint, pattern=r"^cp:(sev|inv|ext):"),
        CallbackQueryHandler(on_link, pattern=r"^cp:(link|lk):"),
        CallbackQueryHandler(on_review, pattern=r"^cp:(op|ok|no):"),
        CallbackQueryHandler(on_complaint, pattern=r"^cx:"),
        CallbackQueryHandler(on_link, pattern=r"^cs:(link|lk):"),
        CallbackQueryHandler(on_review, pattern=r"^op:"),
    ]


def opinion_text_handler() -> AnyHandler:
    """Private text while an opinion or a comment is awaited (an early group: see
    :func:`opinion_text`)."""
    return MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
        opinion_text,
    )
