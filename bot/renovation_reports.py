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

The spreadsheets are written in openpyxl's write-only mode (2,000 rows in a fraction of a
second), in a worker thread; openpyxl and Pillow are imported the first time a file is made.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import zipfile
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.i18n import t, t_raw
from bot.report_files import BLUE, RED, Bar, draw_panels, rate_colour
from procedures.deadlines import EstateRules
from procedures.renovation import PATROL_DEPARTMENTS, Status
from procedures.renovation_reports import (
    SHEET,
    SHEET_READERS,
    WEEKLY_KIND,
    WEEKLY_READERS,
    Sheet,
    SheetRow,
    WeeklyRenovation,
    control_sheet,
    sheet_data,
    weekly_data,
)
from procedures.renovation_settings import yuan
from procedures.reports import WeekSlot, is_late, latest_daily_due, latest_due
from storage.db import parse_iso
from storage.fonts import cjk_font
from storage.renovation_reports import DossierFacts, RenovationReportStore
from storage.reports import Outgoing, ReportingEstate, ReportStore

if TYPE_CHECKING:
    from handlers.common import Context, Services

log = logging.getLogger(__name__)

#: Seconds between two checks for a due control sheet or weekly renovation report.
SHEET_EVERY = 60.0
RENOVATION_WEEKLY_EVERY = 60.0
#: The most renovations the text lists one by one (the spreadsheet has every one).
TEXT_ROWS = 25
#: The most gaps of the patrol grid the text lists.
GAP_ROWS = 30
#: Telegram's largest document a bot sends (50 MB), less room for the request.
MAX_DOCUMENT = 48 * 1024 * 1024


# --- texts ----------------------------------------------------------------------------------


def _mark(locale: str, row: SheetRow, department: str) -> str:
    """✓ patrolled, — missing, blank when the works are not patrolled (not active)."""
    if not row.patrols_due:
        return ""
    return "✓" if department in row.patrolled else "—"


def _status(locale: str, status: Status) -> str:
    return t(locale, f"renovation.status.{status.value}")


def _department(locale: str, department: str) -> str:
    return t(locale, f"department.{department}")


def row_line(locale: str, row: SheetRow) -> str:
    """One renovation in the sheet's text: unit, number, state, owner, contractor, period,
    then what needs attention (patrols, notices, money)."""
    parts = [
        t(
            locale,
            "renovation_reports.row",
            unit=row.label,
            number=row.number,
            status=_status(locale, row.status),
            owner=row.owner,
            contractor=row.contractor,
            start=row.period_from.strftime("%m-%d"),
            end=row.period_to.strftime("%m-%d"),
            held=yuan(row.held_fen),
        )
    ]
    if row.patrols_due:
        marks = " ".join(
            t(locale, f"renovation_reports.short.{d}") + _mark(locale, row, d)
            for d in PATROL_DEPARTMENTS
        )
        parts.append(t(locale, "renovation_reports.row_patrols", marks=marks))
    if row.open_violations:
        parts.append(t(locale, "renovation_reports.row_violations", count=row.open_violations))
    if row.arrears_fen:
        parts.append(t(locale, "renovation_reports.row_arrears", amount=yuan(row.arrears_fen)))
    return " · ".join(parts)


def _coverage_line(locale: str, sheet: Sheet) -> str:
    items = " · ".join(
        t(locale, "renovation_reports.coverage_item", department=_department(locale, d),
          done=sheet.coverage(d)[0], due=sheet.coverage(d)[1])
        for d in PATROL_DEPARTMENTS
    )  # fmt: skip
    return t_raw(locale, "renovation_reports.coverage", items=items)


