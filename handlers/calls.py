"""Calls and visits received (P5, V-1..V-5): customer-service staff record the people who
phone or walk in without the bot (procedures.calls decides).

``/record`` (客戶來電來訪記錄表, V-4), a persistent conversation in a private chat, for
customer-service staff only (customer assistant, customer-centre supervisor, customer head;
re-checked when the record is filed): estate (buttons, only for someone who serves
several) → phone call or visit → the caller's name → the caller's number (V-4: from the
caller display; a visitor may decline to give one) → unit (typed, or skipped; a caller
whose number is on the roster is recognised and, when no unit is typed, their unit taken)
→ request or complaint → category → what they said → normal or urgent (V-2: major, urgent
or sudden goes to the superior at once) → filed as a resident's case is: number, first
responder's card (Q-1, C-9), clocks (Q-4, C-5), the supervisor asked to classify a
complaint (C-4) and told at once of an urgent case (V-2) → V-3: "what was the customer
told on the spot?": the next private message is that answer, kept with the case (its own
audited event); "✅ resolved on the spot" first makes that answer the resolution's text
and resolves the case; "⏭ no answer on the spot" records just that. Until one of these,
/record, /visit and /cancel ask for it again: the step is never silently missing.

Button data: ``rec:est:<estate>``, ``rec:ch:<phone|visit>``, ``rec:skip:<phone|unit>``,
``rec:unit:<unit>``, ``rec:kind:<request|complaint>``, ``rec:cat:<category>``,
``rec:urg:<0|1>``, ``rec:spot:<solved|back|none>``.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardMarkup, Update
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
    owner_line,
    private_only,
    recorder_estates,
    stale,
    starter,
    unit_of,
)
from procedures import calls
from procedures.calls import CHANNELS
from procedures.cases import CATEGORIES, Case, Kind, Status, clean_description
from procedures.phone import normalise_caller_phone
from storage.cases import NewCase

log = logging.getLogger(__name__)


class RecordStep(IntEnum):
    """Where a staff member is in recording a call or visit (V-4)."""

    ESTATE = 1
    CHANNEL = 2
    NAME = 3
    PHONE = 4
    UNIT = 5
    KIND = 6
    CATEGORY = 7
    DESCRIBE = 8
    URGENCY = 9
    SPOT = 10  # V-3: the answer given on the spot, once the case is filed


# --- /record: questions ------------------------------------------------------------------------


async def ask_record(
    update: Update, context: Context, actor: Actor, step: RecordStep, hint: str = ""
) -> int:
    """Ask the question of ``step`` (after ``hint``, when bad input came), with its buttons."""
    draft = draft_of(context, "record")
    markup: InlineKeyboardMarkup | None = None
    if step == RecordStep.ESTATE:
        text = actor.t("record.ask_estate")
        markup = estate_buttons(await recorder_estates(context, actor), "rec")
    elif step == RecordStep.CHANNEL:
        estate = await estate_name(context, int(draft["estate_id"]))
        text = actor.t("record.ask_channel", estate=estate)
        markup = keyboard(
            [[button(actor.t(f"record.channel.{c}"), f"rec:ch:{c}") for c in CHANNELS]]
        )
    elif step == RecordStep.NAME:
        text = actor.t("record.ask_name")
    elif step == RecordStep.PHONE:
        text = actor.t(f"record.ask_phone_{draft['channel']}")
        if draft["channel"] == "visit":
            markup = keyboard([[button(actor.t("record.btn_skip"), "rec:skip:phone")]])
    elif step == RecordStep.UNIT:
        text, markup = await _unit_question(context, actor, draft)
    elif step == RecordStep.KIND:
        text = actor.t("record.ask_kind")
        kinds = (Kind.REQUEST, Kind.COMPLAINT)
        markup = keyboard([[button(actor.t(f"kind.{k}"), f"rec:kind:{k}") for k in kinds]])
    elif step == RecordStep.CATEGORY:
        text = actor.t("record.ask_category")
        buttons = [button(actor.t(f"category.{c}"), f"rec:cat:{c}") for c in CATEGORIES]
        markup = keyboard(in_rows(buttons, 3))
    elif step == RecordStep.DESCRIBE:
        text = actor.t("record.ask_description")
    elif step == RecordStep.SPOT:
        text, markup = spot_question(actor, draft)
    else:
        text = actor.t("record.ask_urgency")
        markup = keyboard(
            [
                [
                    button(actor.t("case.normal"), "rec:urg:0"),
                    button(actor.t("record.btn_urgent"), "rec:urg:1"),
                ]
            ]
        )
    await reply(update, context, with_hint(actor, hint, text, markup), markup)
    return step


async def _unit_question(
    context: Context, actor: Actor, draft: dict[str, Any]
) -> tuple[str, InlineKeyboardMarkup]:
    """The unit question: a roster owner's units are offered; skipping takes the only one."""
    identity = services(context).identity
    roster = [u for i in draft.get("roster_unit_ids", []) if (u := await identity.unit(i))]
    skip = [button(actor.t("record.btn_skip"), "rec:skip:unit")]
    if not roster:
        return actor.t("record.ask_unit"), keyboard([skip])
    owner = actor.t("record.roster_owner", owner=owner_line(roster))
    if len(roster) == 1:
        question = actor.t("record.ask_unit_roster_one", unit=roster[0].label)
        return f"{owner}\n{question}", keyboard([skip])
    question = actor.t("record.ask_unit_roster_many")
    buttons = [button(u.label, f"rec:unit:{u.id}") for u in roster[:MAX_CHOICES]]
    return f"{owner}\n{question}", keyboard([*in_rows(buttons, 3), skip])


