"""Customer visits (P9, A-1): staff record the visits they make themselves
(procedures.customer_visits decides).

``/visit`` (客戶訪問): estate → where (at home, by phone, in common areas, at the office) →
who (a unit, or a name when there is none) → what was heard ("🙂 没有意见" when nothing) →
satisfaction 1–5. It is stored as a case of kind ``visit`` that queues nothing and starts
no clock, and is closed at once with its score (so the weekly report counts it).

The visit's record carries "➕ 转为需求" and "➕ 转为投诉" (A-1): one tap files a new case
for the visited resident or unit with what was heard, linked to the visit on both audit
trails, and from there the normal filing flow (the first responder's card, clocks). A
visit becomes one case, whichever button and however often it is pressed; a visit with
nothing heard asks for the problem first (the next private message).

Button data: ``vis:est:<estate>``, ``vis:pl:<place>``, ``vis:unit:<unit>``,
``vis:heard:none``, ``vis:s:<1-5>``, ``vfu:<request|complaint>:<visit>``.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers import steps
from handlers.cards import card
from handlers.common import (
    TAP_HINT,
    Actor,
    AnyHandler,
    Context,
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
    with_hint,
)
from handlers.records import (
    MAX_CHOICES,
    MAX_NAME,
    OTHER,
    TEXT,
    Step,
    draft_of,
    estate_buttons,
    estate_chooser,
    estate_name,
    expected_step,
    is_skip,
    may_record,
    one_line,
    recorder_estates,
    stale,
    starter,
    unit_of,
)
from procedures import customer_visits
from procedures.cases import Kind, clean_description
from procedures.customer_visits import FOLLOW_UP_KINDS, PLACES, SCORES
from storage.cases import Case, NewCase
from storage.identity import Unit

log = logging.getLogger(__name__)


class VisitStep(IntEnum):
    """Where a staff member is in recording their own customer visit (A-1)."""

    ESTATE = 1
    PLACE = 2
    WHO = 3
    HEARD = 4
    SCORE = 5


class FollowUpStep(IntEnum):
    """A-1: a visit with nothing heard, turned into a case: the problem is asked."""

    PROBLEM = 1


# --- /visit (A-1) --------------------------------------------------------------------------------


async def ask_visit(
    update: Update, context: Context, actor: Actor, step: VisitStep, hint: str = ""
) -> int:
    """Ask the question of ``step`` (after ``hint``, when bad input came), with its buttons."""
    draft = draft_of(context, "visit")
    markup: InlineKeyboardMarkup | None = None
    if step == VisitStep.ESTATE:
        text = actor.t("visit.ask_estate")
        markup = estate_buttons(await recorder_estates(context, actor), "vis")
    elif step == VisitStep.PLACE:
        estate = await estate_name(context, int(draft["estate_id"]))
        text = actor.t("visit.ask_place", estate=estate)
        buttons = [button(actor.t(f"visit.place.{p}"), f"vis:pl:{p}") for p in PLACES]
        markup = keyboard(in_rows(buttons, 2))
    elif step == VisitStep.WHO:
        text = actor.t("visit.ask_who")
    elif step == VisitStep.HEARD:
        text = actor.t("visit.ask_heard")
        markup = keyboard([[button(actor.t("visit.btn_nothing_heard"), "vis:heard:none")]])
    else:
        text = actor.t("visit.ask_score")
        markup = keyboard(_score_rows())
    await reply(update, context, with_hint(actor, hint, text, markup), markup)
    return step


def _score_rows() -> list[list[InlineKeyboardButton]]:
    stars = [button("⭐" * n, f"vis:s:{n}") for n in SCORES]
    return [stars[:3], stars[3:]]


def visit_expected(step: VisitStep, hint_key: str) -> Step:
    """Anything else at ``step`` of /visit: a polite hint and the same question again."""
    return expected_step("visit", ask_visit, step, hint_key)


#: /visit: customer-service staff only; ask the estate (if several), else the place.
_start_visit = starter("visit", ask_visit, VisitStep.ESTATE, VisitStep.PLACE)


async def start_visit(update: Update, context: Context) -> int:
    """/visit: a new visit record (a problem asked for an earlier visit is dropped)."""
    if context.user_data is not None:
        context.user_data.pop("visit_case", None)
    return await _start_visit(update, context)


#: An estate button of /visit: keep it; ask where the visit took place.
got_visit_estate = estate_chooser("visit", ask_visit, VisitStep.PLACE)


async def got_place(update: Update, context: Context) -> int:
    """Where (home, phone, common areas, office): keep it; ask who was visited."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "visit")
    place = (query.data or "").rsplit(":", 1)[-1]
    if place not in PLACES or "estate_id" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    draft["place"] = place
    await edit(query.message, actor.t("visit.place_chosen", place=actor.t(f"visit.place.{place}")))
    return await ask_visit(update, context, actor, VisitStep.WHO)


