"""Text typed where a button (or a file) is expected, outside any conversation: the question
asked again under a hint that names what it waits for, never the general "not understood".

Two kinds of place wait for a tap without a conversation holding the chat:

* the admins' stateless flows, ``/invite`` (estate → role) and ``/import`` (estate, a new
  estate confirmed → the roster file): each step :func:`remember` s its question and
  buttons in the person's data (``user_data``), the last step :func:`forget` s it, /cancel
  drops it, and it is forgotten after :data:`ASK_SECONDS`;
* the case cards staff get in their private chat (an urgent alert with the first
  responder's buttons, a classification, an approval, a phone callback task): the newest
  card there whose step is still open names its buttons (read from the cards the outbox
  posted, drawn as they are now).

``handlers.general.hint`` asks :func:`typed_where_asked` before its general answer. The
record kept is ``{"text", "markup", "hint", "asked"}``; its time is under ``asked``, not
``at``, so it is never taken for a question awaiting a text (``common.newest_question``).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.i18n import t_raw
from handlers.common import TAP_HINT, Actor, Context, choices, reply, services, with_hint

#: Where the question waiting for a tap is kept in the person's user_data.
ASKED = "buttons_asked"
#: How long a question of /invite or /import waits for its tap (or file).
ASK_SECONDS = 30 * 60
#: How many of the newest cards in a private chat are looked at for open buttons.
CARDS_LOOKED_AT = 5


def remember(
    context: Context, text: str, markup: InlineKeyboardMarkup | None, hint: str = TAP_HINT
) -> None:
    """``text`` (with ``markup``) is now the question waiting in this private chat; typed
    text gets ``hint`` (a text key; :data:`~handlers.common.TAP_HINT` names the buttons)
    and the question again."""
    if context.user_data is None:
        return
    context.user_data[ASKED] = {
        "text": text,
        "markup": markup.to_dict() if markup is not None else None,
        "hint": hint,
        "asked": services(context).clock.now().timestamp(),
    }


def forget(context: Context) -> bool:
    """The question was answered (or dropped): typed text is no answer to it any more.
    True when there was one."""
    if context.user_data is None:
        return False
    return context.user_data.pop(ASKED, None) is not None


def waiting(context: Context) -> dict[str, Any] | None:
    """The question waiting for a tap, if one was asked within :data:`ASK_SECONDS`."""
    asked = (context.user_data or {}).get(ASKED)
    if not isinstance(asked, dict):
        return None
    if services(context).clock.now().timestamp() - float(asked.get("asked", 0)) > ASK_SECONDS:
        forget(context)
        return None
    return asked


async def typed_where_asked(update: Update, context: Context, actor: Actor) -> bool:
    """Answer text typed where a tap (or a file) is awaited: the admin flow's question again
    under its hint, or the newest open card's buttons named. False when nothing waits."""
    asked = waiting(context)
    if asked is not None:
        data = asked.get("markup")
        markup = InlineKeyboardMarkup.de_json(data, context.bot) if data else None
        key = str(asked.get("hint") or TAP_HINT)
        hint = t_raw(actor.locale, key) if key != TAP_HINT else key
        await reply(update, context, with_hint(actor, hint, str(asked["text"]), markup), markup)
        return True
    if not actor.is_staff:
        return False
    return await open_card_named(update, context, actor)


async def open_card_named(update: Update, context: Context, actor: Actor) -> bool:
    """Staff typing in their private chat while a case card there waits for a tap: which
    case and which buttons (as the card offers them now), not "not understood"."""
    message = update.effective_message
    if message is None:
        return False
    svc = services(context)
    for case_id, name, arg in await svc.cases.cards_with_buttons(message.chat_id, CARDS_LOOKED_AT):
        case = await svc.cases.get(case_id)
        if case is None:
            continue
        markup = svc.notifier.keyboard(actor.locale, case, name, arg)
        if markup is None:
            continue
        named = choices(actor, _labels(markup))
        text = t_raw(actor.locale, "hint.card_waiting", number=case.number, choices=named)
        await reply(update, context, text)
        return True
    return False


def _labels(markup: dict[str, Any]) -> list[str]:
    """The texts of a keyboard's buttons that do something (callback data)."""
    rows = markup.get("inline_keyboard") or []
    return [str(b["text"]) for row in rows for b in row if b.get("callback_data")]