def spot_question(actor: Actor, draft: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """V-3: what was the customer told on the spot? With "resolved on the spot" and "no
    answer on the spot"; once "resolved" was tapped, the resolution asked, and a way back."""
    number = str(draft.get("number", ""))
    if draft.get("resolved"):
        back = button(actor.t("record.btn_spot_back"), "rec:spot:back")
        return actor.t("record.ask_spot_resolved", number=number), keyboard([[back]])
    buttons = [
        button(actor.t("record.btn_spot_solved"), "rec:spot:solved"),
        button(actor.t("record.btn_spot_none"), "rec:spot:none"),
    ]
    return actor.t("record.ask_spot", number=number), keyboard([buttons])


def record_expected(step: RecordStep, hint_key: str) -> Step:
    """Anything else at ``step`` of /record: a polite hint and the same question again."""
    return expected_step("record", ask_record, step, hint_key)


# --- /record: steps ------------------------------------------------------------------------------


#: /record: customer-service staff only; ask the estate (if several), else the channel.
_start_record = starter("record", ask_record, RecordStep.ESTATE, RecordStep.CHANNEL)


async def start_record(update: Update, context: Context) -> int:
    """/record: a new record, unless the last one still waits for its spot answer (V-3):
    then that is asked again first."""
    if "spot" in draft_of(context, "record"):
        return await spot_first(update, context)
    if context.user_data is not None:  # a problem asked for a visit's case is dropped
        context.user_data.pop("visit_case", None)
    return await _start_record(update, context)


#: An estate button of /record: keep it; ask phone or visit.
got_record_estate = estate_chooser("record", ask_record, RecordStep.CHANNEL)


async def got_channel(update: Update, context: Context) -> int:
    """Phone call or visit: keep it; ask the caller's name."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "record")
    channel = (query.data or "").rsplit(":", 1)[-1]
    if channel not in CHANNELS or "estate_id" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    draft["channel"] = channel
    await edit(
        query.message,
        actor.t("record.channel_chosen", channel=actor.t(f"record.channel.{channel}")),
    )
    return await ask_record(update, context, actor, RecordStep.NAME)


async def got_name(update: Update, context: Context) -> int:
    """The caller's name or form of address: keep it; ask the number."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return ConversationHandler.END
    draft = draft_of(context, "record")
    if "channel" not in draft:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    name = one_line(message.text or "")
    if not 1 <= len(name) <= MAX_NAME:
        hint = actor.t("record.name_hint", limit=MAX_NAME)
        return await ask_record(update, context, actor, RecordStep.NAME, hint)
    draft["caller_name"] = name
    return await ask_record(update, context, actor, RecordStep.PHONE)


async def got_phone(update: Update, context: Context) -> int:
    """V-4: the caller's number, normalised; a roster owner's is recognised. Ask the unit."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return ConversationHandler.END
    draft = draft_of(context, "record")
    if "caller_name" not in draft:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    text = message.text or ""
    if is_skip(text):
        return await _skip_phone(update, context, actor, draft)
    phone = normalise_caller_phone(text)  # V-4: a caller may ring from a landline
    if phone is None:
        return await ask_record(
            update, context, actor, RecordStep.PHONE, actor.t("record.bad_phone")
        )
    draft["caller_phone"] = phone
    units = await services(context).identity.units_for_phone(phone)
    draft["roster_unit_ids"] = [u.id for u in units if u.estate_id == draft["estate_id"]]
    return await ask_record(update, context, actor, RecordStep.UNIT)


async def got_phone_skip(update: Update, context: Context) -> int:
    """The skip button for a visitor's number."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "record")
    if "caller_name" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    await edit(query.message, actor.t("record.phone_skipped"))
    return await _skip_phone(update, context, actor, draft)


async def _skip_phone(update: Update, context: Context, actor: Actor, draft: dict[str, Any]) -> int:
    """V-4: a phone call always has the caller display's number; a visitor may decline."""
    if draft.get("channel") != "visit":
        hint = actor.t("record.phone_required")
        return await ask_record(update, context, actor, RecordStep.PHONE, hint)
    draft["caller_phone"] = None
    draft["roster_unit_ids"] = []
    return await ask_record(update, context, actor, RecordStep.UNIT)


async def got_unit_text(update: Update, context: Context) -> int:
    """A typed unit, matched as registration does (or "skip"): ask request or complaint."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return ConversationHandler.END
    draft = draft_of(context, "record")
    if "roster_unit_ids" not in draft:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    text = (message.text or "").strip()
    if is_skip(text):
        await reply(update, context, await _skip_unit(context, actor, draft))
        return await ask_record(update, context, actor, RecordStep.KIND)
    units = await services(context).identity.find_units(int(draft["estate_id"]), text)
    if not units:
        hint = actor.t("record.unit_not_found", unit=text[:40])
        return await ask_record(update, context, actor, RecordStep.UNIT, hint)
    if len(units) > MAX_CHOICES:
        hint = actor.t("record.too_many_units", count=len(units))
        return await ask_record(update, context, actor, RecordStep.UNIT, hint)
    if len(units) > 1:
        buttons = [button(u.label, f"rec:unit:{u.id}") for u in units]
        await reply(update, context, actor.t("record.pick_unit"), keyboard(in_rows(buttons, 3)))
        return RecordStep.UNIT
    draft["unit_id"] = units[0].id
    await reply(update, context, actor.t("record.unit_chosen", unit=units[0].label))
    return await ask_record(update, context, actor, RecordStep.KIND)


async def got_unit_button(update: Update, context: Context) -> int:
    """A unit button (a roster unit, or one of several matches)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "record")
    unit = await unit_of(context, (query.data or "").rsplit(":", 1)[-1], draft.get("estate_id"))
    if unit is None or "roster_unit_ids" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    draft["unit_id"] = unit.id
    await edit(query.message, actor.t("record.unit_chosen", unit=unit.label))
    return await ask_record(update, context, actor, RecordStep.KIND)


