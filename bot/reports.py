"""Scheduled reports: the weekly summary (Q-5, C-15, B-5) to managers and leadership.

Every Friday before the end of work (estate time; default 17:00, moved to the last working
day before a Friday holiday — :meth:`procedures.calendar.WorkingCalendar.weekly_moment`),
each estate's project manager, customer-centre supervisor, management-department manager
and leadership get the week's summary privately, each in their own language, and the
estate's management department group gets it too when one is bound.

Exactly once per estate and week: the JobQueue runs :func:`weekly_job` every minute; it
finds the estates whose latest report moment has passed and that have no ``reports`` row
for that week yet, and for each writes the row and queues the messages in one transaction
(:meth:`storage.reports.ReportStore.record`). Two runs, two processes or a crash cannot
send it twice; a report whose moment passed while the bot was down goes out at the first
run after start, marked late (补发). The JobQueue is only the clock: the state is in the
database.

The report is HTML text for now. A chart image and a spreadsheet of the same numbers
(PROCEDURES.md: "text + a chart image + a spreadsheet") are a later step; they will be
drawn from :class:`procedures.reports.WeeklySummary` and sent with the text.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.i18n import has, t, t_raw
from procedures.deadlines import EstateRules
from procedures.identity import Department, Role
from procedures.reports import (
    UNCLASSIFIED,
    WEEKLY,
    CallbackRate,
    WeeklySummary,
    WeekSlot,
    is_late,
    latest_due,
    summary_data,
    weekly_summary,
)
from storage.db import utcnow
from storage.reports import Outgoing, ReportingEstate, ReportStore

if TYPE_CHECKING:
    from bot.engine import Engine
    from handlers.common import Context, Services

log = logging.getLogger(__name__)

#: Seconds between two checks for a due report (the job in ``post_init``).
WEEKLY_EVERY = 60.0
#: Q-5, C-15, B-5: who gets the weekly summary privately ("sent to leadership", B-5).
RECIPIENT_ROLES = frozenset(
    {Role.PROJECT_MANAGER, Role.CC_SUPERVISOR, Role.MGMT_MANAGER, Role.LEADERSHIP}
)
#: At most this many overdue cases are listed; the rest are counted.
OVERDUE_LINES = 15
#: Telegram's limit for one message's text.
MESSAGE_LIMIT = 4096


async def weekly_job(context: Context) -> None:
    """Job: send the weekly summaries that are due (Q-5, C-15, B-5)."""
    from handlers.common import services

    await send_due_weekly(services(context), utcnow())


async def send_due_weekly(services: Services, now: datetime) -> int:
    """Send each estate's weekly summary whose moment has passed, once; returns how many
    estates got one now (Q-5, C-15, B-5).

    For each estate only the latest report moment at or before ``now`` counts (never an
    older week, never one before the estate existed). One estate's failure is logged and
    leaves the others alone; it is tried again at the next run. The outbox is drained at
    the end (what Telegram refuses for now stays queued for the background sender).
    """
    engine: Engine = services.extras["engine"]
    store = ReportStore(services.db)
    sent = 0
    for estate in await store.estates():
        try:
            if await _weekly(services, engine, store, estate, now):
                sent += 1
        except Exception:
            log.exception("weekly summary of estate %s could not be sent", estate.id)
    if sent:
        try:
            await services.extras["sender"].drain()
        except Exception:  # the background sender retries what is left
            log.exception("outbox drain after the weekly summary failed")
    return sent


async def _weekly(
    services: Services, engine: Engine, store: ReportStore, estate: ReportingEstate, now: datetime
) -> bool:
    """Build and record one estate's summary if it is due and not yet sent."""
    rules = await engine.rules(estate.id)
    slot = latest_due(
        rules.calendar,
        now,
        rules.weekly_summary_weekday,
        rules.weekly_summary_at,
        since=estate.created_at,
    )
    if slot is None or await store.exists(estate.id, WEEKLY, slot.period_start):
        return False
    cases, deadlines = await store.facts(estate.id, slot.window_start, slot.due_at)
    summary = weekly_summary(
        cases,
        deadlines,
        start=slot.window_start,
        end=slot.due_at,
        as_of=now,
        rule_order=list(rules.rules),
    )
    late = is_late(slot, now)
    texts: dict[str, list[str]] = {}

    def text_for(locale: str) -> list[str]:
        if locale not in texts:
            report = render_weekly(locale, estate.name, summary, slot, rules, late=late)
            texts[locale] = split_text(report)
        return texts[locale]

    messages: list[Outgoing] = []
    people = await engine.people(estate.id, {r.value for r in RECIPIENT_ROLES})
    for person in people:
        for part in text_for(engine.locale_of(person)):
            messages.append(Outgoing(person.tg_user_id, part, person.id))
    group = await services.identity.department(estate.id, Department.MANAGEMENT.value)
    if group is not None and group.chat_id is not None:
        for part in text_for(engine.default_locale):
            messages.append(Outgoing(group.chat_id, part))
    if not messages:
        log.warning("estate %s has nobody to send the weekly summary to", estate.id)
    recorded = await store.record(
        estate.id,
        WEEKLY,
        slot,
        sent_at=now,
        late=late,
        messages=messages,
        data=summary_data(summary),
    )
    if recorded:
        log.info(
            "weekly summary of estate %s for %s queued for %d chats%s",
            estate.id,
            slot.period_start,
            len({m.chat_id for m in messages}),
            " (late)" if late else "",
        )
    return recorded


# --- rendering ------------------------------------------------------------------------


