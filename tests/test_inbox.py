"""The inbox (bot/inbox.py, storage/inbox.py): an update is stored before PTB can confirm it
to Telegram, marked when its handling ends, and handled after a crash; Telegram delivering
it again does not make it handled twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.app import build_application
from bot.inbox import MAX_REPLAYS, Inbox, InboxBot
from bot.settings import Settings
from bot.updates import PerChatUpdateProcessor
from storage.clock import ManualClock
from storage.db import Database
from storage.inbox import InboxStore
from tests.support.telegram import FakeBotApi, Harness

App = Application[Any, Any, Any, Any, Any, Any]
PERSON = 2001
ASKED_FOR_CONTACT = "分享您的手机号码"  # the answer to /start


async def until(condition: Callable[[], Awaitable[bool] | bool], what: str = "") -> None:
    """Let the event loop run until ``condition`` holds (a hang fails the test)."""
    for _ in range(5_000):
        value = condition()
        if await value if isinstance(value, Awaitable) else value:
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"never happened: {what}")


def app_on(settings: Settings, db: Database, api: FakeBotApi) -> App:
    """The bot as ``python -m bot run`` builds it, over the fake Telegram."""
    return build_application(settings, db=db, request=api, rate_limit=False)


def bot_texts(api: FakeBotApi, chat_id: int) -> list[str]:
    return [str(m.get("text") or "") for m in api.messages(chat_id) if m["from"]["is_bot"]]


def people(api: FakeBotApi) -> None:
    api.world.add_user(PERSON, "王伟", language_code="zh-hans")


def pending_in_telegram(api: FakeBotApi) -> list[int]:
    """The update ids Telegram still holds for the bot (not confirmed by an offset)."""
    return [int(u["update_id"]) for u in api.world.pending_updates()]


async def counts(db: Database) -> dict[str, int]:
    return await InboxStore(db).counts()


# --- stored before they are returned ------------------------------------------------------


async def test_updates_get_updates_returns_are_stored_before_the_updater_sees_them(
    settings: Settings, db: Database
) -> None:
    api = FakeBotApi()
    people(api)
    app = app_on(settings, db, api)
    assert isinstance(app.bot, InboxBot)
    await app.initialize()
    try:
        api.world.send_text(PERSON, PERSON, "/start")
        api.world.send_text(PERSON, PERSON, "你好")
        updates = await app.bot.get_updates(timeout=0)
        assert [u.effective_message.text for u in updates if u.effective_message] == [
            "/start",
            "你好",
        ]
        rows = await InboxStore(db).unhandled()
        assert [r.update_id for r in rows] == [u.update_id for u in updates]
        assert json.loads(rows[0].data)["message"]["text"] == "/start"  # Bot API JSON
    finally:
        await app.shutdown()


async def test_an_update_is_stored_as_telegram_sent_it_not_re_encoded(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JSON stored is getUpdates' own (PTB's re-encoding of every decoded update cost a
    few percent of the bot's CPU)."""
    from telegram import Update

    def not_again(self: Update) -> str:
        raise AssertionError("the update was re-encoded")

    monkeypatch.setattr(Update, "to_json", not_again)
    api = FakeBotApi()
    people(api)
    app = app_on(settings, db, api)
    await app.initialize()
    try:
        api.world.send_text(PERSON, PERSON, "楼道灯不亮")
        (original,) = api.world.pending_updates()
        (update,) = await app.bot.get_updates(timeout=0)
        (row,) = await InboxStore(db).unhandled()
        assert json.loads(row.data) == original
        assert "楼道灯不亮" in row.data  # as sent, not \u-escaped
        assert update.effective_message is not None
        assert update.effective_message.text == "楼道灯不亮"
    finally:
        await app.shutdown()


