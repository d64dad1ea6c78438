"""The bot's SQLite statements run on the event loop's thread (storage.db.InlineConnection),
without the round trip to a worker thread per statement, and keep what the thread gave:
another process holding the write lock does not stop everyone else's updates, and a long
statement can still be sent to the thread (``Database.on_thread``)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from storage.db import Database


async def test_statements_run_on_the_loops_thread_and_on_thread_sends_them_away(
    db: Database,
) -> None:
    threads: list[int] = []
    await db.conn.set_trace_callback(lambda sql: threads.append(threading.get_ident()))
    try:
        await db.fetchone("SELECT 1")
        async with db.write() as conn:
            await conn.execute("CREATE TABLE t (x INTEGER)")
        inline = list(threads)
        threads.clear()
        with db.on_thread():
            row = await db.fetchone("SELECT 2")
    finally:
        await db.conn.set_trace_callback(None)  # type: ignore[arg-type]
    assert row is not None and row[0] == 2
    assert inline and set(inline) == {threading.get_ident()}
    assert threads and threading.get_ident() not in threads


async def test_a_write_waits_for_another_process_without_holding_the_loop(
    db: Database,
) -> None:
    async with db.write() as conn:
        await conn.execute("CREATE TABLE t (x INTEGER)")
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process (the command line) is writing
    other.execute("INSERT INTO t VALUES (1)")

    async def write() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO t VALUES (2)")

    waiting = asyncio.create_task(write())
    ticks = 0
    for _ in range(20):  # the loop keeps serving others while the write waits
        await asyncio.sleep(0.005)
        ticks += 1
    assert ticks == 20 and not waiting.done()
    other.execute("COMMIT")
    await asyncio.wait_for(waiting, 5)
    other.close()
    rows = await db.fetchall("SELECT x FROM t ORDER BY x")
    assert [r["x"] for r in rows] == [1, 2]  # both, in the order they committed


async def test_a_lock_held_too_long_is_database_is_locked_and_nothing_written(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.write() as conn:
        await conn.execute("CREATE TABLE t (x INTEGER)")
    monkeypatch.setattr(db.conn, "busy_timeout", 0.05)
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with db.write() as conn:
                await conn.execute("INSERT INTO t VALUES (2)")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await db.fetchall("SELECT x FROM t") == []
    async with db.write() as conn:  # and the connection is usable again
        await conn.execute("INSERT INTO t VALUES (3)")
    assert [r["x"] for r in await db.fetchall("SELECT x FROM t")] == [3]
