"""Scheduled reports in the database (Q-5, C-15, B-5): the facts a week's summary and a
department's day count, and the record that a report was sent — written with its outbox
messages in one transaction, so each estate gets each week's report (and each department
each working day's) exactly once; and the supervisor's written conclusion of a week (Q-5),
archived with the report."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from procedures.cases import OPEN_STATUSES
from procedures.reports import WEEKLY, CaseFacts, DeadlineFacts, WeekSlot
from storage import audit
from storage.db import Database, iso, parse_iso
from storage.outbox import enqueue, store_blob


@dataclass(frozen=True)
class ReportingEstate:
    """An estate and when this deployment started serving it (no report before that)."""

    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Outgoing:
    """One message of a report: to a person privately, or to a department's group; with
    ``attachment`` (file name, bytes, "photo" or "document") a file with ``text`` as its
    caption."""

    chat_id: int
    text: str
    person_id: int | None = None
    attachment: tuple[str, bytes, str] | None = None
    markup: dict[str, Any] | None = None  # an inline keyboard (the conclusion's button, Q-5)


@dataclass(frozen=True)
class SentReport:
    """A report as recorded."""

    id: int
    estate_id: int
    kind: str
    period_start: date
    window_start: datetime
    due_at: datetime
    sent_at: datetime
    late: bool
    recipients: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Conclusion:
    """Q-5: a week's written conclusion as archived: who (and their name), in which role,
    when, what."""

    report_id: int
    by_id: int
    by_name: str
    role: str
    text: str
    at: datetime


def _sent(row: sqlite3.Row) -> SentReport:
    return SentReport(
        row["id"],
        row["estate_id"],
        row["kind"],
        date.fromisoformat(row["period_start"]),
        parse_iso(row["window_start"]),
        parse_iso(row["due_at"]),
        parse_iso(row["sent_at"]),
        bool(row["late"]),
        row["recipients"],
        json.loads(row["data"]),
    )


def _case(row: sqlite3.Row) -> CaseFacts:
    return CaseFacts(
        id=row["id"],
        number=row["number"],
        kind=row["kind"],
        status=row["status"],
        accepted_at=parse_iso(row["accepted_at"]),
        category=row["category"],
        severity=row["severity"],
        department=row["department"],
        resolved_at=parse_iso(row["resolved_at"]) if row["resolved_at"] else None,
        closed_at=parse_iso(row["closed_at"]) if row["closed_at"] else None,
        satisfaction=row["satisfaction"],
        called_back_at=parse_iso(row["called_back_at"]) if row["called_back_at"] else None,
    )


def _deadline(row: sqlite3.Row) -> DeadlineFacts:
    return DeadlineFacts(row["case_id"], row["rule"], parse_iso(row["due_at"]), row["state"])


class ReportStore:
    """Reads for the weekly summary, and the exactly-once record of sending it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def estates(self) -> list[ReportingEstate]:
        """Every estate, with when it was created, by id."""
        rows = await self.db.fetchall("SELECT id, name, created_at FROM estates ORDER BY id")
        return [ReportingEstate(r["id"], r["name"], parse_iso(r["created_at"])) for r in rows]

    async def exists(self, estate_id: int, kind: str, period_start: date) -> bool:
        """Whether that report was already sent (a cheap check before building it)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM reports WHERE estate_id = ? AND kind = ? AND period_start = ?",
            (estate_id, kind, period_start.isoformat()),
        )
        return row is not None

    async def facts(
        self, estate_id: int, start: datetime, end: datetime
    ) -> tuple[list[CaseFacts], list[DeadlineFacts]]:
        """The cases a summary of ``[start, end)`` needs, and their deadlines.

        Cases filed, completed, closed or called back in the window, every open case, and
        every case with a deadline due in the window; cancelled deadlines are left out.
        """
        open_statuses = sorted(s.value for s in OPEN_STATUSES)
        marks = ",".join("?" * len(open_statuses))
        picked = (
            "SELECT c.id FROM cases c WHERE c.estate_id = ? AND ("
            " (c.accepted_at >= ? AND c.accepted_at < ?)"
            " OR (c.resolved_at >= ? AND c.resolved_at < ?)"
            " OR (c.closed_at >= ? AND c.closed_at < ?)"
            " OR (c.called_back_at >= ? AND c.called_back_at < ?)"
            f" OR c.status IN ({marks})"
            " OR EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.id"
            " AND d.due_at >= ? AND d.due_at < ?))"
        )
        s, e = iso(start), iso(end)
        params = [estate_id, s, e, s, e, s, e, s, e, *open_statuses, s, e]
        with self.db.on_thread():  # a scan of the estate's cases: off the event loop
            case_rows = await self.db.fetchall(
                "SELECT id, number, kind, status, accepted_at, category, severity, department,"
                " resolved_at, closed_at, satisfaction, called_back_at"
                f" FROM cases WHERE id IN ({picked}) ORDER BY id",
                params,
            )
            deadline_rows = await self.db.fetchall(
                "SELECT case_id, rule, due_at, state FROM deadlines"
                f" WHERE case_id IN ({picked}) AND state NOT IN ('cancelled', 'waiting')"
                " ORDER BY id",
                params,
            )
        return [_case(r) for r in case_rows], [_deadline(r) for r in deadline_rows]

    async def record(
        self,
        estate_id: int,
        kind: str,
        slot: WeekSlot,
        *,
        sent_at: datetime,
        late: bool,
        messages: Sequence[Outgoing],
        data: dict[str, Any],
    ) -> bool:
        """Record the report and queue its messages, in one transaction, once.

        Q-5, C-15, B-5: returns False (and queues nothing) when the report of that estate,
        kind and week (or day: ``daily:<department>``) is already recorded — another run or
        another process got there first — so it can never go out twice; a crash before the
        commit leaves neither the row nor the messages, and the next run sends it.
        """
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO reports(estate_id, kind, period_start, window_start, due_at,"
                " sent_at, late, recipients, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(estate_id, kind, period_start) DO NOTHING",
                (
                    estate_id,
                    kind,
                    slot.period_start.isoformat(),
                    iso(slot.window_start),
                    iso(slot.due_at),
                    iso(sent_at),
                    int(late),
                    len({m.chat_id for m in messages}),
                    json.dumps(data, ensure_ascii=False, sort_keys=True, default=str),
                ),
            )
            if cur.rowcount != 1:
                return False
            report_id = int(cur.lastrowid or 0)
            stored: dict[bytes, str] = {}
            for message in messages:
                blob = blob_as = None
                if message.attachment is not None:
                    filename, content, blob_as = message.attachment
                    if content not in stored:
                        stored[content] = await store_blob(conn, filename, content)
                    blob = stored[content]
                await enqueue(
                    conn, message.chat_id, message.text, person_id=message.person_id,
                    blob=blob, blob_as=blob_as, markup=message.markup,
                )  # fmt: skip
            await audit.append(
                conn,
                event=f"report.{kind.partition(':')[0]}_sent",
                subject=f"report:{report_id}",
                actor="system",
                estate_id=estate_id,
                data={
                    "kind": kind,
                    "period_start": slot.period_start.isoformat(),
                    "due_at": iso(slot.due_at),
                    "late": late,
                    "chats": sorted({m.chat_id for m in messages}),
                },
            )
            return True

    async def warn_calendar_once(
        self, estate_id: int, local: datetime, years: str, messages: Sequence[tuple[int, str]]
    ) -> bool:
        """R-4: record today's warning that ``years``' make-up workdays are unknown and queue
        ``messages`` (chat id, text), once per estate and local day; False when already told
        today (the row is the memory, across restarts)."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO reports(estate_id, kind, period_start, window_start,"
                " due_at, sent_at, recipients, data) VALUES (?, 'calendar', ?, ?, ?, ?, ?, ?)",
                (
                    estate_id, local.date().isoformat(), iso(local), iso(local),
                    iso(self.db.now()), len(messages), json.dumps({"years": years}),
                ),
            )  # fmt: skip
            if not cur.rowcount:
                return False
            for chat_id, text in messages:
                await enqueue(conn, chat_id, text)
        return True

    async def sent(self, estate_id: int, kind: str) -> list[SentReport]:
        """The reports of one kind an estate was sent, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM reports WHERE estate_id = ? AND kind = ? ORDER BY period_start",
            (estate_id, kind),
        )
        return [_sent(r) for r in rows]

    async def report(self, estate_id: int, kind: str, period_start: date) -> SentReport | None:
        """One recorded report, or None."""
        row = await self.db.fetchone(
            "SELECT * FROM reports WHERE estate_id = ? AND kind = ? AND period_start = ?",
            (estate_id, kind, period_start.isoformat()),
        )
        return _sent(row) if row else None

    # --- the written conclusion ------------------------------------------------------

    async def conclusion(self, report_id: int) -> Conclusion | None:
        """The written conclusion of a report, or None (Q-5)."""
        row = await self.db.fetchone(
            "SELECT c.report_id, c.by_id, p.name, c.role, c.text, c.at"
            " FROM report_conclusions c JOIN people p ON p.id = c.by_id WHERE c.report_id = ?",
            (report_id,),
        )
        if row is None:
            return None
        return Conclusion(
            row["report_id"], row["by_id"], row["name"], row["role"], row["text"],
            parse_iso(row["at"]),
        )  # fmt: skip

    async def unconcluded(self, estate_id: int, since: date, before: date) -> list[date]:
        """Q-5: the weeks (local Mondays) in ``[since, before)`` whose summary was sent and
        has no written conclusion, oldest first."""
        rows = await self.db.fetchall(
            "SELECT r.period_start FROM reports r"
            " LEFT JOIN report_conclusions c ON c.report_id = r.id"
            " WHERE r.estate_id = ? AND r.kind = ? AND r.period_start >= ?"
            " AND r.period_start < ? AND c.id IS NULL ORDER BY r.period_start",
            (estate_id, WEEKLY, since.isoformat(), before.isoformat()),
        )
        return [date.fromisoformat(r["period_start"]) for r in rows]

    async def conclude(
        self,
        report: SentReport,
        *,
        by_id: int,
        role: str,
        text: str,
        at: datetime,
        messages: Sequence[Outgoing],
    ) -> bool:
        """Archive the written conclusion of ``report`` and queue it to ``messages``' chats,
        audited, in one transaction (Q-5). False (nothing stored, nothing queued) when the
        report already has one: the first stays, a second is refused."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO report_conclusions(report_id, by_id, role, text, at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(report_id) DO NOTHING",
                (report.id, by_id, role, text, iso(at)),
            )
            if cur.rowcount != 1:
                return False
            for message in messages:
                await enqueue(
                    conn, message.chat_id, message.text, person_id=message.person_id,
                    markup=message.markup,
                )  # fmt: skip
            await audit.append(
                conn,
                event="report.conclusion_written",
                subject=f"report:{report.id}",
                actor=f"person:{by_id}",
                actor_id=by_id,
                estate_id=report.estate_id,
                data={
                    "period_start": report.period_start.isoformat(),
                    "role": role,
                    "text": text,
                    "chats": sorted({m.chat_id for m in messages}),
                },
            )
            return True
