"""The chain of one update, cut down: an update from a person the bot already knows, with
nothing about them changed, writes nothing to the database; the person and their roles are
read once per update; PTB's persistence writes only what changed."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from storage.db import Database
from tests.conftest import OWNER_PHONE
from tests.support.telegram import Harness

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE")


@asynccontextmanager
async def statements(db: Database) -> Any:
    """Every SQL statement the bot's connection runs meanwhile, in order."""
    seen: list[str] = []
    await db.conn.set_trace_callback(lambda sql: seen.append(" ".join(sql.split())))
    try:
        yield seen
    finally:
        await db.conn.set_trace_callback(None)  # type: ignore[arg-type]


def writes(seen: list[str]) -> list[str]:
    return [sql for sql in seen if sql.upper().startswith(WRITES)]


async def test_a_known_persons_help_writes_nothing(bot: Harness, db: Database) -> None:
    owner = bot.person(2001, "王伟", phone=OWNER_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("/help")  # their menu, their first data: written once
    async with statements(db) as seen:
        await owner.send("/help")
    assert "/request" in owner.last_text  # answered, as an owner
    assert seen, "the trace saw nothing: the test would prove nothing"
    assert writes(seen) == []


async def test_who_the_person_is_is_read_once_per_update(bot: Harness, db: Database) -> None:
    owner = bot.person(2001, "王伟", phone=OWNER_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    async with statements(db) as seen:
        await owner.send("/request")  # passes several handlers, each asking who this is
    assert "请选择类别" in owner.last_text
    assert sum("FROM people WHERE tg_user_id" in sql for sql in seen) == 1
    assert sum("FROM memberships m JOIN estates" in sql for sql in seen) == 1


async def test_a_step_that_changes_the_person_reads_them_again(bot: Harness) -> None:
    """Registration writes the owner's unit and then answers with their new roles; a
    language chosen is answered in it: within the same update, after its own write."""
    person = bot.person(2001, "王伟", phone=OWNER_PHONE, language_code="zh-hans")
    await person.send("/start")
    await person.share_contact()
    assert "业主服务" in person.last_text  # answered as the owner they just became
    await person.send("/lang")
    await person.tap("English")
    assert "Language set to English" in person.last_text


async def test_persistence_writes_only_what_changed(db: Database) -> None:
    from storage.persistence import SQLitePersistence

    persistence = SQLitePersistence(db)
    async with statements(db) as seen:
        await persistence.update_user_data(7, {"draft": {"text": "漏水"}})
        await persistence.update_user_data(7, {"draft": {"text": "漏水"}})  # unchanged
        await persistence.update_chat_data(7, {})  # nothing stored, nothing to store
        await persistence.update_conversation("flow", (7, 7), 2)
        await persistence.update_conversation("flow", (7, 7), 2)  # unchanged
    assert len([sql for sql in writes(seen) if sql.startswith("INSERT")]) == 2
    reloaded = SQLitePersistence(db)  # as after a restart: what the file holds
    assert await reloaded.get_user_data() == {7: {"draft": {"text": "漏水"}}}
    assert await reloaded.get_conversations("flow") == {(7, 7): 2}
    async with statements(db) as seen:
        await reloaded.update_user_data(7, {"draft": {"text": "漏水"}})  # as loaded
        await reloaded.update_conversation("flow", (7, 7), None)  # ended: forgotten
        await reloaded.update_user_data(7, {})
    assert [sql.split()[0] for sql in writes(seen) if not sql.startswith("BEGIN")] == [
        "DELETE", "DELETE",
    ]  # fmt: skip
    assert await SQLitePersistence(db).get_user_data() == {}
