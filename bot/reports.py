"""Scheduled reports: the weekly summary (Q-5, C-15, B-5) to managers and leadership, and
the daily department report (部門日報) to each department's head and group.

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

Q-5's written conclusion: the customer-centre supervisors' copies carry a button
(:func:`handlers.reports.conclusion_keyboard`); what one of them writes is archived with the
report and sent to the same recipients (handlers/reports.py). The next week's summary names
the weeks of the last four whose summary still has no conclusion ("上周总结未写").

The daily department report (部門日、周匯報表, C-15, B-5): at the end of each working day
(the estate's ``workday_end``, its calendar: no report on a day off) :func:`daily_job` sends
each department's numbers of the day — received, done, open, overdue with their numbers,
complaints among them, callbacks recorded — to the department's head privately (customer
service: the customer-department head; engineering: its head; see
:data:`procedures.permissions.DEPARTMENT_HEADS`) and to its bound group, as text, chart and
spreadsheet. Once per estate, department and day (a ``reports`` row ``daily:<department>``),
a day missed while the bot was down sent late once; a department with nobody to tell is
skipped (and gets the latest day's report, late, once someone can read it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.i18n import t, t_raw
from bot.report_files import (
    category_counts,
    daily_chart,
    daily_workbook,
    department_counts,
    display_name,
    file_names,
    followed_counts,
    percent_text,
    rule_title,
    severity_counts,
    weekly_chart,
    weekly_workbook,
)
from handlers.reports import conclusion_keyboard
from procedures.deadlines import EstateRules
from procedures.identity import Department, Role
from procedures.permissions import DEPARTMENT_HEADS
from procedures.reports import (
    CONCLUSION_LOOKBACK,
    DAILY_DEPARTMENTS,
    WEEKLY,
    WEEKLY_RECIPIENTS,
    CallbackRate,
    CaseFacts,
    DailySummary,
    Satisfaction,
    WeeklySummary,
    WeekSlot,
    daily_data,
    daily_kind,
    daily_summary,
    is_late,
    latest_daily_due,
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
RECIPIENT_ROLES = WEEKLY_RECIPIENTS
#: Seconds between two checks for a due daily report.
DAILY_EVERY = 60.0
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
    # earlier weeks whose summary still has no written conclusion.
    unconcluded = await store.unconcluded(
        estate.id, slot.period_start - CONCLUSION_LOOKBACK, slot.period_start
    )
    summary = weekly_summary(
        cases,
        deadlines,
        start=slot.window_start,
        end=slot.due_at,
        as_of=now,
        rule_order=list(rules.rules),
        unconcluded=unconcluded,
    )
    late = is_late(slot, now)
    font = _font(services)

    def text_of(locale: str) -> str:
        return render_weekly(locale, estate.name, summary, slot, rules, late=late)

    def files_of(locale: str) -> tuple[bytes, bytes]:
        return _files(locale, estate.name, summary, slot, rules, cases, font)

    parts_for = _parts(text_of, files_of, estate, slot, "report_file")
    messages: list[Outgoing] = []
    people = await services.notifier.people(estate.id, {r.value for r in RECIPIENT_ROLES})
    # Q-5: the supervisors' copies carry the button that writes the week's conclusion.
    writers = {p.id for p in await services.notifier.people(estate.id, {Role.CC_SUPERVISOR.value})}
    for person in people:
        locale = services.notifier.locale_of(person)
        parts = await parts_for(locale)
        last_text = max(i for i, (_, attachment) in enumerate(parts) if attachment is None)
        for index, (text, attachment) in enumerate(parts):
            markup = None
            if person.id in writers and index == last_text:
                markup = conclusion_keyboard(locale, estate.id, slot.period_start).to_dict()
            messages.append(Outgoing(person.tg_user_id, text, person.id, attachment, markup))
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


Parts = list[tuple[str, tuple[str, bytes, str] | None]]


def _font(services: Services) -> str | None:
    return str(services.settings.chart_font) if services.settings.chart_font else None


def _parts(
    text_of: Callable[[str], str],
    files_of: Callable[[str], tuple[bytes, bytes]],
    estate: ReportingEstate,
    slot: WeekSlot,
    texts: str,
) -> Callable[[str], Awaitable[Parts]]:
    """A report's messages per language, made once each: the text (split to fit), then the
    chart and the spreadsheet with their captions (``texts``: the locale section with
    ``chart_caption``, ``workbook_caption`` and ``file_stem``). The files are drawn off the
    event loop; should that fail, the text still goes."""
    made: dict[str, Parts] = {}

    async def parts_for(locale: str) -> Parts:
        if locale not in made:
            parts: Parts = [(part, None) for part in split_text(text_of(locale))]
            try:
                chart, sheet = await asyncio.to_thread(files_of, locale)
            except Exception:
                log.exception("chart or spreadsheet of estate %s failed", estate.id)
            else:
                png_name, xlsx_name = file_names(locale, estate.name, slot, f"{texts}.file_stem")
                parts.append(
                    (t(locale, f"{texts}.chart_caption", estate=estate.name),
                     (png_name, chart, "photo"))
                )  # fmt: skip
                parts.append(
                    (t(locale, f"{texts}.workbook_caption", estate=estate.name),
                     (xlsx_name, sheet, "document"))
                )  # fmt: skip
            made[locale] = parts
        return made[locale]

    return parts_for


# --- the daily department report ---------------------------------------------------------


async def daily_job(context: Context) -> None:
    """Job: send the daily department reports that are due (部門日報, C-15, B-5)."""
    from handlers.common import services

    found = services(context)
    await send_due_daily(found, found.clock.now())


async def send_due_daily(services: Services, now: datetime) -> int:
    """Send each department's report of the latest working day that has ended, once;
    returns how many reports were queued now.

    Per estate: the latest end of a working day at or before ``now``
    (:func:`procedures.reports.latest_daily_due`), never one before the estate existed;
    per department of :data:`procedures.reports.DAILY_DEPARTMENTS` with someone to tell
    (its head, its group) and no report of that day yet. One estate's failure is logged and
    leaves the others alone.
    """
    store = ReportStore(services.db)
    sent = 0
    for estate in await store.estates():
        try:
            sent += await _daily(services, store, estate, now)
        except Exception:
            log.exception("daily reports of estate %s could not be sent", estate.id)
    if sent:
        try:
            await services.sender.drain()
        except Exception:  # the background sender retries what is left
            log.exception("outbox drain after the daily reports failed")
    return sent


async def _daily(
    services: Services, store: ReportStore, estate: ReportingEstate, now: datetime
) -> int:
    """Build and record the day's report of each department of one estate that is due."""
    rules = await services.rules(estate.id)
    slot = latest_daily_due(rules.calendar, now, since=estate.created_at)
    if slot is None:
        return 0
    due: list[tuple[str, list[Reader]]] = []
    for department in DAILY_DEPARTMENTS:
        if await store.exists(estate.id, daily_kind(department), slot.period_start):
            continue
        readers = await _daily_readers(services, estate.id, department)
        if readers:
            due.append((department, readers))
    if not due:
        return 0
    cases, deadlines = await store.facts(estate.id, slot.window_start, slot.due_at)
    late = is_late(slot, now)
    font = _font(services)
    sent = 0
    for department, readers in due:
        summary = daily_summary(
            cases, deadlines, department, start=slot.window_start, end=slot.due_at, as_of=now
        )

        def text_of(locale: str, summary: DailySummary = summary) -> str:
            return render_daily(locale, estate.name, summary, slot, rules, late=late)

        def files_of(locale: str, summary: DailySummary = summary) -> tuple[bytes, bytes]:
            chart = daily_chart(locale, estate.name, summary, slot, rules, font_path=font)
            return chart, daily_workbook(locale, estate.name, summary, slot, rules)

        parts_for = _parts(text_of, files_of, estate, slot, "daily_file")
        messages: list[Outgoing] = []
        for reader in readers:
            for text, attachment in await parts_for(reader.locale):
                messages.append(Outgoing(reader.chat_id, text, reader.person_id, attachment))
        if await store.record(
            estate.id,
            daily_kind(department),
            slot,
            sent_at=now,
            late=late,
            messages=messages,
            data=daily_data(summary),
        ):
            sent += 1
            log.info(
                "daily report of %s, estate %s, for %s queued%s",
                department, estate.id, slot.period_start, " (late)" if late else "",
            )  # fmt: skip
    return sent


