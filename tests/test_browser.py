"""The sandbox's web chat page in a real browser: Debian's Chromium driven by Playwright.

The sandbox and the real bot run as processes (as in ``make run``); the demo estate's people
and groups are put in the sandbox; then, in the page, an owner registers by sharing the
contact, and changes the language with an inline button. A screenshot is taken after the
registration; with ``WUYE_SCREENSHOT=docs/sandbox.png`` it refreshes the one the README shows.
The "/" button shows the command menu the bot set for the owner, in their language.
Then replies: the bot's question with a ForceReply is answered by just typing (the reply bar
opens by itself), and any message is answered with its reply action. Then photos: an album
picked at once, from the owner through customer service to the engineer, whose photo reply
reaches the owner (screenshots of each moment in the test's ``walk/`` folder); an album
whose upload is slow still arrives whole, before the bot's answer. An engineer answers a
case card with a text and then a photo, and the owner gets both; and, without "reply to",
from his private chat, which the card's ✍️ 回复业主 link opens. Times are the estate's
(Shanghai's) in a browser set to New York's zone.

When a test fails, what its pages did (console, errors, sends and their times) and the
bot's last log lines are printed with it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.support.sandbox import BotProcess, Player, SandboxProcess, wait_for

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
ASSISTANT = 9001  # 周晓梅, customer assistant, in the 客服中心 group
IT_ADMIN = 9011  # 韩立新, the demo estate's IT admin (binds department groups)
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
#: ``WUYE_SCREENSHOT``, read when the module loads: conftest's clean environment drops every
#: WUYE_* variable before a test runs.
SCREENSHOT = os.environ.get("WUYE_SCREENSHOT")

#: What the test's pages did and said (console, uncaught errors, failed requests, the
#: sends and how long each took), printed with the bot's last log lines when the test ends:
#: pytest shows them only for a test that failed.
JOURNAL: list[str] = []


def watch(page: Page) -> None:
    """Keep what ``page`` does in :data:`JOURNAL`."""
    started = time.monotonic()

    def note(what: str) -> None:
        JOURNAL.append(f"{time.monotonic() - started:7.2f}s {what}")

    def finished(request: Any) -> None:
        if request.method != "GET":
            took = request.timing.get("responseEnd", -1)
            note(f"{request.method} {request.url} ({took:.0f} ms)")

    def answered(response: Any) -> None:
        if response.status >= 400:
            note(f"HTTP {response.status} {response.request.method} {response.url}")

    page.on("console", lambda message: note(f"console.{message.type}: {message.text}"))
    page.on("pageerror", lambda exc: note(f"page error: {exc}"))
    page.on("requestfailed", lambda r: note(f"failed: {r.method} {r.url} {r.failure}"))
    page.on("requestfinished", finished)
    page.on("response", answered)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    """The sandbox with the demo estate's people and groups, and the bot polling it."""
    JOURNAL.clear()
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
        print("--- the page:", *JOURNAL, sep="\n")
        if bot.log.exists():
            lines = bot.log.read_text(encoding="utf-8", errors="replace").splitlines()
            print("--- the bot's log, last lines:", *lines[-40:], sep="\n")


@pytest.fixture
def browser() -> Iterator[Browser]:
    # Every expect waits as long as the page's actions do (Playwright's default is 5 s,
    # which a bot answering on a loaded machine can overrun).
    expect.set_options(timeout=TIMEOUT)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def bot_message(page: Page, fragment: str) -> Locator:
    """The newest of the bot's messages in the open chat that contains ``fragment``."""
    return page.locator('[data-testid="message"].from-bot', has_text=fragment).last


def open_page(
    browser: Browser, sandbox: SandboxProcess, fragment: str = "", zone: str = "Asia/Shanghai"
) -> Page:
    """The page in a new browser window whose own time zone is ``zone``."""
    page = browser.new_page(
        viewport={"width": 1280, "height": 800}, locale="zh-CN", timezone_id=zone
    )
    page.set_default_timeout(TIMEOUT)
    watch(page)
    page.goto(sandbox.base + "/" + fragment)
    return page


def menu_of(sandbox: SandboxProcess, person: int) -> dict[str, str]:
    """The command menu a person sees in their chat with the bot: command → description."""
    commands = sandbox.get(f"/api/chats/{person}/commands?as={person}")
    return {c["command"]: c["description"] for c in commands}