async def got_who(update: Update, context: Context) -> int:
    """A unit (matched as registration does) or, without digits, a name: ask what was heard."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return ConversationHandler.END
    draft = draft_of(context, "visit")
    if "place" not in draft:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    text = one_line(message.text or "")
    if not 1 <= len(text) <= MAX_NAME:
        hint = actor.t("visit.who_hint", limit=MAX_NAME)
        return await ask_visit(update, context, actor, VisitStep.WHO, hint)
    units = await services(context).identity.find_units(int(draft["estate_id"]), text)
    if len(units) == 1:
        return await _visited_unit(update, context, actor, draft, units[0])
    if len(units) > MAX_CHOICES:
        hint = actor.t("record.too_many_units", count=len(units))
        return await ask_visit(update, context, actor, VisitStep.WHO, hint)
    if units:
        buttons = [button(u.label, f"vis:unit:{u.id}") for u in units]
        await reply(update, context, actor.t("record.pick_unit"), keyboard(in_rows(buttons, 3)))
        return VisitStep.WHO
    if any(ch.isdigit() for ch in text):  # meant as a unit, but there is no such unit
        hint = actor.t("visit.unit_not_found", unit=text)
        return await ask_visit(update, context, actor, VisitStep.WHO, hint)
    draft["name"] = text
    draft["unit_id"] = None
    await reply(update, context, actor.t("visit.who_chosen", who=text))
    return await ask_visit(update, context, actor, VisitStep.HEARD)


async def got_visit_unit(update: Update, context: Context) -> int:
    """A unit button, when the typed unit matched several."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "visit")
    unit = await unit_of(context, (query.data or "").rsplit(":", 1)[-1], draft.get("estate_id"))
    if unit is None or "place" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    await edit(query.message, actor.t("record.unit_chosen", unit=unit.label))
    return await _visited_unit(update, context, actor, draft, unit)


async def _visited_unit(
    update: Update, context: Context, actor: Actor, draft: dict[str, Any], unit: Unit
) -> int:
    """The visited unit; its roster owner is named as the resident."""
    draft["unit_id"] = unit.id
    draft["name"] = unit.owner_name
    await reply(update, context, actor.t("visit.who_chosen", who=f"{unit.label} {unit.owner_name}"))
    return await ask_visit(update, context, actor, VisitStep.HEARD)


async def got_heard(update: Update, context: Context) -> int:
    """What the resident said: keep it; ask their satisfaction."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return ConversationHandler.END
    draft = draft_of(context, "visit")
    if "name" not in draft:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    text = clean_description(message.text or "")
    if is_skip(text):
        return await _nothing_heard(update, context, actor, draft)
    if len(text) < 2:
        hint = actor.t("case.description_too_short")
        return await ask_visit(update, context, actor, VisitStep.HEARD, hint)
    draft["heard"] = text
    return await ask_visit(update, context, actor, VisitStep.SCORE)


async def got_nothing_heard(update: Update, context: Context) -> int:
    """The "🙂 没有意见" button: the resident raised nothing; ask their satisfaction."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "visit")
    if "name" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    await edit(query.message, actor.t("visit.nothing_heard"))
    return await _nothing_heard(update, context, actor, draft, said=False)


