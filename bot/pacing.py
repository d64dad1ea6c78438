"""Pacing: when the bot may next send to a chat under Telegram's limits.

Telegram asks bots to stay under about 30 messages a second overall, about one a second to
one private chat, and 20 a minute to one group, supergroup or channel (a negative chat id);
past them it answers 429, and PTB's ``AIORateLimiter`` lets bursts through (59 sends in one
second were measured). :class:`Pacer` keeps when recent sends to each chat began and ended
and answers how long a chat must still wait; the outbox sender (``bot.outbox``) asks it
before every send and tells it when the send began and ended, and a direct answer takes its
turn from it too (:meth:`Pacer.reserve`: counted, and never held long).

Pacing runs on real elapsed time (a monotonic clock), never on the application's clock:
moving that clock by a day in a test or in the sandbox must not release a minute's quota.
The clock is injectable: :class:`SteppingClock` stands still and moves when slept on, so
tests see the waits without spending them.

Where Telegram counts a message is when it arrives there, which the bot cannot see. So:

* one private chat: the next send begins at least 1 s after the previous one *ended* (its
  answer came back), so whatever the network did, the two arrived at least 1 s apart;
* one group: a send occupies the group's minute from its start until 60 s after it ended
  (the same reasoning; one minute's first send costs a round trip of the 21st's wait);
* overall: at most 30 sends began in any 1 s + :data:`SLACK`, the slack absorbing how much
  later one request arrives than another (counting from ends would cost a round trip in
  every second, a third of the rate on a slow line).

An album (sendMediaGroup) of n photos is n messages to Telegram: each arrives as a message
of its own, a failure names the album's "message #k", and bot developers report an album of
two counted as two against a group's 20 a minute. Telegram's FAQ on limits does not say it
in so many words, so it is counted as n wherever a message counts (``count``): n places in
the overall second, n in a group's minute, and a private chat's next message waits n
seconds after it ended. Erring this way costs a little speed; the other way costs 429s.

Pure bookkeeping: no Telegram, no database, no I/O.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from typing import Protocol

#: Messages a second, overall.
PER_SECOND = 30
#: Seconds between two messages to one private chat.
PRIVATE_GAP = 1.0
#: Messages a minute to one group, supergroup or channel.
GROUP_PER_MINUTE = 20
GROUP_WINDOW = 60.0
#: Added to the overall 1-s window (see the module's docstring): 30 / 1.01 s is 29.7 msg/s.
SLACK = 0.01
#: How long a direct answer's request is assumed to take when it reserves a turn (its end
#: is not reported): the chat's next message waits this much longer.
ANSWER_ALLOWANCE = 0.5

INFLIGHT = math.inf


class PaceClock(Protocol):
    """Real elapsed time, and a way to wait for it."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class MonotonicClock:
    """The machine's monotonic clock (production)."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(max(seconds, 0.0))


class SteppingClock:
    """A clock for tests: it stands still, and sleeping on it moves it at once, so pacing's
    waits cost no real time. Before it moves, whatever else can run gets a few turns of the
    event loop (requests under way reach the fake Telegram at the time they left)."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        #: Every wait asked of it, in order.
        self.sleeps: list[float] = []

    def now(self) -> float:
        """Where the clock stands."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move forward."""
        self._now += max(seconds, 0.0)

    async def sleep(self, seconds: float) -> None:
        """Let others run a few turns, then move forward by ``seconds``."""
        self.sleeps.append(seconds)
        for _ in range(self.TURNS):
            await asyncio.sleep(0)
        self.advance(seconds)

    #: Turns of the event loop others get before a sleep moves the clock.
    TURNS = 10


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; people positive ones."""
    return chat_id < 0


class Pacer:
    """When each chat may next be sent to (module docstring: the limits and how they are
    counted). Times are the :class:`PaceClock`'s; ``now`` defaults to its current time."""

    def __init__(
        self,
        clock: PaceClock | None = None,
        *,
        per_second: int = PER_SECOND,
        window: float = 1.0 + SLACK,
        private_gap: float = PRIVATE_GAP,
        group_per_minute: int = GROUP_PER_MINUTE,
        group_window: float = GROUP_WINDOW,
    ) -> None:
        self.clock: PaceClock = clock or MonotonicClock()
        self.per_second = per_second
        self.window = window
        self.private_gap = private_gap
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self._starts: list[float] = []  # overall: when recent sends began (sorted)
        self._private: dict[int, float] = {}  # private chat -> end of its last send
        self._groups: dict[int, list[float]] = {}  # group -> ends of recent sends (sorted)
        self._counts: dict[int, int] = {}  # chat -> messages its send under way counts as

    def _now(self, now: float | None) -> float:
        return self.clock.now() if now is None else now

    def _forget(self, now: float) -> None:
        """Drop what no longer limits anything."""
        cut = bisect.bisect_right(self._starts, now - self.window)
        del self._starts[:cut]
        for chat in [c for c, end in self._private.items() if end + self.private_gap <= now]:
            del self._private[chat]
        for chat, ends in list(self._groups.items()):
            del ends[: bisect.bisect_right(ends, now - self.group_window)]
            if not ends:
                del self._groups[chat]

    # -- questions ---------------------------------------------------------------------------

    def overall_wait(self, now: float | None = None, count: int = 1) -> float:
        """Seconds until ``count`` more messages may begin, overall (0: now)."""
        now = self._now(now)
        self._forget(now)
        excess = len(self._starts) + count - 1 - self.per_second  # the start to outlive
        if excess < 0:
            return 0.0
        return max(self._starts[excess] + self.window - now, 0.0)

    def free(self, now: float | None = None) -> int:
        """How many messages may begin now, overall."""
        now = self._now(now)
        self._forget(now)
        return max(self.per_second - len(self._starts), 0)

    def chat_wait(self, chat_id: int, now: float | None = None, count: int = 1) -> float:
        """Seconds until this chat's own limit lets ``count`` more messages begin (0: now;
        infinite while a send to it is under way)."""
        now = self._now(now)
        self._forget(now)
        if not is_group(chat_id):
            end = self._private.get(chat_id)
            return 0.0 if end is None else max(end + self.private_gap - now, 0.0)
        ends = self._groups.get(chat_id, [])
        excess = len(ends) + count - 1 - self.group_per_minute  # the end to outlive
        if excess < 0:
            return 0.0
        return max(ends[excess] + self.group_window - now, 0.0)

    def wait(self, chat_id: int, now: float | None = None, count: int = 1) -> float:
        """Seconds until ``count`` messages to this chat may begin: its own limit and the
        overall one."""
        now = self._now(now)
        return max(self.chat_wait(chat_id, now, count), self.overall_wait(now, count))

    def held(self, now: float | None = None) -> dict[int, float]:
        """The chats whose own limit holds them now, with the seconds each still waits."""
        now = self._now(now)
        self._forget(now)
        chats = [*self._private, *self._groups]
        return {chat: wait for chat in chats if (wait := self.chat_wait(chat, now)) > 0}

    # -- what happened -----------------------------------------------------------------------

    def begin(self, chat_id: int, now: float | None = None, count: int = 1) -> float:
        """A send to ``chat_id`` of ``count`` messages (an album's photos) begins (the caller
        asked :meth:`wait` first); returns the time it was counted at, for :meth:`started`."""
        now = self._now(now)
        self._forget(now)
        for _ in range(count):
            bisect.insort(self._starts, now)
        if is_group(chat_id):
            self._groups.setdefault(chat_id, []).extend([INFLIGHT] * count)
        else:
            self._private[chat_id] = INFLIGHT
        self._counts[chat_id] = count
        return now

    def started(self, counted: float, now: float | None = None, count: int = 1) -> float:
        """The request of a send of ``count`` messages counted at ``counted`` really leaves
        now (a little later): the overall window counts it from now. Returns the new time."""
        now = self._now(now)
        if now <= counted:
            return counted
        moved = 0
        while moved < count:
            index = bisect.bisect_left(self._starts, counted)
            if index >= len(self._starts) or self._starts[index] != counted:
                break
            del self._starts[index]
            moved += 1
        for _ in range(moved):
            bisect.insort(self._starts, now)
        return now if moved else counted

    def end(self, chat_id: int, now: float | None = None) -> None:
        """The send to ``chat_id`` that began last is over (Telegram answered, or failed)."""
        self._ended(chat_id, self._now(now), self._counts.pop(chat_id, 1))

    def _ended(self, chat_id: int, at: float, count: int = 1) -> None:
        if is_group(chat_id):
            ends = self._groups.setdefault(chat_id, [])
            for _ in range(count):
                if ends and ends[-1] == INFLIGHT:
                    ends.pop()
                bisect.insort(ends, at)
        else:  # the next message waits a second for each message this one counted as
            self._private[chat_id] = at + (count - 1) * self.private_gap

    def reserve(self, chat_id: int, longest: float, now: float | None = None) -> float | None:
        """Take a turn for a message sent outside the outbox (a direct answer to a person's
        own step) when it comes within ``longest`` seconds: returns the seconds to wait
        before sending, or None (a group's minute is spent, a send to the chat is under
        way) and nothing is taken.

        The answer takes a place in the overall second and in a group's minute like any
        message, and the chat's next message waits its gap after it; but it does not wait
        out a private chat's gap itself: the person is waiting for it, and a short burst in
        one chat is what Telegram tolerates. It is assumed over :data:`ANSWER_ALLOWANCE`
        after it begins (its end is not reported)."""
        now = self._now(now)
        own = self.chat_wait(chat_id, now)
        if not is_group(chat_id) and own < math.inf:
            own = 0.0
        wait = max(own, self.overall_wait(now))
        if wait > longest:
            return None
        at = now + wait
        bisect.insort(self._starts, at)
        if is_group(chat_id):
            self._groups.setdefault(chat_id, [])
        self._ended(chat_id, at + ANSWER_ALLOWANCE)
        return wait
