"""What staff-recorded flows share: ``/record`` (calls and visits received, V-1..V-5:
handlers.calls) and ``/visit`` (customer visits, A-1: handlers.customer_visits) — who may
record, the estate choice, re-asking after bad input, "skip", and /record or /visit in a
group. Each flow keeps its draft under its own key in ``user_data`` as plain JSON (ids and
text), so a restart half-way loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    ConversationHandler,
    filters,
)

from handlers.common import (
    TAP_HINT,
    Actor,
    Context,
    button,
    edit,
    in_rows,
    keyboard,
    parse_id,
    reply,
    services,
    who,
)
from procedures.permissions import Act, may
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
#: A conversation step: takes the update, returns the next state.
Step = Callable[[Update, Context], Coroutine[Any, Any, int]]


def may_record(actor: Actor, estate_id: int) -> bool:
    """Customer-service staff of the estate record calls and visits (an admin, as such, not)."""
    return may(Act.RECORD_CALL, actor.roles_in(estate_id))  # V-4, A-1


async def recorder_estates(context: Context, actor: Actor) -> list[Estate]:
    """The estates where this person may record."""
    return [e for e in await services(context).identity.estates() if may_record(actor, e.id)]


def draft_of(context: Context, key: str) -> dict[str, Any]:
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


def estate_buttons(estates: list[Estate], prefix: str) -> InlineKeyboardMarkup:
    return keyboard(in_rows([button(e.name, f"{prefix}:est:{e.id}") for e in estates]))


async def estate_name(context: Context, estate_id: int) -> str:
    estate = await services(context).identity.estate(estate_id)
    return estate.name if estate else "—"


async def unit_of(context: Context, raw: str | None, estate_id: object) -> Unit | None:
    """The unit a button names, if it exists and belongs to the draft's estate."""
    unit_id = parse_id(raw)
    unit = await services(context).identity.unit(unit_id) if unit_id is not None else None
    return unit if unit is not None and unit.estate_id == estate_id else None


# Both flows (/record and /visit) share their start, estate choice, re-asking and /cancel;
# each keeps its draft under its own key in user_data and asks with its own ``ask``.
Ask = Callable[[Update, Context, Actor, Any, str], Awaitable[int]]


def expected_step(key: str, ask: Ask, step: IntEnum, hint_key: str) -> Step:
    """Anything else at ``step``: a polite hint and the same question again."""

    async def expected(update: Update, context: Context) -> int:
        actor = await who(update, context)
        if actor is None:
            return int(step)
        if key not in (context.user_data or {}):
            await reply(update, context, actor.t("common.stale_button"))
            return ConversationHandler.END
        hint = hint_key if hint_key == TAP_HINT else actor.t(hint_key)
        return await ask(update, context, actor, step, hint)

    expected.__doc__ = f"Bad input while the {step.name.lower()} is expected: ask again."
    return expected


def starter(key: str, ask: Ask, estate_step: IntEnum, next_step: IntEnum) -> Step:
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
        # The draft's key makes filing it idempotent: the last step handled again (a
        # double tap, a replay after a crash) finds the case already filed.
        context.user_data[key] = {"key": f"{key}:{actor.person.id}:{update.update_id}"}
        if len(estates) > 1:
            return await ask(update, context, actor, estate_step, "")
        context.user_data[key]["estate_id"] = estates[0].id
        return await ask(update, context, actor, next_step, "")

    return start


def estate_chooser(key: str, ask: Ask, next_step: IntEnum) -> Step:
    """An estate button (one the person records for now): keep it and go on."""

    async def chosen(update: Update, context: Context) -> int:
        query = update.callback_query
        actor = await who(update, context)
        if query is None or actor is None:
            return ConversationHandler.END
        await query.answer()
        draft = draft_of(context, key)
        estate_id = parse_id((query.data or "").rsplit(":", 1)[-1])
        estates = {e.id: e for e in await recorder_estates(context, actor)}
        if context.user_data is None or key not in context.user_data or estate_id not in estates:
            await edit(query.message, actor.t("common.stale_button"))
            return ConversationHandler.END
        draft["estate_id"] = estate_id
        await edit(query.message, actor.t("record.estate_chosen", estate=estates[estate_id].name))
        return await ask(update, context, actor, next_step, "")

    return chosen
