"""Q-5: after the Friday summary, the customer-centre supervisor writes the week's conclusion:
a button on their copy, then their next private message; archived with the report, audited,
sent to the summary's recipients; one a week; a week left without one is named in the next
summary."""

from __future__ import annotations

from datetime import date, timedelta

from bot.reports import send_due_weekly
from procedures.identity import Role
from storage import audit
from storage.cases import Case
from storage.identity import IdentityStore
from storage.reports import ReportStore
from tests.conftest import World
from tests.support.app import clock_of, services_of
from tests.support.reports import estate_id, local, reports_in
from tests.support.telegram import Group, Harness, Person

FRIDAY = local(2026, 10, 16, 17, 0, 30)
BUTTON = "✍️ 写本周总结"
CONCLUSION = "本周报修及时率偏低，下周起工程部每日下班前清点未办结事项。"


async def summary_sent(world: World) -> None:
    clock_of(world).set(FRIDAY)
    assert await send_due_weekly(services_of(world), FRIDAY) == 1


def answer_text(bot: Harness) -> str:
    return str(bot.api.calls_of("answerCallbackQuery")[-1].params.get("text", ""))


async def test_q5_the_supervisor_writes_the_weeks_conclusion_and_the_recipients_get_it(
    world: World, bot: Harness, week: dict[str, Case], management: Group
) -> None:
    supervisor, leader = bot.person(9002, "吴建国"), bot.person(9010, "赵总")
    manager = bot.person(9008, "钱振东")
    await summary_sent(world)
    assert BUTTON in supervisor.buttons()
    assert manager.buttons() == [] and management.buttons() == []  # only the writer's copy

    clock_of(world).set(FRIDAY + timedelta(minutes=20))
    await supervisor.tap(BUTTON)
    assert "请直接发送 10-12 这周的书面总结" in supervisor.last_text
    await supervisor.send(CONCLUSION)  # a plain message: no need to reply to the question
    assert "已保存 10-12 这周的总结，并发给了 4 个接收人" in supervisor.last_text

    for reader in (leader, manager, bot.person(9009, "林慧")):
        assert CONCLUSION in reader.last_text
        assert "阳光花园 · 10-12 这周的总结" in reader.last_text
        assert "客户中心主管 吴建国（10-16 17:20）" in reader.last_text
    assert CONCLUSION in management.last_text

    store = ReportStore(world.db)
    report = await store.report(await estate_id(world), "weekly", date(2026, 10, 12))
    assert report is not None
    written = await store.conclusion(report.id)
    assert written is not None
    assert (written.by_name, written.role, written.text) == ("吴建国", "cc_supervisor", CONCLUSION)
    assert written.at == FRIDAY + timedelta(minutes=20)
    events = await audit.trail(world.db, f"report:{report.id}")
    assert [e["event"] for e in events] == ["report.weekly_sent", "report.conclusion_written"]
    assert events[-1]["data"]["text"] == CONCLUSION
    assert events[-1]["actor"] == f"person:{written.by_id}"
    assert (await audit.verify(world.db)).ok

    # The message after the conclusion goes its usual way again.
    before = len(supervisor.messages())
    await supervisor.send("/whoami")
    assert len(supervisor.messages()) > before and CONCLUSION not in supervisor.last_text


