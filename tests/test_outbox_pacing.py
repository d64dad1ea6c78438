"""The outbox sender paces itself to Telegram's limits, one queue per chat: a chat that must
wait (its pace, a 429, a slow request) holds back only itself. Times are the pacing clock's
(a SteppingClock: waits are taken in order and cost no real time); the sandbox world stamps
each call with it, so what is checked is Telegram's own log. Rule: DESIGN's Pitfalls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from itertools import pairwise
from types import SimpleNamespace
from typing import Any, cast

import pytest
from telegram import Bot
from telegram.request import RequestData

from bot.app import build_application, post_init, post_stop, sweep
from bot.outbox import OutboxSender
from bot.pacing import SLACK, SteppingClock
from bot.settings import Settings
from storage.clock import ManualClock
from storage.db import Database
from storage.outbox import OutboxStore, enqueue
from tests.conftest import ADMIN_ID, TOKEN, World
from tests.support.app import services_of
from tests.support.telegram import FakeBotApi, Group, Harness

OWNER, NEIGHBOUR = 2001, 2002
GROUP = -300


class HeldApi(FakeBotApi):
    """A fake Telegram whose answers to one chat wait until the test lets them go."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(clock=clock)
        self.held_chat: int | None = None
        self.holding = asyncio.Event()  # a request to that chat waits
        self.release = asyncio.Event()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:  # fmt: skip
        chat = request_data.parameters.get("chat_id") if request_data else None
        if chat is not None and chat == self.held_chat:
            self.holding.set()
            await self.release.wait()
        return await super().do_request(url, method, request_data, *args, **kwargs)


@pytest.fixture
def pace() -> SteppingClock:
    return SteppingClock(1000.0)


@pytest.fixture
def api(pace: SteppingClock) -> HeldApi:
    fake = HeldApi(clock=pace.now)
    for person in (OWNER, NEIGHBOUR):
        fake.world.add_user(person, f"业主{person}")
    fake.world.add_group("客服中心", [], chat_id=GROUP, announce=False)
    return fake


@pytest.fixture
async def telegram(api: HeldApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, request=api, get_updates_request=api) as b:
        yield b


@pytest.fixture
def sender(db: Database, telegram: Bot, pace: SteppingClock) -> OutboxSender:
    return OutboxSender(db, telegram, pace=pace)


async def queue(db: Database, chat_id: int, count: int, prefix: str = "通知") -> None:
    async with db.write() as conn:
        for n in range(1, count + 1):
            await enqueue(conn, chat_id, f"{prefix}{n}")


def sends(api: FakeBotApi, chat_id: int | None = None) -> list[tuple[float, int, str]]:
    """Telegram's log of the messages it took: (time, chat, text), in order."""
    return [
        (call.time, int(call.params["chat_id"]), str(call.params["text"]))
        for call in api.world.calls
        if call.method == "sendMessage" and call.ok
        and (chat_id is None or int(call.params["chat_id"]) == chat_id)
    ]  # fmt: skip


def most_in_any_window(times: list[float], seconds: float) -> int:
    """The most sends in any window of ``seconds`` (from one send, up to not including
    ``seconds`` later)."""
    return max((sum(start <= t < start + seconds for t in times) for start in times), default=0)


