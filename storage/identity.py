"""Repositories for identity: estates, units, people, roles, departments, invites, verifications.

Every change is one write transaction that also appends its audit event, so the trail and
the data can never disagree.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import aiosqlite

from procedures.identity import (
    Department,
    Role,
    fold,
    invite_expiry,
    invite_hash,
    new_invite_code,
)
from procedures.roster import RosterRow
from storage import audit
from storage.db import Database, iso, now_of, parse_iso


@dataclass(frozen=True)
class Estate:
    """One residential compound (項目)."""

    id: int
    name: str
    timezone: str | None


@dataclass(frozen=True)
class Unit:
    """A unit with its owner as the roster states them."""

    id: int
    estate_id: int
    estate_name: str
    building: str
    number: str
    owner_name: str
    owner_phone: str

    @property
    def label(self) -> str:
        """How a unit is shown: ``3栋 502`` or ``502``."""
        return f"{self.building} {self.number}" if self.building else self.number


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


@dataclass(frozen=True)
class DepartmentChat:
    """A department of an estate and the group chat bound to it (if any)."""

    id: int
    estate_id: int
    estate_name: str
    code: str
    chat_id: int | None


@dataclass(frozen=True)
class Verification:
    """An owner's request to be recognised when their phone is not on the roster."""

    id: int
    person_id: int
    estate_id: int
    unit_id: int
    phone: str
    status: str
    reason: str | None
    decided_by: int | None
    group_chat_id: int | None
    group_message_id: int | None


class InviteOutcome(StrEnum):
    """What redeeming an invite code came to."""

    GRANTED = "granted"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Redeemed:
    """The result of :meth:`IdentityStore.redeem_invite`."""

    outcome: InviteOutcome
    estate_name: str | None = None
    role: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class ImportSummary:
    """What a roster import changed."""

    created: int
    updated: int
    unchanged: int
    unbound: int


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


_UNIT_SELECT = (
    "SELECT u.id, u.estate_id, e.name AS estate_name, u.building, u.number, u.owner_name,"
    " u.owner_phone FROM units u JOIN estates e ON e.id = u.estate_id"
)


def _unit(row: sqlite3.Row) -> Unit:
    return Unit(
        row["id"],
        row["estate_id"],
        row["estate_name"],
        row["building"],
        row["number"],
        row["owner_name"],
        row["owner_phone"],
    )


def _verification(row: sqlite3.Row) -> Verification:
    return Verification(
        row["id"],
        row["person_id"],
        row["estate_id"],
        row["unit_id"],
        row["phone"],
        row["status"],
        row["reason"],
        row["decided_by"],
        row["group_chat_id"],
        row["group_message_id"],
    )


