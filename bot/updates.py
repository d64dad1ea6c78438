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

from telegram import Update
from telegram.ext import BaseUpdateProcessor

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
