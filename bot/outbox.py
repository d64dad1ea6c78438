"""The outbox sender: drains queued notifications under Telegram's limits, never losing one.

* A row is marked ``sent`` only after Telegram confirms it.
* 429 waits as long as Telegram asks; 5xx and timeouts back off (1 s, 2 s, 4 s … 5 min);
  neither loses nor reorders anything (each chat's queue leaves in order).
* 403 from a person (they blocked the bot) marks the row ``blocked`` and, when it belongs to
  a case, queues a note to the estate's customer-service group in the same transaction, so
  staff phone the resident instead; 403 from a group, or a 400, is ``failed`` and logged.
* A group upgraded to a supergroup is followed, and its queue with it.

The one window no bot can close: Telegram delivered a message but the confirmation was
lost (a timeout after delivery). That message is sent again: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiosqlite
from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.i18n import CAPTION_LIMIT, MESSAGE_LIMIT, fit
from storage.db import Database
from storage.outbox import OutboxMessage, OutboxStore

log = logging.getLogger(__name__)

#: Longest wait between two tries of a message that keeps failing with 5xx or timeouts.
MAX_BACKOFF = 300.0
#: How many due messages one pass hands out.
BATCH = 50

#: Called in the transaction that marks a message ``blocked`` (see :class:`OutboxSender`).
BlockedHook = Callable[[aiosqlite.Connection, OutboxMessage], Awaitable[None]]
#: Called when a group moved to a new chat id (departments follow it).
MigratedHook = Callable[[int, int], Awaitable[object]]


def backoff(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failures."""
    return float(min(2 ** max(attempts, 0), MAX_BACKOFF))


def retry_seconds(error: RetryAfter) -> float:
    """Telegram's ``retry_after`` in seconds (int or timedelta, whatever PTB gives)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


#: Any keyboard a queued message can carry.
ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply


def reply_markup(data: dict[str, Any] | None, bot: Bot) -> ReplyMarkup | None:
    """A stored keyboard back as PTB's object: inline buttons on cards, and the reply
    keyboards, keyboard removals and ForceReply of answers queued by ``handlers.common``."""
    if not data:
        return None
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data, bot)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data, bot)
    if "force_reply" in data:
        return ForceReply(
            selective=data.get("selective"),
            input_field_placeholder=data.get("input_field_placeholder"),
        )
    return ReplyKeyboardRemove(selective=data.get("selective"))


class OutboxSender:
    """Sends what the outbox holds; one pass at a time (a lock keeps two from racing)."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        clock: Callable[[], datetime] | None = None,
        on_blocked: BlockedHook | None = None,
        on_migrated: MigratedHook | None = None,
    ) -> None:
        self.db = db
        self.store = OutboxStore(db)
        self.bot = bot
        self.clock = clock or db.clock.now  # the application's clock unless a test gives one
        self.on_blocked = on_blocked
        self.on_migrated = on_migrated
        self._lock = asyncio.Lock()
        self.wakeup = asyncio.Event()

    def poke(self) -> None:
        """Something was queued: drain soon rather than at the next tick."""
        self.wakeup.set()

    async def drain(self) -> int:
        """Send everything due now, repeatedly, until nothing is left that is due."""
        total = 0
        while True:
            handled = await self.drain_once()
            total += handled
            if handled == 0:
                return total

    async def drain_once(self) -> int:
        """One pass: try each due head-of-queue message once; returns how many were tried."""
        async with self._lock:
            due = await self.store.due(self.clock(), BATCH)
            for message in due:
                await self._send(message)
            return len(due)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Drain until ``stop`` is set, waking on :meth:`poke` or every ``interval`` seconds."""
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:  # a broken pass must not stop the sender for good
                log.exception("outbox pass failed")
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=interval)

    async def _send(self, message: OutboxMessage) -> None:
        markup = reply_markup(message.markup, self.bot)
        try:
            if message.blob:
                sent = await self._send_blob(message, markup)
            elif message.photo:
                caption = fit(message.text, CAPTION_LIMIT) or None
                sent = await self.bot.send_photo(
                    message.chat_id, message.photo, caption=caption, parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )  # fmt: skip
            else:
                sent = await self.bot.send_message(
                    message.chat_id, fit(message.text, MESSAGE_LIMIT), parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )  # fmt: skip
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            await self.store.retry(message.id, f"429 retry after {wait:g}s", self._later(wait))
        except ChatMigrated as exc:
            new_chat = int(exc.new_chat_id)
            await self.store.moved(message.chat_id, new_chat)
            if self.on_migrated is not None:
                await self.on_migrated(message.chat_id, new_chat)
        except Forbidden as exc:
            await self._refused(message, "blocked" if message.chat_id > 0 else "failed", exc)
        except BadRequest as exc:  # before NetworkError: BadRequest is one of them
            await self._refused(message, "failed", exc)
        except (NetworkError, InvalidToken) as exc:  # 5xx, timeouts, connection errors
            await self.store.retry(message.id, str(exc), self._later(backoff(message.attempts)))
        except TelegramError as exc:
            await self.store.retry(message.id, str(exc), self._later(backoff(message.attempts)))
        else:
            await self.store.sent(message.id, sent.message_id)

    async def _send_blob(self, message: OutboxMessage, markup: ReplyMarkup | None) -> Any:
        """Send a stored file (a report's chart or spreadsheet) with ``text`` as its caption:
        uploaded the first time, then by Telegram's file_id (uploaded again should Telegram
        no longer know that id)."""
        assert message.blob is not None
        blob = await self.store.blob(message.blob)
        if blob is None:  # cannot happen: the file is written in the message's transaction
            raise BadRequest(f"stored file {message.blob} is missing")
        send = self.bot.send_photo if message.blob_as == "photo" else self.bot.send_document
        caption = fit(message.text, CAPTION_LIMIT) or None

        async def attempt(what: str | InputFile) -> Any:
            return await send(
                message.chat_id, what, caption=caption, parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )  # fmt: skip

        upload = InputFile(blob.data, filename=blob.filename)
        if blob.file_id is None:
            sent = await attempt(upload)
        else:
            try:
                sent = await attempt(blob.file_id)
            except BadRequest:
                sent = await attempt(upload)
        media = sent.photo[-1] if message.blob_as == "photo" and sent.photo else sent.document
        if media is not None and media.file_id != blob.file_id:
            await self.store.uploaded(blob.sha256, media.file_id)
        return sent

    def _later(self, seconds: float) -> datetime:
        return self.clock() + timedelta(seconds=seconds)

    async def _refused(self, message: OutboxMessage, state: str, exc: TelegramError) -> None:
        """Telegram will never take this message: record it, and let someone act on it."""
        if state == "failed":
            log.error("outbox message %s to chat %s refused: %s", message.id, message.chat_id, exc)
        async with self.db.write() as conn:
            await self.store.give_up(conn, message.id, state, str(exc))
            if state == "blocked" and self.on_blocked is not None:
                await self.on_blocked(conn, message)