async def _nothing_heard(
    update: Update, context: Context, actor: Actor, draft: dict[str, Any], *, said: bool = True
) -> int:
    """A-1: a visit where nothing was raised is recorded with no text heard."""
    draft["heard"] = ""
    if said:
        await reply(update, context, actor.t("visit.nothing_heard"))
    return await ask_visit(update, context, actor, VisitStep.SCORE)


async def got_score(update: Update, context: Context) -> int:
    """A-1: the satisfaction score; re-check the role, store the visit and close it."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "visit")
    score = parse_id((query.data or "").rsplit(":", 1)[-1])
    if "heard" not in draft or score is None or score not in SCORES:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    estate_id = int(draft["estate_id"])
    if not may_record(actor, estate_id):  # roles may have changed since /visit
        context.user_data.pop("visit", None)
        await edit(query.message, actor.t("visit.staff_only"))
        return ConversationHandler.END
    unit = (
        await services(context).identity.unit(int(draft["unit_id"])) if draft["unit_id"] else None
    )
    case = await store_visit(
        context,
        actor,
        NewCase(
            estate_id=estate_id,
            kind=Kind.VISIT,
            category=None,
            description=str(draft["heard"]),
            unit_id=unit.id if unit is not None and unit.estate_id == estate_id else None,
            channel=str(draft["place"]),  # where the visit took place
            caller_name=str(draft["name"]),
            created_by=actor.person.id,
            draft_key=draft.get("key"),
        ),
        score,
    )
    # Only now are the buttons gone: had storing failed, the score could be tapped again.
    await edit(query.message, actor.t("visit.score_chosen", stars="⭐" * score))
    context.user_data.pop("visit", None)
    place = actor.t(f"visit.place.{draft['place']}")
    await reply(
        update,
        context,
        actor.t("visit.recorded", number=case.number, place=place, who=draft["name"], score=score),
        follow_up_buttons(actor, case),
    )
    log.info("visit %s recorded by person %s", case.number, actor.person.id)
    return ConversationHandler.END


async def store_visit(context: Context, actor: Actor, new: NewCase, score: int) -> Case:
    """A-1: file the visit with no notices and no clocks, closed with its score (new → done →
    closed, each step audited), in one transaction: a crash leaves the visit whole or
    absent, never filed but open."""
    svc = services(context)
    decision = customer_visits.recorded(score, svc.clock.now())
    return await steps.file(svc, new, lambda case, facts: decision, actor)


cancel_visit = canceller("visit")


# --- a problem heard on a visit becomes a request or a complaint ------------------------


def follow_up_buttons(actor: Actor, visit: Case) -> InlineKeyboardMarkup:
    """The buttons "➕ 转为需求" and "➕ 转为投诉" under a visit's record (A-1)."""
    return keyboard(
        [[button(actor.t(f"visit.btn_to.{k}"), f"vfu:{k}:{visit.id}") for k in FOLLOW_UP_KINDS]]
    )


