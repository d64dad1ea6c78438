"""The daily department report (部門日、周匯報表, C-15, B-5): at the end of each working day
each department's head and group get the day's numbers — received, done, open, overdue with
their numbers, complaints, callbacks — as text, a chart and a spreadsheet; once per
department and day, also across restarts, and a day missed while the bot was down late,
once."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from bot.reports import send_due_daily
from procedures.cases import Action, Kind
from storage.cases import Case
from storage.identity import IdentityStore
from storage.reports import ReportStore
from tests.conftest import ADMIN_ID, World
from tests.support.app import clock_of, services_of
from tests.support.reports import deployed_at, estate_id, file, local, report_files, step
from tests.support.telegram import Group, Harness, Person

THURSDAY_END = local(2026, 10, 15, 17, 30, 30)


def dailies(view: Person | Group, marker: str = "日报") -> list[str]:
    """The daily reports' texts in a chat (not the captions of their files)."""
    return [m["text"] for m in view.messages() if "text" in m and marker in m["text"]]


async def run_at(world: World, moment: datetime) -> int:
    """The daily job at ``moment`` (the bot's clock moved there too)."""
    clock_of(world).set(moment)
    return await send_due_daily(services_of(world), moment)


async def kinds_sent(world: World, day: date) -> set[str]:
    rows = await world.db.fetchall(
        "SELECT kind FROM reports WHERE kind LIKE 'daily:%' AND period_start = ?",
        (day.isoformat(),),
    )
    return {r["kind"] for r in rows}


@pytest.fixture
async def security(bot: Harness) -> Group:
    group = bot.group(-400, "保安部")
    await bot.person(ADMIN_ID, "管理员").send("/bind 保安部", chat=group)
    return group


async def test_c15_b5_each_department_gets_its_day_at_the_end_of_work(
    world: World,
    bot: Harness,
    week: dict[str, Case],
    groups: dict[str, Group],
    security: Group,
) -> None:
    """Thursday 17:30: customer service follows every case (R2 overdue, with its number);
    security completed C1; engineering had a quiet day. The engineering head gets it
    privately too; managers and assistants do not get a daily report."""
    head, supervisor = bot.person(9004, "冯立"), bot.person(9002, "吴建国")
    assert await run_at(world, THURSDAY_END) == 3
    # Finance and management: nobody to tell, nothing recorded.
    assert await kinds_sent(world, date(2026, 10, 15)) == {
        "daily:customer_service", "daily:engineering", "daily:security",
    }  # fmt: skip

    [cs] = dailies(groups["cs"])
    assert "阳光花园 · 客服中心 日报（10-15）" in cs
    assert "统计区间：10-14 17:30 至 10-15 17:30" in cs
    assert "今日受理 0 件，其中投诉 0 件" in cs and "今日完成 1 件" in cs
    assert "截至 10-15 17:30 未办结 2 件，其中投诉 1 件" in cs
    r2 = week["r2"].number
    assert "超时未办 1 件：" in cs
    assert f"• {r2} · 10 分钟内转交 · 超时 2 天 8 小时" in cs
    assert f"• {r2} · 1 天内处理并答复 · 超时 1 天 8 小时" in cs
    assert "Q-1" not in cs  # department heads read plain words

    [sec] = dailies(security)
    assert "保安部 日报（10-15）" in sec and "今日完成 1 件" in sec
    assert "未办结 1 件，其中投诉 1 件" in sec and "没有超时未办的事项" in sec

    [eng] = dailies(groups["eng"])
    assert "工程部 日报" in eng and "今日受理 0 件" in eng and "未办结 0 件" in eng
    assert dailies(head) == [eng]
    assert dailies(supervisor) == [] and dailies(bot.person(9001, "周晓梅")) == []

    # A chart and a spreadsheet after each text, the same numbers.
    photos, documents = report_files(groups["cs"])
    assert len(photos) == 1 and len(documents) == 1
    assert "部门日报图表" in photos[0]["caption"]
    data = bot.api.world.file_content(documents[0]["document"]["file_id"])
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["概览", "超时未办", "事项"]
    figures = {row[0]: row[1] for row in book["概览"].iter_rows(values_only=True)}
    assert figures["今日完成"] == 1 and figures["未办结"] == 2 and figures["超时未办"] == 1
    overdue = list(book["超时未办"].iter_rows(values_only=True))[1:]
    assert [(row[0], row[1]) for row in overdue] == [
        (r2, "10 分钟内转交"), (r2, "1 天内处理并答复"),
    ]  # fmt: skip
    listed = {row[0] for row in list(book["事项"].iter_rows(values_only=True))[1:]}
    assert {r2, week["c1"].number, week["c2"].number} <= listed

    [record] = await ReportStore(world.db).sent(await estate_id(world), "daily:customer_service")
    assert record.data["done"] == 1 and record.data["overdue"][0]["number"] == r2
    assert not record.late and record.recipients == 1


