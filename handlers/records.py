"""Staff record the calls and visits of people who do not use the bot (V-1..V-5), and the
visits they make themselves (A-1).

``/record`` (客戶來電來訪記錄表, V-4), a persistent conversation in a private chat, for
customer-service staff only (customer assistant, customer-centre supervisor, customer head,
admin; re-checked when the record is filed): estate (buttons, only for someone who serves
several) → phone call or visit → the caller's name → the caller's number (V-4: from the
caller display; a visitor may decline to give one) → unit (typed, or skipped; a caller
whose number is on the roster is recognised and, when no unit is typed, their unit taken)
→ request or complaint → category → what they said → normal or urgent (V-2: major, urgent
or sudden goes to the superior at once) → filed through the engine as a resident's case is:
number, first responder's card (Q-1, C-9), clocks (Q-4, C-5), the supervisor asked to
classify a complaint (C-4) and told at once of an urgent case (V-2).

``/visit`` (客戶訪問, A-1): estate → where (at home, by phone, in common areas, at the
office) → who (a unit, or a name when there is none) → what was heard → satisfaction 1–5.
It is stored as a case of kind ``visit`` that queues nothing and starts no clock, and is
closed at once with its score (so the weekly report counts it).

Button data: ``rec:est:<estate>``, ``rec:ch:<phone|visit>``, ``rec:skip:<phone|unit>``,
``rec:unit:<unit>``, ``rec:kind:<request|complaint>``, ``rec:cat:<category>``,
``rec:urg:<0|1>``; ``vis:est:<estate>``, ``vis:pl:<place>``, ``vis:unit:<unit>``,
``vis:s:<1-5>``. The draft lives in ``user_data`` as plain JSON (ids and text), so a
restart half-way loses nothing.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
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

from bot.engine import engine
from handlers.common import (
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
)
from procedures.cases import CATEGORIES, Action, Kind, clean_description
from procedures.permissions import Act, may
from procedures.phone import normalise_caller_phone
from storage.cases import Case, Effects, NewCase
from storage.identity import Estate, Unit

log = logging.getLogger(__name__)

NEW = filters.UpdateType.MESSAGE
TEXT = NEW & filters.TEXT & ~filters.COMMAND
OTHER = NEW & ~filters.COMMAND

#: Longest name or form of address kept for a caller or a visited resident.
MAX_NAME = 40
#: Most units offered as buttons when a typed unit matches several.
MAX_CHOICES = 12
#: What staff may type instead of pressing "skip".
SKIP_WORDS = frozenset({"skip", "跳过", "跳過", "-", "—", "无", "無", "none"})
#: How a call or visit reached us (V-1): the case's channel.
CHANNELS = ("phone", "visit")
#: A-1: where a visit took place; stored as the visit case's channel.
PLACES = ("home", "phone", "common", "office")
SCORES = range(1, 6)

Step = Callable[[Update, Context], Coroutine[Any, Any, int]]


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


class VisitStep(IntEnum):
    """Where a staff member is in recording their own customer visit (A-1)."""

    ESTATE = 1
    PLACE = 2
    WHO = 3
    HEARD = 4
    SCORE = 5


# --- shared ------------------------------------------------------------------------------------


def may_record(actor: Actor, estate_id: int) -> bool:
    """Customer-service staff of the estate record calls and visits (an admin, as such, not)."""
    return may(Act.RECORD_CALL, actor.roles_in(estate_id))  # V-4, A-1


async def recorder_estates(context: Context, actor: Actor) -> list[Estate]:
    """The estates where this person may record."""
    return [e for e in await services(context).identity.estates() if may_record(actor, e.id)]


def _draft(context: Context, key: str) -> dict[str, Any]:
    """The draft under ``key`` (empty when there is none: a finished or lost flow)."""
    found = (context.user_data or {}).get(key)
    return found if isinstance(found, dict) else {}


def one_line(text: str) -> str:
    """Text on one line with single spaces."""
    return " ".join(text.split())


def is_skip(text: str) -> bool:
    """Whether staff typed "skip" in one of its forms."""
    return text.strip().casefold() in SKIP_WORDS


def owner_line(units: list[Unit]) -> str:
    """``王伟 1栋 101 / 2栋 101``: the roster owner of a phone and their units."""
    return f"{units[0].owner_name} " + " / ".join(u.label for u in units)


async def private_only(update: Update, context: Context) -> None:
    """/record or /visit in a group: names and phone numbers are recorded in private only."""
    actor = await who(update, context)
    if actor is not None:
        await reply(update, context, actor.t("common.private_only"))


async def stale(update: Update, context: Context) -> None:
    """An old button of this flow pressed at another step."""
    query = update.callback_query
    actor = await who(update, context)
    if query is not None and actor is not None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)


def _estate_buttons(estates: list[Estate], prefix: str) -> InlineKeyboardMarkup:
    return keyboard(in_rows([button(e.name, f"{prefix}:est:{e.id}") for e in estates]))


async def _estate_name(context: Context, estate_id: int) -> str:
    estate = await services(context).identity.estate(estate_id)
    return estate.name if estate else "—"


async def _unit_of(context: Context, raw: str | None, estate_id: object) -> Unit | None:
    """The unit a button names, if it exists and belongs to the draft's estate."""
    unit_id = parse_id(raw)
    unit = await services(context).identity.unit(unit_id) if unit_id is not None else None
    return unit if unit is not None and unit.estate_id == estate_id else None