async def on_follow_up(update: Update, context: Context) -> int:
    """A-1: "➕ 转为需求/投诉" on a visit's record. Customer-service staff of the visit's
    estate only (read again now); a visit that became a case already names it and files
    nothing; one with nothing heard asks for the problem; else the case is filed now."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    svc = services(context)
    _, kind, raw = ((query.data or "") + "::").split(":")[:3]
    visit_id = parse_id(raw)
    visit = await svc.cases.get(visit_id) if visit_id is not None else None
    if visit is None or visit.kind != Kind.VISIT or kind not in FOLLOW_UP_KINDS:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    if not may_record(actor, visit.estate_id):
        await reply(update, context, actor.t("visit.staff_only"))
        return ConversationHandler.END
    found = await svc.cases.filed_from(customer_visits.follow_up_key(visit))
    if found is not None:
        await _link(context, actor, visit, found)  # a crash may have cut it off
        await _drop_buttons(query.message)
        await reply(update, context, _became(actor, visit, found, again=True))
        return ConversationHandler.END
    if visit.description.strip():
        case = await _file_follow_up(context, actor, visit, kind, visit.description)
        await _drop_buttons(query.message)
        await reply(update, context, _became(actor, visit, case))
        return ConversationHandler.END
    busy = draft_of(context, "record") or draft_of(context, "visit")
    if busy:  # their next message belongs to the record being written: finish it first
        await reply(update, context, actor.t("visit.finish_first"))
        return ConversationHandler.END
    message_id = query.message.message_id if isinstance(query.message, Message) else None
    context.user_data["visit_case"] = {"visit": visit.id, "kind": kind, "message": message_id}
    await reply(update, context, _ask_problem(actor, visit, kind))
    return FollowUpStep.PROBLEM


def _ask_problem(actor: Actor, visit: Case, kind: str, hint: str = "") -> str:
    question = actor.t("visit.ask_problem", number=visit.number, kind=actor.t(f"visit.as.{kind}"))
    return f"{hint}\n{question}" if hint else question


async def got_problem(update: Update, context: Context) -> int:
    """A-1: the problem of a visit with nothing heard (the next private message): the case
    is filed with it."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or context.user_data is None:
        return ConversationHandler.END
    draft = draft_of(context, "visit_case")
    svc = services(context)
    visit_id = parse_id(str(draft.get("visit", "")))
    visit = await svc.cases.get(visit_id) if visit_id is not None else None
    kind = str(draft.get("kind", ""))
    if visit is None or kind not in FOLLOW_UP_KINDS:
        await reply(update, context, actor.t("visit.problem_dropped"))
        return ConversationHandler.END
    if not may_record(actor, visit.estate_id):  # roles may have changed since the tap
        context.user_data.pop("visit_case", None)
        await reply(update, context, actor.t("visit.staff_only"))
        return ConversationHandler.END
    text = clean_description(message.text or "")
    if len(text) < 2:
        hint = actor.t("case.description_too_short")
        await reply(update, context, _ask_problem(actor, visit, kind, hint))
        return FollowUpStep.PROBLEM
    found = await svc.cases.filed_from(customer_visits.follow_up_key(visit))
    case = found or await _file_follow_up(context, actor, visit, kind, text)
    if found is not None:
        await _link(context, actor, visit, found)
    context.user_data.pop("visit_case", None)
    chat = update.effective_chat
    if chat is not None and isinstance(draft.get("message"), int):
        try:
            await context.bot.edit_message_reply_markup(chat.id, draft["message"])
        except TelegramError as exc:
            log.warning("could not drop the buttons of visit %s: %s", visit.number, exc)
    await reply(update, context, _became(actor, visit, case, again=found is not None))
    return ConversationHandler.END


async def problem_expected(update: Update, context: Context) -> int:
    """Anything but text while the problem is asked: asked again."""
    actor = await who(update, context)
    visit_id = parse_id(str(draft_of(context, "visit_case").get("visit", "")))
    visit = await services(context).cases.get(visit_id) if visit_id is not None else None
    if actor is None or visit is None:
        return ConversationHandler.END
    kind = str(draft_of(context, "visit_case").get("kind", ""))
    await reply(update, context, _ask_problem(actor, visit, kind, actor.t("record.text_please")))
    return FollowUpStep.PROBLEM


async def _file_follow_up(
    context: Context, actor: Actor, visit: Case, kind: str, problem: str
) -> Case:
    """A-1: file the visit's case (once: under the visit's key), link the two, deliver."""
    svc = services(context)
    case = await steps.file(
        svc,
        NewCase(
            estate_id=visit.estate_id,
            kind=Kind(kind),
            category=customer_visits.FOLLOW_UP_CATEGORY,
            description=clean_description(problem),
            unit_id=visit.unit_id,
            unit_label=visit.unit_label,
            resident_id=None,  # heard on a visit: staff recorded it, as a call (V-4)
            channel=customer_visits.follow_up_channel(visit),
            caller_name=visit.caller_name,
            created_by=actor.person.id,
            draft_key=customer_visits.follow_up_key(visit),
        ),
        customer_visits.filed,
        actor,
    )
    await _link(context, actor, visit, case)
    await svc.deliver()
    log.info("visit %s became case %s (person %s)", visit.number, case.number, actor.person.id)
    return case