async def test_updates_that_cannot_be_stored_are_not_returned_so_never_confirmed(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeBotApi()
    people(api)
    app = app_on(settings, db, api)
    await app.initialize()
    try:
        api.world.send_text(PERSON, PERSON, "/start")
        inbox: Inbox = app.bot_data["inbox"]

        async def disk_full(updates: object) -> set[int]:
            raise OSError("database or disk is full")

        monkeypatch.setattr(inbox.store, "admit", disk_full)
        with pytest.raises(OSError, match="disk is full"):
            await app.bot.get_updates(timeout=0)  # PTB's Updater logs it and polls again
        monkeypatch.undo()
        (update,) = await app.bot.get_updates(timeout=0)  # Telegram still has it
        assert update.effective_message is not None
        assert await counts(db) == {"waiting": 1}
    finally:
        await app.shutdown()


# --- replayed at start-up -----------------------------------------------------------------


async def test_an_update_fetched_and_confirmed_before_a_crash_is_handled_after_the_restart(
    settings: Settings, db: Database
) -> None:
    """The crash trials' loss: PTB confirmed the update (the next poll's offset) while it
    was being handled, then the process died. The new process replays it from the inbox."""
    api = FakeBotApi()
    people(api)
    first = app_on(settings, db, api)
    await first.initialize()
    api.world.send_text(PERSON, PERSON, "/start")
    (update,) = await first.bot.get_updates(timeout=0)
    await first.bot.get_updates(offset=update.update_id + 1, timeout=0)  # confirmed
    assert pending_in_telegram(api) == []  # Telegram has forgotten it
    # SIGKILL: never handled, no shutdown.
    second = app_on(settings, db, api)
    async with Harness(second, api):
        await until(lambda: any(ASKED_FOR_CONTACT in t for t in bot_texts(api, PERSON)), "answer")
        await until(lambda: _counts_are(db, {"handled": 1}), "the update marked handled")
    assert sum(ASKED_FOR_CONTACT in t for t in bot_texts(api, PERSON)) == 1
    (row,) = await db.fetchall("SELECT data, replays, outcome FROM inbox")
    assert (row["data"], row["replays"], row["outcome"]) == (None, 1, "handled")  # text gone
    await first.shutdown()


async def _counts_are(db: Database, expected: dict[str, int]) -> bool:
    return await counts(db) == expected


async def test_updates_replay_in_order_before_anything_new(
    settings: Settings, db: Database
) -> None:
    """Replayed updates go first, oldest first: a person's steps keep their order."""
    api = FakeBotApi()
    people(api)
    first = app_on(settings, db, api)
    await first.initialize()
    api.world.send_text(PERSON, PERSON, "/start")
    api.world.send_text(PERSON, PERSON, "/help")
    fetched = await first.bot.get_updates(timeout=0)
    await first.bot.get_updates(offset=fetched[-1].update_id + 1, timeout=0)
    second = app_on(settings, db, api)
    async with Harness(second, api):
        await until(lambda: _counts_are(db, {"handled": 2}), "both handled")
    texts = bot_texts(api, PERSON)
    assert ASKED_FOR_CONTACT in texts[0] and ASKED_FOR_CONTACT not in texts[-1]
    await first.shutdown()


async def test_a_redelivered_update_is_not_handled_twice(settings: Settings, db: Database) -> None:
    """Fetched and stored, then the crash came before the next poll confirmed it: Telegram
    delivers it again to the new process, which has replayed it already. PTB's own Updater
    polls here, so its offsets are the real ones."""
    api = FakeBotApi()
    people(api)
    first = app_on(settings, db, api)
    await first.initialize()
    api.world.send_text(PERSON, PERSON, "/start")
    (update,) = await first.bot.get_updates(timeout=0)  # stored, not confirmed
    assert pending_in_telegram(api) == [update.update_id]
    second = app_on(settings, db, api)
    async with Harness(second, api):
        assert second.updater is not None
        await second.updater.start_polling(timeout=timedelta(seconds=1))
        try:
            await until(lambda: pending_in_telegram(api) == [], "the redelivery confirmed")
            await until(lambda: _counts_are(db, {"handled": 1}), "handled")
            api.world.send_text(PERSON, PERSON, "/help")  # polling goes on as usual
            await until(lambda: _counts_are(db, {"handled": 2}), "the next one handled")
        finally:
            await second.updater.stop()
    assert sum(ASKED_FOR_CONTACT in t for t in bot_texts(api, PERSON)) == 1
    await first.shutdown()


async def test_a_restarted_bot_does_not_return_an_update_stored_already(
    settings: Settings, db: Database
) -> None:
    api = FakeBotApi()
    people(api)
    first = app_on(settings, db, api)
    await first.initialize()
    api.world.send_text(PERSON, PERSON, "/start")
    (update,) = await first.bot.get_updates(timeout=0)
    second = app_on(settings, db, api)
    await second.initialize()
    try:
        assert await second.bot.get_updates(timeout=0) == ()  # delivered again: skipped
        assert pending_in_telegram(api) == [update.update_id]
        assert await second.bot.get_updates(offset=0, timeout=0) == ()  # …and now confirmed
        assert pending_in_telegram(api) == []
        assert await counts(db) == {"waiting": 1}  # still the start-up's to replay
    finally:
        await second.shutdown()
        await first.shutdown()


# --- marked when handling ends --------------------------------------------------------------


async def test_a_handler_that_raises_still_marks_its_update(
    settings: Settings, db: Database
) -> None:
    """The error handler has dealt with it (the person was told): a poisonous update must
    not come back at every start."""
    api = FakeBotApi()
    people(api)
    app = app_on(settings, db, api)

    async def boom(update: Update, context: Any) -> None:
        raise RuntimeError("a bug in a step")

    app.add_handler(MessageHandler(filters.Regex("^炸$"), boom), group=-5)
    harness = Harness(app, api, raise_errors=False)
    async with harness:
        api.world.send_text(PERSON, PERSON, "炸")
        for update in await app.bot.get_updates(timeout=0):
            await app.update_queue.put(update)  # as PTB's Updater does
        await until(lambda: _counts_are(db, {"handled": 1}), "marked")
    assert [type(e) for e in harness.errors] == [RuntimeError]
    assert bot_texts(api, PERSON)  # the error handler's apology


async def test_a_flows_new_state_is_written_with_the_updates_mark_in_one_transaction(
    settings: Settings, db: Database
) -> None:
    """/start opens the registration flow (a conversation state, PTB's persistence): the
    state and the update's mark go in one transaction at the end of the update, so a crash
    can leave neither the state without the mark (the step taken twice) nor the reverse."""
    api = FakeBotApi()
    people(api)
    app = app_on(settings, db, api)
    seen: list[str] = []
    async with Harness(app, api):
        await db.conn.set_trace_callback(lambda sql: seen.append(" ".join(sql.split())))
        try:
            api.world.send_text(PERSON, PERSON, "/start")
            for update in await app.bot.get_updates(timeout=0):
                await app.update_queue.put(update)  # as PTB's Updater does
            await until(lambda: _counts_are(db, {"handled": 1}), "marked")
        finally:
            await db.conn.set_trace_callback(None)  # type: ignore[arg-type]
    assert any(ASKED_FOR_CONTACT in t for t in bot_texts(api, PERSON))
    state = next(i for i, sql in enumerate(seen) if sql.startswith("INSERT INTO ptb_conversations"))
    marked = next(i for i, sql in enumerate(seen) if sql.startswith("UPDATE inbox SET handled_at"))
    began = max(i for i, sql in enumerate(seen[:state]) if sql == "BEGIN IMMEDIATE")
    ended = state + next(i for i, sql in enumerate(seen[state:]) if sql == "COMMIT")
    assert began < marked < ended  # one transaction holds both
    assert sum(sql.startswith("BEGIN") for sql in seen[began + 1 : ended]) == 0
    rows = await db.fetchall("SELECT name, key FROM ptb_conversations")
    assert [(r["name"], json.loads(r["key"])) for r in rows] == [("registration", [PERSON, PERSON])]


async def test_the_end_of_handling_marks_an_update_and_an_interruption_does_not() -> None:
    finished: list[int] = []

    async def finish(update: object) -> None:
        assert isinstance(update, Update)
        finished.append(update.update_id)

    processor = PerChatUpdateProcessor(finished=finish)

    async def fine() -> None:
        return None

    async def raising() -> None:
        raise RuntimeError("escaped PTB's error handling")

    await processor.process_update(message(1), fine())
    with pytest.raises(RuntimeError):
        await processor.process_update(message(2), raising())
    held = asyncio.create_task(processor.process_update(message(3), asyncio.sleep(60)))
    await asyncio.sleep(0.01)
    held.cancel()  # the process stopping under it
    with pytest.raises(asyncio.CancelledError):
        await held
    assert finished == [1, 2]


def message(update_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id, "date": 0, "text": "hi",
                "chat": {"id": PERSON, "type": "private"},
                "from": {"id": PERSON, "is_bot": False, "first_name": "p"},
            },
        },
        None,
    )  # fmt: skip


