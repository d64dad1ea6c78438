"""Requests (P6) in chat, and the steps every case shares: residents file requests and
complaints; the first responder and departments handle them (procedures.requests decides).

Filing (a persistent conversation): ``/request`` or ``/complain`` → category → unit (when
the resident has several) → description, with photos if they like → normal or urgent →
filed: the resident gets the case number and a summary card (Q-2, C-10: recorded), the
customer-service group gets the first responder's card (Q-1, C-9), and the deadlines start.

Every later step is a button re-checked against the database (who may press it, and whether
the case is still where the button assumes):

* first responder (``rq:resolve|refer|to|escalate|menu``): resolve on the spot, refer to a
  department, report at once as major/urgent (Q-1, V-2, C-3); and while the case is open
  (``rq:fwhen|fpr``), fix the time promised to the resident: a complaint's next reply
  (C-1), a request's time to be handled by (Q-4);
* department group (``rq:take|done|when|pr|dmenu``): take it, promise a time, mark it done
  (Q-4: handling, not a first reply, stops the clock).

Staff send the resident progress (text or photos) by replying to the case card in their
group, or, without "reply to", from their private chat: the card's ✍️ link opens it with
``/start r<case>`` (handlers.registration), and their next message there is the progress
(:func:`ask_progress`, :func:`private_progress`); both go through :func:`record_progress`.

Buttons of earlier versions (``cs:…``, ``dp:…``) are still answered (handlers.cards).
Each step's messages go through the outbox, in the step's own transaction.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Collection
from enum import IntEnum, StrEnum
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

from bot.crashpoints import crashpoint
from bot.i18n import t
from bot.settings import LOCALES
from handlers import cards, photos, steps
from handlers.cards import card, department_keyboard, first_responder_keyboard
from handlers.common import (
    Actor,
    AnyHandler,
    Context,
    Services,
    awaited_reply,
    button,
    canceller,
    edit,
    flush_persistence,
    in_rows,
    keyboard,
    parse_id,
    persistent_flow,
    prompt_reply,
    reply,
    services,
    tap_hint,
    who,
)
from handlers.steps import facts, is_department_member, is_first_responder, may_finish
from procedures import requests
from procedures.cases import (
    CATEGORIES,
    MAX_PHOTOS,
    REFERRABLE,
    Case,
    Kind,
    Status,
    clean_description,
)
from procedures.decisions import Decision, Evidence, Facts
from procedures.identity import fold
from procedures.rule_ids import RuleId
from procedures.subjects import CASE, Subject
from storage import evidence
from storage.cases import NewCase
from storage.identity import Unit, unit_key

log = logging.getLogger(__name__)

NEW = filters.UpdateType.MESSAGE


class Step(IntEnum):
    """Where a resident is in filing."""

    CATEGORY = 1
    UNIT = 2
    DESCRIBE = 3
    URGENCY = 4


def _draft(context: Context) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault("case", {})
    return draft


async def begin(
    update: Update, context: Context, kind: Kind, *, confirmed: bool = False
) -> int | None:
    """/request or /complain: residents only; ask the category. Typed while a draft is
    under way, it asks first whether to drop it (unless ``confirmed``)."""
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return ConversationHandler.END
    units = await services(context).identity.units_of(actor.person.id)
    if not units:
        # Staff file for a caller through /record (V-3), not as themselves.
        said = "case.staff_use_record" if actor.is_staff else "case.residents_only"
        await reply(update, context, actor.t(said))
        return ConversationHandler.END
    draft = context.user_data.get("case")
    if not confirmed and isinstance(draft, dict) and await under_way(context, draft):
        await ask_to_drop(update, context, actor, draft, kind)
        return None  # the flow stays where it was until they choose
    # The draft's key makes filing it idempotent (a second press files nothing twice).
    key = f"{actor.person.id}:{update.update_id}"
    context.user_data["case"] = {"kind": kind.value, "photos": [], "key": key}
    said = clean_description(" ".join(context.args or ()))
    if len(said) >= 2:  # "/complain 电梯又坏了": the description came with the command
        context.user_data["case"]["description"] = said
    offered = await offered_categories(context, actor, context.user_data["case"])
    buttons = [button(actor.t(f"category.{c}"), f"case:cat:{c}") for c in offered]
    await reply(
        update, context, actor.t(f"case.ask_category_{kind.value}"), keyboard(in_rows(buttons, 3))
    )
    return Step.CATEGORY


async def start_request(update: Update, context: Context) -> int | None:
    """/request: a request, repair or suggestion (P6)."""
    return await begin(update, context, Kind.REQUEST)


async def start_complaint(update: Update, context: Context) -> int | None:
    """/complain: a complaint (P7)."""
    return await begin(update, context, Kind.COMPLAINT)


async def under_way(context: Context, draft: dict[str, Any]) -> bool:
    """Whether a draft holds anything the resident gave (a choice, text, a photo) and was
    not filed (a crash just after filing can leave the filed draft behind)."""
    if not any(draft.get(k) for k in ("category", "unit_id", "description", "photos")):
        return False
    key = draft.get("key")
    return not (isinstance(key, str) and await services(context).cases.filed_from(key))


def draft_name(actor: Actor, draft: dict[str, Any]) -> str:
    """A draft as the resident knows it: "报事（报修）"."""
    kind = actor.t(f"kind.{draft.get('kind', Kind.REQUEST.value)}")
    category = draft.get("category")
    if category in CATEGORIES:
        return actor.t("case.draft_name", kind=kind, category=actor.t(f"category.{category}"))
    return kind


async def ask_to_drop(
    update: Update, context: Context, actor: Actor, draft: dict[str, Any], kind: Kind
) -> None:
    """/complain typed while a request is being filed (or /request while one is): drop it
    for the new one, or go on with it?"""
    same = draft.get("kind") == kind.value
    named = draft_name(actor, draft)
    new = actor.t(f"kind.{kind.value}")
    question = (
        actor.t("case.restart_ask", draft=named)
        if same
        else actor.t("case.switch_ask", draft=named, kind=new)
    )
    drop = actor.t("case.btn_restart") if same else actor.t("case.btn_switch", kind=new)
    rows = [
        [button(drop, f"case:sw:{kind.value}")],
        [button(actor.t("case.btn_keep", draft=named), "case:keep")],
    ]
    await reply(update, context, question, keyboard(rows))


async def got_switch(update: Update, context: Context) -> int | None:
    """The answer to :func:`ask_to_drop`: the draft dropped and the new flow begun, or the
    draft kept where it was (its question still above)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return None
    await query.answer()
    draft = context.user_data.get("case")
    named = draft_name(actor, draft) if isinstance(draft, dict) else ""
    data = query.data or ""
    if data == "case:keep":
        if not isinstance(draft, dict) or not draft:
            await edit(query.message, actor.t("common.stale_button"))
            return ConversationHandler.END
        await edit(query.message, actor.t("case.kept", draft=named))
        return None
    kind = Kind(data.rsplit(":", 1)[-1])
    if named:
        await edit(query.message, actor.t("case.dropped", draft=named))
    context.user_data.pop("case", None)
    return await begin(update, context, kind, confirmed=True)