def message_with(sandbox: SandboxProcess, chat: int, text: str) -> dict[str, Any]:
    """The newest message of a chat whose text contains ``text`` (waiting for it), as the
    JSON API gives it: what the bot received, or sent."""

    def find() -> dict[str, Any] | None:
        messages = reversed(sandbox.messages(chat))
        return next((m for m in messages if text in str(m.get("text"))), None)

    found: dict[str, Any] = wait_for(find, what=f"{text!r} in chat {chat}")
    return found


def test_an_owner_registers_and_changes_language_in_the_page(
    sandbox: SandboxProcess, browser: Browser, tmp_path: Path
) -> None:
    page = open_page(browser, sandbox)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

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
    shot = ROOT / SCREENSHOT if SCREENSHOT else tmp_path / "sandbox.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page

    # The "/" menu lists an owner's commands now (the bot sets it in the background).
    def owners_menu(description: str) -> bool:  # not the default, which lists every command
        menu = menu_of(sandbox, OWNER)
        return menu.get("my") == description and "record" not in menu

    wait_for(lambda: owners_menu("我的事项"), what="the owner's menu")
    page.get_by_test_id("commands").click()
    items = page.get_by_test_id("commands-menu").get_by_test_id("command-item")
    expect(items.filter(has_text="/request")).to_contain_text("报事")
    expect(items.filter(has_text="/record")).to_have_count(0)
    page.mouse.click(5, 5)
    expect(page.get_by_test_id("commands-menu")).to_be_hidden()

    # /lang → an inline keyboard; tapping English edits the message in place.
    page.get_by_test_id("input").fill("/lang")
    page.get_by_test_id("send").click()
    chooser = bot_message(page, "Please choose a language")
    chooser.get_by_test_id("inline-button").filter(has_text="English").click()
    edited = bot_message(page, "Language set to English")
    expect(edited.get_by_test_id("edited")).to_be_visible()
    expect(edited.get_by_test_id("inline-button")).to_have_count(0)

    # The menu follows the language; picking a command sends it.
    wait_for(lambda: owners_menu("My cases"), what="the English menu")
    page.get_by_test_id("commands").click()
    items.filter(has_text="/my").click()
    expect(page.locator('[data-testid="message"].mine').last).to_contain_text("/my")
    assert errors == []


def test_an_owner_answers_the_bots_question_by_typing_and_replies_to_any_message(
    sandbox: SandboxProcess, browser: Browser, tmp_path: Path
) -> None:
    """The bot's callback ends with "还有其他意见或建议吗？" sent with a ForceReply: the page
    opens the reply bar on it (with the bot's placeholder), so the owner just types; the bot
    receives a reply to that very message. Any other message is answered with 回复."""
    # Through the JSON API: the group is bound, the owner registers and files a request,
    # customer service resolves it on the spot; the bot asks the owner whether it is solved.
    sandbox.post("/api/people", {"id": IT_ADMIN, "first_name": "韩立新", "label": "员工 · 管理员"})
    cs = next(g["id"] for g in sandbox.get("/api/state")["groups"] if "客服中心" in g["title"])
    sandbox.post(f"/api/groups/{cs}/members", {"user_id": IT_ADMIN})
    Player(sandbox, IT_ADMIN).send("/bind 客服中心", chat=cs)
    sandbox.wait_text(cs, "本群已绑定")
    owner = Player(sandbox, OWNER)
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    owner.share_contact()
    owner.wait_text("身份验证成功")
    owner.send("/request")
    owner.tap("报修")
    owner.tap("阳光花园 · 1栋 101")
    owner.send("楼道灯不亮")
    owner.tap("普通")
    owner.wait_text("已受理")
    Player(sandbox, ASSISTANT).tap("✅ 当场解决", chat=cs)
    owner.wait_text("请问问题解决了吗")

    page = open_page(browser, sandbox, f"#p={OWNER}&c={OWNER}")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    question = bot_message(page, "请问问题解决了吗")
    question.get_by_test_id("inline-button").filter(has_text="已解决").click()
    bot_message(page, "请打分").locator('[data-callback$=":4"]').click()
    expect(bot_message(page, "已结案")).to_be_visible()

    # The ForceReply: the reply bar opens by itself on the question, with its placeholder.
    asked = owner.wait_text("还有其他意见或建议吗")
    prompt = message_with(sandbox, OWNER, asked)
    assert "reply_markup" not in prompt  # as Telegram: the Message does not carry it
    bar = page.get_by_test_id("reply-bar")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("回复：还有其他意见或建议吗？")
    expect(bar).to_have_attribute("data-message-id", str(prompt["message_id"]))
    expect(page.get_by_test_id("input")).to_have_attribute("placeholder", "您的意见或建议（可选）")
    page.mouse.move(0, 0)
    shot = tmp_path / "reply-bar.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    # Just typing answers it: a reply to that message, quoted in the bubble; the bar closes.
    page.get_by_test_id("input").fill("希望把楼道灯换成感应灯")
    page.get_by_test_id("input").press("Enter")
    mine = page.locator('[data-testid="message"].mine', has_text="希望把楼道灯换成感应灯")
    expect(mine.get_by_test_id("quote")).to_contain_text("还有其他意见或建议吗")
    expect(bar).to_be_hidden()
    expect(bot_message(page, "已收到您的意见")).to_be_visible()
    answer = message_with(sandbox, OWNER, "希望把楼道灯换成感应灯")
    assert answer["reply_to_message"]["message_id"] == prompt["message_id"]
    wait_for(lambda: sandbox.get(f"/api/people/{OWNER}/chats")[0]["force_reply"] is None)
    expect(page.get_by_test_id("input")).to_have_attribute("placeholder", "输入消息… Message")

    # Any message: its 回复 action (on hover) opens the bar; ✕ cancels; the next text
    # sent answers the message chosen.
    filed = bot_message(page, "已受理")
    filed.hover()
    filed.get_by_test_id("reply-action").click()
    expect(bar).to_contain_text("回复：✅ 已受理")
    page.get_by_test_id("reply-cancel").click()
    expect(bar).to_be_hidden()
    filed.hover()
    filed.get_by_test_id("reply-action").click()
    expect(bar).to_have_attribute("data-message-id", filed.get_attribute("data-message-id") or "")
    page.get_by_test_id("input").fill("灯已经亮了，谢谢")
    page.get_by_test_id("send").click()
    thanks = page.locator('[data-testid="message"].mine', has_text="灯已经亮了，谢谢")
    expect(thanks.get_by_test_id("quote")).to_contain_text("已受理")
    expect(bar).to_be_hidden()
    sent = message_with(sandbox, OWNER, "灯已经亮了，谢谢")
    assert str(sent["reply_to_message"]["message_id"]) == filed.get_attribute("data-message-id")
    assert errors == []


