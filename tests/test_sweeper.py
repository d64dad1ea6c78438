"""The sweeper fires each deadline exactly once: warning then breach, across restarts and
two processes, late when the bot was down; a failing reaction leaves the timer open.

And on time, when it runs: it sleeps until the next timer's moment, a nearer timer
scheduled meanwhile wakes it, a moved clock is noticed, a due time's milliseconds count,
and a burst of due timers all fire, each once, while other work goes on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiosqlite
import pytest

from bot.sweeper import BATCH, Firing, Sweeper
from storage import deadlines
from storage.clock import ManualClock
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


#: The most a test waits for something that should happen within a fraction of a second.
PATIENCE = 10.0


def running_clock() -> Callable[[], datetime]:
    """Real elapsed time, shifted onto T0 (the sweeper must sleep by it)."""
    began = time.monotonic()
    return lambda: T0 + timedelta(seconds=time.monotonic() - began)


async def until(condition: Callable[[], bool]) -> None:
    """Wait (polling) until ``condition`` holds, at most PATIENCE seconds."""
    end = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < end, "not within the patience of the test"
        await asyncio.sleep(0.01)


async def test_a_nearer_timer_wakes_the_sleeping_sweeper(db: Database) -> None:
    """The sweeper sleeps until the only open timer, an hour away; a timer due in a moment,
    scheduled meanwhile, fires long before that sleep would have ended."""
    case_id = await a_case(db)
    clock, react = running_clock(), Recorder()
    async with db.write() as conn:
        await deadlines.schedule(conn, case_id, "Q-4", T0 + timedelta(hours=1))
    sweeper = Sweeper(db, react, clock=clock)
    sweeper.max_sleep = 3600.0  # nothing but a wake-up could make it look sooner
    sweeper.start()
    try:
        await until(lambda: sweeper.next_moment == T0 + timedelta(hours=1))
        async with db.write() as conn:
            await deadlines.schedule(conn, case_id, "Q-1", clock() + timedelta(seconds=0.2))
        await until(lambda: len(react.firings) == 1)
        assert [f.deadline.rule for f in react.firings] == ["Q-1"]
        assert react.firings[0].now >= react.firings[0].deadline.due_at  # not early
        assert sweeper.next_moment == T0 + timedelta(hours=1)  # back to sleep until Q-4
    finally:
        await sweeper.stop()
    assert await outbox_texts(db) == ["Q-1 breach"]


async def test_a_timer_falling_due_during_a_pass_is_not_held_back(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one firing's reaction takes its time, the next timer falls due: it fires as
    soon as the pass ends, not after the wait kept for failing timers."""
    monkeypatch.setattr("bot.sweeper.RETRY_AFTER", 3600.0)
    case_id = await a_case(db)
    clock, recorder = running_clock(), Recorder()

    async def slow(conn: aiosqlite.Connection, firing: Firing) -> None:
        await recorder(conn, firing)
        if firing.deadline.rule == "Q-1":
            await asyncio.sleep(0.3)

    async with db.write() as conn:
        await deadlines.schedule(conn, case_id, "Q-1", T0 + timedelta(seconds=0.2))
        await deadlines.schedule(conn, case_id, "Q-4", T0 + timedelta(seconds=0.3))
    sweeper = Sweeper(db, slow, clock=clock)
    sweeper.max_sleep = 3600.0
    sweeper.start()
    try:
        await until(lambda: len(recorder.firings) == 2)
    finally:
        await sweeper.stop()
    assert [f.deadline.rule for f in recorder.firings] == ["Q-1", "Q-4"]


async def test_a_clock_moved_forward_is_noticed_promptly(db: Database, clock: ManualClock) -> None:
    """As the end-to-end tests do to the bot: fifteen days pass at once, and the complaint's
    timer due then fires without waiting for the sweeper's longest sleep."""
    case_id = await a_case(db)
    react = Recorder()
    async with db.write() as conn:
        await deadlines.schedule(conn, case_id, "C-11", T0 + timedelta(days=15))
    clock.set(T0)
    sweeper = Sweeper(db, react, clock=clock.now)
    sweeper.max_sleep = 3600.0
    sweeper.recheck = 0.05  # a clock that jumps (OffsetClock) is looked at this often
    sweeper.start()
    try:
        await until(lambda: sweeper.next_moment is not None)
        await asyncio.sleep(0.2)
        assert react.firings == []
        clock.advance(days=15)
        await until(lambda: len(react.firings) == 1)
    finally:
        await sweeper.stop()
    assert await outbox_texts(db) == ["C-11 breach"]


