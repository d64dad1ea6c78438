"""The weekly summary (Q-5, C-15, B-5) as numbers: which week is due, and what it counts.

Pure computation: facts about cases and their deadlines in, numbers out — no SQL, no
Telegram, no texts. ``storage.reports`` reads the facts; ``bot.reports`` renders the
numbers and sends them. A chart image and a spreadsheet of the same numbers are a later
step (PROCEDURES.md: "a scheduled report to managers, as text + a chart image + a
spreadsheet"); :class:`WeeklySummary` is what they will be drawn from.

Which week (Q-5: "every Friday before the end of work"): the report moment of a week is
:meth:`procedures.calendar.WorkingCalendar.weekly_moment` — by default Friday 17:00 local,
moved to the last working day before it when Friday is a holiday, and none at all for a
week with no working day up to Friday. The report that is due at ``now`` is the latest
moment at or before ``now`` (:func:`latest_due`): only that one, so a bot that was down
sends the missed week once, marked late (补发), and never backfills older weeks.

What the week covers: from the previous report moment (inclusive) to this one
(exclusive). Reports are contiguous: a case filed on Saturday counts in next Friday's
report, and a week that had no report of its own (a holiday week) is covered by the next
one, as the calendar says. (default: Q-5 says "the week's items"; counting from Monday
00:00 would leave every Friday evening and weekend out of every report.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from procedures.calendar import WorkingCalendar
from procedures.cases import OPEN_STATUSES, Kind, Status

__all__ = [
    "CALLBACK_KINDS",
    "CALLBACK_RULES",
    "LATE_AFTER",
    "SEVERITIES",
    "UNCLASSIFIED",
    "WEEKLY",
    "CallbackRate",
    "CaseFacts",
    "DeadlineFacts",
    "Overdue",
    "RuleRate",
    "WeekSlot",
    "WeeklySummary",
    "is_late",
    "latest_due",
    "percent",
    "summary_data",
    "weekly_summary",
]

#: The kind of report in the ``reports`` table (a daily report comes later).
WEEKLY = "weekly"
#: C-4: a complaint's nature, and the bucket for complaints not yet classified.
UNCLASSIFIED = "unclassified"
SEVERITIES = ("invalid", "minor", "important", "major", UNCLASSIFIED)
#: B-1, C-14: the callback clocks; a case whose clock is met was called back.
CALLBACK_RULES = frozenset({"C-14", "B-1"})
#: B-1: requests (repairs, opinions, suggestions) and complaints are called back when done.
CALLBACK_KINDS = frozenset({Kind.REQUEST.value, Kind.COMPLAINT.value})
#: A report sent this long after its moment was missed (the bot was down): marked late.
#: The job runs every minute, so anything later than a few runs means downtime.
LATE_AFTER = timedelta(minutes=5)
# How many weeks to look back for a report moment (a year of holidays is a broken config).
_SEARCH_WEEKS = 60
# Deadline states that are still running (not met, not fired, not cancelled).
_RUNNING = frozenset({"pending", "warned"})


@dataclass(frozen=True)
class WeekSlot:
    """One week's report: the week (its Monday), what it covers and when it is due (Q-5).

    ``window_start`` (inclusive) to ``due_at`` (exclusive) is what the report counts; both
    are UTC. ``period_start`` is the local Monday of the week, the report's identity.
    """

    period_start: date
    window_start: datetime
    due_at: datetime


def _moments_back(
    calendar: WorkingCalendar, monday: date, weekday: int, at: time
) -> Iterator[datetime]:
    """The report moments of ``monday``'s week and the weeks before it, newest first."""
    for week in range(_SEARCH_WEEKS):
        moment = calendar.weekly_moment(monday - timedelta(weeks=week), weekday, at)
        if moment is not None:
            yield moment


def latest_due(
    calendar: WorkingCalendar,
    now: datetime,
    weekday: int = 4,
    at: time = time(17, 0),
    *,
    since: datetime | None = None,
) -> WeekSlot | None:
    """Return the week whose report is due at ``now``: the latest moment at or before it.

    Q-5, C-15, B-5. Only the latest: a bot down for weeks sends the last missed week once
    and nothing older. ``since`` is when the deployment started reporting for the estate
    (it was created): a moment before it is no report of this deployment's (None). The
    window starts at the previous report moment, so reports neither overlap nor leave a
    gap (see the module docstring); without one in reach it is the week before ``due_at``.
    """
    monday = calendar.local(now).date()
    monday -= timedelta(days=monday.weekday())
    due = next((m for m in _moments_back(calendar, monday, weekday, at) if m <= now), None)
    if due is None or (since is not None and due < since):
        return None
    due_monday = calendar.local(due).date()
    due_monday -= timedelta(days=due_monday.weekday())
    previous = next(
        _moments_back(calendar, due_monday - timedelta(weeks=1), weekday, at),
        due - timedelta(weeks=1),
    )
    return WeekSlot(period_start=due_monday, window_start=previous, due_at=due)


