"""One-time staff invites: made by an admin (the code is shown once and stored hashed),
redeemed once for their role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from procedures.identity import Role, invite_expiry, invite_hash, new_invite_code
from storage import audit
from storage.db import iso, parse_iso
from storage.identity.people import Person, grant
from storage.identity.shared import StoreBase, department_id_of, fetch_one


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


class InviteStore(StoreBase):
    """Invites."""

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
            department_id = await department_id_of(conn, estate_id, department)
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
            row = await fetch_one(
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
            await grant(
                conn, person.id, row["estate_id"], row["role"], row["department"],
                f"person:{person.id}", person.id, f"invite:{row['id']}",
            )  # fmt: skip
            return Redeemed(
                InviteOutcome.GRANTED, row["estate_name"], row["role"], row["department"]
            )
