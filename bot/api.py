"""The bot's most frequent Bot API calls, with Telegram's answer kept as JSON.

PTB's ``send_message`` and ``edit_message_text`` decode every answer into a ``Message``: a
few hundred attribute sets per call, the largest single cost of an answer in the bot's
main thread (``bench/throughput.py --profile``), and thrown away at once by nearly every
caller, which needs the message's id at most. These calls go the rest of PTB's way —
``Bot._post``: its defaults, the rate limiter, the request object (``bot/http.py``, or a
test's fake Bot API) and its errors (``BadRequest``, ``RetryAfter``, ``ChatMigrated``…)
raised exactly as from PTB's own methods — and return the answer as Telegram sent it.

``Bot._post`` is PTB's one internal entry for every Bot API method (its public methods
build ``data`` and call it; ``ExtBot`` adds the rate limiter there). Handlers may import
this module (``pyproject.toml``'s import contracts).
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, TelegramObject
from telegram.constants import ParseMode

#: A keyboard: PTB's object, or the JSON Telegram takes (as the outbox stores it).
Keys = TelegramObject | dict[str, Any] | None


async def call(bot: Bot, method: str, data: dict[str, Any]) -> Any:
    """One Bot API ``method`` (Telegram's name, ``sendMessage``) with ``data``; Telegram's
    ``result`` as JSON (a message's dict, or True). None values are left out."""
    return await bot._post(method, data)  # PTB's internal entry: see the module docstring


async def send_text(
    bot: Bot,
    chat_id: int | str,
    text: str,
    markup: Keys = None,
    *,
    thread_id: int | None = None,
    business_connection_id: str | None = None,
) -> int:
    """``sendMessage`` in HTML; the id of the message made."""
    sent = await call(
        bot,
        "sendMessage",
        {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": ParseMode.HTML,
            "reply_markup": markup,
            "message_thread_id": thread_id,
            "business_connection_id": business_connection_id,
        },
    )
    return int(sent["message_id"])


async def edit_text(
    bot: Bot, chat_id: int | str, message_id: int, text: str, markup: Keys = None
) -> None:
    """``editMessageText`` in HTML (an inline keyboard, or none)."""
    await call(
        bot,
        "editMessageText",
        {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "parse_mode": ParseMode.HTML,
            "reply_markup": markup,
        },
    )


async def edit_caption(
    bot: Bot, chat_id: int | str, message_id: int, caption: str, markup: Keys = None
) -> None:
    """``editMessageCaption`` in HTML (a photo's or a file's caption, an inline keyboard)."""
    await call(
        bot,
        "editMessageCaption",
        {
            "chat_id": chat_id,
            "message_id": message_id,
            "caption": caption,
            "parse_mode": ParseMode.HTML,
            "reply_markup": markup,
        },
    )
