"""Complaints (P7) in chat: the nature (C-4..C-7) and its later raising or lowering, one
event with many complainants (C-5), an important complaint's extension (C-12), a major
one's clear answer (C-12), and the review in the manual's order (C-11: the supervisor's
opinion to the department, its feedback, the assistant's draft; C-13: the approval; V-5:
the reply phoned to a caller). Every press is re-checked against the database;
procedures.complaints decides.

Button data: ``cp:sev:<case>:<severity>``, ``cp:inv:<case>:<reason>``,
``cp:up|down:<case>:<severity>``, ``cp:ext:<case>:<timer>``, ``cp:link:<case>``,
``cp:lk:<case>:<other>``, ``cp:op|dr|ans|dv:<case>``, ``cp:ok|no:<case>:<version>``.
Buttons of earlier versions (``cx:…``, ``op:…``, ``cs:link|lk:…``) are still answered
(handlers.cards).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Update
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, MessageHandler, filters

from handlers import callbacks, limits, steps
from handlers.cards import (
    approval_keyboard,
    classification_keyboard,
    first_responder_keyboard,
)
from handlers.common import (
    Actor,
    AnyHandler,
    Context,
    Services,
    awaited_reply,
    button,
    edit,
    flush_persistence,
    keyboard,
    parse_id,
    prompt_reply,
    questions,
    reply,
    services,
    who,
)
from handlers.requests import card_now, case_button, staff_card
from handlers.steps import facts
from procedures import complaints
from procedures.cases import INVALID_REASONS, OPEN_STATUSES, Case, Kind, Severity, Status
from procedures.decisions import Decision
from procedures.permissions import Act, may
from procedures.rule_ids import RuleId
from storage.cases import link_event


async def on_complaint(update: Update, context: Context) -> None:
    """C-4 classification (``cp:sev``, ``cp:inv``), raising and lowering it later (``cp:up``,
    ``cp:down``: the reason is asked) and C-12 extension (``cp:ext``)."""
    pressed = await case_button(update, context, {"sev", "inv", "ext", "up", "down"})
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
        now = svc.clock.now()
        extended = (
            timer_id is not None
            and case.status in OPEN_STATUSES
            and await svc.cases.extend(
                case.id,
                timer_id,
                RuleId.C12_IMPORTANT,
                lambda due: complaints.extended(
                    rules, due, steps.by(actor), str(rule.extension_by), now
                ),
                by=actor.person.id,
                actor=steps.signed(actor),
            )
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
    if parts[1] in ("up", "down"):
        await change_severity(query, actor, context, case, parts[1], value)
        return
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
            await show_classification(query, actor, context, fresh)
        return
    await query.answer(actor.t("case.step_done"))
    await show_classification(query, actor, context, after)
    await svc.deliver()


async def show_classification(
    query: CallbackQuery, actor: Actor, context: Context, case: Case
) -> None:
    """The classification card as the complaint is now, with the steps still open to the
    supervisor (classify, or raise and lower)."""
    text = await card_now(context, query, actor.locale, case)
    markup = classification_keyboard(actor.locale, case)
    await edit(query.message, text, markup, later=services(context))


async def change_severity(
    query: CallbackQuery, actor: Actor, context: Context, case: Case, way: str, severity: str
) -> None:
    """C-4..C-7 later: raised at once; lowered only with a written reason, asked for in the
    supervisor's private chat (a plain message there is the answer)."""
    svc = services(context)
    known = severity in complaints.ORDER and case.severity in complaints.ORDER
    if not known or case.status not in OPEN_STATUSES:
        await query.answer(actor.t("case.already_moved"), show_alert=True)
        return
    if way == "up":
        decision = complaints.reclassify(case, severity, steps.by(actor), await facts(svc, case))
        after = await steps.apply(svc, case, decision, actor) if decision else None
        if after is None:
            await query.answer(actor.t("case.already_moved"), show_alert=True)
            return
        await query.answer(actor.t("case.step_done"))
        await show_classification(query, actor, context, after)
        await svc.deliver()
        return
    shown = actor.t(f"severity.{severity}")
    asked = await prompt_reply(
        context, actor, case.id, "lower_case",
        actor.t(PROMPTS["lower_case"].question, number=case.number, severity=shown),
        actor.t(PROMPTS["lower_case"].placeholder),
    )  # fmt: skip
    if not asked:
        await query.answer(actor.t("review.open_private_chat"), show_alert=True)
        return
    assert context.user_data is not None
    context.user_data["lower_case"]["severity"] = severity
    await query.answer(private_or_not(query, actor))


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


