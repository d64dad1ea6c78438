"""Each person's command menu in their private chat: their roles' commands, in their
language, set when a role or the language changes (bot/menus.py), as Telegram shows it
(the sandbox resolves chat scope > all private chats > default, language first)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import cast

import pytest

from bot.app import set_commands
from bot.menus import MenuSync
from procedures.identity import Role
from storage.identity import IdentityStore
from tests.conftest import ADMIN_ID, OWNER_PHONE, World
from tests.support.app import clock_of
from tests.support.telegram import Harness, Person

OWNERS = {"request", "complain", "my"}
STAFF = {"record", "case", "visit", "pending"}
ADMINS = {"invite", "import"}


def menus_of(bot: Harness) -> MenuSync:
    """The bot's menu sync, its calls not paced (tests make a few)."""
    menus = cast(MenuSync, bot.application.bot_data["menus"])
    menus.gap = 0
    return menus


def commands_seen(bot: Harness, person: Person) -> dict[str, str]:
    """What the person's app lists in their chat with the bot now."""
    return {c["command"]: c["description"] for c in bot.api.world.menu(person.user_id)}


async def menu(bot: Harness, person: Person) -> dict[str, str]:
    """Set the menus due, then what the person's app lists in their chat with the bot."""
    await menus_of(bot).sync()
    return commands_seen(bot, person)


def chat_menu_calls(bot: Harness, person: Person) -> int:
    """setMyCommands calls for the person's own chat."""
    scopes = [call.params.get("scope") for call in bot.api.calls_of("setMyCommands")]
    scopes = [json.loads(s) if isinstance(s, str) else s for s in scopes]
    return sum(1 for s in scopes if s and s.get("chat_id") == person.user_id)


async def test_an_owner_sees_owners_commands_and_no_staff_command(
    bot: Harness, owner: Person
) -> None:
    await set_commands(bot.application)  # the defaults: they stay for people not yet known
    commands = await menu(bot, owner)
    assert set(commands) >= OWNERS and not (STAFF | ADMINS) & set(commands)
    assert commands["request"] == "报事 / 报修 / 建议"
    assert list(commands)[:3] == ["request", "complain", "my"]
    stranger = bot.person(7777, "路人")  # never talked to the bot: the default menu
    assert {c["command"] for c in bot.api.world.menu(stranger.user_id)} >= {"start", "help"}


async def test_a_customer_assistant_and_an_it_admin_see_theirs_in_their_language(
    bot: Harness,
) -> None:
    assistant = bot.person(9001, "周晓梅", language_code="zh-hant")
    await assistant.send("/whoami")
    commands = await menu(bot, assistant)
    assert set(commands) >= STAFF and not (OWNERS | ADMINS) & set(commands)
    assert commands["record"] == "登記來電/來訪（員工）"  # Traditional, from zh-hant
    it = bot.person(9011, "韩立新", language_code="en")
    await it.send("/whoami")
    commands = await menu(bot, it)
    assert set(commands) >= ADMINS and not ({"record", "visit"} | OWNERS) & set(commands)
    assert commands["invite"] == "Invite staff (admins)"
    deployment_admin = bot.person(ADMIN_ID, "管理员")
    await deployment_admin.send("/whoami")
    assert set(await menu(bot, deployment_admin)) >= ADMINS


async def test_after_lang_en_the_menu_is_in_english(bot: Harness, owner: Person) -> None:
    assert (await menu(bot, owner))["my"] == "我的事项"
    await owner.send("/lang")
    await owner.tap("English")
    commands = await menu(bot, owner)
    assert commands["my"] == "My cases" and commands["complain"] == "Complaint"
    await owner.send("/lang")
    await owner.tap("繁體中文")
    assert (await menu(bot, owner))["my"] == "我的事項"


