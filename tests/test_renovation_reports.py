"""Renovation's papers through the bot and a fake Telegram (issue 11, items 9, 16, 17): the
control sheet (装修掌控表) a head checks — states, deposits and arrears, open notices, the
day's patrols ✓/— — on demand and daily to the customer-department head, once per day also
across restarts; the day's patrol grid with a missing department; the weekly renovation
report's numbers; a dossier whose hashes match the stored originals; and owners refused."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.renovation_reports import send_due_sheets, send_due_weekly
from procedures.identity import Role
from procedures.renovation import Status
from procedures.rule_ids import RuleId
from procedures.subjects import Subject
from storage import audit, deadlines
from storage.renovation_patrol import PatrolStore
from storage.reports import ReportStore
from tests.conftest import World
from tests.support.app import clock_of, services_of
from tests.support.images import encoded
from tests.support.renovations import demo_estate, ledger, notice, patrolled, seed_renovation
from tests.support.reports import local, report_files
from tests.support.telegram import Harness, Person

CUSTOMER_HEAD, ASSISTANT, ENGINEER, GUARD, MANAGER = 9012, 9001, 9003, 9005, 9008
TODAY = date(2026, 11, 27)  # the clock's Friday


@pytest.fixture
async def head(world: World, bot: Harness) -> Person:
    """李淑芬, the customer-department head (the demo estate has none: the sandbox adds her)."""
    identity = services_of(world).identity
    person = await identity.touch_person(CUSTOMER_HEAD, "李淑芬", None, "zh-hans")
    estate_id = await demo_estate(world)
    await identity.grant_role(person.id, estate_id, Role.CUSTOMER_HEAD,
                              department="customer_service", actor="test")  # fmt: skip
    return bot.person(CUSTOMER_HEAD, "李淑芬")


@pytest.fixture
async def estate(world: World, bot: Harness) -> dict[str, tuple[int, str]]:
    """Three open renovations and a draft: 1栋 301 active, its deposit partly taken by a
    penalty and more owed (arrears), patrolled today by engineering only; 2栋 502 active
    with an open rectification notice, patrolled by nobody; 10栋 1001 permitted (not
    patrolled yet); 3栋 101 a draft (not on the sheet)."""
    a = await seed_renovation(world, "1栋", "301", Status.ACTIVE, owner="陈明")
    b = await seed_renovation(world, "2栋", "502", Status.ACTIVE, owner="刘芳", contractor="美家")
    c = await seed_renovation(world, "10栋", "1001", Status.PERMITTED, owner="赵强")
    await seed_renovation(world, "3栋", "101", Status.DRAFT, owner="孙丽")
    await ledger(world, a[0], ("collected", 300000))
    # a penalty of ¥3,500 approved on notice 1: the deposit covers ¥3,000, ¥500 owed
    await ledger(world, a[0], ("penalty", 300000), reference="notice:1")
    await ledger(world, a[0], ("arrears", 50000), for_kind="penalty", reference="notice:1")
    await ledger(world, b[0], ("collected", 200000))
    await ledger(world, c[0], ("collected", 300000))
    await notice(world, b[0])
    await notice(world, a[0], state="closed")
    return {"a": a, "b": b, "c": c}


def workbook(bot: Harness, person: Person) -> dict[str, list[tuple[object, ...]]]:
    """The newest spreadsheet the bot sent the person, sheet by sheet."""
    _, documents = report_files(person)
    data = bot.api.world.file_content(documents[-1]["document"]["file_id"])
    book = load_workbook(io.BytesIO(data))
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


async def test_the_control_sheet_shows_what_a_head_checks(
    world: World, bot: Harness, head: Person, estate: dict[str, tuple[int, str]]
) -> None:
    """/renovations: the counts by state, the deposits held and owed, the open notices,
    each department's patrols today; the renovations needing attention with their ✓/—;
    the spreadsheet lists every open one (not the draft) with its balance and ticks. An
    engineer's patrol through /patrol shows as a ✓ on the next sheet."""
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    await engineer.tap("1栋 301")
    await engineer.tap("一切正常")
    await head.send("/renovations")
    text = next(m["text"] for m in head.messages() if "装修掌控表" in m.get("text", ""))
    assert "阳光花园 装修掌控表（2026-11-27）" in text
    assert "在办装修 3 户：已发施工证 1 · 施工中 2" in text
    assert "押金结存 ¥5,000.00；业主欠款 ¥500.00" in text
    assert "未关闭的违章整改单 1 张" in text
    assert "今日巡查（已巡/应巡）：客服中心 0/2 · 工程部 1/2 · 保安部 0/2" in text
    assert "需留意（2 户" in text
    a, b, c = (estate[k][1] for k in "abc")
    assert f"1栋 301 · {a} · 施工中 · 业主 陈明 · 安居装饰 · 11-01～01-31 · 押金 ¥0.00" in text
    assert "巡查 客— 工✓ 保— · 欠款 ¥500.00" in text
    assert f"2栋 502 · {b} · 施工中 · 业主 刘芳 · 美家" in text and "违章未整改 1" in text
    assert f"10栋 1001 · {c} · 已发施工证" in text  # among the others
    assert "3栋 101" not in text  # a draft is the owner's unfinished form
    sheets = workbook(bot, head)
    header, *rows = sheets["掌控表"]
    assert header[:3] == ("编号", "房屋", "状态") and header[-3:] == (
        "客服中心",
        "工程部",
        "保安部",
    )
    assert [r[1] for r in rows] == ["1栋 301", "2栋 502", "10栋 1001"]  # 2 before 10
    assert rows[0][7:] == (0, 0, 500, "—", "✓", "—")
    assert rows[1][7:] == (1, 2000, 0, "—", "—", "—")
    assert rows[2][2] == "已发施工证" and rows[2][8] == 3000 and rows[2][10:] == (None,) * 3