# --- review (C-11, C-13) and the clear answer (C-12) -----------------------------------------


@dataclass(frozen=True)
class Prompt:
    """A text asked for in a private chat: the act it needs (and what those who may not are
    told), the question's and its placeholder's text keys, and what is said once it is kept.
    The next private text message (a reply to the question, or a plain message) is the
    answer (:func:`prompted_text`)."""

    act: Act
    refused: str
    question: str
    placeholder: str
    saved: str


#: The prompts, by the key their question is remembered under.
PROMPTS: dict[str, Prompt] = {
    "opinion_case": Prompt(
        Act.WRITE_OPINION, "review.only_supervisor", "review.write_now", "review.placeholder",
        "review.opinion_saved",
    ),
    "draft_case": Prompt(
        Act.DRAFT_REPLY, "review.only_assistant", "review.draft_now",
        "review.draft_placeholder", "review.draft_saved",
    ),
    "answer_case": Prompt(
        Act.CLEAR_ANSWER, "complaint.only_answerer", "complaint.answer_now",
        "complaint.answer_placeholder", "complaint.answer_sent",
    ),
    "lower_case": Prompt(
        Act.CLASSIFY, "complaint.only_supervisor", "complaint.lower_why",
        "complaint.lower_placeholder", "complaint.lowered_saved",
    ),
}  # fmt: skip
#: The button verb that asks for each.
ASKED_BY = {"op": "opinion_case", "dr": "draft_case", "ans": "answer_case"}


async def on_review(update: Update, context: Context) -> None:
    """``cp:op`` (write the opinion), ``cp:dr`` (draft the reply), ``cp:ans`` (a major
    complaint's clear answer): the text is asked in the private chat; ``cp:ok`` (approve
    the reply), ``cp:no`` (send it back), ``cp:dv`` (the approved reply phoned)."""
    pressed = await case_button(update, context, {"op", "dr", "ans", "ok", "no", "dv"})
    if pressed is None or context.user_data is None:
        return
    query, actor, parts, case = pressed
    svc = services(context)
    roles = actor.roles_in(case.estate_id)
    if parts[1] in ASKED_BY:
        key = ASKED_BY[parts[1]]
        prompt = PROMPTS[key]
        if not may(prompt.act, roles):
            await query.answer(actor.t(prompt.refused), show_alert=True)
            return
        stale = still_asked(case, key)
        if stale is not None:
            await query.answer(actor.t(stale, number=case.number), show_alert=True)
            await edit(query.message, await card_now(context, query, actor.locale, case), later=svc)
            return
        asked = await prompt_reply(
            context, actor, case.id, key, actor.t(prompt.question, number=case.number),
            actor.t(prompt.placeholder),
        )  # fmt: skip
        if not asked:
            await query.answer(actor.t("review.open_private_chat"), show_alert=True)
            return
        await query.answer(private_or_not(query, actor))
        return
    if parts[1] == "dv":
        if not may(Act.DRAFT_REPLY, roles):
            await query.answer(actor.t("review.only_assistant"), show_alert=True)
            return
        decision = complaints.deliver(case, steps.by(actor), await facts(svc, case))
        after = await steps.apply(svc, case, decision, actor) if decision else None
        if after is None:
            await query.answer(actor.t("case.already_moved"), show_alert=True)
            return
        await query.answer(actor.t("case.step_done"))
        await edit(query.message, actor.t("review.delivered", number=case.number), later=svc)
        await svc.deliver()
        return
    version = parts[3] if len(parts) == 4 else ""
    approvers = {p.id for p in await svc.notifier.approvers(case, case.reply_by)}
    if actor.person.id not in approvers:  # C-13: the approver signs, never an admin as such
        await query.answer(actor.t("review.only_approver"), show_alert=True)
        return
    if actor.person.id == case.reply_by:
        await query.answer(actor.t("review.not_own_opinion"), show_alert=True)
        return
    rules = await svc.rules(case.estate_id)
    role = complaints.approver_role(roles, rules) or ""  # the role they sign in (C-13)
    decision = (
        complaints.approve(case, version, steps.by(actor), role, await facts(svc, case))
        if parts[1] == "ok"
        else complaints.reject(case, version, steps.by(actor), role)
    )
    after = await steps.apply(svc, case, decision, actor) if decision else None
    if after is None:  # another version of the draft, or someone acted first: show it now
        await query.answer(actor.t("case.already_moved"), show_alert=True)
        fresh = await svc.cases.get(case.id)
        if fresh is not None:
            await edit(
                query.message,
                await card_now(context, query, actor.locale, fresh),
                approval_keyboard(actor.locale, fresh),
            )
        return
    await query.answer(actor.t("case.step_done"))
    if parts[1] == "ok":
        key = "review.approved" if after.resident_id else "review.approved_phone"
    else:
        key = "review.sent_back"
    await edit(query.message, actor.t(key, number=case.number), later=services(context))
    await svc.deliver()


