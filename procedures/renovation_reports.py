"""Renovation's papers and reports as numbers (issue 11, items 9, 16, 17): the control sheet
(装修掌控表), the day's patrol grid, the weekly renovation report (装修办理报表) and the
dossier's manifest. Pure: rows in, numbers and lines out — no SQL, no Telegram, no clock.
``storage.renovation_reports`` reads the rows; ``bot.renovation_reports`` renders and sends.

**The control sheet**: every open renovation of an estate past its draft (a draft is the
owner's unfinished form) with its state, unit, owner, contractor, works period, open
violations (rectification notices not yet closed by the re-inspection, R-15), the deposit
held and the arrears owed (R-10, R-16), and the day's patrols by department (R-14: ✓ or —).
Ordered by building and unit as people walk them (``2栋`` before ``10栋``).

**The patrol grid** (item 9): the active renovations × the three patrolling departments for
one working day, patrolled or missing; a renovation with a missing department is a *gap*.
Only active works are patrolled (R-14), so only they are in the grid.

**The weekly report**: the week's applications received, approved and rejected, works
started and completed (the completion inspection passed), violations minor and serious,
penalties entered in the deposit ledger, deposits collected and refunded, and the patrol
coverage: R-14's clocks due in the week met against all that came due.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from procedures.identity import Role
from procedures.renovation import PATROL_DEPARTMENTS, Status
from procedures.reports import WEEKLY_RECIPIENTS, percent

__all__ = [
    "SHEET",
    "SHEET_READERS",
    "SHEET_STATUSES",
    "WEEKLY_KIND",
    "WEEKLY_READERS",
    "Sheet",
    "SheetRow",
    "WeeklyRenovation",
    "control_sheet",
    "sheet_data",
    "unit_key",
    "weekly_data",
]

#: The ``reports`` row kind of the daily control sheet (once per estate and working day)…
SHEET = "renovation_sheet"
#: … and of the weekly renovation report (once per estate and week).
WEEKLY_KIND = "renovation_weekly"
#: Who gets the control sheet every working day (issue 11, item 17).
SHEET_READERS = frozenset({Role.CUSTOMER_HEAD})
#: Who gets the weekly renovation report: the weekly summary's readers and the two heads
#: who sign renovations (R-4).
WEEKLY_READERS = WEEKLY_RECIPIENTS | {Role.CUSTOMER_HEAD, Role.ENGINEERING_HEAD}
#: The states on the control sheet: open, past the owner's draft.
SHEET_STATUSES: tuple[Status, ...] = tuple(
    s for s in Status if s not in (Status.DRAFT, Status.REJECTED, Status.CLOSED)
)


def unit_key(building: str, unit: str) -> tuple[object, ...]:
    """Building then unit, numbers in number order (``2栋`` before ``10栋``)."""

    def natural(text: str) -> tuple[object, ...]:
        digits = "".join(c for c in text if c.isdigit())
        return (int(digits) if digits else 0, text)

    return (*natural(building), *natural(unit))


@dataclass(frozen=True)
class SheetRow:
    """One renovation on the control sheet."""

    id: int
    number: str
    building: str
    unit: str
    status: Status
    owner: str
    contractor: str
    period_from: date
    period_to: date
    open_violations: int = 0
    held_fen: int = 0
    arrears_fen: int = 0
    #: The departments that patrolled it on the sheet's day.
    patrolled: frozenset[str] = frozenset()
    #: The sheet's day (None: any day of the works period).
    day: date | None = None

    @property
    def label(self) -> str:
        """The unit as people say it: ``1栋 101``."""
        return f"{self.building} {self.unit}" if self.building else self.unit

    @property
    def patrols_due(self) -> bool:
        """R-14: only active works are patrolled every working day, from the first day of
        their period (an entry inspection may come days before)."""
        return self.status == Status.ACTIVE and (self.day is None or self.period_from <= self.day)

    @property
    def missing(self) -> tuple[str, ...]:
        """The departments that have not patrolled it on the day (none when not due)."""
        if not self.patrols_due:
            return ()
        return tuple(d for d in PATROL_DEPARTMENTS if d not in self.patrolled)


@dataclass(frozen=True)
class Sheet:
    """The control sheet of one estate on one working day."""

    day: date
    rows: tuple[SheetRow, ...]
    by_status: dict[Status, int] = field(default_factory=dict)

    @property
    def held_fen(self) -> int:
        """The deposits held, all together."""
        return sum(r.held_fen for r in self.rows)

    @property
    def arrears_fen(self) -> int:
        """What owners owe beyond their deposits, all together."""
        return sum(r.arrears_fen for r in self.rows)

    @property
    def open_violations(self) -> int:
        """Rectification notices not yet closed."""
        return sum(r.open_violations for r in self.rows)

    @property
    def grid(self) -> tuple[SheetRow, ...]:
        """Item 9: the renovations patrolled daily (active works), by building and unit."""
        return tuple(r for r in self.rows if r.patrols_due)

    @property
    def gaps(self) -> tuple[SheetRow, ...]:
        """The active renovations a department has not patrolled on the day."""
        return tuple(r for r in self.grid if r.missing)

    def coverage(self, department: str) -> tuple[int, int]:
        """How many of the day's due patrols ``department`` did: (done, due)."""
        grid = self.grid
        return sum(department in r.patrolled for r in grid), len(grid)

    @property
    def attention(self) -> tuple[SheetRow, ...]:
        """What a head looks at first: a patrol missing, a notice open, money owed."""
        return tuple(r for r in self.rows if r.missing or r.open_violations or r.arrears_fen)


