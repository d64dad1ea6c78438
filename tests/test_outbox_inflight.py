"""The outbox records each attempt before it is made, so a crash mid-send is bounded: a
notice is sent at most once, except a row in flight at a crash, which is resent at most
once (and counted). Rule: DESIGN's outbox ("never loses one"), README's outbox section.

A crash is a process that dies while Telegram has the message and has not answered yet: a
second connection to the database runs a sender whose request Telegram takes and never
answers; its tasks are then cancelled (nothing after the request runs, as when the process
is killed) and the connection dropped. The next sender is a new process on the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram import Bot
from telegram.request import RequestData

from bot.outbox import OutboxSender
from storage.db import Database
from storage.outbox import CRASHED_AGAIN, OutboxStore, crashed_sends, enqueue
from tests.conftest import TOKEN
from tests.support.telegram import FakeBotApi

OWNER = 2001


class HangingApi(FakeBotApi):
    """A Telegram that takes the messages to one chat and then never answers (until the
    test lets it); ``during`` runs while such a request waits, to look at the database."""

    def __init__(self) -> None:
        super().__init__()
        self.hang_chat: int | None = None
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.during: Callable[[], Any] | None = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:  # fmt: skip
        answer = await super().do_request(url, method, request_data, *args, **kwargs)
        chat = request_data.parameters.get("chat_id") if request_data else None
        if chat is not None and chat == self.hang_chat:
            if self.during is not None:
                await self.during()
            self.holding.set()
            await self.release.wait()
        return answer


@pytest.fixture
def api() -> HangingApi:
    fake = HangingApi()
    fake.world.add_user(OWNER, "王伟")
    return fake


@pytest.fixture
async def telegram(api: HangingApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, request=api, get_updates_request=api) as b:
        yield b


async def queue(db: Database, *texts: str) -> list[int]:
    async with db.write() as conn:
        return [await enqueue(conn, OWNER, text) for text in texts]


def delivered(api: FakeBotApi) -> list[str]:
    """What Telegram took for the owner, in order (a message taken twice is there twice)."""
    return [
        str(call.params["text"])
        for call in api.calls_of("sendMessage")
        if call.result is not None and int(call.params["chat_id"]) == OWNER
    ]


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")


async def crash_mid_send(db: Database, api: HangingApi, telegram: Bot) -> None:
    """Another process sends from the same file; Telegram takes its message; the process
    dies before the answer comes back."""
    process = await Database.open(db.path, clock=db.clock)
    sender = OutboxSender(process, telegram)
    api.hang_chat, api.holding, api.release = OWNER, asyncio.Event(), asyncio.Event()
    draining = asyncio.create_task(sender.drain())
    try:
        await until(api.holding.is_set)
    finally:  # killed: nothing after the request runs
        draining.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await draining
        sends = list(sender._sending.values())
        for task in sends:
            task.cancel()
        await asyncio.gather(*sends, return_exceptions=True)
        await process.close()
        api.hang_chat = None


async def test_the_attempt_is_recorded_before_the_request_leaves(
    db: Database, api: HangingApi, telegram: Bot
) -> None:
    [row] = await queue(db, "通知")
    seen: list[tuple[str, int, bool]] = []

    async def look() -> None:
        found = await db.fetchone("SELECT * FROM outbox WHERE id = ?", (row,))
        assert found is not None
        seen.append((found["state"], found["attempts"], found["sending_at"] is not None))
        api.release.set()  # then Telegram answers

    api.hang_chat, api.during = OWNER, look
    await OutboxSender(db, telegram).drain()
    assert seen == [("pending", 1, True)]  # marked, and counted, while Telegram had it
    after = await db.fetchone("SELECT * FROM outbox WHERE id = ?", (row,))
    assert after is not None
    assert (after["state"], after["attempts"], after["sending_at"]) == ("sent", 1, None)
    assert await OutboxStore(db).in_flight() == []


async def test_a_row_in_flight_at_a_crash_is_resent_once_and_counted(
    db: Database, api: HangingApi, telegram: Bot
) -> None:
    first, second = await queue(db, "一", "二")
    await crash_mid_send(db, api, telegram)
    assert delivered(api) == ["一"]  # Telegram has it; the dead process never knew
    assert await OutboxStore(db).in_flight() == [first]  # what a kill leaves

    await OutboxSender(db, telegram).drain()  # the next process
    assert delivered(api) == ["一", "一", "二"]  # resent once; the queue went on
    [crashed] = await crashed_sends(db)
    assert (crashed.id, crashed.state, crashed.crashed_sends) == (first, "sent", 1)
    assert crashed.attempts == 2
    assert await OutboxStore(db).in_flight() == []
    await OutboxSender(db, telegram).drain()
    assert delivered(api) == ["一", "一", "二"]  # and never again
    assert second not in [c.id for c in await crashed_sends(db)]


async def test_a_row_in_flight_at_a_second_crash_is_not_sent_again(
    db: Database, api: HangingApi, telegram: Bot
) -> None:
    """The row's resend is itself cut by a crash (it might be the message that kills the
    process): it is failed, with the reason, rather than sent a third time."""
    first, _ = await queue(db, "一", "二")
    await crash_mid_send(db, api, telegram)
    await crash_mid_send(db, api, telegram)  # the resend, cut too
    assert delivered(api) == ["一", "一"]

    await OutboxSender(db, telegram).drain()
    assert delivered(api) == ["一", "一", "二"]
    [crashed] = await crashed_sends(db)
    assert (crashed.id, crashed.state, crashed.crashed_sends) == (first, "failed", 2)
    row = await db.fetchone("SELECT last_error FROM outbox WHERE id = ?", (first,))
    assert row is not None and row["last_error"] == CRASHED_AGAIN


async def test_a_row_left_marked_in_a_running_process_is_counted_too(
    db: Database, api: HangingApi, telegram: Bot
) -> None:
    """A send that broke after its mark (say the answer could not be written down) leaves
    its row marked with no send under way: when it is handed out again it is resent once,
    counted like a crash."""
    [row] = await queue(db, "通知")
    sender = OutboxSender(db, telegram)
    await sender.drain()  # (the sender has looked for a dead process's rows)
    await db.conn.execute(
        "UPDATE outbox SET state = 'pending', sent_at = NULL, sending_at = ? WHERE id = ?",
        ("2026-11-27T01:00:00+00:00", row),
    )
    await sender.drain()
    assert delivered(api) == ["通知", "通知"]
    [crashed] = await crashed_sends(db)
    assert (crashed.id, crashed.state, crashed.crashed_sends) == (row, "sent", 1)
