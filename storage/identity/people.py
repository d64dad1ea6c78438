"""People and their roles: who has talked to the bot, their language, and the memberships
(role, estate, department) checked on every privileged update. :func:`grant` and
:func:`revoke` change a role inside the caller's transaction, audited, for the other parts
(binding an owner, a verification, an invite, a roster import).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from procedures.identity import Role
from storage import audit, menus
from storage.db import iso, now_of
from storage.identity.shared import StoreBase, department_id_of, fetch_one


@dataclass(frozen=True)
class Person:
    """Someone who has talked to the bot."""

    id: int
    tg_user_id: int
    name: str
    username: str | None
    phone: str | None
    tg_language: str | None
    locale: str | None


@dataclass(frozen=True)
class Membership:
    """A role held by a person in an estate, with its department if any."""

    estate_id: int
    estate_name: str
    role: str
    department: str | None


def _person(row: sqlite3.Row) -> Person:
    return Person(
        row["id"],
        row["tg_user_id"],
        row["name"],
        row["username"],
        row["phone"],
        row["tg_language"],
        row["locale"],
    )


class PeopleStore(StoreBase):
    """People and roles."""

    async def touch_person(
        self, tg_user_id: int, name: str, username: str | None, language: str | None
    ) -> Person:
        """The person for a Telegram user, created or refreshed (name, username, language).

        Read first: a person the bot knows whose name, username and language are as stored
        (nearly every update) costs one read and no write."""
        row = await self.db.fetchone("SELECT * FROM people WHERE tg_user_id = ?", (tg_user_id,))
        if (
            row is not None
            and row["name"] == name
            and row["username"] == username
            and row["tg_language"] == language
        ):
            return _person(row)
        now = iso(self.db.now())
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO people(tg_user_id, name, username, tg_language, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(tg_user_id) DO UPDATE SET"
                " name = excluded.name, username = excluded.username,"
                " tg_language = excluded.tg_language, updated_at = excluded.updated_at"
                " WHERE people.name IS NOT excluded.name"
                " OR people.username IS NOT excluded.username"
                " OR people.tg_language IS NOT excluded.tg_language",
                (tg_user_id, name, username, language, now, now),
            )
            row = await fetch_one(conn, "SELECT * FROM people WHERE tg_user_id = ?", [tg_user_id])
            assert row is not None
            if cur.rowcount:  # met, or their Telegram language (or name) changed: their menu
                await menus.mark(conn, row["id"])
        return _person(row)

    async def person_by_tg(self, tg_user_id: int) -> Person | None:
        """The person for a Telegram user id, if they have talked to the bot."""
        row = await self.db.fetchone("SELECT * FROM people WHERE tg_user_id = ?", (tg_user_id,))
        return _person(row) if row else None

    async def person(self, person_id: int) -> Person | None:
        """A person by id."""
        row = await self.db.fetchone("SELECT * FROM people WHERE id = ?", (person_id,))
        return _person(row) if row else None

    async def names_of(self, person_ids: Iterable[int]) -> dict[int, str]:
        """People's names by id (for timelines); unknown ids are left out."""
        wanted = sorted(set(person_ids))
        if not wanted:
            return {}
        rows = await self.db.fetchall(
            f"SELECT id, name FROM people WHERE id IN ({','.join('?' * len(wanted))})", wanted
        )
        return {int(r["id"]): r["name"] for r in rows}

    async def set_locale(self, person_id: int, locale: str | None) -> None:
        """Remember the language chosen with ``/lang`` (None follows Telegram's)."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE people SET locale = ?, updated_at = ? WHERE id = ?",
                (locale, iso(self.db.now()), person_id),
            )
            await menus.mark(conn, person_id)

    async def memberships(self, person_id: int) -> list[Membership]:
        """Every role a person holds, in every estate."""
        rows = await self.db.fetchall(
            "SELECT m.estate_id, e.name AS estate_name, m.role, d.code AS department"
            " FROM memberships m JOIN estates e ON e.id = m.estate_id"
            " LEFT JOIN departments d ON d.id = m.department_id"
            " WHERE m.person_id = ? ORDER BY e.name, m.role",
            (person_id,),
        )
        return [
            Membership(r["estate_id"], r["estate_name"], r["role"], r["department"]) for r in rows
        ]

    async def roles_in(self, person_id: int, estate_id: int) -> set[str]:
        """The roles a person holds in one estate (checked on every privileged update)."""
        rows = await self.db.fetchall(
            "SELECT role FROM memberships WHERE person_id = ? AND estate_id = ?",
            (person_id, estate_id),
        )
        return {r["role"] for r in rows}

    async def people_with_role(self, estate_id: int, role: str) -> list[Person]:
        """Everyone holding ``role`` in an estate."""
        rows = await self.db.fetchall(
            "SELECT p.* FROM people p JOIN memberships m ON m.person_id = p.id"
            " WHERE m.estate_id = ? AND m.role = ? ORDER BY p.id",
            (estate_id, role),
        )
        return [_person(r) for r in rows]

    async def grant_role(
        self,
        person_id: int,
        estate_id: int,
        role: Role | str,
        *,
        department: str | None = None,
        actor: str,
        actor_id: int | None = None,
    ) -> bool:
        """Give a role (idempotent); returns False when the person already had it."""
        async with self.db.write() as conn:
            return await grant(
                conn, person_id, estate_id, str(role), department, actor, actor_id, "cli"
            )

    async def revoke_role(
        self, person_id: int, estate_id: int, role: str, *, actor: str, actor_id: int | None
    ) -> bool:
        """Take a role away; returns False when the person did not hold it."""
        async with self.db.write() as conn:
            return await revoke(conn, person_id, estate_id, role, actor, actor_id)


async def revoke(
    conn: aiosqlite.Connection,
    person_id: int,
    estate_id: int,
    role: str,
    actor: str,
    actor_id: int | None,
    *,
    reason: str | None = None,
) -> bool:
    """Take a role away inside the caller's transaction, audited; False if it was not held."""
    cur = await conn.execute(
        "DELETE FROM memberships WHERE person_id = ? AND estate_id = ? AND role = ?",
        (person_id, estate_id, str(role)),
    )
    if not cur.rowcount:
        return False
    await menus.mark(conn, person_id)
    data = {"role": str(role)} | ({"reason": reason} if reason else {})
    await audit.append(
        conn,
        event="role.revoked",
        subject=f"person:{person_id}",
        actor=actor,
        actor_id=actor_id,
        estate_id=estate_id,
        data=data,
    )
    return True


async def grant(
    conn: aiosqlite.Connection,
    person_id: int,
    estate_id: int,
    role: str,
    department: str | None,
    actor: str,
    actor_id: int | None,
    source: str,
) -> bool:
    """Give a role inside the caller's transaction, audited with its ``source`` (``cli``,
    ``verified``, ``invite:<id>``, ...); False if it was already held."""
    department_id = await department_id_of(conn, estate_id, department)
    cur = await conn.execute(
        "INSERT OR IGNORE INTO memberships(person_id, estate_id, role, department_id, granted_by,"
        " granted_at) VALUES (?, ?, ?, ?, ?, ?)",
        (person_id, estate_id, str(role), department_id, actor_id, iso(now_of(conn))),
    )
    if not cur.rowcount:
        return False
    await menus.mark(conn, person_id)
    await audit.append(
        conn,
        event="role.granted",
        subject=f"person:{person_id}",
        actor=actor,
        actor_id=actor_id,
        estate_id=estate_id,
        data={"role": str(role), "department": department, "source": source},
    )
    return True
