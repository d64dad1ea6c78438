"""Wrong input gets a useful answer: what people type is made plain before it is matched or
kept, text where a button is asked names the buttons, and a flow is not dropped silently."""

from __future__ import annotations

import pytest
from telegram import Bot, Update

from bot.updates import plain_text, plain_update
from procedures.typed import clean
from tests.conftest import OWNER_PHONE, TOKEN, World
from tests.support.app import services_of
from tests.support.cases import latest_case
from tests.support.telegram import Group, Harness, Person

#: A phone on no roster: its owner types their unit and customer service verifies it.
UNKNOWN_PHONE = "8613700000000"
ZWSP, RLO, PDF, BOM, LRM = "\u200b", "\u202e", "\u202c", "\ufeff", "\u200e"


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        (f"3栋{ZWSP}602", "3栋602"),
        ("３栋 ６０２", "3栋 602"),  # a Chinese input method's full-width digits
        (f"{BOM}水管{RLO}漏了{PDF}，地面积水", "水管漏了，地面积水"),  # Chinese punctuation kept
        (f"XQ-２０２６{LRM}1127", "XQ-20261127"),
        ("维修师傅🧑\u200d🔧很专业", "维修师傅🧑\u200d🔧很专业"),  # an emoji's joiner stays
        ("٣ and ३", "3 and 3"),  # any script's decimal digits
    ],
)
def test_typed_text_is_made_plain(typed: str, plain: str) -> None:
    assert clean(typed) == plain


def test_entities_move_with_the_text_they_mark() -> None:
    """Telegram counts entities in UTF-16 units: a removed character before an entity moves
    it, one inside shortens it, an emoji (two units) before it is counted right."""
    text = f"👍{ZWSP}/case{ZWSP} XQ"
    plain, where = plain_text(text)
    assert plain == "👍/case XQ"
    assert (where[3], where[8]) == (2, 7)  # "/case" was at 3..8, now at 2..7
    message = {
        "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
        "text": f"{ZWSP}/case XQ-２０２６",
        "entities": [{"type": "bot_command", "offset": 1, "length": 5}],
    }  # fmt: skip
    update = Update.de_json({"update_id": 1, "message": message}, Bot(TOKEN))
    made = plain_update(update, Bot(TOKEN))
    assert isinstance(made, Update) and made.message is not None
    assert made.message.text == "/case XQ-2026"
    assert [(e.offset, e.length) for e in made.message.entities] == [(0, 5)]
    untouched = Update.de_json({"update_id": 2}, Bot(TOKEN))
    assert plain_update(untouched, Bot(TOKEN)) is untouched


async def test_h1_a_unit_typed_with_a_hidden_character_is_found(world: World, bot: Harness) -> None:
    """H-1: a zero-width space pasted into the unit does not hide 3栋 602."""
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send(f"3栋{ZWSP} 6０2")
    assert "3栋 602" in owner.last_text and "已将您的申请" in owner.last_text


