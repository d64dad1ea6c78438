"""The completion inspection (R-20), the deposit's refund (R-21) and the workers' ID data
retention (issue 11, item 7) in the database: every SQL statement about them lives here.

A renovation's completion file is a row of ``renovation_completions`` (the slot, the round,
the inspection's date and the earliest refund date, the refund's claim, check and memo);
each department's inspection of a round is a row of ``renovation_inspections`` (its photo
linked as the renovation's evidence). Signatures (the owner's consent, the confirmations,
the project manager's approval) are approvals of step R-21 on the renovation; deductions
and the refund are lines of the deposit ledger (``storage.renovation._post``). Each step
is one transaction with its audit event and its notices (``storage.renovation.apply``).

The durable clocks after the works run on the subject ``(DEPOSIT, renovation id)`` in
``deadlines``: the refund's earliest date (fires once, also across a restart, and opens
the refund) and the ID retention (deletes the passes' ID numbers and photos).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import aiosqlite

from procedures.identity import Role
from procedures.renovation import (
    CONTRACTOR,
    PATROL_DUTY,
    Entry,
    Move,
    Renovation,
    RenovationDecision,
    Status,
    deduct,
    subject,
)
from procedures.renovation_completion import (
    CENTRE_HEAD,
    DEPOSIT,
    ID_RETENTION,
    REFUND_OPENS,
    Completion,
    Deductions,
    Inspection,
    ids_purge_at,
)
from procedures.rule_ids import RuleId
from procedures.subjects import Subject
from storage import audit, deadlines, evidence
from storage.db import Database, iso, now_of
from storage.renovation import Render, _all, _ledger, _one, _post, apply, read

__all__ = ["CompletionStore", "completion_in", "open_refund", "purge_ids"]


async def completion_in(conn: aiosqlite.Connection, renovation_id: int) -> Completion | None:
    """A renovation's completion file inside the caller's transaction (None: not asked)."""
    row = await _one(
        conn, "SELECT * FROM renovation_completions WHERE renovation_id = ?", [renovation_id]
    )
    if row is None:
        return None
    rows = await _all(
        conn,
        "SELECT department, passed, problems FROM renovation_inspections"
        " WHERE renovation_id = ? AND round = ? ORDER BY id",
        [renovation_id, row["round"]],
    )
    inspections = tuple(
        Inspection(r["department"], bool(r["passed"]), tuple(json.loads(r["problems"])))
        for r in rows
    )
    refundable = row["refundable_fen"]
    signed = await _all(
        conn,
        "SELECT role FROM approvals WHERE subject_kind = ? AND subject_id = ? AND step = ?"
        " AND decision = 'approved' AND version = ?",
        [subject(renovation_id).kind, renovation_id, RuleId.R21.value, f"refund:{refundable}"],
    )
    roles = {r["role"] for r in signed}
    return Completion(
        renovation_id,
        date.fromisoformat(row["slot"]),
        int(row["round"]),
        int(row["notified_round"]) == int(row["round"]),
        inspections,
        date.fromisoformat(row["inspected_on"]) if row["inspected_on"] else None,
        date.fromisoformat(row["refund_from"]) if row["refund_from"] else None,
        row["claimant"],
        row["consented_at"] is not None,
        row["checked_at"] is not None,
        int(refundable) if refundable is not None else None,
        frozenset(roles & {Role.OWNER.value, CONTRACTOR, CENTRE_HEAD}),
        Role.PROJECT_MANAGER.value in roles,
    )


async def open_refund(
    conn: aiosqlite.Connection,
    renovation_id: int,
    decide: Callable[[Renovation, Completion | None], RenovationDecision | None],
    render: Render | None,
) -> Renovation | None:
    """R-21: the refund's earliest date came (the timer's reaction, inside the transaction
    that marks it fired): what ``decide`` says (refund due, the owner told), or nothing."""
    ren = await read(conn, renovation_id)
    if ren is None:
        return None
    decision = decide(ren, await completion_in(conn, renovation_id))
    if decision is None:
        return None
    return await apply(conn, renovation_id, decision, by=None, actor="system", render=render)


async def purge_ids(
    conn: aiosqlite.Connection, renovation_id: int, store: evidence.EvidenceStore
) -> int:
    """Issue 11, item 7: the retention period after the refund ran out: each pass's ID
    number emptied and its photo deleted (the stored file and its display copies erased:
    tombstones the audit trail still verifies against, ``storage.evidence.erase``) unless
    something else still uses the same bytes; the pass's row, its code and its checks stay.
    Audited without them. Returns how many passes were purged."""
    photos = [
        str(r["photo_sha256"])
        for r in await _all(
            conn,
            "SELECT photo_sha256 FROM renovation_passes WHERE renovation_id = ?"
            " AND purged_at IS NULL AND photo_sha256 IS NOT NULL",
            [renovation_id],
        )
    ]
    now = iso(now_of(conn))
    cur = await conn.execute(
        "UPDATE renovation_passes SET id_number = '', photo_sha256 = NULL, photo_display = NULL,"
        " purged_at = ? WHERE renovation_id = ? AND purged_at IS NULL",
        (now, renovation_id),
    )
    count = int(cur.rowcount)
    unused = []
    for sha in photos:
        elsewhere = await _one(
            conn,
            "SELECT 1 FROM renovation_passes WHERE photo_sha256 = ?"
            " UNION ALL SELECT 1 FROM renovation_files WHERE sha256 = ?"
            " UNION ALL SELECT 1 FROM evidence_links WHERE sha256 = ?"
            " AND NOT (subject_kind = ? AND subject_id = ?) LIMIT 1",
            [sha, sha, sha, subject(renovation_id).kind, renovation_id],
        )
        if elsewhere is None:
            unused.append(sha)
    erased = await evidence.erase(conn, store, unused)
    ren = await read(conn, renovation_id)
    await audit.append(
        conn,
        event="renovation.ids_deleted",
        subject=str(subject(renovation_id)),
        actor="system",
        actor_id=None,
        estate_id=ren.estate_id if ren else None,
        data={"passes": count, "files_erased": erased},
    )
    return count


class CompletionStore:
    """The completion inspection and the refund, step by step; reads for cards and tests."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def completion(self, renovation_id: int) -> Completion | None:
        """A renovation's completion file (None: no inspection asked yet)."""
        async with self.db.write() as conn:
            return await completion_in(conn, renovation_id)

    async def request(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, Completion | None], RenovationDecision],
        slot: date,
        *,
        by: int,
        render: Render | None = None,
    ) -> Renovation | None:
        """R-20: the owner's application (or, after a failed inspection, the re-inspection:
        a new round) with its slot, in one transaction with ``decide``'s step (it may raise
        Refusal). None when it no longer applies (a double tap)."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            decision = decide(ren, await completion_in(conn, renovation_id))
            after = await apply(conn, renovation_id, decision, by=by, actor=f"person:{by}",
                                render=render)  # fmt: skip
            if after is None:
                return None
            now = iso(now_of(conn))
            if decision.move == Move.REINSPECT:
                await conn.execute(
                    "UPDATE renovation_completions SET round = round + 1, slot = ?,"
                    " requested_at = ? WHERE renovation_id = ?",
                    (slot.isoformat(), now, renovation_id),
                )
            else:
                # the works are over: R-14's daily patrol clocks stop (they no longer apply)
                for duty in await _all(
                    conn,
                    "SELECT id FROM renovation_patrol_duties WHERE renovation_id = ?",
                    [renovation_id],
                ):
                    await deadlines.settle(conn, Subject(PATROL_DUTY, int(duty["id"])), met=False)
                await conn.execute(
                    "INSERT INTO renovation_completions(renovation_id, slot, requested_by,"
                    " requested_at) VALUES (?, ?, ?, ?)",
                    (renovation_id, slot.isoformat(), by, now),
                )
            return after

    async def step(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, Completion], RenovationDecision],
        *,
        by: int,
        render: Render | None = None,
    ) -> tuple[Renovation, Completion] | None:
        """A step on the completion file (inspectors told, a claim, the owner's consent, a
        confirmation, the approval): ``decide`` (it may raise Refusal) against the file as
        it is inside the transaction; its audit event, approval and notices; the file's
        columns it sets. None when there is no file or it no longer applies."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            done = await completion_in(conn, renovation_id)
            if ren is None or done is None:
                return None
            decision = decide(ren, done)
            after = await apply(conn, renovation_id, decision, by=by, actor=f"person:{by}",
                                render=render)  # fmt: skip
            if after is None:
                return None
            now = iso(now_of(conn))
            if decision.event == "renovation.inspectors_told":
                await conn.execute(
                    "UPDATE renovation_completions SET notified_round = round"
                    " WHERE renovation_id = ?",
                    (renovation_id,),
                )
            elif decision.event == "renovation.refund_claimed":
                await conn.execute(
                    "UPDATE renovation_completions SET claimant = ? WHERE renovation_id = ?"
                    " AND claimant IS NULL",
                    (decision.data["claimant"], renovation_id),
                )
            elif decision.event == "renovation.refund_consented":
                await conn.execute(
                    "UPDATE renovation_completions SET consented_at = ? WHERE renovation_id = ?",
                    (now, renovation_id),
                )
            changed = await completion_in(conn, renovation_id)
            assert changed is not None
            return after, changed

    async def _inspect(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, Completion], Sequence[RenovationDecision]],
        opens_at: Callable[[date], datetime],
        *,
        by: int,
        photo: tuple[str, str, str | None] | None = None,
        render: Render | None = None,
    ) -> tuple[Renovation, Completion] | None:
        """R-20: a department's inspection of the round: ``decide``'s steps (it may raise
        Refusal), the inspection's row, its photo linked as evidence; when it passes the
        renovation, the inspection's date, the earliest refund date and its durable timer
        (at ``opens_at(date)``). None when the department inspected this round already,
        or it no longer applies."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            done = await completion_in(conn, renovation_id)
            if ren is None or done is None:
                return None
            decisions = decide(ren, done)
            first = decisions[0].data
            now = iso(now_of(conn))
            note = str(first.get("note") or "")
            cur = await conn.execute(
                "INSERT OR IGNORE INTO renovation_inspections(renovation_id, round, department,"
                " passed, problems, photo_sha256, photo_display, by_id, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (renovation_id, done.round, first["department"], int(bool(first["passed"])),
                 json.dumps(note.split(" / ") if note else [], ensure_ascii=False),
                 photo[0] if photo else None, photo[1] if photo else None, by, now),
            )  # fmt: skip
            if not cur.rowcount:
                return None
            if photo is not None:
                await evidence.link(
                    conn, subject(renovation_id), photo[0], actor=f"person:{by}",
                    display_sha256=photo[1], file_id=photo[2], added_by=by,
                    estate_id=ren.estate_id,
                )  # fmt: skip
            after: Renovation | None = None
            for decision in decisions:
                after = await apply(conn, renovation_id, decision, by=by, actor=f"person:{by}",
                                    render=render)  # fmt: skip
                if after is None:
                    raise _Stale
                if decision.move == Move.HOLD_DEPOSIT:
                    inspected_on = date.fromisoformat(str(decision.data["inspected_on"]))
                    refund_from = date.fromisoformat(str(decision.data["refund_from"]))
                    await conn.execute(
                        "UPDATE renovation_completions SET inspected_on = ?, refund_from = ?"
                        " WHERE renovation_id = ?",
                        (inspected_on.isoformat(), refund_from.isoformat(), renovation_id),
                    )
                    await deadlines.schedule(
                        conn, Subject(DEPOSIT, renovation_id), REFUND_OPENS,
                        opens_at(refund_from), None, {"refund_from": refund_from.isoformat()},
                    )  # fmt: skip
            assert after is not None
            changed = await completion_in(conn, renovation_id)
            assert changed is not None
            return after, changed

    async def check(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, Completion, Deductions], RenovationDecision],
        found: Callable[[list[Any]], Deductions],
        checklist: dict[str, bool],
        *,
        by: int,
        photos: Sequence[tuple[str, str, str | None]] = (),
        render: Render | None = None,
    ) -> tuple[Renovation, Completion, Deductions] | None:
        """R-21: customer service's check: the deductions (``found(ledger)``: utilities and
        damage, clamped at zero, the excess as arrears) posted to the ledger, the checklist
        and the refundable amount kept, the photos (original, display copy, Telegram's id)
        linked as the renovation's evidence, ``decide``'s step (it may raise Refusal:
        nothing is posted then), in one transaction. None when it no longer applies."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            done = await completion_in(conn, renovation_id)
            if ren is None or done is None:
                return None
            deducted = found(await _ledger(conn, renovation_id))
            decision = decide(ren, done, deducted)
            after = await apply(conn, renovation_id, decision, by=by, actor=f"person:{by}",
                                render=render)  # fmt: skip
            if after is None:
                return None
            for posting in deducted.postings:
                await _post(conn, after, posting, f"refund-check:{renovation_id}", by)
            for original, display, file_id in photos:
                await evidence.link(
                    conn, subject(renovation_id), original, actor=f"person:{by}",
                    display_sha256=display, file_id=file_id, added_by=by,
                    estate_id=after.estate_id,
                )  # fmt: skip
            await conn.execute(
                "UPDATE renovation_completions SET checklist = ?, checked_by = ?, checked_at = ?,"
                " refundable_fen = ? WHERE renovation_id = ? AND checked_at IS NULL",
                (json.dumps(checklist, sort_keys=True), by, iso(now_of(conn)),
                 deducted.refundable_fen, renovation_id),
            )  # fmt: skip
            changed = await completion_in(conn, renovation_id)
            assert changed is not None
            return after, changed, deducted

    async def _refund(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, Completion], Sequence[RenovationDecision]],
        voucher: str,
        retention_days: int,
        *,
        by: int,
        render: Render | None = None,
    ) -> Renovation | None:
        """R-21: the cashier's refund memo (押金退還備忘表): ``decide``'s steps (refunded,
        closed; it may raise Refusal), the ledger's refund entry of what the deposit holds
        (the balance is zero after it), the voucher kept, and the ID retention's timer
        (``retention_days`` on), in one transaction. None when it no longer applies."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            done = await completion_in(conn, renovation_id)
            if ren is None or done is None:
                return None
            decisions = decide(ren, done)
            after: Renovation | None = None
            for decision in decisions:
                after = await apply(conn, renovation_id, decision, by=by, actor=f"person:{by}",
                                    render=render)  # fmt: skip
                if after is None:
                    raise _Stale
            assert after is not None and after.status == Status.CLOSED
            held = await _ledger(conn, renovation_id)
            amount = done.refundable_fen or 0
            if amount:
                await _post(conn, after, deduct(held, Entry.REFUND, amount), voucher, by)
            moment = now_of(conn)
            await conn.execute(
                "UPDATE renovation_completions SET voucher = ?, refunded_at = ?"
                " WHERE renovation_id = ?",
                (voucher, iso(moment), renovation_id),
            )
            await deadlines.schedule(
                conn, Subject(DEPOSIT, renovation_id), ID_RETENTION,
                ids_purge_at(moment, retention_days),
            )  # fmt: skip
            return after

    async def inspect(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, Completion], Sequence[RenovationDecision]],
        opens_at: Callable[[date], datetime],
        *,
        by: int,
        photo: tuple[str, str, str | None] | None = None,
        render: Render | None = None,
    ) -> tuple[Renovation, Completion] | None:
        """See :meth:`_inspect` (a step that no longer applies rolls back whole: None)."""
        try:
            return await self._inspect(
                renovation_id, decide, opens_at, by=by, photo=photo, render=render
            )
        except _Stale:
            return None

    async def refund(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, Completion], Sequence[RenovationDecision]],
        voucher: str,
        retention_days: int,
        *,
        by: int,
        render: Render | None = None,
    ) -> Renovation | None:
        """See :meth:`_refund` (a step that no longer applies rolls back whole: None)."""
        try:
            return await self._refund(
                renovation_id, decide, voucher, retention_days, by=by, render=render
            )
        except _Stale:
            return None

    async def inspections(self, renovation_id: int) -> list[dict[str, Any]]:
        """Every inspection of a renovation, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM renovation_inspections WHERE renovation_id = ? ORDER BY id",
            (renovation_id,),
        )
        return [dict(r) | {"problems": json.loads(r["problems"])} for r in rows]

    async def memo(self, renovation_id: int) -> dict[str, Any] | None:
        """The completion row as kept (the checklist, the refundable amount, the voucher)."""
        row = await self.db.fetchone(
            "SELECT * FROM renovation_completions WHERE renovation_id = ?", (renovation_id,)
        )
        return dict(row) if row is not None else None

    async def clocks(self, renovation_id: int) -> list[deadlines.Deadline]:
        """The clocks after the works (the refund's date, the ID retention), oldest first."""
        return await deadlines.DeadlineStore(self.db).of_case(Subject(DEPOSIT, renovation_id))


class _Stale(Exception):
    """Raised inside a transaction to roll back a step that no longer applies."""
