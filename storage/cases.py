"""Cases in the database: filing and every later step, each one transaction with its audit
event, its deadlines and the notifications it causes (the outbox)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiosqlite

from procedures.cases import Action, InvalidTransition, Kind, case_number, next_status
from storage import audit, deadlines
from storage.db import Database, iso, now_of, parse_iso
from storage.outbox import enqueue


@dataclass(frozen=True)
class Case:
    """A case as stored."""

    id: int
    number: str
    estate_id: int
    kind: str
    category: str | None
    unit_id: int | None
    resident_id: int | None
    description: str
    urgent: bool
    status: str
    severity: str | None
    department: str | None
    assignee_id: int | None
    promised_at: datetime | None
    accepted_at: datetime
    channel: str
    caller_name: str | None
    caller_phone: str | None
    opinion: str | None = None
    opinion_by: int | None = None
    event_key: str | None = None
    unit_label: str | None = None

    def event_key_or_number(self) -> str:
        """The event this complaint is counted under (C-5): its own number when unlinked."""
        return self.event_key or self.number


def _case(row: sqlite3.Row) -> Case:
    return Case(
        row["id"],
        row["number"],
        row["estate_id"],
        row["kind"],
        row["category"],
        row["unit_id"],
        row["resident_id"],
        row["description"],
        bool(row["urgent"]),
        row["status"],
        row["severity"],
        row["department"],
        row["assignee_id"],
        parse_iso(row["promised_at"]) if row["promised_at"] else None,
        parse_iso(row["accepted_at"]),
        row["channel"],
        row["caller_name"],
        row["caller_phone"],
        row["opinion"],
        row["opinion_by"],
        row["event_key"],
        row["unit_label"],
    )


@dataclass(frozen=True)
class Notice:
    """A message to queue: to a chat, maybe with buttons, maybe to a person."""

    chat_id: int
    text: str
    markup: dict[str, Any] | None = None
    person_id: int | None = None
    photo: str | None = None


@dataclass(frozen=True)
class Timer:
    """A deadline to start: rule, due time, warning time; or, ``waiting``, one whose clock
    starts at the event named in ``data["waiting_for"]`` (``due_at`` is then only when it
    came into force)."""

    rule: str
    due_at: datetime
    warn_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    waiting: bool = False


@dataclass
class Effects:
    """What a step causes besides the case's own fields, decided after the case is known."""

    notices: list[Notice] = field(default_factory=list)
    start: list[Timer] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    photos: list[tuple[str, int | None]] = field(default_factory=list)  # (file_id, added_by)


#: Builds a step's effects from the case as it is after the step (numbers are known then).
Compose = Callable[[Case], Awaitable[Effects]]


#: The fields a step may change besides the status (and the times it sets itself).
_STEP_FIELDS = frozenset(
    {
        "department", "assignee_id", "severity", "promised_at", "resolved_at",
        "satisfaction", "called_back_at", "callback_channel", "invalid_reason",
        "opinion", "opinion_by", "approved_by", "replied_at",
    }
)  # fmt: skip


async def _no_effects(case: Case) -> Effects:
    """A step that causes nothing besides its own fields and audit event."""
    return Effects()


@dataclass(frozen=True)
class NewCase:
    """What filing needs."""

    estate_id: int
    kind: Kind
    category: str | None
    description: str
    unit_id: int | None = None
    resident_id: int | None = None
    urgent: bool = False
    channel: str = "chat"
    caller_name: str | None = None
    caller_phone: str | None = None
    department: str | None = None
    photos: Sequence[tuple[str, str | None]] = ()  # (Telegram file_id, SHA-256 or None)
    created_by: int | None = None
    unit_label: str | None = None


