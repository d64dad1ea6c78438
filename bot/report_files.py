"""The weekly summary and the daily department report as a chart image and a spreadsheet
(PROCEDURES.md: "text + a chart image + a spreadsheet"), drawn from the same numbers as the
text (:class:`procedures.reports.WeeklySummary`, :class:`procedures.reports.DailySummary`),
in the reader's language.

* :func:`weekly_chart`: a PNG a manager reads at a glance on a phone — on-time rate per
  rule (green at 95 % and over, amber from 80 %, red below), the callback rate against its
  100 % target, the average satisfaction of callbacks and of customer visits, the week's
  cases by category and by department, and complaints by category (C-15).
* :func:`weekly_workbook`: an ``.xlsx`` to keep and filter — the figures, the rates per
  rule, the counts (complaints', callbacks' and the scores' too), the overdue list and every
  case of the week.
* :func:`daily_chart`, :func:`daily_workbook`: a department's day — its figures as bars,
  the overdue cases, the cases of the day and those open.

Chinese labels need a CJK font. :func:`storage.fonts.cjk_font` finds one (``WUYE_CHART_FONT``,
the usual Debian, macOS and Windows paths, then fontconfig); without one the chart is drawn
in English rather than as empty boxes, and the log says which package to install.
"""

from __future__ import annotations

import functools
import html
import io
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet
    from PIL import Image, ImageDraw, ImageFont

from bot.i18n import has, t
from handlers import limits
from procedures.deadlines import EstateRules
from procedures.reports import (
    SCORES,
    UNCLASSIFIED,
    CaseFacts,
    DailySummary,
    Satisfaction,
    WeeklySummary,
    WeekSlot,
)
from storage.fonts import cjk_font

_LOADING = threading.Lock()
_F = TypeVar("_F", bound=Callable[..., Any])


def _libraries() -> None:
    """Import openpyxl and Pillow the first time a report file is drawn, not when the bot
    starts (together they are a good part of its start-up; a report is drawn once a day or
    a week). Binds the names this module's functions use."""
    if "Workbook" in globals():
        return
    with _LOADING:
        if "Workbook" in globals():
            return
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.worksheet import Worksheet
        from PIL import Image, ImageDraw, ImageFont

        globals().update(
            Alignment=Alignment, Font=Font, PatternFill=PatternFill,
            get_column_letter=get_column_letter, Worksheet=Worksheet, Image=Image,
            ImageDraw=ImageDraw, ImageFont=ImageFont, Workbook=Workbook,
        )  # fmt: skip


def _drawing(function: _F) -> _F:
    """A function that draws a chart or a workbook: the libraries are loaded first."""

    @functools.wraps(function)
    def loaded(*args: Any, **kwargs: Any) -> Any:
        _libraries()
        return function(*args, **kwargs)

    return cast(_F, loaded)


WIDTH = 1080
MARGIN = 40
LABEL_WIDTH = 330
BAR_HEIGHT = 30
ROW = 46
BACKGROUND = (255, 255, 255)
INK = (33, 37, 41)
MUTED = (108, 117, 125)
TRACK = (233, 236, 239)
GREEN = (46, 160, 67)
AMBER = (230, 160, 0)
RED = (214, 57, 57)
BLUE = (47, 111, 196)


def _font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)


@dataclass(frozen=True)
class Bar:
    """One bar of a panel: its label, how full (0–1), its colour and the figure at its end."""

    label: str
    fraction: float
    colour: tuple[int, int, int]
    figure: str


def rate_colour(percent: int | None) -> tuple[int, int, int]:
    """Green at 95 % and over, amber from 80 %, red below (and for no figure: muted)."""
    if percent is None:
        return MUTED
    if percent >= 95:
        return GREEN
    if percent >= 80:
        return AMBER
    return RED


