"""What every handler needs: the services, who is speaking, their locale, and replies."""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING, Any, Protocol, cast

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import BaseHandler, ContextTypes, ConversationHandler
from telegram.warnings import PTBUserWarning

from bot import api
from bot.i18n import CAPTION_LIMIT, MESSAGE_LIMIT, fit, t, t_raw
from bot.settings import Settings
from procedures.deadlines import EstateRules, load_estate
from procedures.identity import Role, is_estate_admin, locale_for
from procedures.menus import private_commands
from storage.cases import CaseStore
from storage.clock import Clock
from storage.db import SCOPE, Database
from storage.evidence import EvidenceStore
from storage.identity import IdentityStore, Membership, Person
from storage.outbox import OutboxStore, edit_sent, enqueue
from storage.outbox import outcome as outbox_outcome

if TYPE_CHECKING:
    from handlers.notify import Notifier

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
#: Any handler of this bot (for lists of handlers).
AnyHandler = BaseHandler[Update, "Context", Any]

#: Telegram refuses callback data over 64 bytes; every button's data is checked here.
CALLBACK_LIMIT = 64
#: Tries of a direct answer before it goes to the outbox (see :func:`reply`), and the pause
#: before the second (doubled after each).
REPLY_TRIES = 3
REPLY_PAUSE = 0.5


class Sender(Protocol):
    """The outbox sender as handlers see it: wake it after a step, read what it sent."""

    store: OutboxStore

    async def drain(self) -> int:
        """Send what is due now (failures stay queued for the background sender)."""
        ...

    def poke(self) -> None:
        """Wake the background sender."""
        ...

    async def turn(self, chat_id: int) -> bool:
        """Take the chat's turn under Telegram's limits for a direct answer (waiting a moment
        at most); False when it is further off and the answer should be queued."""
        ...


class RulesOf(Protocol):
    """An estate's rules: its time limits, calendar and settings (cached per estate)."""

    async def __call__(self, estate_id: int) -> EstateRules: ...


class Rulebook:
    """The estates' rules, from the defaults and the estates config (read once per
    estate: the config does not change while the bot runs)."""

    def __init__(self, identity: IdentityStore, config: dict[str, Any] | None) -> None:
        self.identity = identity
        self.config = config
        self._rules: dict[int, EstateRules] = {}

    async def __call__(self, estate_id: int) -> EstateRules:
        if estate_id not in self._rules:
            estate = await self.identity.estate(estate_id)
            self._rules[estate_id] = load_estate(estate.name if estate else "", self.config)
        return self._rules[estate_id]


@dataclass
class Services:
    """Long-lived resources, opened in ``post_init`` and closed in ``post_shutdown``: what
    every step reaches — persistence (identity, cases), the estates' rules, the notifier
    that renders decisions' tells, and the outbox sender it wakes."""

    settings: Settings
    db: Database
    identity: IdentityStore
    cases: CaseStore
    rules: RulesOf
    notifier: Notifier
    sender: Sender

    @property
    def evidence(self) -> EvidenceStore:
        """Where photos are kept (``WUYE_DATA_DIR``)."""
        return EvidenceStore(self.settings.data_dir)

    @property
    def clock(self) -> Clock:
        """The application's one clock (the database's: see storage.clock)."""
        return self.db.clock

    async def deliver(self) -> None:
        """Send what a step queued now (failures stay queued for the background sender)."""
        try:
            await self.sender.drain()
        except Exception:  # never fail a person's step because delivery hiccuped
            log.exception("outbox drain after a step failed")


def services(context: Context) -> Services:
    """The services of the running application."""
    return cast(Services, context.application.bot_data["services"])


@dataclass(frozen=True)
class Actor:
    """The person behind an update, as the database knows them right now."""

    person: Person
    locale: str
    memberships: list[Membership]
    is_global_admin: bool

    def roles_in(self, estate_id: int) -> set[str]:
        """Roles held in one estate."""
        return {m.role for m in self.memberships if m.estate_id == estate_id}

    def admin_of(self, estate_id: int) -> bool:
        """May act as admin in this estate (deployment admins may everywhere)."""
        return is_estate_admin(self.roles_in(estate_id), is_global_admin=self.is_global_admin)

    @property
    def admin_estates(self) -> list[tuple[int, str]]:
        """Estates where this person holds the admin role."""
        seen: dict[int, str] = {}
        for m in self.memberships:
            if m.role == Role.ADMIN:
                seen[m.estate_id] = m.estate_name
        return sorted(seen.items(), key=lambda item: item[1])

    @property
    def is_staff(self) -> bool:
        """Holds any role other than owner or tenant, or administers the deployment."""
        return self.is_global_admin or any(
            m.role not in (Role.OWNER, Role.TENANT) for m in self.memberships
        )

    def t(self, key: str, **params: object) -> str:
        """A text in this person's locale."""
        return t(self.locale, key, **params)


