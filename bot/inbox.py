"""The inbox: an update is stored before Telegram forgets it, and handled after a crash.

PTB's Updater confirms a batch of updates to Telegram with its next ``getUpdates`` (the
``offset``), at once, while the batch is still being handled; a SIGKILL then lost those
updates: a person's step never answered, a photo dropped without a word. Here:

* :class:`InboxBot` (the application's bot) stores every update ``getUpdates`` returns, in
  one transaction, before returning them to the Updater, which only then can confirm them;
  an update already stored (Telegram delivering again what was fetched but not confirmed
  before a crash) is not returned a second time, and the next poll's offset skips it.
* :meth:`Inbox.done`, called by the update processor (``bot.updates``) when PTB's handling
  of an update ends, marks it handled; also when a handler raised (the error handler has
  dealt with it: a poisonous update must not come back for ever); not when the handling was
  interrupted (a crash, a cancelled task).
* :meth:`Inbox.replay`, at start-up (``post_init``: persistence loaded, polling not yet
  started), puts what was stored but never marked back into the update queue, oldest
  first, ahead of anything new. An update handed out :data:`MAX_REPLAYS` times that never
  finished (it takes the process down with it) is abandoned, loudly.

A replay repeats a step whose change was committed but whose update was not yet marked:
the steps are idempotent for that (README, "What a crash can drop").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import Application, ExtBot

from storage.db import Database
from storage.inbox import InboxStore, mark
from storage.persistence import SQLitePersistence

log = logging.getLogger(__name__)

#: Handled rows are kept (their id only) this long, so that Telegram delivering an update
#: again is recognised: it keeps undelivered updates for 24 hours.
RETENTION = timedelta(days=3)
#: ...and the newest this many rows whatever the clock says: at most the last batch
#: (getUpdates returns up to 100) can come again.
KEEP_NEWEST = 200
#: Start-ups that may hand an unfinished update out again before it is abandoned.
MAX_REPLAYS = 3
#: Seconds between two prunes of the handled rows (also one at start-up).
PRUNE_EVERY = 3600.0


class Inbox:
    """The bot's side of the inbox (storage.inbox holds the SQL)."""

    def __init__(self, db: Database) -> None:
        self.store = InboxStore(db)
        #: Ids stored (or replayed) by this process and not yet marked: only these are
        #: marked, so updates that never went through the inbox (a webhook's, a test's
        #: process_update) cost no write.
        self._open: set[int] = set()
        #: PTB's persistence, whose changes during an update are written with its mark.
        self.persistence: SQLitePersistence | None = None
        #: Called each time ``getUpdates`` is asked and each time it returns, updates or not
        #: (the polling heartbeat, ``bot.health``).
        self.on_polled: Callable[[], None] | None = None

    async def admit(
        self, updates: Sequence[Update], fetched: Mapping[int, str] | None = None
    ) -> tuple[Update, ...]:
        """Store ``updates`` (one transaction) and return those not stored before, in order.

        ``fetched``: each update's JSON as Telegram sent it, by update id (the text stored;
        PTB's re-encoding of the decoded update, ``to_json``, cost a few percent of the bot's
        CPU, and is used only for an update not in it)."""
        if not updates:
            return ()
        known = fetched or {}
        new = await self.store.admit(
            [(u.update_id, known.get(u.update_id) or u.to_json()) for u in updates]
        )
        self._open |= new
        fresh = tuple(u for u in updates if u.update_id in new)
        if len(fresh) < len(updates):
            log.info(
                "inbox: %d update(s) delivered again and already stored: skipped",
                len(updates) - len(fresh),
            )
        return fresh

    async def done(self, update: object) -> None:
        """Mark an update handled (its handling ended, well or with an error), in one
        transaction with what the update changed in PTB's persistence (its flow's state, its
        person's data: ``storage.persistence``, held back until now)."""
        marking = isinstance(update, Update) and update.update_id in self._open
        persistence = self.persistence
        if not marking and (persistence is None or not persistence.pending):
            return
        update_id = update.update_id if isinstance(update, Update) else None
        try:
            async with self.store.db.write() as conn:
                committed = await persistence.write_pending(conn) if persistence else None
                if marking and update_id is not None:
                    await mark(conn, update_id)
        except Exception:  # the update is handled; at worst it is handled again after a restart
            log.exception("inbox: could not mark update %s handled", update_id)
            return
        if committed is not None:
            committed()
        if update_id is not None:
            self._open.discard(update_id)

    async def replay(self, app: Application[Any, Any, Any, Any, Any, Any]) -> int:
        """Put the updates stored but never handled back into the application's update
        queue, oldest first; returns how many."""
        waiting = await self.store.unhandled()
        spent = [s.update_id for s in waiting if s.replays >= MAX_REPLAYS]
        updates: list[Update] = []
        for stored in waiting:
            if stored.replays >= MAX_REPLAYS:
                continue
            try:
                updates.append(Update.de_json(json.loads(stored.data), app.bot))
            except Exception:
                log.exception("inbox: stored update %s cannot be read", stored.update_id)
                spent.append(stored.update_id)
        if spent:
            log.error(
                "inbox: %d update(s) abandoned after %d start-ups that never finished them: %s",
                len(spent), MAX_REPLAYS, spent,
            )  # fmt: skip
            await self.store.abandon(spent)
        await self.store.replaying([u.update_id for u in updates])
        for update in updates:
            self._open.add(update.update_id)
            await app.update_queue.put(update)
        log.info("inbox: %d update(s) cut off by the last stop replayed", len(updates))
        return len(updates)

    async def prune(self) -> int:
        """Forget handled rows older than :data:`RETENTION` (but the newest few)."""
        gone = await self.store.prune(RETENTION, keep=KEEP_NEWEST)
        if gone:
            log.info("inbox: %d handled update(s) pruned", gone)
        return gone