async def _link(context: Context, actor: Actor, visit: Case, case: Case) -> None:
    """A-1: the new case names the visit, the visit names the case: each once."""
    svc = services(context)
    on_case, on_visit = customer_visits.linked(visit, case)
    for subject, decision in ((case, on_case), (visit, on_visit)):
        if all(e["event"] != decision.event for e in await svc.cases.trail(subject.id)):
            await steps.apply(svc, subject, decision, actor)


def _became(actor: Actor, visit: Case, case: Case, *, again: bool = False) -> str:
    """What the presser reads: the case the visit became (with its card when just filed)."""
    kind = actor.t(f"visit.as.{case.kind}")
    key = "visit.already_became" if again else "visit.became"
    text = actor.t(key, visit=visit.number, kind=kind, number=case.number)
    return text if again else text + "\n\n" + card(actor.locale, case)


async def _drop_buttons(message: object) -> None:
    """The record's buttons go once its visit became a case (a stale copy still answers)."""
    if isinstance(message, Message):
        try:
            await message.edit_reply_markup(reply_markup=None)
        except BadRequest as exc:  # dropped already (a second tap on a stale copy)
            if "not modified" not in str(exc).lower():
                log.warning("could not drop a visit's buttons: %s", exc)
        except TelegramError as exc:
            log.warning("could not drop a visit's buttons: %s", exc)


def follow_up_conversation() -> ConversationHandler[Context]:
    """A-1: a visit's "➕ 转为需求/投诉", and the problem asked when nothing was heard;
    persistent."""
    return persistent_flow(
        entry_points=[CallbackQueryHandler(on_follow_up, pattern=r"^vfu:")],
        states={
            FollowUpStep.PROBLEM: [
                MessageHandler(TEXT, got_problem),
                MessageHandler(OTHER, problem_expected),
            ],
        },
        fallbacks=[CommandHandler("cancel", canceller("visit_case"))],
        name="visit_cases",
    )


def visit_conversation() -> ConversationHandler[Context]:
    """The customer visit record (A-1), persistent."""
    S = VisitStep
    return persistent_flow(
        entry_points=[CommandHandler("visit", start_visit, filters.ChatType.PRIVATE)],
        states={
            S.ESTATE: [
                CallbackQueryHandler(got_visit_estate, pattern=r"^vis:est:"),
                MessageHandler(OTHER, visit_expected(S.ESTATE, TAP_HINT)),
            ],
            S.PLACE: [
                CallbackQueryHandler(got_place, pattern=r"^vis:pl:"),
                MessageHandler(OTHER, visit_expected(S.PLACE, TAP_HINT)),
            ],
            S.WHO: [
                MessageHandler(TEXT, got_who),
                CallbackQueryHandler(got_visit_unit, pattern=r"^vis:unit:"),
                MessageHandler(OTHER, visit_expected(S.WHO, "record.text_please")),
            ],
            S.HEARD: [
                MessageHandler(TEXT, got_heard),
                CallbackQueryHandler(got_nothing_heard, pattern=r"^vis:heard:none$"),
                MessageHandler(OTHER, visit_expected(S.HEARD, "record.text_please")),
            ],
            S.SCORE: [
                CallbackQueryHandler(got_score, pattern=r"^vis:s:[1-5]$"),
                MessageHandler(OTHER, visit_expected(S.SCORE, TAP_HINT)),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_visit),
            CallbackQueryHandler(stale, pattern=r"^vis:"),
        ],
        name="visits",
    )


def handlers() -> list[AnyHandler]:
    """/visit (A-1), and a visit turned into a request or a complaint."""
    return [visit_conversation(), follow_up_conversation()]