# --- /record: questions ------------------------------------------------------------------------


async def ask_record(
    update: Update, context: Context, actor: Actor, step: RecordStep, hint: str = ""
) -> int:
    """Ask the question of ``step`` (after ``hint``, when bad input came), with its buttons."""
    draft = _draft(context, "record")
    markup: InlineKeyboardMarkup | None = None
    if step == RecordStep.ESTATE:
        text = actor.t("record.ask_estate")
        markup = _estate_buttons(await recorder_estates(context, actor), "rec")
    elif step == RecordStep.CHANNEL:
        estate = await _estate_name(context, int(draft["estate_id"]))
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
    await reply(update, context, f"{hint}\n{text}" if hint else text, markup)
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


# Both flows (/record and /visit) share their start, estate choice, re-asking and /cancel;
# each keeps its draft under its own key in user_data and asks with its own ``ask``.
Ask = Callable[[Update, Context, Actor, Any, str], Awaitable[int]]


def _expected(key: str, ask: Ask, step: IntEnum, hint_key: str) -> Step:
    """Anything else at ``step``: a polite hint and the same question again."""

    async def expected(update: Update, context: Context) -> int:
        actor = await who(update, context)
        if actor is None:
            return int(step)
        if key not in (context.user_data or {}):
            await reply(update, context, actor.t("common.stale_button"))
            return ConversationHandler.END
        return await ask(update, context, actor, step, actor.t(hint_key))

    expected.__doc__ = f"Bad input while the {step.name.lower()} is expected: ask again."
    return expected


def _starter(key: str, ask: Ask, estate_step: IntEnum, next_step: IntEnum) -> Step:
    """The command that starts a flow: staff only; ask the estate if several, else go on."""

    async def start(update: Update, context: Context) -> int:
        actor = await who(update, context)
        if actor is None or context.user_data is None:
            return ConversationHandler.END
        context.user_data.pop(key, None)
        estates = await recorder_estates(context, actor)
        if not estates:
            await reply(update, context, actor.t(f"{key}.staff_only"))
            return ConversationHandler.END
        context.user_data[key] = {}
        if len(estates) > 1:
            return await ask(update, context, actor, estate_step, "")
        context.user_data[key]["estate_id"] = estates[0].id
        return await ask(update, context, actor, next_step, "")

    return start


