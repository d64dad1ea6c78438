"""The weekly summary (Q-5, C-15, B-5) and the daily department report (部門日報, C-15,
B-5) as numbers: which week or day is due, and what it counts.

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

Which day (部門日、周匯報表, "at the end of each working day", default): the moment of a
day's department report is the end of the estate's working day (``workday_end``) on each
working day (:func:`latest_daily_due`); non-working days have none. A day counts from the
previous working day's end, so what came in over a weekend or a holiday is in the first
working day's report, as the weekly one does with its weeks. Again only the latest is due:
a day missed while the bot was down is sent late once, never older days.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from procedures.calendar import WorkingCalendar
from procedures.cases import OPEN_STATUSES, REFERRABLE, Kind, Status
from procedures.identity import Department, Role

__all__ = [
    "CALLBACK_KINDS",
    "CALLBACK_RULES",
    "CONCLUSION_LOOKBACK",
    "DAILY",
    "DAILY_DEPARTMENTS",
    "FOLLOWED",
    "LATE_AFTER",
    "MAX_CONCLUSION",
    "MIN_CONCLUSION",
    "SCORES",
    "SEVERITIES",
    "UNCLASSIFIED",
    "WEEKLY",
    "WEEKLY_RECIPIENTS",
    "CallbackRate",
    "CaseFacts",
    "ComplaintProgress",
    "DailySummary",
    "DeadlineFacts",
    "Overdue",
    "RuleRate",
    "Satisfaction",
    "WeekSlot",
    "WeeklySummary",
    "conclusion_problem",
    "daily_data",
    "daily_kind",
    "daily_summary",
    "department_cases",
    "followed",
    "is_late",
    "latest_daily_due",
    "latest_due",
    "percent",
    "summary_data",
    "weekly_summary",
]

#: The kind of report in the ``reports`` table: the weekly summary…
WEEKLY = "weekly"
#: … and a department's daily report, kept as ``daily:<department>`` (:func:`daily_kind`).
DAILY = "daily"
#: Q-5, C-15, B-5: who gets the weekly summary privately ("sent to leadership", B-5); its
#: written conclusion (Q-5) goes to them too.
WEEKLY_RECIPIENTS = frozenset(
    {Role.PROJECT_MANAGER, Role.CC_SUPERVISOR, Role.MGMT_MANAGER, Role.LEADERSHIP}
)
#: The departments that get a daily report: every one a case may be referred to.
DAILY_DEPARTMENTS = tuple(d.value for d in REFERRABLE)
#: C-15: the clocks of a complaint's own limit (important: 1 day; major: 2 and 15 days).
C12_PREFIX = "C-12"
#: B-3, A-1: the satisfaction scores.
SCORES = (1, 2, 3, 4, 5)
#: B-1: what a callback followed — a request, a complaint, or a callback staff opened after
#: helping a resident in trouble (``help``) or a large community event (``event``); any
#: other category of a staff-opened callback counts as ``other``.
FOLLOWED = ("request", "complaint", "help", "event", "other")
#: Q-5: the written conclusion, in characters (a word or two is no conclusion; one message
#: carries it with its heading).
MIN_CONCLUSION = 4
MAX_CONCLUSION = 3000
#: Q-5: how far back the next summary looks for weeks left without a conclusion.
CONCLUSION_LOOKBACK = timedelta(weeks=4)
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


def latest_daily_due(
    calendar: WorkingCalendar, now: datetime, *, since: datetime | None = None
) -> WeekSlot | None:
    """Return the working day whose department report is due at ``now`` (部門日報, C-15,
    B-5): the latest end of a working day (``workday_end``) at or before ``now``.

    The slot's ``period_start`` is that local day; its window runs from the end of the
    working day before it (a weekend or holiday in between counts in it) to its end. Only
    the latest: a bot down for days sends the last missed day once, late. ``since`` is when
    the deployment started serving the estate: a day that ended before it is none of its
    reports (None).
    """
    local_now = calendar.local(now)
    day = local_now.date()
    if not calendar.is_working_day(day) or local_now.time() < calendar.workday_end:
        day = calendar.previous_working_day(day)
    due = calendar.at(day, calendar.workday_end).astimezone(UTC)
    if since is not None and due < since:
        return None
    before = calendar.previous_working_day(day)
    start = calendar.at(before, calendar.workday_end).astimezone(UTC)
    return WeekSlot(period_start=day, window_start=start, due_at=due)


def daily_kind(department: str) -> str:
    """The ``reports`` row kind of a department's daily report: ``daily:engineering``."""
    return f"{DAILY}:{department}"


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
    satisfaction: int | None = None  # B-3, A-1: 1..5, from a callback or a visit
    called_back_at: datetime | None = None  # B-4: when the callback (or visit) was recorded


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
class ComplaintProgress:
    """C-15: the complaints' own progress: completed in the week and still open at the
    report's time, and of each how many ran past their C-12 limit (a C-12 clock that
    fired, or is still running past its due time)."""

    resolved: int = 0
    resolved_over: int = 0
    unresolved: int = 0
    unresolved_over: int = 0


