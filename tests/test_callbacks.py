"""Callbacks in chat (P8, B-1, B-2, B-4, C-14): in the name of the assistant responsible,
the answers reaching them; the phone callback recorded in full; the task of a silent
resident chased every day; callbacks staff open themselves (/callback)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from storage.clock import ManualClock
from storage.identity import IdentityStore
from tests.conftest import World
from tests.support.app import services_of, sweeper_of
from tests.support.cases import file_request, latest_case, open_rules
from tests.support.telegram import Group, Harness, Person


async def person_id(world: World, tg_user_id: int) -> int:
    found = await IdentityStore(world.db).person_by_tg(tg_user_id)
    assert found is not None
    return found.id


async def make_assistant(world: World, bot: Harness, tg_user_id: int, name: str) -> Person:
    """A second customer assistant of the demo estate."""
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    person = await identity.touch_person(tg_user_id, name, None, "zh-hans")
    await identity.grant_role(
        person.id, estate.id, "customer_assistant", department="customer_service", actor="t"
    )
    return bot.person(tg_user_id, name)


async def sweep_at(world: World, moment: datetime) -> None:
    """The bot's clock moved to ``moment`` and the deadlines swept then."""
    clock = services_of(world).clock
    assert isinstance(clock, ManualClock)
    clock.set(moment)
    await sweeper_of(world, clock=clock.now).sweep()
    await services_of(world).deliver()


async def callback_row(world: World) -> dict[str, object]:
    row = await world.db.fetchone(
        "SELECT satisfaction, callback_channel, called_back_by, called_back_at, status"
        " FROM cases ORDER BY id DESC LIMIT 1"
    )
    assert row is not None
    return dict(row)


