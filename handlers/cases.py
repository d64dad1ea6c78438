"""Residents file requests and complaints; the first responder and departments handle them.

Filing (a persistent conversation): ``/request`` or ``/complain`` → category → unit (when
the resident has several) → description, with photos if they like → normal or urgent →
filed: the resident gets the case number and a summary card (Q-2, C-10: recorded), the
customer-service group gets the first responder's card (Q-1, C-9), and the deadlines start.

Every later step is a button re-checked against the database (who may press it, and whether
the case is still where the button assumes):

* first responder (``cs:…``): resolve on the spot, refer to a department, report at once
  as major/urgent (Q-1, V-2, C-3);
* department group (``dp:…``): take it, mark it done (Q-4: handling, not a first reply,
  stops the clock).

Each step's messages go through the outbox, in the step's own transaction.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Collection
from enum import IntEnum
from html import escape
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.engine import Engine, engine
from bot.i18n import t
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
from procedures.cases import (
    CATEGORIES,
    MAX_PHOTOS,
    OPEN_STATUSES,
    REFERRABLE,
    Kind,
    clean_description,
)
from procedures.identity import Role
from storage.cases import Case, NewCase

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


async def begin(update: Update, context: Context, kind: Kind) -> int:
    """/request or /complain: residents only; ask the category."""
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return ConversationHandler.END
    units = await services(context).identity.units_of(actor.person.id)
    if not units:
        await reply(update, context, actor.t("case.residents_only"))
        return ConversationHandler.END
    context.user_data["case"] = {"kind": kind.value, "photos": []}
    eng = engine(context)
    offered: list[str] = []  # the categories of the resident's estates, in their order
    for estate_id in dict.fromkeys(u.estate_id for u in units):
        offered += [c for c in (await eng.rules(estate_id)).categories if c not in offered]
    buttons = [button(actor.t(f"category.{c}"), f"case:cat:{c}") for c in offered]
    await reply(
        update, context, actor.t(f"case.ask_category_{kind.value}"), keyboard(in_rows(buttons, 3))
    )
    return Step.CATEGORY


async def start_request(update: Update, context: Context) -> int:
    """/request: a request, repair or suggestion (P6)."""
    return await begin(update, context, Kind.REQUEST)


async def start_complaint(update: Update, context: Context) -> int:
    """/complain: a complaint (P7)."""
    return await begin(update, context, Kind.COMPLAINT)


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
    draft["category"] = category
    await edit(
        query.message, actor.t("case.category_chosen", category=actor.t(f"category.{category}"))
    )
    if "unit_id" in draft:  # the unit came first (its estate offers other categories)
        await reply(update, context, actor.t("case.ask_description"))
        return Step.DESCRIBE
    units = await services(context).identity.units_of(actor.person.id)
    if len(units) == 1:
        draft["unit_id"] = units[0].id
        draft["estate_id"] = units[0].estate_id
        await reply(update, context, actor.t("case.ask_description"))
        return Step.DESCRIBE
    buttons = [button(f"{u.estate_name} · {u.label}", f"case:unit:{u.id}") for u in units]
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
    draft = _draft(context)
    draft["unit_id"] = unit_id
    draft["estate_id"] = units[unit_id].estate_id
    await edit(query.message, actor.t("case.unit_chosen", unit=units[unit_id].label))
    categories = (await engine(context).rules(units[unit_id].estate_id)).categories
    if draft.get("category") not in categories:  # that estate does not offer it: ask again
        buttons = [button(actor.t(f"category.{c}"), f"case:cat:{c}") for c in categories]
        draft.pop("category", None)
        await reply(
            update, context, actor.t("case.category_elsewhere"), keyboard(in_rows(buttons, 3))
        )
        return Step.CATEGORY
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
    """A photo (or an album's photo): kept with the draft, up to the limit."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or not message.photo:
        return Step.DESCRIBE
    draft = _draft(context)
    photos: list[str] = draft.setdefault("photos", [])
    if len(photos) >= MAX_PHOTOS:
        await reply(update, context, actor.t("case.too_many_photos", limit=MAX_PHOTOS))
    else:
        photos.append(message.photo[-1].file_id)
        if message.caption and not draft.get("description"):
            draft["description"] = clean_description(message.caption)
        if message.media_group_id is None or len(photos) == 1:
            await reply(update, context, actor.t("case.photo_received", count=len(photos)))
    if draft.get("description") and not message.media_group_id:
        return await ask_urgency(update, context, actor)  # the caption is the description
    return Step.DESCRIBE if not draft.get("description") else Step.URGENCY


async def ask_urgency(update: Update, context: Context, actor: Actor) -> int:
    """The description is in (typed, or a photo's caption): normal or urgent?"""
    draft = _draft(context)
    await reply(
        update,
        context,
        actor.t("case.ask_urgency", photos=len(draft.get("photos", []))),
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
    """Normal or urgent: file the case."""
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
    await edit(
        query.message, actor.t("case.urgency_chosen_1" if urgent else "case.urgency_chosen_0")
    )
    case = await engine(context).file(
        NewCase(
            estate_id=int(draft["estate_id"]),
            kind=Kind(draft["kind"]),
            category=str(draft["category"]),
            description=str(draft["description"]),
            unit_id=int(draft["unit_id"]),
            resident_id=actor.person.id,
            urgent=urgent,
            photos=[(f, None) for f in draft.get("photos", [])],
            created_by=actor.person.id,
        ),
        actor=actor,
    )
    context.user_data.pop("case", None)
    log.info("case %s filed by person %s", case.number, actor.person.id)
    return ConversationHandler.END


cancel = canceller("case")


def conversation() -> ConversationHandler[Context]:
    """The filing flow (persistent)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        private = filters.ChatType.PRIVATE
        return ConversationHandler(
            entry_points=[
                CommandHandler("request", start_request, private),
                CommandHandler("complain", start_complaint, private),
            ],
            states={
                Step.CATEGORY: [CallbackQueryHandler(got_category, pattern=r"^case:cat:")],
                Step.UNIT: [CallbackQueryHandler(got_unit, pattern=r"^case:unit:")],
                Step.DESCRIBE: [
                    MessageHandler(NEW & filters.TEXT & ~filters.COMMAND, got_description),
                    MessageHandler(NEW & filters.PHOTO, got_photo),
                    MessageHandler(NEW & ~filters.COMMAND, describe_expected),
                ],
                Step.URGENCY: [
                    CallbackQueryHandler(got_urgency, pattern=r"^case:urg:[01]$"),
                    MessageHandler(NEW & filters.PHOTO, got_photo),
                    MessageHandler(NEW & filters.TEXT & ~filters.COMMAND, got_description),
                ],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
            name="filing",
            persistent=True,
            allow_reentry=True,
        )


# --- staff buttons ---------------------------------------------------------------------------


async def case_button(
    update: Update, context: Context, verbs: Collection[str] | None = None
) -> tuple[CallbackQuery, Actor, list[str], Case] | None:
    """A pressed button about a case, ``<prefix>:<verb>:<case id>[:<value>…]``: the query,
    who pressed it, the data's parts and the case (read afresh). A button naming no case
    that exists, or a verb not among ``verbs``, is answered as stale, and None returned."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return None
    parts = (query.data or "").split(":")
    case = await engine(context).cases.get(parse_id(parts[2]) or 0) if len(parts) >= 3 else None
    if case is None or (verbs is not None and parts[1] not in verbs):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return None
    return query, actor, parts, case


async def on_first_responder(update: Update, context: Context) -> None:
    """``cs:<resolve|refer|escalate|to>:<case>[:<dept>]`` in the first responder's card."""
    pressed = await case_button(update, context)
    if pressed is None:
        return
    query, actor, parts, case = pressed
    eng = engine(context)
    if not eng.is_first_responder(actor, case):
        await query.answer(actor.t("case.not_first_responder"), show_alert=True)
        return
    action = parts[1]
    if action == "link":  # C-5: show the complaints this one may be about the same event as
        await query.answer()
        others = await eng.link_candidates(case)
        buttons = [
            button(f"{o.number} · {o.description[:12]}", f"cs:lk:{case.id}:{o.id}") for o in others
        ]
        buttons.append(button(actor.t("common.back"), f"cs:back:{case.id}"))
        text = (
            eng.card(actor.locale, case)
            + "\n\n"
            + actor.t("event_link.choose" if others else "event_link.none")
        )
        await edit(query.message, text, keyboard([[b] for b in buttons]))
        return
    if action == "back":
        await query.answer()
        await edit(
            query.message,
            eng.card(actor.locale, case),
            eng.first_responder_keyboard(actor.locale, case),
        )
        return
    if action == "lk" and len(parts) == 4:
        other = await eng.cases.get(parse_id(parts[3]) or 0)
        open_complaints = all(
            c is not None and c.kind == Kind.COMPLAINT and c.status in OPEN_STATUSES
            for c in (case, other)
        )
        if (
            other is None
            or not open_complaints
            or other.estate_id != case.estate_id
            or other.id == case.id
        ):
            await query.answer(actor.t("common.stale_button"), show_alert=True)
            return
        count = await eng.link(case, other, actor)
        await query.answer(actor.t("event_link.linked", count=count), show_alert=True)
        fresh = await eng.cases.get(case.id)
        assert fresh is not None
        await edit(
            query.message,
            eng.card(actor.locale, fresh),
            eng.first_responder_keyboard(actor.locale, fresh),
        )
        await eng.deliver()
        return
    if action == "refer":  # show the departments; nothing changes yet
        await query.answer()
        buttons = [
            button(actor.t(f"department.{d.value}"), f"cs:to:{case.id}:{d.value}")
            for d in REFERRABLE
        ]
        await edit(query.message, eng.card(actor.locale, case), keyboard(in_rows(buttons, 2)))
        return
    if action == "to" and len(parts) == 4 and parts[3] in {d.value for d in REFERRABLE}:
        done = await eng.refer(case, parts[3], actor)
    elif action == "resolve":
        done = await eng.resolve(case, actor)
    elif action == "escalate":
        done = await eng.escalate(case, actor)
    else:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if done is None:
        fresh = await eng.cases.get(case.id)
        await query.answer(actor.t("case.already_moved"), show_alert=True)
        if fresh is not None:
            await edit(
                query.message,
                eng.card(actor.locale, fresh),
                eng.first_responder_keyboard(actor.locale, fresh),
            )
        return
    await query.answer(actor.t("case.step_done"))
    await edit(
        query.message,
        eng.card(actor.locale, done),
        eng.first_responder_keyboard(actor.locale, done),
    )
    await eng.deliver()


async def on_department(update: Update, context: Context) -> None:
    """``dp:<take|done|when|back>:<case>`` and ``dp:pr:<case>:<choice>`` in a department
    group's card."""
    pressed = await case_button(update, context, {"take", "done", "when", "back", "pr"})
    if pressed is None:
        return
    query, actor, parts, case = pressed
    eng = engine(context)
    if (len(parts) == 4) != (parts[1] == "pr"):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if not (eng.is_department_member(actor, case) or eng.is_first_responder(actor, case)):
        await query.answer(actor.t("case.not_department"), show_alert=True)
        return
    if parts[1] in {"when", "back"}:  # show or hide the promise choices; nothing changes
        await query.answer()
        markup = (
            await eng.promise_keyboard(actor.locale, case)
            if parts[1] == "when"
            else eng.department_keyboard(actor.locale, case)
        )
        await edit(query.message, eng.card(actor.locale, case), markup)
        return
    if parts[1] == "pr":
        if case.promised_at is not None and not eng.may_override(actor, case):
            await query.answer(actor.t("progress.promised_once"), show_alert=True)
            return
        promised = await eng.promise(case, parts[3], actor)
        if promised is None:
            await query.answer(actor.t("case.already_moved"), show_alert=True)
            return
        await query.answer(actor.t("case.step_done"))
        await edit(
            query.message,
            eng.card(actor.locale, promised),
            eng.department_keyboard(actor.locale, promised),
        )
        await eng.deliver()
        return
    if not eng.is_department_member(actor, case):
        await query.answer(actor.t("case.not_department"), show_alert=True)
        return
    if parts[1] == "done" and not eng.may_finish(actor, case):
        await query.answer(actor.t("case.not_assignee"), show_alert=True)
        return
    if (
        parts[1] == "take"
        and case.assignee_id not in (None, actor.person.id)
        and not eng.may_override(actor, case)
    ):  # a colleague's case is theirs; only a head, a supervisor or an admin reassigns it
        await query.answer(actor.t("case.not_assignee"), show_alert=True)
        return
    done = await (eng.take(case, actor) if parts[1] == "take" else eng.finish(case, actor))
    if done is None:
        await query.answer(actor.t("case.already_moved"), show_alert=True)
        fresh = await eng.cases.get(case.id)
        if fresh is not None:
            await edit(
                query.message,
                eng.card(actor.locale, fresh),
                eng.department_keyboard(actor.locale, fresh),
            )
        return
    await query.answer(actor.t("case.step_done"))
    await edit(
        query.message, eng.card(actor.locale, done), eng.department_keyboard(actor.locale, done)
    )
    await eng.deliver()


#: Longest progress note kept (it may travel as a photo caption: 1024 characters at most).
MAX_UPDATE = 600


async def group_reply(update: Update, context: Context) -> None:
    """A reply to a case card in a staff group: progress for the resident (text or photo)."""
    message = update.effective_message
    actor = await who(update, context)
    if message is None or actor is None or message.reply_to_message is None:
        return
    eng = engine(context)
    case_id = await eng.sender.store.case_of_message(
        message.chat_id, message.reply_to_message.message_id
    )
    case = await eng.cases.get(case_id) if case_id else None
    if case is None:
        return  # a reply to something else: not ours to answer in a group
    if not (eng.is_department_member(actor, case) or eng.is_first_responder(actor, case)):
        await reply(update, context, actor.t("case.not_department"))
        return
    photo = message.photo[-1].file_id if message.photo else None
    text = (message.text or message.caption or "").strip()[:MAX_UPDATE]
    if await eng.post_update(case, actor, text, photo) is None:
        await reply(update, context, actor.t("progress.closed", number=case.number))
        return
    await reply(update, context, actor.t("progress.recorded", number=case.number))
    await eng.deliver()


async def my_cases(update: Update, context: Context) -> None:
    """/my: the resident's cases and where each stands."""
    actor = await who(update, context)
    if actor is None:
        return
    cases = await engine(context).cases.of_resident(actor.person.id)
    if not cases:
        await reply(update, context, actor.t("case.none_yet"))
        return
    lines = [
        actor.t("case.my_line", number=c.number, kind=actor.t(f"kind.{c.kind}"),
                category=actor.t(f"category.{c.category}") if c.category else "—",
                status=actor.t(f"status.{c.status}"))
        for c in cases
    ]  # fmt: skip
    await reply(update, context, actor.t("case.my_title") + "\n" + "\n".join(lines))


async def show_case(update: Update, context: Context) -> None:
    """/case <number>: staff of the estate see the card and the full timeline."""
    actor = await who(update, context)
    if actor is None:
        return
    eng = engine(context)
    number = (context.args or [""])[0]
    case = await eng.cases.by_number(number) if number else None
    if case is None:
        await reply(update, context, actor.t("case.not_found", number=number[:30]))
        return
    mine = case.resident_id == actor.person.id
    if not (mine or eng.is_staff_of(actor, case.estate_id)):
        await reply(
            update, context, actor.t("case.not_found", number=number[:30])
        )  # no hint it exists
        return
    text = eng.card(actor.locale, case)
    if not mine:
        clocks = await eng.open_clocks(actor.locale, case)
        if clocks:
            text += "\n\n" + clocks
        text += "\n\n" + await eng.timeline(actor.locale, case)
    await reply(update, context, text)


def handlers() -> list[AnyHandler]:
    """The filing flow, staff-recorded calls and visits, the staff buttons, /my and /case."""
    from handlers import followups, records

    return [
        conversation(),
        *records.handlers(),
        *followups.handlers(),
        CallbackQueryHandler(on_first_responder, pattern=r"^cs:"),
        CallbackQueryHandler(on_department, pattern=r"^dp:"),
        MessageHandler(
            filters.UpdateType.MESSAGE
            & filters.ChatType.GROUPS
            & filters.REPLY
            & (filters.TEXT | filters.PHOTO)
            & ~filters.COMMAND,
            group_reply,
        ),
        CommandHandler("my", my_cases, filters.ChatType.PRIVATE),
        CommandHandler("case", show_case),
    ]


__all__ = ["Case", "Engine", "InlineKeyboardMarkup", "Role", "escape", "handlers", "t"]
