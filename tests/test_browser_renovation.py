"""Renovation in the sandbox's web page, for the README's two pictures: the sandbox and the
bot start as ``make run`` starts them (bot.local: the demo estate's people and its bound
department groups, the customer-department head among them); an owner applies, customer
service checks the documents, both heads approve, the owner signs, the cashier collects,
the permit is issued, the entry inspection is confirmed, and an engineer's patrol finds a
serious violation. Kept: the permit image exactly as the bot sent it to the owner, and the
rectification notice (违章整改表) as customer service sees it in its group in Chromium.

``WUYE_RENOVATION_SHOTS=docs`` writes them to ``docs/renovation-permit.png`` and
``docs/renovation-notice.png`` (what the README shows); otherwise to the test's folder.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from bot.local import prepare_database, prepare_world
from bot.settings import Settings
from procedures.identity import Department
from tests.support.images import encoded, textured
from tests.support.sandbox import BotProcess, Player, SandboxProcess, wait_for

ROOT = Path(__file__).resolve().parents[1]
#: Debian's Chromium, as tests/test_browser.py drives it (ENVIRONMENT: never a downloaded one).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
TIMEOUT = 60_000  # ms: a loaded machine answers slowly
OWNER, ASSISTANT, ENGINEER, ENGINEER_HEAD, CASHIER, CUSTOMER_HEAD = (
    8002, 9001, 9003, 9004, 9006, 9012)  # fmt: skip
DOCS = ("平面图", "天花图", "水电管线图", "弱电图", "剖面图", "施工负责人身份证", "营业执照",
        "施工资质证书")  # fmt: skip
LIMIT = 200_000  # bytes: each picture small enough for the README
#: Read when the module loads: the tests' clean environment drops every WUYE_* variable.
SHOTS = os.environ.get("WUYE_RENOVATION_SHOTS")


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[tuple[SandboxProcess, BotProcess, int]]:
    """The sandbox prepared as ``make run`` prepares it, the bot polling it; and customer
    service's group."""
    server = SandboxProcess(tmp_path / "sandbox").start()
    bot = BotProcess(server, tmp_path / "wuye.db", unpaced=True)
    try:
        groups = prepare_world(server.base)
        settings = Settings(db=bot.cwd / "wuye.db", test_mode=True, test_clock_file=bot.clock_file)
        asyncio.run(prepare_database(settings, groups))
        bot.start()
        yield server, bot, groups[Department.CUSTOMER_SERVICE][0]
    finally:
        bot.stop()
        server.stop()
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()


def plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


def said(server: SandboxProcess, chat: int, fragment: str, since: int = 0) -> str:
    """The bot's message in ``chat`` (from its ``since``-th on) containing ``fragment``."""

    def find() -> str | None:
        texts = [plain(t) for t in server.bot_texts(chat)[since:]]
        return next((t for t in reversed(texts) if fragment in t), None)

    found: str = wait_for(find, what=f"{fragment!r} in chat {chat}")
    return found


def photo() -> bytes:
    return encoded(textured((320, 240)), "JPEG", quality=80)