ENGINEER = 9003  # 郑海, engineering, in the 工程部 group


def jpeg(path: Path, size: tuple[int, int]) -> Path:
    """A small real JPEG (a photo-like picture made with Pillow) at ``path``."""
    from tests.support.images import encoded, textured

    path.write_bytes(encoded(textured(size), "JPEG", quality=85))
    return path


def play(page: Page, person: int, chat: int) -> None:
    """Switch to ``person`` in the page and open their ``chat``."""
    page.get_by_test_id(f"person-{person}").click()
    page.get_by_test_id("chat-list").get_by_test_id(f"chat-{chat}").click()
    name = next(str(p["first_name"]) for p in PEOPLE if p["id"] == person)
    expect(page.get_by_test_id("identity-name")).to_have_text(name)


def message_with_caption(sandbox: SandboxProcess, chat: int, text: str) -> dict[str, Any]:
    """The newest message of a chat whose caption contains ``text`` (waiting for it)."""

    def find() -> dict[str, Any] | None:
        messages = reversed(sandbox.messages(chat))
        return next((m for m in messages if text in str(m.get("caption"))), None)

    found: dict[str, Any] = wait_for(find, what=f"{text!r} in a caption in chat {chat}")
    return found


def pick_photos(page: Page, files: list[Path]) -> None:
    """📎 → 图片, and the files chosen in the browser's file chooser."""
    page.get_by_test_id("attach").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("attach-photo").click()
    assert chooser.value.is_multiple()
    chooser.value.set_files([str(f) for f in files])