async def test_a_role_revoked_removes_its_commands(world: World, bot: Harness) -> None:
    identity = IdentityStore(world.db)
    estate = await identity.estate_by_name("阳光花园")
    assert estate is not None
    person = bot.person(OWNER_ID := 2001, "王伟", phone=OWNER_PHONE)
    await person.send("/start")
    await person.share_contact()
    found = await identity.person_by_tg(OWNER_ID)
    assert found is not None
    await identity.grant_role(
        found.id, estate.id, Role.CUSTOMER_ASSISTANT, department="customer_service", actor="cli"
    )
    assert set(await menu(bot, person)) >= (STAFF | OWNERS)
    await identity.revoke_role(
        found.id, estate.id, Role.CUSTOMER_ASSISTANT, actor="cli", actor_id=None
    )
    commands = await menu(bot, person)
    assert set(commands) >= OWNERS and not STAFF & set(commands)


async def test_one_call_per_change_and_none_per_update(bot: Harness, owner: Person) -> None:
    """A menu is set when what it shows changes, never for an update that changes nothing."""
    await menu(bot, owner)
    before = chat_menu_calls(bot, owner)
    assert before >= 1
    for _ in range(3):
        await owner.send("/whoami")
    await menu(bot, owner)
    assert chat_menu_calls(bot, owner) == before
    await owner.send("/lang")
    await owner.tap("English")
    await menu(bot, owner)
    assert chat_menu_calls(bot, owner) == before + 1


async def test_a_failure_is_logged_never_blocks_the_step_and_is_tried_again(
    world: World, bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    menus = menus_of(bot)
    await menus.sync()  # the demo's staff, who have no chat with the bot in this test
    bot.api.world.inject("setMyCommands", "500")
    owner = bot.person(2001, "王伟", phone=OWNER_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    assert any("身份验证成功" in text for text in owner.texts())  # the step went on
    with caplog.at_level(logging.WARNING, logger="bot.menus"):
        await menus.sync()
    assert "could not set the menu" in caplog.text
    assert not OWNERS & set(commands_seen(bot, owner))
    clock_of(world).advance(seconds=11)  # the first retry comes after 10 s
    assert list(await menu(bot, owner))[:3] == ["request", "complain", "my"]


async def test_the_background_task_sets_a_menu_without_being_asked(bot: Harness) -> None:
    """As in `python -m bot run`: the task started in post_init sets what a step marked."""
    menus = menus_of(bot)
    owner = bot.person(2001, "王伟", phone=OWNER_PHONE)
    menus.start()
    try:
        await owner.send("/start")
        await owner.share_contact()
        menus.poke()
        for _ in range(200):
            if set(commands_seen(bot, owner)) >= OWNERS:
                break
            await asyncio.sleep(0.01)
        assert set(commands_seen(bot, owner)) >= OWNERS
    finally:
        await menus.stop()


async def test_start_up_sets_what_changed_while_the_bot_was_away(
    world: World, bot: Harness
) -> None:
    """A menu already right is not set again; one whose texts or rules changed is."""
    menus = menus_of(bot)
    owner = bot.person(2001, "王伟", phone=OWNER_PHONE)
    await owner.send("/start")
    await owner.share_contact()
    await menus.sync()
    await menus.reconcile()
    person = await IdentityStore(world.db).person_by_tg(owner.user_id)
    assert person is not None
    assert person.id not in {t.person_id for t in await menus.store.due()}  # nothing changed
    menus.admins = frozenset({owner.user_id})  # WUYE_ADMINS changed across a restart
    await menus.reconcile()
    assert person.id in {t.person_id for t in await menus.store.due()}
    assert set(await menu(bot, owner)) >= ADMINS


async def test_start_up_compares_a_large_roster_page_by_page(
    world: World, bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read a page at a time (here two people a page), every person whose menu changed is
    found, on every page, and those whose menu is right are not set again."""
    monkeypatch.setattr("bot.menus.PAGE", 2)
    menus = menus_of(bot)
    people = [bot.person(2001 + i, f"业主{i}") for i in range(5)]
    for person in people:
        await person.send("/start")
    ids = {p.user_id for p in people}
    await menus.sync()
    await menus.reconcile()
    assert not ids & {t.tg_user_id for t in await menus.store.due()}  # all five are right
    menus.admins = frozenset({people[1].user_id, people[4].user_id})  # after a restart
    await menus.reconcile()
    due = {t.tg_user_id for t in await menus.store.due()}
    assert ids & due == {people[1].user_id, people[4].user_id}
    assert set(await menu(bot, people[4])) >= ADMINS
    assert not set(commands_seen(bot, people[0])) & ADMINS
