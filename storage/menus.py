"""The command menus of people's private chats with the bot: who needs theirs set, and what
was set.

:func:`mark` runs inside the transaction of a change a menu shows (a role granted or
revoked, a language chosen, a person met or their Telegram language changed), so the change
and the need to show it never disagree, whichever process made it (the bot, the command
line). The bot's menu sync (``bot/menus.py``) reads :meth:`MenuStore.due`, sets each menu
with one call and records it (:meth:`MenuStore.done`), or tries again later
(:meth:`MenuStore.retry`). Each mark is counted, so a change made while its menu was being
set leaves the row due.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database, iso, now_of

_MARK = (
    "INSERT INTO menus(person_id, due_at, marks) VALUES (?, ?, 1) ON CONFLICT(person_id)"
    " DO UPDATE SET due_at = excluded.due_at, marks = menus.marks + 1, tries = 0"
)

#: A person's menu facts: their chat, language and roles (in every estate), what was set.
_TARGET = (
    "SELECT p.id AS person_id, p.tg_user_id, p.locale, p.tg_language,"
    " m.digest, COALESCE(m.marks, 0) AS marks, COALESCE(m.tries, 0) AS tries,"
    " (SELECT group_concat(role, ',') FROM memberships WHERE person_id = p.id) AS roles"
    " FROM people p LEFT JOIN menus m ON m.person_id = p.id"
)


@dataclass(frozen=True)
class MenuTarget:
    """Whose menu to set (their private chat is their Telegram user id) and what decides it."""

    person_id: int
    tg_user_id: int
    locale: str | None  # chosen with /lang
    tg_language: str | None  # Telegram's
    roles: frozenset[str]
    digest: str | None  # of the menu set last
    marks: int  # changes counted when read
    tries: int  # failed attempts since the last success


def _target(row: sqlite3.Row) -> MenuTarget:
    roles = frozenset(r for r in (row["roles"] or "").split(",") if r)
    return MenuTarget(
        row["person_id"],
        row["tg_user_id"],
        row["locale"],
        row["tg_language"],
        roles,
        row["digest"],
        row["marks"],
        row["tries"],
    )


async def mark(conn: aiosqlite.Connection, person_id: int) -> None:
    """Inside the caller's transaction: this person's menu is to be set (again) now."""
    await conn.execute(_MARK, (person_id, iso(now_of(conn))))


class MenuStore:
    """The menus table, for the bot's menu sync."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def due(self, limit: int = 50) -> list[MenuTarget]:
        """People whose menu is due now, longest waiting first."""
        rows = await self.db.fetchall(
            _TARGET + " WHERE m.due_at IS NOT NULL AND m.due_at <= ?"
            " ORDER BY m.due_at, m.person_id LIMIT ?",
            (iso(self.db.now()), limit),
        )
        return [_target(r) for r in rows]

    async def everyone(self, after: int = 0, limit: int = -1) -> list[MenuTarget]:
        """Every person the bot knows (start-up compares what each should see with what was
        set), by id: those after ``after``, at most ``limit`` of them (-1: all), so that a
        large roster is read a page at a time."""
        return [
            _target(r)
            for r in await self.db.fetchall(
                _TARGET + " WHERE p.id > ? ORDER BY p.id LIMIT ?", (after, limit)
            )
        ]

    async def mark_due(self, person_ids: Iterable[int]) -> None:
        """These people's menus are to be set now (one transaction)."""
        now = iso(self.db.now())
        async with self.db.write() as conn:
            await conn.executemany(_MARK, [(p, now) for p in person_ids])

    async def done(self, target: MenuTarget, digest: str) -> None:
        """``target``'s menu is ``digest`` now; no longer due unless marked since it was read."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE menus SET digest = ?, set_at = ?, tries = 0,"
                " due_at = CASE WHEN marks = ? THEN NULL ELSE due_at END WHERE person_id = ?",
                (digest, iso(self.db.now()), target.marks, target.person_id),
            )

    async def retry(self, target: MenuTarget, at: datetime | None) -> None:
        """Setting ``target``'s menu failed: try again at ``at`` (None: not until it is
        marked again, or the bot starts again), unless it was marked since it was read."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE menus SET tries = tries + 1,"
                " due_at = CASE WHEN marks = ? THEN ? ELSE due_at END WHERE person_id = ?",
                (target.marks, iso(at) if at else None, target.person_id),
            )