def test_photos_from_the_owners_album_to_the_engineers_reply_in_the_page(
    sandbox: SandboxProcess, browser: Browser, tmp_path: Path
) -> None:
    """The photo flows as people see them: the owner files a repair with a two-photo album
    picked at once in the page (one message each, sharing a media_group_id, the caption on
    the first); customer service sees the card with 📷 2 and the album, and refers it to
    工程部; the engineer gets the card with the photos, takes it, and replies to the card
    with a photo; the owner receives that photo and its text. A file that is no picture is
    refused politely. Screenshots of each moment are kept in ``walk/``."""
    shots = tmp_path / "walk"
    shots.mkdir()

    def shot(page: Page, name: str, top: Locator | None = None) -> None:
        """The page as the person sees it (``top``: scrolled to show that message first)."""
        page.mouse.move(0, 0)
        expect(page.get_by_test_id("toast")).to_be_hidden(timeout=10_000)
        if top is not None:
            top.evaluate("node => node.closest('.message').scrollIntoView({block: 'start'})")
        page.wait_for_timeout(400)  # the chat's smooth scrolling comes to rest
        path = shots / f"{len(list(shots.iterdir())) + 1:02d}-{name}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000

    # The groups bound by the estate's IT admin; the owner registered (the JSON API).
    sandbox.post("/api/people", {"id": IT_ADMIN, "first_name": "韩立新", "label": "员工 · 管理员"})
    groups = sandbox.get("/api/state")["groups"]
    cs = next(g["id"] for g in groups if "客服中心" in g["title"])
    sandbox.post(f"/api/groups/{cs}/members", {"user_id": IT_ADMIN})
    eng = sandbox.group("工程部 · 阳光花园", [ENGINEER, IT_ADMIN])
    admin = Player(sandbox, IT_ADMIN)
    admin.send("/bind 客服中心", chat=cs)
    admin.send("/bind 工程部", chat=eng)
    sandbox.wait_text(eng, "本群已绑定")
    owner = Player(sandbox, OWNER)
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    owner.share_contact()
    owner.wait_text("身份验证成功")
    leak = [jpeg(tmp_path / "渗水-1.jpg", (800, 600)), jpeg(tmp_path / "渗水-2.jpg", (600, 800))]

    page = open_page(browser, sandbox, f"#p={OWNER}&c={OWNER}")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The owner: /request → 报修 → the unit → two photos picked at once, with the caption.
    page.get_by_test_id("input").fill("/request")
    page.get_by_test_id("input").press("Enter")
    bot_message(page, "报修").get_by_test_id("inline-button").filter(has_text="报修").click()
    units = bot_message(page, "阳光花园 · 1栋 101").get_by_test_id("inline-button")
    units.filter(has_text="阳光花园 · 1栋 101").click()
    expect(bot_message(page, "请描述情况")).to_be_visible(timeout=TIMEOUT)
    pick_photos(page, leak)
    bar = page.get_by_test_id("attachment")
    expect(bar).to_contain_text("2 张图片")
    expect(bar.get_by_test_id("attachment-thumb")).to_have_count(2)
    page.get_by_test_id("input").fill("卫生间天花板渗水")
    shot(page, "owner-album-chosen")
    page.get_by_test_id("input").press("Enter")
    sent = page.locator('[data-testid="message"].mine.in-album')
    expect(sent).to_have_count(2, timeout=TIMEOUT)
    expect(sent.first).to_contain_text("卫生间天花板渗水")
    expect(sent.first.get_by_test_id("album-tag")).to_have_text("1/2")
    expect(bar).to_be_hidden()
    mine = [m for m in sandbox.messages(OWNER) if m.get("photo") and not m["from"]["is_bot"]]
    assert len(mine) == 2 and mine[0]["media_group_id"] == mine[1]["media_group_id"]
    assert mine[0]["caption"] == "卫生间天花板渗水" and "caption" not in mine[1]
    urgency = bot_message(page, "这件事紧急吗")
    urgency.get_by_test_id("inline-button").filter(has_text="普通").click()
    filed = bot_message(page, "已受理")
    expect(filed).to_be_visible(timeout=TIMEOUT)
    number = (filed.text_content() or "").split("编号 ", 1)[1].split("。", 1)[0].strip()
    shot(page, "owner-filed", top=sent.first)

    # Customer service: the card says 📷 2, the group shows the two photos; refer it.
    play(page, ASSISTANT, cs)
    card = bot_message(page, "📷 照片 2 张")
    expect(card).to_contain_text(number, timeout=TIMEOUT)
    photos = page.locator('[data-testid="message"].from-bot [data-testid="photo"]')
    expect(photos).to_have_count(2, timeout=TIMEOUT)
    shot(page, "cs-opened")
    shot(page, "cs-card-and-album", top=card)
    card.get_by_test_id("inline-button").filter(has_text="➡️ 转交部门").click()
    card.get_by_test_id("inline-button").filter(has_text="工程部").click()
    expect(card).to_contain_text("状态：已转交", timeout=TIMEOUT)
    left = card.get_by_test_id("inline-button")  # only the time promised to the owner
    expect(left).to_have_count(1)
    expect(left).to_contain_text("约定完成时间")
    shot(page, "cs-referred", top=card)

    # The engineer: the card and the two photos in 工程部; 接单; a photo replying to the card.
    play(page, ENGINEER, eng)
    card = page.locator('[data-testid="message"].from-bot', has_text=number).filter(
        has=page.get_by_test_id("inline-keyboard")
    )
    expect(card).to_contain_text("📷 照片 2 张", timeout=TIMEOUT)
    expect(photos).to_have_count(2, timeout=TIMEOUT)
    shot(page, "eng-opened")
    shot(page, "eng-album-and-card", top=photos.first)
    take = card.get_by_test_id("inline-button").filter(has_text="🙋 接单")
    take.click()
    expect(take).to_have_count(0, timeout=TIMEOUT)
    card.hover()
    card.get_by_test_id("reply-action").click()
    expect(page.get_by_test_id("reply-bar")).to_contain_text(number)
    pick_photos(page, [jpeg(tmp_path / "修好了.jpg", (640, 480))])
    expect(bar).to_contain_text("修好了.jpg")
    page.get_by_test_id("input").fill("已更换防水层，渗水已止住")
    shot(page, "eng-reply-chosen")
    page.get_by_test_id("send").click()
    answer = page.locator('[data-testid="message"].mine', has_text="已更换防水层")
    expect(answer.get_by_test_id("photo")).to_be_visible(timeout=TIMEOUT)
    expect(answer.get_by_test_id("quote")).to_contain_text(number)
    reply = message_with_caption(sandbox, eng, "已更换防水层")
    assert "media_group_id" not in reply  # one photo is no album
    assert str(reply["reply_to_message"]["message_id"]) == card.get_attribute("data-message-id")
    shot(page, "eng-replied")

    # The owner: the engineer's photo and text arrive.
    play(page, OWNER, OWNER)
    got = page.locator('[data-testid="message"].from-bot', has_text="已更换防水层")
    expect(got.get_by_test_id("photo")).to_be_visible(timeout=TIMEOUT)
    shot(page, "owner-got-photo")

    # A file that is no picture, called .jpg, while describing a request: refused politely,
    # sent as a file or picked as a photo (the page sends that as a file, as Telegram's apps).
    fake = tmp_path / "照片.jpg"
    fake.write_text("这不是图片，是一段文字。\n" * 20, encoding="utf-8")
    page.get_by_test_id("input").fill("/request")
    page.get_by_test_id("input").press("Enter")
    bot_message(page, "报修").get_by_test_id("inline-button").filter(has_text="报修").click()
    units = bot_message(page, "阳光花园 · 1栋 101").get_by_test_id("inline-button")
    units.filter(has_text="阳光花园 · 1栋 101").click()
    expect(bot_message(page, "请描述情况")).to_be_visible(timeout=TIMEOUT)
    page.get_by_test_id("attach").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("attach-document").click()
    chooser.value.set_files(str(fake))
    page.get_by_test_id("send").click()
    expect(bot_message(page, "不是图片")).to_be_visible(timeout=TIMEOUT)
    pick_photos(page, [fake])
    page.get_by_test_id("send").click()
    files = page.locator('[data-testid="message"].mine [data-testid="document"]')
    expect(files).to_have_count(2, timeout=TIMEOUT)
    refusals = page.locator('[data-testid="message"].from-bot', has_text="不是图片")
    expect(refusals).to_have_count(2, timeout=TIMEOUT)
    shot(page, "owner-not-an-image")
    mine = [m for m in sandbox.messages(OWNER) if m.get("photo") and not m["from"]["is_bot"]]
    assert len(mine) == 2  # the album's; the text was no photo
    assert errors == []