def person_locale(person: Person, default: str) -> str:
    """A person's locale: their ``/lang`` choice, else their Telegram language."""
    return person.locale or locale_for(person.tg_language, default)


async def who(update: Update, context: Context) -> Actor | None:
    """Load (creating on first contact) the person behind an update, with fresh roles.

    Roles are read from the database on every update, never trusted from a button; once per
    update: the handlers an update passes through share what the first one read, until the
    update itself commits a change (``storage.db.UpdateScope``: a flow that registers the
    person or changes their language reads them again).
    """
    user: User | None = update.effective_user
    if user is None or user.is_bot:
        return None
    scope = SCOPE.get()
    known = scope.recall(f"actor:{user.id}") if scope is not None else None
    if isinstance(known, Actor):
        return known
    svc = services(context)
    person = await svc.identity.touch_person(
        user.id, user.full_name, user.username, user.language_code
    )
    actor = Actor(
        person=person,
        locale=person_locale(person, svc.settings.locale),
        memberships=await svc.identity.memberships(person.id),
        is_global_admin=user.id in svc.settings.admins,
    )
    if scope is not None:
        scope.note(f"actor:{user.id}", actor)
    return actor


async def reply(
    update: Update, context: Context, text: str, markup: Markup = None, *, keep: bool = False
) -> Message | None:
    """Answer in the chat the update came from (HTML); with ``keep``, the message sent
    (to edit it later), else None.

    Telegram being slow or down must not cost the person the step they just took. A
    connection error or a 5xx (nothing was sent) is tried :data:`REPLY_TRIES` times; then,
    or at once after a timeout (it may have been delivered: trying again here would only
    multiply the copies) or a 429 the rate limiter gave up on, the answer is queued in the
    outbox (after a 429, to go when Telegram said), which delivers it when Telegram
    recovers (returning None), and the conversation goes on. While anything queued for the
    chat is still waiting, the answer is queued behind it rather than overtaking it; so is
    an answer whose turn under Telegram's limits is more than a moment off (a group's
    minute spent: ``Sender.turn``), while one whose turn comes within it waits for it
    (paced with the outbox's notices, never long behind them). A request Telegram calls bad
    (``BadRequest``) or a blocked bot (``Forbidden``) is raised: trying again cannot help.
    A timeout after delivery can show the answer twice; it is never lost.
    """
    message = update.effective_message
    if message is None:
        return None
    text = fit(text, MESSAGE_LIMIT)  # a long /case timeline is cut, never refused
    svc = services(context)
    if await OutboxStore(svc.db).waiting_in(message.chat_id) or not await svc.sender.turn(
        message.chat_id
    ):
        # Something queued earlier for this chat has not gone out yet: keep the order; or
        # the chat's turn is further off than an answer may wait.
        await queue_answer(context, message.chat_id, text, markup)
        return None
    pause = REPLY_PAUSE
    for attempt in range(1, REPLY_TRIES + 1):
        try:
            sent = await api.call(
                context.bot,
                "sendMessage",
                {
                    "chat_id": message.chat_id,
                    "text": text,
                    "parse_mode": ParseMode.HTML,
                    "reply_markup": markup,
                    # in a forum's topic, into that topic, as PTB's reply_text does
                    "message_thread_id": message.message_thread_id
                    if message.is_topic_message
                    else None,
                    "business_connection_id": message.business_connection_id,
                },
            )
            # Telegram's answer is decoded only for a caller that keeps the message.
            return Message.de_json(sent, context.bot) if keep else None
        except BadRequest:
            raise
        except (NetworkError, RetryAfter) as exc:
            if attempt < REPLY_TRIES and not isinstance(exc, TimedOut | RetryAfter):
                await asyncio.sleep(pause)
                pause *= 2
                continue
            log.warning(
                "answer to chat %s queued in the outbox after %d tries: %s",
                message.chat_id, attempt, type(exc).__name__,
            )  # fmt: skip
            # After a 429 the outbox tries the chat when Telegram said, not a second later.
            wait = retry_seconds(exc) if isinstance(exc, RetryAfter) else 0.0
            await queue_answer(context, message.chat_id, text, markup, wait=wait)
            return None
    return None