async def _one(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
    async with conn.execute(sql, params) as cur:
        row: sqlite3.Row | None = await cur.fetchone()
        return row


async def apply_effects(conn: aiosqlite.Connection, case: Case, effects: Effects) -> None:
    """Carry out a step's effects inside the caller's transaction: photos kept, clocks
    stopped and started, notices queued in the outbox."""
    for file_id, added_by in effects.photos:
        await conn.execute(
            "INSERT INTO case_photos(case_id, file_id, added_by, added_at) VALUES (?, ?, ?, ?)",
            (case.id, file_id, added_by, iso(now_of(conn))),
        )
    if effects.stop:
        await deadlines.settle(conn, case.id, effects.stop)
    for timer in effects.start:
        await deadlines.schedule(
            conn, case.id, timer.rule, timer.due_at, timer.warn_at, timer.data,
            waiting=timer.waiting,
        )  # fmt: skip
    for notice in effects.notices:
        await enqueue(
            conn,
            notice.chat_id,
            notice.text,
            markup=notice.markup,
            case_id=case.id,
            person_id=notice.person_id,
            photo=notice.photo,
        )


class CaseStore:
    """Filing and stepping cases; reads for lists and cards."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def file(
        self,
        new: NewCase,
        local_day: datetime,
        compose: Compose,
        *,
        actor: str,
        then: Sequence[tuple[Action, dict[str, Any]]] = (),
    ) -> Case:
        """Create a case with its number, photos, deadlines, audit event and notices.

        ``then`` are steps (action, changed fields) taken at once in the same transaction,
        each audited, without effects of their own: a visit recorded already closed (A-1)
        is filed, resolved and closed together, or not at all."""
        now = self.db.now()
        day = local_day.date()
        async with self.db.write() as conn:
            prefix = case_number(new.kind, day, 0).split("-")[0]
            # One sequence per kind and day for the whole deployment (counter row estate 0):
            # a number names one case everywhere, whichever estate it belongs to.
            await conn.execute(
                "INSERT INTO case_counters(estate_id, prefix, day, last) VALUES (0, ?, ?, 1)"
                " ON CONFLICT(estate_id, prefix, day) DO UPDATE SET last = last + 1",
                (prefix, day.isoformat()),
            )
            counter = await _one(
                conn,
                "SELECT last FROM case_counters WHERE estate_id = 0 AND prefix = ? AND day = ?",
                [prefix, day.isoformat()],
            )
            assert counter is not None
            number = case_number(new.kind, day, int(counter["last"]))
            cur = await conn.execute(
                "INSERT INTO cases(number, estate_id, kind, category, unit_id, resident_id,"
                " caller_name, caller_phone, channel, description, urgent, status, department,"
                " accepted_at, created_by, created_at, updated_at, unit_label)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?)",
                (
                    number, new.estate_id, new.kind.value, new.category, new.unit_id,
                    new.resident_id, new.caller_name, new.caller_phone, new.channel,
                    new.description, int(new.urgent), new.department, iso(now),
                    new.created_by, iso(now), iso(now), new.unit_label,
                ),
            )  # fmt: skip
            case_id = int(cur.lastrowid or 0)
            for file_id, sha in new.photos:
                await conn.execute(
                    "INSERT INTO case_photos(case_id, file_id, sha256, added_by, added_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (case_id, file_id, sha, new.created_by, iso(now)),
                )
            row = await _one(conn, "SELECT * FROM cases WHERE id = ?", [case_id])
            assert row is not None
            case = _case(row)
            await audit.append(
                conn,
                event="case.filed",
                subject=f"case:{case_id}",
                actor=actor,
                actor_id=new.created_by,
                estate_id=new.estate_id,
                data={
                    "number": number, "kind": new.kind.value, "category": new.category,
                    "channel": new.channel, "urgent": new.urgent, "photos": len(new.photos),
                    "description": new.description,
                },
            )  # fmt: skip
            await apply_effects(conn, case, await compose(case))
            for action, changes in then:
                stepped = await self._step(
                    conn, case.id, action, _no_effects, by=new.created_by, actor=actor,
                    changes=changes, expect_status=case.status,
                )  # fmt: skip
                if stepped is None:
                    raise InvalidTransition(f"cannot {action.value} a new case at once")
                case = stepped
            return case

    async def step(
        self,
        case_id: int,
        action: Action,
        compose: Compose,
        *,
        by: int | None,
        actor: str,
        changes: dict[str, Any] | None = None,
        expect_status: str | None = None,
        note: str | None = None,
        guard: Callable[[Case], bool] | None = None,
    ) -> Case | None:
        """Move a case by ``action`` (checked against the rules), with its effects, once.

        Returns None when the action no longer applies (someone else acted first, the button
        is stale); nothing changes then.
        """
        async with self.db.write() as conn:
            return await self._step(
                conn, case_id, action, compose, by=by, actor=actor, changes=changes or {},
                expect_status=expect_status, note=note, guard=guard,
            )  # fmt: skip

    async def _step(
        self,
        conn: aiosqlite.Connection,
        case_id: int,
        action: Action,
        compose: Compose,
        *,
        by: int | None,
        actor: str,
        changes: dict[str, Any],
        expect_status: str | None = None,
        note: str | None = None,
        guard: Callable[[Case], bool] | None = None,
    ) -> Case | None:
        """:meth:`step` inside the caller's transaction."""
        fields = dict(changes)
        if set(fields) - _STEP_FIELDS:
            raise ValueError(f"cannot change {sorted(set(fields) - _STEP_FIELDS)}")
        row = await _one(conn, "SELECT * FROM cases WHERE id = ?", [case_id])
        if row is None:
            return None
        before = _case(row)
        if expect_status is not None and before.status != expect_status:
            return None
        if guard is not None and not guard(before):  # checked inside the transaction
            return None
        try:
            status = next_status(before.status, action)
        except InvalidTransition:
            return None
        now = iso(self.db.now())
        fields["status"] = status.value
        if status.value == "done":
            fields.setdefault("resolved_at", now)
        if status.value == "closed":
            fields["closed_at"] = now
        encoded = {k: iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        sets = ", ".join(f"{k} = ?" for k in encoded)
        await conn.execute(
            f"UPDATE cases SET {sets}, updated_at = ? WHERE id = ?",
            [*encoded.values(), now, case_id],
        )
        row = await _one(conn, "SELECT * FROM cases WHERE id = ?", [case_id])
        assert row is not None
        after = _case(row)
        await audit.append(
            conn,
            event=f"case.{action.value}",
            subject=f"case:{case_id}",
            actor=actor,
            actor_id=by,
            estate_id=after.estate_id,
            data={"from": before.status, "to": after.status, "note": note}
            | {k: v for k, v in encoded.items() if k != "status"},
        )
        await apply_effects(conn, after, await compose(after))
        return after

    async def get(self, case_id: int) -> Case | None:
        """A case by id."""
        row = await self.db.fetchone("SELECT * FROM cases WHERE id = ?", (case_id,))
        return _case(row) if row else None

    async def by_number(self, number: str) -> Case | None:
        """A case by its number (``TS-20261127-0003``)."""
        row = await self.db.fetchone(
            "SELECT * FROM cases WHERE number = ?", (number.strip().upper(),)
        )
        return _case(row) if row else None

    async def of_resident(self, person_id: int, limit: int = 20) -> list[Case]:
        """A resident's cases, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM cases WHERE resident_id = ? ORDER BY id DESC LIMIT ?",
            (person_id, limit),
        )
        return [_case(r) for r in rows]

    async def photos(self, case_id: int) -> list[str]:
        """The Telegram file ids of a case's photos, in order."""
        rows = await self.db.fetchall(
            "SELECT file_id FROM case_photos WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [r["file_id"] for r in rows]
