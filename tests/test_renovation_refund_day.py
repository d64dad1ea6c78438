"""R-21's earliest date is a date: on that day the owner may claim the deposit even
before the bot's timer (09:00) opened the refund; the claim opens it and is accepted, and
the timer, when it fires, tells nobody again."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from procedures.renovation import Status
from storage import audit
from storage.clock import ManualClock
from storage.renovation import RenovationStore
from tests.conftest import World
from tests.support.app import services_of, sweeper_of
from tests.support.renovation_steps import ASSISTANT, ENGINEER, GUARD, alert, to_works
from tests.support.renovation_steps import customer_head as customer_head  # the fixture
from tests.support.telegram import Group, Harness, Person

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.usefixtures("customer_head")


async def status_of(world: World, ren_id: int) -> Status:
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None
    return ren.status


async def to_held(world: World, bot: Harness, groups: dict[str, Group], owner: Person) -> int:
    """Through the completion inspection, passed on Friday 27 November 2026 by engineering
    and security: the deposit held until Saturday 27 February 2027."""
    ren_id = await to_works(world, bot, groups, owner)
    await owner.tap("申请竣工验收")
    await owner.tap("2026-11-30")
    await bot.person(ASSISTANT, "周晓梅").tap("通知工程部、保安部验收", chat=groups["cs"])
    await bot.person(ENGINEER, "郑海").tap("验收合格")
    await bot.person(GUARD, "陈保华").tap("验收合格")
    return ren_id


async def open_refund(world: World, clock: ManualClock, at: datetime) -> None:
    """The bot's clock moved to ``at`` and the bot restarted; its sweeper runs."""
    clock.set(at)
    await world.crash_and_restart()
    await sweeper_of(world, clock=lambda: at).sweep()
    await services_of(world).deliver()


async def test_r21_a_claim_on_the_earliest_date_before_the_timer_opens_the_refund_once(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    clock: ManualClock,
) -> None:
    """R-21: held until Saturday 27 February 2027; on that day at 08:00 (the timer fires
    at 09:00) the owner's claim is accepted, not refused as "not at the refund": the refund
    opens with it (the owner told once) and customer service gets the claim; at 09:00 the
    timer fires and nobody is told again."""
    ren_id = await to_held(world, bot, groups, owner)
    seen = owner.mark()
    await open_refund(world, clock, datetime(2027, 2, 26, 23, 0, tzinfo=SHANGHAI))
    await owner.tap("申请退还押金")  # the day before: still refused, with the date
    assert "最早可退日期：2027-02-27" in alert(bot)
    await open_refund(world, clock, datetime(2027, 2, 27, 8, 0, tzinfo=SHANGHAI))
    assert await status_of(world, ren_id) == Status.DEPOSIT_HELD  # the timer: at 09:00
    await owner.tap("申请退还押金")
    assert "已提交退还押金申请" in alert(bot)
    assert await status_of(world, ren_id) == Status.REFUND_DUE
    cs = bot.person(ASSISTANT, "周晓梅").messages(groups["cs"])
    assert "申请人：业主" in cs[-1]["text"]
    await open_refund(world, clock, datetime(2027, 2, 27, 9, 0, 1, tzinfo=SHANGHAI))
    told = [t for t in owner.texts(seen) if "可以申请退还了" in t]
    assert len(told) == 1
    trail = [e["event"] for e in await audit.trail(world.db, f"renovation:{ren_id}")]
    assert trail.count("renovation.open_refund") == 1
    assert trail.count("renovation.refund_claimed") == 1