def persistent_flow(
    *,
    name: str,
    entry_points: list[AnyHandler],
    states: dict[object, list[AnyHandler]],
    fallbacks: list[AnyHandler],
    per_chat: bool = True,
) -> ConversationHandler[Context]:
    """A flow of steps kept in PTB's persistence under ``name`` (a restart resumes it),
    entered again by its own command at any step (``allow_reentry``).

    Its state is per chat and user, not per message, on purpose: a flow mixes typed steps
    and button steps, and each button handler checks the stored draft before acting. PTB
    warns about button steps without ``per_message``; that warning is silenced here, once
    for every flow."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=entry_points,
            states=states,
            fallbacks=fallbacks,
            name=name,
            persistent=True,
            allow_reentry=True,
            per_chat=per_chat,
        )


def canceller(
    key: str, said: str = "common.cancelled"
) -> Callable[[Update, Context], Coroutine[Any, Any, int]]:
    """A flow's /cancel: drop its draft (``user_data[key]``), say so (``said``: what was
    dropped, in the person's words), end the flow."""

    async def cancel(update: Update, context: Context) -> int:
        actor = await who(update, context)
        if context.user_data is not None:
            context.user_data.pop(key, None)
        if actor is not None:
            await reply(update, context, actor.t(said), ReplyKeyboardRemove())
        return ConversationHandler.END

    return cancel


async def queue_answer(
    context: Context, chat_id: int, text: str, markup: Markup = None, *, wait: float = 0.0
) -> None:
    """Hand an answer to the outbox (it keeps trying until Telegram takes it), to go no
    sooner than ``wait`` seconds from now (by the application's clock)."""
    svc = services(context)
    later = svc.db.clock.now() + timedelta(seconds=wait) if wait > 0 else None
    async with svc.db.write() as conn:
        await enqueue(
            conn, chat_id, text, markup=markup.to_dict() if markup else None, not_before=later
        )
    svc.sender.poke()


def retry_seconds(error: RetryAfter) -> float:
    """Telegram's ``retry_after`` in seconds (int or timedelta, whatever PTB gives; as
    ``bot.outbox.retry_seconds``, which handlers may not import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns when it is read as an int
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def send(
    context: Context, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> int | None:
    """Send to another chat (the id of the message made); a blocked bot or a vanished chat
    is logged, not raised.

    A group upgraded to a supergroup is followed: its departments move to the new id and
    the message goes there.
    """
    try:
        return await api.send_text(context.bot, chat_id, fit(text, MESSAGE_LIMIT), markup)
    except ChatMigrated as exc:
        new_id = int(exc.new_chat_id)
        await services(context).identity.migrate_chat(chat_id, new_id)
        return await send(context, new_id, text, markup)
    except (Forbidden, BadRequest) as exc:
        log.warning("could not message chat %s: %s", chat_id, exc)
        return None


async def edit(
    query_message: Message | Any,
    text: str,
    markup: Markup = None,
    *,
    later: Services | None = None,
) -> None:
    """Edit a bot message; "message is not modified" is not an error. An edit Telegram
    does not take just now (a 5xx, a 429, a timeout) is queued in the outbox when ``later``
    is given (a case's card after a step: it must not keep buttons of a step that is over),
    else logged (the state is saved already)."""
    if not isinstance(query_message, Message):
        return
    # a photo (a document's page with its buttons) has a caption to edit, not a text
    captioned = bool(query_message.photo or query_message.document or query_message.caption)
    shown = fit(text, CAPTION_LIMIT if captioned else MESSAGE_LIMIT)
    keys = markup if isinstance(markup, InlineKeyboardMarkup) else None
    change = api.edit_caption if captioned else api.edit_text
    try:
        await change(
            query_message.get_bot(), query_message.chat_id, query_message.message_id, shown, keys
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
    except TelegramError as exc:
        if later is None:
            log.warning("could not edit message: %s", exc)
            return
        log.warning("could not edit message now, queued: %s", exc)
        async with later.db.write() as conn:
            await edit_sent(
                conn, query_message.chat_id, query_message.message_id, shown,
                keys.to_dict() if keys is not None else None,
            )  # fmt: skip
        later.sender.poke()


async def keep_answered(query: CallbackQuery) -> None:
    """A question answered with a button keeps its text (a reply of the company's, say,
    stays readable in the chat) and shows the answer chosen instead of its buttons."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    chosen = next(
        (
            button.text
            for row in message.reply_markup.inline_keyboard
            for button in row
            if button.callback_data == query.data
        ),
        None,
    )
    original = message.text_html if message.text else ""
    await edit(message, f"{original}\n\n» {escape(chosen)}" if chosen else original)


