"""Q-5, C-15, B-5: the weekly summary's chart image and spreadsheet — the same numbers as
its text, in the reader's language, delivered through the outbox like every message."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from PIL import Image, ImageDraw, ImageFont

import bot.report_files as files
from bot.outbox import OutboxSender
from bot.reports import send_due_weekly
from procedures.deadlines import load_estate
from procedures.reports import CallbackRate, RuleRate, WeeklySummary, WeekSlot
from storage import fonts
from storage.cases import Case
from storage.identity import IdentityStore
from tests.conftest import World
from tests.support.app import services_of
from tests.support.reports import RECIPIENTS, local, report_files, reports_in
from tests.support.telegram import Group, Harness, JSONDict

FRIDAY_1700 = local(2026, 10, 16, 17, 0, 30)


def content(bot: Harness, message: JSONDict) -> bytes:
    """The bytes of a photo (largest size) or document the bot sent."""
    media = message["photo"][-1] if "photo" in message else message["document"]
    return bot.api.world.file_content(media["file_id"])


def sheet_rows(data: bytes, sheet: str) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(data))
    return [tuple(row) for row in book[sheet].iter_rows(values_only=True)]


async def test_q5_the_summary_comes_with_a_chart_and_a_spreadsheet_of_the_same_numbers(
    world: World, bot: Harness, week: dict[str, Case], management: Group
) -> None:
    supervisor = bot.person(9002, "吴建国")
    assert await send_due_weekly(services_of(world), FRIDAY_1700) == 1
    kinds = [
        next(k for k in ("text", "photo", "document") if k in m) for m in supervisor.messages()
    ]
    assert kinds[-3:] == ["text", "photo", "document"]  # the text first, then the files
    [photo], [document] = report_files(supervisor)
    assert "周报图表" in photo["caption"]
    assert document["document"]["file_name"].endswith(".xlsx")
    assert "周报明细表" in document["caption"]

    data = content(bot, document)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["概览", "时限达成", "分类统计", "超时未办", "本期事项"]
    rates = {row[0]: row for row in sheet_rows(data, "时限达成")[1:]}
    assert rates["Q-1"][1:] == ("10 分钟内转交", 4, 3, 1, 0.75)  # as the text: 3/4 (75%)
    assert rates["Q-4"][2:] == (2, 1, 1, 0.5)
    assert rates["C-14"][2:] == (1, 0, 1, 0.0)
    summary = dict(row[:2] for row in sheet_rows(data, "概览")[4:])
    assert summary["新受理 · 报事"] == 2 and summary["新受理 · 投诉"] == 2
    assert summary["本期完成"] == 3 and summary["本期结案"] == 1
    assert summary["全部事项回访率"] == pytest.approx(0.33)
    overdue = sheet_rows(data, "超时未办")[1:]
    r2 = week["r2"].number
    assert [(row[0], row[1]) for row in overdue] == [(r2, "Q-1"), (r2, "Q-4")]
    assert overdue[0][4] == pytest.approx(3 * 24 + 7, abs=1)  # hours, as "3 天 7 小时"
    listed = {row[0] for row in sheet_rows(data, "本期事项")[1:]}
    assert {week[k].number for k in ("r1", "r2", "c1", "c2")} <= listed
    counts = sheet_rows(data, "分类统计")[1:]
    assert ("部门", "保安部", 2) in counts and ("投诉性质", "重大", 1) in counts
    # The management group gets them too.
    assert [len(x) for x in report_files(management)] == [1, 1]

    chart = Image.open(io.BytesIO(content(bot, photo)))
    assert chart.format == "PNG" and chart.width == files.WIDTH and chart.height > 400


async def test_each_reader_gets_the_files_in_their_language(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    identity = IdentityStore(world.db)
    leader = await identity.person_by_tg(9010)
    assert leader is not None
    await identity.set_locale(leader.id, "en")
    assert await send_due_weekly(services_of(world), FRIDAY_1700) == 1
    [photo], [document] = report_files(bot.person(9010, "赵总"))
    assert "weekly chart" in photo["caption"]
    book = load_workbook(io.BytesIO(content(bot, document)))
    assert book.sheetnames == ["Summary", "On time", "Counts", "Overdue", "Cases"]


async def test_a_file_is_uploaded_once_and_then_sent_by_its_telegram_id(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    assert await send_due_weekly(services_of(world), FRIDAY_1700) == 1
    photos = bot.api.calls_of("sendPhoto")
    assert len(photos) == 4  # the four recipients, all in Chinese
    assert photos[0].files and not any(call.files for call in photos[1:])
    assert len({call.params["photo"] for call in photos[1:]}) == 1
    rows = await world.db.fetchall("SELECT file_id FROM blobs")
    assert len(rows) == 2 and all(row["file_id"] for row in rows)  # one chart, one sheet


async def test_a_server_error_delays_the_chart_and_loses_nothing(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    bot.api.world.inject("sendPhoto", "500")
    bot.api.world.inject("sendDocument", "429", retry_after=1)
    assert await send_due_weekly(services_of(world), FRIDAY_1700) == 1
    sender = services_of(world).sender
    assert isinstance(sender, OutboxSender)
    sender.clock = lambda: datetime.now(UTC) + timedelta(minutes=10)  # the retries are due
    await sender.drain()
    for tg, name in RECIPIENTS.items():
        photos, documents = report_files(bot.person(tg, name))
        assert (len(photos), len(documents)) == (1, 1), name
    left = await world.db.fetchone("SELECT COUNT(*) FROM outbox WHERE state != 'sent'")
    assert left is not None and left[0] == 0


async def test_a_chart_that_cannot_be_drawn_does_not_hold_the_text_back(
    world: World, bot: Harness, week: dict[str, Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise OSError("font file unreadable")

    monkeypatch.setattr("bot.reports.weekly_chart", broken)
    assert await send_due_weekly(services_of(world), FRIDAY_1700) == 1
    supervisor = bot.person(9002, "吴建国")
    assert len(reports_in(supervisor)) == 1 and report_files(supervisor) == ([], [])


# --- the chart itself ------------------------------------------------------------------------


def summary_with(rates: list[RuleRate], callbacks: CallbackRate) -> WeeklySummary:
    start = datetime(2026, 11, 20, 9, tzinfo=UTC)
    return WeeklySummary(
        window_start=start,
        window_end=start + timedelta(days=7),
        as_of=start + timedelta(days=7),
        filed={"request": 3, "complaint": 1},
        severities={"major": 1},
        categories={"repairs": 3, "noise": 1},
        departments={"engineering": 3, None: 1},
        done=2,
        closed=1,
        open_now=2,
        on_time=rates,
        callbacks=callbacks,
        complaint_callbacks=CallbackRate(),
    )


def slot() -> WeekSlot:
    start = datetime(2026, 11, 20, 9, tzinfo=UTC)
    return WeekSlot(start.date(), start, start + timedelta(days=7))


def colour_rows(image: Image.Image, colour: tuple[int, int, int]) -> list[int]:
    """For each pixel row holding ``colour``, how many pixels have it."""
    rgb = image.convert("RGB")
    counts = []
    for y in range(rgb.height):
        row = Counter(rgb.getpixel((x, y)) for x in range(0, rgb.width))
        if row[colour]:
            counts.append(row[colour])
    return counts


def test_bars_are_as_long_as_the_rates_and_coloured_by_them() -> None:
    """90 % on time is an amber bar nine tenths long; 100 % callbacks a full green one; 50 %
    is red."""
    rules = load_estate("阳光花园")
    summary = summary_with([RuleRate("Q-1", 9, 1), RuleRate("Q-4", 1, 1)], CallbackRate(2, 2, 0, 0))
    image = Image.open(
        io.BytesIO(files.weekly_chart("zh-Hans", "阳光花园", summary, slot(), rules))
    )
    full = files.WIDTH - 2 * files.MARGIN - files.LABEL_WIDTH - 170
    amber, green, red = (colour_rows(image, c) for c in (files.AMBER, files.GREEN, files.RED))
    assert amber and max(amber) == pytest.approx(0.9 * full, abs=2)
    assert green and max(green) == pytest.approx(full, abs=2)
    assert red and max(red) == pytest.approx(0.5 * full, abs=2)


def test_chinese_labels_are_drawn_with_a_cjk_font() -> None:
    """The chart's font has real glyphs for Chinese (distinct shapes, not empty boxes)."""
    fonts.cjk_font.cache_clear()
    path = fonts.cjk_font()
    assert path is not None, "install fonts-wqy-microhei (make test does)"
    font = ImageFont.truetype(path, 40)
    shapes = set()
    for char in "周报超时":
        canvas = Image.new("L", (48, 48))
        ImageDraw.Draw(canvas).text((4, 0), char, font=font, fill=255)
        shapes.add(canvas.tobytes())
    assert len(shapes) == 4


def test_without_a_cjk_font_the_chart_is_drawn_in_english(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fonts.cjk_font.cache_clear()
    monkeypatch.setattr(fonts, "FONT_PATHS", ())
    monkeypatch.setattr("storage.fonts.shutil.which", lambda name: None)
    try:
        rules = load_estate("阳光花园")
        summary = summary_with([RuleRate("Q-1", 1, 0)], CallbackRate())
        data = files.weekly_chart("zh-Hans", "阳光花园", summary, slot(), rules)
        assert Image.open(io.BytesIO(data)).width == files.WIDTH
        assert "fonts-wqy-microhei" in caplog.text
    finally:
        fonts.cjk_font.cache_clear()


def test_names_with_html_characters_are_written_plainly() -> None:
    """Texts are HTML-escaped for chats; a workbook cell shows "Rose & Lily" as typed."""
    rules = load_estate("Rose & Lily")
    summary = summary_with([RuleRate("Q-1", 1, 0)], CallbackRate())
    data = files.weekly_workbook("en", "Rose & Lily", summary, slot(), rules, [])
    assert sheet_rows(data, "Summary")[0][0] == "Rose & Lily · service quality this week"