async def test_an_update_that_never_finishes_is_abandoned_after_a_few_start_ups(
    settings: Settings, db: Database
) -> None:
    """One that takes the process down with it every time would come back for ever."""
    api = FakeBotApi()
    people(api)
    store = InboxStore(db)
    api.world.send_text(PERSON, PERSON, "/start")
    fetched = api.world.take_update()
    assert fetched is not None
    await store.admit([(int(fetched["update_id"]), json.dumps(fetched))])
    await store.replaying([int(fetched["update_id"])] * MAX_REPLAYS)
    app = app_on(settings, db, api)
    async with Harness(app, api):
        await asyncio.sleep(0.05)
    assert bot_texts(api, PERSON) == []
    assert await counts(db) == {"abandoned": 1}


# --- pruned ----------------------------------------------------------------------------------


async def test_handled_rows_are_pruned_after_a_few_days_but_the_newest_stay(
    db: Database, clock: ManualClock
) -> None:
    store = InboxStore(db)
    await store.admit([(n, "{}") for n in range(1, 6)])
    for n in (1, 2, 3, 4):
        await store.handled(n)
    clock.advance(days=2)
    assert await store.prune(timedelta(days=3), keep=1) == 0  # not old enough
    clock.advance(days=2)
    assert await store.prune(timedelta(days=3), keep=2) == 3  # 1–3; 4 is among the newest
    rows = await db.fetchall("SELECT update_id, outcome FROM inbox ORDER BY update_id")
    assert [tuple(r) for r in rows] == [(4, "handled"), (5, None)]  # the waiting one stays
    plan = await db.fetchall(
        "EXPLAIN QUERY PLAN SELECT update_id FROM inbox WHERE handled_at IS NULL ORDER BY update_id"
    )
    assert "inbox_unhandled" in " ".join(str(r["detail"]) for r in plan)
