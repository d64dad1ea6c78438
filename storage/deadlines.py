"""Durable deadlines: one row per (subject, rule), fired exactly once by the sweeper.

A timer whose clock starts at an event that has not happened yet (an estate counting Q-4
from the referral) is stored ``waiting`` for it, and armed (``pending``) when it happens.

Firing changes the row's state in the same transaction as whatever the firing causes
(messages queued, a complaint made major), so a deadline never fires twice — not after a
crash, not after a restart — and one that fell due while the bot was down fires at the
next sweep, marked late.
"""

from __future__ import annotations

import json
import sqlite3
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from procedures.subjects import CASE, Subject
from storage.db import Database, iso, now_of, parse_iso, precise_iso

#: States of a timer that has not ended: waiting for its clock, running, or warned.
_OPEN = "('waiting', 'pending', 'warned')"

#: Who wants to hear of each timer scheduled on a connection (the sweeper of the process that
#: opened it): called with the timer's first moment (its warning, else its due time).
_LISTENERS: weakref.WeakKeyDictionary[aiosqlite.Connection, Callable[[datetime], None]] = (
    weakref.WeakKeyDictionary()
)


def on_schedule(db: Database, listener: Callable[[datetime], None]) -> None:
    """Call ``listener`` with the first moment of every timer :func:`schedule` starts on
    ``db`` from now on (it replaces the one before). It is called inside the scheduling
    transaction, before the commit, so it must only take note (the sweeper sets an event);
    a rolled-back timer costs a needless wake-up. Timers scheduled by another process are
    not heard of."""
    _LISTENERS[db.conn] = listener


def off_schedule(db: Database, listener: Callable[[datetime], None]) -> None:
    """Stop calling ``listener`` (when it is still the one :func:`on_schedule` set: a
    sweeper stopping after another started on the same database leaves that one's)."""
    if _LISTENERS.get(db.conn) == listener:
        del _LISTENERS[db.conn]


@dataclass(frozen=True)
class Deadline:
    """A timer on a subject (``case_id`` is its case, for a case's timer)."""

    id: int
    case_id: int | None
    rule: str
    due_at: datetime
    warn_at: datetime | None
    state: str
    data: dict[str, Any]
    subject: Subject


@dataclass(frozen=True)
class Firing:
    """What the reaction is told: the timer, warning or breach, and whether it is late."""

    deadline: Deadline
    warning: bool
    late: bool
    now: datetime


def _deadline(row: sqlite3.Row) -> Deadline:
    return Deadline(
        row["id"],
        row["case_id"],
        row["rule"],
        parse_iso(row["due_at"]),
        parse_iso(row["warn_at"]) if row["warn_at"] else None,
        row["state"],
        json.loads(row["data"]),
        Subject(row["subject_kind"], row["subject_id"]),
    )


def subject_of(target: Subject | int) -> Subject:
    """A subject; a bare number is a case's id."""
    return target if isinstance(target, Subject) else Subject(CASE, target)


async def schedule(
    conn: aiosqlite.Connection,
    target: Subject | int,
    rule: str,
    due_at: datetime,
    warn_at: datetime | None = None,
    data: dict[str, Any] | None = None,
    *,
    waiting: bool = False,
) -> int:
    """Start a timer inside the caller's transaction (an open one for the same rule and case
    is replaced: a promise moved, a clock restarted, a waiting clock armed).

    ``waiting`` stores it waiting for the event in ``data["waiting_for"]`` instead: never
    due until :meth:`DeadlineStore.waiting` finds it and the caller schedules it for real.
    ``target`` is the subject (a bare number: a case). Times are kept to the microsecond
    (:func:`storage.db.precise_iso`), and the sweeper is told (:func:`on_schedule`)."""
    subject = subject_of(target)
    await conn.execute(
        "UPDATE deadlines SET state = 'cancelled' WHERE subject_kind = ? AND subject_id = ?"
        f" AND rule = ? AND state IN {_OPEN}",
        (subject.kind, subject.id, rule),
    )
    cur = await conn.execute(
        "INSERT INTO deadlines(subject_kind, subject_id, case_id, rule, due_at, warn_at, state,"
        " data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            subject.kind,
            subject.id,
            subject.id if subject.kind == CASE else None,
            rule,
            precise_iso(due_at),
            precise_iso(warn_at) if warn_at and not waiting else None,
            "waiting" if waiting else "pending",
            json.dumps(data or {}, ensure_ascii=False),
            iso(now_of(conn)),
        ),
    )
    listener = _LISTENERS.get(conn)
    if listener is not None and not waiting:
        listener(min(due_at, warn_at) if warn_at else due_at)
    return int(cur.lastrowid or 0)


