"""Admins are told, once a day, when a year's make-up workdays (调休) are unknown: every
clock counted in working days depends on them (the note's example is the renovation
decision's limit, a clock of the table; the renovation procedure itself is not built)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.calendar_watch import check_calendars
from bot.demo import seed
from tests.conftest import ADMIN_ID, World
from tests.support.app import configure_estates, services_of
from tests.support.calendar import PUBLISHED, UNPUBLISHED


async def test_calendar_watch_from_october_admins_hear_that_next_years_schedule_is_unknown(
    world: World,
) -> None:
    """Next year's make-up days are not published yet (ENVIRONMENT.md): the demo estate's
    admin and the deployment admin are told, once that day, even across a restart."""
    await seed(world.db)
    services = services_of(world)
    assert world.harness is not None
    admin = world.harness.person(ADMIN_ID, "管理员")
    manager = world.harness.person(9011, "韩立新")  # the demo estate's IT admin
    october = datetime(PUBLISHED, 10, 20, 2, 0, tzinfo=UTC)
    assert await check_calendars(services, october) == 1
    await services.sender.drain()
    assert str(UNPUBLISHED) in admin.last_text and "调休" in admin.last_text
    assert "阳光花园" in manager.last_text
    assert await check_calendars(services, october) == 0  # once a day
    await world.crash_and_restart()
    assert await check_calendars(services_of(world), october) == 0


async def test_calendar_watch_nothing_to_say_when_the_years_are_known(world: World) -> None:
    await seed(world.db)
    services = services_of(world)
    june = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 2026's schedule is known
    assert await check_calendars(services, june) == 0


async def test_calendar_watch_the_admins_note_names_the_estates_own_renovation_limit(
    world: World,
) -> None:
    """The example in the note is the estate's own renovation-decision limit (2 working
    days here), not the manual's."""
    await seed(world.db)
    configure_estates(world, {"estates": {"阳光花园": {"rules": {"R-4": {"due": "2wd"}}}}})
    services = services_of(world)
    assert world.harness is not None
    admin = world.harness.person(ADMIN_ID, "管理员")
    assert await check_calendars(services, datetime(PUBLISHED, 10, 20, 2, 0, tzinfo=UTC)) == 1
    await services.sender.drain()
    assert "如装修审批的 2 个工作日" in admin.last_text
    for staff in (9001, 9002, 9008):  # the settings file is the admins' business only
        assert world.harness.api.messages(staff) == []
