"""The weekly report's helpers: Shanghai wall-clock times, its recipients among the demo
staff, cases filed and stepped through the CaseStore at chosen moments (the ``week`` fixture
of conftest is built with them), and the report's messages as a chat shows them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.demo import DEMO_ESTATE
from procedures.cases import Action, Kind
from procedures.clocks import timer
from procedures.decisions import Decision
from storage.cases import Case, NewCase
from storage.db import iso
from storage.identity import IdentityStore
from tests.support.app import clock_of, services_of, sweeper_of
from tests.support.telegram import Group, JSONDict, Person

if TYPE_CHECKING:  # conftest imports this module for its fixtures
    from tests.conftest import World

SH = ZoneInfo("Asia/Shanghai")


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH)


#: Recipients (Q-5, C-15, B-5) among the demo staff, and two staff who are not.
RECIPIENTS = {9002: "吴建国", 9008: "钱振东", 9009: "林慧", 9010: "赵总"}
NOT_RECIPIENTS = {9001: "周晓梅", 9007: "孙志远"}


async def estate_id(world: World) -> int:
    estate = await IdentityStore(world.db).estate_by_name(DEMO_ESTATE)
    assert estate is not None
    return estate.id


async def deployed_at(world: World, moment: datetime) -> None:
    """The estate was created at ``moment`` (the deployment's start for it): the demo is
    seeded by the fixture at the clock's start, so its row is dated back here."""
    async with world.db.write() as conn:
        await conn.execute("UPDATE estates SET created_at = ?", (iso(moment),))


async def file(
    world: World, kind: Kind, category: str, accepted: datetime, rules: list[str]
) -> Case:
    """File a case through the CaseStore with its clocks, accepted at ``accepted`` (the
    clock is moved there first)."""
    clock_of(world).set(accepted)
    svc = services_of(world)
    eid = await estate_id(world)
    book = await svc.rules(eid)
    timers = [timer(book, rule, accepted) for rule in rules]
    return await svc.cases.file(
        NewCase(eid, kind, category, "测试事项"),
        accepted,
        lambda case: Decision(start=timers),
        actor="test",
    )


async def step(
    world: World,
    case: Case,
    action: Action,
    at: datetime,
    *,
    stop: list[str] | None = None,
    start: list[str] | None = None,
    **changes: Any,
) -> None:
    """Step a case through the CaseStore (its clocks settled as met) at ``at`` (the clock is
    moved there first)."""
    clock_of(world).set(at)
    svc = services_of(world)
    book = await svc.rules(case.estate_id)
    timers = [timer(book, rule, at) for rule in start or []]
    decision = Decision(action=action, changes=changes, stop=stop or [], start=timers)
    assert await svc.cases.apply(case.id, decision, by=None, actor="test") is not None


async def sweep_at(world: World, moment: datetime) -> int:
    """The deadline sweeper at ``moment``: what is due fires (missed deadlines)."""
    clock_of(world).set(moment)
    return await sweeper_of(world).sweep()


def reports_in(view: Person | Group, marker: str = "周报") -> list[str]:
    """The report's text messages (not the captions of its chart and spreadsheet)."""
    return [m["text"] for m in view.messages() if "text" in m and marker in m["text"]]


def report_files(view: Person | Group) -> tuple[list[JSONDict], list[JSONDict]]:
    """The chart photos and spreadsheet documents the bot sent to a chat."""
    messages = view.messages()
    return [m for m in messages if "photo" in m], [m for m in messages if "document" in m]