#: The hint that names the buttons of the question it comes with (``with_hint``).
TAP_HINT = "common.tap_one_of"


def button_labels(markup: Markup) -> list[str]:
    """The texts of an inline keyboard's buttons, in order (none for any other markup)."""
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [b.text for row in markup.inline_keyboard for b in row if b.callback_data]


def choices(actor: Actor, labels: list[str]) -> str:
    """Buttons named in a text (HTML): “报修”、“保洁”…"""
    quoted = [actor.t("common.choice", label=label) for label in labels]
    return actor.t("common.choice_separator").join(quoted)


def tap_hint(actor: Actor, labels: list[str]) -> str:
    """Text where a button is asked: which buttons (“报修”、“保洁”…), or /cancel."""
    return t_raw(actor.locale, TAP_HINT, choices=choices(actor, labels))


def with_hint(actor: Actor, hint: str, question: str, markup: Markup) -> str:
    """A question asked again after bad input, the hint first (:data:`TAP_HINT`: the names
    of the question's buttons)."""
    if hint == TAP_HINT:
        hint = tap_hint(actor, button_labels(markup))
    return f"{hint}\n{question}" if hint else question


def parse_id(raw: str | None) -> int | None:
    """A database id from button data: ASCII digits only, and small enough for SQLite."""
    if raw is None or not re.fullmatch(r"[0-9]{1,18}", raw):
        return None
    return int(raw)


def button(text: str, data: str) -> InlineKeyboardButton:
    """An inline button; its callback data must fit Telegram's 64 bytes."""
    if len(data.encode("utf-8")) > CALLBACK_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
    return InlineKeyboardButton(text, callback_data=data)


