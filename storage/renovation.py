"""Renovations in the database: the draft made from the chat form, the documents' files,
and every later step as a :class:`procedures.renovation.RenovationDecision` applied in one
unit of work — the record and its documents, its audit event, its approval, its clocks and
the outbox rows it causes, all or nothing (the same discipline as ``storage.cases.apply``,
whose case columns a renovation does not have).

A renovation is the subject ``('renovation', id)``: its clocks live in ``deadlines``, its
signatures in ``approvals``, its files in ``evidence_links``, its notices in ``outbox``.
Every SQL statement about renovations lives here.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import aiosqlite

from procedures.decisions import Tell
from procedures.identity import invite_expiry, invite_hash, new_invite_code
from procedures.renovation import (
    ALL_DOCS,
    CODE_ALPHABET,
    CODE_LENGTH,
    CONDITIONAL,
    PREFIX,
    REQUIRED,
    Doc,
    DocState,
    Document,
    Entry,
    FeeLine,
    Form,
    InvalidMove,
    LedgerEntry,
    Move,
    Posting,
    Refusal,
    Renovation,
    RenovationDecision,
    Signature,
    Status,
    WorkerPass,
    collect,
    deduct,
    mask_id,
    next_status,
    number,
    subject,
)
from procedures.rule_ids import RuleId
from storage import approvals, audit, deadlines, evidence, inbox
from storage.cases import Notice, next_in_day
from storage.db import Database, iso, now_of, parse_iso
from storage.deadlines import Deadline, DeadlineStore
from storage.outbox import enqueue, store_blob

__all__ = ["DocFile", "NewPass", "NewRenovation", "Render", "RenovationStore", "apply"]


class Render(Protocol):
    """Renders a decision's tells for the renovation as it is after the step, inside the
    step's transaction (``handlers.renovation.Notifier``)."""

    async def __call__(self, ren: Renovation, tells: Sequence[Tell]) -> list[Notice]: ...


@dataclass(frozen=True)
class NewRenovation:
    """What a draft needs: the unit, its owner, the form, the chat draft it came from."""

    estate_id: int
    unit_id: int
    unit_label: str
    owner_id: int
    form: Form
    draft_key: str | None = None


@dataclass(frozen=True)
class NewPass:
    """A worker registered for a pass (R-11): name, ID number, phone, photo, validity."""

    name: str
    id_number: str
    phone: str
    photo: str | None
    photo_display: str | None
    valid_from: date
    valid_to: date


@dataclass(frozen=True)
class DocFile:
    """A file sent for a document: its original's hash, its display copy's, Telegram's id."""

    doc: Doc
    round: int
    sha256: str
    display_sha256: str | None
    file_id: str | None


#: When a move happened, by the move (the rest of the record's times are the decision's).
_STAMPS: dict[Move, str] = {
    Move.SUBMIT: "submitted_at",
    Move.APPROVE: "decided_at",
    Move.REJECT: "decided_at",
    Move.ACCEPT_TERMS: "terms_at",
    Move.SIGN_AGREEMENT: "agreement_at",
    Move.PAY_FEES: "fees_at",
    Move.PERMIT: "permitted_at",
    Move.START_WORKS: "works_at",
}
#: The fields a decision may change besides the status and the documents.
_FIELDS = frozenset({"complete_at"})