def is_late(slot: WeekSlot, now: datetime) -> bool:
    """Whether a report sent at ``now`` missed its moment (the bot was down): 补发."""
    return now - slot.due_at > LATE_AFTER


@dataclass(frozen=True)
class CaseFacts:
    """What the summary needs of a case (times in UTC)."""

    id: int
    number: str
    kind: str
    status: str
    accepted_at: datetime
    category: str | None = None
    severity: str | None = None
    department: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class DeadlineFacts:
    """What the summary needs of a deadline: its case, rule, due time and state."""

    case_id: int
    rule: str
    due_at: datetime
    state: str  # pending | warned | fired | met | cancelled


def percent(part: int, whole: int) -> int | None:
    """``part`` of ``whole`` in whole percent (rounded half up), None when nothing counts."""
    if whole <= 0:
        return None
    return (200 * part + whole) // (2 * whole)


@dataclass(frozen=True)
class RuleRate:
    """One rule's deadlines that came due in the week: met in time, or missed (fired)."""

    rule: str
    met: int
    missed: int

    @property
    def total(self) -> int:
        """How many came due."""
        return self.met + self.missed

    @property
    def percent(self) -> int | None:
        """On-time rate in percent."""
        return percent(self.met, self.total)


@dataclass(frozen=True)
class CallbackRate:
    """B-1..B-5, C-14: of the cases completed in the week, how many were called back.

    ``waiting``: not called back yet, its callback clock still running; ``missed``: not
    called back and its clock ran out. Both count against the 100 % target (C-14).
    """

    completed: int = 0
    called_back: int = 0
    waiting: int = 0
    missed: int = 0

    @property
    def percent(self) -> int | None:
        """Callback rate in percent (the target is 100, C-14)."""
        return percent(self.called_back, self.completed)


@dataclass(frozen=True)
class Overdue:
    """An open case with a deadline that ran out, and by how much at the report's time."""

    number: str
    rule: str
    due_at: datetime
    overdue_by: timedelta


@dataclass(frozen=True)
class WeeklySummary:
    """The week's numbers (Q-5 items, C-15 complaint statistics, B-5 callbacks).

    Counts by category and department use None for a case without one. ``open_now`` and
    ``overdue`` are as of ``as_of`` (when the report is made); everything else counts what
    happened in ``[window_start, window_end)``.
    """

    window_start: datetime
    window_end: datetime
    as_of: datetime
    filed: dict[str, int]
    severities: dict[str, int]
    categories: dict[str | None, int]
    departments: dict[str | None, int]
    done: int
    closed: int
    open_now: int
    on_time: list[RuleRate]
    callbacks: CallbackRate
    complaint_callbacks: CallbackRate
    overdue: list[Overdue] = field(default_factory=list)


