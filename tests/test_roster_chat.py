"""Admins import the owner roster (主清冊) by sending a file to the bot."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from telegram.error import TimedOut

from storage.identity import IdentityStore
from tests.conftest import ADMIN_ID, World
from tests.support.telegram import Harness, Person

GOOD = "房号,业主姓名,手机,楼栋\n502,王伟,13800138000,5栋\n503,李娜,13800138001,5栋\n"


@pytest.fixture
def admin(bot: Harness) -> Person:
    return bot.person(ADMIN_ID, "管理员")


async def unit_count(world: World) -> int:
    row = await world.db.fetchone("SELECT COUNT(*) FROM units")
    assert row is not None
    return int(row[0])


async def test_admin_imports_a_gbk_csv(world: World, bot: Harness, admin: Person) -> None:
    await admin.send("/import")
    assert "请发送" in admin.last_text and "阳光花园" in admin.last_text
    await admin.send_document(GOOD.encode("gbk"), "清册.csv")
    assert "新增 2" in admin.last_text and "未变 0" in admin.last_text
    assert await unit_count(world) == 38
    units = await IdentityStore(world.db).units_for_phone("+8613800138000")
    assert [u.label for u in units] == ["5栋 502"]


async def upload(admin: Person, content: bytes, name: str, *, mime_type: str = "text/csv") -> None:
    """/import, then the file (the estate is the admin's only one)."""
    await admin.send("/import")
    await admin.send_document(content, name, mime_type=mime_type)


async def test_reimport_updates_in_place(world: World, bot: Harness, admin: Person) -> None:
    await upload(admin, GOOD.encode("utf-8"), "roster.csv")
    changed = GOOD.replace("李娜", "李娜娜")
    await upload(admin, changed.encode("utf-8"), "roster.csv")
    assert "新增 0" in admin.last_text and "更新 1" in admin.last_text
    assert await unit_count(world) == 38


async def test_an_xlsx_roster(world: World, bot: Harness, admin: Person) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["樓棟", "房號", "業主姓名", "手機", "建築面積"])
    sheet.append(["8栋", 1201, "陈敏", 13800138009, 120.5])
    buffer = io.BytesIO()
    book.save(buffer)
    await upload(
        admin,
        buffer.getvalue(),
        "清冊.xlsx",
        mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert "新增 1" in admin.last_text
    units = await IdentityStore(world.db).units_for_phone("+8613800138009")
    assert [u.label for u in units] == ["8栋 1201"]


async def test_a_roster_with_errors_lists_them_and_imports_nothing(
    world: World, bot: Harness, admin: Person
) -> None:
    bad = (
        "unit,owner_name,owner_phone\n"
        "101,王伟,12345\n"
        "102,李娜,13800138001\n"
        "102,张敏,13800138002\n"
        "103,,13800138003\n"
    )
    await upload(admin, bad.encode("utf-8"), "bad.csv")
    texts = "\n".join(admin.texts())
    assert "本次没有导入任何数据" in texts
    report = admin.last_text
    assert "第 2 行 · owner_phone" in report and "“12345”不是有效的手机号码" in report
    assert "第 4 行 · unit" in report and "第 3 行已出现" in report
    assert "第 5 行 · owner_name" in report
    assert await unit_count(world) == 36


async def test_missing_columns(world: World, bot: Harness, admin: Person) -> None:
    await upload(admin, "房号,姓名\n101,王伟\n".encode(), "roster.csv")
    assert "缺少必需的列：owner_phone" in admin.last_text
    assert await unit_count(world) == 36


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"", "empty.csv", "文件是空的"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "photo.png", "这不是表格文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "old.xls", "旧版 Excel"),
    ],
)
async def test_files_that_are_not_rosters(
    world: World, bot: Harness, admin: Person, content: bytes, name: str, expected: str
) -> None:
    await upload(admin, content, name, mime_type="application/octet-stream")
    assert expected in admin.last_text
    assert await unit_count(world) == 36


async def test_a_large_roster_shows_progress(world: World, bot: Harness, admin: Person) -> None:
    lines = ["楼栋,房号,业主姓名,手机"]
    lines += [f"{n // 100}号楼,{n % 100 + 100},业主{n},1380{n:07d}" for n in range(5000)]
    await admin.send("/import")
    mark = admin.mark()
    await admin.send_document("\n".join(lines).encode("gbk"), "big.csv")
    texts = "\n".join(admin.texts(mark))
    assert "已检查 5000 行" in texts
    assert "新增 5000" in admin.last_text
    assert await unit_count(world) == 5036


async def test_a_non_admin_file_gets_a_polite_answer(world: World, bot: Harness) -> None:
    owner = bot.person(2001, "王伟")
    await owner.send_document(GOOD.encode(), "roster.csv")
    assert "只有管理员可以通过文件导入" in owner.last_text
    await owner.send("/import")
    assert "只有管理员" in owner.last_text
    assert await unit_count(world) == 36


async def test_a_file_sent_without_import_asks_before_importing(
    world: World, bot: Harness, admin: Person
) -> None:
    await admin.send_document(GOOD.encode(), "roster.csv")
    assert "要导入到哪个小区" in admin.last_text
    assert await unit_count(world) == 36  # nothing yet
    await admin.tap("阳光花园")
    assert "新增 2" in admin.last_text
    assert await unit_count(world) == 38


async def test_cancel_drops_a_chosen_import(world: World, bot: Harness, admin: Person) -> None:
    await admin.send("/import")
    await admin.send("/cancel")
    assert "已取消" in admin.last_text
    await admin.send_document(GOOD.encode(), "roster.csv")
    assert "要导入到哪个小区" in admin.last_text


async def test_long_bad_values_are_cut_and_the_report_fits_one_message(
    world: World, bot: Harness, admin: Person
) -> None:
    rows = ["unit,owner_name,owner_phone"] + [f"{n},业主,{'9' * 300}" for n in range(200)]
    await upload(admin, "\n".join(rows).encode(), "bad.csv")
    report = admin.last_text
    assert len(report) < 4096
    assert "9" * 41 not in report and "…" in report
    assert "另有" in report


async def test_a_new_estate_needs_a_confirming_tap(
    world: World, bot: Harness, admin: Person
) -> None:
    await admin.send("/import 翠湖苑")
    assert "确认新建" in admin.last_text
    assert await IdentityStore(world.db).estate_by_name("翠湖苑") is None  # a typo costs nothing
    await admin.tap("✅ 新建小区")
    assert "翠湖苑" in admin.last_text
    # With two estates, a file without a chosen estate asks where it goes.
    await admin.send("/cancel")
    await admin.send_document(GOOD.encode(), "roster.csv")
    assert "要导入到哪个小区" in admin.last_text
    await admin.tap("翠湖苑")
    assert "新增 2" in admin.last_text
    estate = await IdentityStore(world.db).estate_by_name("翠湖苑")
    assert estate is not None


async def test_a_timeout_on_the_reading_note_does_not_stop_the_import(
    world: World, bot: Harness, admin: Person
) -> None:
    """The "reading…" note timed out (queued for later): the import goes on, and its report
    follows the note, in order."""
    await admin.send("/import")
    mark = admin.mark()
    bot.api.raise_next("sendMessage", TimedOut())
    await admin.send_document(GOOD.encode("gbk"), "清册.csv")
    assert await unit_count(world) == 38
    await bot.application.bot_data["services"].sender.drain()
    texts = admin.texts(mark)
    assert "阳光花园" in texts[0] and "新增 2" in texts[-1]
