"""A double tap, or a tap on a stale card, changes nothing the second time: one notice to
the owner, one card to the department, one audit event — and the presser is told."""

from __future__ import annotations

from tests.conftest import World
from tests.support.cases import file_request, latest_case
from tests.support.telegram import Group, Harness, Person


async def events(world: World, case_id: int, name: str) -> int:
    row = await world.db.fetchone(
        "SELECT COUNT(*) FROM audit WHERE subject = ? AND event = ?", (f"case:{case_id}", name)
    )
    return int(row[0]) if row else 0


async def test_q1_referring_twice_refers_once(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    case = await latest_case(world)
    assistant, cs, eng = bot.person(9001, "周晓梅"), groups["cs"], groups["eng"]
    card = cs.messages()[-1]["message_id"]
    for _ in range(2):  # the same button, pressed again on the same card
        await assistant.tap_data(f"rq:to:{case.id}:engineering", chat=cs, message_id=card)
    assert await events(world, case.id, "case.refer") == 1
    assert sum("转交本部门" in t for t in eng.texts()) == 1
    assert sum("已转交 工程部" in t for t in owner.texts()) == 1
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert answer.get("show_alert") and "已经有人处理过了" in answer["text"]


async def test_q4_taking_twice_takes_once(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_request(owner)
    case = await latest_case(world)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    card = groups["eng"].messages()[-1]["message_id"]
    for _ in range(2):
        await engineer.tap_data(f"rq:take:{case.id}", chat=groups["eng"], message_id=card)
    assert await events(world, case.id, "case.take") == 1
    assert sum("接单处理" in t for t in owner.texts()) == 1
    # a card under the earlier version's data is answered the same way
    await engineer.tap_data(f"dp:take:{case.id}", chat=groups["eng"], message_id=card)
    assert await events(world, case.id, "case.take") == 1


async def test_v2_escalating_twice_tells_the_superior_once(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """V-2, C-3: the second press (same card, or a stale one) reports nothing again; the
    case is urgent from the first, and its card no longer offers the button."""
    await file_request(owner)
    case = await latest_case(world)
    assistant, cs = bot.person(9001, "周晓梅"), groups["cs"]
    card = cs.messages()[-1]["message_id"]
    for _ in range(2):
        await assistant.tap_data(f"rq:escalate:{case.id}", chat=cs, message_id=card)
    assert await events(world, case.id, "case.escalate") == 1
    assert (await latest_case(world)).urgent
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert answer.get("show_alert") and "已经有人处理过了" in answer["text"]
    assert "🚨 上报（重大/紧急）" not in cs.buttons()


async def test_q4_a_card_telegram_would_not_edit_is_edited_once_it_recovers(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-4: a 500 on the edit after 接单 leaves no card offering a step that is over: the
    edit waits in the outbox and the card shows 已完成 once Telegram takes it."""
    from tests.support.app import services_of

    await file_request(owner)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    bot.api.fail_next("editMessageText", 500, "Internal Server Error")
    await engineer.tap("🙋 接单", chat=groups["eng"])
    await services_of(world).sender.drain()
    buttons = groups["eng"].buttons()
    assert "🙋 接单" not in buttons and "✅ 已完成" in buttons
    edits = await world.db.fetchall("SELECT state FROM outbox WHERE kind = 'edit'")
    assert edits and {r["state"] for r in edits} <= {"sent", "superseded"}  # carried