def private_or_not(query: CallbackQuery, actor: Actor) -> str | None:
    """The toast after a question was asked: where to answer it, when the button was not
    pressed in the private chat it went to (nothing to say there: the question is below)."""
    chat = query.message.chat if query.message is not None else None
    return (
        None if chat is not None and chat.type == "private" else actor.t("review.see_private_chat")
    )


def still_asked(case: Case, key: str) -> str | None:
    """Why a text can no longer be asked for (a text key), or None while it can: the
    opinion until it is written and the department has fed back (C-11); the draft while
    the complaint waits for one and is classified (C-4, C-11); the clear answer while a
    major complaint has none (C-12)."""
    if case.status not in OPEN_STATUSES:
        return "case.already_moved"
    if key == "opinion_case":
        if case.opinion:
            return "review.already_written"
        return "case.already_moved" if case.status == Status.REVIEW else None
    if key == "draft_case":
        if case.status != Status.REVIEW:
            return "case.already_moved"
        if case.reply_draft:
            return "review.draft_waiting"
        return "review.classify_first" if case.severity is None else None
    major = case.severity == Severity.MAJOR and case.answered_at is None
    return "case.already_moved" if key == "answer_case" and not major else None


async def prompted_text(update: Update, context: Context) -> None:
    """The next private text after a prompt is its answer: the supervisor's handling
    opinion (C-11), the assistant's draft reply (C-11) or a major complaint's clear answer
    (C-12), the supervisor's reason for lowering a complaint (C-4); a resident's reply to
    "anything more?" is their comment (B-3). A plain message is the answer, as is a reply
    to the question.

    Runs in an early handler group: it acts only when an answer is awaited, and then stops
    the update from reaching the other handlers.
    """
    comment = await awaited_reply(context, "comment_case", update, OPINION_SECONDS)
    if await callbacks.resident_comment(update, context, comment):
        await flush_persistence(update, context)
        raise ApplicationHandlerStop
    message = update.effective_message
    waiting, key = None, ""
    for key in PROMPTS:
        waiting = await awaited_reply(context, key, update, OPINION_SECONDS)
        if waiting is not None:
            break
    if waiting is None or message is None:
        return  # not an answer to a prompt: the message goes its usual way
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return
    svc = services(context)
    case = await svc.cases.get(int(waiting["case"]))
    text = (message.text or "").strip()[:MAX_OPINION]
    prompt = PROMPTS[key]
    if case is None or len(text) < 4:
        await reply(update, context, actor.t("review.too_short"))
    elif not may(prompt.act, actor.roles_in(case.estate_id)):
        await reply(update, context, actor.t(prompt.refused))
    else:
        context.user_data.pop(key, None)
        decision = await written(svc, case, key, text, actor, waiting)
        after = await steps.apply(svc, case, decision, actor) if decision else None
        said = prompt.saved if after else (still_asked(case, key) or "case.already_moved")
        await reply(update, context, actor.t(said, number=case.number))
        await svc.deliver()
    await flush_persistence(update, context)
    raise ApplicationHandlerStop


