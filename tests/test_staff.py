"""Staff join by one-time invite links; admins bind department groups (Roles, departments)."""

from __future__ import annotations

import re

import pytest

from procedures.identity import Department, Role
from storage.identity import IdentityStore
from tests.conftest import ADMIN_ID, World
from tests.support.telegram import Harness, Person


def link_code(text: str) -> str:
    found = re.search(r"start=inv_([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


async def roles(world: World, person: Person) -> set[str]:
    identity = IdentityStore(world.db)
    found = await identity.person_by_tg(person.user_id)
    return {m.role for m in await identity.memberships(found.id)} if found else set()


async def test_admin_invites_a_patroller_who_joins_by_the_link(world: World, bot: Harness) -> None:
    admin = bot.person(ADMIN_ID, "管理员")
    await admin.send("/invite")
    assert "请选择岗位" in admin.last_text
    await admin.tap("工程部负责人")
    assert "一次性" in admin.last_text
    code = link_code(admin.last_text)
    assert admin.last_text.count("https://t.me/wuye_test_bot?start=inv_") == 1

    newcomer = bot.person(3001, "郑工", language_code="zh-hans")
    await newcomer.send(f"/start inv_{code}")
    assert "欢迎加入" in newcomer.last_text and "工程部负责人" in newcomer.last_text
    assert "工程部" in newcomer.last_text
    assert await roles(world, newcomer) == {Role.ENGINEERING_HEAD}
    events = await world.db.fetchall("SELECT event FROM audit WHERE subject LIKE 'invite:%'")
    assert [e["event"] for e in events] == ["invite.created", "invite.redeemed"]


async def test_an_invite_works_once(world: World, bot: Harness) -> None:
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    code, _ = await identity.create_invite(
        estate.id, Role.SECURITY, department="security", ttl_hours=72, actor="cli", actor_id=None
    )
    first, second = bot.person(3001, "甲"), bot.person(3002, "乙")
    await first.send(f"/start inv_{code}")
    await second.send(f"/start inv_{code}")
    assert "已经被使用过" in second.last_text
    assert await roles(world, second) == set()
    assert await roles(world, first) == {Role.SECURITY}


async def test_an_expired_invite_is_refused(world: World, bot: Harness) -> None:
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    code, _ = await identity.create_invite(
        estate.id,
        Role.CASHIER,
        department="finance",
        ttl_hours=72,
        actor="cli",
        actor_id=None,
    )
    world.db.clock.advance(hours=73)  # type: ignore[attr-defined]
    late = bot.person(3001, "迟到")
    await late.send(f"/start inv_{code}")
    assert "已过期" in late.last_text
    assert await roles(world, late) == set()


@pytest.mark.parametrize("forged", ["AAAAAAAAAAAAAAAAAAAAAA", "x", "<b>hi</b>", "a" * 61])
async def test_a_forged_invite_code_is_refused(world: World, bot: Harness, forged: str) -> None:
    stranger = bot.person(3001, "陌生人")
    await stranger.send(f"/start inv_{forged}")
    assert "邀请链接无效" in stranger.last_text
    assert await roles(world, stranger) == set()


async def test_a_non_admin_cannot_make_invites(world: World, bot: Harness) -> None:
    guard = bot.person(9005, "陈保华")
    await guard.send("/invite")
    assert "只有管理员" in guard.last_text
    # Nor by pressing a forged invite button.
    await guard.tap_data("inv:r:1:leadership")
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert "只有管理员" in answer["text"]
    row = await world.db.fetchone("SELECT COUNT(*) FROM invites")
    assert row is not None and row[0] == 0


async def test_an_estate_admin_can_invite_too(world: World, bot: Harness) -> None:
    it = bot.person(9011, "韩立新")  # the demo estate's IT admin
    await it.send("/invite")
    await it.tap("客户助理")
    assert "inv_" in it.last_text


async def test_the_project_manager_is_not_an_admin(world: World, bot: Harness) -> None:
    """Managers sign for the manual; the IT tasks are the admin's (PROCEDURES.md, Roles)."""
    manager = bot.person(9008, "钱振东")
    await manager.send("/invite")
    assert "inv_" not in manager.last_text and "管理员" in manager.last_text


async def test_admin_binds_a_department_group(world: World, bot: Harness) -> None:
    admin = bot.person(ADMIN_ID, "管理员")
    group = bot.group(-200, "工程部工作群")
    await admin.send("/bind 工程部", chat=group)
    assert "工程部" in group.last_text and "阳光花园" in group.last_text
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    department = await identity.department(estate.id, Department.ENGINEERING)
    assert department is not None and department.chat_id == -200


async def test_bind_is_refused_to_non_admins_and_outside_groups(world: World, bot: Harness) -> None:
    guard = bot.person(9005, "陈保华")
    group = bot.group(-200, "保安群")
    await guard.send("/bind security", chat=group)
    assert "只有管理员" in group.last_text
    admin = bot.person(ADMIN_ID, "管理员")
    await admin.send("/bind security")
    assert "部门工作群" in admin.last_text
    await admin.send("/bind 食堂", chat=group)
    assert "可选部门" in group.last_text and "customer_service" in group.last_text
    row = await world.db.fetchone("SELECT COUNT(*) FROM departments WHERE chat_id IS NOT NULL")
    assert row is not None and row[0] == 0


async def test_a_group_upgraded_to_a_supergroup_keeps_its_department(
    world: World, bot: Harness
) -> None:
    admin = bot.person(ADMIN_ID, "管理员")
    group = bot.group(-300, "客服群")
    await admin.send("/bind customer_service", chat=group)
    await group.migrate_to_supergroup(-1000000000300)
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    department = await identity.department(estate.id, Department.CUSTOMER_SERVICE)
    assert department is not None and department.chat_id == -1000000000300
    # Alerts now reach the supergroup.
    owner = bot.person(2100, "刘洋", phone="8613700000000")
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("1栋 101")
    assert "业主身份核实申请" in group.last_text


async def test_a_missed_upgrade_is_followed_when_sending_fails(world: World, bot: Harness) -> None:
    """The service message was lost: Telegram's ChatMigrated answer moves the department."""
    admin = bot.person(ADMIN_ID, "管理员")
    group = bot.group(-400, "客服群")
    await admin.send("/bind 客服", chat=group)
    bot.api.migrate_chat(-400, -1000000000400)
    owner = bot.person(2100, "刘洋", phone="8613700000000")
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("1栋 101")
    assert "业主身份核实申请" in (bot.api.last_message(-1000000000400) or {}).get("text", "")
    identity = IdentityStore(world.db)
    departments = await identity.departments_of_chat(-1000000000400)
    assert [d.code for d in departments] == ["customer_service"]