def control_sheet(rows: Iterable[SheetRow], day: date) -> Sheet:
    """The control sheet of ``day``: the rows by building and unit, counted by state (in
    the lifecycle's order)."""
    ordered = tuple(sorted(rows, key=lambda r: (*unit_key(r.building, r.unit), r.id)))
    counted = Counter(r.status for r in ordered)
    by_status = {s: counted[s] for s in SHEET_STATUSES if counted[s]}
    return Sheet(day, ordered, by_status)


def sheet_data(sheet: Sheet) -> dict[str, object]:
    """What the ``reports`` row keeps of a sent control sheet (numbers, no names)."""
    return {
        "day": sheet.day.isoformat(),
        "renovations": len(sheet.rows),
        "by_status": {s.value: n for s, n in sheet.by_status.items()},
        "held_fen": sheet.held_fen,
        "arrears_fen": sheet.arrears_fen,
        "open_violations": sheet.open_violations,
        "patrols": {d: list(sheet.coverage(d)) for d in PATROL_DEPARTMENTS},
        "gaps": [r.number for r in sheet.gaps],
    }


@dataclass(frozen=True)
class WeeklyRenovation:
    """The week's renovation figures (装修办理报表); money in fen."""

    received: int = 0
    approved: int = 0
    rejected: int = 0
    started: int = 0
    completed: int = 0
    minor: int = 0
    serious: int = 0
    penalties: int = 0
    penalties_fen: int = 0
    collected_fen: int = 0
    refunded_fen: int = 0
    #: R-14's clocks due in the week, per department: (met, due).
    patrols: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: The renovations open at the end of the week, by state.
    by_status: dict[str, int] = field(default_factory=dict)

    def coverage(self, department: str | None = None) -> int | None:
        """Patrols done on time against those due, in percent (all departments: None)."""
        pairs: Sequence[tuple[int, int]] = (
            list(self.patrols.values())
            if department is None
            else [self.patrols.get(department, (0, 0))]
        )
        return percent(sum(m for m, _ in pairs), sum(d for _, d in pairs))


def weekly_data(week: WeeklyRenovation) -> dict[str, object]:
    """What the ``reports`` row keeps of a sent weekly renovation report."""
    return {
        "received": week.received,
        "approved": week.approved,
        "rejected": week.rejected,
        "started": week.started,
        "completed": week.completed,
        "minor": week.minor,
        "serious": week.serious,
        "penalties": week.penalties,
        "penalties_fen": week.penalties_fen,
        "collected_fen": week.collected_fen,
        "refunded_fen": week.refunded_fen,
        "patrols": {d: list(p) for d, p in week.patrols.items()},
        "coverage": week.coverage(),
        "by_status": dict(week.by_status),
    }
