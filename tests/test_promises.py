"""Times promised to the resident, in chat: the next reply time of a complaint (C-1), met by
a reply that reaches the resident in time, and the time that replaces a request's day
(Q-4), promised before that day runs out."""

from __future__ import annotations

from typing import Any

from procedures.subjects import CASE, Subject
from storage import approvals
from storage.cases import Case
from tests.conftest import World
from tests.support.app import clock_of, services_of, sweeper_of
from tests.support.cases import file_complaint, latest_case, open_rules, referred_to_engineering
from tests.support.telegram import Group, Harness, Person


async def promised_today(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> tuple[Case, Person]:
    """王伟 complains at 09:00; the assistant refers it to engineering, where 郑海 takes it
    and fixes the next reply time: today 18:00. Returns the case and the engineer."""
    await file_complaint(owner)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    await engineer.tap("🙋 接单", chat=groups["eng"])
    await engineer.tap("⏰ 约定下次答复时间", chat=groups["eng"])
    await engineer.tap("今天 18:00 前", chat=groups["eng"])
    return await latest_case(world), engineer


async def sweep(world: World) -> None:
    """The sweeper passes at the clock's time, and the outbox is drained."""
    await sweeper_of(world).sweep()
    await services_of(world).deliver()


async def test_c1_the_departments_progress_reply_meets_the_next_reply_time(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """C-1: the engineer fixes the next reply time (today 18:00) and, at 17:00, answers on
    the card: the reply reaches the resident, and the clock is met, not left to run out."""
    case, engineer = await promised_today(world, bot, groups, owner)
    assert (await open_rules(world, case))["C-1-next-reply"] == "pending"
    clock_of(world).advance(hours=8)  # 17:00
    card = groups["eng"].messages()[-1]["message_id"]
    await engineer.reply_to(card, "已查明是夜班交接问题，明天给您答复", chat=groups["eng"])
    assert "夜班交接问题" in owner.last_text
    assert (await open_rules(world, case))["C-1-next-reply"] == "met"
    clock_of(world).advance(hours=2)  # 19:00: nothing left to run out
    supervisor = bot.person(9002, "吴建国")
    await sweep(world)
    assert not any(case.number in text for text in supervisor.texts())
    assert (await latest_case(world)).status == "in_progress"  # the complaint goes on


async def test_c1_a_reply_after_the_next_reply_time_meets_nothing(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """C-1: the time passes with no reply: the supervisor hears it; a reply afterwards still
    reaches the resident, but the missed time stays missed. The supervisor fixes the next
    one (tomorrow 12:00), and the reply that comes before it meets that one."""
    case, engineer = await promised_today(world, bot, groups, owner)
    card = groups["eng"].messages()[-1]["message_id"]
    clock_of(world).advance(hours=9, minutes=1)  # 18:01
    await sweep(world)
    supervisor = bot.person(9002, "吴建国")
    assert case.number in supervisor.last_text
    assert (await open_rules(world, case))["C-1-next-reply"] == "fired"
    await engineer.reply_to(card, "抱歉，明天上午答复您", chat=groups["eng"])
    assert "明天上午答复您" in owner.last_text
    assert (await open_rules(world, case))["C-1-next-reply"] == "fired"
    await supervisor.tap("⏰ 约定下次答复时间", chat=groups["eng"])
    await supervisor.tap("明天 12:00 前", chat=groups["eng"])
    clock_of(world).advance(hours=15)  # 09:01 the next day
    await engineer.reply_to(card, "阀门已订购，下午更换", chat=groups["eng"])
    states = await world.db.fetchall(
        "SELECT state FROM deadlines WHERE case_id = ? AND rule = 'C-1-next-reply' ORDER BY id",
        (case.id,),
    )
    assert [r["state"] for r in states] == ["fired", "met"]


async def test_c1_the_first_responder_fixes_the_next_reply_time_from_their_card(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """C-1: customer service, who received the complaint, explains and fixes the next reply
    time from their own card, before and after the referral; their reply on the card meets
    it, and then they fix the next one (no head needed); moving a time still running is
    the head's or the supervisor's."""
    await file_complaint(owner)
    cs, assistant = groups["cs"], bot.person(9001, "周晓梅")
    await assistant.tap("⏰ 约定下次答复时间", chat=cs)
    assert "今天 18:00 前" in cs.buttons()
    await assistant.tap("返回", chat=cs)
    assert "➡️ 转交部门" in cs.buttons()
    await assistant.tap("⏰ 约定下次答复时间", chat=cs)
    await assistant.tap("今天 18:00 前", chat=cs)
    assert "再次答复您" in owner.last_text
    case = await latest_case(world)
    assert case.status == "new" and case.promised_at is not None
    assert (await open_rules(world, case))["C-1-next-reply"] == "pending"
    assert "➡️ 转交部门" in cs.buttons()  # the card's steps are still there
    await assistant.tap("➡️ 转交部门", chat=cs)
    await assistant.tap("工程部", chat=cs)
    assert cs.buttons() == ["⏰ 约定下次答复时间"]  # the first responder follows it up
    clock_of(world).advance(hours=7)  # 16:00
    card = cs.messages()[-1]["message_id"]
    await assistant.reply_to(card, "工程部已安排师傅，今晚给您准信", chat=cs)
    assert "今晚给您准信" in owner.last_text
    assert (await open_rules(world, case))["C-1-next-reply"] == "met"
    await assistant.tap("⏰ 约定下次答复时间", chat=cs)
    await assistant.tap("明天 12:00 前", chat=cs)
    assert "再次答复您" in owner.last_text
    assert (await open_rules(world, case))["C-1-next-reply"] == "pending"
    await assistant.tap("⏰ 约定下次答复时间", chat=cs)  # still running: not theirs to move
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert answer.get("show_alert") and "已经约定过" in answer["text"]


async def request_past_its_day(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> tuple[Case, Person]:
    """王伟's request, referred to engineering and taken by 郑海, runs past its day with no
    promise: the sweeper fires Q-4 and the customer-centre supervisor hears it."""
    await referred_to_engineering(bot, groups, owner)
    engineer = bot.person(9003, "郑海")
    await engineer.tap("🙋 接单", chat=groups["eng"])
    case = await latest_case(world)
    clock_of(world).advance(hours=24, minutes=1)  # Saturday 09:01
    await sweep(world)
    assert (await open_rules(world, case))["Q-4"] == "fired"
    return case, engineer


async def test_q4_a_promise_after_the_day_ran_out_is_refused_politely(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-4: a time promised after the day is not "beforehand" (事前): the engineer, and
    even the department's head, are told politely in their language that the customer-
    centre supervisor fixes it now; a forged press changes nothing either."""
    case, engineer = await request_past_its_day(world, bot, groups, owner)
    await engineer.tap("⏰ 约定完成时间", chat=groups["eng"])
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert answer.get("show_alert") and "11-28 09:00 到期" in answer["text"]
    assert "请联系客户中心主管" in answer["text"]
    assert "今天 18:00 前" not in groups["eng"].buttons()  # no times offered
    head = bot.person(9004, "冯立", language_code="en")
    await head.tap_data(f"rq:pr:{case.id}:tomorrow12", chat=groups["eng"])
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert answer.get("show_alert") and "customer-centre supervisor" in answer["text"]
    assert (await latest_case(world)).promised_at is None
    assert [r["state"] for r in await q4_rows(world, case)] == ["fired"]
    assert "承诺" not in owner.last_text


async def test_q4_the_customer_centre_supervisor_promises_after_the_day(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-4: the supervisor, told the day ran out, agrees a new time from the customer-
    service card: the resident and the department hear it, the clock runs to it, the
    approval is kept, and the missed day stays missed."""
    case, engineer = await request_past_its_day(world, bot, groups, owner)
    supervisor = bot.person(9002, "吴建国")
    assert case.number in supervisor.last_text  # the escalation
    await supervisor.tap("⏰ 约定完成时间", chat=groups["cs"])
    await supervisor.tap("今天 18:00 前", chat=groups["cs"])
    assert "我们承诺在 11-28 18:00 前处理完毕" in owner.last_text
    assert "客户中心主管 吴建国 已与业主重新约定" in groups["eng"].last_text
    rows = await q4_rows(world, case)
    assert [r["state"] for r in rows] == ["fired", "pending"]
    promised = (await latest_case(world)).promised_at
    assert promised is not None and rows[1]["due_at"] == promised.isoformat(timespec="seconds")
    signed = await approvals.of_subject(world.db, Subject(CASE, case.id))
    assert [(s.step, s.role, s.approved) for s in signed] == [("Q-4", "cc_supervisor", True)]
    await engineer.tap("✅ 已完成", chat=groups["eng"])  # handled by the new time: met
    assert [r["state"] for r in await q4_rows(world, case)] == ["fired", "met"]


async def q4_rows(world: World, case: Case) -> list[Any]:
    """The request's Q-4 timers, oldest first."""
    return list(
        await world.db.fetchall(
            "SELECT due_at, state FROM deadlines WHERE case_id = ? AND rule = 'Q-4' ORDER BY id",
            (case.id,),
        )
    )
