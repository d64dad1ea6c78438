"""The inbox: each update stored before Telegram is told it arrived, marked once handled.

Telegram forgets an update once a poll's ``offset`` confirms it, and PTB confirms a batch
with its next poll, while the batch is still being handled; a crash in between lost those
updates. So the bot stores each batch here first (:meth:`InboxStore.admit`, one
transaction), marks each update when its handling ends (:meth:`InboxStore.handled`), and
at start hands out again what was stored but never marked (:meth:`InboxStore.unhandled`).
The ``update_id`` is the key: an update Telegram delivers again finds its row and is not
admitted twice. A handled row forgets the update's content (names, texts, phone numbers:
kept no longer than needed) and keeps its id a few days for that recognition
(:meth:`InboxStore.prune`). Times come from the database's clock.

A step that changes a record marks its update handled in the step's own transaction
(:func:`settle`, for the update named by :data:`HANDLING`): had the process died after the
change was saved but before the update was marked, a replay would take the step again,
and a typed step (a department's progress reply, a handling opinion) has no draft or
state to recognise itself by. After such a crash the person may miss the step's answer,
never the step.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

import aiosqlite

from storage.db import Database, iso, now_of

#: The update being handled in this task (the bot's update processor sets it): what
#: :func:`settle` marks.
HANDLING: ContextVar[int | None] = ContextVar("wuye_handling_update", default=None)


async def settle(conn: aiosqlite.Connection) -> None:
    """Inside a step's transaction: the update being handled (:data:`HANDLING`) is marked
    handled with the step's change, so a replay after a crash does not take it again."""
    update_id = HANDLING.get()
    if update_id is None:
        return
    await conn.execute(
        "UPDATE inbox SET handled_at = ?, outcome = 'handled', data = NULL"
        " WHERE update_id = ? AND handled_at IS NULL",
        (iso(now_of(conn)), update_id),
    )


async def mark(conn: aiosqlite.Connection, update_id: int) -> bool:
    """Inside a transaction: mark an update handled and forget its content; False when it
    was not waiting (a step's transaction marked it already, :func:`settle`)."""
    cursor = await conn.execute(
        "UPDATE inbox SET handled_at = ?, outcome = 'handled', data = NULL"
        " WHERE update_id = ? AND handled_at IS NULL",
        (iso(now_of(conn)), update_id),
    )
    return cursor.rowcount == 1


@dataclass(frozen=True)
class Stored:
    """An update stored and not yet handled."""

    update_id: int
    data: str  # the Update as Bot API JSON
    replays: int  # how many start-ups already handed it out again


class InboxStore:
    """The ``inbox`` table (migration 0015)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def admit(self, updates: Sequence[tuple[int, str]]) -> set[int]:
        """Store each ``(update_id, JSON)`` not stored yet, all in one transaction; returns
        the ids that were new (an id already stored, handled or not, is left as it is)."""
        if not updates:
            return set()
        new: set[int] = set()
        async with self.db.write() as conn:
            now = iso(now_of(conn))
            for update_id, data in updates:
                cursor = await conn.execute(
                    "INSERT OR IGNORE INTO inbox(update_id, data, received_at) VALUES (?, ?, ?)",
                    (update_id, data, now),
                )
                if cursor.rowcount == 1:
                    new.add(update_id)
        return new

    async def handled(self, update_id: int) -> bool:
        """Mark an update handled and forget its content; False when it was not waiting."""
        async with self.db.write() as conn:
            return await mark(conn, update_id)

    async def unhandled(self) -> list[Stored]:
        """Every update stored and not handled, oldest (lowest id) first."""
        rows = await self.db.fetchall(
            "SELECT update_id, data, replays FROM inbox WHERE handled_at IS NULL ORDER BY update_id"
        )
        return [Stored(int(r["update_id"]), str(r["data"]), int(r["replays"])) for r in rows]

    async def replaying(self, update_ids: Collection[int]) -> None:
        """Count one more replay of each of these updates (one transaction)."""
        if not update_ids:
            return
        async with self.db.write() as conn:
            await conn.executemany(
                "UPDATE inbox SET replays = replays + 1 WHERE update_id = ?",
                [(update_id,) for update_id in update_ids],
            )

    async def abandon(self, update_ids: Collection[int]) -> None:
        """Give up on these updates: marked ``abandoned`` (never handed out again), their
        content forgotten."""
        if not update_ids:
            return
        async with self.db.write() as conn:
            now = iso(now_of(conn))
            await conn.executemany(
                "UPDATE inbox SET handled_at = ?, outcome = 'abandoned', data = NULL"
                " WHERE update_id = ? AND handled_at IS NULL",
                [(now, update_id) for update_id in update_ids],
            )

    async def prune(self, older_than: timedelta, *, keep: int) -> int:
        """Delete handled rows handled more than ``older_than`` ago, except the ``keep``
        newest rows, which stay whatever the clock says (the last batches are what Telegram
        can deliver again); returns how many went."""
        async with self.db.write() as conn:
            cutoff = iso(now_of(conn) - older_than)
            cursor = await conn.execute(
                "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?"
                " AND update_id < (SELECT MIN(update_id) FROM"
                " (SELECT update_id FROM inbox ORDER BY update_id DESC LIMIT ?))",
                (cutoff, keep),
            )
            return max(cursor.rowcount, 0)

    async def counts(self) -> dict[str, int]:
        """How many rows are waiting, handled and abandoned (for tests and the logs)."""
        rows = await self.db.fetchall(
            "SELECT COALESCE(outcome, 'waiting') AS state, COUNT(*) AS n FROM inbox"
            " GROUP BY COALESCE(outcome, 'waiting')"
        )
        return {str(r["state"]): int(r["n"]) for r in rows}