def register_owner(sandbox: SandboxProcess) -> Player:
    """The owner 王伟 registered by sharing the contact (through the JSON API)."""
    owner = Player(sandbox, OWNER)
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    owner.share_contact()
    owner.wait_text("身份验证成功")
    return owner


def test_an_album_sent_over_a_slow_upload_stays_together_in_the_page(
    sandbox: SandboxProcess, browser: Browser, tmp_path: Path
) -> None:
    """The bot asks "这件事紧急吗" as soon as it has the album's captioned first photo. The
    page once sent an album one photo per request: with a slow upload the question landed
    between the two photos, the page no longer drew them as one album and the owner's two
    album bubbles never appeared. Now the album goes in one request, as Telegram's apps send
    it: each upload here takes 4 s, and the two photos still come first, together."""
    owner = register_owner(sandbox)
    owner.send("/request")
    owner.tap("报修")
    owner.tap("阳光花园 · 1栋 101")
    owner.wait_text("请描述情况")
    page = open_page(browser, sandbox, f"#p={OWNER}&c={OWNER}")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    expect(bot_message(page, "请描述情况")).to_be_visible()

    uploads: list[str] = []

    def slowly(route: Any) -> None:  # a slow network: each send takes 4 s to arrive
        uploads.append(route.request.url)
        time.sleep(4)
        route.continue_()

    page.route("**/api/chats/*/*", lambda route: slowly(route)
               if route.request.method == "POST" else route.continue_())  # fmt: skip
    leak = [jpeg(tmp_path / "渗水-1.jpg", (800, 600)), jpeg(tmp_path / "渗水-2.jpg", (600, 800))]
    pick_photos(page, leak)
    page.get_by_test_id("input").fill("卫生间天花板渗水")
    page.get_by_test_id("input").press("Enter")

    sent = page.locator('[data-testid="message"].mine.in-album')
    expect(sent).to_have_count(2)
    expect(sent.first).to_contain_text("卫生间天花板渗水")
    expect(sent.last.get_by_test_id("album-tag")).to_have_text("2/2")
    question = bot_message(page, "这件事紧急吗")
    expect(question).to_be_visible()
    # On the page as in the chat: the album's two photos, then the bot's question.
    ids = [int(m.get_attribute("data-message-id") or 0) for m in sent.all()]
    assert ids[1] == ids[0] + 1
    assert int(question.get_attribute("data-message-id") or 0) > ids[1]
    assert uploads == [f"{sandbox.base}/api/chats/{OWNER}/album"]
    question.get_by_test_id("inline-button").filter(has_text="普通").click()
    expect(bot_message(page, "已受理")).to_be_visible()
    assert errors == []


