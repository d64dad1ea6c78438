"""Admins make staff invites and bind department group chats.

``/invite`` is stateless: each button carries the estate and role chosen so far
(``inv:e:<estate>``, ``inv:r:<estate>:<role>``) and every tap re-checks that the presser
administers that estate. ``/bind <department> [estate]`` in a group makes it the
department's chat; a group upgraded to a supergroup is followed (``migrate_to_chat_id``).
"""

from __future__ import annotations

import logging
from html import escape

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import t_raw
from handlers import asked
from handlers.common import (
    Actor,
    AnyHandler,
    Context,
    bullet_list,
    button,
    department_name,
    edit,
    in_rows,
    keyboard,
    parse_id,
    reply,
    role_name,
    services,
    who,
)
from procedures.identity import (
    ROLE_DEPARTMENT,
    STAFF_ROLES,
    Department,
    deep_link,
    parse_department,
    parse_role,
)
from storage.identity import Estate

log = logging.getLogger(__name__)


async def administered(context: Context, actor: Actor) -> list[Estate]:
    """The estates this person may administer."""
    estates = await services(context).identity.estates()
    return [e for e in estates if actor.admin_of(e.id)]


async def bot_username(context: Context) -> str:
    """The bot's @username for deep links (``WUYE_BOT_USERNAME`` overrides getMe)."""
    configured = services(context).settings.bot_username
    return configured or context.bot.username


# --- /invite -------------------------------------------------------------------------------


async def invite(update: Update, context: Context) -> None:
    """/invite: choose the estate (if several), then the role; get a one-time link."""
    actor = await who(update, context)
    if actor is None:
        return
    if update.effective_chat and update.effective_chat.type != ChatType.PRIVATE:
        await reply(update, context, actor.t("invite.private_only"))
        return
    estates = await administered(context, actor)
    if not estates:
        await reply(update, context, actor.t("common.admins_only"))
        return
    if len(estates) == 1:
        text, markup = role_menu(actor, estates[0])
    else:
        buttons = [button(e.name, f"inv:e:{e.id}") for e in estates]
        text, markup = actor.t("invite.choose_estate"), keyboard(in_rows(buttons))
    asked.remember(context, text, markup)  # typed text meanwhile: these buttons named
    await reply(update, context, text, markup)


def role_menu(actor: Actor, estate: Estate) -> tuple[str, InlineKeyboardMarkup]:
    """The role buttons for an estate."""
    buttons = [
        button(role_name(actor.locale, r), f"inv:r:{estate.id}:{r.value}") for r in STAFF_ROLES
    ]
    return actor.t("invite.choose_role", estate=estate.name), keyboard(in_rows(buttons))


async def administered_estate(
    query: CallbackQuery, context: Context, actor: Actor, raw_id: str | None
) -> Estate | None:
    """The estate a button names, if it exists and the presser administers it now; otherwise
    the press is answered (stale button, or admins only) and None returned."""
    estate_id = parse_id(raw_id)
    estate = await services(context).identity.estate(estate_id) if estate_id is not None else None
    if estate is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return None
    if not actor.admin_of(estate.id):
        await query.answer(actor.t("common.admins_only"), show_alert=True)
        return None
    return estate


async def on_invite_button(update: Update, context: Context) -> None:
    """An /invite button: re-check admin rights, then show roles or make the link."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    parts = (query.data or "").split(":")
    svc = services(context)
    estate = await administered_estate(query, context, actor, parts[2] if len(parts) > 2 else None)
    if estate is None:
        return
    if parts[1] == "e":
        await query.answer()
        text, markup = role_menu(actor, estate)
        asked.remember(context, text, markup)
        await edit(query.message, text, markup)
        return
    role = parse_role(parts[3]) if len(parts) == 4 else None
    if parts[1] != "r" or role is None or role not in STAFF_ROLES:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await query.answer()
    asked.forget(context)
    department = ROLE_DEPARTMENT.get(role)
    code, expires = await svc.identity.create_invite(
        estate.id,
        role,
        department=department.value if department else None,
        ttl_hours=svc.settings.invite_ttl_hours,
        actor=f"person:{actor.person.id}",
        actor_id=actor.person.id,
    )
    link = deep_link(await bot_username(context), code)
    when = expires.astimezone(svc.settings.tz).strftime("%Y-%m-%d %H:%M")
    await edit(
        query.message,
        actor.t(
            "invite.created",
            role=role_name(actor.locale, role),
            estate=estate.name,
            link=link,
            expires=when,
        ),
    )


# --- /bind ---------------------------------------------------------------------------------


async def bind(update: Update, context: Context) -> None:
    """/bind <department> [estate]: make this group the department's chat (admins only)."""
    actor = await who(update, context)
    chat = update.effective_chat
    if actor is None or chat is None:
        return
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        await reply(update, context, actor.t("bind.group_only"))
        return
    args = context.args or []
    department = parse_department(args[0]) if args else None
    if department is None:
        names = bullet_list(
            [f"<code>{d.value}</code> — {department_name(actor.locale, d)}" for d in Department]
        )
        await reply(update, context, t_raw(actor.locale, "bind.usage", departments=names))
        return
    svc = services(context)
    estates = await administered(context, actor)
    if not estates:
        await reply(update, context, actor.t("common.admins_only"))
        return
    if len(args) > 1:
        wanted = " ".join(args[1:])
        estates = [e for e in estates if e.name == " ".join(wanted.split())]
        if not estates:
            await reply(update, context, actor.t("bind.unknown_estate", estate=wanted))
            return
    if len(estates) > 1:
        await reply(
            update,
            context,
            t_raw(
                actor.locale,
                "bind.which_estate",
                department=department.value,
                estates=bullet_list([escape(e.name) for e in estates]),
            ),
        )
        return
    estate = estates[0]
    await svc.identity.bind_department(
        estate.id, department.value, chat.id, chat.title or "", by=actor.person
    )
    await reply(
        update,
        context,
        actor.t(
            "bind.done",
            estate=estate.name,
            department=department_name(actor.locale, department),
        ),
    )


async def migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: move its departments to the new chat id."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    if message.migrate_to_chat_id:
        old, new = chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, chat.id
    else:
        return
    moved = await services(context).identity.migrate_chat(old, new)
    if moved:
        log.info("group %s upgraded to supergroup %s: %d department(s) follow", old, new, moved)


async def follow_migration(context: Context, old: int, new: int) -> None:
    """Used by senders that meet ``ChatMigrated``."""
    await services(context).identity.migrate_chat(old, new)


def handlers() -> list[AnyHandler]:
    """/invite, its buttons, /bind and the supergroup upgrade."""
    return [
        CommandHandler("invite", invite),
        CallbackQueryHandler(on_invite_button, pattern=r"^inv:"),
        CommandHandler("bind", bind),
        MessageHandler(filters.StatusUpdate.MIGRATE, migrated),
    ]
