"""Complaint nature (C-4..C-7, C-3, C-9, C-12) and callbacks (B-1..B-4, C-14, C-2)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import ADMIN_ID, World
from tests.support.app import clock_of, services_of, sweeper_of
from tests.support.cases import file_complaint, file_request, latest_case, open_rules
from tests.support.telegram import Group, Harness, Person


async def test_c4_the_project_supervisor_is_asked_to_classify_each_complaint(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """C-4: classification is a step on its own clock (2 working hours by default), and the
    classifier sees C-5/C-6/C-7's criteria with the buttons."""
    supervisor = bot.person(9007, "孙志远")
    await file_complaint(owner)
    asked = supervisor.last_text
    assert "内判定性质" in asked and "2 个工作小时" in asked
    assert "· 重大：" in asked and "· 重要：" in asked and "· 轻微：" in asked
    assert supervisor.buttons()[:3] == ["轻微", "重要", "重大"]
    assert (await open_rules(world, await latest_case(world)))["C-4"] == "pending"


async def test_c6_c9_c12_an_important_complaint_is_reported_and_gets_one_day(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    supervisor, mgmt = bot.person(9007, "孙志远"), bot.person(9009, "林慧")
    await file_complaint(owner)
    await supervisor.tap("重要")
    case = await latest_case(world)
    assert case.severity == "important"
    assert "重要投诉" in mgmt.last_text  # C-9: to the superior at once
    assert (await open_rules(world, case))["C-12-important"] == "pending"
    # C-12: two hours before the day is up, the manager may approve running over.
    rows = await world.db.fetchall("SELECT due_at FROM deadlines WHERE rule = 'C-12-important'")
    due = case.accepted_at + timedelta(days=1)
    assert rows[0]["due_at"] == due.isoformat(timespec="seconds")
    warn_time = due - timedelta(hours=2)
    await sweeper_of(world, clock=lambda: warn_time).sweep()
    await services_of(world).deliver()
    assert "须由您批准" in mgmt.last_text
    await supervisor.tap_data(f"cx:ext:{case.id}")  # not the manager: refused
    assert "管理部经理" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    await mgmt.tap("✅ 批准延期")
    rows = await world.db.fetchall(
        "SELECT due_at, state FROM deadlines WHERE rule = 'C-12-important' ORDER BY id"
    )
    assert [r["state"] for r in rows] == ["cancelled", "pending"]
    assert rows[1]["due_at"] == (due + timedelta(days=1)).isoformat(timespec="seconds")


async def test_c3_c5_a_major_complaint_reaches_leadership_with_its_two_clocks(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    supervisor, leader = bot.person(9007, "孙志远"), bot.person(9010, "赵总")
    await file_complaint(owner)
    await supervisor.tap("重大")
    case = await latest_case(world)
    assert "重大投诉" in leader.last_text
    rules = await open_rules(world, case)
    assert rules["C-12-major-answer"] == "pending" and rules["C-12-major-resolve"] == "pending"
    await supervisor.tap_data(f"cx:sev:{case.id}:minor")  # decided once
    assert "已经判定过了" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]


async def test_c4_an_invalid_complaint_is_explained_politely(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    supervisor = bot.person(9007, "孙志远")
    await file_complaint(owner)
    await supervisor.tap("无效：误会，已解释")
    case = await latest_case(world)
    assert case.severity == "invalid" and case.status == "done"
    assert "这是一场误会" in owner.texts()[-2]
    assert "请问问题解决了吗" in owner.last_text  # C-14: every complaint is called back
    assert (await open_rules(world, case))["C-14"] == "pending"


async def test_c4_only_the_project_supervisor_classifies(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await file_complaint(owner)
    case = await latest_case(world)
    await bot.person(9001, "周晓梅").tap_data(f"cx:sev:{case.id}:major", chat=cs)
    assert "项目主管" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    assert (await latest_case(world)).severity is None


async def test_c7_a_minor_complaint_is_neither_reported_nor_put_on_a_day_clock(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """C-7: a minor complaint is recorded as minor and fixed in the ordinary way: no
    superior is told and no C-12 clock starts (C-5's week still runs)."""
    supervisor, mgmt, leader = (
        bot.person(9007, "孙志远"), bot.person(9009, "林慧"), bot.person(9010, "赵总")
    )  # fmt: skip
    await file_complaint(owner)
    heard = len(mgmt.texts()), len(leader.texts())
    await supervisor.tap("轻微")
    case = await latest_case(world)
    assert case.severity == "minor"
    rules = await open_rules(world, case)
    assert not [rule for rule in rules if rule.startswith("C-12")]
    assert rules["C-5-week"] == "pending"
    assert (len(mgmt.texts()), len(leader.texts())) == heard


async def test_b3_a_satisfied_resident_closes_the_case(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """B-3: did we get it done, are you satisfied: asked, scored, recorded (B-4)."""
    await file_request(owner)
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=cs)
    await owner.tap("✅ 已解决")
    assert "请打分" in owner.last_text
    await owner.tap("⭐⭐⭐⭐⭐")
    case = await latest_case(world)
    assert case.status == "closed"
    row = await world.db.fetchone("SELECT satisfaction, callback_channel FROM cases")
    assert row is not None and (row["satisfaction"], row["callback_channel"]) == (5, "chat")
    assert (await open_rules(world, case))["B-1"] == "met"
    await owner.tap_data(f"cb:s:{case.id}:1")  # a second answer changes nothing
    assert (await latest_case(world)).status == "closed"


@pytest.mark.parametrize("answer", ["❌ 没有解决", "⭐"])
async def test_c2_b3_an_unsatisfied_resident_reopens_the_case(
    world: World, bot: Harness, cs: Group, owner: Person, answer: str
) -> None:
    supervisor = bot.person(9002, "吴建国")
    await file_request(owner)
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=cs)
    if answer == "⭐":
        await owner.tap("✅ 已解决")
    await owner.tap(answer)
    case = await latest_case(world)
    assert case.status == "new"  # back to the first responder (no department had it)
    assert any("重新安排处理" in t for t in owner.texts()[-3:]) and "不满意" in supervisor.last_text
    assert not any("已重新打开" in t for t in owner.texts())  # told once, not twice
    assert "业主不满意" in cs.last_text and "✅ 当场解决" in cs.buttons()
    assert (await open_rules(world, case))["Q-4"] == "pending"  # Q-4 runs again


async def test_b1_b2_no_answer_in_time_gives_the_assistant_a_callback_task(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """B-1: no answer within 3 days; B-2, B-4: the customer assistant calls back and records
    it."""
    assistant = bot.person(9001, "周晓梅")
    await file_request(owner)
    await assistant.tap("✅ 当场解决", chat=cs)
    case = await latest_case(world)
    later = case.accepted_at + timedelta(days=3, hours=1)
    await sweeper_of(world, clock=lambda: later).sweep()
    await services_of(world).deliver()
    assert "回访任务" in assistant.last_text
    await owner.tap_data(f"cb:call:{case.id}:ok")  # residents cannot record a phone call
    assert "客户助理" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    await assistant.tap("📞 已电话回访：已解决")
    await assistant.tap("⭐⭐⭐⭐⭐")
    await assistant.tap("📝 无备注")
    closed = await latest_case(world)
    assert closed.status == "closed"
    row = await world.db.fetchone("SELECT callback_channel FROM cases")
    assert row is not None and row["callback_channel"] == "phone"


async def test_b2_an_unreachable_resident_is_tried_again(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    assistant = bot.person(9001, "周晓梅")
    await file_request(owner)
    await assistant.tap("✅ 当场解决", chat=cs)
    case = await latest_case(world)
    later = case.accepted_at + timedelta(days=3, hours=1)
    await sweeper_of(world, clock=lambda: later).sweep()
    await services_of(world).deliver()
    await assistant.tap("📵 联系不上")
    rows = await world.db.fetchall("SELECT state FROM deadlines WHERE rule = 'B-1' ORDER BY id")
    # the missed limit, the next day's chase (replaced), the retry within a day: one task
    assert [r["state"] for r in rows] == ["fired", "cancelled", "pending"]
    assert (await latest_case(world)).status == "done"


async def answer_prompt(person: Person, text: str) -> None:
    """Reply to the bot's last question (as Telegram's ForceReply does)."""
    await person.reply_to(person.messages()[-1]["message_id"], text)


async def complaint_handled_by_engineering(
    bot: Harness, cs: Group, owner: Person, *, opinion: bool = True
) -> Group:
    """A complaint in the manual's order (C-11): referred to engineering at once and taken,
    classified minor (C-4), the customer-centre supervisor's opinion written as a plain
    message, the department's feedback replied to its card, and ✅ pressed: it waits for
    the assistant's draft."""
    admin = bot.person(ADMIN_ID, "管理员")
    eng = bot.group(-200, "工程部")
    await admin.send("/bind 工程部", chat=eng)
    await file_complaint(owner)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=cs)
    await assistant.tap("工程部", chat=cs)
    await engineer.tap("🙋 接单", chat=eng)
    await bot.person(9007, "孙志远").tap("轻微")
    if opinion:
        supervisor = bot.person(9002, "吴建国")
        await supervisor.tap("✍️ 写处理意见")
        await supervisor.send("调换夜班保安，并当面向业主致歉。")
    card = eng.messages()[-1]["message_id"]
    await engineer.reply_to(card, "已调换夜班保安，主管已当面致歉。", chat=eng)
    await engineer.tap("✅ 已完成", chat=eng)
    return eng


async def test_c11_the_seeds_order_opinion_feedback_draft_approval_same_day_reply(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """C-11 in the seed's order: the department starts at once; the supervisor's opinion
    (the department's instructions, a plain message) shows on the department's card; the
    department's feedback cannot come before it; the assistant drafts the reply from the
    feedback; C-13: one approval sends it the same day, with a copy to the project
    supervisor; the reply time is recorded; the owner confirms and rates."""
    admin = bot.person(ADMIN_ID, "管理员")
    eng = bot.group(-200, "工程部")
    await admin.send("/bind 工程部", chat=eng)
    await file_complaint(owner)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    supervisor, classifier = bot.person(9002, "吴建国"), bot.person(9007, "孙志远")
    await assistant.tap("➡️ 转交部门", chat=cs)  # the referral never waits (Q-1, C-9)
    await assistant.tap("工程部", chat=cs)
    await engineer.tap("🙋 接单", chat=eng)
    case = await latest_case(world)
    assert (await open_rules(world, case))["C-4"] == "pending"
    await classifier.tap("轻微")
    assert (await open_rules(world, case))["C-4"] == "met"
    assert "请在 2 个工作小时内写处理意见" in supervisor.last_text
    assert (await open_rules(world, case))["C-11-opinion"] == "pending"
    card = eng.messages()[-1]["message_id"]
    await engineer.reply_to(card, "已调换夜班保安。", chat=eng)
    await engineer.tap("✅ 已完成", chat=eng)  # before the opinion: refused
    alert = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert alert.get("show_alert") and "处理意见尚未下达" in alert["text"]
    assert (await latest_case(world)).status == "in_progress"
    await supervisor.tap("✍️ 写处理意见")
    assert not bot.api.calls_of("answerCallbackQuery")[-1].params.get("text")  # asked below
    assert "给处理部门的指示" in supervisor.last_text
    await supervisor.send("调换夜班保安，并当面向业主致歉。")  # a plain message is the answer
    assert "已通知处理部门" in supervisor.last_text
    assert (await open_rules(world, await latest_case(world)))["C-11-opinion"] == "met"
    shown = next(m for m in eng.messages() if m["message_id"] == card)
    assert "处理意见：调换夜班保安" in shown["text"]  # on the department's card
    assert "负责人：冯立" in shown["text"]  # the head is named responsible
    assert "处理意见已下达" in eng.last_text
    await engineer.tap("✅ 已完成", chat=eng)
    case = await latest_case(world)
    assert case.status == "review" and case.feedback == "已调换夜班保安。"
    assert "正在整理正式答复" in owner.last_text
    assert "部门已反馈" in cs.last_text and cs.buttons() == ["✍️ 起草答复"]
    rules = await open_rules(world, case)
    assert rules["C-11-same-day"] == "pending" and rules["C-5-week"] == "met"
    await supervisor.tap("✍️ 起草答复", chat=cs)  # the supervisor may draft too; the assistant:
    await assistant.tap("✍️ 起草答复", chat=cs)
    assert "给业主的答复" in assistant.last_text
    await assistant.send("您反映的夜班保安已调换，主管已当面致歉。感谢您的监督。")
    assert "已送审批" in assistant.last_text
    assert "请审批" in supervisor.last_text and "夜班保安已调换" in supervisor.last_text
    assert "部门反馈：已调换夜班保安" in supervisor.last_text
    assert "抄送" in classifier.last_text  # C-11: a copy to the project supervisor
    await supervisor.tap("✅ 同意回复")  # C-13: the customer-centre manager (default)
    case = await latest_case(world)
    assert case.status == "done"
    assert "关于您的投诉" in owner.last_text and "夜班保安已调换" in owner.last_text
    rules = await open_rules(world, case)
    assert rules["C-11-same-day"] == "met" and rules["C-14"] == "pending"
    row = await world.db.fetchone("SELECT replied_at FROM cases WHERE id = ?", (case.id,))
    assert row is not None and row["replied_at"]
    await owner.tap("✅ 确认")
    await owner.tap("⭐⭐⭐⭐")
    assert (await latest_case(world)).status == "closed"
    answer = next(m for m in owner.messages() if "关于您的投诉" in m.get("text", ""))
    assert "夜班保安已调换" in answer["text"] and answer["text"].endswith("» ✅ 确认")
    trail = await world.db.fetchall(
        "SELECT event FROM audit WHERE subject = ? ORDER BY id", (f"case:{case.id}",)
    )
    events = [r["event"] for r in trail if r["event"] != "case.update"]
    assert events[-5:] == [
        "case.opinion",
        "case.feedback",
        "case.draft",
        "case.approve",
        "case.close",
    ]


async def test_c13_a_draft_sent_back_is_written_again(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await complaint_handled_by_engineering(bot, cs, owner)
    assistant, approver = bot.person(9001, "周晓梅"), bot.person(9002, "吴建国")
    await assistant.tap("✍️ 起草答复", chat=cs)
    await assistant.send("已处理。")
    await approver.tap("↩️ 退回修改")
    assert "答复草稿被退回" in cs.last_text
    case = await latest_case(world)
    assert case.status == "review" and case.reply_draft is None
    await assistant.tap("✍️ 起草答复", chat=cs)
    await answer_prompt(assistant, "经查，夜班保安已调岗，并向您致歉。")
    await approver.tap("✅ 同意回复")
    assert "夜班保安已调岗" in owner.last_text


async def test_c2_a_disputed_reply_reopens_the_complaint(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    eng = await complaint_handled_by_engineering(bot, cs, owner)
    assistant, approver = bot.person(9001, "周晓梅"), bot.person(9002, "吴建国")
    await assistant.tap("✍️ 起草答复", chat=cs)
    await assistant.send("已与保安部沟通，问题已解决。")
    await approver.tap("✅ 同意回复")
    await owner.tap("❌ 有异议")
    case = await latest_case(world)
    assert case.status == "referred" and case.department == "engineering"
    assert "业主不满意" in eng.last_text
    assert eng.buttons() == ["🙋 接单", "⏰ 约定下次答复时间", "✍️ 回复业主"]
    # handled again to the same instructions: a new feedback, draft and approval
    assert case.opinion and case.feedback is None and case.reply_draft is None
    engineer = bot.person(9003, "郑海")
    await engineer.tap("🙋 接单", chat=eng)
    card = eng.messages()[-1]["message_id"]
    await engineer.reply_to(card, "夜班保安已再次调整。", chat=eng)
    await engineer.tap("✅ 已完成", chat=eng)
    case = await latest_case(world)
    assert case.status == "review" and case.feedback == "夜班保安已再次调整。"


async def test_c11_cancel_drops_a_draft_being_written(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await complaint_handled_by_engineering(bot, cs, owner)
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("✍️ 起草答复", chat=cs)
    prompt = assistant.messages()[-1]["message_id"]
    await assistant.send("/cancel")
    await assistant.reply_to(prompt, "随便说一句")
    assert (await latest_case(world)).reply_draft is None


async def test_c13_an_old_approve_button_cannot_approve_a_changed_draft(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await complaint_handled_by_engineering(bot, cs, owner)
    assistant, approver = bot.person(9001, "周晓梅"), bot.person(9002, "吴建国")
    await assistant.tap("✍️ 起草答复", chat=cs)
    await assistant.send("第一版答复，写得不好。")
    old_card = approver.messages()[-1]["message_id"]
    await approver.tap("↩️ 退回修改")
    await assistant.tap("✍️ 起草答复", chat=cs)
    await assistant.send("第二版：已调换人员并致歉。")
    case = await latest_case(world)
    from procedures.complaints import opinion_version

    await approver.tap_data(
        f"cp:ok:{case.id}:{opinion_version('第一版答复，写得不好。')}", message_id=old_card
    )
    assert "已经有人处理过了" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    assert (await latest_case(world)).status == "review"
    refreshed = next(m for m in approver.messages() if m["message_id"] == old_card)
    assert "第二版" in refreshed["text"]  # the old card now shows what there is to approve
    await approver.tap("✅ 同意回复")
    assert "第二版" in owner.last_text


async def test_c11_the_draft_button_is_stale_once_a_draft_waits_for_approval(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """C-11, C-13: one draft at a time goes to approval: a second tap on ✍️ asks for no
    second version (and the card loses the button)."""
    await complaint_handled_by_engineering(bot, cs, owner)
    assistant, approver = bot.person(9001, "周晓梅"), bot.person(9002, "吴建国")
    await assistant.tap("✍️ 起草答复", chat=cs)
    await assistant.send("已调换夜班保安并当面致歉。")
    prompts = len(assistant.messages())
    await assistant.tap_data(f"cp:dr:{(await latest_case(world)).id}", chat=cs)
    alert = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert alert.get("show_alert") and "等待审批" in alert["text"]
    assert len(assistant.messages()) == prompts  # no second prompt
    assert "✍️ 起草答复" not in cs.buttons()
    approvals = [m for m in approver.messages() if "请审批" in m.get("text", "")]
    assert len(approvals) == 1


async def test_c11_the_question_for_the_opinion_survives_a_server_error(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """C-11: the question goes through the outbox: a 500 delays it; when it arrives, the
    next message is the opinion."""
    await complaint_handled_by_engineering(bot, cs, owner, opinion=False)
    supervisor = bot.person(9002, "吴建国")
    bot.api.world.inject("sendMessage", "500")
    await supervisor.tap("✍️ 写处理意见")
    asked = [m for m in bot.api.messages(9002) if "请直接发送投诉" in str(m.get("text"))]
    assert asked == []  # not yet: Telegram failed
    clock_of(world).advance(minutes=5)
    await services_of(world).sender.drain()
    assert "请直接发送投诉" in supervisor.last_text
    await answer_prompt(supervisor, "调换夜班保安并当面致歉。")
    assert "已通知处理部门" in supervisor.last_text
    assert (await latest_case(world)).opinion == "调换夜班保安并当面致歉。"


async def test_c11_a_reply_to_another_message_is_not_taken_as_the_opinion(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """A plain message answers the question just asked; a reply to some other message
    does not."""
    await complaint_handled_by_engineering(bot, cs, owner, opinion=False)
    supervisor = bot.person(9002, "吴建国")
    older = supervisor.messages()[0]["message_id"]
    await supervisor.tap("✍️ 写处理意见")
    await supervisor.reply_to(older, "这句话不是处理意见")
    assert (await latest_case(world)).opinion is None


async def test_c5_five_complainants_of_one_event_make_it_major(
    world: World, bot: Harness, cs: Group
) -> None:
    leader, assistant = bot.person(9010, "赵总"), bot.person(9001, "周晓梅")
    numbers = []
    for n in range(1, 6):
        resident = bot.person(2000 + n, f"业主{n}", phone=f"86139000000{n:02d}")
        await resident.send("/start")
        await resident.share_contact()
        await resident.send("/complain")
        await resident.tap("其他")
        if len(resident.buttons()) > 0 and "·" in resident.buttons()[0]:
            await resident.tap(resident.buttons()[0])
        await resident.send("小区突然停水，一直没有通知")
        await resident.tap("普通")
        numbers.append((await latest_case(world)).number)
    first = numbers[0]
    # The newest card, through its buttons; the others by pressing on their own cards.
    await assistant.tap("🔗 同一事件", chat=cs)
    await assistant.tap(next(b for b in cs.buttons() if b.startswith(first)), chat=cs)
    ids = [r["id"] for r in await world.db.fetchall("SELECT id FROM cases ORDER BY id")]
    for case_id in ids[1:4]:
        await assistant.tap_data(f"cs:lk:{case_id}:{ids[0]}", chat=cs)
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    assert "5 位投诉人" in answer
    rows = await world.db.fetchall("SELECT severity, event_key FROM cases")
    assert {r["severity"] for r in rows} == {"major"}
    assert {r["event_key"] for r in rows} == {first}
    assert "已有 5 位客户投诉" in leader.last_text


async def test_c5_four_complainants_are_not_enough(world: World, bot: Harness, cs: Group) -> None:
    assistant = bot.person(9001, "周晓梅")
    for n in range(1, 5):
        resident = bot.person(2000 + n, f"业主{n}", phone=f"86139000000{n:02d}")
        await resident.send("/start")
        await resident.share_contact()
        await resident.send("/complain")
        await resident.tap("其他")
        if len(resident.buttons()) > 0 and "·" in resident.buttons()[0]:
            await resident.tap(resident.buttons()[0])
        await resident.send("小区突然停水")
        await resident.tap("普通")
    ids = [r["id"] for r in await world.db.fetchall("SELECT id FROM cases ORDER BY id")]
    for case_id in ids[1:]:
        await assistant.tap_data(f"cs:lk:{case_id}:{ids[0]}", chat=cs)
    assert "4 位投诉人" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    rows = await world.db.fetchall("SELECT severity FROM cases")
    assert {r["severity"] for r in rows} == {None}


async def test_c5_c12_a_complaint_resolved_on_the_spot_stops_its_clocks(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await file_complaint(owner)
    await bot.person(9007, "孙志远").tap("重要")
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=cs)
    case = await latest_case(world)
    rules = await open_rules(world, case)
    assert rules["C-12-important"] == "met" and rules["C-5-week"] == "met"
    assert rules["C-14"] == "pending"


async def test_v5_a_caller_without_the_bot_is_phoned_back_by_the_assistant(
    world: World, bot: Harness, cs: Group
) -> None:
    """V-5: the assistant answers the customer either way; B-2: and calls them back."""
    from handlers import steps
    from procedures import calls
    from procedures.cases import Kind
    from storage.cases import NewCase

    assistant = bot.person(9001, "周晓梅")
    svc = services_of(world)
    estate = await svc.identity.estate_by_name("阳光花园")
    assert estate is not None
    await assistant.send("/whoami")  # the assistant exists in the database with roles
    from handlers.common import Actor

    person = await svc.identity.person_by_tg(9001)
    assert person is not None
    actor = Actor(person, "zh-Hans", await svc.identity.memberships(person.id), False)
    case = await steps.file(
        svc,
        NewCase(
            estate_id=estate.id,
            kind=Kind.REQUEST,
            category="repairs",
            description="楼道灯坏了",
            channel="phone",
            caller_name="李女士",
            caller_phone="+8613800138000",
            created_by=person.id,
        ),
        calls.recorded,
        actor,
    )
    await svc.deliver()  # fmt: skip
    await assistant.tap("✅ 当场解决", chat=cs)
    assert "请电话答复来电人" in assistant.last_text and "李女士" in assistant.last_text
    assert "+8613800138000" in assistant.last_text  # B-2: the number to call, in full
    await assistant.tap("📞 已电话回访：已解决")
    await assistant.tap("⭐⭐⭐⭐")
    await assistant.send("李女士说灯已经亮了")
    closed = await svc.cases.get(case.id)
    assert closed is not None and closed.status == "closed"


async def test_b3_the_resident_may_add_an_opinion_after_rating(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """B-3: did we get it done; are you satisfied; any more opinions or suggestions?"""
    await file_request(owner)
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=cs)
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐⭐")
    assert "其他意见或建议" in owner.last_text
    await owner.reply_to(owner.messages()[-1]["message_id"], "希望以后维修能提前电话通知")
    assert "已收到您的意见" in owner.last_text
    # B-2: to the assistant responsible, privately (the group only when there is none)
    assistant = bot.person(9001, "周晓梅")
    assert "提前电话通知" in assistant.last_text and "补充意见" in assistant.last_text
    assert not any("提前电话通知" in text for text in cs.texts())
    await owner.send("你好")  # after that, messages are messages again
    assert "/help" in owner.last_text


async def test_c13_v5_a_phone_complaints_approved_reply_is_phoned_the_same_day(
    world: World, bot: Harness, cs: Group
) -> None:
    """C-13's same-day clock, really started: a complaint taken by phone is approved; the
    assistant is asked to phone the reply, warned two hours before the day ends, and
    records the call, which delivers it (the reply time) and starts the callback (C-14),
    by phone again (V-5)."""
    from handlers import steps
    from handlers.common import Actor
    from procedures import calls
    from procedures.cases import Kind
    from storage.cases import NewCase

    assistant, approver = bot.person(9001, "周晓梅"), bot.person(9002, "吴建国")
    svc = services_of(world)
    estate = await svc.identity.estate_by_name("阳光花园")
    assert estate is not None
    await assistant.send("/whoami")
    person = await svc.identity.person_by_tg(9001)
    assert person is not None
    actor = Actor(person, "zh-Hans", await svc.identity.memberships(person.id), False)
    case = await steps.file(
        svc,
        NewCase(
            estate_id=estate.id, kind=Kind.COMPLAINT, category="security",
            description="夜班保安睡岗", channel="phone", caller_name="李女士",
            caller_phone="+8613800138000", created_by=person.id,
        ),
        calls.recorded,
        actor,
    )  # fmt: skip
    await svc.deliver()
    await bot.person(9007, "孙志远").tap("轻微")
    await approver.tap("✍️ 写处理意见")
    await approver.send("约谈当班保安，加强夜间巡查。")
    await assistant.tap("➡️ 转交部门", chat=cs)
    await assistant.tap("客服中心", chat=cs)
    await assistant.tap("🙋 接单", chat=cs)
    card = cs.messages()[-1]["message_id"]
    await assistant.reply_to(card, "已约谈当班保安，夜间增加一次巡查。", chat=cs)
    await assistant.tap("✅ 已完成", chat=cs)
    await assistant.tap("✍️ 起草答复", chat=cs)
    await assistant.send("李女士您好，当班保安已被约谈，夜间巡查已加密。")
    await approver.tap("✅ 同意回复")
    assert "电话告知" in approver.last_text
    phone = cs.last_text
    assert "请今天电话告知 李女士" in phone and cs.buttons() == ["📞 已电话告知答复"]
    rules = await open_rules(world, case)
    assert rules["C-13-same-day"] == "pending" and rules["C-11-same-day"] == "pending"
    timer = await world.db.fetchone(
        "SELECT warn_at, due_at FROM deadlines WHERE rule = 'C-13-same-day' AND case_id = ?",
        (case.id,),
    )
    assert timer is not None
    await sweeper_of(world, clock=lambda: datetime.fromisoformat(timer["warn_at"])).sweep()
    await services_of(world).deliver()
    assert "审批后" in cs.last_text and "提醒" in cs.last_text  # warned, to the assistants
    await assistant.tap("📞 已电话告知答复", chat=cs)
    after = await svc.cases.get(case.id)
    assert after is not None and after.status == "done"
    rules = await open_rules(world, case)
    assert rules["C-13-same-day"] == "met" and rules["C-14"] == "pending"
    assert "李女士" in assistant.last_text and assistant.buttons()[0].startswith(
        "📞"
    )  # C-14 by phone


async def test_c11_a_command_puts_a_question_aside_and_says_so(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """A staff member asked for the draft sends a command instead: the question is put
    aside and they are told so; the text they type next is not taken as the draft. A
    one-character progress reply reaches nobody. In the private chat the button needs no
    "see your private chat" toast."""
    await complaint_handled_by_engineering(bot, cs, owner)
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("✍️ 起草答复", chat=cs)
    await assistant.send("/whoami")
    assert any("已放下" in t and "待填写" in t for t in assistant.texts()[-3:])
    await assistant.send("这不是答复草稿")
    assert (await latest_case(world)).reply_draft is None
    # a reply to the question itself still answers it (people answer by replying)
    [asked] = [m for m in assistant.messages() if "请直接发送投诉" in str(m.get("text"))]
    await assistant.reply_to(asked["message_id"], "您好，漏水已修复，请放心。")
    assert (await latest_case(world)).reply_draft == "您好，漏水已修复，请放心。"
    card = cs.messages()[-1]["message_id"]
    told = len(owner.texts())
    await assistant.reply_to(card, "好", chat=cs)
    assert "至少写 2 个字" in cs.last_text and len(owner.texts()) == told