async def until(condition: Callable[[], bool]) -> None:
    """Let the event loop run until ``condition`` holds (a hang fails the test, not a clock)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")


async def test_a_private_chats_messages_go_a_second_apart_in_order(
    db: Database, api: HeldApi, sender: OutboxSender
) -> None:
    await queue(db, OWNER, 3)
    assert await sender.drain() == 3
    log = sends(api, OWNER)
    assert [text for _, _, text in log] == ["通知1", "通知2", "通知3"]
    assert all(later - earlier >= 1.0 for (earlier, _, _), (later, _, _) in pairwise(log))


async def test_a_groups_21st_message_in_a_minute_waits_and_nobody_else_does(
    db: Database, api: HeldApi, sender: OutboxSender, pace: SteppingClock
) -> None:
    start = pace.now()
    await queue(db, GROUP, 25, "卡片")
    await queue(db, OWNER, 2)
    await sender.drain()
    group = [t for t, _, _ in sends(api, GROUP)]
    assert len(group) == 25 and most_in_any_window(group, 60.0) == 20
    assert group[20] - group[0] >= 60.0  # the 21st waited for the minute
    assert [t - start for t, _, _ in sends(api, OWNER)] == [0.0, pytest.approx(1.0)]


async def test_the_31st_message_in_a_second_waits(
    db: Database, api: HeldApi, sender: OutboxSender, pace: SteppingClock
) -> None:
    for person in range(3001, 3041):
        await queue(db, person, 1)
    start = pace.now()
    assert await sender.drain() == 40
    times = [t for t, _, _ in sends(api)]
    assert len(times) == 40 and most_in_any_window(times, 1.0) == 30
    assert times[29] == start and times[30] == pytest.approx(start + 1.0 + SLACK)


async def test_a_429_on_one_chat_delays_nobody_else(
    db: Database, api: HeldApi, sender: OutboxSender, pace: SteppingClock, clock: ManualClock
) -> None:
    await queue(db, OWNER, 2, "甲")
    await queue(db, NEIGHBOUR, 3, "乙")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    start = pace.now()
    await sender.drain()  # the owner's first message met the 429
    assert sends(api, OWNER) == []
    neighbour = sends(api, NEIGHBOUR)
    assert [text for _, _, text in neighbour] == ["乙1", "乙2", "乙3"]
    assert neighbour[-1][0] - start == pytest.approx(2.0)  # paced, and no 30 s wait
    clock.advance(30)  # the application's clock: the owner's retry falls due
    await sender.drain()
    assert [text for _, _, text in sends(api, OWNER)] == ["甲1", "甲2"]


async def test_a_slow_request_holds_back_only_its_chat(
    db: Database, api: HeldApi, sender: OutboxSender
) -> None:
    api.held_chat = OWNER  # Telegram does not answer the owner's message for now
    await queue(db, OWNER, 2, "甲")
    await queue(db, NEIGHBOUR, 2, "乙")
    await queue(db, GROUP, 2, "卡片")
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await until(lambda: len(sends(api, NEIGHBOUR)) == 2 and len(sends(api, GROUP)) == 2)
        assert sends(api, OWNER) == []
        api.release.set()
        await until(lambda: len(sends(api, OWNER)) == 2)
    finally:
        stop.set()
        await running
    assert await OutboxStore(db).pending_count() == 0


async def test_while_the_sender_runs_a_drain_only_wakes_it(
    db: Database, api: HeldApi, sender: OutboxSender
) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await until(lambda: sender.running)
        await queue(db, OWNER, 1)
        assert await sender.drain() == 0  # returns at once: the step that queued waits for nobody
        await until(lambda: len(sends(api, OWNER)) == 1)
    finally:
        stop.set()
        await running
    assert not sender.running


async def test_a_send_under_way_when_the_sender_stops_is_marked(
    db: Database, api: HeldApi, sender: OutboxSender
) -> None:
    api.held_chat = OWNER
    await queue(db, OWNER, 1)
    sender.start()
    await until(api.holding.is_set)
    stopping = asyncio.create_task(sender.stop())
    await asyncio.sleep(0.01)
    assert not stopping.done()  # it waits for Telegram's answer…
    api.release.set()
    await stopping
    row = await db.fetchone("SELECT state FROM outbox")
    assert row is not None and row["state"] == "sent"  # …and records it: not sent twice


async def test_the_bot_runs_the_sender_as_its_own_task_and_the_sweep_never_waits_for_it(
    settings: Settings, db: Database, api: HeldApi
) -> None:
    """The sweeper and the sender never skip each other: the sender is no job of the job
    queue (where a long drain made the next ticks be skipped), and a sweep only wakes it."""
    app = build_application(settings, db=db, request=api, rate_limit=False)
    await app.initialize()
    try:
        await post_init(app)
        assert app.job_queue is not None
        jobs = [job.name for job in app.job_queue.jobs()]
        assert jobs == [  # the sweeper: a task
            "weekly", "daily", "renovation_sheet", "renovation_weekly", "calendar", "inbox",
            "backup",
        ]  # fmt: skip
        sender: OutboxSender = app.bot_data["outbox"]
        await until(lambda: sender.running)
        api.held_chat = OWNER  # a send that takes as long as Telegram likes
        await queue(db, OWNER, 1)
        sender.poke()
        await until(api.holding.is_set)
        await sweep(cast(Any, SimpleNamespace(application=app)))  # returns: nothing to wait for
        api.release.set()
        await post_stop(app)
        assert not sender.running
        assert await OutboxStore(db).pending_count() == 0
    finally:
        await app.shutdown()


# -- a direct answer to a person's own step (handlers.common.reply) ------------------------


def outbox_sender(world: World) -> tuple[OutboxSender, SteppingClock]:
    sender = services_of(world).sender
    assert isinstance(sender, OutboxSender) and isinstance(sender.pace, SteppingClock)
    return sender, sender.pace


async def test_an_answer_is_not_held_by_the_chats_second_but_the_next_notice_is(
    world: World, bot: Harness
) -> None:
    person = bot.person(OWNER, "王伟")
    sender, pace = outbox_sender(world)
    await queue(world.db, OWNER, 1)
    await sender.drain()  # a notice has just gone out
    waited = len(pace.sleeps)
    mark = person.mark()
    await person.send("/help")
    assert len(person.texts(mark)) == 1  # answered at once…
    assert pace.sleeps[waited:] == []  # …with no wait for the chat's second
    await queue(world.db, OWNER, 1, "之后")
    await sender.drain()
    assert sum(pace.sleeps[waited:]) >= 1.0  # the next notice waits its second after it


async def test_an_answer_in_a_group_whose_minute_is_spent_is_queued(
    world: World, bot: Harness, cs: Group
) -> None:
    sender, pace = outbox_sender(world)
    await queue(world.db, cs.chat_id, 19, "卡片")
    await sender.drain()  # with the answer to /bind, the group's minute is spent
    waited = sum(pace.sleeps)
    assert waited == 0
    mark = cs.mark()
    await bot.person(ADMIN_ID, "管理员").send("/help", chat=cs)
    query = "SELECT state FROM outbox WHERE chat_id = ? AND text NOT LIKE '卡片%'"
    row = await world.db.fetchone(query, (cs.chat_id,))
    assert row is not None and row["state"] == "pending"  # queued, not sent into a 429
    assert cs.texts(mark) == []
    await sender.drain()
    assert len(cs.texts(mark)) == 1 and sum(pace.sleeps) >= 60  # when the minute was over