async def settle(
    conn: aiosqlite.Connection,
    target: Subject | int,
    rules: list[str] | None = None,
    *,
    met: bool = True,
) -> int:
    """Stop open timers of a subject (all, or some rules): ``met`` when the step was done in
    time or late, ``cancelled`` when it no longer applies. A timer still waiting for its
    clock to start never ran: it is cancelled either way. Returns how many stopped."""
    subject = subject_of(target)
    stopped = 0
    for state, among in (("met" if met else "cancelled", "('pending', 'warned')"),
                         ("cancelled", "('waiting')")):  # fmt: skip
        sql = (
            "UPDATE deadlines SET state = ? WHERE subject_kind = ? AND subject_id = ?"
            f" AND state IN {among}"
        )
        params: list[Any] = [state, subject.kind, subject.id]
        if rules:
            sql += f" AND rule IN ({','.join('?' * len(rules))})"
            params += rules
        cur = await conn.execute(sql, params)
        stopped += int(cur.rowcount)
    return stopped


async def mark(
    conn: aiosqlite.Connection, deadline_id: int, *, warned: bool, at: datetime, late: bool
) -> bool:
    """Record a warning or a breach, once: False when someone already did (no double fire)."""
    if warned:
        cur = await conn.execute(
            "UPDATE deadlines SET state = 'warned', warned_at = ? WHERE id = ?"
            " AND state = 'pending'",
            (iso(at), deadline_id),
        )
    else:
        cur = await conn.execute(
            "UPDATE deadlines SET state = 'fired', fired_at = ?, late = ? WHERE id = ?"
            " AND state IN ('pending', 'warned')",
            (iso(at), int(late), deadline_id),
        )
    return bool(cur.rowcount)


class DeadlineStore:
    """Reads for the sweeper, reports and timelines."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def due_warnings(self, now: datetime, limit: int = 200) -> list[Deadline]:
        """Pending timers whose warning time has come (and that are not yet due)."""
        rows = await self.db.fetchall(
            "SELECT * FROM deadlines WHERE state = 'pending' AND warn_at IS NOT NULL"
            " AND warn_at <= ? AND due_at > ? ORDER BY warn_at LIMIT ?",
            (precise_iso(now), precise_iso(now), limit),
        )
        return [_deadline(r) for r in rows]

    async def due_breaches(self, now: datetime, limit: int = 200) -> list[Deadline]:
        """Open timers that are due."""
        rows = await self.db.fetchall(
            "SELECT * FROM deadlines WHERE state IN ('pending', 'warned') AND due_at <= ?"
            " ORDER BY due_at LIMIT ?",
            (precise_iso(now), limit),
        )
        return [_deadline(r) for r in rows]

    async def next_moment(self) -> datetime | None:
        """The earliest moment an open timer warns or falls due (None: nothing runs). Two
        index lookups (``deadlines_warn``, ``deadlines_due``), however many timers are open.
        A warning time already past whose timer is due counts too: the sweeper treats any
        past moment as "sweep now"."""
        row = await self.db.fetchone(
            "SELECT (SELECT MIN(warn_at) FROM deadlines WHERE state = 'pending'"
            " AND warn_at IS NOT NULL), (SELECT MIN(due_at) FROM deadlines"
            " WHERE state IN ('pending', 'warned'))"
        )
        moments = [parse_iso(text) for text in (row or ()) if text]
        return min(moments, default=None)

    async def waiting(self, target: Subject | int, event: str) -> list[Deadline]:
        """A subject's timers waiting for ``event`` to start their clock, oldest first."""
        subject = subject_of(target)
        rows = await self.db.fetchall(
            "SELECT * FROM deadlines WHERE subject_kind = ? AND subject_id = ?"
            " AND state = 'waiting' ORDER BY id",
            (subject.kind, subject.id),
        )
        return [d for d in map(_deadline, rows) if d.data.get("waiting_for") == event]

    async def of_case(self, target: Subject | int) -> list[Deadline]:
        """Every timer of a subject (a bare number: a case), oldest first."""
        subject = subject_of(target)
        rows = await self.db.fetchall(
            "SELECT * FROM deadlines WHERE subject_kind = ? AND subject_id = ? ORDER BY id",
            (subject.kind, subject.id),
        )
        return [_deadline(r) for r in rows]

    async def open_count(self) -> int:
        """How many timers are still open."""
        row = await self.db.fetchone(f"SELECT COUNT(*) FROM deadlines WHERE state IN {_OPEN}")
        return int(row[0]) if row else 0
