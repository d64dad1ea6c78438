"""Approvals: who signed which step of which subject, in which role, approving or refusing
which version of what they were shown. Written in the transaction of the step itself,
never changed or deleted (the table's triggers refuse it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from procedures.decisions import Approval
from procedures.subjects import Subject
from storage.db import Database, iso, now_of, parse_iso


@dataclass(frozen=True)
class Signed:
    """An approval as kept."""

    subject: Subject
    step: str
    by_id: int
    role: str
    approved: bool
    version: str | None
    comment: str | None
    at: datetime


async def record(
    conn: aiosqlite.Connection, subject: Subject, approval: Approval, by_id: int
) -> None:
    """Keep an approval inside the caller's transaction."""
    await conn.execute(
        "INSERT INTO approvals(subject_kind, subject_id, step, by_id, role, decision, comment,"
        " version, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            subject.kind, subject.id, approval.step, by_id, approval.role,
            "approved" if approval.approved else "rejected", approval.comment,
            approval.version, iso(now_of(conn)),
        ),
    )  # fmt: skip


async def of_subject(db: Database, subject: Subject) -> list[Signed]:
    """A subject's approvals, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM approvals WHERE subject_kind = ? AND subject_id = ? ORDER BY id",
        (subject.kind, subject.id),
    )
    return [
        Signed(
            subject,
            r["step"],
            r["by_id"],
            r["role"],
            r["decision"] == "approved",
            r["version"],
            r["comment"],
            parse_iso(r["at"]),
        )
        for r in rows
    ]