async def test_item9_the_patrol_grid_shows_a_missing_department(
    world: World, bot: Harness, head: Person, estate: dict[str, tuple[int, str]]
) -> None:
    """The grid (the sheet's button, or /renovations grid): renovation × department; 2栋 502
    misses all three, 1栋 301 only security once the others patrolled; in the spreadsheet
    the gap is on the grid's sheet."""
    a, b = estate["a"], estate["b"]
    await patrolled(world, a[0], "engineering", TODAY)
    await patrolled(world, a[0], "customer_service", TODAY)
    await patrolled(world, b[0], "security", TODAY - timedelta(days=1))  # yesterday's
    await head.send("/renovations")
    await head.tap("今日巡查表")
    grid = head.last_text
    assert "阳光花园 装修巡查表（2026-11-27）" in grid
    assert "缺巡查 2 户（施工中共 2 户）" in grid
    assert f"• 1栋 301 · {a[1]} · 缺：保安部" in grid
    assert f"• 2栋 502 · {b[1]} · 缺：客服中心、工程部、保安部" in grid
    assert "10栋 1001" not in grid  # not active: not patrolled
    sheets = workbook(bot, head)
    assert sheets["巡查表"][1:] == [
        (a[1], "1栋 301", "✓", "✓", "—", "保安部"),
        (b[1], "2栋 502", "—", "—", "—", "客服中心、工程部、保安部"),
    ]
    for department in ("engineering", "customer_service", "security"):
        await patrolled(world, b[0], department, TODAY)
    await patrolled(world, a[0], "security", TODAY)
    await head.send("/renovations grid")
    assert "施工中的 2 户，三个部门今天都已巡查" in next(
        m["text"] for m in reversed(head.messages()) if "巡查表" in m.get("text", "")
    )


async def test_owners_and_patrollers_are_refused_the_papers(
    world: World, bot: Harness, owner: Person, head: Person, estate: dict[str, tuple[int, str]]
) -> None:
    """Owners, and staff outside customer service, the heads and the project manager, get
    a polite word: no sheet, no grid, no dossier; the grid's button checks again."""
    for person in (owner, bot.person(GUARD, "陈保华")):
        for command in ("/renovations", "/renovations grid", f"/dossier {estate['a'][1]}"):
            await person.send(command)
            assert "装修掌控表和装修档案供客服中心" in person.last_text
            assert report_files(person) == ([], [])
    estate_id = await demo_estate(world)
    await owner.tap_data(f"rs:grid:{estate_id}")
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params.get("text", "")
    assert "装修掌控表和装修档案供客服中心" in str(answer)
    manager = bot.person(MANAGER, "钱振东")
    await manager.send("/renovations")
    assert "装修掌控表" in manager.messages()[0]["text"]
    await head.send("/dossier ZX-19990101-0001")
    assert "没有找到这个装修编号" in head.last_text


