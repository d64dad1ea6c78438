"""Calls and visits recorded by staff (V-1..V-5) and customer visits (A-1): the record
conversation as customer service uses it, and what it causes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from procedures.reports import weekly_summary
from storage import audit
from storage.cases import Case
from storage.identity import IdentityStore
from storage.reports import ReportStore
from tests.conftest import World
from tests.support.cases import PNG, latest_case, open_rules
from tests.support.telegram import Group, Harness, Person, inline_buttons

FIRST_RESPONDER_BUTTONS = ["✅ 当场解决", "➡️ 转交部门", "🚨 上报（重大/紧急）", "⏰ 约定完成时间"]


@pytest.fixture
def assistant(bot: Harness) -> Person:
    """The demo estate's customer assistant (首问责任人)."""
    return bot.person(9001, "周晓梅")


async def record(
    staff: Person,
    *,
    channel: str = "📞 来电",
    name: str = "李女士",
    phone: str | None = "138 0013 8000",
    unit: str | None = "3栋 502",
    kind: str = "报事",
    category: str = "保洁",
    said: str = "3 号楼楼道灯坏了三天，晚上看不清",
    urgent: bool = False,
) -> None:
    """The whole /record conversation, as a staff member goes through it."""
    await staff.send("/record")
    await staff.tap(channel)
    await staff.send(name)
    if phone is None:
        await staff.tap("跳过")
    else:
        await staff.send(phone)
    if unit is None:
        await staff.tap("跳过")
    else:
        await staff.send(unit)
    await staff.tap(kind)
    await staff.tap(category)
    await staff.send(said)
    await staff.tap("🚨 紧急，立即上报" if urgent else "普通")


async def unit_id(world: World, label: str) -> int:
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    units = await identity.find_units(estate.id, label)
    assert len(units) == 1
    return units[0].id


async def staff_id(world: World, tg_user_id: int) -> int:
    person = await IdentityStore(world.db).person_by_tg(tg_user_id)
    assert person is not None
    return person.id


