"""Fixtures: a clean environment, a fresh database, and the bot wired to a fake Bot API."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application
from bot.demo import seed
from bot.settings import Settings
from storage.clock import ManualClock
from storage.db import Database
from tests.support.telegram import FakeBotApi, Harness, Person

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