def _estate_chooser(key: str, ask: Ask, next_step: IntEnum) -> Step:
    """An estate button (one the person records for now): keep it and go on."""

    async def chosen(update: Update, context: Context) -> int:
        query = update.callback_query
        actor = await who(update, context)
        if query is None or actor is None:
            return ConversationHandler.END
        await query.answer()
        draft = _draft(context, key)
        estate_id = parse_id((query.data or "").rsplit(":", 1)[-1])
        estates = {e.id: e for e in await recorder_estates(context, actor)}
        if context.user_data is None or key not in context.user_data or estate_id not in estates:
            await edit(query.message, actor.t("common.stale_button"))
            return ConversationHandler.END
        draft["estate_id"] = estate_id
        await edit(query.message, actor.t("record.estate_chosen", estate=estates[estate_id].name))
        return await ask(update, context, actor, next_step, "")

    return chosen


def record_expected(step: RecordStep, hint_key: str) -> Step:
    """Anything else at ``step`` of /record: a polite hint and the same question again."""
    return _expected("record", ask_record, step, hint_key)


# --- /record: steps ------------------------------------------------------------------------------


#: /record: customer-service staff only; ask the estate (if several), else the channel.
start_record = _starter("record", ask_record, RecordStep.ESTATE, RecordStep.CHANNEL)
#: An estate button of /record: keep it; ask phone or visit.
got_record_estate = _estate_chooser("record", ask_record, RecordStep.CHANNEL)