async def offered_categories(context: Context, actor: Actor, draft: dict[str, Any]) -> list[str]:
    """The categories offered: the chosen unit's estate's, else those of every estate the
    resident has a unit in, in their order."""
    svc = services(context)
    if "estate_id" in draft:
        return list((await svc.rules(int(draft["estate_id"]))).categories)
    offered: list[str] = []
    units = await svc.identity.units_of(actor.person.id)
    for estate_id in dict.fromkeys(u.estate_id for u in units):
        offered += [c for c in (await svc.rules(estate_id)).categories if c not in offered]
    return offered


async def got_category(update: Update, context: Context) -> int:
    """A category button: remember it; ask the unit (if several) or the description."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    category = (query.data or "").rsplit(":", 1)[-1]
    draft = _draft(context)
    if category not in CATEGORIES or "kind" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    await edit(
        query.message, actor.t("case.category_chosen", category=actor.t(f"category.{category}"))
    )
    return await chosen_category(update, context, actor, category)


async def got_category_text(update: Update, context: Context) -> int | None:
    """A message where the category is asked: a category's name typed (in any language) is
    the choice; anything else is told which buttons there are, and the question stands."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or "kind" not in _draft(context):
        return None
    offered = await offered_categories(context, actor, _draft(context))
    typed = typed_word(message.text or "")
    named = [c for c in offered if typed and typed in category_words(c)]
    if len(named) != 1:
        labels = [actor.t(f"category.{c}") for c in offered]
        await reply(update, context, tap_hint(actor, labels))
        return None
    await reply(
        update, context, actor.t("case.category_chosen", category=actor.t(f"category.{named[0]}"))
    )
    return await chosen_category(update, context, actor, named[0])


def typed_word(text: str) -> str:
    """A word typed for a button, folded for matching: NFKC, lower case, no spaces, no
    emoji or other symbols, no closing punctuation ("🚨 紧急！" → "紧急")."""
    kept = "".join(c for c in fold(text) if unicodedata.category(c)[0] != "S")
    return kept.rstrip("!！。.,，~～")


def category_words(category: str) -> set[str]:
    """What a resident may type for a category: its name in every language, its code."""
    return {typed_word(t(locale, f"category.{category}")) for locale in LOCALES} | {category}


async def chosen_category(update: Update, context: Context, actor: Actor, category: str) -> int:
    """Keep the category; ask the unit (if several) or the description."""
    draft = _draft(context)
    draft["category"] = category
    if "unit_id" in draft:  # the unit came first (its estate offers other categories)
        return await ask_description(update, context, actor)
    units = await services(context).identity.units_of(actor.person.id)
    if len(units) == 1:
        draft["unit_id"] = units[0].id
        draft["estate_id"] = units[0].estate_id
        return await ask_description(update, context, actor)
    buttons = [button(unit_button(u), f"case:unit:{u.id}") for u in units]
    await reply(update, context, actor.t("case.ask_unit"), keyboard(in_rows(buttons, 1)))
    return Step.UNIT


