"""The outbox sender: drains queued notifications under Telegram's limits, never losing one.

* A row is marked ``sent`` only after Telegram confirms it, and each attempt is recorded
  before its request leaves (``storage.outbox``: ``sending_at``, in a short write of its
  own, made for a batch of sends just before their tasks start): a row in flight when the
  process died is found marked by the next sender and sent once more, and counted; found so
  a second time it is not sent again (``failed``). So a notice is sent at most once, except
  a row in flight at a crash, which is resent at most once.
* 429 waits as long as Telegram asks; 5xx and timeouts back off (1 s, 2 s, 4 s … 5 min);
  neither loses nor reorders anything (each chat's queue leaves in order).
* 403 from a person (they blocked the bot) marks the row ``blocked`` and, when it belongs to
  a case, queues a note to the estate's customer-service group in the same transaction, so
  staff phone the resident instead; 403 from a group, or a 400, is ``failed`` and logged.
* A group upgraded to a supergroup is followed, and its queue with it.
* Albums of evidence photos (``enqueue(..., album=[sha256, ...])``): display copies read
  from the evidence store, one photo by sendPhoto, 2 to 10 by sendMediaGroup, uploaded once
  and then sent by Telegram's file_id; an album of n photos counts as n messages in the
  pacing (``bot.pacing``).
* Edits of a message sent earlier (``storage.outbox.enqueue_edit``) wait behind it in its
  chat's queue; the newest pending edit of a message stands for the others; "message is
  not modified" counts as done; a message refused for good takes its edits with it.
* Paced to Telegram's limits (``bot.pacing``): at most 30 messages in any second overall,
  one private chat's messages at least a second apart, at most 20 a minute to one group.
  Each chat is a queue of its own: a chat that must wait (its pace, a 429, a backoff, a
  slow request) holds back only itself.

The one window no bot can close: Telegram delivered a message but the confirmation was
lost (a timeout after delivery, or the process died before writing it down). That message
is sent again: at least once, never lost; the crash case is bounded as above.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiosqlite
from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
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

from bot import api
from bot.crashpoints import crashpoint
from bot.i18n import CAPTION_LIMIT, MESSAGE_LIMIT, fit
from bot.pacing import MonotonicClock, PaceClock, Pacer
from storage.db import Database
from storage.evidence import EvidenceStore, file_ids, remember_file_id
from storage.outbox import (
    ALBUM,
    EDIT_MARKUP,
    EDITS,
    Blob,
    OutboxMessage,
    OutboxStore,
    Recovered,
)

log = logging.getLogger(__name__)

#: Longest wait between two tries of a message that keeps failing with 5xx or timeouts.
MAX_BACKOFF = 300.0
#: At most this many sends begin at once (the overall limit allows 30 a second anyway).
BATCH = 50
#: Longest a direct answer waits for its turn (:meth:`OutboxSender.turn`): the overall
#: second, when 30 messages just went.
ANSWER_WAIT = 1.5
#: Seconds a chat rests after its send broke on something other than Telegram's answer.
REST = 5.0
#: Telegram's answer to an edit that changes nothing: the message already shows it.
NOT_MODIFIED = "message is not modified"

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


def pace_clock() -> PaceClock:
    """The clock pacing runs on: real elapsed time. (The tests' conftest swaps in a
    :class:`~bot.pacing.SteppingClock`, so waiting a group's minute costs them nothing.)"""
    return MonotonicClock()


class OutboxSender:
    """Sends what the outbox holds: one queue per chat, paced to Telegram's limits.

    One dispatcher runs at a time: :meth:`run` (the bot's long-lived task, see :meth:`start`)
    or, where no such task runs (tests, one-off commands), :meth:`drain`. It asks the store
    for the oldest due message of each chat whose turn it is (:class:`~bot.pacing.Pacer`),
    at most as many as the overall limit lets begin now, and sends each in a task of its
    own, so a slow request to one chat delays nobody else. A chat that must wait — its pace,
    a 429's ``retry_after``, a 5xx backoff (both stored as the row's next attempt, by the
    application's clock), a send still under way — is simply left out of the next question;
    the others keep going.
    """

    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        clock: Callable[[], datetime] | None = None,
        pace: PaceClock | None = None,
        on_blocked: BlockedHook | None = None,
        on_migrated: MigratedHook | None = None,
        evidence: EvidenceStore | None = None,
    ) -> None:
        self.db = db
        self.store = OutboxStore(db)
        self.bot = bot
        self.clock = clock or db.clock.now  # the application's clock unless a test gives one
        self.pacer = Pacer(pace or pace_clock())
        self.on_blocked = on_blocked
        self.on_migrated = on_migrated
        #: Where albums' photos are read from (the display copies kept as evidence).
        self.evidence = evidence
        self.wakeup = asyncio.Event()
        #: Whether :meth:`run` is sending (then :meth:`drain` only wakes it).
        self.running = False
        self._lock = asyncio.Lock()  # one dispatcher at a time
        self._sending: dict[int, asyncio.Task[None]] = {}  # chat -> its send under way
        #: chat -> pace time it is held until: its send broke (for :data:`REST`), or an album
        #: waits for room in its group's minute.
        self._resting: dict[int, float] = {}
        self._errors: list[Exception] = []  # what broke sends during a drain
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._uploads: dict[str, asyncio.Lock] = {}  # stored file -> its first upload
        #: Whether this sender has looked for rows a dead process left in flight.
        self._recovered = False
        #: Telegram file ids of evidence photos Telegram refused: uploaded again instead (the
        #: stored id is kept; see :meth:`_send_album`).
        self._stale: set[str] = set()
        #: Called with each send's outcome (``sent``, ``retry_429``, ``retry``, ``blocked``,
        #: ``failed``, ``migrated``: the metrics count them), and at each turn of the running
        #: dispatcher (its heartbeat, ``bot.health``).
        self.on_result: Callable[[str], None] | None = None
        self.on_tick: Callable[[], None] | None = None

    @property
    def pace(self) -> PaceClock:
        """The clock pacing runs on (real elapsed time; not the application's clock)."""
        return self.pacer.clock

    def poke(self) -> None:
        """Something was queued (or a send ended): look again now rather than at the tick."""
        self.wakeup.set()

    async def drain(self) -> int:
        """Send everything due now, waiting out the pace, until nothing due is left; returns
        how many sends were tried. While :meth:`run` is sending, only wakes it: whoever
        queued something never waits for Telegram (nor for other chats' turns)."""
        if self.running:
            self.poke()
            return 0
        async with self._lock:
            return await self._dispatch(None)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Send until ``stop`` is set, woken by :meth:`poke`, by a send's end, by a chat's
        turn and every ``interval`` seconds (retries fall due by the application's clock).
        Sends under way when it stops are awaited, so each is marked."""
        async with self._lock:
            self.running = True
            try:
                while not stop.is_set():
                    try:
                        await self._dispatch(stop, interval)
                    except Exception:  # (the database) a broken pass must not stop sending
                        log.exception("outbox pass failed")
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=interval)
            finally:
                await self._finish()
                self.running = False

    def start(self) -> None:
        """Run :meth:`run` as a long-lived task of the running loop (the bot's post_init)."""
        if self._task is None or self._task.done():
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self.run(self._stop), name="outbox sender")

    async def stop(self) -> None:
        """Stop the task of :meth:`start` once the sends under way have ended."""
        task, self._task = self._task, None
        if task is not None:
            self._stop.set()
            await task

    async def turn(self, chat_id: int) -> bool:
        """Take this chat's turn for a direct answer (``handlers.common.reply``): wait until
        it comes, at most :data:`ANSWER_WAIT` seconds, and return True; or return False,
        taking nothing, when it is further off (a group's minute is spent, a notice to the
        chat is under way): the answer is then queued behind the chat's notices.

        An answer counts in the overall second and a group's minute like any notice, and the
        chat's next notice waits a second after it, but the answer does not wait out a
        private chat's second (:meth:`bot.pacing.Pacer.reserve`)."""
        if chat_id in self._sending:
            return False
        wait = self.pacer.reserve(chat_id, ANSWER_WAIT)
        if wait is None:
            return False
        if wait > 0:
            await self.pace.sleep(wait)
        return True

    # -- the dispatcher --------------------------------------------------------------------

    async def _dispatch(self, stop: asyncio.Event | None, interval: float = 1.0) -> int:
        """Start sends whose turn it is until ``stop`` is set; without ``stop`` (a drain),
        until nothing is due, under way or waiting its turn. Returns how many it started."""
        tried = 0
        if not self._recovered:
            self._report(await self.store.recover())
            self._recovered = True
        while stop is None or not stop.is_set():
            if stop is not None and self.on_tick is not None:
                self.on_tick()
            self.wakeup.clear()
            if stop is None and self._errors:
                break
            now = self.pace.now()
            held = self._held(now)
            wanted = min(self.pacer.free(now), BATCH)
            need = 0 if wanted else 1  # places in the overall second the oldest due needs
            if wanted:
                due = await self.store.due(self.clock(), wanted, skip=held)
                chosen, need = self._fit(due, now, wanted)
                for message in await self._begin(chosen):
                    self._start(message)
                    tried += 1
                if len(due) == wanted and not need:
                    continue  # there may be more whose turn it is
                held = self._held(now)  # an album may wait for room in its group's minute
            if stop is None and not self._sending and not await self.store.due(self.clock(), 1):
                break  # drained
            delay = self._next_turn(now, held, need=need)
            if delay is None and not self._sending and stop is None:
                continue  # the send that held the chat ended meanwhile: look again
            await self._wait(delay, stop, interval)
        if stop is None:
            await self._finish()
            if self._errors:
                error, self._errors = self._errors[0], []
                raise error
        return tried

    async def _begin(self, due: list[OutboxMessage]) -> list[OutboxMessage]:
        """Record the attempts before they are made (one short write for the batch, just
        before their tasks start, so the window between the mark and the request stays a
        turn of the event loop); the rows to send now. A row handed out still marked has no
        send of this sender under way (its chat would have been left out): its send broke or
        its process died, and it is sent once more, or not at all the second time."""
        if not due:
            return []
        marked, recovered = await self.store.begin([message.id for message in due])
        self._report(recovered)
        chosen = set(marked)
        return [message for message in due if message.id in chosen]

    @staticmethod
    def _report(recovered: Recovered) -> None:
        """Say which rows were found in flight with nobody sending them (counted in storage:
        ``crashed_sends``)."""
        if recovered.resent:
            log.warning(
                "outbox: %d message(s) were in flight when a process stopped; sending each "
                "once more (Telegram may have them): %s",
                len(recovered.resent), list(recovered.resent),
            )  # fmt: skip
        if recovered.failed:
            log.error(
                "outbox: %d message(s) were in flight at a crash a second time; not sent "
                "again: %s",
                len(recovered.failed), list(recovered.failed),
            )  # fmt: skip

    def _held(self, now: float) -> dict[int, float]:
        """The chats that may not be sent to now, with the seconds until they may."""
        held = self.pacer.held(now)
        for chat, until in list(self._resting.items()):
            if until <= now:
                del self._resting[chat]
            else:
                held[chat] = max(held.get(chat, 0.0), until - now)
        for chat in self._sending:
            held[chat] = math.inf
        return held

    def _fit(
        self, due: list[OutboxMessage], now: float, free: int
    ) -> tuple[list[OutboxMessage], int]:
        """Of the due rows (oldest first), those that fit in the ``free`` places of the
        overall second, each counted as the messages Telegram counts it as (an album's
        photos, ``OutboxMessage.weight``); and how many places the oldest that does not fit
        needs (0: all fit). That one waits for its places before anything younger begins, so
        an album is not overtaken for ever by single messages. An album to a group whose
        minute has room for fewer than its photos waits for that room (its chat alone)."""
        chosen: list[OutboxMessage] = []
        for message in due:
            weight = message.weight
            if weight > free:
                return chosen, weight
            wait = self.pacer.chat_wait(message.chat_id, now, weight)
            if wait > 0:
                self._resting[message.chat_id] = now + wait
                continue
            chosen.append(message)
            free -= weight
        return chosen, 0

    def _next_turn(self, now: float, held: dict[int, float], *, need: int) -> float | None:
        """Seconds until something may begin that cannot now: ``need`` places of the overall
        limit when they are wanted, else the first chat held by its pace (None: nothing to
        wait for)."""
        if need:
            return self.pacer.overall_wait(now, need)
        waits = [wait for wait in held.values() if wait < math.inf]
        return min(waits) if waits else None

    async def _wait(self, delay: float | None, stop: asyncio.Event | None, interval: float) -> None:
        """Until a poke or a send's end, ``delay`` seconds of pace time, or (running) ``stop``
        or ``interval`` seconds."""
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(self.wakeup.wait())]
        if stop is not None:
            waiters.append(asyncio.ensure_future(stop.wait()))
        if delay is not None:
            waiters.append(asyncio.ensure_future(self.pace.sleep(delay)))
        try:
            await asyncio.wait(
                waiters,
                timeout=interval if stop is not None else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _start(self, message: OutboxMessage) -> None:
        counted = self.pacer.begin(message.chat_id, count=message.weight)
        self._sending[message.chat_id] = asyncio.create_task(
            self._deliver(message, counted), name=f"outbox message {message.id}"
        )

    async def _deliver(self, message: OutboxMessage, counted: float) -> None:
        """One send, and its outcome recorded; then the chat's turn is over."""
        chat = message.chat_id
        try:
            self.pacer.started(counted, count=message.weight)
            await self._send(message)
        except Exception as exc:  # not Telegram's answer: a bug, or the database
            if self.running:
                log.exception("outbox message %s to chat %s broke", message.id, chat)
                self._resting[chat] = self.pace.now() + REST
            else:
                self._errors.append(exc)
        finally:
            self.pacer.end(chat)
            self._sending.pop(chat, None)
            self.wakeup.set()

    async def _finish(self) -> None:
        """Wait for the sends under way (each is marked when it ends)."""
        while self._sending:
            await asyncio.wait(list(self._sending.values()))

    async def _send(self, message: OutboxMessage) -> None:
        """One attempt at a row, and its outcome recorded (and told to ``on_result``)."""
        result = await self._send_once(message)
        if self.on_result is not None:
            self.on_result(result)

    async def _send_once(self, message: OutboxMessage) -> str:
        """One attempt at a row, and its outcome recorded; the outcome's name."""
        try:
            telegram_id = await self._attempt(message)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            await self.store.retry(message.id, f"429 retry after {wait:g}s", self._later(wait))
            return "retry_429"
        except ChatMigrated as exc:
            new_chat = int(exc.new_chat_id)
            await self.store.moved(message.chat_id, new_chat, message.id)
            if self.on_migrated is not None:
                await self.on_migrated(message.chat_id, new_chat)
            return "migrated"
        except Forbidden as exc:
            state = "blocked" if message.chat_id > 0 else "failed"
            await self._refused(message, state, exc)
            return state
        except BadRequest as exc:  # before NetworkError: BadRequest is one of them
            await self._refused(message, "failed", exc)
            return "failed"
        except (NetworkError, InvalidToken, TelegramError) as exc:  # 5xx, timeouts…
            await self.store.retry(message.id, str(exc), self._later(backoff(message.attempts)))
            return "retry"
        crashpoint("outbox.sent")  # tests only: Telegram has it, the row is not marked
        await self.store.sent(message.id, telegram_id)
        return "sent"

    async def _attempt(self, message: OutboxMessage) -> int:
        """The request a row stands for; Telegram's id of the message it made or changed."""
        if message.kind in EDITS:
            return await self._edit(message)
        if message.kind == ALBUM:
            return await self._send_album(message)
        if not (message.blob or message.photo):
            # A text, the commonest: the stored keyboard goes as the JSON it is kept as.
            return await api.send_text(
                self.bot, message.chat_id, fit(message.text, MESSAGE_LIMIT), message.markup or None
            )
        markup = reply_markup(message.markup, self.bot)
        if message.blob:
            sent = await self._send_blob(message, markup)
        else:
            assert message.photo is not None
            caption = fit(message.text, CAPTION_LIMIT) or None
            sent = await self.bot.send_photo(
                message.chat_id, message.photo, caption=caption, parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )  # fmt: skip
        return int(sent.message_id)

    async def _edit(self, message: OutboxMessage) -> int:
        """Apply an edit to the message its target became: editMessageText for a text,
        editMessageCaption for a photo's or a file's caption, editMessageReplyMarkup for the
        keyboard alone. Telegram's "message is not modified" means it already shows this:
        done. An edit reaches here only after its target (it waits behind it in the chat's
        queue, and a target refused for good fails its edits), so a target not sent is a
        refusal of the edit, never a wait."""
        target = await self.store.edit_target(message)
        if target is None or target.state != "sent" or target.message_id is None:
            state = target.state if target is not None else "missing"
            raise BadRequest(f"the message it edits was not sent ({state})")
        markup = InlineKeyboardMarkup.de_json(message.markup, self.bot) if message.markup else None
        chat, message_id = message.chat_id, target.message_id
        try:
            if message.kind == EDIT_MARKUP:
                await self.bot.edit_message_reply_markup(chat, message_id, reply_markup=markup)
            elif target.captioned:
                await self.bot.edit_message_caption(
                    chat, message_id, caption=fit(message.text, CAPTION_LIMIT),
                    parse_mode=ParseMode.HTML, reply_markup=markup,
                )  # fmt: skip
            else:
                await api.edit_text(
                    self.bot, chat, message_id, fit(message.text, MESSAGE_LIMIT),
                    message.markup or None,
                )  # fmt: skip
        except BadRequest as exc:
            if NOT_MODIFIED not in str(exc).lower():
                raise
        return message_id

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

        async def send_it(blob: Blob) -> Any:
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

        if blob.file_id is not None:
            return await send_it(blob)
        # Not uploaded yet: one chat uploads it, the others (sending at the same time) wait
        # for its file_id rather than uploading it again.
        lock = self._uploads.setdefault(blob.sha256, asyncio.Lock())
        try:
            async with lock:
                return await send_it(await self.store.blob(blob.sha256) or blob)
        finally:
            if not lock.locked():
                self._uploads.pop(blob.sha256, None)

    async def _send_album(self, message: OutboxMessage) -> int:
        """Send evidence photos (display copies) with ``text`` as the first one's caption: one
        as a photo, 2 to 10 as an album; Telegram's id of the first message. A photo Telegram
        has is sent by its file_id; the others are uploaded (read off the event loop) and
        their ids remembered from the messages Telegram returns, so the next recipient's
        album costs no upload. Should Telegram refuse a known id (a new bot token), the album
        is uploaded again. Photos not uploaded yet are uploaded by one chat at a time: a
        recipient sending them at the same moment waits for the first upload's ids."""
        shas = list(message.album)
        if self.evidence is None:  # a sender built without the store cannot read the photos
            raise BadRequest("no evidence store to read the album's photos from")
        known = await self._known_ids(shas)
        fresh = sorted(set(shas) - set(known))
        locks = [self._uploads.setdefault(sha, asyncio.Lock()) for sha in fresh]
        try:
            async with contextlib.AsyncExitStack() as held:
                for lock in locks:  # in hash order: albums sharing photos cannot deadlock
                    await held.enter_async_context(lock)
                if fresh:  # another chat may have uploaded them meanwhile
                    known = await self._known_ids(shas)
                try:
                    sent = await self._post_album(message, shas, known)
                except BadRequest as exc:
                    if not known or "file" not in str(exc).lower():
                        raise  # (a bad caption is no reason to upload again)
                    log.warning("outbox message %s: Telegram refused stored photo ids; "
                                "uploading the album again", message.id)  # fmt: skip
                    self._stale.update(known.values())
                    known = {}
                    sent = await self._post_album(message, shas, known)
                for sha, posted in zip(shas, sent, strict=False):
                    if sha not in known and posted.photo:
                        await remember_file_id(self.db, sha, posted.photo[-1].file_id)
        finally:
            for sha, lock in zip(fresh, locks, strict=True):
                if not lock.locked() and self._uploads.get(sha) is lock:
                    self._uploads.pop(sha, None)
        return int(sent[0].message_id)

    async def _known_ids(self, shas: list[str]) -> dict[str, str]:
        """Telegram's ids of the photos it has (none Telegram refused in this process)."""
        known = await file_ids(self.db, shas)
        return {sha: file_id for sha, file_id in known.items() if file_id not in self._stale}

    async def _post_album(
        self, message: OutboxMessage, shas: list[str], known: dict[str, str]
    ) -> Sequence[Message]:
        """The request: sendPhoto for one photo (with its keyboard, if any), sendMediaGroup
        for more (caption on the first, parse_mode HTML, as every outbox text)."""
        assert self.evidence is not None
        caption = fit(message.text, CAPTION_LIMIT) or None
        photos: list[str | bytes] = []
        for sha in shas:
            if sha in known:
                photos.append(known[sha])
                continue
            try:
                photos.append(await asyncio.to_thread(self.evidence.read_display, sha))
            except FileNotFoundError:
                raise BadRequest(f"evidence photo {sha} is not in the store") from None
        names = [f"{sha[:16]}.jpg" for sha in shas]
        if len(photos) == 1:  # a photo: its caption, and its buttons when it has some
            one = await self.bot.send_photo(
                message.chat_id, photos[0], caption=caption, parse_mode=ParseMode.HTML,
                filename=names[0], reply_markup=reply_markup(message.markup, self.bot),
            )  # fmt: skip
            return [one]
        media = [
            InputMediaPhoto(
                photo,
                caption=caption if number == 0 else None,
                parse_mode=ParseMode.HTML if number == 0 else None,
                filename=name,
            )
            for number, (photo, name) in enumerate(zip(photos, names, strict=True))
        ]
        return await self.bot.send_media_group(message.chat_id, media)

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