@_drawing
def weekly_chart(
    locale: str,
    estate: str,
    summary: WeeklySummary,
    slot: WeekSlot,
    rules: EstateRules,
    *,
    font_path: str | None = None,
) -> bytes:
    """The week's summary as a PNG in ``locale`` (English when no CJK font exists)."""
    font = cjk_font(font_path)
    if font is None and locale != "en":
        locale = "en"
    calendar = rules.calendar

    def when(moment: datetime) -> str:
        return calendar.local(moment).strftime("%m-%d %H:%M")

    panels: list[tuple[str, list[Bar]]] = []
    on_time = [
        Bar(
            f"{rate.rule} {rule_title(locale, rules, rate.rule)}".strip(),
            (rate.percent or 0) / 100,
            rate_colour(rate.percent),
            f"{rate.met}/{rate.total} · {percent_text(rate.percent)}",
        )
        for rate in summary.on_time
    ]
    panels.append((t(locale, "report_file.chart_on_time"), on_time))
    callbacks = []
    for key, rate in (
        ("report_file.callbacks_all", summary.callbacks),
        ("report_file.callbacks_complaints", summary.complaint_callbacks),
    ):
        if rate.completed:
            callbacks.append(
                Bar(
                    t(locale, key),
                    (rate.percent or 0) / 100,
                    GREEN if rate.percent == 100 else RED,
                    f"{rate.called_back}/{rate.completed} · {percent_text(rate.percent)}",
                )
            )
    panels.append((t(locale, "report_file.chart_callbacks"), callbacks))
    satisfaction = [
        _score_bar(t(locale, key), scores)
        for key, scores in (
            ("report_file.satisfaction_callbacks", summary.satisfaction),
            ("report_file.satisfaction_visits", summary.visit_satisfaction),
        )
        if scores.total
    ]
    panels.append((t(locale, "report_file.chart_satisfaction"), satisfaction))
    panels.append(
        (t(locale, "report_file.chart_categories"), _count_bars(category_counts(locale, summary)))
    )
    panels.append(
        (
            t(locale, "report_file.chart_departments"),
            _count_bars(department_counts(locale, summary)),
        )
    )
    panels.append(
        (
            t(locale, "report_file.chart_complaints"),
            _count_bars(category_counts(locale, summary, summary.complaint_categories)),
        )
    )
    title = t(locale, "report_file.chart_title", estate=estate if font else "").strip(" ·")
    period = t(locale, "report_file.period", start=when(slot.window_start), end=when(slot.due_at))
    return _draw(locale, font, title, period, panels)


@_drawing
def daily_chart(
    locale: str,
    estate: str,
    summary: DailySummary,
    slot: WeekSlot,
    rules: EstateRules,
    *,
    font_path: str | None = None,
) -> bytes:
    """A department's day as a PNG in ``locale``: its figures as bars (the overdue in red),
    then its overdue cases by how long they are overdue."""
    font = cjk_font(font_path)
    if font is None and locale != "en":
        locale = "en"
    calendar = rules.calendar

    def when(moment: datetime) -> str:
        return calendar.local(moment).strftime("%m-%d %H:%M")

    figures = [
        ("daily_file.received", summary.received),
        ("daily_file.complaints", summary.complaints),
        ("daily_file.done", summary.done),
        ("daily_file.open_now", summary.open_now),
        ("daily_file.overdue_cases", summary.overdue_cases),
        ("daily_file.callbacks", summary.callbacks),
    ]
    top = max((n for _, n in figures), default=0)
    bars = [
        Bar(
            t(locale, key),
            n / top if top else 0.0,
            RED if key == "daily_file.overdue_cases" else BLUE,
            str(n),
        )
        for key, n in figures
    ]
    longest = max((o.overdue_by.total_seconds() for o in summary.overdue), default=0.0)
    overdue = [
        Bar(
            f"{o.number} {rule_title(locale, rules, o.rule)}".strip(),
            o.overdue_by.total_seconds() / longest if longest else 0.0,
            RED,
            t(locale, "daily_file.hours", hours=round(o.overdue_by.total_seconds() / 3600, 1)),
        )
        for o in summary.overdue[:12]
    ]
    department = display_name(locale, f"department.{summary.department}", summary.department)
    title = t(
        locale,
        "daily_file.chart_title",
        estate=estate if font else "",
        department=department if font else "",
        day=slot.period_start.strftime("%m-%d"),
    ).strip(" ·")
    period = t(locale, "report_file.period", start=when(slot.window_start), end=when(slot.due_at))
    panels = [
        (t(locale, "daily_file.chart_figures"), bars),
        (t(locale, "daily_file.chart_overdue"), overdue),
    ]
    return _draw(locale, font, title, period, panels)


