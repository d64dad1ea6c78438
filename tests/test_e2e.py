"""End to end: the sandbox and the real bot as processes, polling over HTTP as in production.

Each test plays people through the sandbox's JSON API, as staff would in the web page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox import BotProcess, SandboxProcess, wait_for

ADMIN = 500


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    server = SandboxProcess(tmp_path / "sandbox").start()
    yield server
    server.stop()


@pytest.fixture
def bot(sandbox: SandboxProcess, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(sandbox, tmp_path / "wuye.db", admins=str(ADMIN))
    process.cli("seed-demo")
    process.start()
    yield process
    process.stop()


def test_h1_an_owner_registers_by_sharing_the_contact(
    sandbox: SandboxProcess, bot: BotProcess
) -> None:
    owner = sandbox.player(8001, "王伟", phone="+8613900000001")
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    keyboard = sandbox.get("/api/chats/8001/keyboard")
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    owner.share_contact()
    text = owner.wait_text("身份验证成功")
    assert "1栋 101" in text and "2栋 101" in text
    assert sandbox.get("/api/chats/8001/keyboard") is None

    # The menu of their chat with the bot becomes an owner's, set by the bot in the
    # background (the default lists every command; a newcomer's, none of an owner's).
    def menu() -> set[str]:
        return {c["command"] for c in sandbox.get("/api/chats/8001/commands?as=8001")}

    owners = {"request", "complain", "my"}
    wait_for(lambda: owners <= menu() and "record" not in menu(), what="the owner's menu")
    assert not {"case", "invite", "import"} & menu()


def test_h1_customer_service_verifies_an_owner_not_on_the_roster(
    sandbox: SandboxProcess, bot: BotProcess
) -> None:
    admin = sandbox.player(ADMIN, "管理员")
    assistant = sandbox.player(9001, "周晓梅")
    group = sandbox.group("客服中心", [ADMIN, 9001])
    admin.send("/bind 客服中心", chat=group)
    sandbox.wait_text(group, "本群已绑定")
    owner = sandbox.player(8100, "新业主", phone="+8613700000000")
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    owner.share_contact()
    owner.wait_text("请输入您在")
    owner.send("3栋 602")
    owner.wait_text("已将您的申请")
    sandbox.wait_text(group, "业主身份核实申请")
    answer = assistant.tap("✅ 核实通过", chat=group)
    assert answer["answer"] is not None
    owner.wait_text("客服中心已核实您的身份")


def test_staff_join_by_invite(sandbox: SandboxProcess, bot: BotProcess) -> None:
    link = bot.cli("invite", "--estate", "阳光花园", "--role", "security").stdout.strip()
    code = link.split("start=", 1)[1]
    guard = sandbox.player(3001, "保安小李")
    guard.send(f"/start {code}")
    assert "保安部" in guard.wait_text("欢迎加入")
    stranger = sandbox.player(3002, "路人")
    stranger.send(f"/start {code}")
    stranger.wait_text("已经被使用过")


def test_a_department_group_is_bound_and_survives_its_upgrade(
    sandbox: SandboxProcess, bot: BotProcess
) -> None:
    admin = sandbox.player(ADMIN, "管理员")
    sandbox.player(9001, "周晓梅")
    group = sandbox.group("客服群", [ADMIN, 9001])
    admin.send("/bind customer_service", chat=group)
    sandbox.wait_text(group, "本群已绑定")
    upgraded = sandbox.post(f"/api/groups/{group}/upgrade")
    new_id = int(upgraded["id"])
    assert new_id < -1_000_000_000_000
    owner = sandbox.player(8100, "新业主", phone="+8613700000000")
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    owner.share_contact()
    owner.wait_text("请输入您在")
    owner.send("1栋 101")
    sandbox.wait_text(new_id, "业主身份核实申请")


def step_of(bot: BotProcess, user: int) -> int | None:
    """The registration step stored for a user (read from outside, as a crash would leave it)."""
    import sqlite3

    conn = sqlite3.connect(bot.env["WUYE_DB"])
    try:
        row = conn.execute(
            "SELECT state FROM ptb_conversations WHERE name = 'registration' AND key = ?",
            (f"[{user}, {user}]",),
        ).fetchone()
    finally:
        conn.close()
    return int(row[0]) if row else None


def test_a_crash_half_way_through_registration_loses_nothing(
    sandbox: SandboxProcess, bot: BotProcess
) -> None:
    """The process is killed after each step is stored: a SIGKILL in the few milliseconds
    between a reply and its persistence would repeat that one question, never lose data."""
    owner = sandbox.player(8100, "新业主", phone="+8613700000000")
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    wait_for(lambda: step_of(bot, 8100) == 1, what="the step to be stored")
    bot.kill()  # SIGKILL while the owner reads the question
    owner.share_contact()  # sent while the bot is down: the sandbox keeps the update
    bot.start()
    owner.wait_text("请输入您在")
    wait_for(lambda: step_of(bot, 8100) == 3, what="the step to be stored")
    bot.kill()
    bot.start()
    owner.send("1栋 101")
    owner.wait_text("已将您的申请")


def test_a_429_from_telegram_delays_a_reply_but_does_not_lose_it(
    sandbox: SandboxProcess, bot: BotProcess
) -> None:
    owner = sandbox.player(8001, "王伟", phone="+8613900000001")
    sandbox.post("/api/faults", {"method": "sendMessage", "kind": "429", "retry_after": 1})
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    calls = sandbox.get("/api/calls?method=sendMessage")
    assert [c.get("error_code") for c in calls][:2] == [429, None]
    assert wait_for(lambda: sandbox.get("/api/faults") == [], what="the fault to be used")
