"""Owners register by sharing their own contact; staff join by one-time invite links.

``/start`` → share contact (Telegram's request-contact button) → matched against the
roster (主清冊, H-1) and bound to every unit of that owner. An unknown phone asks for the
estate and unit and sends a verification request to the customer-service group, whose
staff approve or reject it with buttons (see :mod:`handlers.verification`).
"""

from __future__ import annotations

import logging
from enum import IntEnum
from html import escape

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers.cards import REPLY_LINK_PREFIX
from handlers.common import (
    Actor,
    Context,
    bullet_list,
    button,
    canceller,
    department_name,
    edit,
    in_rows,
    keyboard,
    menu_text,
    parse_id,
    persistent_flow,
    reply,
    role_name,
    services,
    tap_hint,
    who,
)
from handlers.renovation_permit import PASS_LINK_PREFIX
from handlers.requests import ask_progress
from handlers.verification import post_verification
from procedures.identity import INVITE_PREFIX, fold, looks_like_invite_code
from procedures.phone import normalise_phone
from storage.identity import InviteOutcome, Unit

log = logging.getLogger(__name__)


#: New messages only: an edited old message is not an answer to the current question.
NEW = filters.UpdateType.MESSAGE
#: More matching units than this: ask for the building too instead of a wall of buttons.
MAX_CHOICES = 12
#: How many undecided verification requests one person may have at once.
MAX_PENDING = 3


class Step(IntEnum):
    """Where a person is in registration (ints survive persistence)."""

    CONTACT = 1
    ESTATE = 2
    UNIT = 3