async def test_c15_b5_a_day_of_cases_complaints_and_callbacks(
    world: World, bot: Harness, groups: dict[str, Group]
) -> None:
    """Received (complaints among them), done and called back in the day, in the head's
    own language."""
    await deployed_at(world, local(2026, 10, 12, 8))
    identity = IdentityStore(world.db)
    person = await identity.person_by_tg(9004)
    assert person is not None
    await identity.set_locale(person.id, "en")
    leak = await file(world, Kind.REQUEST, "repairs", local(2026, 10, 13, 9), ["Q-1", "Q-4"])
    await step(world, leak, Action.REFER, local(2026, 10, 13, 9, 5), stop=["Q-1"],
               department="engineering")  # fmt: skip
    noise = await file(world, Kind.COMPLAINT, "repairs", local(2026, 10, 13, 10), ["Q-1"])
    await step(world, noise, Action.REFER, local(2026, 10, 13, 10, 5), stop=["Q-1"],
               department="engineering")  # fmt: skip
    await step(world, leak, Action.DONE, local(2026, 10, 13, 15), stop=["Q-4"], start=["B-1"])
    await step(world, leak, Action.CLOSE, local(2026, 10, 13, 16), stop=["B-1"],
               satisfaction=5, called_back_at=local(2026, 10, 13, 16),
               callback_channel="chat")  # fmt: skip
    assert await run_at(world, local(2026, 10, 13, 17, 31)) == 2  # engineering, customer service
    [text] = dailies(bot.person(9004, "冯立"), "daily report")
    assert "Received today: 2 (1 complaints)" in text and "Done today: 1" in text
    assert "Open at 10-13 17:31: 1 (1 complaints)" in text
    assert "Callbacks made today: 1" in text and "Nothing is overdue." in text


async def test_c15_none_before_the_end_of_work_nor_on_a_day_off(
    world: World, bot: Harness, groups: dict[str, Group]
) -> None:
    """Before 17:30, nothing new; a weekend or holiday sends nothing; the first working day
    after the National Day holiday counts from the last working day's end."""
    await deployed_at(world, local(2026, 9, 28, 8))
    eng = groups["eng"]
    assert await run_at(world, local(2026, 9, 28, 17, 29)) == 0
    assert await run_at(world, local(2026, 9, 28, 17, 30)) == 2
    assert await run_at(world, local(2026, 9, 29, 17, 29)) == 0
    # Tuesday's moment passed unseen (the bot was down): only the latest day goes, on time.
    assert await run_at(world, local(2026, 9, 30, 17, 30, 5)) == 2
    assert len(dailies(eng)) == 2 and "日报（09-30）" in dailies(eng)[-1]
    for day in range(1, 8):  # 10-01..10-07: National Day, no report
        assert await run_at(world, local(2026, 10, day, 17, 45)) == 0, day
    assert await run_at(world, local(2026, 10, 8, 17, 30, 5)) == 2
    assert "统计区间：09-30 17:30 至 10-08 17:30" in dailies(eng)[-1]
    assert "补发" not in dailies(eng)[-1]


async def test_c15_once_per_day_across_a_restart_and_a_missed_day_is_sent_late_once(
    world: World, bot: Harness, week: dict[str, Case], groups: dict[str, Group]
) -> None:
    eng = groups["eng"]
    assert await run_at(world, THURSDAY_END) == 2
    assert await run_at(world, THURSDAY_END + timedelta(minutes=1)) == 0
    await world.crash_and_restart()
    assert await run_at(world, THURSDAY_END + timedelta(minutes=2)) == 0
    assert len(dailies(eng)) == 1
    # The bot was down on Friday evening: Monday 09:00 sends Friday's, late, once.
    assert await run_at(world, local(2026, 10, 19, 9)) == 2
    late = dailies(eng)[-1]
    assert "日报（10-16）" in late and "补发" in late and "原定 10-16 17:30" in late
    assert await run_at(world, local(2026, 10, 19, 9, 1)) == 0
    [friday] = [
        r
        for r in await ReportStore(world.db).sent(await estate_id(world), "daily:engineering")
        if r.period_start == date(2026, 10, 16)
    ]
    assert friday.late
    # Monday's own comes on time, counting from Friday's end.
    assert await run_at(world, local(2026, 10, 19, 17, 30, 10)) == 2
    assert "统计区间：10-16 17:30 至 10-19 17:30" in dailies(eng)[-1]
    assert "补发" not in dailies(eng)[-1]