async def got_channel(update: Update, context: Context) -> int:
    """Phone call or visit: keep it; ask the caller's name."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = _draft(context, "record")
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
    draft = _draft(context, "record")
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
    draft = _draft(context, "record")
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
    draft = _draft(context, "record")
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
    draft = _draft(context, "record")
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
    draft = _draft(context, "record")
    unit = await _unit_of(context, (query.data or "").rsplit(":", 1)[-1], draft.get("estate_id"))
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
    draft = _draft(context, "record")
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
    draft = _draft(context, "record")
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
    draft = _draft(context, "record")
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
    draft = _draft(context, "record")
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
    draft = _draft(context, "record")
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
    eng = engine(context)
    case = await eng.file(
        NewCase(
            estate_id=estate_id,
            kind=Kind(draft["kind"]),
            category=str(draft["category"]),
            description=clean_description(str(draft["description"])),
            unit_id=unit.id if unit else None,
            resident_id=None,  # the caller has no account: staff recorded it (V-4)
            urgent=urgent,  # V-2: the engine reports an urgent case to the superior at once
            channel=channel,
            caller_name=name,
            caller_phone=phone,
            created_by=actor.person.id,
        ),
        actor=actor,
    )
    context.user_data.pop("record", None)
    text = actor.t("record.filed", number=case.number) + "\n\n" + eng.card(actor.locale, case)
    if phone:
        roster = [u for u in await identity.units_for_phone(phone) if u.estate_id == estate_id]
        if roster:
            text += "\n" + actor.t("record.roster_owner", owner=owner_line(roster))
    await reply(update, context, text)
    log.info("case %s recorded (%s) by person %s", case.number, channel, actor.person.id)
    return ConversationHandler.END


cancel_record = canceller("record")


def record_conversation() -> ConversationHandler[Context]:
    """The call and visit record (V-4), persistent."""
    S = RecordStep
    with warnings.catch_warnings():
        # per_message=False with button steps makes PTB warn; the state is per chat and user
        # on purpose, and each button handler checks the stored draft before acting.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=[CommandHandler("record", start_record, filters.ChatType.PRIVATE)],
            states={
                S.ESTATE: [
                    CallbackQueryHandler(got_record_estate, pattern=r"^rec:est:"),
                    MessageHandler(OTHER, record_expected(S.ESTATE, "common.tap_a_button")),
                ],
                S.CHANNEL: [
                    CallbackQueryHandler(got_channel, pattern=r"^rec:ch:"),
                    MessageHandler(OTHER, record_expected(S.CHANNEL, "common.tap_a_button")),
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
                    MessageHandler(OTHER, record_expected(S.KIND, "common.tap_a_button")),
                ],
                S.CATEGORY: [
                    CallbackQueryHandler(got_record_category, pattern=r"^rec:cat:"),
                    MessageHandler(OTHER, record_expected(S.CATEGORY, "common.tap_a_button")),
                ],
                S.DESCRIBE: [
                    MessageHandler(TEXT, got_record_description),
                    MessageHandler(OTHER, record_expected(S.DESCRIBE, "record.text_please")),
                ],
                S.URGENCY: [
                    CallbackQueryHandler(got_record_urgency, pattern=r"^rec:urg:[01]$"),
                    MessageHandler(OTHER, record_expected(S.URGENCY, "common.tap_a_button")),
                ],
            },
            fallbacks=[
                CommandHandler("cancel", cancel_record),
                CallbackQueryHandler(stale, pattern=r"^rec:"),
            ],
            name="records",
            persistent=True,
            allow_reentry=True,
        )


# --- /visit (A-1) --------------------------------------------------------------------------------


async def ask_visit(
    update: Update, context: Context, actor: Actor, step: VisitStep, hint: str = ""
) -> int:
    """Ask the question of ``step`` (after ``hint``, when bad input came), with its buttons."""
    draft = _draft(context, "visit")
    markup: InlineKeyboardMarkup | None = None
    if step == VisitStep.ESTATE:
        text = actor.t("visit.ask_estate")
        markup = _estate_buttons(await recorder_estates(context, actor), "vis")
    elif step == VisitStep.PLACE:
        estate = await _estate_name(context, int(draft["estate_id"]))
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
    await reply(update, context, f"{hint}\n{text}" if hint else text, markup)
    return step


def _score_rows() -> list[list[InlineKeyboardButton]]:
    stars = [button("⭐" * n, f"vis:s:{n}") for n in SCORES]
    return [stars[:3], stars[3:]]


def visit_expected(step: VisitStep, hint_key: str) -> Step:
    """Anything else at ``step`` of /visit: a polite hint and the same question again."""
    return _expected("visit", ask_visit, step, hint_key)


#: /visit: customer-service staff only; ask the estate (if several), else the place.
start_visit = _starter("visit", ask_visit, VisitStep.ESTATE, VisitStep.PLACE)
#: An estate button of /visit: keep it; ask where the visit took place.
got_visit_estate = _estate_chooser("visit", ask_visit, VisitStep.PLACE)


async def got_place(update: Update, context: Context) -> int:
    """Where (home, phone, common areas, office): keep it; ask who was visited."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = _draft(context, "visit")
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
    draft = _draft(context, "visit")
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
    draft = _draft(context, "visit")
    unit = await _unit_of(context, (query.data or "").rsplit(":", 1)[-1], draft.get("estate_id"))
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
    draft = _draft(context, "visit")
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
    draft = _draft(context, "visit")
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
    eng = engine(context)
    rules = await eng.rules(new.estate_id)

    async def nothing(case: Case) -> Effects:
        return Effects()

    now = eng.clock.now()
    local = rules.calendar.local(now)
    scored = {"satisfaction": score, "called_back_at": now, "callback_channel": "visit"}
    return await eng.cases.file(
        new, local, nothing, actor=f"person:{actor.person.id}",
        then=[(Action.RESOLVE, {}), (Action.CLOSE, scored)],
    )  # fmt: skip


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
                    MessageHandler(OTHER, visit_expected(S.ESTATE, "common.tap_a_button")),
                ],
                S.PLACE: [
                    CallbackQueryHandler(got_place, pattern=r"^vis:pl:"),
                    MessageHandler(OTHER, visit_expected(S.PLACE, "common.tap_a_button")),
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
                    MessageHandler(OTHER, visit_expected(S.SCORE, "common.tap_a_button")),
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
    """/record (V-1..V-5) and /visit (A-1), and their answer in a group."""
    return [
        record_conversation(),
        visit_conversation(),
        CommandHandler(["record", "visit"], private_only, filters.ChatType.GROUPS),
    ]
