"""Renovation's papers and reports (issue 11, items 9, 16, 17): the control sheet (装修掌控表)
with the day's patrol grid, the weekly renovation report (装修办理报表) and the dossier — their
texts, their files and the two scheduled jobs. The numbers are
:mod:`procedures.renovation_reports`'; the rows :mod:`storage.renovation_reports`'.

**The control sheet, daily** (:func:`sheet_job`): at the end of each working day (the
estate's ``workday_end``, as the daily department report: by then the day's patrols, due by
the end of the working day (R-14), are final) the customer-department head
(``customer_head``) gets every open renovation of the estate — state, unit, owner,
contractor, works period, open violations, deposit held and arrears, the day's patrols by
department — as a summary text (the renovations that need attention first, then as many
more as a message holds) and a spreadsheet of all of them with the day's patrol grid
(item 9) on a sheet of its own, gaps in red. Once per estate and working day (a ``reports``
row ``renovation_sheet``, written with the messages in one transaction: across restarts
too); a day missed while the bot was down goes out late, once; an estate with no open
renovation, or nobody to read it, gets none.

**The weekly renovation report** (:func:`weekly_job`): at the weekly summary's moment
(Friday before the end of work, by the estate's calendar) the weekly summary's readers and
the two heads who sign renovations get the week's applications, works, violations,
penalties, deposits and patrol coverage as text, a chart image and a spreadsheet; once per
estate and week (``renovation_weekly``); an estate that never had a renovation gets none.

**The dossier** (:func:`dossier_zip`): one renovation's zip — ``timeline.xlsx`` (every
audit event of the renovation in estate time: when, who, what, the details), ``files/``
(every original kept as evidence, byte for byte, named by its SHA-256) and ``SHA256SUMS``
(``sha256sum -c`` checks it) — something that settles a dispute.

Their texts, spreadsheets and the dossier's zip are ``handlers.renovation_papers``' (the
commands show the same papers on demand); this module sends them on time, and draws the
weekly chart. The files are made in a worker thread; openpyxl and Pillow are imported the
first time a file is made.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.i18n import t
from bot.report_files import BLUE, RED, Bar, draw_panels, rate_colour
from handlers.renovation_papers import (
    cell,
    department_name,
    header_row,
    render_sheet,
    render_weekly,
    saved,
    sheet_file_name,
    sheet_workbook,
)
from procedures.deadlines import EstateRules
from procedures.renovation import PATROL_DEPARTMENTS
from procedures.renovation_reports import (
    SHEET,
    SHEET_READERS,
    WEEKLY_KIND,
    WEEKLY_READERS,
    Sheet,
    WeeklyRenovation,
    control_sheet,
    sheet_data,
    weekly_data,
)
from procedures.reports import WeekSlot, is_late, latest_daily_due, latest_due
from storage.fonts import cjk_font
from storage.renovation_reports import RenovationReportStore
from storage.reports import Outgoing, ReportingEstate, ReportStore

if TYPE_CHECKING:
    from handlers.common import Context, Services

log = logging.getLogger(__name__)

#: Seconds between two checks for a due control sheet or weekly renovation report.
SHEET_EVERY = 60.0
RENOVATION_WEEKLY_EVERY = 60.0


def weekly_files(
    locale: str, estate: str, week: WeeklyRenovation, slot: WeekSlot, rules: EstateRules,
    font_path: str | None,
) -> tuple[bytes, bytes]:  # fmt: skip
    """The weekly renovation report's chart (PNG) and spreadsheet (XLSX) in ``locale``."""
    from openpyxl import Workbook

    font = cjk_font(font_path)
    drawn = locale if font is not None or locale == "en" else "en"
    calendar = rules.calendar

    def when(moment: datetime) -> str:
        return calendar.local(moment).strftime("%m-%d %H:%M")

    figures = _figures(week)
    top = max((n for _, n in figures), default=0)
    bars = [
        Bar(t(drawn, f"renovation_reports.fig.{key}"), n / top if top else 0.0,
            RED if key in ("minor", "serious") else BLUE, str(n))
        for key, n in figures
    ]  # fmt: skip
    rates = []
    for d in PATROL_DEPARTMENTS:
        met, due = week.patrols.get(d, (0, 0))
        share = week.coverage(d)
        rates.append(
            Bar(department_name(drawn, d), (share or 0) / 100, rate_colour(share),
                f"{met}/{due}" + ("" if share is None else f" · {share}%"))
        )  # fmt: skip
    title = t(drawn, "renovation_reports.chart_title", estate=estate if font else "").strip(" ·")
    period = t(drawn, "report_file.period", start=when(slot.window_start), end=when(slot.due_at))
    chart = draw_panels(
        drawn,
        str(font) if font else None,
        title,
        period,
        [
            (t(drawn, "renovation_reports.chart_figures"), bars),
            (t(drawn, "renovation_reports.chart_coverage"), rates),
        ],
    )
    book = Workbook(write_only=True)
    summary = book.create_sheet(t(locale, "renovation_reports.weekly_sheet"))
    summary.column_dimensions["A"].width = 30
    summary.column_dimensions["B"].width = 16
    summary.append([cell(summary, t(locale, "renovation_reports.chart_title", estate=estate),
                          bold=True)])  # fmt: skip
    summary.append([t(locale, "report_file.from"), when(slot.window_start)])
    summary.append([t(locale, "report_file.to"), when(slot.due_at)])
    summary.append([])
    for key, n in figures:
        summary.append([t(locale, f"renovation_reports.fig.{key}"), n])
    for key, fen in (("penalties_fen", week.penalties_fen), ("collected_fen", week.collected_fen),
                     ("refunded_fen", week.refunded_fen)):  # fmt: skip
        summary.append([t(locale, f"renovation_reports.fig.{key}"), fen / 100])
    patrols = book.create_sheet(t(locale, "renovation_reports.patrols_sheet"))
    header_row(patrols, locale, ["department", "met", "due", "rate"])
    for d in PATROL_DEPARTMENTS:
        met, due = week.patrols.get(d, (0, 0))
        share = week.coverage(d)
        patrols.append(
            [department_name(locale, d), met, due, "—" if share is None else f"{share}%"]
        )
    return chart, saved(book)


