"""Fixtures: a clean environment, a fresh database, the bot wired to a fake Bot API, and
what several test modules start from (bound groups, a week of cases). Their helpers live in
tests/support/; no test module imports another (tests/test_layout.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application
from bot.demo import seed
from bot.pacing import SteppingClock
from bot.settings import Settings
from procedures.cases import Action, Kind
from storage.cases import Case
from storage.clock import ManualClock
from storage.db import Database
from tests.support.reports import deployed_at, file, local, step, sweep_at
from tests.support.telegram import FakeBotApi, Group, Harness, Person

TOKEN = "123456:TEST-TOKEN-never-logged"
ADMIN_ID = 500
#: The demo roster's owner of 1栋 101 and 2栋 101, as a Telegram contact carries it.
OWNER_PHONE = "8613900000001"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No WUYE_* variable or .env file of the machine leaks into a test."""
    for name in list(os.environ):
        if name.startswith("WUYE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def pace_in_no_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every outbox sender a test builds paces itself on a clock that moves when slept on
    (bot.pacing.SteppingClock): the waits Telegram's limits ask for (a second per private
    chat, a group's minute) are taken in order and cost no real time. Tests of pacing pass
    their own clock; the benchmarks pace on real time."""
    monkeypatch.setattr("bot.outbox.pace_clock", SteppingClock)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a test deployment with one deployment admin."""
    return Settings(
        token=TOKEN,
        db=tmp_path / "wuye.db",
        data_dir=tmp_path / "files",
        admins=(ADMIN_ID,),
        bot_username="wuye_test_bot",
        _env_file=None,  # type: ignore[call-arg]
    )


#: Where every test's clock starts: a Friday morning of an ordinary working week in
#: Shanghai (09:00 local). Tests never read the machine's date; they move this clock.
T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    """The application's clock, standing at :data:`T0` until the test moves it."""
    return ManualClock(T0)


@pytest.fixture
async def db(settings: Settings, clock: ManualClock) -> AsyncIterator[Database]:
    """A migrated database in a temporary folder, on the test's clock."""
    database = await Database.open(settings.db, clock=clock)
    yield database
    await database.close()


class World:
    """The bot as a running process over one database, which tests can restart or crash."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.api = FakeBotApi()
        self.harness: Harness | None = None

    async def start(self) -> Harness:
        """Build and initialise the application (as `python -m bot run` does, minus polling)."""
        app = build_application(self.settings, db=self.db, request=self.api, rate_limit=False)
        await app.initialize()
        if self.harness is None:
            self.harness = Harness(app, self.api)
        else:
            self.harness.application = app
        return self.harness

    async def stop(self) -> None:
        """A clean shutdown (persistence flushed by PTB)."""
        assert self.harness is not None
        await self.harness.application.shutdown()

    async def crash_and_restart(self) -> Harness:
        """The process dies without any shutdown; a new one starts on the same database."""
        return await self.start()


@pytest.fixture
async def world(settings: Settings, db: Database) -> AsyncIterator[World]:
    """The bot, started."""
    w = World(settings, db)
    await w.start()
    yield w
    assert w.harness is not None
    app: Any = w.harness.application
    if app.running:
        await app.stop()
    await app.shutdown()


@pytest.fixture
async def bot(world: World) -> Harness:
    """The bot with the demo estate (阳光花园: units, staff 9001–9010; see bot.demo)."""
    await seed(world.db)
    assert world.harness is not None
    return world.harness


@pytest.fixture
async def owner(bot: Harness) -> Person:
    """王伟, registered owner of 1栋 101 and 2栋 101 (phone on the demo roster)."""
    person = bot.person(2001, "王伟", phone=OWNER_PHONE)
    await person.send("/start")
    await person.share_contact()
    return person


# --- bound groups and a week of cases, which several test modules start from ---------


@pytest.fixture
async def cs(bot: Harness) -> Group:
    """The customer-service group, bound by the admin."""
    admin = bot.person(ADMIN_ID, "管理员")
    group = bot.group(-100, "客服中心")
    await admin.send("/bind 客服中心", chat=group)
    return group


@pytest.fixture
async def groups(bot: Harness) -> dict[str, Group]:
    """The customer-service and engineering groups, bound by the admin."""
    admin = bot.person(ADMIN_ID, "管理员")
    cs, eng = bot.group(-100, "客服中心"), bot.group(-200, "工程部")
    await admin.send("/bind 客服中心", chat=cs)
    await admin.send("/bind 工程部", chat=eng)
    return {"cs": cs, "eng": eng}


@pytest.fixture
async def week(world: World, bot: Harness) -> dict[str, Case]:
    """The week of Mon 2026-10-12: the estate went live on Friday 2026-10-09 at 18:00.

    * R1 request (repairs) Mon 10:00 → engineering, done Tue, called back (closed) Wed;
    * R2 request (cleaning) Tue 09:00, nobody acted: Q-1 and Q-4 missed;
    * C1 complaint (noise, major) Wed 11:00 → security, done Thu, callback C-14 missed;
    * C2 complaint (parking, not classified) Sat 10-10 08:00 → security, in progress;
    * OLD request filed in September, done this Wednesday, callback not yet due;
    * LATE complaint filed at Friday 17:00 sharp: next week's.
    """
    await deployed_at(world, local(2026, 10, 9, 18))
    r1 = await file(world, Kind.REQUEST, "repairs", local(2026, 10, 12, 10), ["Q-1", "Q-4"])
    await step(world, r1, Action.REFER, local(2026, 10, 12, 10, 5), stop=["Q-1"],
               department="engineering")  # fmt: skip
    await step(world, r1, Action.DONE, local(2026, 10, 13, 9), stop=["Q-4"], start=["B-1"])
    await step(world, r1, Action.CLOSE, local(2026, 10, 14, 15), stop=["B-1"])
    r2 = await file(world, Kind.REQUEST, "cleaning", local(2026, 10, 13, 9), ["Q-1", "Q-4"])
    c1 = await file(world, Kind.COMPLAINT, "noise", local(2026, 10, 14, 11), ["Q-1", "C-5-week"])
    await step(world, c1, Action.REFER, local(2026, 10, 14, 11, 5), stop=["Q-1"],
               department="security", severity="major")  # fmt: skip
    await step(world, c1, Action.DONE, local(2026, 10, 15, 11), start=["C-14"])
    c2 = await file(world, Kind.COMPLAINT, "parking", local(2026, 10, 10, 8), ["Q-1", "C-5-week"])
    await step(world, c2, Action.REFER, local(2026, 10, 10, 8, 5), stop=["Q-1"],
               department="security")  # fmt: skip
    await step(world, c2, Action.TAKE, local(2026, 10, 10, 9))
    old = await file(world, Kind.REQUEST, "repairs", local(2026, 9, 1, 10), [])
    await step(world, old, Action.RESOLVE, local(2026, 10, 14, 10), start=["B-1"])
    late = await file(world, Kind.COMPLAINT, "noise", local(2026, 10, 16, 17), ["Q-1"])
    # The sweeper fired what came due: R2's, C1's C-14.
    assert await sweep_at(world, local(2026, 10, 16, 16, 59)) == 3
    return {"r1": r1, "r2": r2, "c1": c1, "c2": c2, "old": old, "late": late}


@pytest.fixture
async def management(world: World, bot: Harness) -> Group:
    """The management department's group, bound by the admin."""
    group = bot.group(-300, "管理部")
    await bot.person(ADMIN_ID, "管理员").send("/bind 管理部", chat=group)
    return group
