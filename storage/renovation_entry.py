"""The entry inspection (R-12) and the works' start (R-13) in the
database: every SQL statement about them lives here.

Each step reads what it decides on inside its own transaction, lets
``procedures.renovation_entry`` decide (which may raise Refusal: nothing changes then) and
applies the decisions with :func:`storage.renovation.apply` (the move or event, the audit
event, the approval, the outbox rows), plus its own rows, all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import aiosqlite

from procedures.clocks import Timer
from procedures.renovation import (
    Renovation,
    RenovationDecision,
    Status,
    subject,
)
from procedures.renovation_entry import (
    Checked,
    Inspection,
    Item,
)
from storage import evidence
from storage.db import Database, iso, now_of
from storage.renovation import All, One, Render, _on, apply, read
from storage.renovation_patrol import _start_duties

__all__ = ["EntryStore", "Photo"]

#: A photo as kept: the original's SHA-256, the display copy's, Telegram's file id.
Photo = tuple[str, str, str]


async def _inspection(reads: tuple[One, All], renovation_id: int) -> Inspection:
    one, every = reads
    rows = await every(
        "SELECT item, ok, note, photo_sha256 FROM renovation_entry_items WHERE renovation_id = ?",
        [renovation_id],
    )
    items = {
        Item(r["item"]): Checked(Item(r["item"]), bool(r["ok"]), r["note"], r["photo_sha256"])
        for r in rows
        if r["item"] in Item._value2member_map_
    }
    row = await one(
        "SELECT staff_by, party FROM renovation_entries WHERE renovation_id = ?", [renovation_id]
    )
    staff = row is not None and row["staff_by"] is not None
    return Inspection(items, staff, row["party"] if row is not None else None)


async def _link(conn: aiosqlite.Connection, ren: Renovation, photo: Photo | None, by: int) -> None:
    if photo is not None:
        await evidence.link(
            conn, subject(ren.id), photo[0], actor=f"person:{by}", display_sha256=photo[1],
            file_id=photo[2], added_by=by, estate_id=ren.estate_id,
        )  # fmt: skip


class EntryStore:
    """Entry inspections."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- the entry inspection (R-12, R-13) ---------------------------------------------

    async def inspection(self, renovation_id: int) -> Inspection:
        """A renovation's entry inspection as it is."""
        return await _inspection((self.db.fetchone, self.db.fetchall), renovation_id)

    async def items(self, renovation_id: int) -> list[dict[str, object]]:
        """The items recorded, with their display copies (for cards and tests)."""
        rows = await self.db.fetchall(
            "SELECT * FROM renovation_entry_items WHERE renovation_id = ? ORDER BY rowid",
            [renovation_id],
        )
        return [dict(r) for r in rows]

    async def entry(self, renovation_id: int) -> dict[str, object] | None:
        """The two confirmations as kept."""
        row = await self.db.fetchone(
            "SELECT * FROM renovation_entries WHERE renovation_id = ?", [renovation_id]
        )
        return dict(row) if row is not None else None

    async def inspect(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, Inspection], Sequence[RenovationDecision]],
        first: Callable[[], Timer],
        *,
        by: int,
        photo: Photo | None = None,
        render: Render | None = None,
    ) -> Renovation | None:
        """A step of the entry inspection in one transaction: items recorded (a damaged
        one's photo linked as evidence), a confirmation kept, and once both sides confirmed
        the two moves with the entry notice and the three departments' patrol duties
        (``first``: their first day's clocks). None when it no longer applies."""
        try:
            async with self.db.write() as conn:
                ren = await read(conn, renovation_id)
                if ren is None:
                    return None
                decisions = decide(ren, await _inspection(_on(conn), renovation_id))
                now = iso(now_of(conn))
                after: Renovation | None = None
                for decision in decisions:
                    for item in decision.data.get("items", []):
                        damaged = not item["ok"]
                        await conn.execute(
                            "INSERT OR REPLACE INTO renovation_entry_items(renovation_id, item, ok,"
                            " note, photo_sha256, photo_display, by_id, at)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (renovation_id, item["item"], int(item["ok"]), item.get("note"),
                             photo[0] if damaged and photo else None,
                             photo[1] if damaged and photo else None, by, now),
                        )  # fmt: skip
                    signed = decision.data.get("signed")
                    if signed is not None:
                        await conn.execute(
                            "INSERT OR IGNORE INTO renovation_entries(renovation_id) VALUES (?)",
                            (renovation_id,),
                        )
                        if signed == "staff":
                            await conn.execute(
                                "UPDATE renovation_entries SET staff_by = ?, staff_at = ?"
                                " WHERE renovation_id = ?",
                                (by, now, renovation_id),
                            )
                        else:
                            await conn.execute(
                                "UPDATE renovation_entries SET party = ?, party_by = ?,"
                                " party_at = ?, paper_sha256 = ?, paper_display = ?"
                                " WHERE renovation_id = ?",
                                (signed, by, now, photo[0] if photo and signed == "paper" else None,
                                 photo[1] if photo and signed == "paper" else None, renovation_id),
                            )  # fmt: skip
                    after = await apply(
                        conn, renovation_id, decision, by=by, actor=f"person:{by}", render=render
                    )
                    if after is None:
                        raise _Stale
                await _link(conn, ren, photo, by)
                if after is not None and after.status == Status.ACTIVE:
                    await _start_duties(conn, renovation_id, first)
                return after
        except _Stale:
            return None


class _Stale(Exception):
    """Raised inside a transaction to roll back a step that no longer applies."""
