"""Cards stay true: every card posted about a case — the first responder's in customer
service's group, the department's, the owner's receipt — is redrawn (an outbox edit) on each
step, so no chat shows an old status or buttons of a step that is over (Q-1, Q-4)."""

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


def entities(message: dict[str, Any]) -> set[str]:
    """The kinds of formatting a message carries (bold, strikethrough…)."""
    return {str(e["type"]) for e in message.get("entities", [])}


def buttons_of(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b["text"] for row in rows for b in row]


async def test_q4_every_card_of_a_case_follows_it_in_every_chat(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    case = await latest_case(world)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    await engineer.tap("🙋 接单", chat=groups["eng"])
    # customer service's card (pressed before the take) now says who took it
    first = card_in(groups["cs"], case.number, "🆕")
    assert "处理中" in first["text"] and "郑海" in first["text"]
    assert buttons_of(first) == ["⏰ 约定完成时间"]  # the first responder may promise
    receipt = card_in(owner, case.number, "✅ 已受理")  # the owner's receipt, too
    assert "处理中" in receipt["text"]
    await engineer.tap("⏰ 约定完成时间", chat=groups["eng"])
    await engineer.tap("明天 12:00 前", chat=groups["eng"])
    first = card_in(groups["cs"], case.number, "🆕")
    assert "约定完成" in first["text"]
    await engineer.tap("✅ 已完成", chat=groups["eng"])
    department = card_in(groups["eng"], case.number, "📥")
    assert "已完成" in department["text"] and buttons_of(department) == []
    assert "已完成" in card_in(groups["cs"], case.number, "🆕")["text"]
    assert "已完成" in card_in(owner, case.number, "✅ 已受理")["text"]


async def test_q1_a_card_whose_step_someone_else_took_loses_its_buttons(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-1: two first responders' chats (the group's card and a supervisor's alert): once
    the case is referred from one, the other's buttons go."""
    supervisor = bot.person(9002, "吴建国")
    await supervisor.send("/start")
    await file_request(owner, urgent=True)
    case = await latest_case(world)
    alert = next(m for m in supervisor.messages() if case.number in m.get("text", ""))
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    alert = next(m for m in supervisor.messages() if m["message_id"] == alert["message_id"])
    assert "已转交" in alert["text"]
    rows = await world.db.fetchall("SELECT state FROM outbox WHERE kind = 'edit'")
    assert rows and all(r["state"] in ("sent", "superseded") for r in rows)


async def test_q1_a_cards_instruction_is_struck_through_once_its_step_is_over(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """A card's head asks for a step ("请在 10 分钟内处理或转交", "请接单"): once a button it
    offered is gone, the step is done and the head is struck through, so no chat list shows
    an instruction that no longer applies; a card whose steps are all still there keeps
    its head as it was."""
    await file_request(owner)
    case = await latest_case(world)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    first = card_in(groups["cs"], case.number, "🆕")
    assert "strikethrough" not in entities(first)
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    first = card_in(groups["cs"], case.number, "🆕")
    struck = [e for e in first["entities"] if e["type"] == "strikethrough"]
    assert struck and struck[0]["offset"] == 0  # the head, at the top
    department = card_in(groups["eng"], case.number, "📥")
    assert "strikethrough" not in entities(department)  # 接单 is still to do
    await engineer.tap("🙋 接单", chat=groups["eng"])
    department = card_in(groups["eng"], case.number, "📥")
    assert "strikethrough" in entities(department)