async def test_q5_a_second_conclusion_for_the_week_is_refused_politely(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    """The first stays the record (the table refuses changes); the button, pressed again,
    says who wrote it and when, and asks for nothing."""
    supervisor = bot.person(9002, "吴建国")
    await summary_sent(world)
    await supervisor.tap(BUTTON)
    await supervisor.send(CONCLUSION)
    await supervisor.tap(BUTTON)
    assert "这周的总结已由 吴建国 于 10-16 17:00 写好，不能再写一份" in answer_text(bot)
    await supervisor.send("再写一份不同的总结，看看会不会被保存。")
    report = await ReportStore(world.db).report(
        await estate_id(world), "weekly", date(2026, 10, 12)
    )
    assert report is not None
    rows = await world.db.fetchall("SELECT text FROM report_conclusions")
    assert [r["text"] for r in rows] == [CONCLUSION]


async def test_q5_only_the_customer_centre_supervisor_may_write_it(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    """Checked on the press (a forged one included) and again on the message: a supervisor
    whose role was taken away in between keeps nothing."""
    supervisor, manager = bot.person(9002, "吴建国"), bot.person(9008, "钱振东")
    await summary_sent(world)
    eid = await estate_id(world)
    await manager.tap_data(f"rp:cc:{eid}:20261012")
    assert "只有本项目的客户中心主管可以写周报总结" in answer_text(bot)
    await manager.send(CONCLUSION)
    assert "已保存" not in manager.last_text

    # Bad data and a week without a summary: a stale button, nothing asked.
    await supervisor.tap_data(f"rp:cc:{eid}:2026x012")
    assert "按钮已失效" in answer_text(bot)
    await supervisor.tap_data(f"rp:cc:{eid}:20261005")
    assert "按钮已失效" in answer_text(bot)
    await supervisor.send(CONCLUSION)
    assert "已保存" not in supervisor.last_text

    await supervisor.tap(BUTTON)
    identity = IdentityStore(world.db)
    person = await identity.person_by_tg(9002)
    assert person is not None
    await identity.revoke_role(
        person.id, eid, Role.CC_SUPERVISOR.value, actor="test", actor_id=None
    )
    await supervisor.send(CONCLUSION)
    assert "只有本项目的客户中心主管可以写周报总结" in supervisor.last_text
    assert await world.db.fetchall("SELECT 1 FROM report_conclusions") == []


async def test_q5_too_short_is_asked_again_and_cancel_or_a_command_drops_the_question(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    supervisor = bot.person(9002, "吴建国")
    await summary_sent(world)
    await supervisor.tap(BUTTON)
    await supervisor.send("好")
    assert "总结太短了" in supervisor.last_text
    await supervisor.send("/cancel")
    assert "已放弃，没有保存总结" in supervisor.last_text
    await supervisor.send(CONCLUSION)
    assert "已保存" not in supervisor.last_text
    # Another command means they moved on: it runs, and the question is dropped.
    await supervisor.tap(BUTTON)
    await supervisor.send("/whoami")
    assert "吴建国" in supervisor.last_text
    await supervisor.send(CONCLUSION)
    assert await world.db.fetchall("SELECT 1 FROM report_conclusions") == []
    # Too long: asked again, nothing kept; and after the hour the question is gone.
    await supervisor.tap(BUTTON)
    await supervisor.send("长" * 3001)
    assert "总结太长了（3001 字，最多 3000 字）" in supervisor.last_text
    clock_of(world).set(FRIDAY + timedelta(hours=1, minutes=1))
    await supervisor.send(CONCLUSION)
    assert await world.db.fetchall("SELECT 1 FROM report_conclusions") == []


async def test_q5_the_next_summary_names_a_week_left_without_a_conclusion(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    supervisor = bot.person(9002, "吴建国")
    await summary_sent(world)
    assert "总结未写" not in reports_in(supervisor)[0]
    next_friday = local(2026, 10, 23, 17, 0, 30)
    clock_of(world).set(next_friday)
    assert await send_due_weekly(services_of(world), next_friday) == 1
    assert "✍️ 上周总结未写：10-12 这周" in reports_in(supervisor)[-1]

    # Written (late, from the older summary's button), it is no longer named.
    [older] = [
        m
        for m in supervisor.messages()
        if "rp:cc:" in str(m.get("reply_markup")) and "20261012" in str(m.get("reply_markup"))
    ]
    await supervisor.tap_data(
        older["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        message_id=older["message_id"],
    )
    await supervisor.send(CONCLUSION)
    assert "已保存 10-12 这周的总结" in supervisor.last_text
    third = local(2026, 10, 30, 17, 0, 30)
    clock_of(world).set(third)
    assert await send_due_weekly(services_of(world), third) == 1
    assert "总结未写：10-19 这周" in reports_in(supervisor)[-1]
    assert "10-12 这周" not in reports_in(supervisor)[-1]


async def test_q5_an_english_reader_gets_the_conclusion_in_english(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    identity = IdentityStore(world.db)
    leader = await identity.person_by_tg(9010)
    assert leader is not None
    await identity.set_locale(leader.id, "en")
    supervisor: Person = bot.person(9002, "吴建国")
    await summary_sent(world)
    await supervisor.tap(BUTTON)
    await supervisor.send(CONCLUSION)
    text = bot.person(9010, "赵总").last_text
    assert "conclusion for the week of 10-12" in text and CONCLUSION in text