async def test_b2_the_question_names_the_assistant_responsible_and_the_answers_reach_them(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """B-2: the assistant who first handled the case on customer service's card (not just
    any assistant) asks, in name, and hears the answer privately; the group does not."""
    await make_assistant(world, bot, 9020, "李敏")  # an assistant with a lower rank…
    assistant = bot.person(9001, "周晓梅")  # …but this one resolved it
    await file_request(owner)
    await assistant.tap("✅ 当场解决", chat=cs)
    assert "客户助理 周晓梅 回访" in owner.last_text
    heard_in_group = len(cs.texts())
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐⭐⭐")
    assert "业主答复了" in assistant.last_text and "已解决，满意度 ⭐⭐⭐⭐" in assistant.last_text
    assert not any("业主答复了" in text for text in bot.person(9020, "李敏").texts())
    assert len(cs.texts()) == heard_in_group  # nothing for the group: it has its assistant
    row = await callback_row(world)
    assert row["called_back_by"] == await person_id(world, 9001)
    assert (row["satisfaction"], row["callback_channel"]) == (4, "chat")


async def test_b2_not_solved_in_chat_reaches_the_assistant_too(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    assistant = bot.person(9001, "周晓梅")
    await file_request(owner)
    await assistant.tap("✅ 当场解决", chat=cs)
    await owner.tap("❌ 没有解决")
    assert "业主答复了" in assistant.last_text and "没有解决" in assistant.last_text


async def test_b2_with_no_assistant_customer_service_asks_and_its_group_hears(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """No customer assistant in the estate: the question comes from the customer service
    centre, and the answer (and a further opinion) goes to customer service's group."""
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    await identity.revoke_role(
        await person_id(world, 9001), estate.id, "customer_assistant", actor="t", actor_id=None
    )
    await file_request(owner)
    await bot.person(9002, "吴建国").tap("✅ 当场解决", chat=cs)  # the supervisor
    assert "客户服务中心 回访" in owner.last_text and "客户助理" not in owner.last_text
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐⭐⭐⭐")
    assert "业主答复了" in cs.last_text
    await owner.reply_to(owner.messages()[-1]["message_id"], "物业辛苦了")
    assert "物业辛苦了" in cs.last_text
    assert (await callback_row(world))["called_back_by"] is None


async def resident_silent_past_the_limit(
    world: World, bot: Harness, cs: Group, owner: Person
) -> tuple[Person, datetime]:
    """A request resolved on the spot by the assistant; the resident never answers the
    question; B-1's 3 days run out. Returns the assistant and the moment of the breach."""
    assistant = bot.person(9001, "周晓梅")
    await file_request(owner)
    await assistant.tap("✅ 当场解决", chat=cs)
    case = await latest_case(world)
    breach = case.accepted_at + timedelta(days=3, hours=1)
    await sweep_at(world, breach)
    return assistant, breach


async def test_b2_b1_a_silent_resident_becomes_the_assistants_phone_task_with_their_number(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await make_assistant(world, bot, 9020, "李敏")
    assistant, _ = await resident_silent_past_the_limit(world, bot, cs, owner)
    task = assistant.last_text
    assert "回访任务" in task and "王伟 +8613900000001" in task  # the number in full, to call
    assert assistant.buttons() == ["📞 已电话回访：已解决", "📞 已电话回访：未解决", "📵 联系不上"]
    assert not any("回访任务" in text for text in bot.person(9020, "李敏").texts())
    assert "超时" in bot.person(9002, "吴建国").last_text  # the supervisor hears it was missed


async def test_b4_the_phone_callback_records_solved_score_notes_who_and_when(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """B-2, B-4: after the call the assistant picks solved or not, the score, then writes
    the notes as a plain message; stored as a chat answer is (the weekly report counts it
    alike), with who called; not solved reopens the case (C-2) and the resident hears it."""
    assistant, breach = await resident_silent_past_the_limit(world, bot, cs, owner)
    case = await latest_case(world)
    await assistant.tap("📞 已电话回访：未解决")
    assert "满意度" in assistant.last_text
    await assistant.tap("⭐⭐")
    assert "通话要点" in assistant.last_text and assistant.buttons() == ["📝 无备注"]
    await assistant.send("业主说水管还在滴水，希望周末来修")
    assert "已记录" in assistant.last_text and "重新打开" in assistant.last_text
    row = await callback_row(world)
    assert row == {
        "satisfaction": 2,
        "callback_channel": "phone",
        "called_back_by": await person_id(world, 9001),
        "called_back_at": breach.isoformat(timespec="seconds"),
        "status": "new",  # no department had it: back to the first responder
    }
    event = await world.db.fetchone(
        "SELECT actor_id, data FROM audit WHERE subject = ? AND event = 'case.return'",
        (f"case:{case.id}",),
    )
    assert event is not None and event["actor_id"] == await person_id(world, 9001)
    data = json.loads(event["data"])
    assert data["solved"] is False and data["called_back_by"] == await person_id(world, 9001)
    trail = await services_of(world).cases.trail(case.id)
    assert any(e["data"].get("note") == "业主说水管还在滴水，希望周末来修" for e in trail)
    assert "重新打开" in owner.last_text
    await owner.tap_data(f"cb:s:{case.id}:5")  # the resident's old question: answered
    assert (await latest_case(world)).status == "new"


async def test_b4_a_solved_phone_callback_with_no_notes_closes_the_case(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    assistant, _ = await resident_silent_past_the_limit(world, bot, cs, owner)
    await assistant.tap("📞 已电话回访：已解决")
    await assistant.tap("⭐⭐⭐⭐⭐")
    await assistant.tap("📝 无备注")
    assert "已结案" in assistant.last_text
    row = await callback_row(world)
    assert (row["status"], row["satisfaction"], row["callback_channel"]) == ("closed", 5, "phone")
    assert (await open_rules(world, await latest_case(world)))["B-1"] == "met"
    await assistant.send("你好")  # no notes awaited any more: an ordinary message
    assert "已记录" not in assistant.last_text


async def test_b4_only_assistants_record_a_phone_callback(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await resident_silent_past_the_limit(world, bot, cs, owner)
    case = await latest_case(world)
    engineer = bot.person(9003, "郑海")
    await engineer.tap_data(f"cb:ps:{case.id}:1:5", chat=cs)
    assert "客户助理" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    await engineer.tap_data(f"cb:ps:{case.id}:1:9", chat=cs)  # a forged score: stale
    assert (await latest_case(world)).status == "done"


async def test_b2_a_callback_task_left_undone_is_chased_every_day_until_recorded(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """B-2: never silently dropped: each further day the assistant gets the task again and
    the supervisor hears it is still open; once recorded, nothing more comes."""
    assistant, breach = await resident_silent_past_the_limit(world, bot, cs, owner)
    supervisor = bot.person(9002, "吴建国")
    await sweep_at(world, breach + timedelta(hours=23))  # not a day yet: nothing
    assert "仍未完成" not in assistant.last_text
    await sweep_at(world, breach + timedelta(days=1))
    assert "回访任务仍未完成（已超时 1 天）" in assistant.last_text
    assert "王伟 +8613900000001" in assistant.last_text
    assert "超时 1 天仍未完成" in supervisor.last_text
    await sweep_at(world, breach + timedelta(days=2))
    assert "已超时 2 天" in assistant.last_text and "超时 2 天" in supervisor.last_text
    await assistant.tap("📞 已电话回访：已解决")
    await assistant.tap("⭐⭐⭐⭐")
    await assistant.tap("📝 无备注")
    heard = len(assistant.texts()), len(supervisor.texts())
    await sweep_at(world, breach + timedelta(days=5))
    assert (len(assistant.texts()), len(supervisor.texts())) == heard


async def test_b2_an_unreachable_resident_is_chased_by_one_task_not_two(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    assistant, breach = await resident_silent_past_the_limit(world, bot, cs, owner)
    await sweep_at(world, breach + timedelta(hours=2))
    await assistant.tap("📵 联系不上")  # the retry within a day replaces the chase
    before = len(assistant.texts())
    await sweep_at(world, breach + timedelta(days=1, hours=3))
    tasks = [t for t in assistant.texts()[before:] if "回访任务" in t]
    assert len(tasks) == 1


# --- /callback (B-1) ----------------------------------------------------------------------------


async def test_b1_staff_open_a_callback_after_helping_a_resident(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """B-1: after helping a resident in trouble, the assistant opens a callback: a case of
    kind callback (HF-…, category help), asked in chat in their name, with 3 days."""
    assistant = bot.person(9001, "周晓梅")
    await assistant.send("/callback")
    assert assistant.buttons() == ["🤝 帮助困难住户后回访", "🎉 社区大型活动后回访"]
    await assistant.tap("🤝 帮助困难住户后回访")
    await assistant.send("帮独居老人搬运家具")
    await assistant.send("1栋 101")
    assert "已开启 1 个回访" in assistant.last_text and "已在聊天中询问" in assistant.last_text
    case = await latest_case(world)
    assert (case.kind, case.category, case.status) == ("callback", "help", "done")
    assert case.number.startswith("HF-") and case.number in assistant.last_text
    assert case.resident_id == await person_id(world, 2001) and case.unit_label == "1栋 101"
    assert "客户助理 周晓梅 回访" in owner.last_text
    rows = await world.db.fetchall("SELECT due_at FROM deadlines WHERE case_id = ?", (case.id,))
    assert [r["due_at"] for r in rows] == [
        (case.accepted_at + timedelta(days=3)).isoformat(timespec="seconds")
    ]
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐⭐⭐⭐")
    assert (await latest_case(world)).status == "closed"
    assert "业主答复了" in assistant.last_text


async def test_b1_after_an_event_several_residents_are_asked_or_phoned(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """B-1, B-2: after a large community event, several residents at once: those with the
    bot are asked in chat, the others become the assistant's phone tasks."""
    assistant = bot.person(9001, "周晓梅")
    await assistant.send("/callback")
    await assistant.tap("🎉 社区大型活动后回访")
    await assistant.send("中秋游园会 10月6日")
    await assistant.send("1栋 101，3栋 102\n+86 139 0000 0001")  # 王伟 twice: once
    texts = assistant.texts()
    summary = next(t for t in texts if "已开启 2 个回访" in t)
    assert "已在聊天中询问" in summary and "请电话回访" in summary
    rows = await world.db.fetchall(
        "SELECT category, status, resident_id, caller_phone FROM cases WHERE kind = 'callback'"
    )
    assert [(r["category"], r["status"]) for r in rows] == [("event", "done")] * 2
    assert "客户助理 周晓梅 回访" in owner.last_text
    phoned = [r for r in rows if r["resident_id"] is None]
    assert len(phoned) == 1 and phoned[0]["caller_phone"] is not None
    assert any(phoned[0]["caller_phone"] in t and "请电话答复" in t for t in texts)


async def test_b1_only_customer_service_staff_open_callbacks(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    engineer = bot.person(9003, "郑海")
    await engineer.send("/callback")
    assert "客服中心人员" in engineer.last_text
    await owner.send("/callback")
    assert "客服中心人员" in owner.last_text
    await bot.person(9001, "周晓梅").send("/callback", chat=cs)
    assert "私聊" in cs.last_text
    assert await world.db.fetchone("SELECT id FROM cases WHERE kind = 'callback'") is None


async def test_b1_a_unit_that_does_not_exist_is_asked_again_politely(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    assistant = bot.person(9001, "周晓梅")
    await assistant.send("/callback")
    await assistant.tap("🤝 帮助困难住户后回访")
    await assistant.send("帮忙疏通下水道")
    await assistant.send("1栋 101、2栋 101")  # help: one resident at a time
    assert "一次只开一位住户" in assistant.last_text
    await assistant.send("9栋 901")
    assert "没有找到“9栋 901”" in assistant.last_text
    assert await world.db.fetchone("SELECT id FROM cases WHERE kind = 'callback'") is None
    await assistant.send("2栋 101")
    assert "已开启 1 个回访" in assistant.last_text
