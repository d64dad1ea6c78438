"""/help, /cancel, /lang, /whoami, the menu, and the hints for anything unexpected."""

from __future__ import annotations

from telegram import ReplyKeyboardRemove, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import t, t_raw
from bot.settings import LOCALES
from handlers import asked as waiting_tap
from handlers.callbacks import SCORE_ASKED, typed_answer
from handlers.cards import callback_keyboard, reply_keyboard, score_keyboard
from handlers.common import (
    AnyHandler,
    Context,
    button,
    button_labels,
    choices,
    department_name,
    edit,
    keyboard,
    menu_text,
    person_locale,
    questions,
    reply,
    roles_summary,
    services,
    who,
)
from handlers.registration import unit_lines
from handlers.verification import private_only
from procedures.cases import Kind, Status
from procedures.phone import mask_phone

LANGUAGE_NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}


async def help_command(update: Update, context: Context) -> None:
    """/help: what the bot does and the commands for this person's roles."""
    actor = await who(update, context)
    if actor is not None:
        await reply(update, context, actor.t("help.intro") + "\n\n" + menu_text(actor))


async def menu(update: Update, context: Context) -> None:
    """/menu: the menu again."""
    actor = await who(update, context)
    if actor is not None:
        await reply(update, context, menu_text(actor))


async def cancel(update: Update, context: Context) -> None:
    """/cancel outside any flow: the questions awaiting a text are dropped (or there is
    nothing to cancel, and it says so)."""
    actor = await who(update, context)
    dropped = False
    if context.user_data is not None:
        for key in (
            "import_estate", "import_chosen_at", "import_file", "import_new_estate",
            *questions(context),  # every question awaiting a text
        ):  # fmt: skip
            dropped = context.user_data.pop(key, None) is not None or dropped
        dropped = waiting_tap.forget(context) or dropped  # /invite's or /import's buttons
    if actor is not None:
        key = "common.cancelled" if dropped else "common.nothing_to_cancel"
        await reply(update, context, actor.t(key), ReplyKeyboardRemove())


async def lang(update: Update, context: Context) -> None:
    """/lang: choose the language (or follow Telegram's)."""
    actor = await who(update, context)
    if actor is None:
        return
    rows = [[button(name, f"lang:{code}")] for code, name in LANGUAGE_NAMES.items()]
    rows.append([button(actor.t("lang.auto"), "lang:auto")])
    await reply(update, context, actor.t("lang.choose"), keyboard(rows))