async def got_unit_skip(update: Update, context: Context) -> int:
    """The skip button for the unit: the roster owner's only unit, or none."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "record")
    if "roster_unit_ids" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    await edit(query.message, await _skip_unit(context, actor, draft))
    return await ask_record(update, context, actor, RecordStep.KIND)


async def _skip_unit(context: Context, actor: Actor, draft: dict[str, Any]) -> str:
    """No unit typed: a roster owner's only unit is taken, otherwise none; says which."""
    roster = draft.get("roster_unit_ids") or []
    unit = await services(context).identity.unit(int(roster[0])) if len(roster) == 1 else None
    draft["unit_id"] = unit.id if unit is not None else None
    if unit is None:
        return actor.t("record.unit_skipped")
    return actor.t("record.unit_from_roster", unit=unit.label)


async def got_kind(update: Update, context: Context) -> int:
    """Request or complaint: keep it; ask the category."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "record")
    kind = (query.data or "").rsplit(":", 1)[-1]
    if kind not in (Kind.REQUEST, Kind.COMPLAINT) or "unit_id" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    draft["kind"] = kind
    await edit(query.message, actor.t("record.kind_chosen", kind=actor.t(f"kind.{kind}")))
    return await ask_record(update, context, actor, RecordStep.CATEGORY)


async def got_record_category(update: Update, context: Context) -> int:
    """A category: keep it; ask what the caller said."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "record")
    category = (query.data or "").rsplit(":", 1)[-1]
    if category not in CATEGORIES or "kind" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    draft["category"] = category
    await edit(
        query.message, actor.t("case.category_chosen", category=actor.t(f"category.{category}"))
    )
    return await ask_record(update, context, actor, RecordStep.DESCRIBE)


