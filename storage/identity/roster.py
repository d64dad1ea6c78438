"""Importing the developer's roster (主清冊): units created or updated in one transaction,
and an old owner's roster-made bindings dropped when a unit changes hands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiosqlite

from procedures.identity import Role
from procedures.roster import RosterRow
from storage import audit
from storage.db import iso
from storage.identity.people import revoke
from storage.identity.shared import StoreBase, fetch_one


@dataclass(frozen=True)
class ImportSummary:
    """What a roster import changed."""

    created: int
    updated: int
    unchanged: int
    unbound: int


class RosterStore(StoreBase):
    """Roster import."""

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
        The new and changed units are written with one ``executemany`` each, so the write
        lock is held for SQLite's own time (a 50,000-row roster), not for a round trip to
        the database thread per row, which made everyone else's steps wait.
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
            inserts: list[tuple[object, ...]] = []
            updates: list[tuple[object, ...]] = []
            sold: list[tuple[int, str]] = []  # (unit, the old owner's phone)
            for done, row in enumerate(rows, start=1):
                area = str(row.area_m2) if row.area_m2 is not None else None
                old = existing.get((row.building, row.unit))
                if old is None:
                    inserts.append(
                        (estate_id, row.building, row.unit, area, row.owner_name,
                         row.owner_phone, now)
                    )  # fmt: skip
                elif (old["area_m2"], old["owner_name"], old["owner_phone"]) == (
                    area,
                    row.owner_name,
                    row.owner_phone,
                ):
                    unchanged += 1
                else:
                    updates.append((area, row.owner_name, row.owner_phone, now, old["id"]))
                    if old["owner_phone"] != row.owner_phone:
                        sold.append((int(old["id"]), str(old["owner_phone"])))
                if progress and (done % 500 == 0 or done == len(rows)):
                    progress(done, len(rows))
            await conn.executemany(
                "INSERT INTO units(estate_id, building, number, area_m2, owner_name,"
                " owner_phone, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )
            await conn.executemany(
                "UPDATE units SET area_m2 = ?, owner_name = ?, owner_phone = ?,"
                " updated_at = ? WHERE id = ?",
                updates,
            )
            created, updated = len(inserts), len(updates)
            for unit_id, old_phone in sold:
                unbound += await _unbind_old_owner(
                    conn, estate_id, unit_id, old_phone, actor, actor_id
                )
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
        left = await fetch_one(
            conn,
            "SELECT COUNT(*) FROM unit_bindings b JOIN units u ON u.id = b.unit_id"
            " WHERE b.person_id = ? AND u.estate_id = ?",
            [person_id, estate_id],
        )
        if left is not None and left[0] == 0:
            await revoke(
                conn, person_id, estate_id, Role.OWNER, actor, actor_id,
                reason="no unit left in the estate",
            )  # fmt: skip
    return len(people)
