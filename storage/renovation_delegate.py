"""R-4's delegations in the database (``renovation_delegations``): recorded and revoked by
a head, audited; read for the signing step inside its own transaction, so that a
delegation revoked a moment before a delegate's press is already seen as revoked.

Every SQL statement about delegations lives here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence, Set
from datetime import date

import aiosqlite

from procedures.renovation import Renovation, RenovationDecision, Signature, subject
from procedures.renovation_delegate import Delegation, delegation_of
from procedures.rule_ids import RuleId
from storage import audit
from storage.cases import Notice
from storage.db import Database, iso, now_of, parse_iso
from storage.outbox import enqueue
from storage.renovation import Render, apply, read, signatures_in

__all__ = ["DelegationStore"]

_SELECT = (
    "SELECT d.*, h.name AS head_name, p.name AS delegate_name FROM renovation_delegations d"
    " JOIN people h ON h.id = d.head_id JOIN people p ON p.id = d.delegate_id"
)


def _delegation(row: sqlite3.Row) -> Delegation:
    return Delegation(
        int(row["id"]),
        int(row["estate_id"]),
        row["role"],
        int(row["head_id"]),
        int(row["delegate_id"]),
        date.fromisoformat(row["valid_from"]),
        date.fromisoformat(row["valid_to"]),
        row["reason"],
        parse_iso(row["revoked_at"]) if row["revoked_at"] else None,
        row["head_name"],
        row["delegate_name"],
    )


async def _rows(conn: aiosqlite.Connection, sql: str, params: Sequence[object]) -> list[Delegation]:
    async with conn.execute(sql, params) as cur:
        return [_delegation(r) for r in await cur.fetchall()]


async def _queue(conn: aiosqlite.Connection, notices: Iterable[Notice]) -> None:
    for notice in notices:
        await enqueue(
            conn, notice.chat_id, notice.text, markup=notice.markup, person_id=notice.person_id
        )


class DelegationStore:
    """Recording, revoking and reading heads' delegations (R-4)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        estate_id: int,
        role: str,
        head_id: int,
        delegate_id: int,
        valid_from: date,
        valid_to: date,
        reason: str,
        notices: Sequence[Notice] = (),
    ) -> Delegation:
        """A new delegation, audited (``renovation.delegation_recorded``), and ``notices``
        queued with it (the delegate told). The head's earlier delegations for the role
        still current are revoked by it: one delegate per head and role at a time."""
        async with self.db.write() as conn:
            now = iso(now_of(conn))
            await conn.execute(
                "UPDATE renovation_delegations SET revoked_at = ?, revoked_by = ?"
                " WHERE estate_id = ? AND role = ? AND head_id = ? AND revoked_at IS NULL",
                (now, head_id, estate_id, role, head_id),
            )
            cur = await conn.execute(
                "INSERT INTO renovation_delegations(estate_id, role, head_id, delegate_id,"
                " valid_from, valid_to, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    estate_id, role, head_id, delegate_id, valid_from.isoformat(),
                    valid_to.isoformat(), reason, now,
                ),
            )  # fmt: skip
            new_id = int(cur.lastrowid or 0)
            await audit.append(
                conn,
                event="renovation.delegation_recorded",
                subject=f"renovation_delegation:{new_id}",
                actor=f"person:{head_id}",
                actor_id=head_id,
                estate_id=estate_id,
                data={
                    "role": role,
                    "head": head_id,
                    "delegate": delegate_id,
                    "from": valid_from.isoformat(),
                    "to": valid_to.isoformat(),
                    "reason": reason,
                },
            )
            [found] = await _rows(conn, _SELECT + " WHERE d.id = ?", [new_id])
            await _queue(conn, notices)
            return found

    async def revoke(
        self,
        delegation_id: int,
        *,
        by: int,
        notices: Callable[[Delegation], Sequence[Notice]] = lambda _d: (),
    ) -> Delegation | None:
        """Revoke a delegation (by its head), audited, with the ``notices`` it causes;
        None when it is not theirs or was revoked already."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE renovation_delegations SET revoked_at = ?, revoked_by = ?"
                " WHERE id = ? AND head_id = ? AND revoked_at IS NULL",
                (iso(now_of(conn)), by, delegation_id, by),
            )
            if not cur.rowcount:
                return None
            [found] = await _rows(conn, _SELECT + " WHERE d.id = ?", [delegation_id])
            await audit.append(
                conn,
                event="renovation.delegation_revoked",
                subject=f"renovation_delegation:{delegation_id}",
                actor=f"person:{by}",
                actor_id=by,
                estate_id=found.estate_id,
                data={"role": found.role, "delegate": found.delegate_id},
            )
            await _queue(conn, notices(found))
            return found

    async def get(self, delegation_id: int) -> Delegation | None:
        """One delegation."""
        rows = await self.db.fetchall(_SELECT + " WHERE d.id = ?", (delegation_id,))
        return _delegation(rows[0]) if rows else None

    async def of_head(self, head_id: int) -> list[Delegation]:
        """A head's delegations, newest first."""
        rows = await self.db.fetchall(
            _SELECT + " WHERE d.head_id = ? ORDER BY d.id DESC", (head_id,)
        )
        return [_delegation(r) for r in rows]

    async def to_person(self, person_id: int, estate_id: int) -> list[Delegation]:
        """Every delegation (any state) naming ``person_id`` as delegate in an estate."""
        rows = await self.db.fetchall(
            _SELECT + " WHERE d.delegate_id = ? AND d.estate_id = ? ORDER BY d.id",
            (person_id, estate_id),
        )
        return [_delegation(r) for r in rows]

    async def for_roles(self, estate_id: int, roles: Iterable[str]) -> list[Delegation]:
        """Every unrevoked delegation of these roles in an estate (the caller checks the
        day)."""
        wanted = sorted(set(roles))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = await self.db.fetchall(
            _SELECT + f" WHERE d.estate_id = ? AND d.role IN ({marks}) AND d.revoked_at IS NULL"
            " ORDER BY d.id",
            (estate_id, *wanted),
        )
        return [_delegation(r) for r in rows]

    async def sign(
        self,
        renovation_id: int,
        person_id: int,
        decide: Callable[
            [Renovation, list[Signature], Set[int], list[Delegation]], RenovationDecision
        ],
        *,
        render: Render | None = None,
    ) -> Renovation | None:
        """R-4 in one transaction: read the renovation, its signatures (and who signed
        them), the delegations naming ``person_id`` in its estate; decide (``decide`` may
        raise Refusal: nothing changes) and apply."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            async with conn.execute(
                "SELECT by_id FROM approvals WHERE subject_kind = ? AND subject_id = ?"
                " AND step = ?",
                (subject(renovation_id).kind, renovation_id, RuleId.R4.value),
            ) as cur:
                signed_by = {int(r["by_id"]) for r in await cur.fetchall()}
            mine = await _rows(
                conn,
                _SELECT + " WHERE d.delegate_id = ? AND d.estate_id = ? ORDER BY d.id",
                [person_id, ren.estate_id],
            )
            decision = decide(ren, await signatures_in(conn, renovation_id), signed_by, mine)
            return await apply(
                conn, renovation_id, decision, by=person_id, actor=f"person:{person_id}",
                render=render,
            )  # fmt: skip

    async def awaiting(self, estate_id: int, role: str) -> list[int]:
        """The estate's complete applications (R-4 under way) that ``role`` has not signed
        yet, oldest first: what a new delegate is sent to decide."""
        rows = await self.db.fetchall(
            "SELECT r.id FROM renovations r WHERE r.estate_id = ? AND r.status = 'complete'"
            " AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.subject_kind = 'renovation'"
            " AND a.subject_id = r.id AND a.step = ? AND a.role = ?) ORDER BY r.id",
            (estate_id, RuleId.R4.value, role),
        )
        return [int(r["id"]) for r in rows]

    async def signatures(self, renovation_id: int) -> list[tuple[str, bool, str, int | None]]:
        """R-4's signatures for a card, oldest first: role, approved, the signer's name,
        and the delegation signed under (None: the head's own)."""
        rows = await self.db.fetchall(
            "SELECT a.role, a.decision, a.version, p.name FROM approvals a"
            " JOIN people p ON p.id = a.by_id WHERE a.subject_kind = ? AND a.subject_id = ?"
            " AND a.step = ? ORDER BY a.id",
            (subject(renovation_id).kind, renovation_id, RuleId.R4.value),
        )
        return [
            (r["role"], r["decision"] == "approved", r["name"], delegation_of(r["version"]))
            for r in rows
        ]
