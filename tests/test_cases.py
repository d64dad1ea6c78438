"""Requests and complaints, from filing to done, with their clocks (Q-1, Q-2, Q-4, C-5, C-9,
C-10, V-2) — as residents, the first responder and a department would use them."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage import deadlines
from storage.identity import IdentityStore
from tests.conftest import World
from tests.support.app import clock_of, configure_estates, services_of, sweeper_of
from tests.support.cases import (
    PNG,
    file_complaint,
    file_request,
    latest_case,
    open_rules,
    referred_to_engineering,
)
from tests.support.telegram import Group, Harness, Person


async def test_q2_c10_a_request_is_recorded_numbered_and_sent_to_the_first_responder(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-2, C-10: recorded; C-8: the resident gets a first answer at once (the number)."""
    await file_request(owner, photo=True)
    case = await latest_case(world)
    assert case.number.startswith("XQ-") and case.number.endswith("-0001")
    assert case.category == "repairs" and case.description == "厨房水管漏水，地面已经积水"
    assert f"已受理，编号 {case.number}" in owner.last_text
    *_, album, card = groups["cs"].texts()  # the owner's photo, then the card to act on
    assert "新事项" in card and case.number in card and "厨房水管漏水" in card
    assert "王伟" in card and "13900000001" not in card  # the phone is masked
    assert "📷 照片 1 张" in card and case.number in album
    assert groups["cs"].buttons() == [
        "✅ 当场解决",
        "➡️ 转交部门",
        "🚨 上报（重大/紧急）",
        "⏰ 约定完成时间",  # the first responder may promise a time too
    ]
    assert await services_of(world).cases.photos(case.id) != []
    assert await open_rules(world, case) == {
        "Q-1": "pending",
        "V-1-first-response": "pending",  # V-1: a person takes it up within minutes
        "Q-4": "pending",
    }