async def written(
    svc: Services, case: Case, key: str, text: str, actor: Actor, waiting: dict[str, Any]
) -> Decision | None:
    """The step a text answers (None when it no longer applies)."""
    by = steps.by(actor)
    if key == "opinion_case":
        return complaints.write_opinion(case, text, by)
    if key == "draft_case":
        return complaints.draft(case, text, by)
    if key == "answer_case":
        return complaints.clear_answer(case, text, by, await facts(svc, case))
    severity = str(waiting.get("severity", ""))
    return complaints.reclassify(case, severity, by, await facts(svc, case), reason=text)


#: Longest text kept from a prompt (a reply is sent to the resident in one message).
MAX_OPINION = 2000
#: How long a prompt waits for its answer.
OPINION_SECONDS = 3600


def handlers() -> list[AnyHandler]:
    """The complaint buttons (today's and an earlier version's)."""
    return [
        CallbackQueryHandler(on_complaint, pattern=r"^cp:(sev|inv|ext|up|down):"),
        CallbackQueryHandler(on_link, pattern=r"^cp:(link|lk):"),
        CallbackQueryHandler(on_review, pattern=r"^cp:(op|dr|ans|ok|no|dv):"),
        CallbackQueryHandler(on_complaint, pattern=r"^cx:"),
        CallbackQueryHandler(on_link, pattern=r"^cs:(link|lk):"),
        CallbackQueryHandler(on_review, pattern=r"^op:"),
    ]


async def questions_dropped(update: Update, context: Context) -> None:
    """A command in the private chat starts something else: the questions awaiting a text
    there no longer take the next plain message, which goes to that (a resident who files
    a complaint after being asked "anything more?" describes the complaint, not a
    comment). A question asked with its own message (:func:`prompt_reply`) still takes a
    reply to that message, within its time, as people answer a question by replying to it
    (``plain`` False: :func:`awaited_reply`); any other is dropped. Staff are told which of
    their questions was put aside and how to answer it still. /cancel drops them itself
    and says so. The command goes on to its own handler."""
    message = update.effective_message
    if context.user_data is None or message is None or not message.text:
        return
    if message.text.split()[0].split("@")[0].lower() == "/cancel":
        return
    for key in questions(context):
        waiting = context.user_data.get(key)
        if isinstance(waiting, dict) and ("outbox" in waiting or "prompt" in waiting):
            waiting["plain"] = False  # a reply to the question still answers it
        else:
            context.user_data.pop(key, None)
        if key not in PROMPTS or not isinstance(waiting, dict):
            continue
        actor = await who(update, context)
        case = await services(context).cases.get(int(waiting.get("case", 0)))
        if actor is not None and case is not None:
            await reply(update, context, actor.t("review.dropped", number=case.number))


def questions_dropped_handler() -> AnyHandler:
    """Private commands drop the questions awaiting a text (see :func:`questions_dropped`);
    in its own early group, so the command still reaches its handler."""
    return MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.COMMAND,
        questions_dropped,
    )


def opinion_text_handler() -> AnyHandler:
    """Private text while a prompt's answer or a comment is awaited (an early group: see
    :func:`prompted_text`)."""
    return MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
        prompted_text,
    )
