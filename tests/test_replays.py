"""What the inbox's replay does to the main steps: an update whose change was saved but which
was not yet marked handled when the process died comes again after the restart.

Two moments of the crash are played: *saved* — the step's change and the conversation's
state were both written (only the mark was missing), so the update meets the state after
it; *half-saved* — the change was written, the conversation's state not yet (it is written
at the end of the update, after the step's answers went to Telegram), so the step runs
again from where it was. Either way nothing is filed, recorded or told twice, and nobody
gets an apology; at most the step's own answer comes again.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.conftest import OWNER_PHONE, World
from tests.support.telegram import Group, Harness, Person

JSONDict = dict[str, Any]
APOLOGY = "抱歉，系统处理时出了点问题"
Snapshot = list[tuple[str, list[tuple[Any, ...]]]]


@pytest.fixture
def played(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> list[JSONDict]:
    """Every update the test's people sent, as the bot received it (for a replay)."""
    updates: list[JSONDict] = []
    process = bot.process

    async def recording(update: JSONDict) -> None:
        updates.append(copy.deepcopy(update))
        await process(update)

    monkeypatch.setattr(bot, "process", recording)
    return updates


async def conversations(world: World) -> Snapshot:
    """The conversation states and user data as stored now."""
    found = []
    for table in ("ptb_conversations", "ptb_data"):
        rows = await world.db.fetchall(f"SELECT * FROM {table}")
        found.append((table, [tuple(r) for r in rows]))
    return found


async def die_before_the_state_is_written(world: World, before: Snapshot) -> None:
    """The step's change is in the database, the conversation's state is as it was before
    the step (``before``): the process dies; a new one starts on the same database."""
    async with world.db.write() as conn:
        for table, rows in before:
            await conn.execute(f"DELETE FROM {table}")
            for row in rows:
                marks = ", ".join("?" * len(row))
                await conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)
    await world.crash_and_restart()


async def replay(bot: Harness, update: JSONDict) -> None:
    """The update comes again, as the inbox's start-up hands it out; no error may escape."""
    await bot.process(copy.deepcopy(update))
    assert bot.take_errors() == []


async def count(world: World, sql: str, *params: object) -> int:
    row = await world.db.fetchone(sql, params)
    assert row is not None
    return int(row[0])


async def events(world: World, name: str) -> int:
    return await count(world, "SELECT COUNT(*) FROM audit WHERE event = ?", name)


def texts(chat: Person | Group, since: int) -> str:
    return "\n".join(chat.texts(since))


@pytest.mark.parametrize("moment", ["saved", "half-saved"])
async def test_a_request_filed_then_replayed_is_filed_once_and_told_once(
    world: World, bot: Harness, owner: Person, cs: Group, played: list[JSONDict], moment: str
) -> None:
    """The urgency press files the case; handled again, it files nothing (the draft's key),
    tells nobody again, and the press Telegram no longer lets the bot answer goes on."""
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("厨房水管漏水")
    before = await conversations(world)
    await owner.tap("普通")
    assert "已受理" in owner.last_text
    mark, card = owner.mark(), cs.mark()
    if moment == "half-saved":
        await die_before_the_state_is_written(world, before)
    await replay(bot, played[-1])
    assert await count(world, "SELECT COUNT(*) FROM cases") == 1
    assert await events(world, "case.filed") == 1
    assert owner.texts(mark) == [] and cs.texts(card) == []  # not told again, no apology