async def _one(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
    async with conn.execute(sql, params) as cur:
        row: sqlite3.Row | None = await cur.fetchone()
        return row


async def _all(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


_SELECT = (
    "SELECT r.*, u.building, u.number AS unit_number, u.area_m2 FROM renovations r"
    " JOIN units u ON u.id = r.unit_id"
)


#: A read of one row, or of all rows: inside a transaction or on the database.
One = Callable[[str, Sequence[Any]], Awaitable[sqlite3.Row | None]]
All = Callable[[str, Sequence[Any]], Awaitable[list[sqlite3.Row]]]


def _on(conn: aiosqlite.Connection) -> tuple[One, All]:
    """Reads inside the caller's transaction."""

    async def one(sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
        return await _one(conn, sql, params)

    async def every(sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        return await _all(conn, sql, params)

    return one, every


async def _read(reads: tuple[One, All], where: str, params: Sequence[Any]) -> Renovation | None:
    one, every = reads
    row = await one(f"{_SELECT} WHERE {where}", params)
    if row is None:
        return None
    docs = await every(
        "SELECT d.doc, d.state, d.reason, (SELECT COUNT(*) FROM renovation_files f"
        " WHERE f.renovation_id = d.renovation_id AND f.doc = d.doc AND f.round = d.round)"
        " AS files FROM renovation_documents d WHERE d.renovation_id = ?",
        [row["id"]],
    )
    documents = {
        Doc(d["doc"]): Document(Doc(d["doc"]), DocState(d["state"]), int(d["files"]), d["reason"])
        for d in docs
        if d["doc"] in Doc._value2member_map_
    }
    label = f"{row['building']} {row['unit_number']}" if row["building"] else row["unit_number"]
    form = Form(
        date.fromisoformat(row["period_from"]),
        date.fromisoformat(row["period_to"]),
        row["contractor"],
        row["head_name"],
        row["head_phone"],
        tuple(json.loads(row["scope"])),
    )
    return Renovation(
        int(row["id"]),
        row["number"],
        int(row["estate_id"]),
        int(row["unit_id"]),
        label,
        int(row["owner_id"]),
        Status(row["status"]),
        form,
        documents,
        parse_iso(row["complete_at"]) if row["complete_at"] else None,
        int(row["contractor_id"]) if row["contractor_id"] is not None else None,
        _area(row["area_m2"]),
        tuple(str(r["number"]) for r in await every(  # requests during the works
            "SELECT number FROM cases WHERE renovation_id = ? ORDER BY id", [row["id"]]
        )),
        frozenset(str(r["filing"]) for r in await every(  # receipts attached
            "SELECT DISTINCT filing FROM renovation_filings WHERE renovation_id = ?", [row["id"]]
        )),
    )  # fmt: skip


def _area(text: str | None) -> Decimal | None:
    """The roster's area, or None when it has none (or none that reads as a number)."""
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


async def read(conn: aiosqlite.Connection, renovation_id: int) -> Renovation | None:
    """A renovation inside the caller's transaction."""
    return await _read(_on(conn), "r.id = ?", [renovation_id])


async def _next_number(conn: aiosqlite.Connection, day: date) -> str:
    """The next renovation number of the (local) day, one sequence for the deployment."""
    return number(day, await next_in_day(conn, PREFIX, day))


async def apply(
    conn: aiosqlite.Connection,
    renovation_id: int,
    decision: RenovationDecision,
    *,
    by: int | None,
    actor: str,
    render: Render | None = None,
) -> Renovation | None:
    """Apply a decision to a renovation inside the caller's transaction: the move (checked
    against the state machine) or the event, its fields and documents, the audit event,
    the approval, the clocks and the outbox rows, all or nothing.

    None when it no longer applies (a stale button, a double tap, someone else first):
    nothing changes then."""
    if set(decision.changes) - _FIELDS:
        raise ValueError(f"cannot change {sorted(set(decision.changes) - _FIELDS)}")
    before = await read(conn, renovation_id)
    if before is None:
        return None
    if decision.expect_status is not None and before.status != decision.expect_status:
        return None
    now = iso(now_of(conn))
    fields: dict[str, Any] = {
        k: iso(v) if isinstance(v, datetime) else v for k, v in decision.changes.items()
    }
    if decision.move is not None:
        try:
            fields["status"] = next_status(before.status, decision.move).value
        except InvalidMove:
            return None
        if decision.move in _STAMPS:
            fields[_STAMPS[decision.move]] = now
    sets = "".join(f"{k} = ?, " for k in fields)
    await conn.execute(
        f"UPDATE renovations SET {sets}updated_at = ? WHERE id = ?",
        [*fields.values(), now, renovation_id],
    )
    for doc, needed in decision.needs.items():  # a conditional document
        if doc not in CONDITIONAL:
            raise ValueError(f"{doc.value} is needed by every application")
        if needed:
            await conn.execute(
                "INSERT OR IGNORE INTO renovation_documents(renovation_id, doc) VALUES (?, ?)",
                (renovation_id, doc.value),
            )
        else:  # only while nothing was sent for it
            await conn.execute(
                "DELETE FROM renovation_documents WHERE renovation_id = ? AND doc = ?"
                " AND state = 'missing' AND NOT EXISTS (SELECT 1 FROM renovation_files f"
                " WHERE f.renovation_id = ? AND f.doc = ?)",
                (renovation_id, doc.value, renovation_id, doc.value),
            )
    for doc, (state, reason) in decision.documents.items():
        was = before.documents.get(doc)
        again = was is not None and was.state == DocState.INVALID and state == DocState.PENDING
        checked = state in (DocState.VALID, DocState.INVALID)
        await conn.execute(
            "UPDATE renovation_documents SET state = ?, reason = ?, round = round + ?,"
            " checked_by = ?, checked_at = ? WHERE renovation_id = ? AND doc = ?",
            (
                state.value,
                reason,
                int(again),
                by if checked else None,
                now if checked else None,
                renovation_id,
                doc.value,
            ),
        )
    after = await read(conn, renovation_id)
    assert after is not None
    if decision.move is not None:
        data: dict[str, Any] = {"from": before.status.value, "to": after.status.value}
        data |= {k: v for k, v in fields.items() if k != "status"} | decision.data
        event = f"renovation.{decision.move.value}"
    else:
        data, event = dict(decision.data), decision.event or ""
    if decision.note:
        data["note"] = decision.note
    if event:
        await audit.append(
            conn,
            event=event,
            subject=str(subject(renovation_id)),
            actor=actor,
            actor_id=by,
            estate_id=after.estate_id,
            data=data,
        )
    if decision.approval is not None:
        if by is None:
            raise ValueError("an approval is signed by a person")
        await approvals.record(conn, subject(renovation_id), decision.approval, by)
    for also in decision.also:
        if by is None:
            raise ValueError("an approval is signed by a person")
        await approvals.record(conn, subject(renovation_id), also, by)
    await _clocks(conn, renovation_id, decision)
    await inbox.settle(conn)  # the update that took this step is handled, with the step
    if render is not None and decision.tell:
        for notice in await render(after, decision.tell):
            await enqueue(
                conn,
                notice.chat_id,
                notice.text,
                markup=notice.markup,
                subject=subject(renovation_id),
                person_id=notice.person_id,
                album=list(notice.album) or None,
            )
    return after


async def _clocks(
    conn: aiosqlite.Connection, renovation_id: int, decision: RenovationDecision
) -> None:
    """A decision's clocks: stopped met, stopped unmet, started."""
    target = subject(renovation_id)
    if decision.stop:
        await deadlines.settle(conn, target, list(decision.stop))
    if decision.missed:
        await deadlines.settle(conn, target, list(decision.missed), met=False)
    for timer in decision.start:
        await deadlines.schedule(conn, target, timer.rule, timer.due_at, timer.warn_at, timer.data)


def _pass(row: sqlite3.Row) -> WorkerPass:
    return WorkerPass(
        int(row["id"]),
        int(row["renovation_id"]),
        row["code"],
        row["name"],
        mask_id(row["id_number"]),
        row["phone"],
        date.fromisoformat(row["valid_from"]),
        date.fromisoformat(row["valid_to"]),
        row["revoked_at"] is not None,
        row["photo_display"],
    )


def _entry(row: sqlite3.Row) -> LedgerEntry:
    return LedgerEntry(
        Entry(row["kind"]),
        int(row["amount_fen"]),
        Entry(row["for_kind"]) if row["for_kind"] else None,
    )


async def _ledger(conn: aiosqlite.Connection, renovation_id: int) -> list[LedgerEntry]:
    rows = await _all(
        conn,
        "SELECT kind, amount_fen, for_kind FROM renovation_deposit WHERE renovation_id = ?"
        " ORDER BY id",
        [renovation_id],
    )
    return [_entry(r) for r in rows]


async def _post(
    conn: aiosqlite.Connection,
    ren: Renovation,
    posting: Posting,
    reference: str | None,
    by: int | None,
) -> None:
    """Append a posting's lines to the deposit ledger, audited (amounts in fen)."""
    now = iso(now_of(conn))
    for entry in posting.entries:
        await conn.execute(
            "INSERT INTO renovation_deposit(renovation_id, kind, amount_fen, for_kind,"
            " reference, by_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ren.id, entry.kind.value, entry.amount_fen,
             entry.for_kind.value if entry.for_kind else None, reference, by, now),
        )  # fmt: skip
    kind = posting.entries[0].for_kind or posting.entries[0].kind
    await audit.append(
        conn,
        event=f"renovation.deposit_{kind.value}",
        subject=str(subject(ren.id)),
        actor=f"person:{by}" if by else "system",
        actor_id=by,
        estate_id=ren.estate_id,
        data={
            "asked_fen": posting.asked_fen,
            "applied_fen": posting.applied_fen,
            "arrears_fen": posting.excess_fen,
            "reference": reference,
        },
    )


async def signatures_in(conn: aiosqlite.Connection, renovation_id: int) -> list[Signature]:
    """R-4: the heads' signatures so far, inside the caller's transaction, oldest first."""
    rows = await _all(
        conn,
        "SELECT role, decision FROM approvals WHERE subject_kind = ? AND subject_id = ?"
        " AND step = ? ORDER BY id",
        [subject(renovation_id).kind, renovation_id, RuleId.R4.value],
    )
    return [Signature(r["role"], r["decision"] == "approved") for r in rows]


class RenovationStore:
    """Drafting, filing documents and stepping renovations; reads for cards and lists."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def draft(
        self, new: NewRenovation, local_day: datetime, *, by: int, actor: str
    ) -> Renovation:
        """R-2: the form and the commitment letter, confirmed from the owner's own account,
        become a draft with its number and its documents to send, audited; Refusal
        ``already_open`` when the unit has an open renovation (one per unit). A draft made
        from the same chat draft again is that one."""
        async with self.db.write() as conn:
            if new.draft_key is not None:
                made = await _read(_on(conn), "r.draft_key = ?", [new.draft_key])
                if made is not None:
                    return made
            now = iso(now_of(conn))
            code = await _next_number(conn, local_day.date())
            form = new.form
            try:
                cur = await conn.execute(
                    "INSERT INTO renovations(number, estate_id, unit_id, owner_id, status,"
                    " period_from, period_to, contractor, head_name, head_phone, scope,"
                    " committed_at, draft_key, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        code,
                        new.estate_id,
                        new.unit_id,
                        new.owner_id,
                        form.period_from.isoformat(),
                        form.period_to.isoformat(),
                        form.contractor,
                        form.head_name,
                        form.head_phone,
                        json.dumps(list(form.scope)),
                        now,
                        new.draft_key,
                        now,
                        now,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                if "renovations.unit_id" in str(exc) or "renovations_one_open" in str(exc):
                    raise Refusal("already_open") from exc
                raise
            renovation_id = int(cur.lastrowid or 0)
            await conn.executemany(
                "INSERT INTO renovation_documents(renovation_id, doc) VALUES (?, ?)",
                [(renovation_id, d.value) for d in REQUIRED],
            )
            await audit.append(
                conn,
                event="renovation.drafted",
                subject=str(subject(renovation_id)),
                actor=actor,
                actor_id=by,
                estate_id=new.estate_id,
                data={
                    "number": code,
                    "unit": new.unit_label,
                    "period": [form.period_from.isoformat(), form.period_to.isoformat()],
                    "contractor": {"name": form.contractor},
                    "head": {"name": form.head_name, "phone": form.head_phone},
                    "scope": list(form.scope),
                    "commitment": "confirmed by the owner's own account",
                },
            )
            await inbox.settle(conn)
            made = await read(conn, renovation_id)
            assert made is not None
            return made

    async def add_file(
        self,
        renovation_id: int,
        doc: Doc,
        sent: DocFile,
        decide: Callable[[Renovation], RenovationDecision],
        *,
        by: int,
        actor: str,
        render: Render | None = None,
    ) -> Renovation | None:
        """A file for ``doc``: kept with its document's current round (a document refused
        and sent again starts a new one), attached to the renovation as evidence (its audit
        event names the hash), and what ``decide`` says (it may raise Refusal: nothing is
        kept then), in one transaction. None when the renovation is gone."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            decision = decide(ren)
            row = await _one(
                conn,
                "SELECT state, round FROM renovation_documents WHERE renovation_id = ? AND doc = ?",
                [renovation_id, doc.value],
            )
            assert row is not None
            round_ = int(row["round"]) + (1 if row["state"] == DocState.INVALID.value else 0)
            await conn.execute(
                "INSERT INTO renovation_files(renovation_id, doc, round, sha256, display_sha256,"
                " file_id, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    renovation_id,
                    doc.value,
                    round_,
                    sent.sha256,
                    sent.display_sha256,
                    sent.file_id,
                    by,
                    iso(now_of(conn)),
                ),
            )
            await evidence.link(
                conn,
                subject(renovation_id),
                sent.sha256,
                actor=actor,
                display_sha256=sent.display_sha256,
                file_id=sent.file_id,
                added_by=by,
                estate_id=ren.estate_id,
            )
            return await apply(conn, renovation_id, decision, by=by, actor=actor, render=render)

    async def apply(
        self,
        renovation_id: int,
        decision: RenovationDecision,
        *,
        by: int | None,
        actor: str,
        render: Render | None = None,
    ) -> Renovation | None:
        """:func:`apply` in a transaction of its own (one unit of work per step)."""
        async with self.db.write() as conn:
            return await apply(conn, renovation_id, decision, by=by, actor=actor, render=render)

    async def step(
        self,
        renovation_id: int,
        decide: Callable[[Renovation, list[Signature]], RenovationDecision],
        *,
        by: int | None,
        actor: str,
        render: Render | None = None,
    ) -> Renovation | None:
        """Read the renovation and its signatures, decide and apply, all in one transaction
        (so two heads pressing at once are decided one after the other, each seeing the
        other's signature). ``decide`` may raise Refusal: nothing changes then."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            decision = decide(ren, await signatures_in(conn, renovation_id))
            return await apply(conn, renovation_id, decision, by=by, actor=actor, render=render)

    async def delegate(
        self,
        renovation_id: int,
        decide: Callable[[Renovation], RenovationDecision],
        *,
        by: int,
        ttl_hours: int,
        render: Render | None = None,
    ) -> str | None:
        """R-8: the owner's one-time link for the contractor's head: what ``decide`` says
        (it may raise Refusal), and a fresh code (returned once, kept hashed), in one
        transaction. A new link makes the older unused ones of the renovation void. None
        when the renovation is gone or moved on meanwhile."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            decision = decide(ren)
            moment = now_of(conn)
            await conn.execute(
                "UPDATE renovation_invites SET expires_at = ? WHERE renovation_id = ?"
                " AND used_at IS NULL AND expires_at > ?",
                (iso(moment), renovation_id, iso(moment)),
            )
            code = new_invite_code()
            await conn.execute(
                "INSERT INTO renovation_invites(renovation_id, code_hash, created_by,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (
                    renovation_id,
                    invite_hash(code),
                    by,
                    iso(moment),
                    iso(invite_expiry(moment, ttl_hours)),
                ),
            )
            after = await apply(
                conn, renovation_id, decision, by=by, actor=f"person:{by}", render=render
            )
            return code if after is not None else None

    async def join(
        self,
        code: str,
        person_id: int,
        decide: Callable[[Renovation], RenovationDecision],
        *,
        render: Render | None = None,
    ) -> Renovation | str:
        """R-8: the contractor's head redeems the owner's link: the renovation (now with
        them as its contractor), or why not (``unknown``, ``used``, ``expired``; a Refusal
        of ``decide`` propagates and nothing changes)."""
        async with self.db.write() as conn:
            row = await _one(
                conn,
                "SELECT * FROM renovation_invites WHERE code_hash = ?",
                [invite_hash(code)],
            )
            if row is None:
                return "unknown"
            moment = now_of(conn)
            if row["used_at"] is not None:
                return "used"
            if parse_iso(row["expires_at"]) <= moment:
                return "expired"
            renovation_id = int(row["renovation_id"])
            ren = await read(conn, renovation_id)
            if ren is None:
                return "unknown"
            decision = decide(ren)
            await conn.execute(
                "UPDATE renovation_invites SET used_by = ?, used_at = ? WHERE id = ?",
                (person_id, iso(moment), row["id"]),
            )
            await conn.execute(
                "UPDATE renovations SET contractor_id = ? WHERE id = ?", (person_id, renovation_id)
            )
            after = await apply(
                conn, renovation_id, decision, by=person_id, actor=f"person:{person_id}",
                render=render,
            )  # fmt: skip
            return after if after is not None else "unknown"

    async def pay_fees(
        self,
        renovation_id: int,
        decide: Callable[[Renovation], RenovationDecision],
        lines: Sequence[FeeLine],
        receipt: str,
        *,
        by: int,
        render: Render | None = None,
    ) -> Renovation | None:
        """R-10: the cashier's collection in one transaction: what ``decide`` says (it may
        raise Refusal), the fee lines against the receipt, and the deposit into the
        ledger. None when the renovation is gone or moved on meanwhile (nothing kept)."""
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
            await conn.executemany(
                "INSERT INTO renovation_fees(renovation_id, item, amount_fen, basis, receipt,"
                " by_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (renovation_id, line.item.value, line.amount_fen,
                     json.dumps(dict(line.basis), sort_keys=True), receipt, by, now)
                    for line in lines
                ],
            )  # fmt: skip
            deposit = sum(line.amount_fen for line in lines if line.item.value == "deposit")
            if deposit:
                await _post(conn, after, collect(deposit), receipt, by)
            return after

    async def post(
        self,
        renovation_id: int,
        kind: Entry,
        amount_fen: int,
        *,
        reference: str | None,
        by: int | None,
    ) -> Posting | None:
        """R-16, R-21: a deduction from the deposit (a penalty approved, utilities owed,
        damage, the refund), decided against the ledger as it is inside the transaction
        (:func:`procedures.renovation.deduct`: Refusal for a bad one): the deposit covers
        what it holds, the excess is recorded as arrears. None when the renovation is
        gone."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            posting = deduct(await _ledger(conn, renovation_id), kind, amount_fen)
            await _post(conn, ren, posting, reference, by)
            return posting

    async def ledger(self, renovation_id: int) -> list[LedgerEntry]:
        """The deposit ledger's lines, oldest first."""
        rows = await self.db.fetchall(
            "SELECT kind, amount_fen, for_kind FROM renovation_deposit"
            " WHERE renovation_id = ? ORDER BY id",
            (renovation_id,),
        )
        return [_entry(r) for r in rows]

    async def fees(self, renovation_id: int) -> list[dict[str, Any]]:
        """R-10: the lines the cashier charged, with the receipt, in order."""
        rows = await self.db.fetchall(
            "SELECT item, amount_fen, basis, receipt, by_id, at FROM renovation_fees"
            " WHERE renovation_id = ? ORDER BY id",
            (renovation_id,),
        )
        return [dict(r) | {"basis": json.loads(r["basis"])} for r in rows]

    async def permit(
        self,
        renovation_id: int,
        decide: Callable[[Renovation], RenovationDecision],
        image: Callable[[Renovation], tuple[bytes, str]],
        *,
        by: int,
        render: Render | None = None,
    ) -> Renovation | None:
        """R-11: the works permit in one transaction: what ``decide`` says (it may raise
        Refusal), and the permit's image (``image(ren)``: PNG bytes and the caption) kept
        and sent to the owner, and to the contractor's head when one joined. None when the
        renovation is gone or moved on meanwhile."""
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
            data, caption = image(after)
            blob = await store_blob(conn, f"{after.number}-permit.png", data)
            readers = [after.owner_id] + ([after.contractor_id] if after.contractor_id else [])
            for person_id in readers:
                row = await _one(conn, "SELECT tg_user_id FROM people WHERE id = ?", [person_id])
                if row is not None:
                    await enqueue(
                        conn, int(row["tg_user_id"]), caption, subject=subject(renovation_id),
                        person_id=person_id, blob=blob, blob_as="photo",
                    )  # fmt: skip
            await audit.append(
                conn,
                event="renovation.permit_image",
                subject=str(subject(renovation_id)),
                actor=f"person:{by}",
                actor_id=by,
                estate_id=after.estate_id,
                data={"sha256": blob},
            )
            return after

    async def add_pass(
        self,
        renovation_id: int,
        worker: NewPass,
        *,
        by: int,
    ) -> WorkerPass | None:
        """R-11: a worker's pass (裝修工人出入證辦理表), with a fresh short code. The ID
        number is kept in the pass's row only: the audit event names the pass, its code,
        the worker's name (personal, erasable) and the photo's hash, never the number.
        None when the renovation is gone."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            now = iso(now_of(conn))
            for _ in range(20):
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                taken = await _one(conn, "SELECT 1 FROM renovation_passes WHERE code = ?", [code])
                if taken is None:
                    break
            else:  # pragma: no cover - 31^6 codes
                raise RuntimeError("no free pass code")
            cur = await conn.execute(
                "INSERT INTO renovation_passes(renovation_id, code, name, id_number, phone,"
                " photo_sha256, photo_display, valid_from, valid_to, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    renovation_id, code, worker.name, worker.id_number, worker.phone,
                    worker.photo, worker.photo_display, worker.valid_from.isoformat(),
                    worker.valid_to.isoformat(), by, now,
                ),
            )  # fmt: skip
            pass_id = int(cur.lastrowid or 0)
            if worker.photo:
                await evidence.link(
                    conn, subject(renovation_id), worker.photo, actor=f"person:{by}",
                    display_sha256=worker.photo_display, file_id=None, added_by=by,
                    estate_id=ren.estate_id,
                )  # fmt: skip
            await audit.append(
                conn,
                event="renovation.pass_issued",
                subject=str(subject(renovation_id)),
                actor=f"person:{by}",
                actor_id=by,
                estate_id=ren.estate_id,
                data={
                    "pass": pass_id,
                    "code": code,
                    "worker": {"name": worker.name},
                    "photo": worker.photo,
                    "valid": [worker.valid_from.isoformat(), worker.valid_to.isoformat()],
                },
            )
            row = await _one(conn, "SELECT * FROM renovation_passes WHERE id = ?", [pass_id])
            assert row is not None
            return _pass(row)

    async def find_pass(self, code: str) -> tuple[WorkerPass, Renovation] | None:
        """A pass by its code, with its renovation."""
        row = await self.db.fetchone("SELECT * FROM renovation_passes WHERE code = ?", (code,))
        if row is None:
            return None
        ren = await self.get(int(row["renovation_id"]))
        return (_pass(row), ren) if ren is not None else None

    async def get_pass(self, pass_id: int) -> WorkerPass | None:
        """A pass by id."""
        row = await self.db.fetchone("SELECT * FROM renovation_passes WHERE id = ?", (pass_id,))
        return _pass(row) if row is not None else None

    async def passes(self, renovation_id: int) -> list[WorkerPass]:
        """A renovation's passes, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM renovation_passes WHERE renovation_id = ? ORDER BY id",
            (renovation_id,),
        )
        return [_pass(r) for r in rows]

    async def revoke(self, pass_id: int, *, by: int) -> WorkerPass | None:
        """R-11: a pass revoked (once; its check refuses from now on), audited. None when
        there is no such pass or it was revoked already."""
        async with self.db.write() as conn:
            now = iso(now_of(conn))
            cur = await conn.execute(
                "UPDATE renovation_passes SET revoked_by = ?, revoked_at = ?"
                " WHERE id = ? AND revoked_at IS NULL",
                (by, now, pass_id),
            )
            if cur.rowcount != 1:
                return None
            row = await _one(conn, "SELECT * FROM renovation_passes WHERE id = ?", [pass_id])
            assert row is not None
            ren = await read(conn, int(row["renovation_id"]))
            await audit.append(
                conn,
                event="renovation.pass_revoked",
                subject=str(subject(int(row["renovation_id"]))),
                actor=f"person:{by}",
                actor_id=by,
                estate_id=ren.estate_id if ren else None,
                data={"pass": pass_id, "code": row["code"]},
            )
            return _pass(row)

    async def record_check(
        self,
        code: str,
        found: tuple[WorkerPass, Renovation] | None,
        refused: str | None,
        *,
        by: int,
        estate_id: int | None,
    ) -> None:
        """S-1: every check at the gate kept and audited (the pass by reference: no ID
        number, no name), an unknown code too."""
        async with self.db.write() as conn:
            worker, ren = found if found is not None else (None, None)
            await conn.execute(
                "INSERT INTO renovation_pass_checks(pass_id, code, admitted, reason, by_id, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    worker.id if worker else None, code, int(refused is None),
                    refused or "admitted", by, iso(now_of(conn)),
                ),
            )  # fmt: skip
            await audit.append(
                conn,
                event="renovation.pass_checked",
                subject=str(subject(ren.id)) if ren else "renovation_pass:unknown",
                actor=f"person:{by}",
                actor_id=by,
                estate_id=ren.estate_id if ren else estate_id,
                data={
                    "pass": worker.id if worker else None,
                    "code": code,
                    "admitted": refused is None,
                    "reason": refused or "admitted",
                },
            )

    async def checks(self, code: str) -> list[dict[str, Any]]:
        """The checks of a code, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM renovation_pass_checks WHERE code = ? ORDER BY id", (code,)
        )
        return [dict(r) for r in rows]

    async def get(self, renovation_id: int) -> Renovation | None:
        """A renovation by id."""
        reads = (self.db.fetchone, self.db.fetchall)
        return await _read(reads, "r.id = ?", [renovation_id])

    async def open_for_unit(self, unit_id: int) -> Renovation | None:
        """The unit's open renovation (one at most), if any."""
        row = await self.db.fetchone(
            "SELECT id FROM renovations WHERE unit_id = ? AND status NOT IN ('rejected', 'closed')",
            (unit_id,),
        )
        return await self.get(int(row["id"])) if row is not None else None

    async def of_owner(self, owner_id: int, limit: int = 10) -> list[Renovation]:
        """An owner's renovations, newest first."""
        rows = await self.db.fetchall(
            "SELECT id FROM renovations WHERE owner_id = ? ORDER BY id DESC LIMIT ?",
            (owner_id, limit),
        )
        found = [await self.get(int(r["id"])) for r in rows]
        return [r for r in found if r is not None]

    async def files(self, renovation_id: int, doc: Doc | None = None) -> list[DocFile]:
        """The files of each document's current round (of one document, or all in the
        checklist's order), oldest first."""
        rows = await self.db.fetchall(
            "SELECT f.* FROM renovation_files f JOIN renovation_documents d"
            " ON d.renovation_id = f.renovation_id AND d.doc = f.doc AND d.round = f.round"
            " WHERE f.renovation_id = ? ORDER BY f.id",
            (renovation_id,),
        )
        found = [
            DocFile(Doc(r["doc"]), int(r["round"]), r["sha256"], r["display_sha256"], r["file_id"])
            for r in rows
            if r["doc"] in Doc._value2member_map_
        ]
        order = {d: i for i, d in enumerate(ALL_DOCS)}
        found.sort(key=lambda f: order[f.doc])
        return [f for f in found if doc is None or f.doc == doc]

    async def signatures(self, renovation_id: int) -> list[approvals.Signed]:
        """R-4 and R-7: who signed the renovation, in which role, oldest first."""
        return await approvals.of_subject(self.db, subject(renovation_id))

    async def clocks(self, renovation_id: int) -> list[Deadline]:
        """Every timer of a renovation, oldest first."""
        return await DeadlineStore(self.db).of_case(subject(renovation_id))

    async def trail(self, renovation_id: int) -> list[dict[str, Any]]:
        """The renovation's audit events, oldest first."""
        return await audit.trail(self.db, str(subject(renovation_id)))
