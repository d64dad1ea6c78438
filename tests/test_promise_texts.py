"""What a promised time is called: a complaint's is its next reply time (C-1), never a
completion time, on its cards, the refusal to move it and the /case timeline, in each
language; a request's stays the time it will be handled by (Q-4)."""

from __future__ import annotations

from tests.conftest import World
from tests.support.cases import file_complaint, file_request, latest_case
from tests.support.telegram import Group, Harness, Person


async def test_c1_a_complaints_promise_reads_as_the_next_reply_time_everywhere(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    cs, assistant = groups["cs"], bot.person(9001, "周晓梅")
    await file_complaint(owner)
    case = await latest_case(world)
    await assistant.tap("⏰ 约定下次答复时间", chat=cs)
    await assistant.tap("今天 18:00 前", chat=cs)
    card = next(m["text"] for m in cs.messages() if case.number in m.get("text", ""))
    assert "下次答复：" in card and "约定完成" not in card
    assert "再次答复您" in owner.last_text  # the resident is told so already
    await assistant.tap("⏰ 约定下次答复时间", chat=cs)  # still running: not theirs to move
    refused = bot.api.calls_of("answerCallbackQuery")[-1].params["text"]
    assert "已经约定过下次答复时间" in refused and "完成时间" not in refused
    await assistant.send(f"/case {case.number}")
    assert "约定下次答复时间：" in assistant.last_text
    assert "约定完成时间" not in assistant.last_text


async def test_c1_in_english_and_traditional_chinese_too(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    cs = groups["cs"]
    await file_complaint(owner)
    case = await latest_case(world)
    await bot.person(9001, "周晓梅").tap("⏰ 约定下次答复时间", chat=cs)
    await bot.person(9001, "周晓梅").tap("今天 18:00 前", chat=cs)
    for language, said in (("en", "next reply time fixed"), ("zh-hant", "約定下次答覆時間")):
        supervisor = bot.person(9002, "吴建国", language_code=language)
        await supervisor.send("/lang")
        await supervisor.tap("English" if language == "en" else "繁體中文")
        await supervisor.send(f"/case {case.number}")
        assert said in supervisor.last_text
        assert ("Next reply by:" if language == "en" else "下次答覆：") in supervisor.last_text


async def test_q4_a_requests_promise_is_still_the_time_it_is_handled_by(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    cs, assistant = groups["cs"], bot.person(9001, "周晓梅")
    await file_request(owner)
    case = await latest_case(world)
    await assistant.tap("⏰ 约定完成时间", chat=cs)
    await assistant.tap("今天 18:00 前", chat=cs)
    card = next(m["text"] for m in cs.messages() if case.number in m.get("text", ""))
    assert "约定完成：" in card and "下次答复" not in card
    await assistant.send(f"/case {case.number}")
    assert "约定完成时间：" in assistant.last_text


async def test_c1_the_departments_card_of_a_complaint_fixes_the_next_reply_time(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The department's card names its promise button as the first responder's does: for a
    complaint, the next reply time."""
    await file_complaint(owner)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    assert groups["eng"].buttons() == ["🙋 接单", "⏰ 约定下次答复时间", "✍️ 回复业主"]
    await engineer.tap("🙋 接单", chat=groups["eng"])
    assert groups["eng"].buttons() == ["✅ 已完成", "⏰ 约定下次答复时间", "✍️ 回复业主"]
    await engineer.tap("⏰ 约定下次答复时间", chat=groups["eng"])
    await engineer.tap("今天 18:00 前", chat=groups["eng"])
    assert "再次答复您" in owner.last_text