async def got_unit(update: Update, context: Context) -> int:
    """A unit button (the resident's own units only)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    unit_id = parse_id((query.data or "").rsplit(":", 1)[-1])
    units = {u.id: u for u in await services(context).identity.units_of(actor.person.id)}
    if unit_id not in units:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    await edit(query.message, actor.t("case.unit_chosen", unit=units[unit_id].label))
    return await chosen_unit(update, context, actor, units[unit_id])


async def got_unit_text(update: Update, context: Context) -> int | None:
    """A message where the unit is asked: one of the resident's units typed ("1栋 101",
    "2-101") is the choice; anything else is told which buttons there are."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or "kind" not in _draft(context):
        return None
    units = await services(context).identity.units_of(actor.person.id)
    wanted = unit_key(message.text or "")
    named = [u for u in units if wanted and wanted in unit_words(u)]
    if len(named) != 1:
        await reply(update, context, tap_hint(actor, [unit_button(u) for u in named or units]))
        return None
    await reply(update, context, actor.t("case.unit_chosen", unit=named[0].label))
    return await chosen_unit(update, context, actor, named[0])


def unit_button(unit: Unit) -> str:
    """A unit as its button reads: ``阳光花园 · 1栋 101``."""
    return f"{unit.estate_name} · {unit.label}"


def unit_words(unit: Unit) -> set[str]:
    """What a resident may type for their unit: as registration matches it (``101``,
    ``1栋 101``, ``1-101``), or as its button reads."""
    number = unit_key(unit.number)
    return {number, unit_key(unit.building) + number, unit_key(unit_button(unit))}


async def chosen_unit(update: Update, context: Context, actor: Actor, unit: Unit) -> int:
    """Keep the unit (and its estate); ask the description, or the category again when the
    unit's estate does not offer the one chosen."""
    draft = _draft(context)
    draft["unit_id"] = unit.id
    draft["estate_id"] = unit.estate_id
    categories = (await services(context).rules(unit.estate_id)).categories
    if draft.get("category") not in categories:  # that estate does not offer it: ask again
        buttons = [button(actor.t(f"category.{c}"), f"case:cat:{c}") for c in categories]
        draft.pop("category", None)
        await reply(
            update, context, actor.t("case.category_elsewhere"), keyboard(in_rows(buttons, 3))
        )
        return Step.CATEGORY
    return await ask_description(update, context, actor)


async def ask_description(update: Update, context: Context, actor: Actor) -> int:
    """Category and unit are in: ask the description, or normal or urgent when it came with
    the command (``/complain 电梯又坏了``)."""
    if _draft(context).get("description"):
        return await ask_urgency(update, context, actor)
    await reply(update, context, actor.t("case.ask_description"))
    return Step.DESCRIBE