def _in(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def _ran_out(deadline: DeadlineFacts, as_of: datetime) -> bool:
    """Fired, or still running past its due time (the sweeper fires it at its next pass)."""
    return deadline.state == "fired" or (deadline.state in _RUNNING and deadline.due_at <= as_of)


def _counted(values: Iterable[str | None]) -> dict[str | None, int]:
    """Counts, largest first (ties in first-seen order)."""
    return dict(Counter(values).most_common())


def weekly_summary(
    cases: Sequence[CaseFacts],
    deadlines: Sequence[DeadlineFacts],
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    rule_order: Sequence[str] = (),
) -> WeeklySummary:
    """Count the week ``[start, end)`` (Q-5, C-15, B-5) as of ``as_of``.

    ``cases`` must hold every case filed, completed or closed in the week, every case open
    at ``as_of`` and every case with a deadline due in the week; ``deadlines`` their
    deadlines. Extra cases are harmless: each count filters by its own time.

    * filed: by kind; complaints by nature (C-4, :data:`SEVERITIES`); by category and
      department (C-15);
    * done (``resolved_at``) and closed (``closed_at``) in the week; open at ``as_of``;
    * on time, per rule, for deadlines due in the week: met vs missed; a deadline still
      running past its due time counts as missed (the sweeper fires it at its next pass);
      cancelled ones (a promise moved) do not count. Rules come in ``rule_order``, then
      any other by id;
    * callbacks (B-1..B-5, C-14): of requests and complaints completed in the week, those
      closed or whose B-1/C-14 clock was met were called back;
    * overdue: every open case's deadline that ran out, most overdue first.
    """
    by_case: dict[int, list[DeadlineFacts]] = {}
    for deadline in deadlines:
        by_case.setdefault(deadline.case_id, []).append(deadline)

    filed = [c for c in cases if _in(c.accepted_at, start, end)]
    filed_by_kind = {Kind.REQUEST.value: 0, Kind.COMPLAINT.value: 0}
    for case in filed:
        filed_by_kind[case.kind] = filed_by_kind.get(case.kind, 0) + 1
    severities = dict.fromkeys(SEVERITIES, 0)
    for case in filed:
        if case.kind == Kind.COMPLAINT:
            key = case.severity if case.severity in severities else UNCLASSIFIED
            severities[key] += 1

    met: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    for deadline in deadlines:
        if not _in(deadline.due_at, start, end) or deadline.state == "cancelled":
            continue
        if deadline.state == "met":
            met[deadline.rule] += 1
        elif _ran_out(deadline, as_of):
            missed[deadline.rule] += 1
    seen = set(met) | set(missed)
    order = [r for r in rule_order if r in seen] + sorted(seen - set(rule_order))
    on_time = [RuleRate(rule, met[rule], missed[rule]) for rule in order]

    completed = [c for c in cases if c.kind in CALLBACK_KINDS and _in(c.resolved_at, start, end)]
    callbacks = _callbacks(completed, by_case, as_of)
    complaint_callbacks = _callbacks(
        [c for c in completed if c.kind == Kind.COMPLAINT], by_case, as_of
    )

    open_cases = [c for c in cases if c.status in OPEN_STATUSES]
    overdue = sorted(
        (
            Overdue(case.number, d.rule, d.due_at, as_of - d.due_at)
            for case in open_cases
            for d in by_case.get(case.id, [])
            if _ran_out(d, as_of)
        ),
        key=lambda o: (o.due_at, o.number, o.rule),
    )
    return WeeklySummary(
        window_start=start,
        window_end=end,
        as_of=as_of,
        filed=filed_by_kind,
        severities=severities,
        categories=_counted(c.category for c in filed),
        departments=_counted(c.department for c in filed),
        done=sum(_in(c.resolved_at, start, end) for c in cases),
        closed=sum(_in(c.closed_at, start, end) for c in cases),
        open_now=len(open_cases),
        on_time=on_time,
        callbacks=callbacks,
        complaint_callbacks=complaint_callbacks,
        overdue=overdue,
    )


def _callbacks(
    completed: Sequence[CaseFacts], by_case: dict[int, list[DeadlineFacts]], as_of: datetime
) -> CallbackRate:
    """B-1..B-5, C-14: called back (closed, or the callback clock met), waiting or missed."""
    called = waiting = missed = 0
    for case in completed:
        clocks = [d for d in by_case.get(case.id, []) if d.rule in CALLBACK_RULES]
        if case.status == Status.CLOSED or any(d.state == "met" for d in clocks):
            called += 1
        elif any(_ran_out(d, as_of) for d in clocks):
            missed += 1
        else:
            waiting += 1
    return CallbackRate(len(completed), called, waiting, missed)


def summary_data(summary: WeeklySummary) -> dict[str, object]:
    """The summary as JSON-ready data (kept with the report's record, "to avoid disputes
    later"): times as ISO text, durations in seconds, a missing category or department as
    ``""``."""

    def keyed(counts: dict[str | None, int]) -> dict[str, int]:
        return {k or "": v for k, v in counts.items()}

    def rate(r: CallbackRate) -> dict[str, int]:
        return {
            "completed": r.completed,
            "called_back": r.called_back,
            "waiting": r.waiting,
            "missed": r.missed,
        }

    return {
        "window_start": summary.window_start.isoformat(),
        "window_end": summary.window_end.isoformat(),
        "as_of": summary.as_of.isoformat(),
        "filed": dict(summary.filed),
        "severities": dict(summary.severities),
        "categories": keyed(summary.categories),
        "departments": keyed(summary.departments),
        "done": summary.done,
        "closed": summary.closed,
        "open_now": summary.open_now,
        "on_time": {r.rule: {"met": r.met, "missed": r.missed} for r in summary.on_time},
        "callbacks": rate(summary.callbacks),
        "complaint_callbacks": rate(summary.complaint_callbacks),
        "overdue": [
            {"number": o.number, "rule": o.rule, "seconds": int(o.overdue_by.total_seconds())}
            for o in summary.overdue
        ],
    }
