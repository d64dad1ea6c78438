"""Tell admins when the working-day calendar does not know a year's make-up workdays (调休).

The State Council publishes next year's holiday schedule late in the year; the ``holidays``
package learns it later still. Deadlines counted in working days (R-4, R-14, V-1) in such a
year would ignore the make-up days, so from October on, once a day, each estate whose
calendar does not know the current or the coming year tells its admins (and the
deployment's) what to add to ``WUYE_ESTATES_CONFIG``. A row in ``reports`` (kind
``calendar``) makes it once a day per estate, across restarts.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.i18n import t
from handlers import limits
from handlers.common import Context, Services
from procedures.identity import Role
from procedures.rule_ids import RuleId
from storage.reports import ReportStore

log = logging.getLogger(__name__)

#: How often the job looks (it acts at most once a day per estate).
CALENDAR_EVERY = 3600.0
#: From this month on, next year's schedule is expected to be known.
WATCH_NEXT_YEAR_FROM = 10


def years_to_check(today: datetime) -> list[int]:
    """This year, and from October the next one too."""
    years = [today.year]
    if today.month >= WATCH_NEXT_YEAR_FROM:
        years.append(today.year + 1)
    return years


async def check_calendars(services: Services, now: datetime | None = None) -> int:
    """Warn about unknown years; returns how many estates warned now."""
    identity = services.identity
    warned = 0
    for estate in await identity.estates():
        rules = await services.rules(estate.id)
        local = rules.calendar.local(now or services.clock.now())
        unknown = [y for y in years_to_check(local) if not rules.calendar.schedule_known(y)]
        if not unknown:
            continue
        recipients: dict[int, str] = dict.fromkeys(
            services.settings.admins, services.settings.locale
        )
        for person in await identity.people_with_role(estate.id, Role.ADMIN.value):
            recipients[person.tg_user_id] = services.notifier.locale_of(person)
        years = ", ".join(str(y) for y in unknown)
        messages = [
            (
                chat_id,
                t(
                    locale,
                    "calendar.unknown_years",
                    estate=estate.name,
                    years=years,
                    limit=limits.limit(locale, rules, RuleId.R4),  # the estate's R-4
                ),
            )
            for chat_id, locale in recipients.items()
        ]
        if not await ReportStore(services.db).warn_calendar_once(estate.id, local, years, messages):
            continue  # already told today
        log.warning("estate %s: make-up workdays unknown for %s", estate.name, years)
        warned += 1
    return warned


async def calendar_job(context: Context) -> None:
    """JobQueue entry point."""
    services: Services = context.application.bot_data["services"]
    if await check_calendars(services):
        await services.sender.drain()
