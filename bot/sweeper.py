"""The deadline sweeper: every few seconds, warn about and fire what is due, exactly once.

What a warning or a breach *does* (whom to tell, whether a complaint becomes major) is the
``react`` callback's business — the case engine's. The sweeper guarantees the mechanics: the
timer's state changes in the same transaction as the reaction, so each fires once; one that
fell due while the bot was down fires at the first sweep after start, marked late.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from storage import deadlines
from storage.db import Database, utcnow
from storage.deadlines import Deadline, DeadlineStore

log = logging.getLogger(__name__)

#: A timer found this long after its time fell due while nobody was sweeping (the bot sweeps
#: every 2 s, so anything later than a few sweeps means the bot was down).
LATE_AFTER = timedelta(seconds=10)


@dataclass(frozen=True)
class Firing:
    """What the reaction is told: the timer, warning or breach, and whether it is late."""

    deadline: Deadline
    warning: bool
    late: bool
    now: datetime


#: The case engine's reaction, run inside the transaction that marks the timer.
React = Callable[[aiosqlite.Connection, Firing], Awaitable[None]]


class Sweeper:
    """Finds due timers and hands each to ``react`` once."""

    def __init__(
        self, db: Database, react: React, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.store = DeadlineStore(db)
        self.react = react
        self.clock = clock
        self.on_fired: Callable[[], None] | None = None  # e.g. poke the outbox sender

    async def sweep(self) -> int:
        """One pass: warnings first, then breaches; returns how many timers acted."""
        now = self.clock()
        acted = 0
        for deadline in await self.store.due_warnings(now):
            acted += await self._fire(
                Firing(deadline, True, now - deadline.due_at > LATE_AFTER, now)
            )
        for deadline in await self.store.due_breaches(now):
            late = now - deadline.due_at > LATE_AFTER
            acted += await self._fire(Firing(deadline, False, late, now))
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
                await self.react(conn, firing)
        except Exception:
            # The transaction rolled back: the timer is still open and the next sweep tries
            # again. Logged loudly, since a reaction that always fails would repeat.
            log.exception(
                "deadline %s (%s) could not fire", firing.deadline.id, firing.deadline.rule
            )
            return 0
        return 1