def render_sheet(
    locale: str, estate: str, sheet: Sheet, *, late: bool = False, with_grid: bool = True
) -> str:
    """The control sheet as HTML text: the counts, the money, the day's patrols, then the
    renovations that need attention first and as many others as fit; the grid's gaps when
    ``with_grid`` (the daily sheet); every renovation is in the spreadsheet."""
    day = sheet.day.strftime("%Y-%m-%d")
    lines = [t(locale, "renovation_reports.sheet_title", estate=estate, day=day)]
    if late:
        lines.append(t(locale, "renovation_reports.late"))
    if not sheet.rows:
        lines.append(t(locale, "renovation_reports.sheet_empty"))
        return "\n".join(lines)
    states = " · ".join(
        t(locale, "renovation_reports.count_item", name=_status(locale, s), count=n)
        for s, n in sheet.by_status.items()
    )
    lines += [
        t_raw(locale, "renovation_reports.sheet_count", count=len(sheet.rows), items=states),
        t(
            locale,
            "renovation_reports.sheet_money",
            held=yuan(sheet.held_fen),
            arrears=yuan(sheet.arrears_fen),
        ),
        t(locale, "renovation_reports.sheet_violations", count=sheet.open_violations),
    ]
    if sheet.grid:
        lines.append(_coverage_line(locale, sheet))
    attention = sheet.attention
    listed = list(attention[:TEXT_ROWS])
    if attention:
        lines += ["", t(locale, "renovation_reports.attention", count=len(attention))]
    else:
        lines += ["", t(locale, "renovation_reports.attention_none")]
    lines += [f"• {row_line(locale, row)}" for row in listed]
    noted = {r.id for r in attention}
    others = [r for r in sheet.rows if r.id not in noted]
    room = TEXT_ROWS - len(listed)
    if others and room > 0:
        lines += ["", t(locale, "renovation_reports.others")]
        lines += [f"• {row_line(locale, row)}" for row in others[:room]]
        listed += others[:room]
    if len(sheet.rows) > len(listed):
        lines.append(t(locale, "renovation_reports.more", count=len(sheet.rows) - len(listed)))
    if with_grid and sheet.grid:
        lines += ["", *render_grid(locale, estate, sheet, title=False).split("\n")]
    lines += ["", t(locale, "renovation_reports.sheet_file", count=len(sheet.rows))]
    return "\n".join(lines)


def render_grid(locale: str, estate: str, sheet: Sheet, *, title: bool = True) -> str:
    """Item 9: the day's patrol grid as text — each department's patrols done against due
    and the renovations a department has not patrolled (the gaps), by building and unit."""
    lines = []
    if title:
        day = sheet.day.strftime("%Y-%m-%d")
        lines.append(t(locale, "renovation_reports.grid_title", estate=estate, day=day))
        if not sheet.grid:
            lines.append(t(locale, "renovation_reports.grid_empty"))
            return "\n".join(lines)
        lines.append(_coverage_line(locale, sheet))
    gaps = sheet.gaps
    if not gaps:
        lines.append(t(locale, "renovation_reports.grid_complete", count=len(sheet.grid)))
        return "\n".join(lines)
    lines.append(t(locale, "renovation_reports.gaps", count=len(gaps), total=len(sheet.grid)))
    joiner = "、" if locale.startswith("zh") else ", "
    for row in gaps[:GAP_ROWS]:
        missing = joiner.join(_department(locale, d) for d in row.missing)
        lines.append(
            t(locale, "renovation_reports.gap", unit=row.label, number=row.number, missing=missing)
        )
    if len(gaps) > GAP_ROWS:
        lines.append(t(locale, "renovation_reports.gaps_more", count=len(gaps) - GAP_ROWS))
    return "\n".join(lines)


def render_weekly(
    locale: str, estate: str, week: WeeklyRenovation, slot: WeekSlot, rules: EstateRules,
    *, late: bool = False,
) -> str:  # fmt: skip
    """The weekly renovation report (装修办理报表) as HTML text."""
    calendar = rules.calendar

    def when(moment: datetime) -> str:
        return calendar.local(moment).strftime("%Y-%m-%d %H:%M")

    coverage = week.coverage()
    per = " · ".join(
        t(locale, "renovation_reports.coverage_item", department=_department(locale, d),
          done=week.patrols.get(d, (0, 0))[0], due=week.patrols.get(d, (0, 0))[1])
        for d in PATROL_DEPARTMENTS
    )  # fmt: skip
    states = " · ".join(
        t(locale, "renovation_reports.count_item", name=_status(locale, Status(s)), count=n)
        for s, n in week.by_status.items()
    )
    lines = [
        t(locale, "renovation_reports.weekly_title", estate=estate),
        t(locale, "report.period", start=when(slot.window_start), end=when(slot.due_at)),
    ]
    if late:
        lines.append(t(locale, "renovation_reports.late"))
    lines += [
        "",
        t(locale, "renovation_reports.weekly_applications", received=week.received,
          approved=week.approved, rejected=week.rejected),
        t(locale, "renovation_reports.weekly_works", started=week.started,
          completed=week.completed),
        t(locale, "renovation_reports.weekly_violations", minor=week.minor,
          serious=week.serious),
        t(locale, "renovation_reports.weekly_penalties", count=week.penalties,
          amount=yuan(week.penalties_fen)),
        t(locale, "renovation_reports.weekly_deposits", collected=yuan(week.collected_fen),
          refunded=yuan(week.refunded_fen)),
        t_raw(locale, "renovation_reports.weekly_coverage",
              percent="—" if coverage is None else f"{coverage}%", items=per),
        t_raw(locale, "renovation_reports.weekly_open",
              items=states or t(locale, "report.none")),
    ]  # fmt: skip
    return "\n".join(lines)