async def on_lang_button(update: Update, context: Context) -> None:
    """A language button: remember it and answer in the new language."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    choice = (query.data or "").removeprefix("lang:")
    if choice != "auto" and choice not in LOCALES:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    svc = services(context)
    await svc.identity.set_locale(actor.person.id, None if choice == "auto" else choice)
    person = await svc.identity.person(actor.person.id)
    assert person is not None
    locale = person_locale(person, svc.settings.locale)
    await query.answer()
    from bot.i18n import t

    # the chooser's buttons must go even when Telegram refuses the edit just now: queued
    await edit(query.message, t(locale, "lang.set", language=LANGUAGE_NAMES[locale]), later=svc)


async def whoami(update: Update, context: Context) -> None:
    """/whoami: name, phone, units, roles and language, as the bot knows them."""
    actor = await who(update, context)
    if actor is None:
        return
    units = await services(context).identity.units_of(actor.person.id)
    text = actor.t(
        "whoami.card",
        name=actor.person.name,
        tg_id=actor.person.tg_user_id,
        phone=mask_phone(actor.person.phone) if actor.person.phone else "—",
        language=LANGUAGE_NAMES[actor.locale],
    )
    text += "\n\n" + actor.t("whoami.units_title") + "\n"
    text += unit_lines(units) if units else actor.t("whoami.no_units")
    text += "\n\n" + actor.t("whoami.roles_title") + "\n" + roles_summary(actor)
    if actor.is_global_admin:
        text += "\n\n" + actor.t("whoami.global_admin")
    await reply(update, context, text)


async def hint(update: Update, context: Context) -> None:
    """Anything sent in private outside a flow: never silence, point to what works."""
    actor = await who(update, context)
    if actor is None:
        return
    # A resident whose case waits for their callback answer is pointed to that question.
    waiting = [c for c in await services(context).cases.of_resident(actor.person.id, 5)
               if c.status == Status.DONE]  # fmt: skip
    if waiting:
        case = waiting[0]
        # A plain answer typed ("解决了", "4", "满意") is the answer, when it is clear which
        # case it answers: the one whose stars were just asked, or the only one waiting.
        scored = (context.user_data or {}).get(SCORE_ASKED)
        meant = [c for c in waiting if c.id == scored] or (waiting if len(waiting) == 1 else [])
        if meant and await typed_answer(update, context, actor, meant[0]):
            return
        if scored == case.id:
            markup = score_keyboard(actor.locale, case)  # "solved": now the stars
        elif case.kind == Kind.COMPLAINT and case.opinion:
            markup = reply_keyboard(actor.locale, case)  # the company's reply (C-13)
        else:
            markup = callback_keyboard(actor.locale, case)
        named = choices(actor, button_labels(markup))
        text = t_raw(actor.locale, "callback.tap_to_answer", number=case.number, choices=named)
        await reply(update, context, text)
        return
    # A tap (or a file) awaited: /invite's or /import's question again, or a card's buttons.
    if await waiting_tap.typed_where_asked(update, context, actor):
        return
    key = "hint.registered" if actor.memberships or actor.is_global_admin else "hint.unregistered"
    await reply(update, context, actor.t(key))


async def stale_button(update: Update, context: Context) -> None:
    """A button nobody handles any more (an old message, a finished flow, forged data)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    await query.answer(actor.t("common.stale_button"), show_alert=True)


async def group_start(update: Update, context: Context) -> None:
    """/start or /help in a group: whose group it is (or how to bind it), and how staff work
    in it: the bot sees only commands and replies, so a reply to a case card reaches the
    owner; which buttons the cards carry."""
    actor = await who(update, context)
    chat = update.effective_chat
    if actor is None or chat is None or chat.type == ChatType.PRIVATE:
        return
    bound = await services(context).identity.departments_of_chat(chat.id)
    if bound:
        departments = " · ".join(
            f"{d.estate_name} {department_name(actor.locale, d.code)}" for d in bound
        )
        first = actor.t("group_help.bound", departments=departments)
    else:
        first = actor.t("help.group")  # how an admin binds it
    await reply(update, context, first + "\n\n" + group_cards_help(actor.locale))


def group_cards_help(locale: str) -> str:
    """How staff answer an owner from a group, and the cards' buttons (their own labels)."""
    labels = {
        "resolve": "case.btn_resolve",
        "refer": "case.btn_refer",
        "escalate": "case.btn_escalate",
        "link": "event_link.btn_link",
        "take": "case.btn_take",
        "promise": "progress.btn_promise",
        "done": "case.btn_done",
        "reply": "reply_link.btn",
    }
    return t(locale, "group_help.cards", **{name: t(locale, key) for name, key in labels.items()})


def commands() -> list[AnyHandler]:
    """Commands that work anywhere (after the flows have had their chance)."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("help", help_command, private),
        CommandHandler(["help", "start"], group_start, filters.ChatType.GROUPS),
        CommandHandler("menu", menu, private),
        CommandHandler("cancel", cancel),
        CommandHandler("lang", lang),
        CallbackQueryHandler(on_lang_button, pattern=r"^lang:"),
        CommandHandler("whoami", whoami, private),
        CommandHandler("whoami", private_only, filters.ChatType.GROUPS),
    ]


def catch_all() -> list[AnyHandler]:
    """Last in line: hints for unexpected text and answers for stale buttons."""
    return [
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, hint
        ),
        CallbackQueryHandler(stale_button),
    ]