def test_times_in_the_page_are_the_estates_whatever_the_browsers_time_zone(
    sandbox: SandboxProcess, browser: Browser
) -> None:
    """A trainer in New York opens the page: the bot's message shows the time the estate's
    people read (Shanghai's, the demo estate's zone, which the sandbox gives the page), not
    New York's; hovering it gives the date, the weekday and the zone; the day separator is
    Shanghai's day; the help says which zone the times are in."""
    register_owner(sandbox)
    page = open_page(browser, sandbox, f"#p={OWNER}&c={OWNER}", zone="America/New_York")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
    verified = message_with(sandbox, OWNER, "身份验证成功")
    there = datetime.fromtimestamp(verified["date"], ZoneInfo("Asia/Shanghai"))
    here = datetime.fromtimestamp(verified["date"], ZoneInfo("America/New_York"))
    assert f"{there:%H:%M}" != f"{here:%H:%M}"
    bubble = page.locator(f'[data-testid="message"][data-message-id="{verified["message_id"]}"]')
    shown = bubble.get_by_test_id("time")
    expect(shown).to_have_text(f"{there:%H:%M}")
    day = f"{there.year}年{there.month}月{there.day}日"
    weekday = "一二三四五六日"[there.weekday()]
    tooltip = f"{day} 星期{weekday} {there:%H:%M:%S} · Asia/Shanghai (GMT+8)"
    expect(shown).to_have_attribute("title", tooltip)
    expect(page.get_by_test_id("day").last).to_have_text(day)
    page.get_by_test_id("help-toggle").click()
    expect(page.get_by_test_id("help-zone")).to_have_text("Asia/Shanghai (GMT+8)")