def keyboard(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of buttons."""
    return InlineKeyboardMarkup(rows)


def in_rows(
    buttons: list[InlineKeyboardButton], width: int = 2
) -> list[list[InlineKeyboardButton]]:
    """Lay buttons out ``width`` to a row."""
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def role_name(locale: str, role: str) -> str:
    """A role as people call it."""
    return t(locale, f"role.{role}")


def department_name(locale: str, code: str) -> str:
    """A department as people call it."""
    return t(locale, f"department.{code}")


#: The renovation commands the menu text lists, for those whose roles have them.
RENOVATION_COMMANDS = frozenset({"renovate", "extend", "pass", "patrol", "works"})


def menu_text(actor: Actor) -> str:
    """The menu for the person's roles: what they can do now."""
    lines = [actor.t("menu.title", name=actor.person.name)]
    roles = {m.role for m in actor.memberships}
    if roles & {Role.OWNER, Role.TENANT}:
        lines.append(actor.t("menu.resident"))
    if actor.is_staff:
        lines.append(actor.t("menu.staff"))
    renovation = [
        f"/{command} — {actor.t(f'command.{command}')}"
        for command in private_commands(set(roles), deployment_admin=actor.is_global_admin)
        if command in RENOVATION_COMMANDS
    ]
    if renovation:  # an owner applies and asks for more time; staff check passes and patrol
        lines.append("\n".join([actor.t("renovation_walk.menu_title"), *renovation]))
    if actor.is_global_admin or Role.ADMIN in roles:
        lines.append(actor.t("menu.admin"))
    if not roles and not actor.is_global_admin:
        lines.append(actor.t("menu.unregistered"))
    lines.append(actor.t("menu.common"))
    return "\n\n".join(lines)


def bullet_list(items: list[str]) -> str:
    """Lines as a bulleted list (items already escaped HTML)."""
    return "\n".join(f"• {item}" for item in items)


def roles_summary(actor: Actor) -> str:
    """``Estate: role (department), role`` lines for /whoami."""
    by_estate: dict[str, list[str]] = {}
    for m in actor.memberships:
        label = role_name(actor.locale, m.role)
        if m.department:
            label += f" ({department_name(actor.locale, m.department)})"
        by_estate.setdefault(m.estate_name, []).append(label)
    if not by_estate:
        return actor.t("whoami.no_roles")
    from html import escape

    return bullet_list([f"{escape(e)}: {', '.join(r)}" for e, r in by_estate.items()])


async def flush_persistence(update: Update, context: Context) -> None:
    """Persist what this update changed.

    PTB marks an update's user and chat data for saving only after every handler group has
    run, so they are marked here first; conversation states are tracked by PTB itself.
    """
    app = context.application
    if app.persistence is None:
        return
    app.mark_data_for_update_persistence(
        chat_ids=update.effective_chat.id if update.effective_chat else None,
        user_ids=update.effective_user.id if update.effective_user else None,
    )
    await app.update_persistence()


async def prompt_reply(
    context: Context, actor: Actor, case_id: int, key: str, text: str, placeholder: str
) -> bool:
    """Ask in the person's private chat for a reply to ``text`` (ForceReply), and remember
    under ``key`` that a reply to that message, for ``case_id``, is awaited (the early
    handler group takes it, within the hour; see :func:`awaited_reply`).

    The question goes through the outbox like any notice, so a Telegram error delays it and
    never loses it; which message it became is read from the outbox when the reply comes.
    False when Telegram refused it for good (the person never opened the private chat)."""
    svc = services(context)
    markup = ForceReply(input_field_placeholder=placeholder).to_dict()
    async with svc.db.write() as conn:
        row = await enqueue(
            conn, actor.person.tg_user_id, text, markup=markup, person_id=actor.person.id,
            case_id=case_id,
        )  # fmt: skip
    await svc.deliver()
    found = await outbox_outcome(svc.db, row)
    if found is not None and found[0] in ("blocked", "failed"):
        return False
    assert context.user_data is not None
    context.user_data.pop(key, None)  # asked again: it is the newest question
    context.user_data[key] = {"case": case_id, "outbox": row, "at": svc.clock.now().timestamp()}
    return True


def questions(context: Context) -> dict[str, dict[str, Any]]:
    """The questions awaiting a text in a person's user data, by key, in the order asked:
    :func:`prompt_reply`'s, and any other flow's that remembers when it asked (``"at"``),
    such as the weekly conclusion's."""
    return {
        key: value
        for key, value in (context.user_data or {}).items()
        if isinstance(value, dict) and "at" in value
    }


def newest_question(context: Context) -> dict[str, Any] | None:
    """The question asked last of all those awaiting a plain text (:func:`questions`; one
    put aside by a command takes only a reply to it: ``plain`` False)."""
    newest: dict[str, Any] | None = None
    # in the order asked (prompt_reply puts each last): ties go to the later
    for value in questions(context).values():
        if value.get("plain") is False:
            continue
        if newest is None or float(value["at"]) >= float(newest["at"]):
            newest = value
    return newest


async def awaited_reply(
    context: Context, key: str, update: Update, max_age: float, *, photos: bool = False
) -> dict[str, Any] | None:
    """The question this private message answers (the one :func:`prompt_reply` remembered
    under ``key``) within ``max_age`` seconds: a reply to that question, or a plain message
    (not a reply to anything) when it is the newest question awaiting an answer, as people
    answer what the bot has just asked, and no command came since (``plain`` False: only a
    reply answers it then). A text answers; with ``photos`` a photo or a file does too. A
    reply to another message answers nothing here; an expired question is forgotten."""
    waiting = (context.user_data or {}).get(key)
    message = update.effective_message
    if not isinstance(waiting, dict) or message is None:
        return None
    if not (message.text or (photos and (message.photo or message.document))):
        return None
    if services(context).clock.now().timestamp() - float(waiting.get("at", 0)) > max_age:
        assert context.user_data is not None
        context.user_data.pop(key, None)
        return None
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    if replied is None:
        return waiting if newest_question(context) is waiting else None
    if "prompt" in waiting:  # asked before questions went through the outbox
        return waiting if replied == waiting["prompt"] else None
    found = await outbox_outcome(services(context).db, int(waiting.get("outbox", 0)))
    return waiting if found is not None and found[1] == replied else None
