"""Callbacks (P8, B-1..B-5, C-14) in chat: the resident is asked whether it was solved and
how satisfied they are (then, optionally, for any further opinion), or the assistant phones
them when no answer comes in time (or the caller has no bot, V-5). Every press is
re-checked against the database; procedures.callbacks decides.

Button data: ``cb:ok:<case>``, ``cb:no:<case>``, ``cb:s:<case>:<1-5>``,
``cb:call:<case>:<ok|bad|none>``.
"""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, Update
from telegram.ext import CallbackQueryHandler

from handlers import limits, steps
from handlers.cards import card, score_keyboard
from handlers.common import (
    Actor,
    AnyHandler,
    Context,
    edit,
    keep_answered,
    parse_id,
    prompt_reply,
    reply,
    services,
    who,
)
from handlers.requests import case_button
from handlers.steps import facts
from procedures import callbacks
from procedures.cases import Case, Status
from procedures.permissions import Act, may

#: Longest further opinion kept (it is passed to customer service in one message).
MAX_COMMENT = 2000


async def on_callback(update: Update, context: Context) -> None:
    """The resident's answers to the callback, and the assistant's phone callback record."""
    pressed = await case_button(update, context, {"ok", "no", "s", "call"})
    if pressed is None:
        return
    query, actor, parts, case = pressed
    svc = services(context)
    if parts[1] == "call":
        await phone_callback(query, actor, case, context, parts[3] if len(parts) == 4 else "")
        return
    if case.resident_id != actor.person.id:
        await query.answer(actor.t("callback.not_yours"), show_alert=True)
        return
    if case.status != Status.DONE:
        await query.answer(actor.t("callback.already_answered"), show_alert=True)
        await edit(query.message, actor.t("callback.already_answered"), later=services(context))
        return
    if parts[1] == "ok":  # B-3: done; now, how satisfied? (the question, or C-13's reply, stays)
        await query.answer()
        await keep_answered(query)
        if context.user_data is not None:  # text meanwhile is pointed to the stars
            context.user_data["callback_score"] = case.id
        await reply(
            update,
            context,
            actor.t("callback.ask_score", number=case.number),
            score_keyboard(actor.locale, case),
        )
        return
    score = None
    if parts[1] == "s":
        raw = parse_id(parts[3]) if len(parts) == 4 else None
        if raw is None or not 1 <= raw <= 5:
            await query.answer(actor.t("common.stale_button"), show_alert=True)
            return
        score = raw
    if context.user_data is not None:
        context.user_data.pop("callback_score", None)
    satisfied = parts[1] == "s" and callbacks.satisfied(score)
    decision = callbacks.called_back(
        case, satisfied=satisfied, score=score, channel="chat", facts=await facts(svc, case)
    )
    if await steps.apply(svc, case, decision, actor) is None:
        await query.answer(actor.t("callback.already_answered"), show_alert=True)
        return
    await query.answer()
    key = "callback.recorded_satisfied" if satisfied else "callback.recorded_unsatisfied"
    if parts[1] == "s":  # the score question is ours: it becomes the record of the answer
        stars = "⭐" * (score or 0)
        await edit(
            query.message,
            actor.t(key, number=case.number) + f"\n\n» {stars}",
            later=services(context),
        )
    else:  # "not solved" / "dispute" on the question or the reply: that message stays
        await keep_answered(query)
        await reply(update, context, actor.t(key, number=case.number))
    await svc.deliver()
    # B-3: "any more opinions or suggestions?" — optional, as a reply to this question.
    await prompt_reply(
        context, actor, case.id, "comment_case",
        actor.t("callback.anything_more", number=case.number), actor.t("callback.placeholder"),
    )  # fmt: skip


async def phone_callback(
    query: CallbackQuery, actor: Actor, case: Case, context: Context, outcome: str
) -> None:
    """B-2, B-4: the assistant phoned the resident and records what they said."""
    svc = services(context)
    if not may(Act.RECORD_CALLBACK, actor.roles_in(case.estate_id)):
        await query.answer(actor.t("callback.only_assistants"), show_alert=True)
        return
    if outcome not in {"ok", "bad", "none"}:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if case.status != Status.DONE:
        await query.answer(actor.t("callback.already_answered"), show_alert=True)
        await edit(query.message, card(actor.locale, case), later=services(context))
        return
    if outcome == "none":  # could not reach them: recorded; try again within a day (B-2)
        decision = callbacks.unreachable(case, await facts(svc, case))
        if await steps.apply(svc, case, decision, actor) is None:
            await query.answer(actor.t("callback.already_answered"), show_alert=True)
            return
        again = limits.elapsed(actor.locale, callbacks.RETRY_AFTER)
        await query.answer(actor.t("callback.unreachable_recorded", limit=again), show_alert=True)
        return
    decision = callbacks.called_back(
        case,
        satisfied=outcome == "ok",
        score=None,
        channel="phone",
        facts=await facts(svc, case),
    )
    after = await steps.apply(svc, case, decision, actor)
    if after is None:
        await query.answer(actor.t("callback.already_answered"), show_alert=True)
        return
    await query.answer(actor.t("case.step_done"))
    await edit(query.message, card(actor.locale, after), later=services(context))
    await svc.deliver()


async def resident_comment(
    update: Update, context: Context, waiting: dict[str, Any] | None
) -> bool:
    """B-3: the resident's further opinion after a callback (a reply to the question
    ``waiting`` names): recorded with the case and passed to customer service. True when the
    message was such a comment."""
    message = update.effective_message
    if waiting is None or message is None or context.user_data is None:
        return False
    actor = await who(update, context)
    if actor is None:
        return False
    svc = services(context)
    case = await svc.cases.get(int(waiting["case"]))
    context.user_data.pop("comment_case", None)
    if case is None or case.resident_id != actor.person.id:
        return True
    text = (message.text or "").strip()[:MAX_COMMENT]
    if text:
        await steps.apply(svc, case, callbacks.comment(case, text), actor)
    await reply(update, context, actor.t("callback.comment_thanks"))
    await svc.deliver()
    return True


def handlers() -> list[AnyHandler]:
    """The callback buttons."""
    return [CallbackQueryHandler(on_callback, pattern=r"^cb:")]
