"""B-3 typed instead of tapped: a resident who writes the answer to the callback ("解决了",
"没解决", "四星", "⭐⭐⭐⭐", "满意") is understood as if they had tapped its button; anything
else, or an answer that could be for either of two cases, gets the hint naming the buttons."""

from __future__ import annotations

from tests.conftest import OWNER_PHONE, World
from tests.support.cases import file_request, latest_case
from tests.support.telegram import Group, Harness, Person


async def resolved_on_the_spot(bot: Harness, cs: Group, owner: Person) -> None:
    """The owner's request resolved by customer service: the callback asks the owner."""
    await file_request(owner)
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=cs)


async def satisfaction(world: World) -> int | None:
    row = await world.db.fetchone("SELECT satisfaction FROM cases ORDER BY id DESC LIMIT 1")
    assert row is not None
    return row["satisfaction"]  # type: ignore[no-any-return]


async def test_b3_solved_typed_asks_the_stars_and_four_stars_typed_closes_the_case(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await resolved_on_the_spot(bot, cs, owner)
    await owner.send("解决了")
    assert "请打分" in owner.last_text and owner.buttons()[-1] == "⭐⭐⭐⭐⭐"
    await owner.send("解决了")  # at the stars, "solved" again is no score: the stars named
    assert "“⭐”、“⭐⭐”" in owner.last_text and (await latest_case(world)).status == "done"
    await owner.send("四星")
    case = await latest_case(world)
    assert case.status == "closed" and await satisfaction(world) == 4
    assert "已结案" in owner.texts()[-2] and "» ⭐⭐⭐⭐" in owner.texts()[-2]
    assert "还有其他意见或建议吗" in owner.last_text  # B-3's last question, as after a tap
    assert "评价：⭐⭐⭐⭐（满意）" in cs.last_text  # customer service's card follows


async def test_b3_not_solved_typed_reopens_the_case(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await resolved_on_the_spot(bot, cs, owner)
    await owner.send("没解决！")
    case = await latest_case(world)
    assert case.status == "new" and "重新安排处理" in owner.texts()[-2]
    assert "业主不满意" in cs.last_text


async def test_b3_stars_typed_at_the_first_question_are_solved_with_that_score(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await resolved_on_the_spot(bot, cs, owner)
    await owner.send("⭐⭐⭐⭐⭐")
    assert (await latest_case(world)).status == "closed" and await satisfaction(world) == 5
    await owner.tap("✅ 已解决")  # the question's old button: answered already
    assert (await latest_case(world)).status == "closed" and await satisfaction(world) == 5


async def test_b3_satisfaction_words_are_the_five_point_scale(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await resolved_on_the_spot(bot, cs, owner)
    await owner.tap("✅ 已解决")
    await owner.send("满意")
    assert (await latest_case(world)).status == "closed" and await satisfaction(world) == 4


async def test_b3_text_that_is_no_answer_names_the_buttons_and_changes_nothing(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await resolved_on_the_spot(bot, cs, owner)
    await owner.send("还没解决，水还在漏")  # more than an answer: a person reads it
    assert "“✅ 已解决”、“❌ 没有解决”" in owner.last_text
    assert (await latest_case(world)).status == "done"


async def test_b3_an_answer_that_could_be_for_two_cases_is_not_guessed(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    await resolved_on_the_spot(bot, cs, owner)
    await resolved_on_the_spot(bot, cs, owner)
    await owner.send("解决了")
    assert "点击那条消息下方的按钮" in owner.last_text
    rows = await world.db.fetchall("SELECT status FROM cases")
    assert [r["status"] for r in rows] == ["done", "done"]


async def test_b3_an_english_resident_types_yes_and_a_number(
    world: World, bot: Harness, cs: Group
) -> None:
    owner = bot.person(2001, "Wang Wei", phone=OWNER_PHONE, language_code="en")
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("/request")
    await owner.tap("Repairs")
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("The kitchen tap is leaking")
    await owner.tap("Normal")
    case = await latest_case(world)
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=cs)
    await owner.send("thanks")
    assert "“✅ Solved”, “❌ Not solved”" in owner.last_text
    await owner.send("Yes")
    assert "How satisfied" in owner.last_text
    await owner.send("4 stars")
    assert (await latest_case(world)).status == "closed" and await satisfaction(world) == 4
    assert f"Case {case.number} is closed" in owner.texts()[-2]


async def test_b3_a_reply_to_anything_more_after_a_command_is_still_the_comment(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """The owner looks at /my before answering "anything more?": their next plain message
    is no longer taken as the comment, but a reply to the question still is."""
    await resolved_on_the_spot(bot, cs, owner)
    await owner.send("⭐⭐⭐⭐⭐")
    [asked] = [m for m in owner.messages() if "还有其他意见或建议吗" in str(m.get("text"))]
    await owner.send("/my")
    await owner.reply_to(asked["message_id"], "师傅很细心，谢谢")
    assert "已收到您的意见" in owner.last_text
    case = await latest_case(world)
    row = await world.db.fetchone(
        "SELECT data FROM audit WHERE subject = ? AND event = 'case.comment'", (f"case:{case.id}",)
    )
    assert row is not None  # kept with the case (the text itself as personal data)
