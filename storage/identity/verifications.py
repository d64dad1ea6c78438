"""Owners' verification requests: an owner whose phone is not on the roster asks, staff
decide once (approving binds the unit and grants the owner role)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from procedures.identity import Role
from storage import audit
from storage.db import iso
from storage.identity.people import Person, grant
from storage.identity.shared import StoreBase, fetch_one
from storage.identity.units import Unit


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


class VerificationStore(StoreBase):
    """Verification requests."""

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
            row = await fetch_one(
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
                row = await fetch_one(
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
            row = await fetch_one(
                conn, "SELECT * FROM verifications WHERE id = ?", [verification_id]
            )
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
                await grant(
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
            decided = await fetch_one(
                conn, "SELECT * FROM verifications WHERE id = ?", [verification_id]
            )
        assert decided is not None
        return _verification(decided)