@dataclass(frozen=True)
class Satisfaction:
    """B-5, A-1: satisfaction scores given in the week: how many of each score (1–5)."""

    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))

    @property
    def total(self) -> int:
        """How many scores were given."""
        return sum(self.counts.values())

    @property
    def average(self) -> float | None:
        """The mean score to one decimal (half up), None when nobody scored."""
        if not self.total:
            return None
        tenths = (20 * sum(s * n for s, n in self.counts.items()) + self.total) // (2 * self.total)
        return tenths / 10


def _satisfaction(scores: Iterable[int | None]) -> Satisfaction:
    counts = dict.fromkeys(SCORES, 0)
    for score in scores:
        if score in counts:
            counts[score] += 1
    return Satisfaction(counts)


def followed(case: CaseFacts) -> str:
    """B-1: what a callback followed (:data:`FOLLOWED`): the case's own kind for a request
    or a complaint; a staff-opened callback (kind ``callback``) by its category, ``help``
    or ``event``, anything else ``other``."""
    if case.kind in (Kind.REQUEST.value, Kind.COMPLAINT.value):
        return case.kind
    if case.category in ("help", "event"):
        return case.category
    return "other"


@dataclass(frozen=True)
class WeeklySummary:
    """The week's numbers (Q-5 items, C-15 complaint statistics, B-5 callbacks).

    Counts by category and department use None for a case without one. ``open_now`` and
    ``overdue`` are as of ``as_of`` (when the report is made); everything else counts what
    happened in ``[window_start, window_end)``.

    C-15's complaint breakdown (``complaint_categories``, ``complaint_departments``,
    ``complaints``) counts complaints alone; ``categories`` and ``departments`` count
    everything filed. B-5: ``callbacks_by`` counts the callbacks recorded in the week by
    what they followed (:data:`FOLLOWED`), ``satisfaction`` their scores and
    ``visit_satisfaction`` the customer visits' (A-1), apart. ``unconcluded``: the local
    Mondays of earlier weeks whose summary has no written conclusion yet (Q-5).
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
    complaint_categories: dict[str | None, int] = field(default_factory=dict)
    complaint_departments: dict[str | None, int] = field(default_factory=dict)
    complaints: ComplaintProgress = field(default_factory=ComplaintProgress)
    callbacks_by: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FOLLOWED, 0))
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    visit_satisfaction: Satisfaction = field(default_factory=Satisfaction)
    unconcluded: tuple[date, ...] = ()


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
    unconcluded: Sequence[date] = (),
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
    * overdue: every open case's deadline that ran out, most overdue first;
    * C-15, complaints alone: filed by category and department; completed in the week and
      open at ``as_of``, each with how many ran past a C-12 limit;
    * B-5, B-1: callbacks recorded in the week (``called_back_at``) by what they followed,
      and the scores given in them; A-1: the customer visits' scores, apart;
    * ``unconcluded`` is passed through (Q-5: earlier weeks without a conclusion).
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

    def over_c12(case: CaseFacts) -> bool:
        return any(
            d.rule.startswith(C12_PREFIX) and _ran_out(d, as_of) for d in by_case.get(case.id, [])
        )

    complaints = [c for c in cases if c.kind == Kind.COMPLAINT]
    resolved = [c for c in complaints if _in(c.resolved_at, start, end)]
    still_open = [c for c in complaints if c.status in OPEN_STATUSES]
    progress = ComplaintProgress(
        resolved=len(resolved),
        resolved_over=sum(map(over_c12, resolved)),
        unresolved=len(still_open),
        unresolved_over=sum(map(over_c12, still_open)),
    )
    called = [c for c in cases if _in(c.called_back_at, start, end)]
    answered = [c for c in called if c.kind != Kind.VISIT]
    callbacks_by = dict.fromkeys(FOLLOWED, 0)
    for case in answered:
        callbacks_by[followed(case)] += 1
    filed_complaints = [c for c in filed if c.kind == Kind.COMPLAINT]
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
        complaint_categories=_counted(c.category for c in filed_complaints),
        complaint_departments=_counted(c.department for c in filed_complaints),
        complaints=progress,
        callbacks_by=callbacks_by,
        satisfaction=_satisfaction(c.satisfaction for c in answered),
        visit_satisfaction=_satisfaction(c.satisfaction for c in called if c.kind == Kind.VISIT),
        unconcluded=tuple(unconcluded),
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

    def scored(s: Satisfaction) -> dict[str, object]:
        return {"counts": {str(k): v for k, v in s.counts.items()}, "average": s.average}

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
        "complaint_categories": keyed(summary.complaint_categories),
        "complaint_departments": keyed(summary.complaint_departments),
        "complaints": {
            "resolved": summary.complaints.resolved,
            "resolved_over": summary.complaints.resolved_over,
            "unresolved": summary.complaints.unresolved,
            "unresolved_over": summary.complaints.unresolved_over,
        },
        "callbacks_by": dict(summary.callbacks_by),
        "satisfaction": scored(summary.satisfaction),
        "visit_satisfaction": scored(summary.visit_satisfaction),
        "unconcluded": [d.isoformat() for d in summary.unconcluded],
    }


# --- the daily department report (部門日報) ------------------------------------------------


def department_cases(cases: Iterable[CaseFacts], department: str) -> list[CaseFacts]:
    """The cases a department's daily report counts (requests, complaints and staff-opened
    callbacks; customer visits are not cases a department handles).

    Customer service is the first responder of every case (首問責任人, Q-3: it follows each
    one up until the resident is answered) and does the callbacks (B-2): its report counts
    the estate's cases, whichever department has them. Every other department counts the
    cases referred to it.
    """
    counted = [c for c in cases if c.kind != Kind.VISIT]
    if department == Department.CUSTOMER_SERVICE:
        return counted
    return [c for c in counted if c.department == department]


@dataclass(frozen=True)
class DailySummary:
    """One department's day (部門日報, C-15, B-5): what came in and was done in
    ``[window_start, window_end)``, what is open and overdue at ``as_of``.

    ``received`` and ``done`` count requests and complaints (``complaints`` of them were
    complaints); ``callbacks`` the callbacks recorded in the day; ``overdue`` every running
    clock of an open case that ran out, most overdue first; ``cases`` what the spreadsheet
    lists (the day's and the open ones).
    """

    department: str
    window_start: datetime
    window_end: datetime
    as_of: datetime
    received: int
    complaints: int
    done: int
    open_now: int
    open_complaints: int
    callbacks: int
    overdue: list[Overdue]
    cases: list[CaseFacts]

    @property
    def overdue_cases(self) -> int:
        """How many open cases have at least one clock that ran out."""
        return len({o.number for o in self.overdue})


def daily_summary(
    cases: Sequence[CaseFacts],
    deadlines: Sequence[DeadlineFacts],
    department: str,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> DailySummary:
    """Count one department's day ``[start, end)`` as of ``as_of`` (部門日報).

    ``cases`` as for :func:`weekly_summary` (every case of the window, every open one);
    :func:`department_cases` picks the department's.
    """
    mine = department_cases(cases, department)
    work = [c for c in mine if c.kind in CALLBACK_KINDS]
    received = [c for c in work if _in(c.accepted_at, start, end)]
    open_cases = [c for c in work if c.status in OPEN_STATUSES and c.accepted_at <= as_of]
    by_case: dict[int, list[DeadlineFacts]] = {}
    for deadline in deadlines:
        by_case.setdefault(deadline.case_id, []).append(deadline)
    overdue = sorted(
        (
            Overdue(case.number, d.rule, d.due_at, as_of - d.due_at)
            for case in open_cases
            for d in by_case.get(case.id, [])
            if _ran_out(d, as_of)
        ),
        key=lambda o: (o.due_at, o.number, o.rule),
    )
    listed = [
        c
        for c in mine
        if c.status in OPEN_STATUSES
        or any(_in(m, start, end) for m in (c.accepted_at, c.resolved_at, c.called_back_at))
    ]
    return DailySummary(
        department=department,
        window_start=start,
        window_end=end,
        as_of=as_of,
        received=len(received),
        complaints=sum(c.kind == Kind.COMPLAINT for c in received),
        done=sum(_in(c.resolved_at, start, end) for c in work),
        open_now=len(open_cases),
        open_complaints=sum(c.kind == Kind.COMPLAINT for c in open_cases),
        callbacks=sum(_in(c.called_back_at, start, end) for c in mine),
        overdue=overdue,
        cases=listed,
    )


def daily_data(summary: DailySummary) -> dict[str, object]:
    """A daily report's numbers as JSON-ready data, kept with its record."""
    return {
        "department": summary.department,
        "window_start": summary.window_start.isoformat(),
        "window_end": summary.window_end.isoformat(),
        "as_of": summary.as_of.isoformat(),
        "received": summary.received,
        "complaints": summary.complaints,
        "done": summary.done,
        "open_now": summary.open_now,
        "open_complaints": summary.open_complaints,
        "callbacks": summary.callbacks,
        "overdue": [
            {"number": o.number, "rule": o.rule, "seconds": int(o.overdue_by.total_seconds())}
            for o in summary.overdue
        ],
    }


# --- the supervisor's written conclusion -----------------------------------------------


def conclusion_problem(text: str) -> str | None:
    """Why ``text`` cannot be a week's written conclusion (Q-5): ``too_short``, ``too_long``,
    or None when it can."""
    length = len(text.strip())
    if length < MIN_CONCLUSION:
        return "too_short"
    if length > MAX_CONCLUSION:
        return "too_long"
    return None