async def test_v2_an_urgent_request_reaches_the_supervisor_at_once(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    supervisor = bot.person(9002, "吴建国")
    await file_request(owner, urgent=True)
    assert (
        "紧急" in supervisor.last_text and (await latest_case(world)).number in supervisor.last_text
    )


async def test_q1_referral_stops_its_clock_and_q4_handling_stops_the_other(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    case = await latest_case(world)
    assert case.status == "referred" and case.department == "engineering"
    assert "已转交 工程部" in owner.last_text
    assert "转交本部门" in groups["eng"].last_text and groups["eng"].buttons() == [
        "🙋 接单",
        "⏰ 约定完成时间",
        "✍️ 回复业主",
    ]
    assert (await open_rules(world, case))["Q-1"] == "met"
    await engineer.tap("🙋 接单", chat=groups["eng"])
    assert "郑海 接单" in owner.last_text
    assert groups["eng"].buttons() == ["✅ 已完成", "⏰ 约定完成时间", "✍️ 回复业主"]
    await engineer.tap("✅ 已完成", chat=groups["eng"])
    case = await latest_case(world)
    assert case.status == "done" and "处理完毕" in owner.texts()[-2]
    assert "请问问题解决了吗" in owner.last_text  # B-3: the callback question follows
    rules = await open_rules(world, case)
    assert rules["Q-4"] == "met" and rules["B-1"] == "pending"  # B-1: the callback clock


async def test_q1_resolved_on_the_spot(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=groups["cs"])
    case = await latest_case(world)
    assert case.status == "done" and "当场处理完毕" in owner.texts()[-2]
    assert groups["cs"].buttons() == []


async def test_q1_warns_the_first_responder_and_escalates_to_the_supervisor(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-1, Q-3: the case is followed up and chased — a warning, then the supervisor."""
    supervisor = bot.person(9002, "吴建国")
    await file_request(owner)
    case = await latest_case(world)
    now = {"t": case.accepted_at + timedelta(minutes=8)}
    sweeper = sweeper_of(world, clock=lambda: now["t"])
    async with world.db.write() as conn:  # V-1 (working minutes) is tested on its own below
        await deadlines.settle(conn, case.id, ["V-1-first-response"])
    assert await sweeper.sweep() == 1
    await services_of(world).deliver()
    assert "提醒" in groups["cs"].last_text and "10 分钟内转交" in groups["cs"].last_text
    now["t"] = case.accepted_at + timedelta(minutes=10)
    assert await sweeper.sweep() == 1
    await services_of(world).deliver()
    assert "超时" in supervisor.last_text and case.number in supervisor.last_text
    assert await sweeper.sweep() == 0


async def test_c5_a_valid_complaint_unresolved_for_a_week_becomes_major(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """C-5: a valid complaint not resolved within a week becomes major (and leadership hears
    it); the week counts valid complaints only: an unclassified one is left to its
    classification, which makes it major then, its clocks counted from that moment."""
    leader, supervisor = bot.person(9010, "赵总"), bot.person(9007, "孙志远")
    for valid in (True, False):
        await owner.send("/complain")
        await owner.tap("噪音")
        await owner.tap("阳光花园 · 2栋 101")
        await owner.send("楼上每天夜里装修到十二点")
        await owner.tap("普通")
        case = await latest_case(world)
        assert case.kind == "complaint" and case.number.startswith("TS-")
        if valid:
            await supervisor.tap("轻微")
        later = case.accepted_at + timedelta(days=7, minutes=1)
        await sweeper_of(world, clock=lambda: later).sweep()  # noqa: B023 (called at once)
        await services_of(world).deliver()
        after = await latest_case(world)
        if valid:
            assert after.severity == "major" and "重大投诉" in leader.last_text
            continue
        assert after.severity is None
        clock_of(world).set(later + timedelta(hours=1))
        await supervisor.tap("轻微")  # classified valid after its week: major at once
        after = await latest_case(world)
        assert after.severity == "major" and f"{after.number} 为重大投诉" in leader.last_text


async def test_buttons_are_checked_on_every_press(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    case = await latest_case(world)
    # A resident (or anyone outside customer service) cannot act as first responder.
    await owner.tap_data(f"cs:resolve:{case.id}", chat=groups["cs"])
    assert "只有客服中心人员" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("✅ 当场解决", chat=groups["cs"])
    # A second press on an old card changes nothing.
    await assistant.tap_data(f"cs:refer:{case.id}", chat=groups["cs"])
    await assistant.tap_data(f"cs:to:{case.id}:security", chat=groups["cs"])
    assert "已经有人处理过了" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    assert (await latest_case(world)).status == "done"
    # Forged data gets a clear answer.
    await assistant.tap_data("dp:take:999999", chat=groups["cs"])
    assert "按钮已失效" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]


async def test_only_the_department_takes_and_only_the_assignee_finishes(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    guard = bot.person(9005, "陈保华")
    await guard.tap("🙋 接单", chat=groups["eng"])
    assert "只有负责部门" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    await bot.person(9003, "郑海").tap("🙋 接单", chat=groups["eng"])
    other_engineer = bot.person(9011, "钱工")
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    person = await identity.touch_person(9011, "钱工", None, "zh-hans")
    await identity.grant_role(
        person.id, estate.id, "engineering", department="engineering", actor="t"
    )
    await other_engineer.tap("✅ 已完成", chat=groups["eng"])
    assert "其他同事接单" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    assert (await latest_case(world)).status == "in_progress"


async def test_a_resident_who_blocked_the_bot_is_phoned_instead(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    bot.api.block_chat(owner.user_id)
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("✅ 当场解决", chat=groups["cs"])
    assert (await latest_case(world)).status == "done"  # the case goes on
    assert "已屏蔽机器人" in groups["cs"].last_text and "+8613900000001" in groups["cs"].last_text


async def test_my_lists_cases_and_case_shows_the_timeline_to_staff(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    case = await latest_case(world)
    await owner.send("/my")
    assert case.number in owner.last_text and "待处理" in owner.last_text
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("✅ 当场解决", chat=groups["cs"])
    await assistant.send(f"/case {case.number}")
    assert "处理记录" in assistant.last_text and "受理" in assistant.last_text
    assert "当场解决" in assistant.last_text and "周晓梅" in assistant.last_text
    stranger = bot.person(2999, "路人")
    await stranger.send(f"/case {case.number}")
    assert "没有找到事项" in stranger.last_text


async def test_only_registered_residents_file(world: World, bot: Harness) -> None:
    stranger = bot.person(2999, "路人")
    await stranger.send("/request")
    assert "先完成业主登记" in stranger.last_text


async def test_staff_typing_complain_are_pointed_to_record(world: World, bot: Harness) -> None:
    """Staff file for a caller through /record, not as an owner who has not registered."""
    assistant = bot.person(9001, "周晓梅")
    await assistant.send("/complain")
    assert "/record" in assistant.last_text and "业主登记" not in assistant.last_text


async def test_filing_survives_a_restart_half_way(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await owner.send("/request")
    await owner.tap("报修")
    await world.crash_and_restart()
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("电梯按钮失灵")
    await owner.tap("普通")
    assert "已受理" in owner.last_text


async def test_q4_a_promised_time_replaces_the_one_day_clock(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await referred_to_engineering(bot, groups, owner)
    engineer = bot.person(9003, "郑海")
    await engineer.tap("⏰ 约定完成时间", chat=groups["eng"])
    assert "后天 18:00 前" in groups["eng"].buttons()
    await engineer.tap("后天 18:00 前", chat=groups["eng"])
    assert "我们承诺在" in owner.last_text
    case = await latest_case(world)
    assert case.promised_at is not None
    rows = await world.db.fetchall(
        "SELECT due_at, state FROM deadlines WHERE rule = 'Q-4' ORDER BY id"
    )
    assert [r["state"] for r in rows] == ["cancelled", "pending"]
    assert rows[1]["due_at"] == case.promised_at.isoformat(timespec="seconds")


async def test_progress_and_photos_posted_in_the_group_reach_the_resident(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await referred_to_engineering(bot, groups, owner)
    engineer = bot.person(9003, "郑海")
    card = groups["eng"].messages()[-1]["message_id"]
    await engineer.reply_to(card, "已到现场，正在更换阀门", chat=groups["eng"])
    assert "已记录" in groups["eng"].last_text
    assert "最新进展" in owner.last_text and "正在更换阀门" in owner.last_text
    await engineer.reply_to(card, None, chat=groups["eng"], photo=PNG)
    assert owner.messages()[-1].get("photo")  # the photo itself reached the resident
    case = await latest_case(world)
    assert len(await services_of(world).cases.photos(case.id)) == 1
    guard = bot.person(9005, "陈保华")
    await guard.reply_to(card, "我来看看", chat=groups["eng"])
    assert "只有负责部门" in groups["eng"].last_text


async def test_two_estates_file_on_the_same_day(world: World, bot: Harness, owner: Person) -> None:
    """Case numbers name one case across the deployment."""
    identity = IdentityStore(world.db)
    other = await identity.ensure_estate("翠湖苑")
    from procedures.roster import RosterRow

    await identity.import_roster(
        other.id,
        [RosterRow(2, "", "801", "林先生", "+8613800138888", None)],
        actor="test",
        actor_id=None,
    )
    second = bot.person(2050, "林先生", phone="8613800138888")
    await second.send("/start")
    await second.share_contact()
    await file_request(owner)
    await second.send("/request")
    await second.tap("报修")
    await second.send("电梯异响")
    await second.tap("普通")
    rows = await world.db.fetchall("SELECT number, estate_id FROM cases ORDER BY id")
    assert len({r["number"] for r in rows}) == 2 and len({r["estate_id"] for r in rows}) == 2


async def test_nobody_takes_over_a_colleagues_case_nor_promises_for_a_resident(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    case = await latest_case(world)
    neighbour = bot.person(2002, "张娜", phone="8613900000002")
    await neighbour.send("/start")
    await neighbour.share_contact()
    await neighbour.tap_data(f"dp:pr:{case.id}:after18", chat=groups["cs"])  # no department yet
    assert "只有负责部门" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    assert (await latest_case(world)).promised_at is None
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    await bot.person(9003, "郑海").tap("🙋 接单", chat=groups["eng"])
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    other = await identity.touch_person(9011, "钱工", None, "zh-hans")
    await identity.grant_role(
        other.id, estate.id, "engineering", department="engineering", actor="t"
    )
    await bot.person(9011, "钱工").tap_data(f"dp:take:{case.id}", chat=groups["eng"])
    said = bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    assert "其他同事接单" in said and "改派" in said  # about taking it, not marking it done
    taken = await latest_case(world)
    assert taken.assignee_id != other.id


async def test_v1_nobody_takes_up_a_chat_case_in_minutes_and_the_supervisor_hears(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """V-1: in chat the bot answers at once; a person takes it up within a few minutes of
    working time, or the customer-centre supervisor is told."""
    supervisor = bot.person(9002, "吴建国")
    await file_request(owner)
    case = await latest_case(world)
    row = await world.db.fetchone("SELECT due_at FROM deadlines WHERE rule = 'V-1-first-response'")
    assert row is not None
    due = datetime.fromisoformat(row["due_at"])
    assert due >= case.accepted_at + timedelta(minutes=5)  # five minutes of office time
    await sweeper_of(world, clock=lambda: due).sweep()
    await services_of(world).deliver()
    assert "首次响应" in supervisor.last_text


async def test_residents_choose_from_their_estates_categories(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    configure_estates(world, {"estates": {"阳光花园": {"categories": ["repairs", "noise"]}}})
    await owner.send("/request")
    assert owner.buttons() == ["报修", "噪音"]


async def test_staff_of_another_estate_see_and_move_nothing_here(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Access: a customer assistant of 翠湖苑, even in this estate's group, cannot read an
    阳光花园 case's timeline nor resolve it with a button."""
    identity = IdentityStore(world.db)
    other = await identity.ensure_estate("翠湖苑")
    stranger = bot.person(3001, "外项目客服")
    await stranger.send("/start")
    person = await identity.person_by_tg(3001)
    assert person is not None
    await identity.grant_role(person.id, other.id, "customer_assistant", actor="test")
    await file_request(owner)
    case = await latest_case(world)
    await stranger.send(f"/case {case.number}")
    assert case.description not in stranger.last_text
    await stranger.tap_data(f"cs:resolve:{case.id}", chat=groups["cs"])
    assert (await latest_case(world)).status == "new"
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert answer.get("show_alert") and answer.get("text")


async def test_the_description_may_come_with_the_command(
    world: World, bot: Harness, owner: Person
) -> None:
    """``/complain 保安夜班态度恶劣`` is not asked for its description again."""
    await owner.send("/complain 保安夜班态度恶劣，多次反映无果")
    await owner.tap("噪音")
    await owner.tap("阳光花园 · 2栋 101")
    assert "紧急吗" in owner.last_text and "请描述" not in owner.last_text
    await owner.tap("普通")
    case = await latest_case(world)
    assert case.description == "保安夜班态度恶劣，多次反映无果"


async def test_c4_the_classification_is_for_staff_not_the_complainant(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """A complaint judged "轻微" is not told so: the owner's card has no classification,
    the staff card has it."""
    await file_complaint(owner)
    case = await latest_case(world)
    await bot.person(9007, "孙志远").tap("轻微")
    await owner.send(f"/case {case.number}")
    assert case.number in owner.last_text and "性质" not in owner.last_text
    supervisor = bot.person(9007, "孙志远")
    await supervisor.send(f"/case {case.number}")
    assert "性质：轻微" in supervisor.last_text
    assert not any("性质" in text for text in owner.texts())
