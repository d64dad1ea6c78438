"""The sweeper fires each deadline exactly once: warning then breach, across restarts and
two processes, late when the bot was down; a failing reaction leaves the timer open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiosqlite
import pytest

from bot.sweeper import Firing, Sweeper
from storage import deadlines
from storage.db import Database, iso
from storage.outbox import enqueue

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def a_case(db: Database) -> int:
    """A bare case row for timers to hang on."""
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO estates(name, created_at) VALUES ('阳光花园', ?)", (iso(T0),)
        )
        cur = await conn.execute(
            "INSERT INTO cases(number, estate_id, kind, status, accepted_at, created_at,"
            " updated_at) VALUES ('XQ-20261127-0001', 1, 'request', 'new', ?, ?, ?)",
            (iso(T0), iso(T0), iso(T0)),
        )
        return int(cur.lastrowid or 0)


async def referral_timer(db: Database, case_id: int) -> None:
    """Q-1: referred within 10 minutes, warned 2 minutes before."""
    async with db.write() as conn:
        await deadlines.schedule(
            conn, case_id, "Q-1", T0 + timedelta(minutes=10), T0 + timedelta(minutes=8)
        )


class Recorder:
    """A reaction that queues one message per firing, as the case engine does."""

    def __init__(self) -> None:
        self.firings: list[Firing] = []

    async def __call__(self, conn: aiosqlite.Connection, firing: Firing) -> None:
        self.firings.append(firing)
        kind = "warn" if firing.warning else "breach"
        await enqueue(conn, -300, f"{firing.deadline.rule} {kind}")


async def outbox_texts(db: Database) -> list[str]:
    return [r["text"] for r in await db.fetchall("SELECT text FROM outbox ORDER BY id")]


async def test_q1_warns_before_and_escalates_at_the_deadline_once(db: Database) -> None:
    case_id = await a_case(db)
    await referral_timer(db, case_id)
    clock, react = Clock(), Recorder()
    sweeper = Sweeper(db, react, clock=clock)
    clock.now = T0 + timedelta(minutes=7, seconds=59)
    assert await sweeper.sweep() == 0
    clock.now = T0 + timedelta(minutes=8)
    assert await sweeper.sweep() == 1
    assert await sweeper.sweep() == 0  # a warning is given once
    clock.now = T0 + timedelta(minutes=10)
    assert await sweeper.sweep() == 1
    clock.now = T0 + timedelta(hours=5)
    assert await sweeper.sweep() == 0  # and a breach fires once
    assert await outbox_texts(db) == ["Q-1 warn", "Q-1 breach"]
    assert [f.late for f in react.firings] == [False, False]


async def test_a_met_deadline_never_fires(db: Database) -> None:
    case_id = await a_case(db)
    await referral_timer(db, case_id)
    async with db.write() as conn:
        assert await deadlines.settle(conn, case_id, ["Q-1"]) == 1
    clock = Clock()
    clock.now = T0 + timedelta(days=1)
    assert await Sweeper(db, Recorder(), clock=clock).sweep() == 0


async def test_a_deadline_that_fell_due_while_the_bot_was_down_fires_on_boot_marked_late(
    db: Database,
) -> None:
    case_id = await a_case(db)
    await referral_timer(db, case_id)
    clock, react = Clock(), Recorder()
    clock.now = T0 + timedelta(hours=3)  # the bot was down from 09:05 to 12:00
    assert await Sweeper(db, react, clock=clock).sweep() == 1
    assert [(f.warning, f.late) for f in react.firings] == [(False, True)]
    row = await db.fetchone("SELECT state, late FROM deadlines")
    assert row is not None and (row["state"], row["late"]) == ("fired", 1)


async def test_two_sweepers_on_one_database_fire_once(db: Database) -> None:
    case_id = await a_case(db)
    await referral_timer(db, case_id)
    other = await Database.open(db.path, clock=db.clock)
    try:
        clock = Clock()
        clock.now = T0 + timedelta(minutes=11)
        first, second = Recorder(), Recorder()
        a, b = Sweeper(db, first, clock=clock), Sweeper(other, second, clock=clock)
        due_a = await a.store.due_breaches(clock.now)
        due_b = await b.store.due_breaches(clock.now)
        assert len(due_a) == len(due_b) == 1  # both saw it due…
        assert await a.sweep() + await b.sweep() == 1  # …one fired it
    finally:
        await other.close()
    assert await outbox_texts(db) == ["Q-1 breach"]


async def test_a_failing_reaction_rolls_back_and_the_timer_stays_open(db: Database) -> None:
    case_id = await a_case(db)
    await referral_timer(db, case_id)

    async def broken(conn: aiosqlite.Connection, firing: Firing) -> None:
        await enqueue(conn, -300, "half-way")
        raise RuntimeError("crash in the middle of firing")

    clock = Clock()
    clock.now = T0 + timedelta(minutes=11)
    assert await Sweeper(db, broken, clock=clock).sweep() == 0
    assert await outbox_texts(db) == []  # the half-queued message went with the rollback
    react = Recorder()
    assert await Sweeper(db, react, clock=clock).sweep() == 1
    assert await outbox_texts(db) == ["Q-1 breach"]


@pytest.mark.parametrize("moved", [timedelta(hours=2), timedelta(hours=-1)])
async def test_q4_rescheduling_a_promise_replaces_the_timer(db: Database, moved: timedelta) -> None:
    """Q-4: a new promised time replaces the old timer (only the latest one fires)."""
    case_id = await a_case(db)
    async with db.write() as conn:
        await deadlines.schedule(conn, case_id, "Q-4", T0 + timedelta(hours=24))
        await deadlines.schedule(conn, case_id, "Q-4", T0 + timedelta(hours=24) + moved)
    clock, react = Clock(), Recorder()
    clock.now = T0 + timedelta(days=3)
    assert await Sweeper(db, react, clock=clock).sweep() == 1
    assert react.firings[0].deadline.due_at == T0 + timedelta(hours=24) + moved