def draw_panels(
    locale: str, font: str | None, title: str, period: str, panels: list[tuple[str, list[Bar]]]
) -> bytes:
    """Panels of bars under a title and a period line, as a PNG (for other reports' charts:
    the renovation report's)."""
    _libraries()
    return _draw(locale, font, title, period, panels)


def _draw(
    locale: str, font: str | None, title: str, period: str, panels: list[tuple[str, list[Bar]]]
) -> bytes:
    """Panels of bars under a title and a period line, as a PNG."""
    title_font, label_font, small_font = _font(font, 34), _font(font, 22), _font(font, 19)
    height = MARGIN + 50 + 34 + 20
    for _, bars in panels:
        height += 56 + max(len(bars), 1) * ROW + 16
    height += MARGIN
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    y = MARGIN
    draw.text((MARGIN, y), plain(title), font=title_font, fill=INK)
    y += 50
    draw.text((MARGIN, y), plain(period), font=small_font, fill=MUTED)
    y += 34 + 20
    bar_left, bar_right = MARGIN + LABEL_WIDTH, WIDTH - MARGIN - 170
    for heading, bars in panels:
        draw.text((MARGIN, y), plain(heading), font=label_font, fill=INK)
        y += 40
        draw.line((MARGIN, y, WIDTH - MARGIN, y), fill=TRACK, width=2)
        y += 16
        if not bars:
            draw.text((MARGIN, y + 6), t(locale, "report.none"), font=small_font, fill=MUTED)
            y += ROW
        for bar in bars:
            draw.text(
                (MARGIN, y + BAR_HEIGHT // 2),
                _fit(draw, plain(bar.label), label_font, LABEL_WIDTH - 16),
                font=label_font,
                fill=INK,
                anchor="lm",
            )
            draw.rectangle((bar_left, y, bar_right, y + BAR_HEIGHT), fill=TRACK)
            filled = bar_left + round((bar_right - bar_left) * max(0.0, min(bar.fraction, 1.0)))
            if filled > bar_left:
                draw.rectangle((bar_left, y, filled, y + BAR_HEIGHT), fill=bar.colour)
            draw.text(
                (bar_right + 14, y + BAR_HEIGHT // 2),
                bar.figure,
                font=small_font,
                fill=INK,
                anchor="lm",
            )
            y += ROW
        y += 16
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _score_bar(label: str, scores: Satisfaction) -> Bar:
    """An average score out of 5, with how many scored."""
    average = scores.average or 0.0
    return Bar(label, average / 5, BLUE, f"{average:.1f}/5 · {scores.total}")


def plain(text: str) -> str:
    """A text made for chats (HTML, escaped: ``Rose &amp; Lily``) as a picture or a sheet
    shows it (``Rose & Lily``)."""
    return html.unescape(text)


def _count_bars(pairs: Sequence[tuple[str, int]]) -> list[Bar]:
    """Bars of counts, the largest full."""
    top = max((count for _, count in pairs), default=0)
    return [Bar(name, count / top if top else 0.0, BLUE, str(count)) for name, count in pairs]


def _fit(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> str:
    """``text``, cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


# --- spreadsheet ------------------------------------------------------------------------

#: The header row's fill colour.
HEADER_FILL = "DDE7F3"


@_drawing
def weekly_workbook(
    locale: str,
    estate: str,
    summary: WeeklySummary,
    slot: WeekSlot,
    rules: EstateRules,
    cases: Iterable[CaseFacts],
) -> bytes:
    """The week's summary as an ``.xlsx`` in ``locale``: figures, rates per rule, counts, the
    overdue list and the week's cases (times in the estate's zone)."""
    calendar = rules.calendar

    def local(moment: datetime | None) -> datetime | None:
        # Excel has no time zones: the estate's wall-clock time, naive.
        return calendar.local(moment).replace(tzinfo=None) if moment else None

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = t(locale, "report_file.sheet_summary")
    sheet.append([t(locale, "report_file.chart_title", estate=estate)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([t(locale, "report_file.from"), local(slot.window_start)])
    sheet.append([t(locale, "report_file.to"), local(slot.due_at)])
    sheet.append([])
    rows: list[tuple[str, object]] = [
        (t(locale, "report_file.filed", kind=display_name(locale, f"kind.{kind}", kind)), count)
        for kind, count in summary.filed.items()
    ]
    rows += [
        (t(locale, "report_file.done"), summary.done),
        (t(locale, "report_file.closed"), summary.closed),
        (t(locale, "report_file.open_now"), summary.open_now),
        (t(locale, "report_file.overdue_now"), len(summary.overdue)),
        (t(locale, "report_file.callbacks_all"), _ratio(summary.callbacks.percent)),
        (
            t(locale, "report_file.callbacks_complaints"),
            _ratio(summary.complaint_callbacks.percent),
        ),
        # C-15: the complaints' progress; B-5, A-1: the average scores.
        (t(locale, "report_file.complaints_resolved"), summary.complaints.resolved),
        (t(locale, "report_file.complaints_resolved_over"), summary.complaints.resolved_over),
        (t(locale, "report_file.complaints_open"), summary.complaints.unresolved),
        (t(locale, "report_file.complaints_open_over"), summary.complaints.unresolved_over),
        (t(locale, "report_file.callbacks_recorded"), sum(summary.callbacks_by.values())),
        (t(locale, "report_file.satisfaction_callbacks"), summary.satisfaction.average),
        (t(locale, "report_file.satisfaction_visits"), summary.visit_satisfaction.average),
    ]
    averages = {
        t(locale, "report_file.satisfaction_callbacks"),
        t(locale, "report_file.satisfaction_visits"),
    }
    for label, value in rows:
        sheet.append([label, value])
        if isinstance(value, float):
            sheet.cell(sheet.max_row, 2).number_format = "0.0" if label in averages else "0%"
    for row in sheet.iter_rows(min_row=2, max_row=3, min_col=2, max_col=2):
        row[0].number_format = "yyyy-mm-dd hh:mm"
    _widths(sheet, [34, 20])

    rates = book.create_sheet(t(locale, "report_file.sheet_on_time"))
    _header(rates, ["rule", "title", "due", "met", "missed", "rate"], locale)
    for rate in summary.on_time:
        rates.append(
            [
                rate.rule,
                rule_title(locale, rules, rate.rule),
                rate.total,
                rate.met,
                rate.missed,
                _ratio(rate.percent),
            ]
        )
        rates.cell(rates.max_row, 6).number_format = "0%"
    _widths(rates, [22, 30, 10, 10, 10, 10])

    counts = book.create_sheet(t(locale, "report_file.sheet_counts"))
    _header(counts, ["group", "name", "count"], locale)
    groups = (
        ("report_file.by_severity", severity_counts(locale, summary)),
        ("report_file.by_category", category_counts(locale, summary)),
        ("report_file.by_department", department_counts(locale, summary)),
        (
            "report_file.by_complaint_category",
            category_counts(locale, summary, summary.complaint_categories),
        ),
        (
            "report_file.by_complaint_department",
            department_counts(locale, summary, summary.complaint_departments),
        ),
        ("report_file.by_followed", followed_counts(locale, summary)),
        ("report_file.by_score_callbacks", score_counts(locale, summary.satisfaction)),
        ("report_file.by_score_visits", score_counts(locale, summary.visit_satisfaction)),
    )
    for key, pairs in groups:
        for name, count in pairs:
            counts.append([t(locale, key), name, count])
    _widths(counts, [16, 24, 10])

    overdue = book.create_sheet(t(locale, "report_file.sheet_overdue"))
    _header(overdue, ["number", "rule", "title", "due_at", "overdue_hours"], locale)
    for item in summary.overdue:
        overdue.append(
            [
                item.number,
                item.rule,
                rule_title(locale, rules, item.rule),
                local(item.due_at),
                round(item.overdue_by.total_seconds() / 3600, 1),
            ]
        )
        overdue.cell(overdue.max_row, 4).number_format = "yyyy-mm-dd hh:mm"
    _widths(overdue, [22, 22, 30, 18, 14])

    _case_sheet(book, t(locale, "report_file.sheet_cases"), locale, cases, local)
    return _saved(book)


@_drawing
def daily_workbook(
    locale: str,
    estate: str,
    summary: DailySummary,
    slot: WeekSlot,
    rules: EstateRules,
) -> bytes:
    """A department's day as an ``.xlsx`` in ``locale``: its figures, the overdue list and
    the cases of the day and those open (times in the estate's zone)."""
    calendar = rules.calendar

    def local(moment: datetime | None) -> datetime | None:
        return calendar.local(moment).replace(tzinfo=None) if moment else None

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = t(locale, "report_file.sheet_summary")
    department = display_name(locale, f"department.{summary.department}", summary.department)
    sheet.append(
        [t(locale, "daily_file.chart_title", estate=estate, department=department,
           day=slot.period_start.strftime("%m-%d"))]
    )  # fmt: skip
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([t(locale, "report_file.from"), local(slot.window_start)])
    sheet.append([t(locale, "report_file.to"), local(slot.due_at)])
    sheet.append([])
    for key, value in (
        ("daily_file.received", summary.received),
        ("daily_file.complaints", summary.complaints),
        ("daily_file.done", summary.done),
        ("daily_file.open_now", summary.open_now),
        ("daily_file.open_complaints", summary.open_complaints),
        ("daily_file.overdue_cases", summary.overdue_cases),
        ("daily_file.callbacks", summary.callbacks),
    ):
        sheet.append([t(locale, key), value])
    for row in sheet.iter_rows(min_row=2, max_row=3, min_col=2, max_col=2):
        row[0].number_format = "yyyy-mm-dd hh:mm"
    _widths(sheet, [34, 20])

    overdue = book.create_sheet(t(locale, "report_file.sheet_overdue"))
    _header(overdue, ["number", "title", "due_at", "overdue_hours"], locale)
    for item in summary.overdue:
        overdue.append(
            [
                item.number,
                rule_title(locale, rules, item.rule),
                local(item.due_at),
                round(item.overdue_by.total_seconds() / 3600, 1),
            ]
        )
        overdue.cell(overdue.max_row, 3).number_format = "yyyy-mm-dd hh:mm"
    _widths(overdue, [22, 30, 18, 14])
    _case_sheet(book, t(locale, "daily_file.sheet_cases"), locale, summary.cases, local)
    return _saved(book)


def _case_sheet(
    book: Workbook,
    title: str,
    locale: str,
    cases: Iterable[CaseFacts],
    local: Callable[[datetime | None], datetime | None],
) -> None:
    """A sheet listing cases, one a row, filterable."""
    listing = book.create_sheet(title)
    columns = ["number", "kind", "category", "severity", "department", "status",
               "accepted_at", "resolved_at", "closed_at"]  # fmt: skip
    _header(listing, columns, locale)
    for case in cases:
        listing.append(
            [
                case.number,
                display_name(locale, f"kind.{case.kind}", case.kind),
                display_name(locale, f"category.{case.category}", case.category or ""),
                display_name(locale, f"severity.{case.severity}", case.severity or ""),
                display_name(locale, f"department.{case.department}", case.department or ""),
                display_name(locale, f"status.{case.status}", case.status),
                local(case.accepted_at),
                local(case.resolved_at),
                local(case.closed_at),
            ]
        )
        for column in (7, 8, 9):
            listing.cell(listing.max_row, column).number_format = "yyyy-mm-dd hh:mm"
    _widths(listing, [22, 10, 12, 10, 12, 10, 18, 18, 18])
    listing.freeze_panes = "A2"
    listing.auto_filter.ref = listing.dimensions


def _saved(book: Workbook) -> bytes:
    """The workbook's bytes; texts shown plain (they are HTML-escaped for chats)."""
    for each in book.worksheets:
        for row in each.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.value = plain(cell.value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header(sheet: Worksheet, columns: list[str], locale: str) -> None:
    sheet.append([t(locale, f"report_file.col_{column}") for column in columns])
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL)
        cell.alignment = Alignment(vertical="center")
    sheet.freeze_panes = "A2"


def _widths(sheet: Worksheet, widths: list[int]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


# --- shared -------------------------------------------------------------------------------


def file_names(
    locale: str, estate: str, slot: WeekSlot, stem_key: str = "report_file.file_stem"
) -> tuple[str, str]:
    """The chart's and the spreadsheet's file names (ASCII-safe estate names are kept)."""
    stem = f"{t(locale, stem_key)}-{estate}-{slot.period_start.isoformat()}"
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
    return f"{stem}.png", f"{stem}.xlsx"


def severity_counts(locale: str, summary: WeeklySummary) -> list[tuple[str, int]]:
    unclassified = t(locale, "report.unclassified")
    return [
        (unclassified if key == UNCLASSIFIED else display_name(locale, f"severity.{key}", key), n)
        for key, n in summary.severities.items()
    ]


def category_counts(
    locale: str, summary: WeeklySummary, counts: dict[str | None, int] | None = None
) -> list[tuple[str, int]]:
    """Counts by category (everything filed, or ``counts``: the complaints', C-15), named."""
    none = t(locale, "report.no_category")
    return [
        (display_name(locale, f"category.{key}", key) if key else none, n)
        for key, n in (summary.categories if counts is None else counts).items()
    ]


def department_counts(
    locale: str, summary: WeeklySummary, counts: dict[str | None, int] | None = None
) -> list[tuple[str, int]]:
    """Counts by department (everything filed, or ``counts``: the complaints', C-15), named."""
    none = t(locale, "report.no_department")
    return [
        (display_name(locale, f"department.{key}", key) if key else none, n)
        for key, n in (summary.departments if counts is None else counts).items()
    ]


def followed_counts(locale: str, summary: WeeklySummary) -> list[tuple[str, int]]:
    """B-1, B-5: the week's callbacks by what they followed (requests, complaints, help,
    community events; others only when there are any)."""
    return [
        (t(locale, f"report.followed_{key}"), n)
        for key, n in summary.callbacks_by.items()
        if n or key != "other"
    ]


def score_counts(locale: str, scores: Satisfaction) -> list[tuple[str, int]]:
    """B-3, A-1: how many gave each score, 5 first."""
    return [
        (t(locale, "report.score_name", score=score), scores.counts.get(score, 0))
        for score in reversed(SCORES)
    ]


def display_name(locale: str, key: str, fallback: str) -> str:
    """A code's display name, or the code itself when no text exists for it."""
    return t(locale, key) if has(key) else fallback


def rule_title(locale: str, rules: EstateRules, rule_id: str) -> str:
    """A deadline rule's title with the estate's limit in it, or nothing."""
    return limits.title(locale, rules, rule_id)


def percent_text(value: int | None) -> str:
    """``75%``, or a dash when nothing counted."""
    return "—" if value is None else f"{value}%"


def _ratio(value: int | None) -> float | None:
    return None if value is None else value / 100
