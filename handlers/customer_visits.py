"""Customer visits (P9, A-1): staff record the visits they make themselves
(procedures.customer_visits decides).

``/visit`` (客戶訪問): estate → where (at home, by phone, in common areas, at the office) →
who (a unit, or a name when there is none) → what was heard → satisfaction 1–5. It is
stored as a case of kind ``visit`` that queues nothing and starts no clock, and is closed at
once with its score (so the weekly report counts it).

Button data: ``vis:est:<estate>``, ``vis:pl:<place>``, ``vis:unit:<unit>``, ``vis:s:<1-5>``.
"""

from __future__ import annotations

import logging
import warnings
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from handlers import steps
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
    may_record,
    one_line,
    recorder_estates,
    stale,
    starter,
    unit_of,
)
from procedures import customer_visits
from procedures.cases import Kind, clean_description
from procedures.customer_visits import PLACES, SCORES
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
start_visit = starter("visit", ask_visit, VisitStep.ESTATE, VisitStep.PLACE)
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
    if len(text) < 2:
        hint = actor.t("case.description_too_short")
        return await ask_visit(update, context, actor, VisitStep.HEARD, hint)
    draft["heard"] = text
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


def visit_conversation() -> ConversationHandler[Context]:
    """The customer visit record (A-1), persistent."""
    S = VisitStep
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
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
            persistent=True,
            allow_reentry=True,
        )


def handlers() -> list[AnyHandler]:
    """/visit (A-1)."""
    return [visit_conversation()]
