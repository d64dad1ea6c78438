"""Owners register by sharing their contact (H-1: checked against the roster, 主清冊).

Each test reads like the owner's and the staff's script.
"""

from __future__ import annotations

import pytest

from storage import audit
from storage.identity import IdentityStore
from tests.conftest import ADMIN_ID, World
from tests.support.app import clock_of, services_of
from tests.support.telegram import Group, Harness, Person

# Demo roster: +86 139 0000 0001 owns 1栋 101 and 2栋 101; 0002 owns 1栋 102.
ROSTER_PHONE = "8613900000001"
UNKNOWN_PHONE = "8613700000000"


async def bound_units(world: World, person: Person) -> list[str]:
    identity = IdentityStore(world.db)
    found = await identity.person_by_tg(person.user_id)
    return [u.label for u in await identity.units_of(found.id)] if found else []


async def cs_group(bot: Harness) -> Group:
    """The customer-service group, bound by the deployment admin."""
    admin = bot.person(ADMIN_ID, "管理员")
    group = bot.group(-100, "阳光花园客服中心")
    await admin.send("/bind 客服中心", chat=group)
    return group


async def test_h1_owner_on_the_roster_is_bound_to_every_unit(world: World, bot: Harness) -> None:
    owner = bot.person(2001, "王伟", phone=ROSTER_PHONE)
    await owner.send("/start")
    assert "分享您的手机号码" in owner.last_text
    keyboard = owner.reply_keyboard()
    assert keyboard is not None and keyboard[0][0].get("request_contact") is True
    await owner.press("📱 分享我的手机号码")
    texts = "\n".join(owner.texts())
    assert "身份验证成功" in texts and "1栋 101" in texts and "2栋 101" in texts
    assert owner.reply_keyboard() is None  # the contact button is taken away
    assert await bound_units(world, owner) == ["1栋 101", "2栋 101"]
    await owner.send("/whoami")
    assert "1栋 101" in owner.last_text and "业主" in owner.last_text
    trail = await audit.trail(world.db, "person:" + str(await _pid(world, owner)))
    assert [e["event"] for e in trail].count("owner.bound") == 2


async def _pid(world: World, person: Person) -> int:
    found = await IdentityStore(world.db).person_by_tg(person.user_id)
    assert found is not None
    return found.id


async def test_h1_phone_written_with_plus_and_spaces_still_matches(
    world: World, bot: Harness
) -> None:
    owner = bot.person(2002, "张娜", phone="+86 139 0000 0002")
    await owner.send("/start")
    await owner.share_contact()
    assert await bound_units(world, owner) == ["1栋 102"]


async def test_h1_someone_elses_contact_is_refused(world: World, bot: Harness) -> None:
    owner = bot.person(2001, "王伟", phone=UNKNOWN_PHONE)
    bot.person(2009, "邻居", phone=ROSTER_PHONE)
    await owner.send("/start")
    await owner.share_contact(of_user_id=2009)
    assert "别人的联系人" in owner.last_text
    assert await bound_units(world, owner) == []
    assert owner.reply_keyboard() is not None  # still offered the right button


async def test_h1_text_where_a_contact_was_expected_gets_a_hint(world: World, bot: Harness) -> None:
    owner = bot.person(2001, "王伟", phone=ROSTER_PHONE)
    await owner.send("/start")
    await owner.send("13900000001")
    assert "分享我的手机号码" in owner.last_text
    assert await bound_units(world, owner) == []
    await owner.share_contact()  # the flow is still waiting for the contact
    assert await bound_units(world, owner) == ["1栋 101", "2栋 101"]


async def test_h1_unknown_phone_is_verified_by_customer_service(world: World, bot: Harness) -> None:
    group = await cs_group(bot)
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE, username="liuyang")
    await owner.send("/start")
    await owner.share_contact()
    assert "没有找到这个手机号码" in "\n".join(owner.texts())
    assert "请输入您在" in owner.last_text  # one estate: straight to the unit
    await owner.send("3栋 602")
    assert "已将您的申请" in owner.last_text
    card = group.last_text
    assert "业主身份核实申请" in card and "3栋 602" in card and "刘洋" in card
    assert "13700000000" not in card  # phones are masked in groups
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("✅ 核实通过", chat=group)
    assert "已由 周晓梅 核实通过" in group.last_text
    assert group.buttons() == []
    assert "客服中心已核实您的身份" in owner.last_text
    assert await bound_units(world, owner) == ["3栋 602"]


