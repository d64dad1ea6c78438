"""The daily patrols of renovations in the database (R-14, R-18, R-15's
minor violations): every SQL statement about them lives here.

Each active renovation has one patrol *duty* per department (customer service, engineering,
security: ``renovation_patrol_duties``); R-14's clock runs on the duty's subject
``('renovation_patrol', id)``, one working day at a time: a patrol meets the day's clock and
starts the next day's; a clock that runs out (the sweeper's reaction) starts the next day's
too. A patrol is a row of ``renovation_patrols`` (one per department per working day) and
an audit event of the renovation naming the photo's hash; the photo is evidence linked to
the renovation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import aiosqlite

from procedures.clocks import Timer
from procedures.renovation import (
    PATROL_DEPARTMENTS,
    PATROL_DUTY,
    Entry,
    NoticeState,
    PenaltyState,
    Renovation,
    RenovationDecision,
    Status,
    ViolationNotice,
    deduct,
    subject,
)
from procedures.rule_ids import RuleId
from procedures.subjects import Subject
from storage import audit, deadlines, evidence
from storage.db import Database, iso, now_of
from storage.renovation import Render, _ledger, _post, apply, read

__all__ = [
    "Patrol",
    "PatrolProblem",
    "PatrolStore",
    "Unpatrolled",
    "duty_of",
    "schedule_next",
    "verify_patrols",
]

#: A notice's step (its audit event) → the notice's columns it sets (besides the time).
_NOTICE_STEPS: dict[str, tuple[str, ...]] = {
    "renovation.notice_owner_told": ("state", "owner_told_how", "owner_told_by", "owner_told_at"),
    "renovation.notice_contractor_told": ("state", "contractor_told_by", "contractor_told_at"),
    "renovation.notice_closed": ("state", "closed_by", "closed_at"),
    "renovation.penalty_approved": ("penalty", "penalty_by"),
    "renovation.penalty_refused": ("penalty", "penalty_by"),
}


@dataclass(frozen=True)
class Unpatrolled:
    """An active renovation a department has not patrolled on the day, as ``/patrol`` lists
    it."""

    id: int
    number: str
    building: str
    unit: str

    @property
    def label(self) -> str:
        """The unit as people say it: ``1栋 101``."""
        return f"{self.building} {self.unit}" if self.building else self.unit


@dataclass(frozen=True)
class Patrol:
    """A patrol as kept."""

    department: str
    day: date
    result: str
    note: str | None
    photo_display: str | None
    by_id: int


def _key(building: str, unit: str) -> tuple[object, ...]:
    """Building then unit, numbers in number order (``2栋`` before ``10栋``)."""

    def natural(text: str) -> tuple[object, ...]:
        digits = "".join(c for c in text if c.isdigit())
        return (int(digits) if digits else 0, text)

    return (*natural(building), *natural(unit))


async def _start_duties(
    conn: aiosqlite.Connection, renovation_id: int, first: Callable[[], Timer]
) -> None:
    """R-14: one duty per department, each with the first day's clock."""
    for department in PATROL_DEPARTMENTS:
        await conn.execute(
            "INSERT OR IGNORE INTO renovation_patrol_duties(renovation_id, department)"
            " VALUES (?, ?)",
            (renovation_id, department),
        )
        duty = await _duty_id(conn, renovation_id, department)
        timer = first()
        await deadlines.schedule(
            conn, Subject(PATROL_DUTY, duty), RuleId.R14.value, timer.due_at, timer.warn_at
        )