def _figures(week: WeeklyRenovation) -> list[tuple[str, int]]:
    return [
        ("received", week.received),
        ("approved", week.approved),
        ("rejected", week.rejected),
        ("started", week.started),
        ("completed", week.completed),
        ("minor", week.minor),
        ("serious", week.serious),
        ("penalties", week.penalties),
    ]


# --- the jobs --------------------------------------------------------------------------------


async def sheet_job(context: Context) -> None:
    """Job: send the control sheets that are due (issue 11, item 17)."""
    from handlers.common import services

    found = services(context)
    await send_due_sheets(found, found.clock.now())


async def send_due_sheets(services: Services, now: datetime) -> int:
    """Send each estate's control sheet of the latest working day that has ended, once, to
    its customer-department head; returns how many were queued now. One estate's failure
    is logged and leaves the others alone."""
    store = ReportStore(services.db)
    sent = 0
    for estate in await store.estates():
        try:
            sent += await _sheet(services, store, estate, now)
        except Exception:
            log.exception("renovation control sheet of estate %s could not be sent", estate.id)
    if sent:
        await services.deliver()
    return sent


async def _readers(services: Services, estate_id: int, roles: frozenset[Any]) -> list[Any]:
    return list(await services.notifier.people(estate_id, {r.value for r in roles}))


async def _sheet(
    services: Services, store: ReportStore, estate: ReportingEstate, now: datetime
) -> int:
    rules = await services.rules(estate.id)
    slot = latest_daily_due(rules.calendar, now, since=estate.created_at)
    if slot is None or await store.exists(estate.id, SHEET, slot.period_start):
        return 0
    people = await _readers(services, estate.id, SHEET_READERS)
    if not people:
        return 0
    rows = await RenovationReportStore(services.db).sheet_rows(estate.id, slot.period_start)
    if not rows:
        return 0
    sheet = control_sheet(rows, slot.period_start)
    late = is_late(slot, now)
    made: dict[str, list[tuple[str, tuple[str, bytes, str] | None]]] = {}
    messages: list[Outgoing] = []
    for person in people:
        locale = services.notifier.locale_of(person)
        if locale not in made:
            made[locale] = await sheet_parts(locale, estate.name, sheet, late=late)
        for text, attachment in made[locale]:
            messages.append(Outgoing(person.tg_user_id, text, person.id, attachment))
    recorded = await store.record(
        estate.id, SHEET, slot, sent_at=now, late=late, messages=messages, data=sheet_data(sheet)
    )
    return int(recorded)


