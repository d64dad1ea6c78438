"""Renovations put straight into the database for the papers' tests (the control sheet, the
patrol grid, the weekly report, the dossier): a unit of the demo estate's roster, its owner,
the renovation in a given state with its patrol duties when active, deposit lines,
rectification notices and patrols — the rows the flows of tests/test_renovation.py write,
without walking every step for each of many renovations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.demo import DEMO_ESTATE
from procedures.renovation import PATROL_DEPARTMENTS, Status
from storage.db import iso
from storage.identity import IdentityStore

if TYPE_CHECKING:
    from tests.conftest import World


async def demo_estate(world: World) -> int:
    estate = await IdentityStore(world.db).estate_by_name(DEMO_ESTATE)
    assert estate is not None
    return estate.id


async def seed_renovation(
    world: World,
    building: str,
    unit: str,
    status: Status,
    *,
    owner: str = "王伟",
    contractor: str = "安居装饰",
    period: tuple[date, date] = (date(2026, 11, 1), date(2027, 1, 31)),
    at: datetime | None = None,
) -> tuple[int, str]:
    """A renovation of the unit ``building unit`` (added to the roster when new; ``owner``
    its owner on the roster) in ``status``, with the three departments' patrol duties when
    active; its id and number."""
    estate_id = await demo_estate(world)
    now = iso(at or world.db.clock.now())
    async with world.db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO units(estate_id, building, number, area_m2, owner_name, owner_phone,"
            " updated_at) VALUES (?, ?, ?, '90', ?, '+8613911110000', ?)"
            " ON CONFLICT(estate_id, building, number)"
            " DO UPDATE SET owner_name = excluded.owner_name RETURNING id",
            (estate_id, building, unit, owner, now),
        )
        row = await cur.fetchone()
        assert row is not None
        unit_id = int(row[0])
        cur = await conn.execute(
            "INSERT INTO people(tg_user_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (700000 + unit_id, owner, now, now),
        )
        person = int(cur.lastrowid or 0)
        number = f"ZX-20261101-{unit_id:04d}"
        cur = await conn.execute(
            "INSERT INTO renovations(number, estate_id, unit_id, owner_id, status, period_from,"
            " period_to, contractor, head_name, head_phone, committed_at, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '李工', '13800138000', ?, ?, ?)",
            (number, estate_id, unit_id, person, status.value, period[0].isoformat(),
             period[1].isoformat(), contractor, now, now, now),
        )  # fmt: skip
        ren_id = int(cur.lastrowid or 0)
        if status in (Status.ACTIVE, Status.SUSPENDED):
            for department in PATROL_DEPARTMENTS:
                await conn.execute(
                    "INSERT INTO renovation_patrol_duties(renovation_id, department) VALUES (?, ?)",
                    (ren_id, department),
                )
    return ren_id, number


async def ledger(world: World, ren_id: int, *lines: tuple[str, int], for_kind: str | None = None,
                 reference: str | None = None, at: datetime | None = None) -> None:  # fmt: skip
    """Deposit ledger lines (kind, fen) of a renovation."""
    now = iso(at or world.db.clock.now())
    async with world.db.write() as conn:
        for kind, fen in lines:
            await conn.execute(
                "INSERT INTO renovation_deposit(renovation_id, kind, amount_fen, for_kind,"
                " reference, at) VALUES (?, ?, ?, ?, ?, ?)",
                (ren_id, kind, fen, for_kind if kind == "arrears" else None, reference, now),
            )


async def notice(world: World, ren_id: int, state: str = "issued") -> None:
    """A rectification notice of a serious violation, in ``state``."""
    now = iso(world.db.clock.now())
    async with world.db.write() as conn:
        await conn.execute(
            "INSERT INTO renovation_notices(renovation_id, department, note, due, state,"
            " created_by, created_at) VALUES (?, 'engineering', '拆改承重墙', '2026-12-01', ?,"
            " 1, ?)",
            (ren_id, state, now),
        )


async def patrolled(
    world: World, ren_id: int, department: str, day: date, result: str = "ok",
    at: datetime | None = None,
) -> None:  # fmt: skip
    """A department's patrol of ``day``."""
    async with world.db.write() as conn:
        await conn.execute(
            "INSERT INTO renovation_patrols(renovation_id, department, day, result, by_id, at)"
            " VALUES (?, ?, ?, ?, 1, ?)",
            (ren_id, department, day.isoformat(), result, iso(at or world.db.clock.now())),
        )