async def test_v1_v4_a_phone_call_reaches_the_first_responder_with_the_callers_masked_number(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await record(assistant)
    case = await latest_case(world)
    assert case.number.startswith("XQ-") and case.kind == "request"
    assert case.channel == "phone" and case.resident_id is None
    assert case.caller_name == "李女士" and case.caller_phone == "+8613800138000"
    assert case.unit_id == await unit_id(world, "3栋 502") and case.category == "cleaning"
    assert "楼道灯坏了三天" in case.description
    card = cs.last_text
    assert "新事项" in card and case.number in card and "楼道灯坏了三天" in card
    assert "李女士" in card and "+86 138****8000" in card and "13800138000" not in card
    assert cs.buttons() == FIRST_RESPONDER_BUTTONS
    # the clocks run as for a resident's request.
    assert await open_rules(world, case) == {"Q-1": "pending", "Q-4": "pending"}
    filed, spot = assistant.texts()[-2:]
    assert f"已记录，编号 {case.number}" in filed
    assert "当场给客户的答复是什么" in spot  # V-3: asked next
    row = await world.db.fetchone("SELECT created_by FROM cases WHERE id = ?", (case.id,))
    assert row is not None and row["created_by"] == await staff_id(world, 9001)
    # The first responder goes on as with any case.
    await assistant.tap("✅ 当场解决", chat=cs)
    assert (await latest_case(world)).status == "done"


async def test_v4_a_caller_ringing_from_a_landline_is_recorded(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await record(assistant, phone="021-6234 5678")
    case = await latest_case(world)
    assert case.caller_phone == "+862162345678" and case.channel == "phone"
    assert "李女士" in cs.last_text and "5678" in cs.last_text and "6234" not in cs.last_text


async def test_v2_an_urgent_visit_reaches_the_supervisor_at_once(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    supervisor, project_supervisor = bot.person(9002, "吴建国"), bot.person(9007, "孙志远")
    await record(
        assistant, channel="🚶 来访", name="陈先生", phone=None, unit=None, kind="投诉",
        category="安全", said="地下车库入口的栏杆倒了，差点砸到人", urgent=True,
    )  # fmt: skip
    case = await latest_case(world)
    assert case.kind == "complaint" and case.urgent and case.channel == "visit"
    assert case.caller_phone is None and case.unit_id is None
    assert "紧急" in supervisor.last_text and case.number in supervisor.last_text
    assert "判定性质" in project_supervisor.last_text  # C-4, as for any complaint
    assert "来访：陈先生" in cs.last_text
    # a complaint (C-5); reported as urgent already, it offers no second report (V-2)
    assert cs.buttons() == [*FIRST_RESPONDER_BUTTONS[:2], "🔗 同一事件", "⏰ 约定下次答复时间"]
    assert (await open_rules(world, case)).keys() == {"Q-1", "C-5-week", "C-4"}


async def test_v4_a_bad_number_is_refused_politely_and_asked_again(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await assistant.send("/record")
    await assistant.tap("📞 来电")
    await assistant.send("刘阿姨")
    await assistant.send("12345")
    assert "号码好像不对" in assistant.last_text and "来电显示的号码" in assistant.last_text
    await assistant.send("021-123")  # a landline without all its digits
    assert "号码好像不对" in assistant.last_text and "021-6234 5678" in assistant.last_text
    await assistant.send("跳过")  # V-4: a call is recorded with the caller display's number
    assert "不能跳过" in assistant.last_text and "来电显示的号码" in assistant.last_text
    await assistant.send("0138-0013-8001")
    assert "哪一套房屋" in assistant.last_text
    await assistant.send("9栋 909")
    assert "没有找到房屋" in assistant.last_text and "哪一套房屋" in assistant.last_text
    await assistant.tap("跳过")
    await assistant.send("要投诉")  # a button is expected: the same question again
    assert "请点按钮选择：“报事”、“投诉”" in assistant.last_text
    assert assistant.buttons() == ["报事", "投诉"]
    await assistant.tap("报事")
    await assistant.tap("其他")
    await assistant.send("好")
    assert "再多写几个字" in assistant.last_text
    await assistant.send("咨询物业费缴纳方式")
    await assistant.tap("普通")
    case = await latest_case(world)
    assert case.caller_phone == "+8613800138001" and case.unit_id is None


async def test_v4_a_caller_on_the_roster_is_recognised_and_their_unit_taken(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await assistant.send("/record")
    await assistant.tap("📞 来电")
    await assistant.send("张女士")
    await assistant.send("+86 139 0000 0002")  # the roster owner of 1栋 102
    assert "业主清册：张娜 1栋 102" in assistant.last_text
    await assistant.tap("跳过")  # no unit typed: the roster's unit is taken
    await assistant.tap("报事")
    await assistant.tap("报修")
    await assistant.send("卫生间吊顶渗水")
    await assistant.tap("普通")
    case = await latest_case(world)
    assert case.unit_id == await unit_id(world, "1栋 102")
    filed = assistant.texts()[-2]
    assert "业主清册：张娜 1栋 102" in filed and case.number in filed
    assert "1栋 102" in cs.last_text


async def test_v4_an_owner_of_several_units_picks_one_of_them(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await assistant.send("/record")
    await assistant.tap("🚶 来访")
    await assistant.send("王先生")
    await assistant.send("13900000001")  # owns 1栋 101 and 2栋 101
    assert "1栋 101 / 2栋 101" in assistant.last_text
    assert assistant.buttons() == ["1栋 101", "2栋 101", "跳过"]
    await assistant.tap("2栋 101")
    await assistant.tap("投诉")
    await assistant.tap("噪音")
    await assistant.send("楼上每天夜里装修")
    await assistant.tap("普通")
    assert (await latest_case(world)).unit_id == await unit_id(world, "2栋 101")


async def test_v1_only_customer_service_staff_record(world: World, bot: Harness, cs: Group) -> None:
    owner = bot.person(2001, "王伟", phone="8613900000001")
    await owner.send("/start")
    await owner.share_contact()
    engineer = bot.person(9003, "郑海")
    for person in (owner, engineer, bot.person(2999, "路人")):
        await person.send("/record")
        assert "由客服中心人员" in person.last_text
        await person.send("/visit")
        assert "由客服中心人员" in person.last_text
    await bot.person(9001, "周晓梅").send("/record", chat=cs)
    assert "请私聊我" in cs.last_text
    assert await world.db.fetchone("SELECT id FROM cases") is None


async def test_v1_the_role_is_checked_again_when_the_record_is_filed(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await assistant.send("/record")
    await assistant.tap("📞 来电")
    await assistant.send("李女士")
    await assistant.send("13800138000")
    await assistant.tap("跳过")
    await assistant.tap("报事")
    await assistant.tap("保洁")
    await assistant.send("垃圾桶满了没人清")
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    person_id = await staff_id(world, 9001)
    await identity.revoke_role(
        person_id, estate.id, "customer_assistant", actor="test", actor_id=None
    )
    await assistant.tap("普通")
    assert "由客服中心人员" in assistant.last_text
    assert await world.db.fetchone("SELECT id FROM cases") is None


async def test_v1_staff_of_several_estates_choose_the_estate(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    identity = IdentityStore(world.db)
    other = await identity.ensure_estate("翠湖苑")
    await identity.grant_role(
        await staff_id(world, 9001), other.id, "customer_assistant", actor="test"
    )
    await assistant.send("/record")
    assert sorted(assistant.buttons()) == sorted(["阳光花园", "翠湖苑"])
    await assistant.tap("翠湖苑")
    assert "翠湖苑" in assistant.last_text and assistant.buttons() == ["📞 来电", "🚶 来访"]


async def test_v1_cancel_drops_the_draft(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await assistant.send("/record")
    await assistant.tap("📞 来电")
    await assistant.send("李女士")
    await assistant.send("/cancel")
    assert "已取消" in assistant.last_text
    await assistant.send("13800138000")  # no longer part of a record
    assert "哪一套房屋" not in assistant.last_text
    assert await world.db.fetchone("SELECT id FROM cases") is None
    row = await world.db.fetchone("SELECT data FROM ptb_data WHERE kind = 'user'")
    assert row is None or '"record"' not in row["data"]


async def test_v4_a_restart_half_way_keeps_the_draft(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await assistant.send("/record")
    await assistant.tap("📞 来电")
    await assistant.send("李女士")
    await world.crash_and_restart()
    await assistant.send("13800138000")
    await world.crash_and_restart()
    await assistant.send("3栋 502")
    await assistant.tap("报事")
    await assistant.tap("保洁")
    await world.crash_and_restart()
    await assistant.send("楼道灯坏了")
    await assistant.tap("普通")
    case = await latest_case(world)
    assert case.caller_name == "李女士" and case.caller_phone == "+8613800138000"
    assert case.unit_id == await unit_id(world, "3栋 502")
    assert case.number in cs.last_text


# --- V-3: the answer given on the spot ------------------------------------------------------


async def events_of(world: World, case: Case) -> list[dict[str, Any]]:
    """The case's audit events, oldest first (personal notes read back)."""
    return await audit.trail(world.db, f"case:{case.id}")


SPOT = "已告知李女士今天下午保洁员会去清理楼道，并更换灯泡"


async def test_v3_the_answer_on_the_spot_is_a_plain_message_kept_on_the_case_timeline(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    """V-3: after the filing the assistant is asked what the caller was told; their next
    private message (no reply needed) is kept with the case, shown on /case."""
    await record(assistant)
    case = await latest_case(world)
    assert f"{case.number}：当场给客户的答复是什么" in assistant.last_text
    assert assistant.buttons() == ["✅ 当场已解决", "⏭ 当场未答复"]
    card = cs.mark()
    await assistant.send("好")  # too short to be an answer: asked again
    assert "至少写 2 个字" in assistant.last_text and "当场给客户的答复" in assistant.last_text
    await assistant.send(SPOT)
    assert f"已记录 {case.number} 的当场答复" in assistant.last_text
    [event] = [e for e in await events_of(world, case) if e["event"] == "case.spot_answer"]
    assert event["data"]["note"] == SPOT
    assert event["actor"] == f"person:{await staff_id(world, 9001)}"
    after = await latest_case(world)
    assert after.status == "new" and cs.texts(card) == []  # the case goes on as filed
    await assistant.send("再补充一句")  # the answer is in: the next message is no answer
    assert len([e for e in await events_of(world, case) if "spot" in e["event"]]) == 1
    await assistant.send(f"/case {case.number}")
    assert f"周晓梅 · 当场答复：{SPOT}" in assistant.last_text


async def test_v3_the_step_is_skipped_only_by_its_button_which_records_no_answer(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    """V-3 is never silently missing: /record, /visit and /cancel ask for it again;
    "⏭ 当场未答复" records that none was given, then a new record starts."""
    await record(assistant, channel="🚶 来访", phone=None, unit=None, kind="投诉", category="噪音")
    case = await latest_case(world)
    for command in ("/record", "/visit", "/cancel"):
        await assistant.send(command)
        assert f"{case.number} 还缺当场答复" in assistant.last_text, command
        assert assistant.buttons() == ["✅ 当场已解决", "⏭ 当场未答复"]
    await assistant.send_photo(PNG)
    assert "请用文字写下当场给客户的答复" in assistant.last_text
    assert not [e for e in await events_of(world, case) if "spot" in e["event"]]
    await assistant.tap("⏭ 当场未答复")
    assert f"已记录：{case.number} 当场未答复客户" in assistant.last_text
    await assistant.tap("⏭ 当场未答复")  # an earlier copy of the question: recorded once
    assert [e["event"] for e in await events_of(world, case) if "spot" in e["event"]] == [
        "case.no_spot_answer"
    ]
    await assistant.send("/record")
    assert assistant.buttons() == ["📞 来电", "🚶 来访"]
    await assistant.send("/cancel")
    await assistant.send(f"/case {case.number}")
    assert "周晓梅 · 当场未答复" in assistant.last_text


async def test_v3_resolved_on_the_spot_the_answer_is_the_resolution(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    """V-3, Q-1: "✅ 当场已解决", then the answer: the case is resolved with it as the
    resolution's text, its work clocks stop and the callback's starts (B-1)."""
    await record(assistant, kind="报事", category="收费", said="咨询物业费怎么交")
    case = await latest_case(world)
    await assistant.tap("✅ 当场已解决")
    assert "请发送当场给客户的解决办法" in assistant.last_text
    assert assistant.buttons() == ["↩️ 没有当场解决"]
    await assistant.tap("↩️ 没有当场解决")  # a slip: back to the question
    assert assistant.buttons() == ["✅ 当场已解决", "⏭ 当场未答复"]
    await assistant.tap("✅ 当场已解决")
    answer = "已告诉业主可在物业 APP 或前台刷卡缴费"
    await assistant.send(answer)
    assert "事项已当场解决" in assistant.last_text
    after = await latest_case(world)
    assert after.status == "done"
    trail = await events_of(world, case)
    assert [e["event"] for e in trail][-2:] == ["case.spot_answer", "case.resolve"]
    assert trail[-1]["data"]["note"] == answer and trail[-2]["data"]["note"] == answer
    assert await open_rules(world, case) == {"Q-1": "met", "Q-4": "met", "B-1": "pending"}
    assert "✅ 当场解决" not in cs.buttons()  # the first responder's card follows
    await assistant.send(f"/case {case.number}")
    assert f"当场解决：{answer}" in assistant.last_text


async def test_v3_a_case_taken_up_meanwhile_keeps_the_answer_but_is_not_resolved_again(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await record(assistant)
    case = await latest_case(world)
    await assistant.tap("✅ 当场已解决")
    await bot.person(9002, "吴建国").tap("➡️ 转交部门", chat=cs)  # the supervisor refers it
    await bot.person(9002, "吴建国").tap("工程部", chat=cs)
    await assistant.send(SPOT)
    assert "已经有人处理过了，没有再标为当场解决" in assistant.last_text
    assert (await latest_case(world)).status == "referred"
    assert "case.spot_answer" in [e["event"] for e in await events_of(world, case)]


async def test_v3_only_customer_service_staff_of_the_estate_record_the_answer(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    """V-3, server-side: the role is read again when the answer comes; a forged button of
    someone with no record open does nothing."""
    await record(assistant)
    case = await latest_case(world)
    engineer = bot.person(9003, "郑海")
    await engineer.send("/start")
    await engineer.tap_data("rec:spot:none")
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    await identity.revoke_role(
        await staff_id(world, 9001), estate.id, "customer_assistant", actor="test", actor_id=None
    )
    await assistant.send(SPOT)
    assert "由客服中心人员" in assistant.last_text
    assert not [e for e in await events_of(world, case) if "spot" in e["event"]]


async def closed_visit(world: World) -> Case:
    case = await latest_case(world)
    assert case.kind == "visit" and case.number.startswith("FW-")
    return case


async def test_a1_a_visit_is_recorded_with_its_score_and_closed(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    before = len(cs.messages())
    await assistant.send("/visit")
    await assistant.tap("🏠 上门")
    mark = assistant.mark()
    await assistant.send("1栋 102")
    assert "住户：1栋 102 张娜" in assistant.texts(mark)[0]
    await assistant.send("对保洁很满意，希望小区多种些花")
    await assistant.tap("⭐⭐⭐⭐")
    case = await closed_visit(world)
    assert f"已记录客户访问，编号 {case.number}" in assistant.last_text
    assert "满意度 4/5" in assistant.last_text
    assert case.status == "closed" and case.channel == "home" and case.resident_id is None
    assert case.unit_id == await unit_id(world, "1栋 102") and case.caller_name == "张娜"
    row = await world.db.fetchone(
        "SELECT satisfaction, callback_channel, called_back_at, resolved_at, closed_at"
        " FROM cases WHERE id = ?",
        (case.id,),
    )
    assert row is not None and row["satisfaction"] == 4 and row["callback_channel"] == "visit"
    assert row["called_back_at"] and row["resolved_at"] and row["closed_at"]
    assert await open_rules(world, case) == {}  # no clocks
    assert len(cs.messages()) == before  # and nobody else is told
    # The week's report counts it.
    facts, deadlines = await ReportStore(world.db).facts(
        case.estate_id, case.accepted_at - timedelta(days=1), case.accepted_at + timedelta(days=1)
    )
    summary = weekly_summary(
        facts, deadlines, start=case.accepted_at - timedelta(days=1),
        end=case.accepted_at + timedelta(days=1), as_of=case.accepted_at + timedelta(hours=1),
    )  # fmt: skip
    assert summary.filed.get("visit") == 1 and summary.closed == 1
    # Its timeline shows who recorded it.
    await assistant.send(f"/case {case.number}")
    assert "客户访问" in assistant.last_text and "周晓梅" in assistant.last_text


async def test_a1_a_visit_is_stored_whole_or_not_at_all(
    world: World, bot: Harness, cs: Group, assistant: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filed, resolved and closed are one transaction: a failure at the last step leaves no
    half-recorded visit, and the score can be tapped again."""
    bot.raise_errors = False
    await assistant.send("/visit")
    await assistant.tap("🏠 上门")
    await assistant.send("1栋 102")
    await assistant.send("对保洁很满意")
    real = audit.append

    async def failing(conn: Any, **fields: Any) -> Any:
        if fields.get("event") == "case.close":
            raise OSError("disk full")
        return await real(conn, **fields)

    monkeypatch.setattr("storage.cases.audit.append", failing)
    await assistant.tap("⭐⭐⭐⭐")
    assert await world.db.fetchall("SELECT id FROM cases") == []
    assert "抱歉" in assistant.last_text
    monkeypatch.setattr("storage.cases.audit.append", real)
    await assistant.tap("⭐⭐⭐⭐")
    case = await closed_visit(world)
    assert case.status == "closed" and "已记录客户访问" in assistant.last_text
    assert len(await world.db.fetchall("SELECT id FROM cases")) == 1


async def test_a1_a_visit_without_a_unit_names_the_resident(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await assistant.send("/visit")
    await assistant.send("你好")  # a button is expected: the same question again
    assert "请点按钮选择：“🏠 上门”" in assistant.last_text and "🏠 上门" in assistant.buttons()
    await assistant.tap("🌳 公共区域")
    await assistant.send("8栋 808")  # looks like a unit, but there is none
    assert "没有找到房屋" in assistant.last_text
    await assistant.send("刘阿姨")
    await assistant.send("晚上散步的路灯太暗")
    await world.crash_and_restart()
    await assistant.tap("⭐⭐")
    case = await closed_visit(world)
    assert case.caller_name == "刘阿姨" and case.unit_id is None and case.channel == "common"
    row = await world.db.fetchone("SELECT satisfaction FROM cases WHERE id = ?", (case.id,))
    assert row is not None and row["satisfaction"] == 2


async def test_a1_cancel_drops_the_visit(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    await assistant.send("/visit")
    await assistant.tap("📞 电话")
    await assistant.send("/cancel")
    assert "已取消" in assistant.last_text
    await assistant.tap_data("vis:s:5")
    assert await world.db.fetchone("SELECT id FROM cases") is None


@pytest.mark.parametrize("locale", ["zh-Hans", "zh-Hant", "en"])
def test_v3_a1_their_events_have_names_on_the_timeline(locale: str) -> None:
    """/case names the spot answer (V-3) and a visit's link to its case (A-1) in the
    reader's words, never by the raw event key."""
    from bot.i18n import catalogs
    from procedures import calls, customer_visits

    events = [*calls.SPOT_EVENTS, customer_visits.BECAME, customer_visits.FROM_VISIT]
    texts = catalogs()[locale]
    assert [e for e in events if "event." + e.replace(".", "_") not in texts] == []


# --- a problem heard on a visit becomes a request or a complaint --------------------------


async def visit(
    world: World, staff: Person, *, who: str = "1栋 102", heard: str | None = None
) -> Case:
    """A visit at home, recorded (``heard`` None: "🙂 没有意见")."""
    await staff.send("/visit")
    await staff.tap("🏠 上门")
    await staff.send(who)
    if heard is None:
        await staff.tap("🙂 没有意见")
    else:
        await staff.send(heard)
    await staff.tap("⭐⭐⭐")
    return await latest_case(world)


HEARD = "3 楼楼道灯坏了一周，晚上回家看不清台阶"


async def test_a1_a_problem_heard_on_a_visit_becomes_a_request_in_one_tap(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    """A-1: "➕ 转为需求" under the visit's record files a request for the visited unit with
    what was heard, through the normal filing (the first responder's card, Q-1 and Q-4),
    the two linked on both audit trails and /case timelines."""
    fw = await visit(world, assistant, heard=HEARD)
    assert assistant.buttons() == ["➕ 转为需求", "➕ 转为投诉"]
    shown = assistant.last_message["message_id"]
    await assistant.tap("➕ 转为需求")
    case = await latest_case(world)
    assert case.kind == "request" and case.number.startswith("XQ-") and case.status == "new"
    assert case.description == HEARD and case.category == "other"
    assert case.unit_id == fw.unit_id and case.caller_name == "张娜" and case.resident_id is None
    assert f"访问 {fw.number} 中的问题已转为需求 {case.number}" in assistant.last_text
    [record_message] = [m for m in assistant.messages() if m["message_id"] == shown]
    assert inline_buttons(record_message) == []  # the record's buttons are gone
    assert "新事项" in cs.last_text and case.number in cs.last_text and HEARD in cs.last_text
    assert cs.buttons() == FIRST_RESPONDER_BUTTONS
    assert await open_rules(world, case) == {"Q-1": "pending", "Q-4": "pending"}
    [came] = [e for e in await events_of(world, case) if e["event"] == "case.from_visit"]
    assert came["data"]["visit"] == fw.number
    [became] = [e for e in await events_of(world, fw) if e["event"] == "case.became"]
    assert became["data"]["case"] == case.number and became["data"]["kind"] == "request"
    await assistant.send(f"/case {fw.number}")
    assert f"周晓梅 · 转为需求或投诉：{case.number}" in assistant.last_text
    await assistant.send(f"/case {case.number}")
    assert f"周晓梅 · 由客户访问转来：{fw.number}" in assistant.last_text
    # The first responder goes on as with any case.
    await bot.person(9002, "吴建国").tap("➡️ 转交部门", chat=cs)
    await bot.person(9002, "吴建国").tap("工程部", chat=cs)
    assert (await latest_case(world)).status == "referred"


async def test_a1_a_second_tap_files_nothing_twice_and_names_the_case(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    fw = await visit(world, assistant, heard=HEARD)
    record_message = assistant.last_message["message_id"]
    await assistant.tap("➕ 转为投诉")
    case = await latest_case(world)
    assert case.kind == "complaint"
    card = cs.mark()
    for data in (f"vfu:complaint:{fw.id}", f"vfu:request:{fw.id}"):
        await assistant.tap_data(data, message_id=record_message)
        assert f"访问 {fw.number} 已经转为投诉 {case.number}，没有重复登记" in assistant.last_text
    supervisor = bot.person(9002, "吴建国")  # customer service too: told the same
    await supervisor.send("/start")
    await supervisor.tap_data(f"vfu:request:{fw.id}")
    assert f"已经转为投诉 {case.number}" in supervisor.last_text
    assert len(await world.db.fetchall("SELECT id FROM cases")) == 2
    assert cs.texts(card) == []
    assert [e["event"] for e in await events_of(world, fw)].count("case.became") == 1


async def test_a1_a_visit_with_nothing_heard_asks_for_the_problem(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    """A-1: nothing was written down on the visit: the problem is asked (a plain private
    message), then the complaint is filed with it (C-4: the supervisor classifies)."""
    fw = await visit(world, assistant, who="刘阿姨", heard=None)
    assert fw.description == "" and "意见建议：没有" in assistant.texts()[-3]
    await assistant.tap("➕ 转为投诉")
    assert f"访问 {fw.number} 没有记下住户提的问题" in assistant.last_text
    assert (await latest_case(world)).id == fw.id  # nothing filed yet
    await assistant.send_photo(PNG)
    assert "没有记下住户提的问题" in assistant.last_text
    await assistant.send("好")
    assert "再多写几个字" in assistant.last_text
    await assistant.send("保安夜里巡逻时大声喧哗")
    case = await latest_case(world)
    assert case.kind == "complaint" and case.description == "保安夜里巡逻时大声喧哗"
    assert case.caller_name == "刘阿姨" and case.unit_id is None
    assert f"已转为投诉 {case.number}" in assistant.last_text
    assert "判定性质" in bot.person(9007, "孙志远").last_text  # C-4, as for any complaint
    assert [e["event"] for e in await events_of(world, fw)][-1] == "case.became"
    await assistant.send("还有别的")  # the problem is in: nothing more is filed
    assert len(await world.db.fetchall("SELECT id FROM cases")) == 2


async def test_a1_only_customer_service_staff_of_the_estate_turn_a_visit_into_a_case(
    world: World, bot: Harness, cs: Group, assistant: Person
) -> None:
    fw = await visit(world, assistant, heard=HEARD)
    engineer = bot.person(9003, "郑海")
    await engineer.send("/start")
    await engineer.tap_data(f"vfu:request:{fw.id}")
    assert "由客服中心人员" in engineer.last_text
    await assistant.tap_data("vfu:repair:1")  # no such kind: nothing filed
    assert "按钮已失效" in assistant.last_text
    await assistant.tap_data(f"vfu:request:{fw.id + 100}")
    assert "按钮已失效" in assistant.last_text
    assert len(await world.db.fetchall("SELECT id FROM cases")) == 1