async def test_a_due_time_with_milliseconds_fires_after_it_not_before(db: Database) -> None:
    """A timer due at 09:10:00.250 has not fired at 09:10:00.200 (stored to the second it
    would have), and fires at 09:10:00.250; its warning likewise."""
    case_id = await a_case(db)
    due = T0 + timedelta(minutes=10, milliseconds=250)
    warn = T0 + timedelta(minutes=8, milliseconds=750)
    async with db.write() as conn:
        await deadlines.schedule(conn, case_id, "Q-1", due, warn)
    (stored,) = await deadlines.DeadlineStore(db).of_case(case_id)
    assert (stored.due_at, stored.warn_at) == (due, warn)
    now = T0
    react = Recorder()
    sweeper = Sweeper(db, react, clock=lambda: now)
    now = warn - timedelta(milliseconds=50)
    assert await sweeper.sweep() == 0
    now = warn
    assert await sweeper.sweep() == 1
    now = due - timedelta(milliseconds=50)
    assert await sweeper.sweep() == 0
    assert await deadlines.DeadlineStore(db).next_moment() == due
    now = due
    assert await sweeper.sweep() == 1
    assert await outbox_texts(db) == ["Q-1 warn", "Q-1 breach"]


async def test_timers_stored_to_the_second_still_fire_among_precise_ones(db: Database) -> None:
    """Rows written before due times kept their milliseconds (to the second) sort and fire
    in order with the new ones."""
    case_id = await a_case(db)
    async with db.write() as conn:
        await deadlines.schedule(conn, case_id, "Q-1", T0 + timedelta(seconds=10, microseconds=1))
        await deadlines.schedule(conn, case_id, "Q-4", T0 + timedelta(seconds=11))
        await conn.execute(  # as an older bot stored it
            "INSERT INTO deadlines(subject_kind, subject_id, case_id, rule, due_at, state, data,"
            " created_at) VALUES ('case', ?1, ?1, 'C-11', '2026-11-27T09:00:10+00:00',"
            " 'pending', '{}', '2026-11-27T09:00:00+00:00')",
            (case_id,),
        )
    store = deadlines.DeadlineStore(db)
    assert await store.next_moment() == T0 + timedelta(seconds=10)
    react = Recorder()
    assert await Sweeper(db, react, clock=lambda: T0 + timedelta(seconds=10)).sweep() == 1
    assert await Sweeper(db, react, clock=lambda: T0 + timedelta(seconds=10.5)).sweep() == 1
    assert await outbox_texts(db) == ["C-11 breach", "Q-1 breach"]
    assert await store.next_moment() == T0 + timedelta(seconds=11)


async def test_a_burst_of_due_timers_all_fire_once_while_other_work_goes_on(
    db: Database,
) -> None:
    """More timers fall due at once than one batch holds: every one fires, once, and a
    task that wants the event loop meanwhile gets it while the burst is being fired."""
    case_id = await a_case(db)
    n = 2 * BATCH + 37
    async with db.write() as conn:
        for i in range(n):
            await deadlines.schedule(conn, case_id, f"X-{i}", T0 + timedelta(seconds=i % 7))
    react = Recorder()
    sweeper = Sweeper(db, react, clock=lambda: T0 + timedelta(minutes=1))
    seen_meanwhile: list[int] = []

    async def other_work() -> None:
        while True:
            seen_meanwhile.append(len(react.firings))
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    try:
        assert await sweeper.sweep() == n
    finally:
        other.cancel()
    assert sorted(f.deadline.rule for f in react.firings) == sorted(f"X-{i}" for i in range(n))
    assert any(0 < count < n for count in seen_meanwhile)
    assert len(set(await outbox_texts(db))) == n
    assert await sweeper.sweep() == 0
    assert await deadlines.DeadlineStore(db).next_moment() is None


async def test_within_one_batch_other_work_gets_the_loop_between_firings(db: Database) -> None:
    """The database's statements run on the event loop's thread: a batch (up to 500
    firings) would hold it from its first firing to its last; it is given back after each."""
    case_id = await a_case(db)
    n = 40  # fewer than a batch
    async with db.write() as conn:
        for i in range(n):
            await deadlines.schedule(conn, case_id, f"X-{i}", T0)
    react = Recorder()
    sweeper = Sweeper(db, react, clock=lambda: T0 + timedelta(minutes=1))
    seen_meanwhile: list[int] = []

    async def other_work() -> None:
        while True:
            seen_meanwhile.append(len(react.firings))
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    try:
        assert await sweeper.sweep() == n
    finally:
        other.cancel()
    assert len({count for count in seen_meanwhile if 0 < count < n}) > n // 2


async def test_a_sweeper_stopping_after_another_started_leaves_it_woken(db: Database) -> None:
    """A restarted bot on the same database: the old sweeper stops after the new one started;
    a timer scheduled then still wakes the new one."""
    case_id = await a_case(db)
    clock, old_react, react = running_clock(), Recorder(), Recorder()
    old, new = Sweeper(db, old_react, clock=clock), Sweeper(db, react, clock=clock)
    for sweeper in (old, new):
        sweeper.max_sleep = 3600.0
    old.start()
    new.start()
    await old.stop()
    try:
        await until(lambda: new.running)
        await asyncio.sleep(0.05)  # it looked at the database: nothing is open
        async with db.write() as conn:
            await deadlines.schedule(conn, case_id, "Q-1", clock() + timedelta(seconds=0.1))
        await until(lambda: len(react.firings) == 1)
    finally:
        await new.stop()
    assert old_react.firings == []