async def _one(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
    async with conn.execute(sql, params) as cur:
        row: sqlite3.Row | None = await cur.fetchone()
        return row


class IdentityStore:
    """Narrow interface over the identity tables; handlers and the CLI use only this."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- estates and departments ----------------------------------------------------------

    async def ensure_estate(self, name: str, *, actor: str = "system") -> Estate:
        """The estate called ``name``, created with every department if it is new."""
        name = " ".join(name.split())
        if not name:
            raise ValueError("an estate needs a name")
        async with self.db.write() as conn:
            row = await _one(conn, "SELECT id, name, timezone FROM estates WHERE name = ?", [name])
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
            row = await _one(
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

    # --- people and roles -----------------------------------------------------------------

    async def touch_person(
        self, tg_user_id: int, name: str, username: str | None, language: str | None
    ) -> Person:
        """The person for a Telegram user, created or refreshed (name, username, language)."""
        now = iso(self.db.now())
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO people(tg_user_id, name, username, tg_language, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(tg_user_id) DO UPDATE SET"
                " name = excluded.name, username = excluded.username,"
                " tg_language = excluded.tg_language, updated_at = excluded.updated_at"
                " WHERE people.name IS NOT excluded.name"
                " OR people.username IS NOT excluded.username"
                " OR people.tg_language IS NOT excluded.tg_language",
                (tg_user_id, name, username, language, now, now),
            )
            row = await _one(conn, "SELECT * FROM people WHERE tg_user_id = ?", [tg_user_id])
        assert row is not None
        return _person(row)

    async def person_by_tg(self, tg_user_id: int) -> Person | None:
        """The person for a Telegram user id, if they have talked to the bot."""
        row = await self.db.fetchone("SELECT * FROM people WHERE tg_user_id = ?", (tg_user_id,))
        return _person(row) if row else None

    async def person(self, person_id: int) -> Person | None:
        """A person by id."""
        row = await self.db.fetchone("SELECT * FROM people WHERE id = ?", (person_id,))
        return _person(row) if row else None

    async def set_locale(self, person_id: int, locale: str | None) -> None:
        """Remember the language chosen with ``/lang`` (None follows Telegram's)."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE people SET locale = ?, updated_at = ? WHERE id = ?",
                (locale, iso(self.db.now()), person_id),
            )

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
            return await _grant(
                conn, person_id, estate_id, str(role), department, actor, actor_id, "cli"
            )

    async def revoke_role(
        self, person_id: int, estate_id: int, role: str, *, actor: str, actor_id: int | None
    ) -> bool:
        """Take a role away; returns False when the person did not hold it."""
        async with self.db.write() as conn:
            return await _revoke(conn, person_id, estate_id, role, actor, actor_id)

    # --- owners ---------------------------------------------------------------------------

    async def units_for_phone(self, phone: str) -> list[Unit]:
        """Every unit whose roster owner has this (normalised) phone."""
        rows = await self.db.fetchall(
            f"{_UNIT_SELECT} WHERE u.owner_phone = ? ORDER BY e.name, u.building, u.number",
            (phone,),
        )
        return [_unit(r) for r in rows]

    async def units_of(self, person_id: int) -> list[Unit]:
        """The units a person is bound to."""
        rows = await self.db.fetchall(
            f"{_UNIT_SELECT} JOIN unit_bindings b ON b.unit_id = u.id WHERE b.person_id = ?"
            " ORDER BY e.name, u.building, u.number",
            (person_id,),
        )
        return [_unit(r) for r in rows]

    async def unit(self, unit_id: int) -> Unit | None:
        """A unit by id."""
        row = await self.db.fetchone(f"{_UNIT_SELECT} WHERE u.id = ?", (unit_id,))
        return _unit(row) if row else None

    async def find_units(self, estate_id: int, text: str) -> list[Unit]:
        """Units of an estate matching what a person typed (``502``, ``3栋 502``, ``3-502``)."""
        wanted = unit_key(text)
        rows = await self.db.fetchall(f"{_UNIT_SELECT} WHERE u.estate_id = ?", (estate_id,))
        units = [_unit(r) for r in rows]

        def key(u: Unit) -> set[str]:
            number = unit_key(u.number)
            return {number, unit_key(u.building) + number}

        return [u for u in units if wanted in key(u)]

    async def bind_owner(
        self,
        person: Person,
        phone: str,
        units: Iterable[Unit],
        *,
        source: str,
        actor: str,
        actor_id: int | None,
    ) -> list[Unit]:
        """Bind a person to units as their owner, record the phone and grant the owner role."""
        bound: list[Unit] = []
        now = iso(self.db.now())
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE people SET phone = ?, updated_at = ? WHERE id = ?", (phone, now, person.id)
            )
            for unit in units:
                cur = await conn.execute(
                    "INSERT OR IGNORE INTO unit_bindings(person_id, unit_id, relation, source,"
                    " bound_at) VALUES (?, ?, 'owner', ?, ?)",
                    (person.id, unit.id, source, now),
                )
                await _grant(
                    conn, person.id, unit.estate_id, Role.OWNER, None, actor, actor_id, source
                )
                if cur.rowcount:
                    bound.append(unit)
                    await audit.append(
                        conn,
                        event="owner.bound",
                        subject=f"person:{person.id}",
                        actor=actor,
                        actor_id=actor_id,
                        estate_id=unit.estate_id,
                        data={"unit_id": unit.id, "unit": unit.label, "source": source},
                    )
        return bound

    async def pending_of(self, person_id: int) -> list[Verification]:
        """A person's undecided verification requests."""
        rows = await self.db.fetchall(
            "SELECT * FROM verifications WHERE person_id = ? AND status = 'pending'", (person_id,)
        )
        return [_verification(r) for r in rows]

    async def open_verification(
        self, person: Person, unit: Unit, phone: str
    ) -> tuple[Verification, bool]:
        """A pending verification request, and whether it is new (False: already asked)."""
        async with self.db.write() as conn:
            row = await _one(
                conn,
                "SELECT * FROM verifications WHERE person_id = ? AND unit_id = ?"
                " AND status = 'pending'",
                [person.id, unit.id],
            )
            created = row is None
            if row is None:
                await conn.execute(
                    "INSERT INTO verifications(person_id, estate_id, unit_id, phone, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (person.id, unit.estate_id, unit.id, phone, iso(self.db.now())),
                )
                row = await _one(
                    conn,
                    "SELECT * FROM verifications WHERE person_id = ? AND unit_id = ?"
                    " AND status = 'pending'",
                    [person.id, unit.id],
                )
                assert row is not None
                await audit.append(
                    conn,
                    event="owner.verification_requested",
                    subject=f"person:{person.id}",
                    actor=f"person:{person.id}",
                    actor_id=person.id,
                    estate_id=unit.estate_id,
                    data={"verification_id": row["id"], "unit": unit.label},
                )
            return _verification(row), created

    async def verification(self, verification_id: int) -> Verification | None:
        """A verification request by id."""
        row = await self.db.fetchone("SELECT * FROM verifications WHERE id = ?", (verification_id,))
        return _verification(row) if row else None

    async def pending_verifications(self, estate_ids: Iterable[int]) -> list[Verification]:
        """Undecided requests of some estates, oldest first."""
        ids = list(estate_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self.db.fetchall(
            f"SELECT * FROM verifications WHERE status = 'pending' AND estate_id IN ({marks})"
            " ORDER BY id",
            ids,
        )
        return [_verification(r) for r in rows]

    async def note_verification_message(
        self, verification_id: int, chat_id: int, message_id: int
    ) -> None:
        """Remember which group message carries a request's buttons."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE verifications SET group_chat_id = ?, group_message_id = ? WHERE id = ?",
                (chat_id, message_id, verification_id),
            )

    async def decide_verification(
        self, verification_id: int, *, by: Person, approve: bool, reason: str | None = None
    ) -> Verification | None:
        """Approve (binding the unit) or reject a pending request, once.

        Returns the decided request, or None when it was already decided (the caller shows
        who decided it) — the check and the change are one transaction, so two staff
        tapping at once cannot both decide.
        """
        now = iso(self.db.now())
        async with self.db.write() as conn:
            row = await _one(conn, "SELECT * FROM verifications WHERE id = ?", [verification_id])
            if row is None or row["status"] != "pending":
                return None
            status = "approved" if approve else "rejected"
            await conn.execute(
                "UPDATE verifications SET status = ?, reason = ?, decided_by = ?, decided_at = ?"
                " WHERE id = ?",
                (status, reason, by.id, now, verification_id),
            )
            if approve:
                await conn.execute(
                    "UPDATE people SET phone = ?, updated_at = ? WHERE id = ?",
                    (row["phone"], now, row["person_id"]),
                )
                await conn.execute(
                    "INSERT OR IGNORE INTO unit_bindings(person_id, unit_id, relation, source,"
                    " bound_at) VALUES (?, ?, 'owner', 'verified', ?)",
                    (row["person_id"], row["unit_id"], now),
                )
                await _grant(
                    conn, row["person_id"], row["estate_id"], Role.OWNER, None,
                    f"person:{by.id}", by.id, "verified",
                )  # fmt: skip
            await audit.append(
                conn,
                event=f"owner.verification_{status}",
                subject=f"person:{row['person_id']}",
                actor=f"person:{by.id}",
                actor_id=by.id,
                estate_id=row["estate_id"],
                data={"verification_id": verification_id, "unit_id": row["unit_id"],
                      "reason": reason},
            )  # fmt: skip
            decided = await _one(
                conn, "SELECT * FROM verifications WHERE id = ?", [verification_id]
            )
        assert decided is not None
        return _verification(decided)

    # --- invites --------------------------------------------------------------------------

    async def create_invite(
        self,
        estate_id: int,
        role: Role,
        *,
        department: str | None,
        ttl_hours: int,
        actor: str,
        actor_id: int | None,
        now: datetime | None = None,
    ) -> tuple[str, datetime]:
        """A new one-time invite; returns the code (shown once, stored hashed) and its expiry."""
        code = new_invite_code()
        created = now or self.db.now()
        expires = invite_expiry(created, ttl_hours)
        async with self.db.write() as conn:
            department_id = await _department_id(conn, estate_id, department)
            cur = await conn.execute(
                "INSERT INTO invites(code_hash, estate_id, role, department_id, created_by,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    invite_hash(code),
                    estate_id,
                    role.value,
                    department_id,
                    actor_id,
                    iso(created),
                    iso(expires),
                ),
            )
            await audit.append(
                conn,
                event="invite.created",
                subject=f"invite:{cur.lastrowid}",
                actor=actor,
                actor_id=actor_id,
                estate_id=estate_id,
                data={"role": role.value, "department": department, "expires_at": iso(expires)},
            )
        return code, expires

    async def redeem_invite(
        self, code: str, person: Person, *, now: datetime | None = None
    ) -> Redeemed:
        """Use a one-time invite: grant its role, or say why not (unknown, used, expired)."""
        moment = now or self.db.now()
        async with self.db.write() as conn:
            row = await _one(
                conn,
                "SELECT i.*, e.name AS estate_name, d.code AS department FROM invites i"
                " JOIN estates e ON e.id = i.estate_id"
                " LEFT JOIN departments d ON d.id = i.department_id WHERE i.code_hash = ?",
                [invite_hash(code)],
            )
            if row is None:
                return Redeemed(InviteOutcome.UNKNOWN)
            if row["used_at"] is not None:
                return Redeemed(InviteOutcome.USED, row["estate_name"], row["role"])
            if parse_iso(row["expires_at"]) <= moment:
                return Redeemed(InviteOutcome.EXPIRED, row["estate_name"], row["role"])
            await conn.execute(
                "UPDATE invites SET used_by = ?, used_at = ? WHERE id = ?",
                (person.id, iso(moment), row["id"]),
            )
            await audit.append(
                conn,
                event="invite.redeemed",
                subject=f"invite:{row['id']}",
                actor=f"person:{person.id}",
                actor_id=person.id,
                estate_id=row["estate_id"],
                data={"role": row["role"], "department": row["department"]},
            )
            await _grant(
                conn, person.id, row["estate_id"], row["role"], row["department"],
                f"person:{person.id}", person.id, f"invite:{row['id']}",
            )  # fmt: skip
            return Redeemed(
                InviteOutcome.GRANTED, row["estate_name"], row["role"], row["department"]
            )

    # --- roster ---------------------------------------------------------------------------

    async def import_roster(
        self,
        estate_id: int,
        rows: Sequence[RosterRow],
        *,
        actor: str,
        actor_id: int | None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportSummary:
        """Create or update the estate's units from a validated roster, in one transaction.

        A unit whose owner's phone changed loses the roster-made bindings of the old owner
        (the unit was sold); bindings staff verified by hand are left for staff to review.
        """
        now = iso(self.db.now())
        created = updated = unchanged = unbound = 0
        async with self.db.write() as conn:
            cur = await conn.execute(
                "SELECT id, building, number, area_m2, owner_name, owner_phone FROM units"
                " WHERE estate_id = ?",
                (estate_id,),
            )
            existing = {(r["building"], r["number"]): r for r in await cur.fetchall()}
            for done, row in enumerate(rows, start=1):
                area = str(row.area_m2) if row.area_m2 is not None else None
                old = existing.get((row.building, row.unit))
                if old is None:
                    await conn.execute(
                        "INSERT INTO units(estate_id, building, number, area_m2, owner_name,"
                        " owner_phone, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (estate_id, row.building, row.unit, area, row.owner_name,
                         row.owner_phone, now),
                    )  # fmt: skip
                    created += 1
                elif (old["area_m2"], old["owner_name"], old["owner_phone"]) == (
                    area,
                    row.owner_name,
                    row.owner_phone,
                ):
                    unchanged += 1
                else:
                    await conn.execute(
                        "UPDATE units SET area_m2 = ?, owner_name = ?, owner_phone = ?,"
                        " updated_at = ? WHERE id = ?",
                        (area, row.owner_name, row.owner_phone, now, old["id"]),
                    )
                    updated += 1
                    if old["owner_phone"] != row.owner_phone:
                        unbound += await _unbind_old_owner(
                            conn, estate_id, old["id"], old["owner_phone"], actor, actor_id
                        )
                if progress and (done % 500 == 0 or done == len(rows)):
                    progress(done, len(rows))
            await audit.append(
                conn,
                event="roster.imported",
                subject=f"estate:{estate_id}",
                actor=actor,
                actor_id=actor_id,
                estate_id=estate_id,
                data={"rows": len(rows), "created": created, "updated": updated,
                      "unchanged": unchanged, "unbound": unbound},
            )  # fmt: skip
        return ImportSummary(created, updated, unchanged, unbound)


#: What people write between a building and a unit number, in either script: dropped when
#: matching, so 3栋 502, 3棟-502, 3-502, 3#502, 3号楼502 and 3幢502室 all compare equal.
_UNIT_NOISE = re.compile(r"[\s\-#/_.·]|号楼|號樓|[栋棟幢座楼樓号號室]")


def unit_key(text: str) -> str:
    """A unit address folded for matching (see :data:`_UNIT_NOISE`)."""
    return _UNIT_NOISE.sub("", fold(text))


def _department(row: sqlite3.Row) -> DepartmentChat:
    return DepartmentChat(
        row["id"], row["estate_id"], row["estate_name"], row["code"], row["chat_id"]
    )


async def _department_id(
    conn: aiosqlite.Connection, estate_id: int, code: str | None
) -> int | None:
    if code is None:
        return None
    row = await _one(
        conn, "SELECT id FROM departments WHERE estate_id = ? AND code = ?", [estate_id, code]
    )
    if row is None:
        raise LookupError(code)
    return int(row["id"])


async def _unbind_old_owner(
    conn: aiosqlite.Connection,
    estate_id: int,
    unit_id: int,
    old_phone: str,
    actor: str,
    actor_id: int | None,
) -> int:
    """The roster gave a unit a new owner: the old owner's roster link goes, and with the
    last unit of the estate their owner role too (each change audited)."""
    async with conn.execute(
        "SELECT b.person_id FROM unit_bindings b JOIN people p ON p.id = b.person_id"
        " WHERE b.unit_id = ? AND b.source = 'roster' AND p.phone = ?",
        (unit_id, old_phone),
    ) as cur:
        people = [int(r[0]) for r in await cur.fetchall()]
    for person_id in people:
        await conn.execute(
            "DELETE FROM unit_bindings WHERE person_id = ? AND unit_id = ?", (person_id, unit_id)
        )
        await audit.append(
            conn,
            event="owner.unbound",
            subject=f"person:{person_id}",
            actor=actor,
            actor_id=actor_id,
            estate_id=estate_id,
            data={"unit_id": unit_id, "reason": "roster owner changed"},
        )
        left = await _one(
            conn,
            "SELECT COUNT(*) FROM unit_bindings b JOIN units u ON u.id = b.unit_id"
            " WHERE b.person_id = ? AND u.estate_id = ?",
            [person_id, estate_id],
        )
        if left is not None and left[0] == 0:
            await _revoke(
                conn, person_id, estate_id, Role.OWNER, actor, actor_id,
                reason="no unit left in the estate",
            )  # fmt: skip
    return len(people)


async def _revoke(
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


async def _grant(
    conn: aiosqlite.Connection,
    person_id: int,
    estate_id: int,
    role: str,
    department: str | None,
    actor: str,
    actor_id: int | None,
    source: str,
) -> bool:
    department_id = await _department_id(conn, estate_id, department)
    cur = await conn.execute(
        "INSERT OR IGNORE INTO memberships(person_id, estate_id, role, department_id, granted_by,"
        " granted_at) VALUES (?, ?, ?, ?, ?, ?)",
        (person_id, estate_id, str(role), department_id, actor_id, iso(now_of(conn))),
    )
    if not cur.rowcount:
        return False
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