class InboxBot(ExtBot[Any]):
    """The application's bot: what ``getUpdates`` returns is in the inbox before PTB's
    Updater sees it, and so before its next poll confirms it to Telegram."""

    __slots__ = ("_fetched", "_inbox", "_skip_to")

    def __init__(self, token: str, *, inbox: Inbox, **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        # (PTB freezes a bot's public attributes once built; protected ones stay settable.)
        self._inbox = inbox
        #: One past the highest update id received: Telegram may deliver stored updates
        #: again, which are not returned, so the Updater's own offset would not move past
        #: them; the next poll asks from here.
        self._skip_to = 0
        #: The last ``getUpdates`` answer's updates as Telegram's JSON, by update id
        #: (:meth:`_post`), for the inbox to store as they came.
        self._fetched: dict[int, str] = {}

    @property
    def inbox(self) -> Inbox:
        """Where the updates are stored."""
        return self._inbox

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 (PTB's signature)
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        """``getUpdates``; the updates returned are stored first, and only those not stored
        before are returned. When storing fails the error is raised: nothing is returned,
        so nothing is confirmed, and the next poll fetches them again."""
        if self._skip_to and (offset is None or offset >= 0):
            offset = max(offset or 0, self._skip_to)
        if self._inbox.on_polled is not None:
            self._inbox.on_polled()
        updates = await super().get_updates(
            offset=offset,
            limit=limit,
            timeout=timeout,
            allowed_updates=allowed_updates,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        if self._inbox.on_polled is not None:
            self._inbox.on_polled()
        if not updates:
            return updates
        fetched, self._fetched = self._fetched, {}
        fresh = await self.inbox.admit(updates, fetched)
        self._skip_to = max(self._skip_to, max(u.update_id for u in updates) + 1)
        return fresh

    async def _post(
        self,
        endpoint: str,
        data: JSONDict | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> Any:
        """PTB's one path to the Bot API; ``getUpdates``'s answer is also kept as JSON text,
        update by update, before PTB decodes it (:meth:`get_updates` stores that text)."""
        result = await super()._post(
            endpoint,
            data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        if endpoint == "getUpdates" and isinstance(result, list):
            self._fetched = {
                int(raw["update_id"]): json.dumps(raw, ensure_ascii=False)
                for raw in result
                if isinstance(raw, dict) and isinstance(raw.get("update_id"), int)
            }
        return result

    async def answer_callback_query(
        self,
        callback_query_id: str,
        text: str | None = None,
        show_alert: bool | None = None,
        url: str | None = None,
        cache_time: TimePeriod | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
        rate_limit_args: Any = None,
    ) -> bool:
        """Answer a button press; one Telegram no longer takes (answered already, or too old:
        a press handled again after a crash, or a very slow step) or cannot take just now (a
        5xx, a timeout, flood control) is logged, not raised, so the step itself goes on.
        The answer only stops the button's spinner (and shows a refusal's alert)."""
        try:
            return await super().answer_callback_query(
                callback_query_id,
                text,
                show_alert,
                url,
                cache_time,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
                api_kwargs=api_kwargs,
                rate_limit_args=rate_limit_args,
            )
        except BadRequest as exc:
            if "query is too old" not in str(exc).lower():
                raise
            log.info("callback query %s no longer answerable: %s", callback_query_id, exc)
            return False
        except (NetworkError, RetryAfter) as exc:  # TimedOut is a NetworkError
            log.warning("callback query %s not answered: %s", callback_query_id, exc)
            return False