async def test_h1_a_server_error_delays_the_verification_card_and_loses_nothing(
    world: World, bot: Harness
) -> None:
    """H-1: a 500 on the card for customer service, then Telegram recovers: the card
    arrives, the owner is decided, and is told (the decision survives a 500 too)."""
    group = await cs_group(bot)
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    bot.api.world.inject("sendMessage", "500", times=3)
    await owner.send("3栋 602")
    assert "业主身份核实申请" not in group.last_text  # not yet: Telegram failed
    clock_of(world).advance(minutes=5)  # the outbox's retry falls due
    await services_of(world).sender.drain()
    assert "业主身份核实申请" in group.last_text
    bot.api.world.inject("sendMessage", "500")
    await bot.person(9001, "周晓梅").tap("✅ 核实通过", chat=group)
    clock_of(world).advance(minutes=5)
    await services_of(world).sender.drain()
    assert "客服中心已核实您的身份" in owner.last_text
    assert await bound_units(world, owner) == ["3栋 602"]


async def test_h1_rejection_tells_the_owner_why(world: World, bot: Harness) -> None:
    group = await cs_group(bot)
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("602")  # several buildings have a 602: the owner picks one
    assert "找到多个相符的房号" in owner.last_text
    await owner.tap("3栋 602")
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("❌ 不通过", chat=group)
    await assistant.tap("需到服务中心当面核实", chat=group)
    assert "已由 周晓梅 驳回" in group.last_text
    assert "未能核实" in owner.last_text and "当面核实" in owner.last_text
    assert await bound_units(world, owner) == []


async def test_h1_unknown_unit_is_asked_again(world: World, bot: Harness) -> None:
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("9栋 9999")
    assert "没有找到房号“9栋 9999”" in owner.last_text
    await owner.send_photo(b"\xff\xd8\xff" + bytes(64))
    assert "请输入您在" in owner.last_text
    await owner.send("1栋 101")
    assert "已将您的申请" in owner.last_text


async def test_h1_only_customer_service_may_decide(world: World, bot: Harness) -> None:
    group = await cs_group(bot)
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("1栋 101")
    guard = bot.person(9005, "陈保华")  # security: not a verifier
    await guard.tap("✅ 核实通过", chat=group)
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert "只有客服中心人员" in answer["text"] and answer.get("show_alert") is True
    assert "核实通过" in str(group.buttons())  # still undecided
    assert await bound_units(world, owner) == []


async def test_h1_a_second_tap_is_told_who_decided(world: World, bot: Harness) -> None:
    group = await cs_group(bot)
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("1栋 101")
    card_id = group.messages()[-1]["message_id"]
    await bot.person(9001, "周晓梅").tap("✅ 核实通过", chat=group)
    supervisor = bot.person(9002, "吴建国")
    await supervisor.tap_data(f"ver:no:{_vid(group)}", chat=group, message_id=card_id)
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert "已由 周晓梅 核实通过" in answer["text"]
    assert await bound_units(world, owner) == ["1栋 101"]


def _vid(group: Group) -> str:
    """The verification id in the card's buttons or text (``#N``)."""
    text = group.last_text
    return text.split("#", 1)[1].split()[0].strip()


async def test_h1_a_forged_button_changes_nothing(world: World, bot: Harness) -> None:
    group = await cs_group(bot)
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap_data("ver:ok:999", chat=group)
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert "按钮已失效" in answer["text"]
    await assistant.tap_data("ver:why:1:made_up", chat=group)
    assert "按钮已失效" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]


async def test_h1_with_no_group_bound_the_request_goes_to_verifiers_privately(
    world: World, bot: Harness
) -> None:
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("1栋 101")
    assistant = bot.person(9001, "周晓梅")
    assert "客服中心群尚未绑定" in assistant.last_text
    await assistant.tap("✅ 核实通过")
    assert await bound_units(world, owner) == ["1栋 101"]


async def test_pending_lists_open_requests_again(world: World, bot: Harness) -> None:
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("1栋 101")
    supervisor = bot.person(9002, "吴建国")
    await supervisor.send("/pending")
    assert "1栋 101" in supervisor.last_text
    await supervisor.tap("✅ 核实通过")
    await supervisor.send("/pending")
    assert "没有待核实" in supervisor.last_text
    resident = bot.person(2001, "王伟", phone=ROSTER_PHONE)
    await resident.send("/pending")
    assert "只有客服中心人员" in resident.last_text