async def sheet_parts(
    locale: str, estate: str, sheet: Sheet, *, late: bool = False, with_grid: bool = True
) -> list[tuple[str, tuple[str, bytes, str] | None]]:
    """The control sheet's messages in ``locale``: its text (split to fit), then the
    spreadsheet (made off the event loop; should that fail, the text still goes)."""
    from bot.reports import split_text

    text = render_sheet(locale, estate, sheet, late=late, with_grid=with_grid)
    parts: list[tuple[str, tuple[str, bytes, str] | None]] = [(p, None) for p in split_text(text)]
    try:
        book = await asyncio.to_thread(sheet_workbook, locale, estate, sheet)
    except Exception:
        log.exception("the control sheet's spreadsheet of %s failed", estate)
        return parts
    caption = t(locale, "renovation_reports.workbook_caption", estate=estate)
    parts.append((caption, (sheet_file_name(locale, estate, sheet), book, "document")))
    return parts


async def weekly_job(context: Context) -> None:
    """Job: send the weekly renovation reports that are due."""
    from handlers.common import services

    found = services(context)
    await send_due_weekly(found, found.clock.now())


async def send_due_weekly(services: Services, now: datetime) -> int:
    """Send each estate's weekly renovation report whose moment has passed, once; returns
    how many were queued now."""
    store = ReportStore(services.db)
    sent = 0
    for estate in await store.estates():
        try:
            sent += await _weekly(services, store, estate, now)
        except Exception:
            log.exception("weekly renovation report of estate %s could not be sent", estate.id)
    if sent:
        await services.deliver()
    return sent


async def _weekly(
    services: Services, store: ReportStore, estate: ReportingEstate, now: datetime
) -> int:
    rules = await services.rules(estate.id)
    slot = latest_due(
        rules.calendar,
        now,
        rules.weekly_summary_weekday,
        rules.weekly_summary_at,
        since=estate.created_at,
    )
    if slot is None or await store.exists(estate.id, WEEKLY_KIND, slot.period_start):
        return 0
    reports = RenovationReportStore(services.db)
    if not await reports.any_renovation(estate.id, slot.due_at):
        return 0
    people = await _readers(services, estate.id, WEEKLY_READERS)
    if not people:
        return 0
    week = await reports.week(estate.id, slot.window_start, slot.due_at)
    late = is_late(slot, now)
    font = str(services.settings.chart_font) if services.settings.chart_font else None
    made: dict[str, list[tuple[str, tuple[str, bytes, str] | None]]] = {}
    messages: list[Outgoing] = []
    for person in people:
        locale = services.notifier.locale_of(person)
        if locale not in made:
            parts: list[tuple[str, tuple[str, bytes, str] | None]] = [
                (render_weekly(locale, estate.name, week, slot, rules, late=late), None)
            ]
            try:
                chart, book = await asyncio.to_thread(
                    weekly_files, locale, estate.name, week, slot, rules, font
                )
            except Exception:
                log.exception("the weekly renovation files of estate %s failed", estate.id)
            else:
                stem = f"{t(locale, 'renovation_reports.weekly_stem')}-{estate.name}-"
                stem += slot.period_start.isoformat()
                stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
                parts.append((t(locale, "renovation_reports.chart_caption", estate=estate.name),
                              (f"{stem}.png", chart, "photo")))  # fmt: skip
                parts.append((t(locale, "renovation_reports.weekly_caption", estate=estate.name),
                              (f"{stem}.xlsx", book, "document")))  # fmt: skip
            made[locale] = parts
        for text, attachment in made[locale]:
            messages.append(Outgoing(person.tg_user_id, text, person.id, attachment))
    recorded = await store.record(
        estate.id, WEEKLY_KIND, slot, sent_at=now, late=late, messages=messages,
        data=weekly_data(week),
    )  # fmt: skip
    return int(recorded)


__all__ = [
    "send_due_sheets",
    "send_due_weekly",
    "sheet_job",
    "sheet_parts",
    "weekly_job",
]