async def got_record_description(update: Update, context: Context) -> int:
    """What the caller said: keep it; ask whether it is major, urgent or sudden (V-2)."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return ConversationHandler.END
    draft = draft_of(context, "record")
    if "category" not in draft:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    text = clean_description(message.text or "")
    if len(text) < 2:
        hint = actor.t("case.description_too_short")
        return await ask_record(update, context, actor, RecordStep.DESCRIBE, hint)
    draft["description"] = text
    return await ask_record(update, context, actor, RecordStep.URGENCY)


async def got_record_urgency(update: Update, context: Context) -> int:
    """Normal or urgent: re-check the person's role, file the case, show its card."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, "record")
    if "description" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    estate_id = int(draft["estate_id"])
    if not may_record(actor, estate_id):  # roles may have changed since /record
        context.user_data.pop("record", None)
        await edit(query.message, actor.t("record.staff_only"))
        return ConversationHandler.END
    urgent = (query.data or "").endswith(":1")
    await edit(
        query.message, actor.t("case.urgency_chosen_1" if urgent else "case.urgency_chosen_0")
    )
    identity = services(context).identity
    unit = await identity.unit(int(draft["unit_id"])) if draft.get("unit_id") else None
    if unit is not None and unit.estate_id != estate_id:
        unit = None
    channel, name, phone = str(draft["channel"]), str(draft["caller_name"]), draft["caller_phone"]
    svc = services(context)
    case = await steps.file(
        svc,
        NewCase(
            estate_id=estate_id,
            kind=Kind(draft["kind"]),
            category=str(draft["category"]),
            description=clean_description(str(draft["description"])),
            unit_id=unit.id if unit else None,
            resident_id=None,  # the caller has no account: staff recorded it (V-4)
            urgent=urgent,  # V-2: an urgent case is reported to the superior at once
            channel=channel,
            caller_name=name,
            caller_phone=phone,
            created_by=actor.person.id,
            draft_key=draft.get("key"),
        ),
        calls.recorded,
        actor,
    )
    await svc.deliver()
    # V-3: the draft now only holds the case, until its spot answer is recorded.
    context.user_data["record"] = {"spot": case.id, "number": case.number}
    text = actor.t("record.filed", number=case.number) + "\n\n" + card(actor.locale, case)
    if phone:
        roster = [u for u in await identity.units_for_phone(phone) if u.estate_id == estate_id]
        if roster:
            text += "\n" + actor.t("record.roster_owner", owner=owner_line(roster))
    await reply(update, context, text)
    log.info("case %s recorded (%s) by person %s", case.number, channel, actor.person.id)
    return await ask_record(update, context, actor, RecordStep.SPOT)