def small_png(content: bytes, path: Path) -> Path:
    """``content`` saved as an optimised PNG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.open(io.BytesIO(content)).save(path, "PNG", optimize=True)
    return path


def test_renovation_permit_and_rectification_notice_in_the_page(
    estate: tuple[SandboxProcess, BotProcess, int], tmp_path: Path
) -> None:
    server, bot, cs = estate
    folder = ROOT / SHOTS if SHOTS else tmp_path
    owner, assistant = Player(server, OWNER), Player(server, ASSISTANT)

    # The owner registers and applies: the form, the scope, the letter, a photo a document.
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    owner.share_contact()
    owner.wait_text("身份验证成功")
    owner.send("/renovate")
    said(server, OWNER, "请输入开工日期")
    for typed, asked in (("2026-12-01", "请输入完工日期"), ("2027-02-28", "施工单位名称"),
                         ("安居装饰", "施工负责人姓名"), ("李工", "联系电话"),
                         ("138 0013 8000", "请勾选装修范围")):  # fmt: skip
        owner.send(typed)
        said(server, OWNER, asked)
    owner.tap("⬜ 墙面")
    owner.tap("✅ 完成")
    owner.tap("✍️ 本人确认承诺书")
    number = re.findall(r"ZX-\d{8}-\d{4}", said(server, OWNER, "申请编号"))[0]
    for _ in DOCS:
        since = len(server.bot_texts(OWNER))
        owner.photo(photo())
        said(server, OWNER, "资料清单", since)
    owner.tap("📨 提交申请")
    said(server, OWNER, "已提交")

    # Customer service checks each document in its group; both heads approve privately.
    for name in DOCS:
        assistant.tap(f"⏳ {name}", chat=cs)
        assistant.tap("✅ 有效", chat=cs)
        said(server, cs, f"“{name}”有效")
    for head in (ENGINEER_HEAD, CUSTOMER_HEAD):
        Player(server, head).tap("✅ 批准")
        Player(server, head).tap("无意见")
        said(server, head, "已批准")

    # The owner accepts and signs; the cashier collects; the permit goes to the owner.
    owner.tap("✅ 接受审批条款")
    owner.tap("📜 阅读并签署装修协议")
    owner.tap("✍️ 已阅读，签署协议和防火责任书")
    cashier = Player(server, CASHIER)
    cashier.tap("💰 收费")
    said(server, CASHIER, "施工人数")
    cashier.send("2")
    said(server, CASHIER, "收据号")
    cashier.send("SJ-9")
    said(server, CASHIER, "已登记")
    assistant.tap("🪪 发放施工进场证", chat=cs)

    def permit_photo() -> str | None:
        for message in reversed(server.messages(OWNER)):
            if message.get("photo") and "施工进场证" in str(message.get("caption")):
                return str(message["photo"][-1]["file_id"])
        return None

    file_id = wait_for(permit_photo, what="the permit image in the owner's chat")
    with urllib.request.urlopen(f"{server.base}/api/files/{file_id}") as answer:
        permit = small_png(answer.read(), folder / "renovation-permit.png")
    with Image.open(permit) as image:
        assert image.size == (900, 1273)
    assert 20_000 < permit.stat().st_size < LIMIT  # drawn text, not a blank page

    # The works begin (the entry inspection confirmed on their first day); an engineer's
    # patrol finds a serious violation: the rectification notice.
    bot.set_clock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai, a Tuesday
    assistant.tap("🔍 入场验收", chat=cs)
    assistant.tap("✅ 其余完好")
    assistant.tap("✍️ 客服确认验收")
    owner.tap("✍️ 确认入场验收")
    said(server, OWNER, "业主装修入场通知单")
    engineer = Player(server, ENGINEER)
    engineer.send("/patrol")
    engineer.tap(f"🔨 1栋 102 · {number}")
    engineer.tap("🚫 严重违规（开整改单）")
    engineer.photo(photo(), caption="擅自拆改承重墙")
    said(server, ENGINEER, "整改期限")
    engineer.send("2026-12-05")
    said(server, ENGINEER, "罚款")
    engineer.send("500")
    said(server, ENGINEER, "已开违章整改单")
    said(server, cs, "违章整改单")

    # Customer service's group in the page: the notice with what it can do next.
    expect.set_options(timeout=TIMEOUT)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(
                viewport={"width": 1280, "height": 900}, locale="zh-CN",
                timezone_id="Asia/Shanghai", device_scale_factor=1,
            )  # fmt: skip
            page.set_default_timeout(TIMEOUT)
            page.goto(f"{server.base}/#p={ASSISTANT}&c={cs}")
            notice = page.locator(
                '[data-testid="message"].from-bot', has_text="开出违章整改单"
            ).last
            expect(notice).to_contain_text("擅自拆改承重墙")
            expect(notice.get_by_test_id("inline-button")).to_have_count(5)
            expect(notice).not_to_contain_text("R-15")  # no rule ids on the screen
            page.mouse.move(0, 0)
            notice.scroll_into_view_if_needed()
            page.wait_for_timeout(400)  # the chat's smooth scrolling comes to rest
            shot = notice.screenshot()
        finally:
            chromium.close()
    picture = small_png(shot, folder / "renovation-notice.png")
    assert 10_000 < picture.stat().st_size < LIMIT