async def test_item17_the_daily_sheet_goes_to_the_customer_head_once_also_after_a_restart(
    world: World, bot: Harness, head: Person, estate: dict[str, tuple[int, str]]
) -> None:
    """At the end of the working day the customer-department head gets the sheet with the
    day's grid and the spreadsheet; once: a second run, or a restarted bot, sends nothing;
    the project manager does not get it (the head does)."""
    svc = services_of(world)
    end = local(2026, 11, 27, 17, 30, 30)
    clock_of(world).set(end)
    assert await send_due_sheets(svc, local(2026, 11, 27, 17, 0)) == 0  # not yet
    assert await send_due_sheets(svc, end) == 1
    assert await send_due_sheets(svc, end + timedelta(minutes=5)) == 0
    restarted = await world.crash_and_restart()
    assert await send_due_sheets(services_of(world), end + timedelta(minutes=10)) == 0
    texts = [m["text"] for m in head.messages() if "装修掌控表" in m.get("text", "")]
    assert len(texts) == 1
    assert "缺巡查 2 户（施工中共 2 户）" in texts[0]  # the grid, in the daily sheet
    assert "补发" not in texts[0]
    sheets = workbook(restarted, head)
    assert set(sheets) == {"掌控表", "巡查表"} and len(sheets["掌控表"]) == 4
    assert bot.person(MANAGER, "钱振东").messages() == []
    [sent] = await ReportStore(world.db).sent(await demo_estate(world), "renovation_sheet")
    assert sent.period_start == TODAY and sent.data["gaps"] == [estate["a"][1], estate["b"][1]]
    # Monday: a new day, a new sheet — marked late when the bot was down at its moment.
    monday = local(2026, 11, 30, 19, 0)
    clock_of(world).set(monday)
    assert await send_due_sheets(services_of(world), monday) == 1
    assert "补发" in [m["text"] for m in head.messages() if "装修掌控表" in m.get("text", "")][-1]


async def test_item17_the_weekly_renovation_report_counts_the_week(
    world: World, bot: Harness, head: Person, estate: dict[str, tuple[int, str]]
) -> None:
    """Friday's weekly renovation report: applications received, approved and rejected;
    works started and completed; violations minor and serious; the penalty; deposits
    collected and refunded; patrols on time per department (R-14's clocks); as text, a
    chart and a spreadsheet, once."""
    estate_id = await demo_estate(world)
    a, b = estate["a"][0], estate["b"][0]
    wednesday = local(2026, 11, 25, 10)
    clock_of(world).set(wednesday)
    async with world.db.write() as conn:
        for ren_id, event in ((a, "renovation.submit"), (b, "renovation.submit"),
                              (a, "renovation.approve"), (b, "renovation.reject"),
                              (a, "renovation.start_works")):  # fmt: skip
            await audit.append(conn, event=event, subject=f"renovation:{ren_id}",
                               actor="system", estate_id=estate_id, data={})  # fmt: skip
        await audit.append(conn, event="renovation.submit", subject="renovation:999",
                           actor="system", estate_id=estate_id + 1, data={})  # fmt: skip
        duties = {
            r["department"]: int(r["id"])
            for r in await (
                await conn.execute(
                    "SELECT id, department FROM renovation_patrol_duties WHERE renovation_id = ?",
                    (a,),
                )
            ).fetchall()
        }
        for department, met in (("engineering", True), ("security", False)):
            duty = Subject("renovation_patrol", duties[department])
            due = local(2026, 11, 25, 17, 30)
            timer = await deadlines.schedule(conn, duty, RuleId.R14.value, due, None)
            if met:  # patrolled in time
                await deadlines.settle(conn, duty, [RuleId.R14.value])
            else:  # the sweeper found it missed
                await deadlines.mark(conn, timer, warned=False, at=due, late=False)
    await patrolled(world, a, "security", date(2026, 11, 25), "minor", at=wednesday)
    await patrolled(world, b, "engineering", date(2026, 11, 25), "serious", at=wednesday)
    await patrolled(world, b, "customer_service", date(2026, 11, 25), "ok", at=wednesday)
    await ledger(world, b, ("refund", 1), at=wednesday)
    friday = local(2026, 11, 27, 17, 0, 30)
    clock_of(world).set(friday)
    assert await send_due_weekly(services_of(world), friday) == 1
    assert await send_due_weekly(services_of(world), friday + timedelta(minutes=3)) == 0
    [text] = [m["text"] for m in head.messages() if "装修办理周报" in m.get("text", "")]
    assert "申请：受理 2 · 批准 1 · 未批准 1" in text
    assert "施工：开工 1 · 竣工验收合格 0" in text
    assert "违规：一般 1 · 严重 1" in text
    # the fixture's ledger lines are in the week too: a penalty of ¥3,000 plus ¥500 owed
    assert "罚款：1 笔，共 ¥3,500.00" in text
    assert "押金：收取 ¥8,000.00 · 退还 ¥0.01" in text
    assert "巡查按时率：50%（客服中心 0/0 · 工程部 1/1 · 保安部 0/1）" in text
    assert "在办装修：已发施工证 1 · 施工中 2" in text
    photos, _ = report_files(head)
    assert "装修办理周报图表" in photos[-1]["caption"]
    sheets = workbook(bot, head)
    figures = {row[0]: row[1] for row in sheets["概览"] if row}
    assert (
        figures["受理申请"] == 2 and figures["严重违规"] == 1 and figures["罚款金额（元）"] == 3500
    )
    assert sheets["巡查"][1:] == [("客服中心", 0, 0, "—"), ("工程部", 1, 1, "100%"),
                                 ("保安部", 0, 1, "0%")]  # fmt: skip
    # Every reader of the weekly summary and both heads; the customer assistant does not.
    for reader in (9002, 9004, 9008, 9009, 9010):
        person = bot.person(reader, "")
        assert any("装修办理周报" in m.get("text", "") for m in person.messages())
    assert bot.person(ASSISTANT, "周晓梅").messages() == []


