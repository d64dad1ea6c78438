"""Callbacks (P8, B-1..B-5, C-14) in chat: the resident is asked whether it was solved and
how satisfied they are (then, optionally, for any further opinion), in the name of the
customer assistant responsible (B-2), whose private chat gets the answers; or that
assistant phones them when no answer comes in time (or the caller has no bot, V-5) and
records the call as fully as a chat answer (B-4). ``/callback`` opens a callback of staff's
own (B-1: after helping a resident in trouble, after a large community event). Every press
is re-checked against the database; procedures.callbacks decides.

The phone callback (B-2, B-4), from the task's buttons: 📞 solved / 📞 not solved (or 📵
unreachable, tried again within a day) → the resident's satisfaction, 1–5 → the notes of
what was said: the assistant's next private message, or "no notes".

``/callback`` (a persistent conversation in a private chat, customer-service staff only,
re-checked when the callbacks are opened): estate (buttons, only for someone who serves
several) → after helping a resident, or after an event → what it was → who: a unit or a
phone number (after an event, several, separated by commas or lines) → one callback case
each (kind ``callback``, ``HF-…``), asked in chat or phoned like any other, with B-1's clock.

Button data: ``cb:ok:<case>``, ``cb:no:<case>``, ``cb:s:<case>:<1-5>``,
``cb:call:<case>:<ok|bad|none>``, ``cb:ps:<case>:<1|0 solved>:<1-5>``, ``cb:pn:<case>``,
``hf:est:<estate>``, ``hf:k:<help|event>``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers import limits, steps
from handlers.cards import card, score_keyboard
from handlers.common import (
    TAP_HINT,
    Actor,
    AnyHandler,
    Context,
    Services,
    button,
    canceller,
    edit,
    flush_persistence,
    in_rows,
    keep_answered,
    keyboard,
    newest_question,
    parse_id,
    persistent_flow,
    prompt_reply,
    reply,
    services,
    who,
    with_hint,
)
from handlers.records import (
    OTHER,
    TEXT,
    Step,
    draft_of,
    estate_buttons,
    estate_chooser,
    estate_name,
    expected_step,
    may_record,
    private_only,
    recorder_estates,
    stale,
    starter,
)
from handlers.requests import case_button
from handlers.steps import facts
from procedures import callbacks
from procedures.callback_answers import understood
from procedures.cases import Case, Kind, Status, clean_description
from procedures.decisions import Decision, Facts
from procedures.permissions import Act, may
from procedures.phone import normalise_caller_phone
from storage import callbacks as callback_store
from storage.cases import NewCase

log = logging.getLogger(__name__)

#: Longest further opinion kept (it is passed to the assistant in one message).
MAX_COMMENT = 2000
#: How long the assistant's next private message is taken as a phone callback's notes.
NOTES_SECONDS = 1800
#: Where the phone callback waiting for its notes is kept in the assistant's user_data.
NOTES = "callback_notes"
#: Where the case whose stars were just asked is kept in the resident's user_data.
SCORE_ASKED = "callback_score"


async def on_callback(update: Update, context: Context) -> None:
    """The resident's answers to the callback, and the assistant's phone callback record."""
    pressed = await case_button(update, context, {"ok", "no", "s", "call", "ps", "pn"})
    if pressed is None:
        return
    query, actor, parts, case = pressed
    if parts[1] == "call":
        outcome = parts[3] if len(parts) == 4 else ""
        await phone_callback(update, query, actor, case, context, outcome)
        return
    if parts[1] == "ps":
        await phone_score(query, actor, case, context, parts[3:])
        return
    if parts[1] == "pn":
        await phone_no_notes(query, actor, case, context)
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
        await ask_score(update, context, actor, case)
        return
    score = None
    if parts[1] == "s":
        raw = parse_id(parts[3]) if len(parts) == 4 else None
        if raw is None or not 1 <= raw <= 5:
            await query.answer(actor.t("common.stale_button"), show_alert=True)
            return
        score = raw
    if not await resident_answered(update, context, actor, case, score, query):
        await query.answer(actor.t("callback.already_answered"), show_alert=True)


async def ask_score(update: Update, context: Context, actor: Actor, case: Case) -> None:
    """B-3: the resident said it is done; now, how satisfied, 1–5 stars?"""
    if context.user_data is not None:  # text meanwhile is pointed to the stars
        context.user_data[SCORE_ASKED] = case.id
    await reply(
        update,
        context,
        actor.t("callback.ask_score", number=case.number),
        score_keyboard(actor.locale, case),
    )


async def resident_answered(
    update: Update,
    context: Context,
    actor: Actor,
    case: Case,
    score: int | None,
    query: CallbackQuery | None = None,
) -> bool:
    """B-3, B-4: the resident's answer recorded: stars (solved, and that satisfied) or not
    solved (``score`` None), pressed (``query``) or typed; they are told, then asked for any
    further opinion. False when the callback was recorded already."""
    svc = services(context)
    if context.user_data is not None:
        context.user_data.pop(SCORE_ASKED, None)
    satisfied = score is not None and callbacks.satisfied(score)
    decision = callbacks.called_back(
        case,
        satisfied=satisfied,
        score=score,
        channel="chat",
        facts=await facts(svc, case),
        solved=score is not None,  # stars are given once the resident said it is solved
    )
    # B-2: asked in the name of the assistant responsible: theirs is the callback.
    responsible = await callback_store.responsible(svc.db, case)
    if await record(svc, case, decision, actor, called_back_by=responsible) is None:
        return False
    key = "callback.recorded_satisfied" if satisfied else "callback.recorded_unsatisfied"
    told = actor.t(key, number=case.number)
    if query is None:  # typed: the answer as understood, for the resident to see
        await reply(update, context, told + (f"\n\n» {'⭐' * score}" if score else ""))
    elif score is not None:  # the score question is ours: it becomes the record of the answer
        await query.answer()
        await edit(query.message, told + f"\n\n» {'⭐' * score}", later=services(context))
    else:  # "not solved" / "dispute" on the question or the reply: that message stays
        await query.answer()
        await keep_answered(query)
        await reply(update, context, told)
    await svc.deliver()
    # B-3: "any more opinions or suggestions?" — optional, as a reply to this question.
    await prompt_reply(
        context, actor, case.id, "comment_case",
        actor.t("callback.anything_more", number=case.number), actor.t("callback.placeholder"),
    )  # fmt: skip
    return True


async def typed_answer(update: Update, context: Context, actor: Actor, case: Case) -> bool:
    """B-3 typed instead of tapped, while ``case``'s callback waits for the resident: a
    plain answer (procedures.callback_answers) does what its button does. At "did we get it
    done?" (or a complaint's reply: confirm / dispute), solved asks for the stars, not
    solved is recorded, and a score is solved with that score; at the stars, a score or not
    solved is recorded. False when the text is no answer there (the caller hints the
    buttons)."""
    message = update.effective_message
    answer = understood(message.text or "") if message is not None else None
    if answer is None or case.resident_id != actor.person.id or case.status != Status.DONE:
        return False
    stars_asked = (context.user_data or {}).get(SCORE_ASKED) == case.id
    if answer.score is not None or answer.solved is False:
        recorded = await resident_answered(update, context, actor, case, answer.score)
        if not recorded:
            await reply(update, context, actor.t("callback.already_answered"))
        return True
    if stars_asked:  # "solved" again where the stars are asked: the stars are the answer
        return False
    await ask_score(update, context, actor, case)
    return True


async def record(
    svc: Services, case: Case, decision: Decision, actor: Actor, *, called_back_by: int | None
) -> Case | None:
    """B-4: a callback's decision applied with who called back, in one unit of work (None:
    it was recorded already)."""
    return await callback_store.record(
        svc.db,
        case.id,
        decision,
        by=actor.person.id,
        actor=steps.signed(actor),
        called_back_by=called_back_by,
        rules=await svc.rules(case.estate_id),
        render=svc.notifier,
    )


# --- the phone callback (B-2, B-4) -------------------------------------------------------------


async def may_phone(query: CallbackQuery, actor: Actor, case: Case, context: Context) -> bool:
    """Whether ``actor`` may record this phone callback now (a customer assistant or the
    supervisor of the case's estate, the callback still open); else they are told why."""
    if not may(Act.RECORD_CALLBACK, actor.roles_in(case.estate_id)):
        await query.answer(actor.t("callback.only_assistants"), show_alert=True)
        return False
    if case.status != Status.DONE:
        await query.answer(actor.t("callback.already_answered"), show_alert=True)
        await edit(query.message, card(actor.locale, case), later=services(context))
        return False
    return True


def phone_score_keyboard(case: Case, solved: bool) -> InlineKeyboardMarkup:
    """B-3, B-4: the resident's satisfaction as they said it on the phone, 1–5."""
    flag = int(solved)
    stars = [button("⭐" * n, f"cb:ps:{case.id}:{flag}:{n}") for n in range(1, 6)]
    return keyboard([stars[:3], stars[3:]])


async def phone_callback(
    update: Update,
    query: CallbackQuery,
    actor: Actor,
    case: Case,
    context: Context,
    outcome: str,
) -> None:
    """B-2, B-4: the assistant phoned the resident: solved or not (then the score and the
    notes), or could not reach them (recorded; tried again within a day)."""
    svc = services(context)
    if outcome not in {"ok", "bad", "none"}:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if not await may_phone(query, actor, case, context):
        return
    if outcome == "none":  # could not reach them: recorded; try again within a day (B-2)
        decision = callbacks.unreachable(case, await facts(svc, case))
        if await steps.apply(svc, case, decision, actor) is None:
            await query.answer(actor.t("callback.already_answered"), show_alert=True)
            return
        again = limits.elapsed(actor.locale, callbacks.RETRY_AFTER)
        await query.answer(actor.t("callback.unreachable_recorded", limit=again), show_alert=True)
        return
    await query.answer()
    solved = outcome == "ok"
    said = actor.t("callback.said_solved" if solved else "callback.said_unsolved")
    await reply(
        update,
        context,
        actor.t("callback.phone_ask_score", number=case.number, solved=said),
        phone_score_keyboard(case, solved),
    )


async def phone_score(
    query: CallbackQuery, actor: Actor, case: Case, context: Context, values: list[str]
) -> None:
    """B-4: the score the resident gave on the phone: kept, and the notes asked for (the
    assistant's next private message, or "no notes")."""
    solved = values[0] if values else ""
    score = parse_id(values[1]) if len(values) == 2 else None
    if solved not in {"0", "1"} or score is None or not 1 <= score <= 5:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if not await may_phone(query, actor, case, context) or context.user_data is None:
        return
    await query.answer()
    now = services(context).clock.now().timestamp()
    context.user_data[NOTES] = {"case": case.id, "solved": solved == "1", "score": score, "at": now}
    said = actor.t("callback.said_solved" if solved == "1" else "callback.said_unsolved")
    await edit(
        query.message,
        actor.t("callback.phone_ask_notes", number=case.number, solved=said, stars="⭐" * score),
        keyboard([[button(actor.t("callback.btn_no_notes"), f"cb:pn:{case.id}")]]),
        later=services(context),
    )


async def phone_no_notes(query: CallbackQuery, actor: Actor, case: Case, context: Context) -> None:
    """The phone callback with nothing more to note: recorded as it is."""
    waiting = (context.user_data or {}).get(NOTES)
    if not isinstance(waiting, dict) or waiting.get("case") != case.id:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if not await may_phone(query, actor, case, context):
        return
    await query.answer()
    text = await phone_recorded(context, actor, case, waiting, None)
    await edit(query.message, text, later=services(context))


async def phone_recorded(
    context: Context, actor: Actor, case: Case, waiting: dict[str, Any], note: str | None
) -> str:
    """B-2, B-4: the phone callback recorded (solved, score, notes, who and when); what
    the assistant is told."""
    svc = services(context)
    if context.user_data is not None:
        context.user_data.pop(NOTES, None)
    solved, score = bool(waiting["solved"]), int(waiting["score"])
    decision = callbacks.phone_recorded(
        case,
        solved=solved,
        score=score,
        note=note,
        by=steps.by(actor),
        facts=await facts(svc, case),
    )
    after = await record(svc, case, decision, actor, called_back_by=actor.person.id)
    if after is None:
        return actor.t("callback.already_answered")
    await svc.deliver()
    log.info("phone callback of %s recorded by person %s", case.number, actor.person.id)
    said = actor.t("callback.said_solved" if solved else "callback.said_unsolved")
    key = "callback.phone_recorded" if after.status == Status.CLOSED else "callback.phone_reopened"
    return actor.t(key, number=case.number, solved=said, stars="⭐" * score)


async def phone_notes(update: Update, context: Context) -> None:
    """The assistant's next private message after a phone callback's score: its notes.

    Runs in an early handler group: it acts only while notes are awaited, and then stops
    the update from reaching the other handlers."""
    waiting = (context.user_data or {}).get(NOTES)
    message = update.effective_message
    if not isinstance(waiting, dict) or message is None or not message.text:
        return
    svc = services(context)
    if svc.clock.now().timestamp() - float(waiting.get("at", 0)) > NOTES_SECONDS:
        if context.user_data is not None:
            context.user_data.pop(NOTES, None)
        return  # forgotten: the message goes its usual way
    if newest_question(context) is not waiting:
        return  # asked for something else since: that question takes the message
    actor = await who(update, context)
    if actor is None:
        return
    case = await svc.cases.get(int(waiting["case"]))
    if case is None or not may(Act.RECORD_CALLBACK, actor.roles_in(case.estate_id)):
        if context.user_data is not None:
            context.user_data.pop(NOTES, None)
        await reply(update, context, actor.t("callback.only_assistants"))
    elif case.status != Status.DONE:
        if context.user_data is not None:
            context.user_data.pop(NOTES, None)
        await reply(update, context, actor.t("callback.already_answered"))
    else:
        text = await phone_recorded(context, actor, case, waiting, message.text)
        await reply(update, context, text)
    await flush_persistence(update, context)
    raise ApplicationHandlerStop


async def resident_comment(
    update: Update, context: Context, waiting: dict[str, Any] | None
) -> bool:
    """B-3: the resident's further opinion after a callback (a reply to the question
    ``waiting`` names): recorded with the case and passed to the assistant responsible.
    True when the message was such a comment."""
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


# --- /callback: callbacks opened by staff (B-1) -------------------------------------------------


class OpenStep(IntEnum):
    """Where a staff member is in opening a callback of their own (B-1)."""

    ESTATE = 1
    KIND = 2
    WHAT = 3
    WHO = 4


#: Most residents one event's callback is opened for at once.
MAX_RESIDENTS = 50
#: Between the residents typed: commas, semicolons, enumeration commas, lines.
_SEPARATORS = re.compile(r"[,，、;；\n]+")


async def ask_open(
    update: Update, context: Context, actor: Actor, step: OpenStep, hint: str = ""
) -> int:
    """Ask the question of ``step`` (after ``hint``, when bad input came), with its buttons."""
    draft = draft_of(context, "callback")
    markup: InlineKeyboardMarkup | None = None
    if step == OpenStep.ESTATE:
        text = actor.t("callback.open_ask_estate")
        markup = estate_buttons(await recorder_estates(context, actor), "hf")
    elif step == OpenStep.KIND:
        estate = await estate_name(context, int(draft["estate_id"]))
        text = actor.t("callback.open_ask_kind", estate=estate)
        kinds = [button(actor.t(f"callback.opened.{k}"), f"hf:k:{k}") for k in callbacks.OPENED]
        markup = keyboard(in_rows(kinds, 1))
    elif step == OpenStep.WHAT:
        text = actor.t(f"callback.open_ask_what_{draft['kind']}")
    else:
        text = actor.t(f"callback.open_ask_who_{draft['kind']}", most=MAX_RESIDENTS)
    await reply(update, context, with_hint(actor, hint, text, markup), markup)
    return step


def open_expected(step: OpenStep, hint_key: str) -> Step:
    """Anything else at ``step`` of /callback: a polite hint and the same question again."""
    return expected_step("callback", ask_open, step, hint_key)


#: /callback: customer-service staff only; ask the estate (if several), else what kind.
start_open = starter("callback", ask_open, OpenStep.ESTATE, OpenStep.KIND)
#: An estate button of /callback: keep it; ask what kind of callback.
got_open_estate = estate_chooser("callback", ask_open, OpenStep.KIND)


async def got_kind(update: Update, context: Context) -> int:
    """After helping a resident, or after an event: keep it; ask what it was."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "callback")
    kind = (query.data or "").rsplit(":", 1)[-1]
    if kind not in callbacks.OPENED or "estate_id" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    draft["kind"] = kind
    await edit(query.message, actor.t(f"callback.opened.{kind}"))
    return await ask_open(update, context, actor, OpenStep.WHAT)


async def got_what(update: Update, context: Context) -> int:
    """What the help or the event was: keep it; ask whom to call back."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return ConversationHandler.END
    draft = draft_of(context, "callback")
    if "kind" not in draft:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    text = clean_description(message.text or "")
    if len(text) < 2:
        hint = actor.t("case.description_too_short")
        return await ask_open(update, context, actor, OpenStep.WHAT, hint)
    draft["what"] = text
    return await ask_open(update, context, actor, OpenStep.WHO)


@dataclass(frozen=True)
class Callee:
    """Someone a staff-opened callback is for: their unit, their account (None: phoned),
    their name and phone as the roster (or staff) gave them."""

    unit_id: int | None
    unit_label: str | None
    resident_id: int | None
    name: str | None
    phone: str | None


async def find_callee(context: Context, estate_id: int, typed: str) -> Callee | str:
    """A unit (``3栋 502``) or a phone number typed, as a :class:`Callee`; otherwise the
    reason it cannot be one, as a text key (``callback.who_not_found``…)."""
    svc = services(context)
    digits = sum(ch.isdigit() for ch in typed)
    phone = normalise_caller_phone(typed) if digits >= 7 else None
    if phone is not None:
        units = [u for u in await svc.identity.units_for_phone(phone) if u.estate_id == estate_id]
        person = await callback_store.person_with_phone(svc.db, phone)
        unit = units[0] if units else None
        return Callee(
            unit.id if unit else None,
            unit.label if unit else None,
            person,
            unit.owner_name if unit else None,
            phone,
        )
    units = await svc.identity.find_units(estate_id, typed)
    if not units:
        return "callback.who_not_found"
    if len(units) > 1:
        return "callback.who_several"
    unit = units[0]
    bound = await callback_store.bound_to_unit(svc.db, unit.id)
    return Callee(
        unit.id, unit.label, bound[0] if bound else None, unit.owner_name, unit.owner_phone
    )


async def got_who(update: Update, context: Context) -> int:
    """B-1: whom to call back (one unit or phone; after an event, several): re-check the
    role, open one callback for each, asked in chat or phoned (B-2)."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or context.user_data is None:
        return ConversationHandler.END
    draft = draft_of(context, "callback")
    if "what" not in draft:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    typed = [p.strip() for p in _SEPARATORS.split(message.text or "") if p.strip()]
    most = 1 if draft["kind"] == "help" else MAX_RESIDENTS
    if not typed or len(typed) > most:
        hint = actor.t(f"callback.who_count_{draft['kind']}", most=most)
        return await ask_open(update, context, actor, OpenStep.WHO, hint)
    estate_id = int(draft["estate_id"])
    found: list[Callee] = []
    wrong: list[str] = []
    for one in typed:
        callee = await find_callee(context, estate_id, one)
        if isinstance(callee, str):
            wrong.append(actor.t(callee, typed=one))
        elif callee not in found:
            found.append(callee)
    if wrong:
        return await ask_open(update, context, actor, OpenStep.WHO, "\n".join(wrong))
    if not may_record(actor, estate_id):  # roles may have changed since /callback
        context.user_data.pop("callback", None)
        await reply(update, context, actor.t("callback.staff_only"))
        return ConversationHandler.END
    lines = []
    for index, callee in enumerate(found):
        case = await open_callback(context, actor, draft, callee, index)
        how = "callback.opened_in_chat" if case.resident_id else "callback.opened_by_phone"
        who_ = " ".join(filter(None, (callee.unit_label, callee.name))) or (callee.phone or "—")
        lines.append(actor.t(how, number=case.number, who=who_))
    context.user_data.pop("callback", None)
    await reply(
        update,
        context,
        actor.t("callback.opened_summary", count=len(found)) + "\n" + "\n".join(lines),
    )
    await services(context).deliver()
    return ConversationHandler.END


async def open_callback(
    context: Context, actor: Actor, draft: dict[str, Any], callee: Callee, index: int
) -> Case:
    """B-1: one callback case for ``callee`` (filed, then done at once with its question
    and B-1's clock: procedures.callbacks.opened). Filed from the draft once: the step
    handled again finds it filed, and asks nothing twice."""
    svc = services(context)
    new = NewCase(
        estate_id=int(draft["estate_id"]),
        kind=Kind.CALLBACK,
        category=str(draft["kind"]),
        description=str(draft["what"]),
        unit_id=callee.unit_id,
        resident_id=callee.resident_id,
        channel="chat" if callee.resident_id else "phone",
        caller_name=None if callee.resident_id else callee.name,
        caller_phone=None if callee.resident_id else callee.phone,
        created_by=actor.person.id,
        unit_label=callee.unit_label,
        draft_key=f"{draft['key']}:{index}",
    )
    case = await steps.file(svc, new, filed_only, actor)
    after = await steps.apply(
        svc, case, callbacks.opened(case, steps.by(actor), await facts(svc, case)), actor
    )
    log.info("callback %s opened by person %s", case.number, actor.person.id)
    return after or case


def filed_only(case: Case, facts: Facts) -> Decision:
    """Filing a staff-opened callback decides nothing yet (opening it does)."""
    return Decision()


cancel_open = canceller("callback")


def open_conversation() -> ConversationHandler[Context]:
    """A callback opened by staff (B-1), persistent."""
    S = OpenStep
    return persistent_flow(
        entry_points=[
            CommandHandler("callback", start_open, filters.ChatType.PRIVATE),
            CommandHandler("callback", private_only, filters.ChatType.GROUPS),
        ],
        states={
            S.ESTATE: [
                CallbackQueryHandler(got_open_estate, pattern=r"^hf:est:"),
                MessageHandler(OTHER, open_expected(S.ESTATE, TAP_HINT)),
            ],
            S.KIND: [
                CallbackQueryHandler(got_kind, pattern=r"^hf:k:"),
                MessageHandler(OTHER, open_expected(S.KIND, TAP_HINT)),
            ],
            S.WHAT: [
                MessageHandler(TEXT, got_what),
                MessageHandler(OTHER, open_expected(S.WHAT, "record.text_please")),
            ],
            S.WHO: [
                MessageHandler(TEXT, got_who),
                MessageHandler(OTHER, open_expected(S.WHO, "record.text_please")),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_open),
            CallbackQueryHandler(stale, pattern=r"^hf:"),
        ],
        name="callbacks",
    )


def handlers() -> list[AnyHandler]:
    """/callback (B-1) and the callback buttons."""
    return [open_conversation(), CallbackQueryHandler(on_callback, pattern=r"^cb:")]


def notes_handler() -> AnyHandler:
    """Private text while a phone callback's notes are awaited (an early group: see
    :func:`phone_notes`)."""
    return MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
        phone_notes,
    )
