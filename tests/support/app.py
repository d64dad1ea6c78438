"""The running application's parts, as tests reach them: its services (stores, rules,
notifier, sender), its deadline reaction, its clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from bot.sweeper import Sweeper
from handlers import reactions
from handlers.common import Rulebook, Services
from storage.clock import ManualClock

if TYPE_CHECKING:  # conftest imports the support modules its fixtures use
    from tests.conftest import World


def services_of(world: World) -> Services:
    """The services of the bot the test runs."""
    assert world.harness is not None
    return cast(Services, world.harness.application.bot_data["services"])


def clock_of(world: World) -> ManualClock:
    """The bot's clock (the test's: see conftest)."""
    assert isinstance(world.db.clock, ManualClock)
    return world.db.clock


def sweeper_of(world: World, clock: Callable[[], datetime] | None = None) -> Sweeper:
    """A deadline sweeper reacting as the bot's does (``clock``: the sweep's own time)."""
    return Sweeper(world.db, reactions.reactor(services_of(world)), clock=clock)


def configure_estates(world: World, config: dict[str, Any]) -> None:
    """Give the bot this estates config, as its TOML file would."""
    svc = services_of(world)
    svc.rules = Rulebook(svc.identity, config)
    svc.notifier.rules = svc.rules  # notices name the estate's own limits
