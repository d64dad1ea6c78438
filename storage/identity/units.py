"""Units as the roster states them, finding them by what people type, and binding owners."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from procedures.identity import Role, fold
from storage import audit
from storage.db import iso
from storage.identity.people import Person, grant
from storage.identity.shared import StoreBase


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


#: What people write between a building and a unit number, in either script: dropped when
#: matching, so 3栋 502, 3棟-502, 3-502, 3#502, 3号楼502 and 3幢502室 all compare equal.
_UNIT_NOISE = re.compile(r"[\s\-#/_.·]|号楼|號樓|[栋棟幢座楼樓号號室]")


def unit_key(text: str) -> str:
    """A unit address folded for matching (see :data:`_UNIT_NOISE`)."""
    return _UNIT_NOISE.sub("", fold(text))


class UnitStore(StoreBase):
    """Units and their owners."""

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
                await grant(
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
