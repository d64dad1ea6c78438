"""Estates (項目) and their departments, each department with the group chat bound to it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from procedures.identity import Department
from storage import audit
from storage.db import iso
from storage.identity.people import Person
from storage.identity.shared import StoreBase, fetch_one


@dataclass(frozen=True)
class Estate:
    """One residential compound (項目)."""

    id: int
    name: str
    timezone: str | None


@dataclass(frozen=True)
class DepartmentChat:
    """A department of an estate and the group chat bound to it (if any)."""

    id: int
    estate_id: int
    estate_name: str
    code: str
    chat_id: int | None


def _department(row: sqlite3.Row) -> DepartmentChat:
    return DepartmentChat(
        row["id"], row["estate_id"], row["estate_name"], row["code"], row["chat_id"]
    )


class EstateStore(StoreBase):
    """Estates and departments."""

    async def ensure_estate(self, name: str, *, actor: str = "system") -> Estate:
        """The estate called ``name``, created with every department if it is new."""
        name = " ".join(name.split())
        if not name:
            raise ValueError("an estate needs a name")
        async with self.db.write() as conn:
            row = await fetch_one(
                conn, "SELECT id, name, timezone FROM estates WHERE name = ?", [name]
            )
            if row:
                return Estate(row["id"], row["name"], row["timezone"])
            cur = await conn.execute(
                "INSERT INTO estates(name, created_at) VALUES (?, ?)", (name, iso(self.db.now()))
            )
            estate_id = int(cur.lastrowid or 0)
            await conn.executemany(
                "INSERT INTO departments(estate_id, code) VALUES (?, ?)",
                [(estate_id, d.value) for d in Department],
            )
            await audit.append(
                conn,
                event="estate.created",
                subject=f"estate:{estate_id}",
                actor=actor,
                estate_id=estate_id,
                data={"name": name},
            )
            return Estate(estate_id, name, None)

    async def estates(self) -> list[Estate]:
        """Every estate, by name."""
        rows = await self.db.fetchall("SELECT id, name, timezone FROM estates ORDER BY name")
        return [Estate(r["id"], r["name"], r["timezone"]) for r in rows]

    async def estate_by_name(self, name: str) -> Estate | None:
        """An estate by its exact (whitespace-collapsed) name."""
        row = await self.db.fetchone(
            "SELECT id, name, timezone FROM estates WHERE name = ?", (" ".join(name.split()),)
        )
        return Estate(row["id"], row["name"], row["timezone"]) if row else None

    async def estate(self, estate_id: int) -> Estate | None:
        """An estate by id."""
        row = await self.db.fetchone(
            "SELECT id, name, timezone FROM estates WHERE id = ?", (estate_id,)
        )
        return Estate(row["id"], row["name"], row["timezone"]) if row else None

    async def department(self, estate_id: int, code: str) -> DepartmentChat | None:
        """A department of an estate."""
        row = await self.db.fetchone(
            "SELECT d.id, d.estate_id, e.name AS estate_name, d.code, d.chat_id"
            " FROM departments d JOIN estates e ON e.id = d.estate_id"
            " WHERE d.estate_id = ? AND d.code = ?",
            (estate_id, code),
        )
        return _department(row) if row else None

    async def departments_of_chat(self, chat_id: int) -> list[DepartmentChat]:
        """The departments a group chat is bound to."""
        rows = await self.db.fetchall(
            "SELECT d.id, d.estate_id, e.name AS estate_name, d.code, d.chat_id"
            " FROM departments d JOIN estates e ON e.id = d.estate_id WHERE d.chat_id = ?",
            (chat_id,),
        )
        return [_department(r) for r in rows]

    async def bind_department(
        self, estate_id: int, code: str, chat_id: int, title: str, *, by: Person
    ) -> None:
        """Make ``chat_id`` the group chat of a department (the department's alerts go there)."""
        async with self.db.write() as conn:
            row = await fetch_one(
                conn,
                "SELECT id, chat_id FROM departments WHERE estate_id = ? AND code = ?",
                [estate_id, code],
            )
            if row is None:
                raise LookupError(code)
            await conn.execute(
                "UPDATE departments SET chat_id = ?, chat_title = ?, bound_at = ?, bound_by = ?"
                " WHERE id = ?",
                (chat_id, title, iso(self.db.now()), by.id, row["id"]),
            )
            await audit.append(
                conn,
                event="department.bound",
                subject=f"department:{row['id']}",
                actor=f"person:{by.id}",
                actor_id=by.id,
                estate_id=estate_id,
                data={"code": code, "chat_id": chat_id, "title": title, "before": row["chat_id"]},
            )

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> int:
        """Follow a group's upgrade to a supergroup; returns how many departments moved."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "SELECT id, estate_id FROM departments WHERE chat_id = ?", (old_chat_id,)
            )
            rows = list(await cur.fetchall())
            for row in rows:
                await conn.execute(
                    "UPDATE departments SET chat_id = ? WHERE id = ?", (new_chat_id, row["id"])
                )
                await audit.append(
                    conn,
                    event="department.chat_migrated",
                    subject=f"department:{row['id']}",
                    actor="telegram",
                    estate_id=row["estate_id"],
                    data={"from": old_chat_id, "to": new_chat_id},
                )
            return len(rows)