async def got_description(update: Update, context: Context) -> int:
    """The description: keep it, ask normal or urgent."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return ConversationHandler.END
    text = clean_description(message.text or "")
    if len(text) < 2:
        await reply(update, context, actor.t("case.description_too_short"))
        return Step.DESCRIBE
    _draft(context)["description"] = text
    return await ask_urgency(update, context, actor)


async def got_photo(update: Update, context: Context) -> int:
    """A photo, an image sent as a file, or an album's photo: downloaded, checked and kept
    as evidence at once (a refused file is explained and changes nothing), and listed with
    the draft, up to the limit. A caption is the description; once there is one, normal or
    urgent is asked — for an album once, at the photo that carries its caption (the
    album's other photos join quietly)."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or photos.sent_image(message) is None:
        return Step.DESCRIBE
    draft = _draft(context)
    here = Step.URGENCY if draft.get("description") else Step.DESCRIBE
    kept: list[Any] = draft.setdefault("photos", [])
    album = message.media_group_id
    first_of_album = album is not None and draft.get("album") != album
    if album is not None:
        draft["album"] = album
    if len(kept) >= MAX_PHOTOS:
        await reply(update, context, actor.t("case.too_many_photos", limit=MAX_PHOTOS))
        return here
    received = await photos.take_in(update, context, actor)
    if received is None:
        return here
    came = services(context).clock.now().isoformat()
    kept.append({"file_id": received.file_id, "sha256": received.sha256, "at": came})
    captioned = bool(message.caption) and not draft.get("description")
    if captioned:
        draft["description"] = clean_description(message.caption or "")
    if not draft.get("description"):
        if album is None or first_of_album:
            await reply(update, context, actor.t("case.photo_received", count=len(kept)))
        return Step.DESCRIBE
    if album is None:
        return await ask_urgency(update, context, actor)  # the caption is the description
    if captioned or first_of_album:  # asked once per album
        return await ask_urgency(update, context, actor, album=True)
    return Step.URGENCY


def draft_photos(draft: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The draft's photos as (Telegram id, original's SHA-256); a draft saved by an earlier
    version lists bare Telegram ids (no evidence kept)."""
    return [
        (p, None) if isinstance(p, str) else (str(p["file_id"]), p.get("sha256"))
        for p in draft.get("photos", [])
    ]


async def ask_urgency(
    update: Update, context: Context, actor: Actor, *, album: bool = False
) -> int:
    """The description is in (typed, or a photo's caption): normal or urgent? (An album's
    photos are still arriving when it is asked: they are not counted then.)"""
    draft = _draft(context)
    question = (
        actor.t("case.ask_urgency_album")
        if album
        else actor.t("case.ask_urgency", photos=len(draft.get("photos", [])))
    )
    await reply(
        update,
        context,
        question,
        keyboard(
            [
                [
                    button(actor.t("case.normal"), "case:urg:0"),
                    button(actor.t("case.urgent"), "case:urg:1"),
                ]
            ]
        ),
    )
    return Step.URGENCY


async def describe_expected(update: Update, context: Context) -> int:
    """Anything else while the description is expected."""
    actor = await who(update, context)
    if actor is not None:
        await reply(update, context, actor.t("case.ask_description"))
    return Step.DESCRIBE


async def got_urgency(update: Update, context: Context) -> int:
    """Normal or urgent (a button): file the case."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    draft = context.user_data.get("case") or {}
    if not draft.get("description") or "estate_id" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    urgent = (query.data or "").endswith(":1")
    # Save first, then edit the person's message: had the edit come first, a crash between
    # the two would lose the case and leave no button to press again.
    ended = await file_draft(context, actor, draft, urgent)
    await edit(
        query.message, actor.t("case.urgency_chosen_1" if urgent else "case.urgency_chosen_0")
    )
    crashpoint("filing.edited")  # tests only (bot.crashpoints)
    return ended


#: Words a resident may type instead of tapping "normal" or "urgent" (any locale; as
#: :func:`typed_word` folds them, so "🚨 紧急" and "Not urgent" count too).
URGENT_WORDS = frozenset({"紧急", "緊急", "急", "很急", "urgent", "emergency"})
NORMAL_WORDS = frozenset({"普通", "不急", "一般", "normal", "noturgent"})


async def got_urgency_text(update: Update, context: Context) -> int:
    """Text where normal or urgent is asked: "紧急" or "普通" typed is the answer; anything
    else adds to the description (never replaces it), and the question is asked again."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or context.user_data is None:
        return ConversationHandler.END
    draft = _draft(context)
    typed = (message.text or "").strip()
    word = typed_word(typed)
    if draft.get("description") and "estate_id" in draft and word in URGENT_WORDS | NORMAL_WORDS:
        urgent = word in URGENT_WORDS
        await reply(update, context, actor.t(f"case.urgency_chosen_{int(urgent)}"))
        return await file_draft(context, actor, draft, urgent)
    added = clean_description(typed)
    if added:
        before = str(draft.get("description") or "")
        draft["description"] = clean_description(f"{before}\n{added}" if before else added)
    return await ask_urgency(update, context, actor)


async def file_draft(context: Context, actor: Actor, draft: dict[str, Any], urgent: bool) -> int:
    """File the resident's draft (Q-2, C-10) and end the flow: its photos' display copies
    first (they name the case's number, reserved for them), so the cards go with them."""
    svc = services(context)
    kind, estate_id = Kind(draft["kind"]), int(draft["estate_id"])
    displays = await photos.filing_displays(svc, actor, draft, kind, estate_id)
    case = await steps.file(
        svc,
        NewCase(
            estate_id=estate_id,
            kind=kind,
            category=str(draft["category"]),
            description=str(draft["description"]),
            unit_id=int(draft["unit_id"]),
            resident_id=actor.person.id,
            urgent=urgent,
            photos=draft_photos(draft),
            displays=displays,
            created_by=actor.person.id,
            draft_key=draft.get("key"),
            number=draft.get("number"),
        ),
        requests.filed,
        actor,
    )
    await svc.deliver()
    assert context.user_data is not None
    context.user_data.pop("case", None)
    log.info("case %s filed by person %s", case.number, actor.person.id)
    return ConversationHandler.END


cancel = canceller("case")


def conversation() -> ConversationHandler[Context]:
    """The filing flow (persistent)."""
    private = filters.ChatType.PRIVATE
    return persistent_flow(
        entry_points=[
            CommandHandler("request", start_request, private),
            CommandHandler("complain", start_complaint, private),
            # Typed during a draft, they ask first: drop it, or keep it.
            CallbackQueryHandler(got_switch, pattern=r"^case:(sw:(request|complaint)|keep)$"),
        ],
        states={
            Step.CATEGORY: [
                CallbackQueryHandler(got_category, pattern=r"^case:cat:"),
                MessageHandler(NEW & ~filters.COMMAND, got_category_text),
            ],
            Step.UNIT: [
                CallbackQueryHandler(got_unit, pattern=r"^case:unit:"),
                MessageHandler(NEW & ~filters.COMMAND, got_unit_text),
            ],
            Step.DESCRIBE: [
                MessageHandler(NEW & filters.TEXT & ~filters.COMMAND, got_description),
                MessageHandler(NEW & (filters.PHOTO | filters.Document.ALL), got_photo),
                MessageHandler(NEW & ~filters.COMMAND, describe_expected),
            ],
            Step.URGENCY: [
                CallbackQueryHandler(got_urgency, pattern=r"^case:urg:[01]$"),
                MessageHandler(NEW & (filters.PHOTO | filters.Document.ALL), got_photo),
                MessageHandler(NEW & filters.TEXT & ~filters.COMMAND, got_urgency_text),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="filing",
    )


# --- staff buttons ---------------------------------------------------------------------------


async def case_button(
    update: Update, context: Context, verbs: Collection[str] | None = None
) -> tuple[CallbackQuery, Actor, list[str], Case] | None:
    """A pressed button about a case, ``<procedure>:<verb>:<case id>[:<value>…]`` (an
    earlier version's data translated): the query, who pressed it, the data's parts and the
    case (read afresh). A button naming no case that exists, or a verb not among ``verbs``,
    is answered as stale, and None returned."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return None
    parts = cards.modern_data(query.data or "")
    found = parse_id(parts[2]) if len(parts) >= 3 else None
    case = await services(context).cases.get(found or 0) if found else None
    if case is None or (verbs is not None and parts[1] not in verbs):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return None
    return query, actor, parts, case


async def staff_card(context: Context, locale: str, case: Case) -> str:
    """A case's card as staff see it in their groups: with the resident's contact, who took
    it and the time promised, so whoever goes out has what they need (as the notifier draws
    the cards it posts)."""
    notifier = services(context).notifier
    return notifier.staff_card(locale, case, await notifier.seen(case))


async def answer_step(
    query: CallbackQuery,
    actor: Actor,
    context: Context,
    case: Case,
    after: Case | None,
    markup: Callable[[str, Case], InlineKeyboardMarkup | None],
) -> None:
    """After a step: the card as it is now with its buttons, and the outbox woken; a step
    that no longer applied (someone else acted first) says so and shows the card afresh.
    A card the outbox posted is drawn as its redraw draws it (its head kept), so the edit
    the step queued for it finds it so already."""
    svc = services(context)
    if after is None:
        await query.answer(actor.t("case.already_moved"), show_alert=True)
        fresh = await svc.cases.get(case.id)
        if fresh is not None:
            text = await card_now(context, query, actor.locale, fresh)
            await edit(query.message, text, markup(actor.locale, fresh), later=svc)
        return
    await query.answer(actor.t("case.step_done"))
    text = await card_now(context, query, actor.locale, after)
    await edit(query.message, text, markup(actor.locale, after), later=svc)
    await svc.deliver()


async def card_now(context: Context, query: CallbackQuery, locale: str, case: Case) -> str:
    """The pressed card's text for ``case`` as it is now: a posted card with its head, in
    its own language; any other message, the staff card."""
    svc, message = services(context), query.message
    posted = await svc.cases.card_at(message.chat.id, message.message_id) if message else None
    if posted is None:
        return await staff_card(context, locale, case)
    return svc.notifier.redrawn_text(case, posted, await svc.notifier.seen(case))


async def show_promises(
    query: CallbackQuery, actor: Actor, context: Context, case: Case, *, first_responder: bool
) -> None:
    """Q-4, C-1: the promise times still ahead, in place of the card's buttons (nothing
    changes yet); refused at once when the promise is not this person's to make now."""
    known = await facts(services(context), case)
    refused = promise_refusal(actor, case, known)
    if refused is not None:
        await query.answer(refused, show_alert=True)
        return
    await query.answer()
    codes = requests.offered_promises(known)
    markup = cards.promise_keyboard(actor.locale, case, codes, first_responder=first_responder)
    await edit(query.message, await staff_card(context, actor.locale, case), markup)


def promise_refusal(actor: Actor, case: Case, known: Facts) -> str | None:
    """Why ``actor`` may not promise a time on ``case`` now (in their language), or None:
    once a request's day ran out, only the customer-centre supervisor promises (Q-4); a
    time promised whose clock is still in force is moved only by the department's head or
    the supervisor (Q-4, C-1)."""
    if requests.promise_too_late(case, known) and steps.late_promise_role(actor, case) is None:
        rules = known.rules
        ran_out = rules.calendar.local(known.due[RuleId.Q4]).strftime("%m-%d %H:%M")
        return actor.t("progress.promise_too_late", due=ran_out)
    if requests.promise_locked(case, known) and not steps.may_override(actor, case):
        complaint = case.kind == Kind.COMPLAINT  # C-1: its promise is the next reply time
        return actor.t(f"progress.{'complaint.' if complaint else ''}promised_once")
    return None


async def promise_step(
    query: CallbackQuery,
    actor: Actor,
    context: Context,
    case: Case,
    code: str,
    markup: Callable[[str, Case], InlineKeyboardMarkup | None],
) -> None:
    """Q-4, C-1: the time chosen is promised to the resident (checked again: who, and
    whether the promise is still theirs to make), and the card shown with ``markup``."""
    svc = services(context)
    known = await facts(svc, case)
    refused = promise_refusal(actor, case, known)
    if refused is not None:
        await query.answer(refused, show_alert=True)
        return
    role = steps.late_promise_role(actor, case)
    decision = requests.promise(case, code, known, by=steps.by(actor), role=role)
    after = await steps.apply(svc, case, decision, actor) if decision else None
    if after is None:
        await query.answer(actor.t("case.already_moved"), show_alert=True)
        return
    await answer_step(query, actor, context, case, after, markup)


async def on_first_responder(update: Update, context: Context) -> None:
    """``rq:<resolve|refer|escalate|to|menu|fwhen>:<case>[:<dept>]`` and
    ``rq:fpr:<case>:<choice>`` in the first responder's card (Q-1, C-9, V-2, C-3; the time
    promised to the resident, C-1 and Q-4)."""
    verbs = {"resolve", "refer", "escalate", "to", "menu", "fwhen", "fpr"}
    pressed = await case_button(update, context, verbs)
    if pressed is None:
        return
    query, actor, parts, case = pressed
    svc = services(context)
    if not is_first_responder(actor, case):
        await query.answer(actor.t("case.not_first_responder"), show_alert=True)
        return
    action = parts[1]
    if action == "fwhen":
        await show_promises(query, actor, context, case, first_responder=True)
        return
    if action == "fpr" and len(parts) == 4:
        await promise_step(query, actor, context, case, parts[3], first_responder_keyboard)
        return
    if action == "menu":
        await query.answer()
        text = await staff_card(context, actor.locale, case)
        await edit(query.message, text, first_responder_keyboard(actor.locale, case))
        return
    if action == "refer":  # show the departments; nothing changes yet
        await query.answer()
        buttons = [
            button(actor.t(f"department.{d.value}"), f"rq:to:{case.id}:{d.value}")
            for d in REFERRABLE
        ]
        rows = [*in_rows(buttons, 2), [button(actor.t("common.back"), f"rq:menu:{case.id}")]]
        text = await staff_card(context, actor.locale, case) + "\n\n" + actor.t("case.refer_to")
        await edit(query.message, text, keyboard(rows))
        return
    decision: Decision | None
    if action == "to" and len(parts) == 4 and parts[3] in {d.value for d in REFERRABLE}:
        decision = requests.refer(case, parts[3], await facts(svc, case))
    elif action == "resolve":
        if not requests.resolvable(case):  # C-4: a complaint is classified first
            await query.answer(actor.t("complaint.classify_first"), show_alert=True)
            return
        decision = requests.resolve(case, steps.by(actor), await facts(svc, case))
    elif action == "escalate":
        decision = requests.escalate(case, steps.by(actor))
    else:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    after = await steps.apply(svc, case, decision, actor) if decision else None
    await answer_step(query, actor, context, case, after, first_responder_keyboard)


async def on_department(update: Update, context: Context) -> None:
    """``rq:<take|done|when|dmenu>:<case>`` and ``rq:pr:<case>:<choice>`` in a department
    group's card (Q-4, C-1)."""
    pressed = await case_button(update, context, {"take", "done", "when", "dmenu", "pr"})
    if pressed is None:
        return
    query, actor, parts, case = pressed
    svc = services(context)
    if (len(parts) == 4) != (parts[1] == "pr"):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if not (is_department_member(actor, case) or is_first_responder(actor, case)):
        await query.answer(actor.t("case.not_department"), show_alert=True)
        return
    if parts[1] == "when":  # show the promise choices; nothing changes
        await show_promises(query, actor, context, case, first_responder=False)
        return
    if parts[1] == "dmenu":  # hide them
        await query.answer()
        markup = department_keyboard(actor.locale, case)
        await edit(query.message, await staff_card(context, actor.locale, case), markup)
        return
    if parts[1] == "pr":
        await promise_step(query, actor, context, case, parts[3], department_keyboard)
        return
    if not is_department_member(actor, case):
        await query.answer(actor.t("case.not_department"), show_alert=True)
        return
    if parts[1] == "done" and not may_finish(actor, case):
        await query.answer(actor.t("case.not_assignee"), show_alert=True)
        return
    if (
        parts[1] == "take"
        and case.assignee_id not in (None, actor.person.id)
        and not steps.may_override(actor, case)
    ):  # a colleague's case is theirs; only a head or a supervisor reassigns it
        await query.answer(actor.t("case.taken_by_colleague"), show_alert=True)
        return
    if parts[1] == "take":
        decision = requests.take(case, steps.by(actor))
    elif case.kind == Kind.COMPLAINT:  # C-11: the feedback, to the opinion's instructions
        if not case.opinion:
            await query.answer(actor.t("review.no_opinion_yet"), show_alert=True)
            return
        notes = await department_notes(svc, case)
        if not notes:
            await query.answer(actor.t("review.feedback_first"), show_alert=True)
            return
        decision = requests.done(case, steps.by(actor), await facts(svc, case), notes)
    else:
        decision = requests.done(case, steps.by(actor), await facts(svc, case))
    after = await steps.apply(svc, case, decision, actor) if decision else None
    await answer_step(query, actor, context, case, after, department_keyboard)


async def department_notes(svc: Services, case: Case) -> str:
    """C-11: what the department reported on a complaint since it last reached it (its
    replies to the case card, text and photos), oldest first: its feedback."""
    notes: list[str] = []
    for event in await svc.cases.trail(case.id):
        if event["event"] in ("case.refer", "case.reopen"):
            notes = []  # a new referral: what counts is reported after it
        elif event["event"] == "case.update":  # a photo's note is "📷" or its caption
            note = str(event["data"].get("note") or "").strip()
            if note:
                notes.append(note)
    return "\n".join(notes)


#: Shortest progress text sent to the owner (a photo needs none).
MIN_UPDATE = 2
#: Longest progress note kept (it may travel as a photo caption: 1024 characters at most).
MAX_UPDATE = 600


async def group_reply(update: Update, context: Context) -> None:
    """A reply to a case card in a staff group: progress for the resident (text or photo);
    at or before a complaint's next reply time, the reply that was due (C-1)."""
    message = update.effective_message
    actor = await who(update, context)
    if message is None or actor is None or message.reply_to_message is None:
        return
    svc = services(context)
    case_id = await svc.sender.store.case_of_message(
        message.chat_id, message.reply_to_message.message_id
    )
    case = await svc.cases.get(case_id) if case_id else None
    if case is None:
        return  # a reply to something else: not ours to answer in a group
    # An album's photos each reply to the card: the album gets one answer, at its first.
    album = message.media_group_id
    answer = album is None or (context.chat_data or {}).get("reply_album") != album
    if album is not None and context.chat_data is not None:
        context.chat_data["reply_album"] = album
    await record_progress(update, context, actor, case, answer=answer)


class Progress(StrEnum):
    """What became of a message of progress (:func:`record_progress`)."""

    RECORDED = "recorded"  # kept with the case and on its way to the resident
    REFUSED = "refused"  # not theirs to report, or the case is closed: nothing changed
    RETRY = "retry"  # the photo was refused (they were told why): nothing changed


async def record_progress(
    update: Update, context: Context, actor: Actor, case: Case, *, answer: bool
) -> Progress:
    """The message of ``update`` as progress on ``case`` for its resident, whether it
    replied to the card in a group or answered the private chat's question (the card's
    reply link): checked (a member of the case's department or a first responder; the case
    not closed), a photo or image file taken in as evidence and shown to the resident as
    its display copy, the text (or caption) kept with the case, and the step applied and
    sent. ``answer``: say so in the chat (an album's later photos are recorded silently)."""
    svc = services(context)
    message = update.effective_message
    assert message is not None
    refused = progress_refusal(actor, case)
    if refused is not None:  # nothing more is added, nor kept as evidence
        if answer:
            await reply(update, context, refused)
        return Progress.REFUSED
    photo: Evidence | None = None
    if photos.sent_image(message) is not None:  # kept as evidence, shown to the resident
        received = await photos.take_in(update, context, actor)
        if received is None:
            return Progress.RETRY  # refused: they were told why
        photo = await photos.staff_photo(svc, case, actor, received)
    text = (message.text or message.caption or "").strip()[:MAX_UPDATE]
    if photo is None and len(text) < MIN_UPDATE:  # "好": nothing the owner can use
        if answer:
            await reply(update, context, actor.t("progress.too_short", number=case.number))
        return Progress.RETRY  # nothing recorded: a private question stays open
    decision = requests.update(case, steps.by(actor), text, photo, await facts(svc, case))
    if await steps.apply(svc, case, decision, actor) is None:
        if answer:
            await reply(update, context, actor.t("progress.closed", number=case.number))
        return Progress.REFUSED
    if answer:
        await reply(update, context, actor.t("progress.recorded", number=case.number))
    await svc.deliver()
    return Progress.RECORDED


def progress_refusal(actor: Actor, case: Case) -> str | None:
    """Why ``actor`` may not send progress on ``case`` to its resident (in their language),
    or None: only a member of its department or a first responder, and never once it is
    closed."""
    if not (is_department_member(actor, case) or is_first_responder(actor, case)):
        return actor.t("reply_link.not_allowed", number=case.number)
    if case.status == Status.CLOSED:
        return actor.t("progress.closed", number=case.number)
    return None


# --- answering the owner from the private chat (the card's reply link) -------------------------

#: ``user_data`` key of the question "progress for the owner of …?" (handlers.common.prompt_reply).
PROGRESS_ASKED = "progress_case"
#: ``user_data`` key of the album whose first photo answered it: its other photos go with it.
PROGRESS_ALBUM = "progress_album"
#: How long the question waits for its answer (seconds).
PROGRESS_SECONDS = 3600


async def ask_progress(update: Update, context: Context, actor: Actor, payload: str) -> None:
    """``/start r<case>`` in the private chat, from the reply link on a department's card:
    checked now (someone who may act on the case, which is not closed), then the question;
    the person's next plain message or photo there (an album: one answer) goes to the
    resident as a reply to the card would (:func:`private_progress`). A link to a case the
    person may not see is answered as an unknown one (no hint it exists)."""
    svc = services(context)
    case_id = parse_id(payload.removeprefix(cards.REPLY_LINK_PREFIX))
    case = await svc.cases.get(case_id) if case_id is not None else None
    if case is None or not steps.is_staff_of(actor, case.estate_id):
        await reply(update, context, actor.t("reply_link.unknown"))
        return
    refused = progress_refusal(actor, case)
    if refused is not None:
        await reply(update, context, refused)
        return
    if context.user_data is not None:
        context.user_data.pop(PROGRESS_ALBUM, None)
    about = f"{case.unit_label} · {case.description}" if case.unit_label else case.description
    await prompt_reply(
        context, actor, case.id, PROGRESS_ASKED,
        actor.t("reply_link.ask", number=case.number, about=about[:200]),
        actor.t("reply_link.placeholder"),
    )  # fmt: skip


async def private_progress(update: Update, context: Context) -> None:
    """A private message while :func:`ask_progress`'s question waits (the newest question,
    or a reply to it): a text, a photo or an image file is the progress, recorded and sent
    exactly as a reply to the card in the group is (:func:`record_progress`); the rest of
    an album whose first photo answered goes with it, silently. The question is answered
    once (a refused photo leaves it open). Runs in an early handler group, and then stops
    the update from going further; anything else goes its usual way."""
    message = update.effective_message
    if message is None or context.user_data is None:
        return
    album = message.media_group_id
    waiting = await awaited_reply(context, PROGRESS_ASKED, update, PROGRESS_SECONDS, photos=True)
    held = context.user_data.get(PROGRESS_ALBUM)
    if waiting is not None:
        case_id, answer = int(waiting["case"]), True
    elif album is not None and isinstance(held, dict) and held.get("album") == album:
        case_id, answer = int(held["case"]), False
    else:
        return  # not an answer to the question: the message goes its usual way
    actor = await who(update, context)
    case = await services(context).cases.get(case_id)
    if actor is None or case is None:
        return
    outcome = await record_progress(update, context, actor, case, answer=answer)
    if answer and outcome != Progress.RETRY:
        context.user_data.pop(PROGRESS_ASKED, None)
        if album is not None and outcome == Progress.RECORDED:
            context.user_data[PROGRESS_ALBUM] = {"case": case.id, "album": album}
    await flush_persistence(update, context)
    raise ApplicationHandlerStop


def private_progress_handler() -> AnyHandler:
    """Private texts, photos and files, for :func:`private_progress` (an early group)."""
    return MessageHandler(
        filters.UpdateType.MESSAGE
        & filters.ChatType.PRIVATE
        & (filters.TEXT | filters.PHOTO | filters.Document.ALL)
        & ~filters.COMMAND,
        private_progress,
    )


async def my_cases(update: Update, context: Context) -> None:
    """/my: the resident's cases and where each stands."""
    actor = await who(update, context)
    if actor is None:
        return
    cases = await services(context).cases.of_resident(actor.person.id)
    if not cases:
        await reply(update, context, actor.t("case.none_yet"))
        return
    lines = [
        actor.t(
            "case.my_line",
            number=c.number,
            kind=actor.t(f"kind.{c.kind}"),
            category=actor.t(f"category.{c.category}") if c.category else "—",
            status=actor.t(f"status.{c.status}"),
        )
        for c in cases
    ]
    await reply(update, context, actor.t("case.my_title") + "\n" + "\n".join(lines))


async def show_case(update: Update, context: Context) -> None:
    """/case <number>: staff of the estate see the card and the full timeline."""
    actor = await who(update, context)
    if actor is None:
        return
    svc = services(context)
    # A number as typed: lower case or full-width letters find it too (XQ-…, TS-…).
    number = unicodedata.normalize("NFKC", (context.args or [""])[0]).upper()
    case = await svc.cases.by_number(number) if number else None
    if case is None:
        await reply(update, context, actor.t("case.not_found", number=number[:30]))
        return
    mine = case.resident_id == actor.person.id
    if not (mine or steps.is_staff_of(actor, case.estate_id)):
        await reply(
            update, context, actor.t("case.not_found", number=number[:30])
        )  # no hint it exists
        return
    text = card(actor.locale, case) if mine else await staff_card(context, actor.locale, case)
    if not mine:
        rules = await svc.rules(case.estate_id)
        clocks = cards.open_clocks(actor.locale, rules, await svc.cases.clocks(case.id))
        if clocks:
            text += "\n\n" + clocks
        events = await svc.cases.trail(case.id)
        people = [e["actor"].removeprefix("person:") for e in events]
        names = await svc.identity.names_of({int(p) for p in people if p.isdigit()})
        text += "\n\n" + cards.timeline(actor.locale, rules, events, names, case.kind)
    kept = await evidence.links(svc.db, Subject(CASE, case.id))
    if kept:
        text += "\n\n" + photos.photo_lines(actor, kept)
    markup = photos.send_button(actor, case, len(kept)) if kept else None
    await reply(update, context, text, markup)


def handlers() -> list[AnyHandler]:
    """The filing flow, the first responder's and department's buttons (today's and an
    earlier version's), progress replies in groups, /my and /case (the private answers to
    a card's reply link are taken earlier: :func:`private_progress_handler`)."""
    return [
        conversation(),
        CallbackQueryHandler(
            on_first_responder, pattern=r"^rq:(resolve|refer|escalate|to|menu|fwhen|fpr):"
        ),
        CallbackQueryHandler(on_department, pattern=r"^rq:(take|done|when|dmenu|pr):"),
        CallbackQueryHandler(on_first_responder, pattern=r"^cs:(resolve|refer|escalate|to|back):"),
        CallbackQueryHandler(on_department, pattern=r"^dp:"),
        MessageHandler(
            filters.UpdateType.MESSAGE
            & filters.ChatType.GROUPS
            & filters.REPLY
            & (filters.TEXT | filters.PHOTO | filters.Document.ALL)
            & ~filters.COMMAND,
            group_reply,
        ),
        CommandHandler("my", my_cases, filters.ChatType.PRIVATE),
        CommandHandler("case", show_case),
    ]
