"""Staff see the resident's rating (B-3) on the case's cards: customer service's card in its
group and the department's card are redrawn with it once the callback is answered; the
resident's own receipt does not repeat it."""

from __future__ import annotations

from typing import Any

from tests.conftest import World
from tests.support.cases import file_request, latest_case
from tests.support.telegram import Group, Harness, Person


def card_in(chat: Group | Person, number: str, head: str) -> dict[str, Any]:
    """The message in ``chat`` about case ``number`` that starts with ``head``, as it reads now."""
    return next(
        m for m in chat.messages()
        if number in m.get("text", "") and m.get("text", "").startswith(head)
    )  # fmt: skip


async def handled_by_engineering(bot: Harness, groups: dict[str, Group], owner: Person) -> None:
    """The owner's request referred to engineering, taken and done: the callback is asked."""
    await file_request(owner)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    await engineer.tap("🙋 接单", chat=groups["eng"])
    await engineer.tap("✅ 已完成", chat=groups["eng"])


async def test_b3_four_stars_show_on_customer_services_and_the_departments_cards(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await handled_by_engineering(bot, groups, owner)
    case = await latest_case(world)
    assert "评价" not in card_in(groups["cs"], case.number, "🆕")["text"]
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐⭐⭐")
    assert "评价：⭐⭐⭐⭐（满意）" in card_in(groups["cs"], case.number, "🆕")["text"]
    assert "评价：⭐⭐⭐⭐（满意）" in card_in(groups["eng"], case.number, "📥")["text"]
    assert "评价" not in card_in(owner, case.number, "✅ 已受理")["text"]


async def test_b3_two_stars_read_unsatisfied(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Two stars or less is unsatisfied: the case reopens and its card says so."""
    await handled_by_engineering(bot, groups, owner)
    case = await latest_case(world)
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐")
    assert "评价：⭐⭐（不满意）" in card_in(groups["cs"], case.number, "🆕")["text"]


async def test_b3_not_solved_shows_on_both_cards(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The answer "❌ 没有解决" is a callback recorded without a score: the cards say so."""
    await handled_by_engineering(bot, groups, owner)
    case = await latest_case(world)
    await owner.tap("❌ 没有解决")
    assert "评价：未解决" in card_in(groups["cs"], case.number, "🆕")["text"]
    assert "评价：未解决" in card_in(groups["eng"], case.number, "📥")["text"]
