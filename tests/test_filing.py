"""Filing as residents type rather than tap: what they type where a button is asked is
understood or kept, never lost or put in the wrong place (Q-2, C-10)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from tests.conftest import World
from tests.support.app import services_of
from tests.support.cases import PNG, latest_case
from tests.support.telegram import Group, Harness, Person


async def described(owner: Person) -> None:
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("厨房水槽下面的水管漏水")
    assert "紧急吗" in owner.last_text


async def test_q2_typing_urgent_at_the_urgency_question_files_an_urgent_case(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Typed 紧急 is the answer: filed urgent, the description as the resident wrote it."""
    await described(owner)
    await owner.send("紧急！")
    case = await latest_case(world)
    assert case.urgent and case.description == "厨房水槽下面的水管漏水"
    assert case.number in owner.last_text


async def test_q2_more_text_at_the_urgency_question_adds_to_the_description(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await described(owner)
    await owner.send("已经关了总阀")
    assert "紧急吗" in owner.last_text  # asked again
    await owner.tap("普通")
    case = await latest_case(world)
    assert not case.urgent
    assert case.description == "厨房水槽下面的水管漏水\n已经关了总阀"


async def test_q2_text_where_a_category_is_asked_gets_a_hint_and_the_flow_goes_on(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await owner.send("/request")
    await owner.send("水管漏了")
    assert "请点按钮选择" in owner.last_text and "“报修”" in owner.last_text
    await owner.tap("报修")
    await owner.send("3栋 602")  # the unit is asked with buttons too: not one of theirs
    assert "“阳光花园 · 1栋 101”、“阳光花园 · 2栋 101”" in owner.last_text
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("厨房水管漏水")
    await owner.tap("普通")
    assert (await latest_case(world)).description == "厨房水管漏水"


async def test_q1_the_department_choice_asks_and_can_go_back(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-1: "refer" asks which department, and the first responder may change their mind."""
    await described(owner)
    await owner.tap("普通")
    cs, assistant = groups["cs"], bot.person(9001, "周晓梅")
    await assistant.tap("➡️ 转交部门", chat=cs)
    assert "转交给哪个部门" in cs.last_text and "工程部" in cs.buttons()
    await assistant.tap("返回", chat=cs)
    assert "➡️ 转交部门" in cs.buttons()
    assert (await latest_case(world)).status == "new"


async def test_q4_the_department_card_keeps_the_owners_contact_and_says_who_and_when(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-4: whoever goes out has the owner's contact on the card, and the group sees who
    took the case and by when it was promised."""
    await described(owner)
    await owner.tap("普通")
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    assert "业主：" in groups["cs"].last_text  # the first responder's card keeps it too
    await engineer.tap("🙋 接单", chat=groups["eng"])
    await engineer.tap("⏰ 约定完成时间", chat=groups["eng"])
    await engineer.tap("明天 12:00 前", chat=groups["eng"])
    card = groups["eng"].last_text
    assert "业主：" in card and "****" in card  # the phone, masked
    assert "接单人：郑海" in card and "约定完成：" in card


async def test_c11_the_review_card_says_who_handled_it_and_what_was_promised(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """C-11: customer service's card after the department's feedback, and the approver's,
    show who took the complaint and the time promised (cards the bot posts, not only those
    it edits)."""
    await owner.send("/complain")
    await owner.tap("噪音")
    await owner.tap("阳光花园 · 2栋 101")
    await owner.send("楼上每晚装修噪音")
    await owner.tap("普通")
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    await engineer.tap("🙋 接单", chat=groups["eng"])
    await engineer.tap("⏰ 约定下次答复时间", chat=groups["eng"])
    await engineer.tap("明天 12:00 前", chat=groups["eng"])
    await bot.person(9007, "孙志远").tap("轻微")
    await bot.person(9002, "吴建国").tap("✍️ 写处理意见")
    await bot.person(9002, "吴建国").send("请尽快协调楼上业主。")
    card = groups["eng"].messages()[-1]["message_id"]
    await engineer.reply_to(card, "已协调楼上业主，晚上不再施工。", chat=groups["eng"])
    await engineer.tap("✅ 已完成", chat=groups["eng"])
    feedback = groups["cs"].last_text
    assert "部门已反馈" in feedback and "接单人：郑海" in feedback and "下次答复：" in feedback
    assert "处理意见：请尽快协调" in feedback and "部门反馈：已协调楼上业主" in feedback


async def test_q2_an_album_with_a_caption_is_asked_normal_or_urgent_once(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """An album whose first photo carries the description (how Telegram sends one) is asked
    normal or urgent once, and files with every photo of it."""
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    before = len(owner.texts())
    await owner.send_album([PNG, PNG], caption="卫生间天花板渗水，见照片")
    asked = [t for t in owner.texts()[before:] if "紧急吗" in t]
    assert len(asked) == 1 and "已记录描述和照片" in asked[0]
    await owner.tap("🚨 紧急")
    case = await latest_case(world)
    assert case.urgent and case.description == "卫生间天花板渗水，见照片"
    assert len(await services_of(world).cases.photos(case.id)) == 2


async def test_b3_text_where_the_callback_is_asked_points_to_the_question(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """B-3: an owner who types instead of tapping the callback's buttons is told which
    question waits for them, not that they were not understood."""
    await described(owner)
    await owner.tap("普通")
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=groups["cs"])
    case = await latest_case(world)
    await owner.send("师傅下午来过了")  # no answer to the question: the hint
    assert case.number in owner.last_text and "点击那条消息下方的按钮" in owner.last_text


async def test_q2_a_crash_while_filing_leaves_the_buttons_to_press_again(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Save first, then edit: had the bot died while filing, the urgency question keeps its
    buttons (they were not edited away first), and pressing again files the case once."""
    from handlers import steps

    await described(owner)
    real_file = steps.file

    async def dies(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(steps, "file", real_file)  # the next try runs as normal
        raise RuntimeError("the process died here")

    monkeypatch.setattr(steps, "file", dies)
    question = next(m for m in reversed(owner.messages()) if "紧急吗" in m.get("text", ""))
    with contextlib.suppress(RuntimeError):
        await owner.tap("普通")
    still = next(m for m in owner.messages() if m["message_id"] == question["message_id"])
    assert still.get("reply_markup"), "the buttons are still there to press"
    await owner.tap("普通")
    rows = await world.db.fetchall("SELECT number FROM cases")
    assert len(rows) == 1 and rows[0]["number"] in owner.last_text


async def test_q2_a_draft_is_filed_once(world: World, bot: Harness, owner: Person) -> None:
    """The draft's key: filing it again (a press after a crash) finds the case filed."""
    from procedures.cases import Kind
    from procedures.decisions import Decision
    from storage.cases import NewCase

    svc = services_of(world)
    estate = await svc.identity.estate_by_name("阳光花园")
    assert estate is not None
    new = NewCase(estate.id, Kind.REQUEST, "repairs", "漏水", draft_key="8001:42")
    first = await svc.cases.file(new, svc.clock.now(), lambda c: Decision(), actor="test")
    again = await svc.cases.file(new, svc.clock.now(), lambda c: Decision(), actor="test")
    assert again.id == first.id and again.number == first.number
    rows = await world.db.fetchall("SELECT id FROM cases")
    assert len(rows) == 1