async def test_item16_the_dossier_holds_the_timeline_and_originals_whose_hashes_match(
    world: World, bot: Harness, head: Person, estate: dict[str, tuple[int, str]]
) -> None:
    """/dossier ZX-…: a zip with the timeline in estate time (who, what), each original
    kept as evidence byte for byte under its SHA-256, and SHA256SUMS listing them — the
    hashes match the stored originals and the photo the guard sent."""
    ren_id, number = estate["a"]
    photo = encoded(Image.new("RGB", (64, 48), (200, 30, 30)), "JPEG")
    guard = bot.person(GUARD, "陈保华")
    await guard.send("/patrol")
    await guard.tap("1栋 301")
    await guard.tap("有违规")
    await guard.send_photo(photo, caption="楼道堆放建材")
    assert "已记录违规" in guard.last_text
    [kept] = await PatrolStore(world.db).patrols(ren_id)
    await head.send(f"/dossier {number.lower()}")
    assert f"装修 {number} 的档案" in head.last_text or any(
        f"装修 {number} 的档案" in m.get("text", "") for m in head.messages()
    )
    _, documents = report_files(head)
    assert documents[-1]["document"]["file_name"] == f"{number}-dossier.zip"
    data = bot.api.world.file_content(documents[-1]["document"]["file_id"])
    archive = zipfile.ZipFile(io.BytesIO(data))
    sums = archive.read(f"{number}/SHA256SUMS").decode().split("\n")
    listed = [line.split("  ") for line in sums if line]
    original = hashlib.sha256(photo).hexdigest()
    assert [sha for sha, _ in listed] == [original]
    store = services_of(world).evidence
    for sha, name in listed:
        inside = archive.read(f"{number}/{name}")
        assert hashlib.sha256(inside).hexdigest() == sha
        assert inside == store.read_original(sha) == photo
    assert kept.photo_display != original  # the watermarked copy is not the original
    book = load_workbook(io.BytesIO(archive.read(f"{number}/timeline.xlsx")))
    timeline = list(book["时间线"].iter_rows(values_only=True))
    assert timeline[0] == ("时间", "操作人", "事件", "详情")
    patrol = next(row for row in timeline if row[2] == "renovation.patrolled")
    assert patrol[1] == "陈保华" and original in str(patrol[3])
    assert str(patrol[0]).startswith("2026-11-27 09:")  # estate time, not UTC
    files = list(book["文件"].iter_rows(values_only=True))
    assert files[1][:3] == ("巡查照片", original, f"files/{original}.jpeg")
