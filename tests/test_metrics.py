"""Prometheus metrics (``WUYE_METRICS_PORT``): after one update, one send and one fired clock,
each counter shows it; the outbox's depth and age and the clocks past due are read from the
database when scraped; a backup is counted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot.backups import daily_backup
from bot.metrics import Metrics
from bot.settings import Settings
from bot.sweeper import Sweeper
from procedures.cases import Kind
from storage import outbox
from tests.conftest import World
from tests.support.app import clock_of
from tests.support.reports import file, local
from tests.support.telegram import Harness


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test deployment, with metrics on (the port is served only by ``python -m bot
    run``; here the counters are read from the registry)."""
    return settings.model_copy(update={"metrics_port": 9464})


def metrics_of(bot: Harness) -> Metrics:
    metrics = bot.application.bot_data["metrics"]
    assert isinstance(metrics, Metrics)
    return metrics


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_one_update_one_send_and_one_fired_clock_each_show(
    world: World, bot: Harness
) -> None:
    metrics = metrics_of(bot)
    assert value(metrics, "wuye_updates_total", kind="message") == 0

    owner = bot.person(2001, "王伟")
    await owner.send("/help")
    assert value(metrics, "wuye_updates_total", kind="message") == 1
    assert value(metrics, "wuye_handler_seconds_count") == 1
    assert value(metrics, "wuye_sends_total", result="sent") == 0

    sender = bot.application.bot_data["outbox"]
    async with world.db.write() as conn:
        await outbox.enqueue(conn, 2001, "一条通知")
    assert value(metrics, "wuye_outbox_pending") == 1  # read from the database when scraped
    clock_of(world).advance(minutes=3)
    assert value(metrics, "wuye_outbox_oldest_seconds") == 180
    await sender.drain()
    assert value(metrics, "wuye_sends_total", result="sent") == 1
    assert value(metrics, "wuye_outbox_pending") == 0

    case = await file(world, Kind.REQUEST, "repairs", local(2026, 11, 27, 10), ["Q-1"])
    assert case.number
    assert value(metrics, "wuye_clocks_open") == 1
    clock_of(world).advance(minutes=10, seconds=2)  # 10 minutes
    assert value(metrics, "wuye_clocks_overdue") == 1
    sweeper: Sweeper = bot.application.bot_data["sweeper"]
    assert await sweeper.sweep() == 1
    assert value(metrics, "wuye_clocks_fired_total", what="breach", late="false") == 1
    assert value(metrics, "wuye_clock_lateness_seconds_count") == 1
    assert value(metrics, "wuye_clock_lateness_seconds_sum") == 2.0
    assert value(metrics, "wuye_clocks_overdue") == 0

    page = metrics.render().decode()
    assert 'wuye_updates_total{kind="message"} 1.0' in page
    assert 'wuye_sends_total{result="sent"} 1.0' in page
    assert 'wuye_clocks_fired_total{late="false",what="breach"} 1.0' in page


async def test_a_refused_send_is_counted_by_its_result(world: World, bot: Harness) -> None:
    metrics = metrics_of(bot)
    bot.person(2002, "李娜")
    bot.world.block_bot(2002, announce=False)  # the person blocked the bot: 403
    async with world.db.write() as conn:
        await outbox.enqueue(conn, 2002, "一条通知")
    await bot.application.bot_data["outbox"].drain()
    assert value(metrics, "wuye_sends_total", result="blocked") == 1
    assert value(metrics, "wuye_sends_total", result="sent") == 0


async def test_the_daily_backup_is_counted(world: World, bot: Harness, settings: Settings) -> None:
    metrics = metrics_of(bot)
    context: Any = SimpleNamespace(application=bot.application)
    await daily_backup(context)
    assert value(metrics, "wuye_backups_total", result="ok") == 1
    assert value(metrics, "wuye_backup_last_success_timestamp_seconds") > 0
    (copy,) = settings.backup_dir.glob("wuye-*.db")
    assert copy.name == "wuye-20261127T010000Z.db"  # named by the bot's clock