def contact_keyboard(actor: Actor) -> ReplyKeyboardMarkup:
    """One big button that shares the person's own contact."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(actor.t("reg.share_button"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=actor.t("reg.share_placeholder"),
    )


def unit_lines(units: list[Unit]) -> str:
    """Units as a bulleted list: ``Estate · 3栋 502``."""
    return bullet_list([f"{escape(u.estate_name)} · {escape(u.label)}" for u in units])


async def start(update: Update, context: Context) -> int:
    """/start: redeem an invite, answer an owner from a card's reply link
    (``r<case>``: the progress is asked for), show the menu, or ask for the contact."""
    actor = await who(update, context)
    if actor is None:
        return ConversationHandler.END
    if context.args and context.args[0].startswith(INVITE_PREFIX):
        await redeem(update, context, actor, context.args[0].removeprefix(INVITE_PREFIX))
        return ConversationHandler.END
    if context.args and context.args[0].startswith("ct_"):  # a contractor's head's link
        from handlers import renovation  # imported for this link only

        await renovation.join(update, context, actor, context.args[0].removeprefix("ct_"))
        return ConversationHandler.END
    if context.args and context.args[0].startswith(PASS_LINK_PREFIX):  # S-1: a QR scanned
        from handlers import renovation  # imported for this link only

        await renovation.check_code(
            update, context, actor, context.args[0].removeprefix(PASS_LINK_PREFIX)
        )
        return ConversationHandler.END
    if context.args and context.args[0].startswith(REPLY_LINK_PREFIX):
        await ask_progress(update, context, actor, context.args[0])
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data.pop("reg", None)
    if actor.memberships or actor.is_global_admin:
        await reply(update, context, menu_text(actor), ReplyKeyboardRemove())
        return ConversationHandler.END
    await reply(update, context, actor.t("reg.ask_contact"), contact_keyboard(actor))
    return Step.CONTACT


async def register(update: Update, context: Context) -> int:
    """/register: share the contact again (another unit, or staff who are also owners)."""
    actor = await who(update, context)
    if actor is None:
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data.pop("reg", None)
    await reply(update, context, actor.t("reg.ask_contact"), contact_keyboard(actor))
    return Step.CONTACT


async def redeem(update: Update, context: Context, actor: Actor, code: str) -> None:
    """Use a staff invite: grant its role, or explain why the link does not work."""
    svc = services(context)
    if not looks_like_invite_code(code):
        await reply(update, context, actor.t("invite.unknown"))
        return
    result = await svc.identity.redeem_invite(code, actor.person)
    if result.outcome is not InviteOutcome.GRANTED:
        await reply(update, context, actor.t(f"invite.{result.outcome.value}"))
        return
    fresh = await who(update, context)
    assert fresh is not None and result.role is not None and result.estate_name is not None
    department = (
        fresh.t("invite.in_department", department=department_name(fresh.locale, result.department))
        if result.department
        else ""
    )
    await reply(
        update,
        context,
        fresh.t(
            "invite.granted",
            role=role_name(fresh.locale, result.role),
            estate=result.estate_name,
        )
        + department
        + "\n\n"
        + menu_text(fresh),
        ReplyKeyboardRemove(),
    )


async def got_contact(update: Update, context: Context) -> int:
    """A contact: refuse someone else's; bind the roster's units or ask for the estate."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or message.contact is None:
        return Step.CONTACT
    contact = message.contact
    if contact.user_id != actor.person.tg_user_id:
        await reply(update, context, actor.t("reg.not_own_contact"), contact_keyboard(actor))
        return Step.CONTACT
    phone = normalise_phone(contact.phone_number, international=True)
    if phone is None:
        await reply(update, context, actor.t("reg.bad_phone"), ReplyKeyboardRemove())
        return ConversationHandler.END
    svc = services(context)
    units = await svc.identity.units_for_phone(phone)
    if units:
        bound = await svc.identity.bind_owner(
            actor.person,
            phone,
            units,
            source="roster",
            actor=f"person:{actor.person.id}",
            actor_id=actor.person.id,
        )
        log.info("person %s bound to %d unit(s) by roster", actor.person.id, len(bound))
        fresh = await who(update, context)
        assert fresh is not None
        await reply(
            update,
            context,
            fresh.t("reg.bound", units=len(units)) + "\n" + unit_lines(units),
            ReplyKeyboardRemove(),
        )
        await reply(update, context, menu_text(fresh))
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data["reg"] = {"phone": phone}
    estates = await svc.identity.estates()
    if not estates:
        await reply(update, context, actor.t("reg.no_estates"), ReplyKeyboardRemove())
        return ConversationHandler.END
    await reply(update, context, actor.t("reg.not_found"), ReplyKeyboardRemove())
    if len(estates) == 1:
        context.user_data["reg"]["estate_id"] = estates[0].id
        await reply(update, context, actor.t("reg.ask_unit", estate=estates[0].name))
        return Step.UNIT
    buttons = [button(e.name, f"reg:estate:{e.id}") for e in estates]
    await reply(update, context, actor.t("reg.ask_estate"), keyboard(in_rows(buttons)))
    return Step.ESTATE


async def contact_expected(update: Update, context: Context) -> int:
    """Anything but a contact while one is expected: say how, keep waiting."""
    actor = await who(update, context)
    if actor is not None:
        await reply(update, context, actor.t("reg.contact_expected"), contact_keyboard(actor))
    return Step.CONTACT