def test_staff_reply_to_a_case_card_with_text_and_photo_reaches_the_owner(
    sandbox: SandboxProcess, browser: Browser, tmp_path: Path
) -> None:
    """The engineer 郑海, in the 工程部 group, answers the card of the case he took with its
    回复 action: first a text, then a photo alone (no caption). Each is a reply to the card
    (the bot confirms each in the group: 已记录 … 的进展), and the owner 王伟 finds both in
    the chat with the bot: the text as the case's progress, and the photo, its caption
    naming the case and the engineer."""
    # Through the JSON API: the groups bound; the owner files a repair; customer service
    # refers it to 工程部, where the engineer takes it.
    sandbox.post("/api/people", {"id": IT_ADMIN, "first_name": "韩立新", "label": "员工 · 管理员"})
    cs = next(g["id"] for g in sandbox.get("/api/state")["groups"] if "客服中心" in g["title"])
    sandbox.post(f"/api/groups/{cs}/members", {"user_id": IT_ADMIN})
    eng = sandbox.group("工程部 · 阳光花园", [ENGINEER, IT_ADMIN])
    admin = Player(sandbox, IT_ADMIN)
    admin.send("/bind 客服中心", chat=cs)
    admin.send("/bind 工程部", chat=eng)
    sandbox.wait_text(eng, "本群已绑定")
    owner = register_owner(sandbox)
    owner.send("/request")
    owner.tap("报修")
    owner.tap("阳光花园 · 1栋 101")
    owner.send("厨房水龙头一直滴水")
    owner.tap("普通")
    number = owner.wait_text("已受理").split("编号 ", 1)[1].split("。", 1)[0].strip()
    assistant = Player(sandbox, ASSISTANT)
    assistant.tap("➡️ 转交部门", chat=cs)
    assistant.tap("工程部", chat=cs)
    Player(sandbox, ENGINEER).tap("🙋 接单", chat=eng)
    sandbox.wait_text(eng, "郑海")

    # The engineer, in the page: the card in 工程部; 回复 → a text.
    page = open_page(browser, sandbox, f"#p={ENGINEER}&c={eng}")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    expect(page.get_by_test_id("identity-name")).to_have_text("郑海")
    card = page.locator('[data-testid="message"].from-bot', has_text=number).filter(
        has=page.get_by_test_id("inline-keyboard")
    )
    expect(card).to_contain_text("厨房水龙头一直滴水")
    card_id = card.get_attribute("data-message-id")
    card.hover()
    card.get_by_test_id("reply-action").click()
    bar = page.get_by_test_id("reply-bar")
    expect(bar).to_have_attribute("data-message-id", card_id or "")
    page.get_by_test_id("input").fill("已更换阀芯，不再滴水")
    page.get_by_test_id("input").press("Enter")
    text = page.locator('[data-testid="message"].mine', has_text="已更换阀芯，不再滴水")
    expect(text.get_by_test_id("quote")).to_contain_text(number)
    expect(bar).to_be_hidden()
    recorded = page.locator('[data-testid="message"].from-bot', has_text=f"已记录 {number} 的进展")
    expect(recorded).to_have_count(1)

    # 回复 again → 📎 图片 → the photo alone.
    card.hover()
    card.get_by_test_id("reply-action").click()
    expect(bar).to_have_attribute("data-message-id", card_id or "")
    pick_photos(page, [jpeg(tmp_path / "新阀芯.jpg", (640, 480))])
    expect(page.get_by_test_id("attachment")).to_contain_text("新阀芯.jpg")
    page.get_by_test_id("send").click()
    photo = page.locator('[data-testid="message"].mine').filter(has=page.get_by_test_id("photo"))
    expect(photo).to_have_count(1)
    expect(photo.get_by_test_id("quote")).to_contain_text(number)
    expect(page.get_by_test_id("attachment")).to_be_hidden()
    expect(recorded).to_have_count(2)
    replies = [m for m in sandbox.messages(eng) if m["from"]["id"] == ENGINEER]
    assert [str(m["reply_to_message"]["message_id"]) for m in replies[-2:]] == [card_id] * 2
    assert replies[-1].get("photo") and "caption" not in replies[-1]

    # The owner: the text and the photo arrive in the chat with the bot.
    play(page, OWNER, OWNER)
    progress = bot_message(page, "已更换阀芯，不再滴水")
    expect(progress).to_contain_text(number)
    expect(progress).to_contain_text("郑海")
    got = page.locator('[data-testid="message"].from-bot', has_text=number).filter(
        has=page.get_by_test_id("photo")
    )
    expect(got).to_have_count(1)
    expect(got).to_contain_text("郑海")
    expect(got.get_by_test_id("photo")).to_be_visible()
    received = [m for m in sandbox.messages(OWNER) if m["from"]["is_bot"] and m.get("photo")]
    assert len(received) == 1 and number in received[0]["caption"]
    assert errors == []


