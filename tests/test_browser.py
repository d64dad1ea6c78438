"""The sandbox's web chat page in a real browser: Debian's Chromium driven by Playwright.

The sandbox and the real bot run as processes (as in ``make run``); the demo estate's people
and groups are put in the sandbox; then, in the page, an owner registers by sharing the
contact, and changes the language with an inline button. A screenshot is taken after the
registration; with ``WUYE_SCREENSHOT=docs/sandbox.png`` it refreshes the one the README shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.support.sandbox import BotProcess, SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OWNER = 8001  # on the demo roster as the owner of 1栋 101 and 2栋 101
#: People of the demo estate (``seed-demo``'s roster and staff), as the page lists them.
PEOPLE = [
    {"id": OWNER, "first_name": "王伟", "phone": "+8613900000001",
     "label": "业主 · 1栋 101、2栋 101"},
    {"id": 8002, "first_name": "张娜", "phone": "+8613900000002", "label": "业主 · 1栋 102"},
    {"id": 8003, "first_name": "刘敏", "phone": "+8613900000003", "label": "业主 · 1栋 201"},
    {"id": 8100, "first_name": "新业主", "phone": "+8613700000000",
     "label": "业主 · 不在清册（需客服核实）"},
    {"id": 9001, "first_name": "周晓梅", "phone": "+8613500009001", "label": "员工 · 客户助理"},
    {"id": 9003, "first_name": "郑海", "phone": "+8613500009003", "label": "员工 · 工程维修"},
    {"id": 9005, "first_name": "陈保华", "phone": "+8613500009005", "label": "员工 · 保安"},
    {"id": 9008, "first_name": "钱振东", "phone": "+8613500009008",
     "label": "员工 · 项目经理、管理员"},
]  # fmt: skip
TIMEOUT = 60_000  # ms: the bot answers within a second or two; a loaded CI machine may not


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    """The sandbox with the demo estate's people and groups, and the bot polling it."""
    server = SandboxProcess(tmp_path / "sandbox").start()
    bot = BotProcess(server, tmp_path / "wuye.db")
    try:
        bot.cli("seed-demo")
        for person in PEOPLE:
            server.post("/api/people", person)
        server.group("客服中心 · 阳光花园", [9001, 9008])
        bot.start()
        yield server
    finally:
        bot.stop()
        server.stop()
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()  # the pipe SandboxProcess leaves open


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def bot_message(page: Page, fragment: str) -> Locator:
    """The newest of the bot's messages in the open chat that contains ``fragment``."""
    return page.locator('[data-testid="message"].from-bot', has_text=fragment).last


def test_an_owner_registers_and_changes_language_in_the_page(
    sandbox: SandboxProcess, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(
        viewport={"width": 1280, "height": 800}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(TIMEOUT)
    page.goto(sandbox.base + "/")

    # People are grouped into owners and staff; the help panel explains the page.
    expect(page.get_by_test_id("people-group-owners")).to_be_visible()
    expect(page.get_by_test_id("people-group-staff")).to_be_visible()
    page.get_by_test_id("help-toggle").click()
    expect(page.get_by_test_id("help")).to_contain_text("不连接真实的 Telegram")
    page.get_by_test_id("help-toggle").click()

    # A new person through the form lands in the right group.
    page.get_by_test_id("new-person-toggle").click()
    page.get_by_test_id("new-person-name").fill("培训新人")
    page.get_by_test_id("new-person-phone").fill("+8613500000099")
    page.get_by_test_id("new-person-label").fill("员工 · 培训中")
    page.get_by_test_id("new-person-submit").click()
    trainee = page.locator('[data-testid^="person-"]', has_text="培训新人")
    expect(trainee).to_contain_text("培训中")
    assert any(p["first_name"] == "培训新人" for p in sandbox.get("/api/people"))

    # The owner: the private chat with the bot, the label and phone in the header.
    page.get_by_test_id(f"person-{OWNER}").click()
    page.get_by_test_id("chat-list").get_by_test_id(f"chat-{OWNER}").click()
    identity = page.get_by_test_id("chat-identity")
    expect(identity).to_contain_text("1栋 101")
    expect(identity).to_contain_text("+86 139 0000 0001")

    # /start (Enter sends) → the bot asks for the phone number with a reply keyboard.
    page.get_by_test_id("input").fill("/start")
    page.get_by_test_id("input").press("Enter")
    expect(page.locator('[data-testid="message"].mine').last).to_contain_text("/start")
    expect(bot_message(page, "分享您的手机号码")).to_be_visible()
    share = page.get_by_test_id("reply-keyboard").get_by_role("button", name="📱 分享我的手机号码")
    share.click()
    expect(page.get_by_test_id("modal-text")).to_contain_text("+86 139 0000 0001")
    page.get_by_test_id("modal-ok").click()

    # The contact card is sent; the bot confirms and lists the units; the keyboard goes.
    expect(page.get_by_test_id("contact").last).to_contain_text("+86 139 0000 0001")
    verified = bot_message(page, "身份验证成功")
    expect(verified).to_contain_text("1栋 101")
    expect(page.get_by_test_id("reply-keyboard")).to_be_hidden()
    expect(page.get_by_test_id("toast")).to_be_hidden()
    page.mouse.move(0, 0)
    target = os.environ.get("WUYE_SCREENSHOT")
    shot = ROOT / target if target else tmp_path / "sandbox.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page

    # /lang → an inline keyboard; tapping English edits the message in place.
    page.get_by_test_id("input").fill("/lang")
    page.get_by_test_id("send").click()
    chooser = bot_message(page, "Please choose a language")
    chooser.get_by_test_id("inline-button").filter(has_text="English").click()
    edited = bot_message(page, "Language set to English")
    expect(edited.get_by_test_id("edited")).to_be_visible()
    expect(edited.get_by_test_id("inline-button")).to_have_count(0)
    assert errors == []