async def _duty_id(conn: aiosqlite.Connection, renovation_id: int, department: str) -> int:
    async with conn.execute(
        "SELECT id FROM renovation_patrol_duties WHERE renovation_id = ? AND department = ?",
        (renovation_id, department),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def duty_of(conn: aiosqlite.Connection, duty_id: int) -> tuple[int, str] | None:
    """A duty's renovation and department, inside the caller's transaction."""
    async with conn.execute(
        "SELECT renovation_id, department FROM renovation_patrol_duties WHERE id = ?", (duty_id,)
    ) as cur:
        row = await cur.fetchone()
    return (int(row["renovation_id"]), str(row["department"])) if row else None


async def schedule_next(conn: aiosqlite.Connection, duty_id: int, timer: Timer) -> None:
    """R-14: the next working day's clock of a duty (after its day's was met or missed)."""
    await deadlines.schedule(
        conn, Subject(PATROL_DUTY, duty_id), RuleId.R14.value, timer.due_at, timer.warn_at
    )


class PatrolStore:
    """Patrols recorded, the day's list of renovations still to patrol (the works begin in
    storage.renovation_entry, which starts the duties: :func:`_start_duties`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def patrol(
        self,
        renovation_id: int,
        decide: Callable[[Renovation], RenovationDecision],
        next_timer: Callable[[], Timer],
        *,
        by: int,
        photo: tuple[str, str, str] | None = None,
        render: Render | None = None,
    ) -> Renovation | None:
        """A patrol recorded: ``decide`` (it may raise Refusal) says what; its row, the
        photo (original hash, display copy's hash, Telegram's id) linked as the
        renovation's evidence, its audit event; the day's clock of the department met and
        the next working day's started (``next_timer``), in one transaction. None when the
        department already patrolled that day, or the renovation is gone or no longer on."""
        try:
            return await self._patrol(
                renovation_id, decide, next_timer, by=by, photo=photo, render=render
            )
        except _Stale:
            return None

    async def _patrol(
        self,
        renovation_id: int,
        decide: Callable[[Renovation], RenovationDecision],
        next_timer: Callable[[], Timer],
        *,
        by: int,
        photo: tuple[str, str, str] | None,
        render: Render | None,
    ) -> Renovation | None:
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            decision = decide(ren)
            department = str(decision.data["department"])
            day = str(decision.data["day"])
            cur = await conn.execute(
                "INSERT OR IGNORE INTO renovation_patrols(renovation_id, department, day,"
                " result, note, photo_sha256, photo_display, by_id, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (renovation_id, department, day, decision.data["result"],
                 decision.data.get("note"), photo[0] if photo else None,
                 photo[1] if photo else None, by, iso(now_of(conn))),
            )  # fmt: skip
            if not cur.rowcount:
                raise _Stale  # the department's patrol of the day is in already
            if decision.event == "renovation.notice_issued":
                notice = await conn.execute(
                    "INSERT INTO renovation_notices(renovation_id, department, note, due,"
                    " photo_sha256, photo_display, penalty_fen, penalty, created_by, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (renovation_id, department, decision.data["note"], decision.data["due"],
                     photo[0] if photo else None, photo[1] if photo else None,
                     decision.data["penalty_fen"],
                     PenaltyState.PROPOSED.value if decision.data["penalty_fen"] else None,
                     by, iso(now_of(conn))),
                )  # fmt: skip
                number = int(notice.lastrowid or 0)
                decision.data["notice"] = number
                # the violation's photo goes with the notice, to whoever is told of it
                shown = (photo[1],) if photo else ()
                decision.tell = [
                    replace(tell, button_arg=number, album=shown) for tell in decision.tell
                ]
            if photo is not None:
                await evidence.link(
                    conn,
                    subject(renovation_id),
                    photo[0],
                    actor=f"person:{by}",
                    display_sha256=photo[1],
                    file_id=photo[2],
                    added_by=by,
                    estate_id=ren.estate_id,
                )
            after = await apply(
                conn, renovation_id, decision, by=by, actor=f"person:{by}", render=render
            )
            if after is None:
                raise _Stale
            if day >= ren.form.period_from.isoformat():
                # R-14's clock of the day met, the next started; a serious violation found
                # before the works period (works begun early) is on record, but no patrol
                # was due: the clock of the period's first day stays
                duty = await _duty_id(conn, renovation_id, department)
                await deadlines.settle(conn, Subject(PATROL_DUTY, duty), [RuleId.R14.value])
                await schedule_next(conn, duty, next_timer())
            return after

    async def unpatrolled(
        self, estate_ids: Sequence[int], department: str, day: date
    ) -> list[Unpatrolled]:
        """R-14: the active renovations of the estates whose works period has begun by
        ``day`` and that ``department`` has not patrolled on it, by building and unit."""
        if not estate_ids:
            return []
        marks = ",".join("?" * len(estate_ids))
        rows = await self.db.fetchall(
            "SELECT r.id, r.number, u.building, u.number AS unit FROM renovations r"
            " JOIN units u ON u.id = r.unit_id"
            f" WHERE r.estate_id IN ({marks}) AND r.status = ? AND r.period_from <= ?"
            " AND NOT EXISTS (SELECT 1 FROM renovation_patrols p WHERE p.renovation_id = r.id"
            " AND p.department = ? AND p.day = ?)",
            [*estate_ids, Status.ACTIVE.value, day.isoformat(), department, day.isoformat()],
        )
        found = [Unpatrolled(int(r["id"]), r["number"], r["building"], r["unit"]) for r in rows]
        return sorted(found, key=lambda u: _key(u.building, u.unit))

    async def patrols(self, renovation_id: int) -> list[Patrol]:
        """A renovation's patrols, oldest first."""
        rows = await self.db.fetchall(
            "SELECT department, day, result, note, photo_display, by_id FROM renovation_patrols"
            " WHERE renovation_id = ? ORDER BY id",
            [renovation_id],
        )
        return [
            Patrol(
                r["department"],
                date.fromisoformat(r["day"]),
                r["result"],
                r["note"],
                r["photo_display"],
                int(r["by_id"]),
            )
            for r in rows
        ]

    async def duty_clocks(self, renovation_id: int) -> dict[str, list[deadlines.Deadline]]:
        """Each department's R-14 clocks of a renovation (for cards and tests)."""
        rows = await self.db.fetchall(
            "SELECT id, department FROM renovation_patrol_duties WHERE renovation_id = ?",
            [renovation_id],
        )
        store = deadlines.DeadlineStore(self.db)
        return {
            r["department"]: await store.of_case(Subject(PATROL_DUTY, int(r["id"]))) for r in rows
        }

    async def notice(self, notice_id: int) -> ViolationNotice | None:
        """A rectification notice."""
        row = await self.db.fetchone("SELECT * FROM renovation_notices WHERE id = ?", [notice_id])
        return _notice(row) if row is not None else None

    async def notices(self, renovation_id: int) -> list[ViolationNotice]:
        """A renovation's rectification notices, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM renovation_notices WHERE renovation_id = ? ORDER BY id",
            [renovation_id],
        )
        return [_notice(r) for r in rows]

    async def notice_step(
        self,
        notice_id: int,
        decide: Callable[[ViolationNotice, Renovation], RenovationDecision],
        *,
        by: int,
        render: Render | None = None,
    ) -> tuple[ViolationNotice, Renovation] | None:
        """A step on a notice (R-15, R-16): ``decide`` (it may raise Refusal) against the
        notice as it is inside the transaction; the renovation's audit event, approval and
        notices; the notice's columns; an approved penalty entered in the deposit ledger
        (the balance never negative: the excess recorded as arrears). None when gone."""
        async with self.db.write() as conn:
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
            decision = decide(notice, ren)
            event = decision.event or ""
            after = await apply(conn, ren.id, decision, by=by, actor=f"person:{by}", render=render)
            if after is None:
                return None
            values = {
                "state": {
                    "renovation.notice_owner_told": NoticeState.OWNER_TOLD.value,
                    "renovation.notice_contractor_told": NoticeState.CONTRACTOR_TOLD.value,
                    "renovation.notice_closed": NoticeState.CLOSED.value,
                }.get(event),
                "owner_told_how": decision.data.get("how"),
                "penalty": PenaltyState.APPROVED.value
                if event == "renovation.penalty_approved"
                else PenaltyState.REFUSED.value,
            }
            now = iso(now_of(conn))
            columns = _NOTICE_STEPS.get(event, ())
            sets = {
                c: now if c.endswith("_at") else by if c.endswith("_by") else values[c]
                for c in columns
            }
            if sets:
                await conn.execute(
                    f"UPDATE renovation_notices SET {', '.join(f'{c} = ?' for c in sets)}"
                    " WHERE id = ?",
                    [*sets.values(), notice_id],
                )
            if event == "renovation.penalty_approved" and notice.penalty_fen:
                posting = deduct(await _ledger(conn, ren.id), Entry.PENALTY, notice.penalty_fen)
                await _post(conn, ren, posting, f"notice:{notice_id}", by)
            async with conn.execute(
                "SELECT * FROM renovation_notices WHERE id = ?", (notice_id,)
            ) as cur:
                changed = await cur.fetchone()
            assert changed is not None
            return _notice(changed), after


def _notice(row: aiosqlite.Row) -> ViolationNotice:
    return ViolationNotice(
        int(row["id"]),
        int(row["renovation_id"]),
        NoticeState(row["state"]),
        row["note"],
        date.fromisoformat(row["due"]),
        int(row["penalty_fen"]),
        PenaltyState(row["penalty"]) if row["penalty"] else None,
    )


class _Stale(Exception):
    """Raised inside a transaction to roll back a step that no longer applies."""


#: The audit events that record a department's patrol of the day (R-14, R-18): all in
#: order or a minor violation, or a serious one (its rectification notice is the patrol).
PATROL_EVENTS = ("renovation.patrolled", "renovation.notice_issued")


@dataclass(frozen=True)
class PatrolProblem:
    """A patrol record that does not match the audit event that recorded it (``check-audit``
    names it): edited (``field``: result, note, photo or patroller), recorded with no
    event (``unrecorded``), or an event whose record is gone (``missing``)."""

    renovation: str  # its number
    department: str
    day: str
    problem: str


async def verify_patrols(db: Database) -> list[PatrolProblem]:
    """Every patrol record (``renovation_patrols``) against the hash-chained audit event that
    recorded it, and every such event against its record: a record edited in the database
    after the fact (an "all in order" made of a violation, a note or photo swapped, the
    patroller changed) or deleted is found, as ``audit.verify`` finds an edited event. A
    value erased from the trail for privacy is not compared."""
    rows = await db.fetchall(
        "SELECT p.renovation_id, r.number, p.department, p.day, p.result, p.note,"
        " p.photo_sha256, p.by_id FROM renovation_patrols p"
        " JOIN renovations r ON r.id = p.renovation_id ORDER BY r.id, p.day, p.department"
    )
    numbers = {
        int(r["id"]): str(r["number"])
        for r in await db.fetchall("SELECT id, number FROM renovations")
    }
    marks = ",".join("?" * len(PATROL_EVENTS))
    subjects = await db.fetchall(
        f"SELECT DISTINCT subject FROM audit WHERE event IN ({marks})",
        PATROL_EVENTS,
    )
    recorded: dict[tuple[int, str, str], dict[str, Any]] = {}
    for found in subjects:
        renovation_id = int(str(found["subject"]).rsplit(":", 1)[1])
        for event in await audit.trail(db, str(found["subject"])):
            if event["event"] in PATROL_EVENTS:
                data = event["data"]
                key = (renovation_id, str(data.get("department")), str(data.get("day")))
                recorded.setdefault(key, event)
    problems: list[PatrolProblem] = []
    seen: set[tuple[int, str, str]] = set()
    for row in rows:
        key = (int(row["renovation_id"]), str(row["department"]), str(row["day"]))
        seen.add(key)
        said = recorded.get(key)
        if said is None:
            problems.append(PatrolProblem(row["number"], key[1], key[2], "unrecorded"))
            continue
        data, erased = said["data"], set(said["erased"])
        kept = {
            "result": (row["result"], data.get("result")),
            "note": (row["note"], data.get("note")),
            "photo": (row["photo_sha256"], data.get("photo")),
            "patroller": (f"person:{row['by_id']}", said["actor"]),
        }
        for name, (stored, said) in kept.items():
            if name not in erased and stored != said:
                problems.append(PatrolProblem(row["number"], key[1], key[2], name))
    for key in sorted(set(recorded) - seen):
        problems.append(PatrolProblem(numbers.get(key[0], str(key[0])), key[1], key[2], "missing"))
    return problems