# --- /record: V-3, the answer given on the spot -------------------------------------------------


async def _spot_case(context: Context) -> Case | None:
    """The case whose spot answer is asked (None: no such question is open)."""
    case_id = parse_id(str(draft_of(context, "record").get("spot", "")))
    return await services(context).cases.get(case_id) if case_id is not None else None


async def got_spot_answer(update: Update, context: Context) -> int:
    """V-3: the next private message after the filing is the answer given on the spot:
    kept with the case (resolving it, when "resolved on the spot" was tapped)."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or context.user_data is None:
        return ConversationHandler.END
    case = await _spot_case(context)
    if case is None:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    if not may_record(actor, case.estate_id):  # roles may have changed since the filing
        context.user_data.pop("record", None)
        await reply(update, context, actor.t("record.staff_only"))
        return ConversationHandler.END
    answer = calls.clean_spot_answer(message.text or "")
    if answer is None:
        hint = actor.t("record.spot_too_short")
        return await ask_record(update, context, actor, RecordStep.SPOT, hint)
    resolved = bool(draft_of(context, "record").get("resolved"))
    await reply(update, context, await keep_spot_answer(context, actor, case, answer, resolved))
    return ConversationHandler.END


async def got_spot_button(update: Update, context: Context) -> int:
    """V-3's buttons: "⏭ no answer on the spot" records just that; "✅ resolved on the
    spot" asks for the resolution (the answer typed next), "↩️" goes back."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    case = await _spot_case(context)
    choice = (query.data or "").rsplit(":", 1)[-1]
    if case is None or choice not in ("solved", "back", "none"):
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    if not may_record(actor, case.estate_id):
        context.user_data.pop("record", None)
        await edit(query.message, actor.t("record.staff_only"))
        return ConversationHandler.END
    if choice == "none":
        await edit(query.message, await keep_spot_answer(context, actor, case, None, False))
        return ConversationHandler.END
    draft = draft_of(context, "record")
    draft["resolved"] = choice == "solved"
    text, markup = spot_question(actor, draft)
    await edit(query.message, text, markup)
    return RecordStep.SPOT


async def keep_spot_answer(
    context: Context, actor: Actor, case: Case, answer: str | None, resolved: bool
) -> str:
    """V-3: record the spot answer (or that there was none) once; resolved on the spot,
    resolve the case with it (Q-1), if it is still new. Ends the record; says what was
    kept."""
    svc = services(context)
    answered = any(e["event"] in calls.SPOT_EVENTS for e in await svc.cases.trail(case.id))
    decision = calls.spot_answer(case, answer, answered_already=answered)
    if decision is not None:
        await steps.apply(svc, case, decision, actor)
    key = "record.spot_none_saved" if answer is None else "record.spot_saved"
    if resolved and answer is not None:
        fresh = await svc.cases.get(case.id)
        if (
            fresh is not None
            and fresh.status == Status.NEW
            and steps.is_first_responder(actor, fresh)
        ):
            by, facts = steps.by(actor), await steps.facts(svc, fresh)
            resolved_now = calls.resolved_on_the_spot(fresh, answer, by, facts)
            unclassified = resolved_now is None  # C-4: a complaint is classified first
            if resolved_now is not None:
                fresh = await steps.apply(svc, fresh, resolved_now, actor)
        else:
            unclassified = False
        # Resolved now, or already (by this message handled before, or by a colleague).
        done = fresh is not None and fresh.status in (Status.DONE, Status.CLOSED)
        key = "record.spot_saved_resolved" if done else "record.spot_saved_moved"
        if unclassified:
            key = "record.spot_saved_classify_first"
    await svc.deliver()
    if context.user_data is not None:
        context.user_data.pop("record", None)
    log.info("spot answer of case %s recorded by person %s", case.number, actor.person.id)
    return actor.t(key, number=case.number)