async def test_cancel_leaves_registration(world: World, bot: Harness) -> None:
    owner = bot.person(2001, "王伟", phone=ROSTER_PHONE)
    await owner.send("/start")
    await owner.send("/cancel")
    assert "已取消" in owner.last_text
    assert owner.reply_keyboard() is None
    await owner.send("hello")
    assert "请先发送 /start" in owner.last_text  # no longer waiting for a contact


async def test_restart_half_way_through_registration_loses_nothing(
    world: World, bot: Harness
) -> None:
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await world.crash_and_restart()  # the process dies while the owner reads the question
    await owner.share_contact()
    assert "请输入您在" in owner.last_text
    await world.crash_and_restart()  # and again, before the unit is typed
    await owner.send("1栋 101")
    assert "已将您的申请" in owner.last_text


async def test_registered_owner_sees_the_menu_on_start(world: World, bot: Harness) -> None:
    owner = bot.person(2001, "王伟", phone=ROSTER_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("/start")
    assert "业主服务" in owner.last_text and "/whoami" in owner.last_text


async def test_h1_a_traditional_chinese_unit_address_matches(world: World, bot: Harness) -> None:
    owner = bot.person(2100, "劉洋", phone=UNKNOWN_PHONE, language_code="zh-hant")
    await owner.send("/start")
    await owner.share_contact()
    assert "請輸入您在" in owner.last_text
    await owner.send("3棟-602")
    assert "已將您的申請" in owner.last_text and "3栋 602" in owner.last_text


async def test_h1_staff_who_own_a_unit_register_it_with_register(
    world: World, bot: Harness
) -> None:
    assistant = bot.person(9001, "周晓梅", phone="8613900000002")  # also owner of 1栋 102
    await assistant.send("/start")
    assert "员工" in assistant.last_text  # staff menu, no contact question
    await assistant.send("/register")
    assert "分享您的手机号码" in assistant.last_text
    await assistant.share_contact()
    assert await bound_units(world, assistant) == ["1栋 102"]


async def test_h1_asking_twice_does_not_flood_customer_service(world: World, bot: Harness) -> None:
    group = await cs_group(bot)
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    for _ in range(2):
        await owner.send("/start")
        await owner.share_contact()
        await owner.send("1栋 101")
    assert "已在核实中" in owner.last_text
    cards = [t for t in group.texts() if "业主身份核实申请" in t]
    assert len(cards) == 1
    for unit in ("1栋 102", "1栋 201", "1栋 202"):
        await owner.send("/start")
        await owner.share_contact()
        await owner.send(unit)
    assert "已有 3 个待核实的申请" in owner.last_text
    assert len([t for t in group.texts() if "业主身份核实申请" in t]) == 3


async def test_h1_nobody_verifies_their_own_request(world: World, bot: Harness) -> None:
    group = await cs_group(bot)
    assistant = bot.person(9001, "周晓梅", phone=UNKNOWN_PHONE)
    await assistant.send("/register")
    await assistant.share_contact()
    await assistant.send("1栋 101")
    await assistant.tap("✅ 核实通过", chat=group)
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert "不能核实自己的申请" in answer["text"]
    assert await bound_units(world, assistant) == []


@pytest.mark.parametrize("typed", ["3-602", "3 602", "3#602", "3号楼602", "3幢602室", "3棟-602"])
async def test_h1_the_usual_ways_of_writing_a_unit_match(
    world: World, bot: Harness, typed: str
) -> None:
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send(typed)
    assert "3栋 602" in owner.last_text and "已将您的申请" in owner.last_text


@pytest.mark.parametrize("forged", ["ver:ok:²", "ver:ok:99999999999999999999999", "ver:", "ver:ok"])
async def test_h1_odd_button_data_is_answered_politely(
    world: World, bot: Harness, forged: str
) -> None:
    group = await cs_group(bot)
    await bot.person(9001, "周晓梅").tap_data(forged, chat=group)
    assert "按钮已失效" in bot.api.calls_of("answerCallbackQuery")[-1].params["text"]


async def test_personal_details_stay_out_of_groups(world: World, bot: Harness) -> None:
    group = await cs_group(bot)
    assistant = bot.person(9001, "周晓梅")
    await assistant.send("/whoami", chat=group)
    assert "请私聊我" in group.last_text and "Telegram ID" not in group.last_text
    await assistant.send("/pending", chat=group)
    assert "请私聊我" in group.last_text
