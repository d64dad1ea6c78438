"""Edits of a message the outbox sent earlier (a card's text, its keyboard): they wait for
the card, the newest stands for the others, "not modified" is done, a card that failed
takes its edits with it, and Telegram's passing failures are retried. Rule: DESIGN's
outbox and Pitfalls (edit old keyboards away so stale buttons cannot be pressed)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from bot.outbox import OutboxSender
from procedures.subjects import Subject
from storage.clock import ManualClock
from storage.db import Database, migrations
from storage.outbox import (
    OutboxStore,
    enqueue,
    enqueue_edit,
    last_message_about,
    store_blob,
)
from tests.conftest import TOKEN
from tests.support.cases import PNG
from tests.support.telegram import FakeBotApi

RESIDENT = 2001
GROUP = -300
KEYS = {"inline_keyboard": [[{"text": "接单", "callback_data": "requests:take:7"}]]}
DONE = {"inline_keyboard": [[{"text": "完成", "callback_data": "requests:done:7"}]]}


@pytest.fixture
def api() -> FakeBotApi:
    fake = FakeBotApi()
    fake.world.add_user(RESIDENT, "王伟")
    fake.world.add_group("工程部", [], chat_id=GROUP, announce=False)
    return fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, request=api, get_updates_request=api) as b:
        yield b


async def card(db: Database, text: str, markup: dict[str, Any] | None = KEYS) -> int:
    async with db.write() as conn:
        return await enqueue(conn, GROUP, text, markup=markup, subject=Subject("renovation", 7))


async def edit(
    db: Database, target: int, text: str | None = None, markup: dict[str, Any] | None = None
) -> int:
    async with db.write() as conn:
        return await enqueue_edit(conn, target, text, markup)


async def state(db: Database, row: int) -> str:
    found = await db.fetchone("SELECT state FROM outbox WHERE id = ?", (row,))
    assert found is not None
    return str(found["state"])


def shown(api: FakeBotApi) -> list[dict[str, Any]]:
    """The group's messages from the bot as its members see them now (edits applied)."""
    return api.messages(GROUP)


def methods(api: FakeBotApi) -> list[str]:
    """The requests Telegram took, in order (getMe and failures left out)."""
    return [call.method for call in api.calls if call.ok and call.method != "getMe"]