async def test_q2_a_description_is_kept_plain_and_its_number_found_as_typed(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-2: what is recorded is what the resident meant: no control character that turns
    the text around on staff's cards; and /case finds a number typed with full-width
    digits, in lower case."""
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send(f"{BOM}厨房水管{RLO}漏水{PDF}，１号阀门{ZWSP}坏了")
    await owner.tap("普通")
    case = await latest_case(world)
    assert case.description == "厨房水管漏水，1号阀门坏了"
    assert RLO not in groups["cs"].last_text
    wide = case.number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assistant = bot.person(9001, "周晓梅")
    await assistant.send(f"/case {wide.lower()}")
    assert "处理记录" in assistant.last_text and case.number in assistant.last_text


# --- text where a button is asked ----------------------------------------------------------


async def test_q2_typed_names_are_the_choices_and_anything_else_is_told_the_buttons(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-2: where the category or the unit is asked, its name typed is the answer (as typed
    紧急 is at the urgency question); anything else is told which buttons there are."""
    await owner.send("/request")
    await owner.send("水管漏了")
    assert "请点按钮选择：“报修”、“保洁”" in owner.last_text and "/cancel" in owner.last_text
    await owner.send("报修")
    assert "“阳光花园 · 1栋 101”" not in owner.last_text  # understood: the unit is asked
    assert owner.texts()[-2] == "类别：报修" and "哪一套房屋" in owner.last_text
    await owner.send("5栋 101")  # not one of theirs
    assert "“阳光花园 · 1栋 101”、“阳光花园 · 2栋 101”" in owner.last_text
    await owner.send("101")  # both of theirs are 101: which one?
    assert "“阳光花园 · 1栋 101”、“阳光花园 · 2栋 101”" in owner.last_text
    await owner.send("2栋 101")
    assert owner.texts()[-2] == "房屋：2栋 101" and "请描述情况" in owner.last_text
    await owner.send("电梯门关不上")
    await owner.send("🚨 紧急")  # the button's own text, typed
    case = await latest_case(world)
    assert (case.category, case.urgent, case.description) == ("repairs", True, "电梯门关不上")
    assert case.unit_id is not None and case.number in owner.last_text


async def test_q2_the_hint_and_the_typed_name_are_in_the_residents_language(
    world: World, bot: Harness, groups: dict[str, Group]
) -> None:
    owner = bot.person(2001, "Wang Wei", phone=OWNER_PHONE, language_code="en")
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("/complain")
    await owner.send("help")
    assert "Please choose with a button: “Repairs”, “Cleaning”" in owner.last_text
    await owner.send("noise")
    assert owner.texts()[-2] == "Category: Noise"


async def test_h1_an_estate_typed_is_the_choice_and_other_text_names_the_estates(
    world: World, bot: Harness
) -> None:
    await services_of(world).identity.ensure_estate("翠湖苑")
    owner = bot.person(2100, "刘洋", phone=UNKNOWN_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("3栋 602")  # the estate is asked first
    assert "请点按钮选择：“翠湖苑”、“阳光花园”" in owner.last_text
    await owner.send("阳光花园")
    assert "请输入您在 阳光花园 的房号" in owner.last_text
    await owner.send("3栋 602")
    assert "已将您的申请" in owner.last_text


async def test_v4_text_at_a_button_step_of_record_names_the_buttons(
    world: World, bot: Harness, groups: dict[str, Group]
) -> None:
    assistant = bot.person(9001, "周晓梅")
    await assistant.send("/record")
    await assistant.send("来电")
    assert assistant.last_text.startswith("请点按钮选择：“📞 来电”、“🚶 来访”")
    assert assistant.buttons() == ["📞 来电", "🚶 来访"]  # asked again, under the hint


async def test_b3_text_while_the_callback_waits_names_its_buttons(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """B-3: the resident types instead of tapping: told which buttons, the stars once they
    said it is solved."""
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("楼道灯不亮")
    await owner.tap("普通")
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=groups["cs"])
    await owner.send("好的")
    assert "“✅ 已解决”、“❌ 没有解决”" in owner.last_text
    await owner.tap("✅ 已解决")
    await owner.send("好的")
    assert "“⭐”、“⭐⭐”" in owner.last_text and "“⭐⭐⭐⭐⭐”" in owner.last_text


# --- another flow typed half-way ---------------------------------------------------------


async def test_q2_complain_typed_while_filing_a_request_asks_before_dropping_it(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-2: /complain half-way through /request asks: drop the request, or go on with it.
    Going on loses nothing; dropping starts the complaint."""
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("厨房水管漏水")
    await owner.send("/complain")
    assert "您正在填写的报事（报修）还没有提交。要放弃它，改为投诉吗？" in owner.last_text
    assert owner.buttons() == ["🗑 放弃，改为投诉", "✏️ 继续填写报事（报修）"]
    await owner.tap("✏️ 继续填写报事（报修）")
    assert "请继续填写报事（报修）" in owner.last_text
    await owner.tap("普通")  # the urgency question, still above
    filed = await latest_case(world)
    assert (filed.kind, filed.description) == ("request", "厨房水管漏水")

    await owner.send("/request")
    await owner.tap("保洁")
    await owner.send("/complain")
    await owner.tap("🗑 放弃，改为投诉")
    assert "已放弃报事（保洁）" in owner.texts()[-2] and "投诉" in owner.last_text
    await owner.tap("噪音")
    await owner.tap("阳光花园 · 2栋 101")
    await owner.send("楼上夜里装修")
    await owner.tap("普通")
    complaint = await latest_case(world)
    assert complaint.kind == "complaint" and complaint.id != filed.id


async def test_q2_a_command_before_anything_was_given_just_switches(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await owner.send("/request")
    await owner.send("/complain")  # nothing chosen yet: nothing to lose
    assert "我们会认真对待每一条投诉" in owner.last_text
    await owner.send("/complain")
    await owner.tap("噪音")
    await owner.send("/complain")  # the same flow again, with a choice made: asked
    assert "要放弃它，重新开始吗？" in owner.last_text
    await owner.tap("🗑 放弃，重新开始")
    assert "我们会认真对待每一条投诉" in owner.last_text


async def test_q2_a_draft_filed_already_is_not_asked_about(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """A crash just after filing can leave the filed draft in the person's data: the next
    /complain starts at once, with nothing to drop."""
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("厨房水管漏水")
    draft = dict(bot.application.user_data[owner.user_id]["case"])
    await owner.tap("普通")
    bot.application.user_data[owner.user_id]["case"] = draft  # as the crash left it
    await owner.send("/complain")
    assert "我们会认真对待每一条投诉" in owner.last_text