async def got_estate(update: Update, context: Context) -> int:
    """An estate button: remember it and ask for the unit."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    reg = context.user_data.get("reg")
    estate = None
    estate_id = parse_id((query.data or "").rsplit(":", 1)[-1])
    if reg and estate_id is not None:
        estate = await services(context).identity.estate(estate_id)
    if reg is None or estate is None:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    reg["estate_id"] = estate.id
    await edit(query.message, actor.t("reg.estate_chosen", estate=estate.name))
    await reply(update, context, actor.t("reg.ask_unit", estate=estate.name))
    return Step.UNIT


async def estate_expected(update: Update, context: Context) -> int:
    """A message while an estate button is expected: an estate's name typed is the choice;
    anything else is told which estates there are to tap."""
    actor = await who(update, context)
    message = update.effective_message
    reg = (context.user_data or {}).get("reg")
    if actor is None or message is None or not isinstance(reg, dict):
        return Step.ESTATE
    estates = await services(context).identity.estates()
    typed = fold(message.text or "")
    named = [e for e in estates if typed and fold(e.name) == typed]
    if len(named) != 1:
        await reply(update, context, tap_hint(actor, [e.name for e in estates]))
        return Step.ESTATE
    reg["estate_id"] = named[0].id
    await reply(update, context, actor.t("reg.estate_chosen", estate=named[0].name))
    await reply(update, context, actor.t("reg.ask_unit", estate=named[0].name))
    return Step.UNIT


async def got_unit(update: Update, context: Context) -> int:
    """The unit typed by the person: find it, then send the verification request."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or context.user_data is None:
        return ConversationHandler.END
    reg = context.user_data.get("reg") or {}
    if "estate_id" not in reg:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    text = (message.text or "").strip()
    units = await services(context).identity.find_units(reg["estate_id"], text) if text else []
    if not units:
        await reply(update, context, actor.t("reg.unit_not_found", unit=text[:40]))
        return Step.UNIT
    if len(units) > 1:
        if len(units) > MAX_CHOICES:
            await reply(update, context, actor.t("reg.too_many_units", count=len(units)))
            return Step.UNIT
        buttons = [button(u.label, f"reg:unit:{u.id}") for u in units]
        await reply(update, context, actor.t("reg.pick_unit"), keyboard(in_rows(buttons, 3)))
        return Step.UNIT
    return await request_verification(update, context, actor, units[0])


async def unit_expected(update: Update, context: Context) -> int:
    """A photo or sticker while the unit is expected: ask for it as text."""
    actor = await who(update, context)
    reg = (context.user_data or {}).get("reg") or {}
    estate = await services(context).identity.estate(reg["estate_id"]) if reg else None
    if actor is not None and estate is not None:
        await reply(update, context, actor.t("reg.ask_unit", estate=estate.name))
    return Step.UNIT


async def got_unit_choice(update: Update, context: Context) -> int:
    """A unit button, when the typed unit matched several."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    reg = context.user_data.get("reg") or {}
    unit_id = parse_id((query.data or "").rsplit(":", 1)[-1])
    unit = await services(context).identity.unit(unit_id) if unit_id is not None else None
    if unit is None or unit.estate_id != reg.get("estate_id"):
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    await edit(query.message, actor.t("reg.unit_chosen", unit=unit.label))
    return await request_verification(update, context, actor, unit)


async def request_verification(update: Update, context: Context, actor: Actor, unit: Unit) -> int:
    """Open the request and send it to customer service; tell the person what happens next."""
    assert context.user_data is not None
    phone = context.user_data["reg"]["phone"]
    identity = services(context).identity
    if len(await identity.pending_of(actor.person.id)) >= MAX_PENDING:
        context.user_data.pop("reg", None)
        await reply(update, context, actor.t("reg.too_many_pending", count=MAX_PENDING))
        return ConversationHandler.END
    verification, created = await identity.open_verification(actor.person, unit, phone)
    if created:
        await post_verification(context, verification.id)
    context.user_data.pop("reg", None)  # only now: a failed post leaves the step retryable
    key = "reg.verification_sent" if created else "reg.verification_pending"
    await reply(update, context, actor.t(key, estate=unit.estate_name, unit=unit.label))
    return ConversationHandler.END


cancel = canceller("reg")


def conversation() -> ConversationHandler[Context]:
    """The registration flow (persistent: survives restarts)."""
    return persistent_flow(
        entry_points=[
            CommandHandler("start", start, filters.ChatType.PRIVATE),
            CommandHandler("register", register, filters.ChatType.PRIVATE),
        ],
        states={
            Step.CONTACT: [
                MessageHandler(NEW & filters.CONTACT, got_contact),
                MessageHandler(NEW & ~filters.COMMAND, contact_expected),
            ],
            Step.ESTATE: [
                CallbackQueryHandler(got_estate, pattern=r"^reg:estate:"),
                MessageHandler(NEW & ~filters.COMMAND, estate_expected),
            ],
            Step.UNIT: [
                MessageHandler(NEW & filters.TEXT & ~filters.COMMAND, got_unit),
                CallbackQueryHandler(got_unit_choice, pattern=r"^reg:unit:"),
                MessageHandler(NEW & ~filters.COMMAND, unit_expected),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="registration",
    )
