"""The deadline sweeper: every few seconds, warn about and fire what is due, exactly once.

What a warning or a breach *does* (whom to tell, whether a complaint becomes major) is the
``react`` callback's business (``handlers.reactions``, which asks ``procedures.reactions``).
The sweeper guarantees the mechanics: the timer's state changes in the same transaction as
the reaction, so each fires once; one that fell due while the bot was down fires at the
first sweep after start, marked late.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import aiosqlite

from bot.crashpoints import crashpoint
from storage import deadlines
from storage.db import Database
from storage.deadlines import DeadlineStore, Firing

__all__ = ["Firing", "React", "Sweeper"]

log = logging.getLogger(__name__)

#: A timer that fell due more than this before the sweeper started fell due while the bot was
#: down: it fires at the first sweep, marked late. (A running bot fires everything due at
#: each sweep, every 2 s, so nothing else is ever late.)
LATE_GRACE = timedelta(seconds=2)
#: How many timers one query hands out; a pass repeats until nothing due is left.
BATCH = 500


#: What a firing does (handlers.reactions), run inside the transaction that marks the timer.
React = Callable[[aiosqlite.Connection, Firing], Awaitable[None]]


class Sweeper:
    """Finds due timers and hands each to ``react`` once."""

    def __init__(
        self, db: Database, react: React, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.db = db
        self.store = DeadlineStore(db)
        self.react = react
        self.clock = clock or db.clock.now  # the application's clock unless a test gives one
        self.on_fired: Callable[[], None] | None = None  # e.g. poke the outbox sender
        #: Called with each firing once its transaction committed (the metrics count it).
        self.on_fire: Callable[[Firing], None] | None = None
        self.started_at = self.clock()

    async def sweep(self) -> int:
        """One pass: warnings first, then breaches, until nothing due is left; returns how
        many timers acted."""
        now = self.clock()
        acted = 0
        for query, warning in ((self.store.due_warnings, True), (self.store.due_breaches, False)):
            while True:
                due = await query(now, BATCH)
                fired = 0
                for deadline in due:
                    late = deadline.due_at < self.started_at - LATE_GRACE
                    firing = Firing(deadline, warning, late, now)
                    done = await self._fire(firing)
                    if done and self.on_fire is not None:
                        self.on_fire(firing)
                    fired += done
                acted += fired
                if len(due) < BATCH or fired == 0:  # drained (or only failing ones remain)
                    break
        if acted and self.on_fired is not None:
            self.on_fired()
        return acted

    async def _fire(self, firing: Firing) -> int:
        try:
            async with self.db.write() as conn:
                first = await deadlines.mark(
                    conn,
                    firing.deadline.id,
                    warned=firing.warning,
                    at=firing.now,
                    late=firing.late,
                )
                if not first:
                    return 0
                crashpoint("deadline.marked")  # tests only: marked, nothing committed
                await self.react(conn, firing)
        except Exception:
            # The transaction rolled back: the timer is still open and the next sweep tries
            # again. Logged loudly, since a reaction that always fails would repeat.
            log.exception(
                "deadline %s (%s) could not fire", firing.deadline.id, firing.deadline.rule
            )
            return 0
        return 1
