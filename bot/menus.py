"""Each person's command menu in their private chat with the bot: the commands of their roles
(procedures.menus) in their language, set with setMyCommands and a BotCommandScopeChat (a
private chat's id is the person's user id). Telegram shows a chat's own list before the
lists of every private chat and the default (bot.app.set_commands), which stay for people
the bot does not know yet.

A change a menu shows marks the person's row in the change's own transaction
(storage.menus: a role granted or revoked, a language chosen, a first contact); the sync
sets the menus due with one call each, in a task of its own, so a person's step never waits
for it, and a change made by the command line is seen within :data:`EVERY` seconds. A call
that fails is logged and tried again later (:data:`BACKOFF`); a 429 waits as Telegram says.
At start-up what each person should see is compared with what was set last, so a release
that changes menus or their texts, or another ``WUYE_ADMINS``, reaches everyone once. Calls
are :data:`GAP` apart: a backlog never takes the outbox's share of Telegram's limits.

That comparison waits :data:`RECONCILE_AFTER` seconds after start (the first answers come
first), reads the people a page at a time, giving the event loop back between pages, and
works each distinct menu out once (a roster of 100,000 has a handful of distinct menus), so
the size of the database does not delay start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import RetryAfter, TelegramError

from bot.i18n import t
from bot.outbox import retry_seconds
from procedures.identity import locale_for
from procedures.menus import private_commands
from storage.db import Database
from storage.menus import MenuStore, MenuTarget

log = logging.getLogger(__name__)

#: Seconds between two calls of one sync (at most 10 a second: the outbox keeps the rest).
GAP = 0.1
#: Seconds between two looks for menus due (besides a poke).
EVERY = 2.0
#: Seconds before trying a failed menu again, after the first, second, third… failure.
BACKOFF = (10.0, 60.0, 600.0, 3600.0)
#: Failures after which a menu waits for its next change (or the bot's next start).
GIVE_UP = 8
#: Seconds after start before every menu is compared with what it should be.
RECONCILE_AFTER = 5.0
#: People read at a time by that comparison.
PAGE = 1000


def digest(commands: list[BotCommand]) -> str:
    """What identifies a menu: its commands and their descriptions, in order."""
    data = json.dumps([[c.command, c.description] for c in commands], ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


class MenuSync:
    """Sets the private-chat menus that are due; one per process and database."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        admins: Collection[int],
        default_locale: str,
        gap: float = GAP,
    ) -> None:
        self.db = db
        self.store = MenuStore(db)
        self.bot = bot
        self.admins = frozenset(admins)
        self.default_locale = default_locale
        self.gap = gap
        self.wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wanted(self, target: MenuTarget) -> list[BotCommand]:
        """The menu ``target`` should see: their roles' commands in their language."""
        locale = target.locale or locale_for(target.tg_language, self.default_locale)
        admin = target.tg_user_id in self.admins
        commands = private_commands(target.roles, deployment_admin=admin)
        return [BotCommand(c, t(locale, f"command.{c}")) for c in commands]

    async def reconcile(self) -> int:
        """Mark due everyone whose menu is not the one they should see now; returns how
        many. A page of people at a time, the event loop given back between pages."""
        digests: dict[tuple[str | None, str | None, bool, frozenset[str]], str] = {}
        stale_total, after = 0, 0
        while page := await self.store.everyone(after=after, limit=PAGE):
            stale = []
            for target in page:
                key = (target.locale, target.tg_language, target.tg_user_id in self.admins,
                       target.roles)  # fmt: skip
                if (wanted := digests.get(key)) is None:
                    wanted = digests[key] = digest(self.wanted(target))
                if target.digest != wanted:
                    stale.append(target.person_id)
            if stale:
                await self.store.mark_due(stale)
            stale_total += len(stale)
            after = page[-1].person_id
            await asyncio.sleep(0)
        return stale_total

    async def sync(self) -> int:
        """Set every menu due now, one call each (:data:`GAP` apart); returns how many calls
        were made. A 429 ends the round: that menu waits as long as Telegram said."""
        calls = 0
        while targets := await self.store.due():
            for target in targets:
                commands = self.wanted(target)
                wanted = digest(commands)
                if wanted == target.digest:  # a change the menu does not show
                    await self.store.done(target, wanted)
                    continue
                if calls and self.gap > 0:
                    await asyncio.sleep(self.gap)
                calls += 1
                try:
                    await self.bot.set_my_commands(
                        commands, scope=BotCommandScopeChat(target.tg_user_id)
                    )
                except RetryAfter as exc:
                    wait = retry_seconds(exc)
                    log.warning("menu of person %s: 429, again in %gs", target.person_id, wait)
                    await self.store.retry(target, self.db.now() + timedelta(seconds=wait))
                    return calls
                except TelegramError as exc:
                    log.warning("could not set the menu of person %s: %s", target.person_id, exc)
                    await self.store.retry(target, self._later(target))
                    continue
                except Exception:  # a menu is a guide: one that breaks waits, the rest go on
                    log.exception("could not set the menu of person %s", target.person_id)
                    await self.store.retry(target, self._later(target))
                    continue
                await self.store.done(target, wanted)
        return calls

    def _later(self, target: MenuTarget) -> datetime | None:
        """When to try a failed menu again (None: at its next change)."""
        if target.tries + 1 >= GIVE_UP:
            return None
        wait = BACKOFF[min(target.tries, len(BACKOFF) - 1)]
        return self.db.now() + timedelta(seconds=wait)

    def poke(self) -> None:
        """Look for menus due now rather than at the next tick."""
        self.wakeup.set()

    async def run(self, every: float = EVERY, reconcile_after: float = RECONCILE_AFTER) -> None:
        """Set the menus due, woken by :meth:`poke` and every ``every`` seconds, until
        cancelled; ``reconcile_after`` seconds after start, compare every menu with what it
        should be (:meth:`reconcile`) once."""
        loop = asyncio.get_running_loop()
        reconcile_at: float | None = loop.time() + reconcile_after
        while True:
            self.wakeup.clear()
            if reconcile_at is not None and loop.time() >= reconcile_at:
                reconcile_at = None
                try:
                    if stale := await self.reconcile():
                        log.info("%d command menu(s) to set", stale)
                except Exception:
                    log.exception("could not compare the command menus")
            try:
                await self.sync()
            except Exception:  # a menu is a guide: never let it stop the bot
                log.exception("command menus: sync failed")
            timeout = every
            if reconcile_at is not None:
                timeout = max(0.0, min(timeout, reconcile_at - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=timeout)

    def start(self) -> None:
        """Run :meth:`run` as a task of the running loop (the bot's post_init)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="command menus")

    async def stop(self) -> None:
        """Cancel the task of :meth:`start`: a menu being set stays due for the next start
        (each write is one transaction, rolled back if cut)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
