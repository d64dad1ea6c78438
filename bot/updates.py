"""Different people's updates at once, each person's in order.

PTB processes updates one at a time by default, so one slow step (a person's reply waiting
out a 429, a large roster being read) made everyone else wait. With this processor the
application handles updates concurrently, except that the updates of one person in one chat
(the key a ConversationHandler keeps its state under: chat and user) run one after another,
in the order Telegram sent them; DESIGN.md, Pitfalls.

Every update passes here, so this is also where its handling ends: ``finished`` (the inbox,
``bot.inbox``) hears of each update whose handling ended, before the same person's next
update starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, Update
from telegram.ext import BaseUpdateProcessor

from procedures.typed import cleaned
from storage.inbox import HANDLING

#: How many updates may be in hand at once (waiting for their turn included).
MAX_CONCURRENT = 256


def update_key(update: object) -> tuple[int | None, int | None]:
    """The (chat, user) an update belongs to; (None, None) for anything else (one lane)."""
    if not isinstance(update, Update):
        return (None, None)
    chat, user = update.effective_chat, update.effective_user
    return (chat.id if chat else None, user.id if user else None)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across (chat, user) keys, in order within one."""

    def __init__(
        self,
        max_concurrent_updates: int = MAX_CONCURRENT,
        *,
        finished: Callable[[object], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.finished = finished
        self._lanes: dict[tuple[int | None, int | None], asyncio.Lock] = {}
        self._waiting: dict[tuple[int | None, int | None], int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run ``coroutine`` once every earlier update of the same key has finished.

        The tasks PTB makes for the updates start in the order they were fetched, and an
        asyncio lock is granted in the order it was asked for, so one key's updates keep
        their order.

        When the coroutine returns, or raises an error (PTB's error handler has had it), the
        update is ``finished``, inside its lane: the person's next update starts only after,
        so at most one update of a person is ever done but not yet marked. An interrupted
        one (cancelled: the process stopping under it) is not finished."""
        key = update_key(update)
        if isinstance(update, Update):  # a step's transaction marks it (storage.inbox.settle)
            HANDLING.set(update.update_id)
        lane = self._lanes.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lane:
                try:
                    await coroutine
                except Exception:
                    await self._finish(update)
                    raise
                await self._finish(update)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else in this lane: forget it
                del self._waiting[key]
                self._lanes.pop(key, None)

    async def _finish(self, update: object) -> None:
        if self.finished is not None:
            await self.finished(update)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""


# --- what people typed, made plain before any handler sees it --------------------------------

#: The fields of an update that carry a message people typed.
MESSAGE_FIELDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)
#: A message's typed texts and the entities that point into each.
TEXT_FIELDS = (("text", "entities"), ("caption", "caption_entities"))


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def plain_text(text: str) -> tuple[str, list[int]]:
    """``text`` made plain (:mod:`procedures.typed`), and where each of its UTF-16 offsets
    (Telegram counts entities in them) lands in the result."""
    out: list[str] = []
    where = [0]
    at = 0
    for old, new in cleaned(text):
        where += [at] * (_utf16(old) - 1)  # inside a surrogate pair
        at += _utf16(new)
        where.append(at)
        out.append(new)
    return "".join(out), where


def plain_update(update: object, bot: Bot) -> object:
    """The update with the texts people typed made plain: zero-width and bidirectional
    control characters gone, digits ASCII (:mod:`procedures.typed`), the entities (the
    command's, a mention's) moved with their text. Every handler, every flow and every
    stored text then sees the same plain text; an update with nothing to change is itself."""
    if not isinstance(update, Update):
        return update
    data: dict[str, Any] | None = None
    for field in MESSAGE_FIELDS:
        message = getattr(update, field, None)
        if message is None:
            continue
        for text_field, entities_field in TEXT_FIELDS:
            text = getattr(message, text_field, None)
            if not text:
                continue
            plain, where = plain_text(text)
            if plain == text:
                continue
            data = data if data is not None else update.to_dict()
            fields = data[field]
            fields[text_field] = plain
            moved = []
            for entity in fields.get(entities_field) or []:
                start = where[entity["offset"]]
                end = where[min(entity["offset"] + entity["length"], len(where) - 1)]
                if end > start:
                    moved.append(entity | {"offset": start, "length": end - start})
            if entities_field in fields:
                fields[entities_field] = moved
    return update if data is None else Update.de_json(data, bot)
