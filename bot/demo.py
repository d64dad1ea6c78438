"""The demo estate: units with owners, staff with roles. Running it twice changes nothing.

Owners' phones are ``+86 139 0000 NNNN``; staff are people with Telegram ids from 9001 so
the local sandbox can play them.
"""

from __future__ import annotations

from decimal import Decimal

from procedures.identity import ROLE_DEPARTMENT, Role
from procedures.roster import RosterRow
from storage.db import Database
from storage.identity import IdentityStore

DEMO_ESTATE = "阳光花园"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明"]

#: The demo estate's IT admin (the project manager holds no admin role: an admin is IT).
DEMO_ADMIN = 9011

#: (Telegram id, name, roles) of the demo staff.
DEMO_STAFF: list[tuple[int, str, list[Role]]] = [
    (9001, "周晓梅", [Role.CUSTOMER_ASSISTANT]),
    (9002, "吴建国", [Role.CC_SUPERVISOR]),
    (9003, "郑海", [Role.ENGINEERING]),
    (9004, "冯立", [Role.ENGINEERING_HEAD]),
    (9005, "陈保华", [Role.SECURITY]),
    (9006, "何小芸", [Role.CASHIER]),
    (9007, "孙志远", [Role.PROJECT_SUPERVISOR]),
    (9008, "钱振东", [Role.PROJECT_MANAGER]),
    (9009, "林慧", [Role.MGMT_MANAGER]),
    (9010, "赵总", [Role.LEADERSHIP]),
    # IT: invites, the roster, department groups, settings; signs nothing of the manual.
    (DEMO_ADMIN, "韩立新", [Role.ADMIN]),
]


def demo_rows() -> list[RosterRow]:
    """3 buildings × 6 floors × 2 units; the owner of 1栋 101 also owns 2栋 101."""
    rows: list[RosterRow] = []
    n = 0
    for building in (1, 2, 3):
        for floor in range(1, 7):
            for door in (1, 2):
                n += 1
                owner = n if (building, floor, door) != (2, 1, 1) else 1
                name = SURNAMES[owner % len(SURNAMES)] + GIVEN[owner % len(GIVEN)]
                rows.append(
                    RosterRow(
                        line=n + 1,
                        building=f"{building}栋",
                        unit=f"{floor}0{door}",
                        owner_name=name,
                        owner_phone=f"+861390000{owner:04d}",
                        area_m2=Decimal(89 + 14 * door + floor),
                    )
                )
    return rows


async def seed(db: Database) -> str:
    """Create the demo estate, its units and staff; returns a one-line summary."""
    identity = IdentityStore(db)
    estate = await identity.ensure_estate(DEMO_ESTATE, actor="seed-demo")
    summary = await identity.import_roster(estate.id, demo_rows(), actor="seed-demo", actor_id=None)
    for tg_id, name, roles in DEMO_STAFF:
        person = await identity.touch_person(tg_id, name, None, "zh-hans")
        for role in roles:
            department = ROLE_DEPARTMENT.get(role)
            await identity.grant_role(
                person.id,
                estate.id,
                role,
                department=department.value if department else None,
                actor="seed-demo",
            )
    return (
        f"{DEMO_ESTATE}: {summary.created + summary.updated + summary.unchanged} units, "
        f"{len(DEMO_STAFF)} staff. Demo owners' phones: +86 139 0000 0001 … 0036."
    )