# --- files ------------------------------------------------------------------------------------


@functools.cache
def _style(bold: bool, fill: str | None) -> tuple[Any, Any]:
    """A font and a fill, made once (openpyxl compares styles by value: costly per cell)."""
    from openpyxl.styles import Font, PatternFill

    return Font(bold=bold), PatternFill("solid", fgColor=fill) if fill else PatternFill()


def _cell(
    sheet: Any, value: str | float | None, *, bold: bool = False, fill: str | None = None
) -> Any:
    """A write-only cell with a style."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    font, filled = _style(bold, fill)
    if bold:
        cell.font = font
    if fill:
        cell.fill = filled
    return cell


HEADER = "DDE7F3"
GAP = "F8D7DA"


def _header(sheet: Any, locale: str, keys: Sequence[str]) -> None:
    sheet.append([_cell(sheet, t(locale, f"renovation_reports.col.{k}"), bold=True, fill=HEADER)
                  for k in keys])  # fmt: skip
    sheet.freeze_panes = "A2"


def _saved(book: Any) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_workbook(locale: str, estate: str, sheet: Sheet, *, with_grid: bool = True) -> bytes:
    """The control sheet as an ``.xlsx``: every renovation on one sheet (amounts in yuan,
    the day's patrols ✓/—), and the day's patrol grid on another (gaps in red). Only the
    headers and the gaps are styled cells: 2,000 renovations are written in a fraction of a
    second (the thread that writes them holds the interpreter meanwhile)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    main = book.create_sheet(t(locale, "renovation_reports.sheet_name"))
    for width, letter in zip((22, 14, 16, 12, 20, 12, 12, 10, 14, 12, 10, 10, 10),
                             "ABCDEFGHIJKLM", strict=True):  # fmt: skip
        main.column_dimensions[letter].width = width
    columns = ["number", "unit", "status", "owner", "contractor", "from", "to", "violations",
               "held", "arrears", *PATROL_DEPARTMENTS]  # fmt: skip
    _header(main, locale, columns)
    states = {s: _status(locale, s) for s in Status}
    names = {d: _department(locale, d) for d in PATROL_DEPARTMENTS}
    for row in sheet.rows:
        main.append(
            [
                row.number, row.label, states[row.status], row.owner, row.contractor,
                row.period_from.isoformat(), row.period_to.isoformat(), row.open_violations,
                row.held_fen / 100, row.arrears_fen / 100,
                *(_mark(locale, row, d) or None for d in PATROL_DEPARTMENTS),
            ]
        )  # fmt: skip
    if with_grid:
        grid = book.create_sheet(t(locale, "renovation_reports.grid_name"))
        for width, letter in zip((22, 14, 10, 10, 10, 30), "ABCDEF", strict=True):
            grid.column_dimensions[letter].width = width
        _header(grid, locale, ["number", "unit", *PATROL_DEPARTMENTS, "missing"])
        joiner = "、" if locale.startswith("zh") else ", "
        for row in sheet.grid:
            marks: list[Any] = [
                _cell(grid, "—", fill=GAP) if d in row.missing else "✓" for d in PATROL_DEPARTMENTS
            ]
            if not row.missing:
                grid.append([row.number, row.label, *marks, ""])
                continue
            missing = joiner.join(names[d] for d in row.missing)
            grid.append(
                [_cell(grid, row.number, fill=GAP), _cell(grid, row.label, fill=GAP), *marks,
                 _cell(grid, missing, fill=GAP)]
            )  # fmt: skip
    return _saved(book)


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
            Bar(_department(drawn, d), (share or 0) / 100, rate_colour(share),
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
    summary.append([_cell(summary, t(locale, "renovation_reports.chart_title", estate=estate),
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
    _header(patrols, locale, ["department", "met", "due", "rate"])
    for d in PATROL_DEPARTMENTS:
        met, due = week.patrols.get(d, (0, 0))
        share = week.coverage(d)
        patrols.append([_department(locale, d), met, due, "—" if share is None else f"{share}%"])
    return chart, _saved(book)


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


def dossier_zip(
    locale: str,
    number: str,
    facts: DossierFacts,
    originals: dict[str, bytes],
    rules: EstateRules,
) -> bytes:
    """Item 16: one renovation's dossier as a zip — ``timeline.xlsx`` (every audit event in
    estate time: when, who, what, the details; and the files with their hashes),
    ``files/<sha256>.<format>`` (each original byte for byte; one missing from the store is
    listed as missing, never replaced) and ``SHA256SUMS`` (``sha256sum -c SHA256SUMS`` in the
    unpacked folder checks every file)."""
    from openpyxl import Workbook

    calendar = rules.calendar

    def local(at: str) -> str:
        return calendar.local(parse_iso(at)).strftime("%Y-%m-%d %H:%M:%S")

    def who(actor: str) -> str:
        kind, _, ident = actor.partition(":")
        if kind == "person" and ident.isdigit():
            return facts.names.get(int(ident), actor)
        return t(locale, "renovation_reports.system") if actor == "system" else actor

    book = Workbook(write_only=True)
    timeline = book.create_sheet(t(locale, "renovation_reports.timeline_sheet"))
    for width, letter in zip((20, 16, 34, 80), "ABCD", strict=True):
        timeline.column_dimensions[letter].width = width
    _header(timeline, locale, ["at", "who", "event", "details"])
    for event in facts.events:
        details = json.dumps(event["data"], ensure_ascii=False, sort_keys=True)
        timeline.append([local(event["at"]), who(event["actor"]), event["event"], details])
    files = book.create_sheet(t(locale, "renovation_reports.files_sheet"))
    for width, letter in zip((24, 66, 34, 10, 20, 16), "ABCDEF", strict=True):
        files.column_dimensions[letter].width = width
    _header(files, locale, ["what", "sha256", "file", "size", "at", "who"])
    names = []
    for kept in facts.files:
        name = f"files/{kept.sha256}.{kept.format.lower() or 'bin'}"
        names.append(name)
        what = (
            t(locale, f"renovation.doc.{kept.what[4:]}")
            if kept.what.startswith("doc:")
            else t(locale, f"renovation_reports.what.{kept.what}")
        )
        listed = name if kept.sha256 in originals else t(locale, "renovation_reports.missing")
        files.append([what, kept.sha256, listed, kept.size, local(kept.added_at), kept.added_by])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{number}/timeline.xlsx", _saved(book))
        sums = []
        for kept, name in zip(facts.files, names, strict=True):
            data = originals.get(kept.sha256)
            if data is None:
                continue
            archive.writestr(f"{number}/{name}", data, compress_type=zipfile.ZIP_STORED)
            sums.append(f"{kept.sha256}  {name}")
        archive.writestr(f"{number}/SHA256SUMS", "\n".join(sums) + "\n")
    return out.getvalue()


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


def sheet_file_name(locale: str, estate: str, sheet: Sheet) -> str:
    """``装修掌控表-阳光花园-2026-12-04.xlsx`` (characters a file name cannot hold as _)."""
    stem = f"{t(locale, 'renovation_reports.file_stem')}-{estate}-{sheet.day.isoformat()}"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) + ".xlsx"


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
    "MAX_DOCUMENT",
    "dossier_zip",
    "render_grid",
    "render_sheet",
    "render_weekly",
    "send_due_sheets",
    "send_due_weekly",
    "sheet_job",
    "sheet_parts",
    "sheet_workbook",
    "weekly_job",
]
