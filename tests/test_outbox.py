"""The outbox: every notification is delivered exactly once, in order, through Telegram's
failures (429, 5xx, timeouts, a blocked resident, an upgraded group). Rule: DESIGN's outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiosqlite
import pytest
from telegram import Bot
from telegram.error import TimedOut

from bot.outbox import OutboxSender, backoff
from storage.clock import ManualClock
from storage.db import Database
from storage.outbox import OutboxMessage, OutboxStore, enqueue
from tests.conftest import TOKEN
from tests.support.cases import PNG
from tests.support.telegram import FakeBotApi

RESIDENT = 2001
GROUP = -300


@pytest.fixture
def api() -> FakeBotApi:
    fake = FakeBotApi()
    fake.world.add_user(RESIDENT, "王伟")
    fake.world.add_group("客服中心", [], chat_id=GROUP, announce=False)
    return fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, request=api, get_updates_request=api) as b:
        yield b


async def queue(db: Database, chat_id: int, *texts: str, case_id: int | None = None) -> None:
    async with db.write() as conn:
        for text in texts:
            await enqueue(conn, chat_id, text, person_id=None, case_id=case_id)


def delivered(api: FakeBotApi, chat_id: int) -> list[str]:
    return [str(m.get("text")) for m in api.messages(chat_id)]


async def test_messages_go_out_in_order_and_are_marked_sent(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    await queue(db, RESIDENT, "一", "二", "三")
    sender = OutboxSender(db, bot)
    assert await sender.drain() == 3
    assert delivered(api, RESIDENT) == ["一", "二", "三"]
    assert await OutboxStore(db).pending_count() == 0
    assert await sender.drain() == 0  # nothing is sent twice


async def test_a_429_waits_as_long_as_telegram_asks(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    await queue(db, RESIDENT, "一", "二")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    sender = OutboxSender(db, bot)
    await sender.drain()
    assert delivered(api, RESIDENT) == []  # "二" waits behind "一": order is kept
    clock.advance(29)
    await sender.drain()
    assert delivered(api, RESIDENT) == []
    clock.advance(1)
    await sender.drain()
    assert delivered(api, RESIDENT) == ["一", "二"]


async def test_a_429_is_never_tried_again_before_its_time_in_the_middle_of_a_second(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    """Stored times keep whole seconds: the time to try again is rounded up, never cut down
    (a "retry after 30" at 10:00:00.5 came round at 10:00:30, 29.5 s later)."""
    clock.advance(0.5)
    await queue(db, RESIDENT, "一")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    sender = OutboxSender(db, bot)
    await sender.drain()
    clock.advance(29.8)
    await sender.drain()
    assert delivered(api, RESIDENT) == []
    clock.advance(0.7)
    await sender.drain()
    assert delivered(api, RESIDENT) == ["一"]


async def test_5xx_and_timeouts_back_off_and_lose_nothing(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    await queue(db, RESIDENT, "通知")
    api.fail_next("sendMessage", 500, "Internal Server Error", times=2)
    api.raise_next("sendMessage", TimedOut())
    sender = OutboxSender(db, bot)
    for waited in (backoff(0), backoff(1), backoff(2)):
        await sender.drain()
        assert delivered(api, RESIDENT) == []
        clock.advance(waited)
    await sender.drain()
    assert delivered(api, RESIDENT) == ["通知"]
    row = await db.fetchone("SELECT state, attempts FROM outbox")
    assert row is not None and (row["state"], row["attempts"]) == ("sent", 4)


async def test_other_chats_are_not_held_up_by_one_failing(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    await queue(db, RESIDENT, "给业主")
    await queue(db, GROUP, "给客服")
    api.fail_next("sendMessage", 500, "Internal Server Error")
    await OutboxSender(db, bot).drain()
    assert delivered(api, GROUP) == ["给客服"]


async def test_a_resident_who_blocked_the_bot_is_reported_to_staff(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    await queue(db, RESIDENT, "您的报修已受理", case_id=None)
    api.block_chat(RESIDENT)
    seen: list[OutboxMessage] = []

    async def tell_staff(conn: aiosqlite.Connection, message: OutboxMessage) -> None:
        seen.append(message)
        await enqueue(conn, GROUP, "业主已屏蔽机器人，请电话联系")

    await OutboxSender(db, bot, on_blocked=tell_staff).drain()
    assert [m.text for m in seen] == ["您的报修已受理"]
    assert delivered(api, GROUP) == ["业主已屏蔽机器人，请电话联系"]
    row = await db.fetchone("SELECT state FROM outbox WHERE chat_id = ?", (RESIDENT,))
    assert row is not None and row["state"] == "blocked"


async def test_a_bad_request_is_not_retried_forever(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    await queue(db, RESIDENT, "<b>没有闭合的标签", "之后的消息")
    await OutboxSender(db, bot).drain()
    assert delivered(api, RESIDENT) == ["之后的消息"]
    row = await db.fetchone("SELECT state, last_error FROM outbox ORDER BY id LIMIT 1")
    assert row is not None and row["state"] == "failed"
    assert "parse entities" in row["last_error"].lower()


async def test_a_text_longer_than_telegram_takes_arrives_cut(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    await queue(db, RESIDENT, "x" * 5000)
    await OutboxSender(db, bot).drain()
    [text] = delivered(api, RESIDENT)
    assert len(text) == 4096 and text.endswith("…")


async def test_an_upgraded_group_gets_its_queue(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    await queue(db, GROUP, "一", "二")
    api.migrate_chat(GROUP, -1000000000300)
    moved: list[tuple[int, int]] = []

    async def follow(old: int, new: int) -> None:
        moved.append((old, new))

    await OutboxSender(db, bot, on_migrated=follow).drain()
    assert moved == [(GROUP, -1000000000300)]
    assert delivered(api, -1000000000300) == ["一", "二"]


async def test_a_crash_between_queueing_and_sending_loses_nothing(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock, tmp_path: object
) -> None:
    """The process dies after the change committed (the row is queued) and before any send:
    a new process finds the row and sends it once."""
    await queue(db, RESIDENT, "重启后送达")
    fresh = await Database.open(db.path, clock=db.clock)  # another process on the same file
    try:
        await OutboxSender(fresh, bot).drain()
    finally:
        await fresh.close()
    await OutboxSender(db, bot).drain()
    assert delivered(api, RESIDENT) == ["重启后送达"]


async def test_a_long_caption_with_tags_arrives_cut_by_what_people_see(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    """A 1,100-character caption with tags: Telegram takes 1,024 visible characters; cut
    by those (never inside a tag or an entity), with the tags closed, it arrives."""
    text = "<b>进展</b>\n" + "阀门&amp;水管" * 220 + "<i>结尾</i>"  # 1,105 seen
    sent_by_staff = api.world.send_photo(RESIDENT, RESIDENT, PNG)  # a photo Telegram knows
    photo = sent_by_staff["message"]["photo"][-1]["file_id"]
    async with db.write() as conn:
        await enqueue(conn, RESIDENT, text, photo=photo)
    assert await OutboxSender(db, bot).drain() == 1
    [sent] = [m for m in api.messages(RESIDENT) if "caption" in m]
    caption = str(sent["caption"])
    assert caption.startswith("进展") and caption.endswith("…")
    assert len(caption.encode("utf-16-le")) // 2 <= 1024
    assert {e["type"] for e in sent.get("caption_entities", [])} >= {"bold"}
