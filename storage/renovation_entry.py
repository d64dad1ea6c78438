"""The entry inspection (R-12) and the works' start (R-13), suspension and resumption, the
works period's extensions and the signatures on rectification notices (R-15) in the
database: every SQL statement about them lives here.

Each step reads what it decides on inside its own transaction, lets
``procedures.renovation_entry`` decide (which may raise Refusal: nothing changes then) and
applies the decisions with :func:`storage.renovation.apply` (the move or event, the audit
event, the approval, the outbox rows), plus its own rows, all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date

import aiosqlite

from procedures.clocks import Timer
from procedures.renovation import (
    PATROL_DUTY,
    Renovation,
    RenovationDecision,
    Status,
    ViolationNotice,
    subject,
)
from procedures.renovation_entry import (
    Checked,
    Extension,
    ExtensionState,
    Inspection,
    Item,
    NoticeSignature,
    SignState,
)
from procedures.rule_ids import RuleId
from procedures.subjects import Subject
from storage import deadlines, evidence
from storage.db import Database, iso, now_of
from storage.renovation import All, One, Render, _on, apply, read
from storage.renovation_patrol import _notice, _start_duties, schedule_next

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


async def _duties(conn: aiosqlite.Connection, renovation_id: int) -> list[int]:
    async with conn.execute(
        "SELECT id FROM renovation_patrol_duties WHERE renovation_id = ?", (renovation_id,)
    ) as cur:
        return [int(r["id"]) for r in await cur.fetchall()]


class EntryStore:
    """Entry inspections, suspensions, extensions and notice signatures."""

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

    # --- suspension and resumption ----------------------------------------------------------

    async def suspend_or_resume(
        self,
        renovation_id: int,
        decide: Callable[[Renovation], RenovationDecision],
        first: Callable[[], Timer],
        *,
        by: int,
        render: Render | None = None,
        day: date | None = None,
        later: Callable[[], Timer] | None = None,
    ) -> Renovation | None:
        """Works stopped (the reason kept; the patrol duties' clocks stopped: no patrol is
        due while nothing is built) or resumed (the duties' clocks start again from now,
        ``first``; a department that patrolled on the duty ``day`` already, before the
        stop, starts with the next working day's, ``later``), in one transaction. None when
        it no longer applies."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            decision = decide(ren)
            after = await apply(
                conn, renovation_id, decision, by=by, actor=f"person:{by}", render=render
            )
            if after is None:
                return None
            now = iso(now_of(conn))
            if after.status == Status.SUSPENDED:
                await conn.execute(
                    "UPDATE renovations SET suspended_reason = ?, suspended_at = ? WHERE id = ?",
                    (decision.data.get("reason"), now, renovation_id),
                )
                for duty in await _duties(conn, renovation_id):
                    await deadlines.settle(
                        conn, Subject(PATROL_DUTY, duty), [RuleId.R14.value], met=False
                    )
            else:
                await conn.execute(
                    "UPDATE renovations SET suspended_reason = NULL, suspended_at = NULL"
                    " WHERE id = ?",
                    (renovation_id,),
                )
                await _start_duties(conn, renovation_id, first)
                if day is not None and later is not None:
                    async with conn.execute(
                        "SELECT d.id FROM renovation_patrol_duties d JOIN renovation_patrols p"
                        " ON p.renovation_id = d.renovation_id AND p.department = d.department"
                        " WHERE d.renovation_id = ? AND p.day = ?",
                        (renovation_id, day.isoformat()),
                    ) as cur:
                        done = [int(r["id"]) for r in await cur.fetchall()]
                    for duty in done:
                        await schedule_next(conn, duty, later())
            return after

    async def suspension(self, renovation_id: int) -> str | None:
        """Why a renovation's works are stopped (None when they are not)."""
        row = await self.db.fetchone(
            "SELECT suspended_reason FROM renovations WHERE id = ?", [renovation_id]
        )
        return row["suspended_reason"] if row is not None else None

    async def listed(self, estate_ids: Sequence[int]) -> list[tuple[int, str, str, str]]:
        """The active and suspended renovations of the estates: id, number, unit, status."""
        if not estate_ids:
            return []
        marks = ",".join("?" * len(estate_ids))
        rows = await self.db.fetchall(
            "SELECT r.id, r.number, u.building, u.number AS unit, r.status FROM renovations r"
            f" JOIN units u ON u.id = r.unit_id WHERE r.estate_id IN ({marks})"
            " AND r.status IN (?, ?) ORDER BY u.building, u.number",
            [*estate_ids, Status.ACTIVE.value, Status.SUSPENDED.value],
        )
        return [
            (int(r["id"]), r["number"],
             f"{r['building']} {r['unit']}" if r["building"] else r["unit"], r["status"])
            for r in rows
        ]  # fmt: skip

    # --- extensions -----------------------------------------------------------------------

    async def request_extension(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, bool], RenovationDecision],
        *,
        by: int,
        render: Render | None = None,
    ) -> Extension | None:
        """The owner's request kept, the customer-department head asked (its buttons name
        the request); ``decide`` learns whether another request still waits. None when the
        renovation is gone."""
        try:
            async with self.db.write() as conn:
                ren = await read(conn, renovation_id)
                if ren is None:
                    return None
                async with conn.execute(
                    "SELECT 1 FROM renovation_extensions WHERE renovation_id = ?"
                    " AND state = 'requested'",
                    (renovation_id,),
                ) as cur:
                    pending = await cur.fetchone() is not None
                decision = decide(ren, pending)
                cur = await conn.execute(
                    "INSERT INTO renovation_extensions(renovation_id, old_to, new_to, reason,"
                    " requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (renovation_id, decision.data["from"], decision.data["to"],
                     decision.data["reason"], by, iso(now_of(conn))),
                )  # fmt: skip
                ext_id = int(cur.lastrowid or 0)
                decision.data["extension"] = ext_id
                decision.tell = [replace(tell, button_arg=ext_id) for tell in decision.tell]
                if await apply(conn, renovation_id, decision, by=by, actor=f"person:{by}",
                               render=render) is None:  # fmt: skip
                    raise _Stale
                return await _extension(_on(conn)[0], ext_id)
        except _Stale:
            return None

    async def extension_pending(self, renovation_id: int) -> bool:
        """Whether a request to extend the renovation waits for its decision."""
        row = await self.db.fetchone(
            "SELECT 1 FROM renovation_extensions WHERE renovation_id = ? AND state = 'requested'",
            [renovation_id],
        )
        return row is not None

    async def extension(self, extension_id: int) -> Extension | None:
        """A request to extend."""
        return await _extension(self.db.fetchone, extension_id)

    async def decide_extension(
        self,
        extension_id: int,
        decide: Callable[[Renovation, Extension], RenovationDecision],
        *,
        by: int,
        render: Render | None = None,
    ) -> tuple[Extension, Renovation] | None:
        """The head's decision kept (signed); approved, the works period's end moves, and
        with it the valid-to of every pass not revoked that ran to the old end."""
        try:
            async with self.db.write() as conn:
                ext = await _extension(_on(conn)[0], extension_id)
                if ext is None:
                    return None
                ren = await read(conn, ext.renovation_id)
                if ren is None:
                    return None
                decision = decide(ren, ext)
                approved = decision.event == "renovation.extension_approved"
                now = iso(now_of(conn))
                await conn.execute(
                    "UPDATE renovation_extensions SET state = ?, decided_by = ?, decided_at = ?"
                    " WHERE id = ? AND state = 'requested'",
                    (ExtensionState.APPROVED.value if approved else ExtensionState.REFUSED.value,
                     by, now, extension_id),
                )  # fmt: skip
                if approved:
                    old, new = ext.old_to.isoformat(), ext.new_to.isoformat()
                    await conn.execute(
                        "UPDATE renovations SET period_to = ? WHERE id = ?", (new, ren.id)
                    )
                    cur = await conn.execute(
                        "UPDATE renovation_passes SET valid_to = ? WHERE renovation_id = ?"
                        " AND valid_to = ? AND revoked_at IS NULL",
                        (new, ren.id, old),
                    )
                    decision.data["passes"] = int(cur.rowcount)
                after = await apply(
                    conn, ren.id, decision, by=by, actor=f"person:{by}", render=render
                )
                if after is None:
                    raise _Stale
                changed = await _extension(_on(conn)[0], extension_id)
                assert changed is not None
                return changed, after
        except _Stale:
            return None

    # --- signatures on a rectification notice (R-15) --------------------------------------

    async def signatures(self, notice_id: int) -> dict[str, NoticeSignature]:
        """A notice's signatures and refusals, by party."""
        return await _signatures(self.db.fetchall, notice_id)

    async def notice_signature(
        self,
        notice_id: int | None,
        decide: Callable[
            [ViolationNotice, Renovation, dict[str, NoticeSignature]], RenovationDecision
        ],
        *,
        by: int,
        render: Render | None = None,
        signature_id: int | None = None,
    ) -> tuple[ViolationNotice, Renovation] | None:
        """A party signs, a refusal is recorded, or (``signature_id``) a witness confirms a
        refusal: ``decide`` against the notice and its signatures inside the transaction;
        the row kept with the audit event (and approval). None when gone."""
        try:
            async with self.db.write() as conn:
                if signature_id is not None:
                    async with conn.execute(
                        "SELECT notice_id FROM renovation_notice_signatures WHERE id = ?",
                        (signature_id,),
                    ) as cur:
                        found = await cur.fetchone()
                    notice_id = int(found["notice_id"]) if found is not None else None
                if notice_id is None:
                    return None
                async with conn.execute(
                    "SELECT * FROM renovation_notices WHERE id = ?", (notice_id,)
                ) as cur:
                    row = await cur.fetchone()
                if row is None:
                    return None
                notice = _notice(row)
                ren = await read(conn, notice.renovation_id)
                if ren is None:
                    return None
                decision = decide(notice, ren, await _signatures(_on(conn)[1], notice_id))
                now = iso(now_of(conn))
                party = str(decision.data.get("party"))
                if decision.event == "renovation.notice_signed":
                    await conn.execute(
                        "INSERT INTO renovation_notice_signatures(notice_id, party, state,"
                        " recorded_by, recorded_at) VALUES (?, ?, 'signed', ?, ?)",
                        (notice_id, party, by, now),
                    )
                elif decision.event == "renovation.notice_refusing":
                    cur = await conn.execute(
                        "INSERT INTO renovation_notice_signatures(notice_id, party, state,"
                        " recorded_by, recorded_at) VALUES (?, ?, 'refusing', ?, ?)",
                        (notice_id, party, by, now),
                    )
                    arg = int(cur.lastrowid or 0)
                    decision.data["signature"] = arg
                    decision.tell = [replace(tell, button_arg=arg) for tell in decision.tell]
                elif decision.event == "renovation.notice_refused":
                    await conn.execute(
                        "UPDATE renovation_notice_signatures SET state = 'refused',"
                        " witness_id = ?, witnessed_at = ?"
                        " WHERE notice_id = ? AND party = ? AND state = 'refusing'",
                        (by, now, notice_id, party),
                    )
                after = await apply(
                    conn, ren.id, decision, by=by, actor=f"person:{by}", render=render
                )
                if after is None:
                    raise _Stale
                return notice, after
        except _Stale:
            return None


async def _extension(one: One, extension_id: int) -> Extension | None:
    row = await one("SELECT * FROM renovation_extensions WHERE id = ?", [extension_id])
    if row is None:
        return None
    return Extension(
        int(row["id"]),
        int(row["renovation_id"]),
        date.fromisoformat(row["old_to"]),
        date.fromisoformat(row["new_to"]),
        row["reason"],
        ExtensionState(row["state"]),
    )


async def _signatures(every: All, notice_id: int) -> dict[str, NoticeSignature]:
    rows = await every(
        "SELECT * FROM renovation_notice_signatures WHERE notice_id = ?", [notice_id]
    )
    return {
        r["party"]: NoticeSignature(
            int(r["id"]), int(r["notice_id"]), r["party"], SignState(r["state"]),
            int(r["recorded_by"]), int(r["witness_id"]) if r["witness_id"] else None,
        )
        for r in rows
    }  # fmt: skip


class _Stale(Exception):
    """Raised inside a transaction to roll back a step that no longer applies."""
