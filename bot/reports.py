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

Each recipient gets the report as HTML text, then a chart image and a spreadsheet of the
same numbers (PROCEDURES.md: "text + a chart image + a spreadsheet", see
:mod:`bot.report_files`), all queued in that one transaction. Should drawing them fail, the
text still goes out.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.i18n import t, t_raw
from bot.report_files import (
    category_counts,
    department_counts,
    display_name,
    file_names,
    percent_text,
    rule_title,
    severity_counts,
    weekly_chart,
    weekly_workbook,
)
from procedures.deadlines import EstateRules
from procedures.identity import Department, Role
from procedures.reports import (
    WEEKLY,
    CallbackRate,
    CaseFacts,
    WeeklySummary,
    WeekSlot,
    is_late,
    latest_due,
    summary_data,
    weekly_summary,
)
from storage.reports import Outgoing, ReportingEstate, ReportStore

if TYPE_CHECKING:
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

    found = services(context)
    await send_due_weekly(found, found.clock.now())


async def send_due_weekly(services: Services, now: datetime) -> int:
    """Send each estate's weekly summary whose moment has passed, once; returns how many
    estates got one now (Q-5, C-15, B-5).

    For each estate only the latest report moment at or before ``now`` counts (never an
    older week, never one before the estate existed). One estate's failure is logged and
    leaves the others alone; it is tried again at the next run. The outbox is drained at
    the end (what Telegram refuses for now stays queued for the background sender).
    """
    store = ReportStore(services.db)
    sent = 0
    for estate in await store.estates():
        try:
            if await _weekly(services, store, estate, now):
                sent += 1
        except Exception:
            log.exception("weekly summary of estate %s could not be sent", estate.id)
    if sent:
        try:
            await services.sender.drain()
        except Exception:  # the background sender retries what is left
            log.exception("outbox drain after the weekly summary failed")
    return sent


async def _weekly(
    services: Services, store: ReportStore, estate: ReportingEstate, now: datetime
) -> bool:
    """Build and record one estate's summary if it is due and not yet sent."""
    rules = await services.rules(estate.id)
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
    font = str(services.settings.chart_font) if services.settings.chart_font else None
    made: dict[str, list[tuple[str, tuple[str, bytes, str] | None]]] = {}

    async def parts_for(locale: str) -> list[tuple[str, tuple[str, bytes, str] | None]]:
        """The text in messages, then the chart and the spreadsheet with their captions."""
        if locale not in made:
            report = render_weekly(locale, estate.name, summary, slot, rules, late=late)
            parts: list[tuple[str, tuple[str, bytes, str] | None]] = [
                (part, None) for part in split_text(report)
            ]
            try:  # drawn off the event loop; a failure here must not hold the text back
                chart, sheet = await asyncio.to_thread(
                    _files, locale, estate.name, summary, slot, rules, cases, font
                )
            except Exception:
                log.exception("weekly chart or spreadsheet of estate %s failed", estate.id)
            else:
                png_name, xlsx_name = file_names(locale, estate.name, slot)
                parts.append(
                    (t(locale, "report_file.chart_caption", estate=estate.name),
                     (png_name, chart, "photo"))
                )  # fmt: skip
                parts.append(
                    (t(locale, "report_file.workbook_caption", estate=estate.name),
                     (xlsx_name, sheet, "document"))
                )  # fmt: skip
            made[locale] = parts
        return made[locale]

    messages: list[Outgoing] = []
    people = await services.notifier.people(estate.id, {r.value for r in RECIPIENT_ROLES})
    for person in people:
        for text, attachment in await parts_for(services.notifier.locale_of(person)):
            messages.append(Outgoing(person.tg_user_id, text, person.id, attachment))
    group = await services.identity.department(estate.id, Department.MANAGEMENT.value)
    if group is not None and group.chat_id is not None:
        for text, attachment in await parts_for(services.notifier.default_locale):
            messages.append(Outgoing(group.chat_id, text, None, attachment))
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


def _files(
    locale: str,
    estate: str,
    summary: WeeklySummary,
    slot: WeekSlot,
    rules: EstateRules,
    cases: list[CaseFacts],
    font: str | None,
) -> tuple[bytes, bytes]:
    """The chart (PNG) and the spreadsheet (XLSX) of one language."""
    chart = weekly_chart(locale, estate, summary, slot, rules, font_path=font)
    return chart, weekly_workbook(locale, estate, summary, slot, rules, cases)


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
        t(locale, "report.filed_item", kind=display_name(locale, f"kind.{kind}", kind), count=count)
        for kind, count in summary.filed.items()
    )
    lines.append(t_raw(locale, "report.filed", items=filed))
    lines.append(counts("report.severities", severity_counts(locale, summary)))
    lines.append(counts("report.categories", category_counts(locale, summary)))
    lines.append(counts("report.departments", department_counts(locale, summary)))
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
                title=rule_title(locale, rules, rate.rule),
                met=rate.met,
                total=rate.total,
                percent=percent_text(rate.percent),
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
                title=rule_title(locale, rules, overdue.rule),
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
            percent=percent_text(every.percent),
        )
    ]
    if complaints.completed:
        lines.append(
            t(
                locale,
                "report.callbacks_complaints",
                called=complaints.called_back,
                completed=complaints.completed,
                percent=percent_text(complaints.percent),
            )
        )
    if every.waiting or every.missed:
        lines.append(t(locale, "report.callbacks_open", waiting=every.waiting, missed=every.missed))
        lines.append(t(locale, "report.below_target"))
    return lines


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