async def spot_first(update: Update, context: Context) -> int:
    """V-3: /record, /visit or /cancel while a spot answer is asked: it is asked again
    first (the case is filed; only the answer, or "no answer on the spot", ends it)."""
    actor = await who(update, context)
    if actor is None:
        return RecordStep.SPOT
    number = str(draft_of(context, "record").get("number", ""))
    hint = actor.t("record.spot_first", number=number)
    return await ask_record(update, context, actor, RecordStep.SPOT, hint)


cancel_record = canceller("record")


def record_conversation() -> ConversationHandler[Context]:
    """The call and visit record (V-4), persistent."""
    S = RecordStep
    return persistent_flow(
        entry_points=[CommandHandler("record", start_record, filters.ChatType.PRIVATE)],
        states={
            S.ESTATE: [
                CallbackQueryHandler(got_record_estate, pattern=r"^rec:est:"),
                MessageHandler(OTHER, record_expected(S.ESTATE, TAP_HINT)),
            ],
            S.CHANNEL: [
                CallbackQueryHandler(got_channel, pattern=r"^rec:ch:"),
                MessageHandler(OTHER, record_expected(S.CHANNEL, TAP_HINT)),
            ],
            S.NAME: [
                MessageHandler(TEXT, got_name),
                MessageHandler(OTHER, record_expected(S.NAME, "record.text_please")),
            ],
            S.PHONE: [
                MessageHandler(TEXT, got_phone),
                CallbackQueryHandler(got_phone_skip, pattern=r"^rec:skip:phone$"),
                MessageHandler(OTHER, record_expected(S.PHONE, "record.text_please")),
            ],
            S.UNIT: [
                MessageHandler(TEXT, got_unit_text),
                CallbackQueryHandler(got_unit_button, pattern=r"^rec:unit:"),
                CallbackQueryHandler(got_unit_skip, pattern=r"^rec:skip:unit$"),
                MessageHandler(OTHER, record_expected(S.UNIT, "record.text_please")),
            ],
            S.KIND: [
                CallbackQueryHandler(got_kind, pattern=r"^rec:kind:"),
                MessageHandler(OTHER, record_expected(S.KIND, TAP_HINT)),
            ],
            S.CATEGORY: [
                CallbackQueryHandler(got_record_category, pattern=r"^rec:cat:"),
                MessageHandler(OTHER, record_expected(S.CATEGORY, TAP_HINT)),
            ],
            S.DESCRIBE: [
                MessageHandler(TEXT, got_record_description),
                MessageHandler(OTHER, record_expected(S.DESCRIBE, "record.text_please")),
            ],
            S.URGENCY: [
                CallbackQueryHandler(got_record_urgency, pattern=r"^rec:urg:[01]$"),
                MessageHandler(OTHER, record_expected(S.URGENCY, TAP_HINT)),
            ],
            S.SPOT: [
                MessageHandler(TEXT, got_spot_answer),
                CallbackQueryHandler(got_spot_button, pattern=r"^rec:spot:"),
                CommandHandler(["record", "visit", "cancel"], spot_first),
                MessageHandler(OTHER, record_expected(S.SPOT, "record.spot_text_please")),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_record),
            CallbackQueryHandler(stale, pattern=r"^rec:"),
        ],
        name="records",
    )


def handlers() -> list[AnyHandler]:
    """/record (V-1..V-5), and its answer in a group."""
    return [
        record_conversation(),
        CommandHandler(["record", "visit"], private_only, filters.ChatType.GROUPS),
    ]