def test_staff_answer_the_owner_from_the_private_chat_through_the_cards_link(
    sandbox: SandboxProcess, browser: Browser, tmp_path: Path
) -> None:
    """The engineer 郑海 does not know "reply to": on the case card in 工程部 he taps
    ✍️ 回复业主, a t.me link to the bot; the page follows it as Telegram does, into his
    private chat with the bot, where /start with the link's payload is sent and the bot asks
    for the progress. He types a plain message (no reply to anything) and the owner 王伟
    receives it; then, tapping the link again, a photo the same way."""
    sandbox.post("/api/people", {"id": IT_ADMIN, "first_name": "韩立新", "label": "员工 · 管理员"})
    cs = next(g["id"] for g in sandbox.get("/api/state")["groups"] if "客服中心" in g["title"])
    sandbox.post(f"/api/groups/{cs}/members", {"user_id": IT_ADMIN})
    eng = sandbox.group("工程部 · 阳光花园", [ENGINEER, IT_ADMIN])
    admin = Player(sandbox, IT_ADMIN)
    admin.send("/bind 客服中心", chat=cs)
    admin.send("/bind 工程部", chat=eng)
    sandbox.wait_text(eng, "本群已绑定")
    owner = register_owner(sandbox)
    owner.send("/request")
    owner.tap("报修")
    owner.tap("阳光花园 · 1栋 101")
    owner.send("阳台地漏堵塞")
    owner.tap("普通")
    number = owner.wait_text("已受理").split("编号 ", 1)[1].split("。", 1)[0].strip()
    assistant = Player(sandbox, ASSISTANT)
    assistant.tap("➡️ 转交部门", chat=cs)
    assistant.tap("工程部", chat=cs)
    sandbox.wait_text(eng, number)

    page = open_page(browser, sandbox, f"#p={ENGINEER}&c={eng}")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    expect(page.get_by_test_id("identity-name")).to_have_text("郑海")
    card = page.locator('[data-testid="message"].from-bot', has_text=number).filter(
        has=page.get_by_test_id("inline-keyboard")
    )
    link = card.get_by_test_id("inline-button").filter(has_text="✍️ 回复业主")
    deep = re.compile(r"^https://t\.me/wuye_e2e_bot\?start=r\d+$")
    expect(link).to_have_attribute("data-url", deep)
    payload = (link.get_attribute("data-url") or "").split("start=", 1)[1]

    # ✍️ 回复业主: the private chat with the bot opens; /start <payload> is sent for him.
    link.click()
    private = page.get_by_test_id("chat-list").get_by_test_id(f"chat-{ENGINEER}")
    expect(private).to_have_attribute("aria-current", "true")
    mine = page.locator('[data-testid="message"].mine')
    expect(mine.last).to_have_text(re.compile(f"/start {payload}"))
    asked = bot_message(page, "请发送给业主的进展")
    expect(asked).to_contain_text(number)
    expect(asked).to_contain_text("阳台地漏堵塞")

    # A plain message: the reply the bot's question opened is closed first; just typed.
    page.get_by_test_id("reply-cancel").click()
    expect(page.get_by_test_id("reply-bar")).to_be_hidden()
    page.get_by_test_id("input").fill("明天上午九点上门疏通")
    page.get_by_test_id("input").press("Enter")
    recorded = page.locator('[data-testid="message"].from-bot', has_text=f"已记录 {number} 的进展")
    expect(recorded).to_have_count(1)
    sent = message_with(sandbox, ENGINEER, "明天上午九点上门疏通")
    assert "reply_to_message" not in sent  # no "reply to": a plain message in his chat

    # The link again, from the group: this time a photo, just picked and sent.
    play(page, ENGINEER, eng)
    link.click()
    expect(private).to_have_attribute("aria-current", "true")
    questions = page.locator('[data-testid="message"].from-bot', has_text="请发送给业主的进展")
    expect(questions).to_have_count(2)
    pick_photos(page, [jpeg(tmp_path / "疏通后.jpg", (640, 480))])
    expect(page.get_by_test_id("attachment")).to_contain_text("疏通后.jpg")
    page.get_by_test_id("send").click()
    expect(recorded).to_have_count(2)
    photo = page.locator('[data-testid="message"].mine').filter(has=page.get_by_test_id("photo"))
    expect(photo).to_have_count(1)

    # The owner: the text and the photo arrive in the chat with the bot.
    play(page, OWNER, OWNER)
    progress = bot_message(page, "明天上午九点上门疏通")
    expect(progress).to_contain_text(number)
    expect(progress).to_contain_text("郑海")
    got = page.locator('[data-testid="message"].from-bot', has_text=number).filter(
        has=page.get_by_test_id("photo")
    )
    expect(got).to_have_count(1)
    expect(got.get_by_test_id("photo")).to_be_visible()
    received = [m for m in sandbox.messages(OWNER) if m["from"]["is_bot"] and m.get("photo")]
    assert len(received) == 1 and number in received[0]["caption"]
    assert errors == []
