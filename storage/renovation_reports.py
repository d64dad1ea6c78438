"""Renovation's papers and reports in the database: the control sheet's rows (with the open
notices, the deposit balances and the day's patrols of every renovation in a handful of
set-based queries: no query per renovation, so 2,000 renovations read as fast as 20), the
week's figures, and a renovation's dossier (its audit trail, who acted, its evidence). Every
SQL statement of the renovation reports lives here; sending them is ``bot.reports``' record
(:meth:`storage.reports.ReportStore.record`), exactly once per estate, kind and period.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from procedures.renovation import Status, subject
from procedures.renovation_reports import SHEET_STATUSES, SheetRow, WeeklyRenovation
from procedures.rule_ids import RuleId
from storage import audit
from storage.db import Database, iso

__all__ = ["DossierFacts", "DossierFile", "RenovationReportStore"]

#: The audit events the weekly report counts, by its figure (a move's event is
#: ``renovation.<move>``: storage.renovation.apply).
_WEEK_EVENTS: dict[str, str] = {
    "renovation.submit": "received",
    "renovation.approve": "approved",
    "renovation.reject": "rejected",
    "renovation.start_works": "started",
    "renovation.pass": "completed",
}


@dataclass(frozen=True)
class DossierFile:
    """A stored original of a renovation: what it is (a document's name, ``patrol``,
    ``notice``, ``pass`` or ``photo``), its hash, its format, when and by whom it came."""

    sha256: str
    what: str
    format: str
    size: int
    added_at: str
    added_by: str


@dataclass(frozen=True)
class DossierFacts:
    """Everything a renovation's dossier holds: its audit events (oldest first, personal
    values back), the names of the people they name, its files."""

    events: list[dict[str, Any]]
    names: dict[int, str]
    files: list[DossierFile]


class RenovationReportStore:
    """Reads for the control sheet, the patrol grid, the weekly report and the dossier."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def sheet_rows(self, estate_id: int, day: date) -> list[SheetRow]:
        """The control sheet's renovations of an estate (open, past the draft), each with
        its open notices, its deposit held and arrears, and the departments that patrolled
        it on ``day``: four queries, whatever the number of renovations."""
        statuses = [s.value for s in SHEET_STATUSES]
        marks = ",".join("?" * len(statuses))
        rows = await self.db.fetchall(
            "SELECT r.id, r.number, r.status, r.contractor, r.period_from, r.period_to,"
            " u.building, u.number AS unit, u.owner_name FROM renovations r"
            " JOIN units u ON u.id = r.unit_id"
            f" WHERE r.estate_id = ? AND r.status IN ({marks})",
            [estate_id, *statuses],
        )
        if not rows:
            return []
        notices = await self.db.fetchall(
            "SELECT n.renovation_id, COUNT(*) AS open FROM renovation_notices n"
            " JOIN renovations r ON r.id = n.renovation_id"
            f" WHERE r.estate_id = ? AND r.status IN ({marks}) AND n.state != 'closed'"
            " GROUP BY n.renovation_id",
            [estate_id, *statuses],
        )
        ledger = await self.db.fetchall(
            "SELECT d.renovation_id,"
            " SUM(CASE WHEN d.kind = 'collected' THEN d.amount_fen"
            "          WHEN d.kind = 'arrears' THEN 0 ELSE -d.amount_fen END) AS held,"
            " SUM(CASE WHEN d.kind = 'arrears' THEN d.amount_fen ELSE 0 END) AS arrears"
            " FROM renovation_deposit d JOIN renovations r ON r.id = d.renovation_id"
            f" WHERE r.estate_id = ? AND r.status IN ({marks}) GROUP BY d.renovation_id",
            [estate_id, *statuses],
        )
        patrols = await self.db.fetchall(
            "SELECT p.renovation_id, p.department FROM renovation_patrols p"
            " JOIN renovations r ON r.id = p.renovation_id"
            " WHERE p.day = ? AND r.estate_id = ? AND r.status = ?",
            [day.isoformat(), estate_id, Status.ACTIVE.value],
        )
        open_ = {int(n["renovation_id"]): int(n["open"]) for n in notices}
        money = {int(m["renovation_id"]): (int(m["held"]), int(m["arrears"])) for m in ledger}
        done: dict[int, set[str]] = defaultdict(set)
        for p in patrols:
            done[int(p["renovation_id"])].add(str(p["department"]))
        found = []
        for r in rows:
            ren_id = int(r["id"])
            held, arrears = money.get(ren_id, (0, 0))
            found.append(
                SheetRow(
                    id=ren_id,
                    number=r["number"],
                    building=r["building"],
                    unit=r["unit"],
                    status=Status(r["status"]),
                    owner=r["owner_name"],
                    contractor=r["contractor"],
                    period_from=date.fromisoformat(r["period_from"]),
                    period_to=date.fromisoformat(r["period_to"]),
                    open_violations=open_.get(ren_id, 0),
                    held_fen=held,
                    arrears_fen=arrears,
                    patrolled=frozenset(done.get(ren_id, ())),
                    day=day,
                )
            )
        return found

    async def find(self, number: str) -> tuple[int, int] | None:
        """A renovation by its number: its id and estate, or None."""
        row = await self.db.fetchone(
            "SELECT id, estate_id FROM renovations WHERE number = ?", [number]
        )
        return (int(row["id"]), int(row["estate_id"])) if row is not None else None

    async def any_renovation(self, estate_id: int, before: datetime) -> bool:
        """Whether the estate had any renovation application before ``before``."""
        row = await self.db.fetchone(
            "SELECT 1 FROM renovations WHERE estate_id = ? AND created_at < ? LIMIT 1",
            [estate_id, iso(before)],
        )
        return row is not None

    async def week(self, estate_id: int, start: datetime, end: datetime) -> WeeklyRenovation:
        """The renovation figures of ``[start, end)``: the steps taken (from the audit
        trail), the violations found, the money through the deposit ledger, R-14's clocks
        met against those due, and the open renovations by state now."""
        s, e = iso(start), iso(end)
        events = await self.db.fetchall(
            "SELECT event, COUNT(*) AS n FROM audit WHERE estate_id = ? AND subject LIKE ?"
            " AND at >= ? AND at < ?"
            f" AND event IN ({','.join('?' * len(_WEEK_EVENTS))}) GROUP BY event",
            [estate_id, "renovation:%", s, e, *_WEEK_EVENTS],
        )
        figures: dict[str, int] = {_WEEK_EVENTS[r["event"]]: int(r["n"]) for r in events}
        found = await self.db.fetchall(
            "SELECT p.result, COUNT(*) AS n FROM renovation_patrols p"
            " JOIN renovations r ON r.id = p.renovation_id"
            " WHERE r.estate_id = ? AND p.at >= ? AND p.at < ? AND p.result != 'ok'"
            " GROUP BY p.result",
            [estate_id, s, e],
        )
        figures |= {str(r["result"]): int(r["n"]) for r in found}
        money = await self.db.fetchone(
            "SELECT"
            " COUNT(DISTINCT CASE WHEN d.kind = 'penalty' OR d.for_kind = 'penalty'"
            "   THEN COALESCE(d.reference, d.id) END) AS penalties,"
            " SUM(CASE WHEN d.kind = 'penalty' OR d.for_kind = 'penalty'"
            "   THEN d.amount_fen ELSE 0 END) AS penalties_fen,"
            " SUM(CASE WHEN d.kind = 'collected' THEN d.amount_fen ELSE 0 END) AS collected,"
            " SUM(CASE WHEN d.kind = 'refund' THEN d.amount_fen ELSE 0 END) AS refunded"
            " FROM renovation_deposit d JOIN renovations r ON r.id = d.renovation_id"
            " WHERE r.estate_id = ? AND d.at >= ? AND d.at < ?",
            [estate_id, s, e],
        )
        clocks = await self.db.fetchall(
            "SELECT t.department, SUM(d.state = 'met') AS met, COUNT(*) AS due"
            " FROM deadlines d JOIN renovation_patrol_duties t"
            " ON d.subject_kind = 'renovation_patrol' AND d.subject_id = t.id"
            " JOIN renovations r ON r.id = t.renovation_id"
            " WHERE r.estate_id = ? AND d.rule = ? AND d.due_at >= ? AND d.due_at < ?"
            " AND d.state IN ('met', 'fired') GROUP BY t.department",
            [estate_id, RuleId.R14.value, s, e],
        )
        statuses = [st.value for st in SHEET_STATUSES]
        states = await self.db.fetchall(
            "SELECT status, COUNT(*) AS n FROM renovations WHERE estate_id = ?"
            f" AND status IN ({','.join('?' * len(statuses))}) GROUP BY status",
            [estate_id, *statuses],
        )
        counted = {str(r["status"]): int(r["n"]) for r in states}
        return WeeklyRenovation(
            received=figures.get("received", 0),
            approved=figures.get("approved", 0),
            rejected=figures.get("rejected", 0),
            started=figures.get("started", 0),
            completed=figures.get("completed", 0),
            minor=figures.get("minor", 0),
            serious=figures.get("serious", 0),
            penalties=int(money["penalties"] or 0) if money else 0,
            penalties_fen=int(money["penalties_fen"] or 0) if money else 0,
            collected_fen=int(money["collected"] or 0) if money else 0,
            refunded_fen=int(money["refunded"] or 0) if money else 0,
            patrols={str(c["department"]): (int(c["met"]), int(c["due"])) for c in clocks},
            by_status={st: counted[st] for st in statuses if st in counted},
        )

    async def dossier(self, renovation_id: int) -> DossierFacts:
        """A renovation's dossier: its audit trail, the names of the people acting in it
        (``person:<id>``), and every original linked to it as evidence, named by what it
        is (documents by their checklist name), in the order they came."""
        events = await audit.trail(self.db, str(subject(renovation_id)))
        ids = {
            int(e["actor"].split(":", 1)[1])
            for e in events
            if str(e["actor"]).startswith("person:") and e["actor"].split(":", 1)[1].isdigit()
        }
        names: dict[int, str] = {}
        if ids:
            people = await self.db.fetchall(
                "SELECT id, name FROM people WHERE id IN (SELECT value FROM json_each(?))",
                [f"[{','.join(str(i) for i in sorted(ids))}]"],
            )
            names = {int(p["id"]): str(p["name"]) for p in people}
        rows = await self.db.fetchall(
            "SELECT l.sha256, l.added_at, l.added_by, e.format, e.size,"
            " (SELECT f.doc FROM renovation_files f WHERE f.renovation_id = l.subject_id"
            "  AND f.sha256 = l.sha256 LIMIT 1) AS doc,"
            " EXISTS (SELECT 1 FROM renovation_patrols p WHERE p.renovation_id = l.subject_id"
            "  AND p.photo_sha256 = l.sha256) AS patrol,"
            " EXISTS (SELECT 1 FROM renovation_notices n WHERE n.renovation_id = l.subject_id"
            "  AND n.photo_sha256 = l.sha256) AS notice,"
            " EXISTS (SELECT 1 FROM renovation_passes w WHERE w.renovation_id = l.subject_id"
            "  AND w.photo_sha256 = l.sha256) AS pass,"
            " (SELECT name FROM people WHERE id = l.added_by) AS by_name"
            " FROM evidence_links l JOIN evidence e ON e.sha256 = l.sha256"
            " WHERE l.subject_kind = ? AND l.subject_id = ? ORDER BY l.id",
            [subject(renovation_id).kind, renovation_id],
        )
        files = []
        for r in rows:
            what = (
                f"doc:{r['doc']}"
                if r["doc"]
                else "notice"
                if r["notice"]
                else "patrol"
                if r["patrol"]
                else "pass"
                if r["pass"]
                else "photo"
            )
            files.append(
                DossierFile(
                    r["sha256"],
                    what,
                    r["format"],
                    int(r["size"]),
                    r["added_at"],
                    r["by_name"] or "",
                )
            )
        return DossierFacts(events, names, files)