@pytest.mark.parametrize("flow", ["record", "visit"])
async def test_a_call_or_visit_recorded_then_replayed_is_recorded_once(
    world: World, bot: Harness, played: list[JSONDict], flow: str
) -> None:
    """/record and /visit carry a draft key too: the last press, handled again before the
    flow's state was written, finds its case instead of filing a second one."""
    assistant = bot.person(9001, "周晓梅")
    if flow == "record":
        await assistant.send("/record")
        await assistant.tap("📞 来电")
        await assistant.send("李女士")
        await assistant.send("138 0013 8000")
        await assistant.send("3栋 502")
        await assistant.tap("报事")
        await assistant.tap("保洁")
        await assistant.send("3 号楼楼道灯坏了三天")
        before = await conversations(world)
        await assistant.tap("普通")
    else:
        await assistant.send("/visit")
        await assistant.tap("🏠 上门")
        await assistant.send("1栋 102")
        await assistant.send("对保洁很满意")
        before = await conversations(world)
        await assistant.tap("⭐⭐⭐⭐")
    number = (await world.db.fetchone("SELECT number FROM cases"))["number"]  # type: ignore[index]
    assert number in assistant.last_text
    mark = assistant.mark()
    await die_before_the_state_is_written(world, before)
    await replay(bot, played[-1])
    assert await count(world, "SELECT COUNT(*) FROM cases") == 1
    assert APOLOGY not in texts(assistant, mark)
    assert all(number in t for t in assistant.texts(mark))  # at most the same answer again


async def test_a_staff_button_replayed_changes_nothing(
    world: World, bot: Harness, owner: Person, groups: dict[str, Group], played: list[JSONDict]
) -> None:
    """A press handled again is a second press: refused as such (the case moved on), so
    one take, one notice to the owner."""
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("楼道灯不亮")
    await owner.tap("普通")
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    engineer = bot.person(9003, "郑海")
    await engineer.tap("🙋 接单", chat=groups["eng"])
    assert "接单处理" in owner.last_text
    mark, eng = owner.mark(), groups["eng"].mark()
    await replay(bot, played[-1])
    assert await events(world, "case.take") == 1
    assert owner.texts(mark) == []
    assert APOLOGY not in texts(groups["eng"], eng)


@pytest.mark.parametrize("moment", ["saved", "half-saved"])
async def test_registration_replayed_binds_once(
    world: World, bot: Harness, played: list[JSONDict], moment: str
) -> None:
    """Sharing the contact binds the owner's units; handled again it binds nothing twice.
    Half-saved, the step runs again and its welcome comes again; saved, the contact meets
    a finished registration and gets the hint any stray message gets."""
    person = bot.person(2001, "王伟", phone=OWNER_PHONE)
    await person.send("/start")
    before = await conversations(world)
    await person.share_contact()
    assert "身份验证成功" in texts(person, 0)
    bound = await events(world, "owner.bound")
    mark = person.mark()
    if moment == "half-saved":
        await die_before_the_state_is_written(world, before)
    await replay(bot, played[-1])
    assert await events(world, "owner.bound") == bound
    again = texts(person, mark)
    assert APOLOGY not in again
    assert ("身份验证成功" in again) == (moment == "half-saved")


async def test_a_progress_reply_marks_its_update_handled_with_the_step(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person,
    played: list[JSONDict],
) -> None:  # fmt: skip
    """A department's typed reply to a card has no draft to recognise itself by: its
    update is marked handled in the step's own transaction, so a crash after the change
    was saved leaves nothing to replay, and the owner is told once."""
    from storage.inbox import HANDLING, InboxStore
    from tests.support.cases import file_request, latest_case

    await file_request(owner)
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    card = groups["eng"].messages()[-1]["message_id"]
    inbox = InboxStore(world.db)
    process = bot.process

    async def through_the_inbox(update: JSONDict) -> None:  # as the bot's processor does
        await inbox.admit([(update["update_id"], json.dumps(update))])
        token = HANDLING.set(update["update_id"])
        try:
            await process(update)
        finally:
            HANDLING.reset(token)

    bot.process = through_the_inbox  # type: ignore[method-assign,assignment]
    await engineer.reply_to(card, "已到现场", chat=groups["eng"])
    assert [s.update_id for s in await inbox.unhandled()] == []
    case = await latest_case(world)
    assert await count(world, "SELECT COUNT(*) FROM audit WHERE event = 'case.update'"
                       " AND subject = ?", f"case:{case.id}") == 1  # fmt: skip
    assert sum("已到现场" in t for t in owner.texts()) == 1