@dataclass(frozen=True)
class Reader:
    """A chat a report goes to, in its reader's language (a person's, or for a group the
    deployment's)."""

    chat_id: int
    locale: str
    person_id: int | None = None


async def _daily_readers(services: Services, estate_id: int, department: str) -> list[Reader]:
    """Who reads a department's daily report: its head privately, each in their language,
    and its bound group."""
    readers: list[Reader] = []
    head = DEPARTMENT_HEADS.get(department)
    if head is not None:
        for person in await services.notifier.people(estate_id, {head.value}):
            locale = services.notifier.locale_of(person)
            readers.append(Reader(person.tg_user_id, locale, person.id))
    group = await services.identity.department(estate_id, department)
    if group is not None and group.chat_id is not None:
        readers.append(Reader(group.chat_id, services.notifier.default_locale))
    return readers


def render_daily(
    locale: str,
    estate: str,
    summary: DailySummary,
    slot: WeekSlot,
    rules: EstateRules,
    *,
    late: bool,
) -> str:
    """A department's daily report as HTML text in ``locale``: received (complaints among
    them), done, open, the overdue cases by number, callbacks recorded. Plain words: no
    rule ids (the clocks read by their titles)."""
    calendar = rules.calendar

    def when(moment: datetime, pattern: str = "%m-%d %H:%M") -> str:
        return calendar.local(moment).strftime(pattern)

    department = display_name(locale, f"department.{summary.department}", summary.department)
    lines = [
        t(locale, "daily.title", estate=estate, department=department,
          day=slot.period_start.strftime("%m-%d")),
        t(locale, "daily.period", start=when(slot.window_start), end=when(slot.due_at)),
    ]  # fmt: skip
    if late:
        lines.append(t(locale, "daily.late", due=when(slot.due_at)))
    lines += [
        "",
        t(locale, "daily.received", count=summary.received, complaints=summary.complaints),
        t(locale, "daily.done", count=summary.done),
        t(
            locale,
            "daily.open",
            as_of=when(summary.as_of),
            count=summary.open_now,
            complaints=summary.open_complaints,
        ),
        t(locale, "daily.callbacks", count=summary.callbacks),
        t(locale, "daily.overdue", count=summary.overdue_cases)
        if summary.overdue
        else t(locale, "daily.overdue_none"),
    ]
    for overdue in summary.overdue[:OVERDUE_LINES]:
        title = rule_title(locale, rules, overdue.rule) or t(locale, "daily.a_limit")
        lines.append(
            t(
                locale,
                "daily.overdue_line",
                number=overdue.number,
                title=title,
                overdue=_duration(locale, overdue.overdue_by),
            )
        )
    if len(summary.overdue) > OVERDUE_LINES:
        lines.append(t(locale, "report.overdue_more", count=len(summary.overdue) - OVERDUE_LINES))
    return "\n".join(lines)


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
    if summary.unconcluded:  # earlier weeks whose conclusion was never written
        weeks = " · ".join(
            t(locale, "report.week_of", monday=monday.strftime("%m-%d"))
            for monday in summary.unconcluded
        )
        lines.append(t_raw(locale, "report.unconcluded", weeks=weeks))

    # the week's items, everything by category and by department.
    lines += ["", t(locale, "report.section_cases")]
    filed = " · ".join(
        t(locale, "report.filed_item", kind=display_name(locale, f"kind.{kind}", kind), count=count)
        for kind, count in summary.filed.items()
    )
    lines.append(t_raw(locale, "report.filed", items=filed))
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

    # C-15: the complaints' own statistics — nature, category, department, progress.
    lines += ["", t(locale, "report.section_complaints")]
    lines.append(counts("report.severities", severity_counts(locale, summary)))
    lines.append(
        counts(
            "report.complaint_categories",
            category_counts(locale, summary, summary.complaint_categories),
        )
    )
    lines.append(
        counts(
            "report.complaint_departments",
            department_counts(locale, summary, summary.complaint_departments),
        )
    )
    progress = summary.complaints
    lines.append(
        t(
            locale,
            "report.complaint_progress",
            resolved=progress.resolved,
            resolved_over=progress.resolved_over,
            as_of=when(summary.as_of),
            open=progress.unresolved,
            open_over=progress.unresolved_over,
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
    # B-1, B-5: the callbacks recorded in the week by what they followed; B-3, A-1: the
    # scores given in callbacks and in customer visits, apart.
    recorded = sum(summary.callbacks_by.values())
    lines.append(
        t_raw(
            locale,
            "report.callbacks_by",
            count=recorded,
            items=" · ".join(
                t(locale, "report.count_item", name=name, count=count)
                for name, count in followed_counts(locale, summary)
            ),
        )
    )
    lines.append(_satisfaction_line(locale, "report.satisfaction_callbacks", summary.satisfaction))
    lines.append(
        _satisfaction_line(locale, "report.satisfaction_visits", summary.visit_satisfaction)
    )

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


def _satisfaction_line(locale: str, key: str, scores: Satisfaction) -> str:
    """``满意度（回访）：平均 4.3 分（12 人评分）· 5 分 6 · 4 分 3 …``, or that nobody scored."""
    if scores.average is None:
        return t_raw(locale, key, scores=t(locale, "report.satisfaction_none"))
    spread = " · ".join(
        t(locale, "report.score_item", score=score, count=count)
        for score, count in sorted(scores.counts.items(), reverse=True)
    )
    text = t(locale, "report.satisfaction", average=f"{scores.average:.1f}", count=scores.total)
    return t_raw(locale, key, scores=f"{text} · {spread}")


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