async def test_an_edit_queued_before_its_card_was_sent_is_applied_after_it(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    row = await card(db, "新报修 · 厨房漏水")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    sender = OutboxSender(db, bot)
    await sender.drain()  # the card meets a 429…
    await edit(db, row, "已接单 · 厨房漏水", DONE)  # …and its edit is queued meanwhile
    await sender.drain()
    assert shown(api) == [] and methods(api) == []  # the edit waits for its card
    clock.advance(30)
    await sender.drain()
    assert methods(api) == ["sendMessage", "editMessageText"]
    [message] = shown(api)
    assert message["text"] == "已接单 · 厨房漏水" and message["reply_markup"] == DONE
    found = await db.fetchone("SELECT message_id FROM outbox WHERE id = ?", (row,))
    assert found is not None and found["message_id"] == message["message_id"]


async def test_three_quick_edits_send_one(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    row = await card(db, "新报修")
    sender = OutboxSender(db, bot)
    await sender.drain()
    first = await edit(db, row, "已接单", KEYS)
    second = await edit(db, row, "处理中", KEYS)
    third = await edit(db, row, "已完成", None)
    assert await sender.drain() == 1
    assert methods(api) == ["sendMessage", "editMessageText"]
    [message] = shown(api)
    assert message["text"] == "已完成" and "reply_markup" not in message
    assert [await state(db, r) for r in (first, second, third)] == [
        "superseded",
        "superseded",
        "sent",
    ]


async def test_a_keyboard_edit_after_a_text_edit_keeps_the_text(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    """The newest edit stands for the ones it supersedes: a keyboard-only edit carries the
    text an earlier pending edit would have set (and takes the buttons away)."""
    row = await card(db, "新报修")
    sender = OutboxSender(db, bot)
    await sender.drain()
    await edit(db, row, "已由张工接单", DONE)
    await edit(db, row)  # the buttons go: a stale press must not be possible
    await sender.drain()
    assert methods(api) == ["sendMessage", "editMessageText"]
    [message] = shown(api)
    assert message["text"] == "已由张工接单" and "reply_markup" not in message


async def test_an_edit_of_a_failed_card_ends_failed(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    row = await card(db, "<b>没有闭合的标签")
    before = await edit(db, row, "已接单")  # queued while the card waits
    await OutboxSender(db, bot).drain()
    assert await state(db, row) == "failed"
    assert await state(db, before) == "failed"
    after = await edit(db, row, "已完成")  # queued once it had failed
    assert await state(db, after) == "failed"
    found = await db.fetchone("SELECT last_error FROM outbox WHERE id = ?", (after,))
    assert found is not None and "not sent (failed)" in found["last_error"]
    assert await OutboxStore(db).pending_count() == 0  # nothing waits or is retried
    assert [c.method for c in api.calls if c.method.startswith("edit")] == []


async def test_a_429_on_an_edit_is_retried(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    row = await card(db, "新报修")
    sender = OutboxSender(db, bot)
    await sender.drain()
    api.fail_next("editMessageText", 429, "Too Many Requests: retry after 30", retry_after=30)
    change = await edit(db, row, "已接单", DONE)
    await sender.drain()
    assert await state(db, change) == "pending" and shown(api)[0]["text"] == "新报修"
    clock.advance(30)
    await sender.drain()
    assert await state(db, change) == "sent" and shown(api)[0]["text"] == "已接单"
    assert [c.ok for c in api.calls_of("editMessageText")] == [False, True]


async def test_message_is_not_modified_counts_as_done(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    row = await card(db, "新报修")
    sender = OutboxSender(db, bot)
    await sender.drain()
    same = await edit(db, row, "新报修", KEYS)
    await sender.drain()
    [call] = api.calls_of("editMessageText")
    assert call.error is not None and "message is not modified" in call.error
    assert await state(db, same) == "sent"
    assert await OutboxStore(db).pending_count() == 0


async def test_a_photo_card_is_edited_by_its_caption_and_its_keyboard_alone(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    async with db.write() as conn:
        sha = await store_blob(conn, "现场.png", PNG)
        row = await enqueue(conn, GROUP, "现场照片", markup=KEYS, blob=sha, blob_as="photo")
    sender = OutboxSender(db, bot)
    await sender.drain()
    await edit(db, row, "<b>现场照片</b> · 已处理", KEYS)
    await sender.drain()
    await edit(db, row)
    await sender.drain()
    assert methods(api) == ["sendPhoto", "editMessageCaption", "editMessageReplyMarkup"]
    [message] = shown(api)
    assert message["caption"] == "现场照片 · 已处理" and "reply_markup" not in message
    assert message["caption_entities"][0]["type"] == "bold"


async def test_an_edit_names_the_card_by_its_subject_and_chat(
    db: Database, api: FakeBotApi, bot: Bot, clock: ManualClock
) -> None:
    await card(db, "旧卡片")
    newest = await card(db, "新卡片")
    renovation = Subject("renovation", 7)
    async with db.write() as conn:
        assert await last_message_about(conn, renovation, GROUP) == newest
        change = await enqueue_edit(conn, newest, "新卡片 · 已接单")
        assert await last_message_about(conn, renovation, GROUP) == newest  # an edit is no card
        assert await last_message_about(conn, Subject("renovation", 8), GROUP) is None
    await OutboxSender(db, bot).drain()
    assert [m["text"] for m in shown(api)] == ["旧卡片", "新卡片 · 已接单"]
    assert await state(db, change) == "sent"


async def test_an_edit_takes_an_inline_keyboard_only(db: Database) -> None:
    row = await card(db, "新报修")
    with pytest.raises(ValueError, match="inline keyboard"):
        await edit(db, row, "x", {"keyboard": [["好"]]})
    with pytest.raises(ValueError, match="no outbox row"):
        await edit(db, row + 100, "x")


async def test_outbox_rows_survive_the_rebuild_that_admits_edits(tmp_path: Path) -> None:
    """0014 rebuilds the outbox (a new state, 'superseded'): a database of the version
    before keeps its rows, ids, states and files, and the new columns start empty."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    for version, name, sql in migrations():
        if version < 14:
            conn.executescript(sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, '2026-11-01')", (version, name)
            )
    conn.execute(
        "INSERT INTO blobs(sha256, filename, data, created_at) VALUES ('ab', 'a.png', x'00',"
        " '2026-11-01')"
    )
    conn.execute(
        "INSERT INTO outbox(id, chat_id, text, state, attempts, next_attempt_at, message_id,"
        " created_at, blob, blob_as) VALUES (5, -300, '卡片', 'sent', 1, '2026-11-01', 77,"
        " '2026-11-01', 'ab', 'photo'), (6, 2001, '通知', 'pending', 0, '2026-11-01', NULL,"
        " '2026-11-01', NULL, NULL)"
    )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        rows = await db.fetchall(
            "SELECT id, state, message_id, blob, kind, edit_of, sending_at, crashed_sends"
            " FROM outbox ORDER BY id"
        )
        assert [tuple(r) for r in rows] == [
            (5, "sent", 77, "ab", "message", None, None, 0),
            (6, "pending", None, None, "message", None, None, 0),
        ]
        change = await edit(db, 5, "已处理")
        async with db.write() as w:
            await enqueue_edit(w, 5, "已完成")
        assert await state(db, change) == "superseded"
        plan = await db.fetchall(
            "EXPLAIN QUERY PLAN SELECT * FROM outbox INDEXED BY outbox_pending"
            " WHERE state = 'pending'"
        )
        assert plan  # the partial index of pending rows is there again
    finally:
        await db.close()
