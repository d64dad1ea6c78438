"""Renovation's papers as people read them (issue 11, items 9, 16, 17): the control sheet
(装修掌控表) and the day's patrol grid as text and as a spreadsheet, the weekly renovation
report's text, and one renovation's dossier (a zip that settles a dispute). Shared by the
commands that show them on demand (``handlers.renovation_reports``) and the scheduled jobs
that send them (``bot.renovation_reports``); the numbers are
:mod:`procedures.renovation_reports`', the rows :mod:`storage.renovation_reports`'.

The spreadsheets are written in openpyxl's write-only mode (2,000 rows in a fraction of a
second), to be called in a worker thread; openpyxl is imported the first time one is made.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.i18n import t, t_raw
from procedures.deadlines import EstateRules
from procedures.renovation import PATROL_DEPARTMENTS, Status
from procedures.renovation_reports import Sheet, SheetRow, WeeklyRenovation
from procedures.renovation_settings import yuan
from procedures.reports import WeekSlot
from storage.db import parse_iso
from storage.renovation_reports import DossierFacts

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


def department_name(locale: str, department: str) -> str:
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
        t(locale, "renovation_reports.coverage_item", department=department_name(locale, d),
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
        missing = joiner.join(department_name(locale, d) for d in row.missing)
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
        t(locale, "renovation_reports.coverage_item", department=department_name(locale, d),
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


def cell(
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


def header_row(sheet: Any, locale: str, keys: Sequence[str]) -> None:
    sheet.append([cell(sheet, t(locale, f"renovation_reports.col.{k}"), bold=True, fill=HEADER)
                  for k in keys])  # fmt: skip
    sheet.freeze_panes = "A2"


def saved(book: Any) -> bytes:
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
    header_row(main, locale, columns)
    states = {s: _status(locale, s) for s in Status}
    names = {d: department_name(locale, d) for d in PATROL_DEPARTMENTS}
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
        header_row(grid, locale, ["number", "unit", *PATROL_DEPARTMENTS, "missing"])
        joiner = "、" if locale.startswith("zh") else ", "
        for row in sheet.grid:
            marks: list[Any] = [
                cell(grid, "—", fill=GAP) if d in row.missing else "✓" for d in PATROL_DEPARTMENTS
            ]
            if not row.missing:
                grid.append([row.number, row.label, *marks, ""])
                continue
            missing = joiner.join(names[d] for d in row.missing)
            grid.append(
                [cell(grid, row.number, fill=GAP), cell(grid, row.label, fill=GAP), *marks,
                 cell(grid, missing, fill=GAP)]
            )  # fmt: skip
    return saved(book)


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
    header_row(timeline, locale, ["at", "who", "event", "details"])
    for event in facts.events:
        details = json.dumps(event["data"], ensure_ascii=False, sort_keys=True)
        timeline.append([local(event["at"]), who(event["actor"]), event["event"], details])
    files = book.create_sheet(t(locale, "renovation_reports.files_sheet"))
    for width, letter in zip((24, 66, 34, 10, 20, 16), "ABCDEF", strict=True):
        files.column_dimensions[letter].width = width
    header_row(files, locale, ["what", "sha256", "file", "size", "at", "who"])
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
        archive.writestr(f"{number}/timeline.xlsx", saved(book))
        sums = []
        for kept, name in zip(facts.files, names, strict=True):
            data = originals.get(kept.sha256)
            if data is None:
                continue
            archive.writestr(f"{number}/{name}", data, compress_type=zipfile.ZIP_STORED)
            sums.append(f"{kept.sha256}  {name}")
        archive.writestr(f"{number}/SHA256SUMS", "\n".join(sums) + "\n")
    return out.getvalue()


def sheet_file_name(locale: str, estate: str, sheet: Sheet) -> str:
    """``装修掌控表-阳光花园-2026-12-04.xlsx`` (characters a file name cannot hold as _)."""
    stem = f"{t(locale, 'renovation_reports.file_stem')}-{estate}-{sheet.day.isoformat()}"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) + ".xlsx"
