"""After filing: a complaint's nature (C-4..C-7), an important complaint's extension (C-12),
and the callback (B-1..B-4, C-14) — asked of the resident in chat, or phoned by the assistant
when no answer comes in time. Every press is re-checked against the database.

Button data: ``cx:sev:<case>:<severity>``, ``cx:inv:<case>:<reason>``, ``cx:ext:<case>``;
``cb:ok:<case>``, ``cb:no:<case>``, ``cb:s:<case>:<1-5>``, ``cb:call:<case>:<ok|bad|none>``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import CallbackQuery, ForceReply, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, MessageHandler, filters

from bot.engine import Engine, engine
from handlers.cases import case_button
from handlers.common import Actor, AnyHandler, Context, edit, parse_id, reply, services, who
from procedures.cases import INVALID_REASONS, UNSATISFIED_AT_MOST, Kind, Severity, Status
from procedures.permissions import Act, may
from storage import audit, deadlines
from storage.cases import Case


async def on_complaint(update: Update, context: Context) -> None:
    """C-4 classification and C-12 extension buttons."""
    pressed = await case_button(update, context)
    if pressed is None:
        return
    query, actor, parts, case = pressed
    eng = engine(context)
    if case.kind != Kind.COMPLAINT:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    roles = actor.roles_in(case.estate_id)
    if parts[1] == "ext":
        # C-12: the role the clock's own rule names (the one its warning asked) extends it.
        rule = (await eng.rules(case.estate_id)).rule("C-12-important")
        if not may(Act.EXTEND, roles, rule=rule):
            role = actor.t(f"role.{rule.extension_by}") if rule.extension_by else "—"
            await query.answer(actor.t("complaint.only_extender", role=role), show_alert=True)
            return
        timer_id = parse_id(parts[3]) if len(parts) == 4 else None
        if timer_id is None or not await eng.extend(case, actor, timer_id):
            await query.answer(actor.t("case.already_moved"), show_alert=True)
            return
        await query.answer(actor.t("case.step_done"))
        await edit(query.message, actor.t("complaint.extended", number=case.number))
        return
    if not may(Act.CLASSIFY, roles):  # C-4: the project supervisor decides
        await query.answer(actor.t("complaint.only_supervisor"), show_alert=True)
        return
    value = parts[3] if len(parts) == 4 else ""
    if case.severity is not None:
        after = None
    elif parts[1] == "sev" and value in {Severity.MINOR, Severity.IMPORTANT, Severity.MAJOR}:
        after = await eng.classify(case, value, actor)
    elif parts[1] == "inv" and value in INVALID_REASONS:
        after = await eng.invalidate(case, value, actor)
    else:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if after is None:
        await query.answer(actor.t("complaint.already_classified"), show_alert=True)
        fresh = await eng.cases.get(case.id)
        if fresh is not None:
            await edit(query.message, eng.card(actor.locale, fresh))
        return
    await query.answer(actor.t("case.step_done"))
    await edit(query.message, eng.card(actor.locale, after))
    await eng.deliver()


async def on_callback(update: Update, context: Context) -> None:
    """The resident's answers to the callback, and the assistant's phone callback record."""
    pressed = await case_button(update, context, {"ok", "no", "s", "call"})
    if pressed is None:
        return
    query, actor, parts, case = pressed
    eng = engine(context)
    if parts[1] == "call":
        await phone_callback(query, actor, case, eng, parts[3] if len(parts) == 4 else "")
        return
    if case.resident_id != actor.person.id:
        await query.answer(actor.t("callback.not_yours"), show_alert=True)
        return
    if case.status != Status.DONE:
        await query.answer(actor.t("callback.already_answered"), show_alert=True)
        await edit(query.message, actor.t("callback.already_answered"))
        return
    if parts[1] == "ok":  # B-3: done; now, how satisfied?
        await query.answer()
        await edit(
            query.message,
            actor.t("callback.ask_score", number=case.number),
            eng.score_keyboard(actor.locale, case),
        )
        return
    score = None
    if parts[1] == "s":
        raw = parse_id(parts[3]) if len(parts) == 4 else None
        if raw is None or not 1 <= raw <= 5:
            await query.answer(actor.t("common.stale_button"), show_alert=True)
            return
        score = raw
    satisfied = parts[1] == "s" and score is not None and score > UNSATISFIED_AT_MOST
    after = await eng.called_back(case, actor, satisfied=satisfied, score=score, channel="chat")
    if after is None:
        await query.answer(actor.t("callback.already_answered"), show_alert=True)
        return
    await query.answer()
    key = "callback.recorded_satisfied" if satisfied else "callback.recorded_unsatisfied"
    await edit(query.message, actor.t(key, number=case.number))
    await eng.deliver()
    # B-3: "any more opinions or suggestions?" — optional, as a reply to this question.
    try:
        prompt = await context.bot.send_message(
            actor.person.tg_user_id,
            actor.t("callback.anything_more", number=case.number),
            parse_mode="HTML",
            reply_markup=ForceReply(input_field_placeholder=actor.t("callback.placeholder")),
        )
    except TelegramError:
        return
    assert context.user_data is not None
    context.user_data["comment_case"] = {
        "case": case.id,
        "prompt": prompt.message_id,
        "at": services(context).clock.now().timestamp(),
    }


async def phone_callback(
    query: CallbackQuery, actor: Actor, case: Case, eng: Engine, outcome: str
) -> None:
    """B-2, B-4: the assistant phoned the resident and records what they said."""
    if not may(Act.RECORD_CALLBACK, actor.roles_in(case.estate_id)):
        await query.answer(actor.t("callback.only_assistants"), show_alert=True)
        return
    if outcome not in {"ok", "bad", "none"}:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if case.status != Status.DONE:
        await query.answer(actor.t("callback.already_answered"), show_alert=True)
        await edit(query.message, eng.card(actor.locale, case))
        return
    if outcome == "none":  # could not reach them: recorded; try again within a day (B-2)
        async with eng.identity.db.write() as conn:
            async with conn.execute("SELECT status FROM cases WHERE id = ?", (case.id,)) as cur:
                row = await cur.fetchone()
            if row is None or row["status"] != Status.DONE:
                await query.answer(actor.t("callback.already_answered"), show_alert=True)
                return
            await audit.append(
                conn, event="case.callback_unreachable", subject=f"case:{case.id}",
                actor=f"person:{actor.person.id}", actor_id=actor.person.id,
                estate_id=case.estate_id, data={},
            )  # fmt: skip
            rule = "C-14" if case.kind == Kind.COMPLAINT else "B-1"
            again = eng.clock.now() + timedelta(days=1)
            await deadlines.schedule(conn, case.id, rule, again, again - timedelta(hours=2))
        await query.answer(actor.t("callback.unreachable_recorded"), show_alert=True)
        return
    after = await eng.called_back(
        case, actor, satisfied=outcome == "ok", score=None, channel="phone"
    )
    if after is None:
        await query.answer(actor.t("callback.already_answered"), show_alert=True)
        return
    await query.answer(actor.t("case.step_done"))
    await edit(query.message, eng.card(actor.locale, after))
    await eng.deliver()


def handlers() -> list[AnyHandler]:
    """Complaint and callback buttons."""
    return [
        CallbackQueryHandler(on_complaint, pattern=r"^cx:"),
        CallbackQueryHandler(on_callback, pattern=r"^cb:"),
        *review_handlers(),
    ]


# --- complaint review (C-11, C-13) ----------------------------------------------------------


async def on_review(update: Update, context: Context) -> None:
    """``op:w`` (write the opinion), ``op:ok`` (approve the reply), ``op:no`` (send back)."""
    pressed = await case_button(update, context, {"w", "ok", "no"})
    if pressed is None or context.user_data is None:
        return
    query, actor, parts, case = pressed
    eng = engine(context)
    roles = actor.roles_in(case.estate_id)
    if parts[1] == "w":
        if not may(Act.WRITE_OPINION, roles):  # C-11: the customer-centre supervisor
            await query.answer(actor.t("review.only_supervisor"), show_alert=True)
            return
        if case.status != Status.REVIEW:
            await query.answer(actor.t("case.already_moved"), show_alert=True)
            return
        try:
            prompt = await context.bot.send_message(
                actor.person.tg_user_id,
                actor.t("review.write_now", number=case.number),
                parse_mode="HTML",
                reply_markup=ForceReply(input_field_placeholder=actor.t("review.placeholder")),
            )
        except TelegramError:
            await query.answer(actor.t("review.open_private_chat"), show_alert=True)
            return
        # Only a reply to this prompt, within the hour, is taken as the opinion.
        context.user_data["opinion_case"] = {
            "case": case.id,
            "prompt": prompt.message_id,
            "at": services(context).clock.now().timestamp(),
        }
        await query.answer(actor.t("review.see_private_chat"))
        return
        await query.answer(actor.t("review.see_private_chat"))
        return
    version = parts[3] if len(parts) == 4 else ""
    approvers = {p.id for p in await eng.approvers(case, case.opinion_by)}
    if actor.person.id not in approvers:  # C-13: the approver signs, never an admin as such
        await query.answer(actor.t("review.only_approver"), show_alert=True)
        return
    if actor.person.id == case.opinion_by:
        await query.answer(actor.t("review.not_own_opinion"), show_alert=True)
        return
    step = eng.approve if parts[1] == "ok" else eng.reject_opinion
    after = await step(case, actor, version)
    if after is None:
        await query.answer(actor.t("case.already_moved"), show_alert=True)
        return
    await query.answer(actor.t("case.step_done"))
    key = "review.approved" if parts[1] == "ok" else "review.sent_back"
    await edit(query.message, actor.t(key, number=case.number))
    await eng.deliver()


def awaited(context: Context, key: str, update: Update) -> dict[str, Any] | None:
    """The prompt this private message answers (``opinion_case`` or ``comment_case``), if
    it is a reply to that prompt within the hour; an expired prompt is forgotten."""
    waiting = (context.user_data or {}).get(key)
    message = update.effective_message
    if not isinstance(waiting, dict) or message is None or not message.text:
        return None
    if services(context).clock.now().timestamp() - float(waiting.get("at", 0)) > OPINION_SECONDS:
        assert context.user_data is not None
        context.user_data.pop(key, None)
        return None
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    return waiting if replied == waiting.get("prompt") else None


async def resident_comment(update: Update, context: Context) -> bool:
    """B-3: the resident's further opinion after a callback: recorded with the case and
    passed to customer service. True when the message was such a comment."""
    waiting = awaited(context, "comment_case", update)
    message = update.effective_message
    if waiting is None or message is None or context.user_data is None:
        return False
    actor = await who(update, context)
    if actor is None:
        return False
    eng = engine(context)
    case = await eng.cases.get(int(waiting["case"]))
    context.user_data.pop("comment_case", None)
    if case is None or case.resident_id != actor.person.id:
        return True
    await eng.add_comment(case, actor, (message.text or "").strip()[:MAX_OPINION])
    await reply(update, context, actor.t("callback.comment_thanks"))
    await eng.deliver()
    return True


async def opinion_text(update: Update, context: Context) -> None:
    """The supervisor's next private message after ``op:w`` is the handling opinion (C-11).

    Runs in an early handler group: it acts only when an opinion is awaited, and then stops
    the update from reaching the other handlers.
    """
    if await resident_comment(update, context):
        from bot.app import flush_persistence

        await flush_persistence(update, context)
        raise ApplicationHandlerStop
    waiting = awaited(context, "opinion_case", update)
    message = update.effective_message
    if waiting is None or message is None:
        return  # not an answer to a prompt: the message goes its usual way
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return
    eng = engine(context)
    case = await eng.cases.get(int(waiting["case"]))
    text = (message.text or "").strip()[:MAX_OPINION]
    if case is None or len(text) < 4:
        await reply(update, context, actor.t("review.too_short"))
    elif not may(Act.WRITE_OPINION, actor.roles_in(case.estate_id)):
        await reply(update, context, actor.t("review.only_supervisor"))
    else:
        context.user_data.pop("opinion_case", None)
        after = await eng.write_opinion(case, text, actor)
        await reply(
            update,
            context,
            actor.t("review.opinion_saved" if after else "case.already_moved", number=case.number),
        )
        await eng.deliver()
    from bot.app import flush_persistence

    await flush_persistence(update, context)
    raise ApplicationHandlerStop


#: Longest handling opinion kept (it is sent to the resident in one message).
MAX_OPINION = 2000
#: How long the prompt for an opinion waits for its answer.
OPINION_SECONDS = 3600


def review_handlers() -> list[AnyHandler]:
    """The review buttons (group 0)."""
    return [CallbackQueryHandler(on_review, pattern=r"^op:")]


def opinion_text_handler() -> AnyHandler:
    """Private text while an opinion is awaited (an early group: see :func:`opinion_text`)."""
    return MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
        opinion_text,
    )
