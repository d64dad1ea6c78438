"""The deadline sweeper: warn about and fire what is due, on time and exactly once.

What a warning or a breach *does* (whom to tell, whether a complaint becomes major) is the
``react`` callback's business (``handlers.reactions``, which asks ``procedures.reactions``).
The sweeper guarantees the mechanics: the timer's state changes in the same transaction as
the reaction, so each fires once; one that fell due while the bot was down fires at the
first sweep after start, marked late.

When it runs (:meth:`Sweeper.run`, the bot's long-lived task) it sleeps until the next
moment a timer warns or falls due, by the application's clock, rather than polling:

* a timer scheduled in this process nearer than that moment wakes it at once
  (``storage.deadlines.on_schedule`` → :meth:`Sweeper.wake`);
* one scheduled by another process (a CLI command) or left by a crash is found at the next
  wake-up, which is never more than :data:`MAX_SLEEP` away;
* a clock that can jump (the end-to-end tests' ``OffsetClock``: its ``recheck``) is looked
  at again that often, so a test that moves the bot's time is noticed within a fraction of
  a second;
* a burst of due timers fires in batches of :data:`BATCH`, the event loop given back
  between batches and between firings (each is its own transaction, and the database's
  statements run on the loop's thread: storage.db.InlineConnection), so updates keep
  being answered meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
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
#: down: it fires at the first sweep, marked late. (A running bot fires everything due within
#: a second of its moment, so nothing else is ever late.)
LATE_GRACE = timedelta(seconds=2)
#: How many timers one query hands out; a pass repeats until nothing due is left, giving the
#: event loop back between batches.
BATCH = 500
#: The longest the running sweeper sleeps without looking at the database (seconds): how late
#: a timer scheduled by another process can fire, and how often the sweeper's heartbeat is
#: written when nothing is due (``WUYE_HEALTH_MAX_AGE`` is far above it).
MAX_SLEEP = 5.0
#: After a pass that left due timers unfired (their reaction failed), wait this long before
#: trying them again rather than spin.
RETRY_AFTER = 2.0


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
        #: Called at each wake-up of :meth:`run` (the bot writes its heartbeat).
        self.on_wake: Callable[[], None] | None = None
        self.started_at = self.clock()
        #: How often :meth:`run` looks at a clock that can jump (seconds; None: it cannot).
        self.recheck: float | None = getattr(db.clock, "recheck", None)
        self.max_sleep = MAX_SLEEP
        self._wakeup = asyncio.Event()
        self._until: datetime | None = None  # the next moment run() sleeps until
        self._nearest: datetime | None = None  # a nearer moment it was woken for
        self._look = False  # woken to look at the database now
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.running = False

    @property
    def next_moment(self) -> datetime | None:
        """The moment the running sweeper sleeps until (None: nothing is open, or not yet
        looked)."""
        return self._until

    def wake(self, at: datetime | None = None) -> None:
        """A timer was scheduled for ``at`` (its first moment): :meth:`run` wakes when that is
        nearer than the moment it sleeps until. None: look at the database now."""
        if at is None:
            self._look = True
        elif self._until is not None and at >= self._until:
            return  # it wakes by then anyway
        elif self._nearest is None or at < self._nearest:
            self._nearest = at
        self._wakeup.set()

    async def run(self) -> None:
        """Sweep until :meth:`stop`: at start, then at each next moment (see the module's
        docstring for what wakes it early)."""
        loop = asyncio.get_running_loop()
        self.running = True
        try:
            looked = float("-inf")  # loop time of the last look at the database
            while not self._stop.is_set():
                if self.on_wake is not None:
                    self.on_wake()
                now = self.clock()
                if (
                    self._look
                    or loop.time() - looked >= self.max_sleep
                    or (self._until is not None and self._until <= now)
                ):
                    self._look = False
                    try:
                        await self.sweep()  # fires everything due at its own now (≥ swept_at)
                        self._until = await self.store.next_moment()
                    except Exception:  # (the database) a broken pass must not stop the sweeper
                        log.exception("deadline sweep failed")
                        self._until = None
                    looked = loop.time()
                    swept_at, now = now, self.clock()
                    if self._until is not None and self._until <= swept_at:
                        # Due before the pass and still open: only failing ones are left.
                        # (One that fell due during the pass is swept at once.)
                        self._until = now + timedelta(seconds=RETRY_AFTER)
                wait = self.max_sleep - (loop.time() - looked)
                if self._until is not None:
                    wait = min(wait, (self._until - now).total_seconds())
                if self.recheck is not None:
                    wait = min(wait, self.recheck)
                if await self._sleep(max(0.0, wait)):
                    self._wakeup.clear()
                    nearer, self._nearest = self._nearest, None
                    if nearer is not None and (self._until is None or nearer < self._until):
                        self._until = nearer
        finally:
            self.running = False

    async def _sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` or until woken or stopped; True when woken."""
        waking = asyncio.ensure_future(self._wakeup.wait())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            done, _ = await asyncio.wait({waking, stopping}, timeout=seconds,
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            for task in (waking, stopping):
                task.cancel()
        return waking in done and not self._stop.is_set()

    def start(self) -> None:
        """Run :meth:`run` as a long-lived task of the running loop (the bot's post_init),
        woken by every timer this process schedules."""
        if self._task is None or self._task.done():
            self._stop = asyncio.Event()
            deadlines.on_schedule(self.db, self.wake)
            self._task = asyncio.create_task(self.run(), name="deadline sweeper")

    async def stop(self) -> None:
        """Stop the task of :meth:`start` (a firing under way ends first: its transaction
        commits or rolls back whole)."""
        task, self._task = self._task, None
        if task is not None:
            deadlines.off_schedule(self.db, self.wake)
            self._stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
                    # Statements run on the loop's thread (storage.db.InlineConnection): a
                    # batch would hold it for its whole length; updates go on between firings.
                    await asyncio.sleep(0)
                acted += fired
                if len(due) < BATCH or fired == 0:  # drained (or only failing ones remain)
                    break
                if self._stop.is_set():  # stopping: the rest fires at the next start
                    break
                await asyncio.sleep(0)  # a burst: let updates be answered between batches
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