def render_weekly(
    locale: str,
    estate: str,
    summary: WeeklySummary,
    slot: WeekSlot,
    rules: EstateRules,
    *,
    late: bool,
) -> str:
    """The weekly summary as HTML text in ``locale`` (Q-5 items, C-15 complaint statistics,
    on-time rates per rule, B-5/C-14 callbacks, the overdue list)."""
    calendar = rules.calendar

    def when(moment: datetime, pattern: str = "%m-%d %H:%M") -> str:
        return calendar.local(moment).strftime(pattern)

    def counts(key: str, pairs: list[tuple[str, int]]) -> str:
        joined = " · ".join(
            t(locale, "report.count_item", name=name, count=count) for name, count in pairs
        )
        return t_raw(locale, key, items=joined or t(locale, "report.none"))

    lines = [
        t(locale, "report.title", estate=estate),
        t(
            locale,
            "report.period",
            start=when(slot.window_start, "%Y-%m-%d %H:%M"),
            end=when(slot.due_at, "%Y-%m-%d %H:%M"),
        ),
    ]
    if late:
        lines.append(t(locale, "report.late", due=when(slot.due_at)))

    # the week's items; C-15: complaints by nature, and everything by category and
    # by department.
    lines += ["", t(locale, "report.section_cases")]
    filed = " · ".join(
        t(locale, "report.filed_item", kind=_name(locale, f"kind.{kind}", kind), count=count)
        for kind, count in summary.filed.items()
    )
    lines.append(t_raw(locale, "report.filed", items=filed))
    unclassified = t(locale, "report.unclassified")
    lines.append(
        counts(
            "report.severities",
            [
                (unclassified if key == UNCLASSIFIED else _name(locale, f"severity.{key}", key), n)
                for key, n in summary.severities.items()
            ],
        )
    )
    no_category = t(locale, "report.no_category")
    lines.append(
        counts(
            "report.categories",
            [
                (_name(locale, f"category.{key}", key) if key else no_category, n)
                for key, n in summary.categories.items()
            ],
        )
    )
    no_department = t(locale, "report.no_department")
    lines.append(
        counts(
            "report.departments",
            [
                (_name(locale, f"department.{key}", key) if key else no_department, n)
                for key, n in summary.departments.items()
            ],
        )
    )
    lines.append(
        t(
            locale,
            "report.progress",
            done=summary.done,
            closed=summary.closed,
            as_of=when(summary.as_of),
            open=summary.open_now,
        )
    )

    # On-time rates per rule, for the deadlines that came due in the week.
    lines += ["", t(locale, "report.section_on_time")]
    for rate in summary.on_time:
        lines.append(
            t(
                locale,
                "report.on_time_line",
                rule=rate.rule,
                title=_rule_title(locale, rules, rate.rule),
                met=rate.met,
                total=rate.total,
                percent=_percent(rate.percent),
            )
        )
    if not summary.on_time:
        lines.append(t(locale, "report.on_time_none"))

    # B-1..B-5, C-14: callbacks of the cases completed in the week, against 100 %.
    lines += ["", t(locale, "report.section_callbacks")]
    lines += _callback_lines(locale, summary.callbacks, summary.complaint_callbacks)

    # Open cases with a deadline that ran out.
    lines += ["", t(locale, "report.section_overdue", as_of=when(summary.as_of))]
    for overdue in summary.overdue[:OVERDUE_LINES]:
        lines.append(
            t(
                locale,
                "report.overdue_line",
                number=overdue.number,
                rule=overdue.rule,
                title=_rule_title(locale, rules, overdue.rule),
                overdue=_duration(locale, overdue.overdue_by),
            )
        )
    if len(summary.overdue) > OVERDUE_LINES:
        lines.append(t(locale, "report.overdue_more", count=len(summary.overdue) - OVERDUE_LINES))
    if not summary.overdue:
        lines.append(t(locale, "report.overdue_none"))
    return "\n".join(lines)


def _callback_lines(locale: str, every: CallbackRate, complaints: CallbackRate) -> list[str]:
    if every.completed == 0:
        return [t(locale, "report.callbacks_none")]
    lines = [
        t(
            locale,
            "report.callbacks",
            completed=every.completed,
            called=every.called_back,
            percent=_percent(every.percent),
        )
    ]
    if complaints.completed:
        lines.append(
            t(
                locale,
                "report.callbacks_complaints",
                called=complaints.called_back,
                completed=complaints.completed,
                percent=_percent(complaints.percent),
            )
        )
    if every.waiting or every.missed:
        lines.append(t(locale, "report.callbacks_open", waiting=every.waiting, missed=every.missed))
        lines.append(t(locale, "report.below_target"))
    return lines


def _name(locale: str, key: str, fallback: str) -> str:
    """A code's display name, or the code itself when no text exists for it."""
    return t(locale, key) if has(key) else fallback


def _rule_title(locale: str, rules: EstateRules, rule_id: str) -> str:
    """A deadline rule's title (``title_key`` of procedures.deadlines), or nothing."""
    rule = rules.rules.get(rule_id)
    return t(locale, rule.title_key) if rule is not None and has(rule.title_key) else ""


def _percent(value: int | None) -> str:
    return "—" if value is None else f"{value}%"


def _duration(locale: str, delta: timedelta) -> str:
    """``2 天 3 小时``, ``4 小时 5 分钟`` or ``45 分钟``."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return t(locale, "report.days", days=days, hours=hours)
    if hours:
        return t(locale, "report.hours", hours=hours, minutes=minutes)
    return t(locale, "report.minutes", minutes=minutes)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split a long report into messages Telegram accepts, at line breaks."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line longer than a message: cut it
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current or not parts:
        parts.append(current)
    return parts
