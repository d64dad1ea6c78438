"""Tests for the offline Telegram harness in tests/support/telegram.py.

A tiny PTB application is built here; the tests prove the fake answers like Telegram does and
the script helpers drive the application the way a user would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    ChatMemberUpdated,
    File,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.support.telegram import (
    MESSAGE_NOT_MODIFIED,
    FakeBotApi,
    Harness,
    UpdateFactory,
    bot_command_entities,
    html_to_text,
)

TOKEN = "123456:TEST-TOKEN"
# A 1x1 PNG: Telegram refuses photos it cannot read as an image.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
WELCOME = "欢迎使用物业品控助手"
MAIN_MENU = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("📋 查看任务", callback_data="tasks"),
            InlineKeyboardButton("帮助", callback_data="help"),
        ],
        [InlineKeyboardButton("官网", url="https://example.com")],
    ]
)
CONTACT_KEYBOARD = ReplyKeyboardMarkup(
    [[KeyboardButton("📱 分享手机号", request_contact=True)]],
    resize_keyboard=True,
    one_time_keyboard=True,
)


# --------------------------------------------------------------------------------------------
# The tiny bot
# --------------------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_text(WELCOME, reply_markup=MAIN_MENU)
    if message.chat.type == ChatType.PRIVATE:
        await message.reply_text("请分享您的手机号完成验证", reply_markup=CONTACT_KEYBOARD)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    if query.data == "twice":
        await query.answer()
        await query.answer("again")
        return
    await query.answer()
    if query.data == "tasks":
        back = InlineKeyboardMarkup([[InlineKeyboardButton("返回", callback_data="back")]])
        await query.edit_message_text("今日任务：巡检 3 项", reply_markup=back)
    elif query.data == "help":
        await query.edit_message_text("帮助：发送 /start 开始")  # no markup: keyboard removed
    elif query.data == "back":
        await query.edit_message_text(WELCOME, reply_markup=MAIN_MENU)
    elif query.data == "same":
        await query.edit_message_text(query.message.text or "", reply_markup=MAIN_MENU)
    else:
        await query.message.reply_text(f"无效操作：{query.data}")


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.contact is not None and user is not None
    if message.contact.user_id != user.id:
        await message.reply_text("请分享您本人的手机号")
        return
    await message.reply_text(
        f"已验证：{message.contact.phone_number}", reply_markup=ReplyKeyboardRemove()
    )


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    telegram_file = await message.document.get_file()
    data = bytes(await telegram_file.download_as_bytearray())
    first_line = data.decode("utf-8").splitlines()[0]
    await message.reply_text(
        f"已收到 {message.document.file_name}（{len(data)} 字节）首行：{first_line}"
    )


async def ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("pong")


async def slow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    await asyncio.sleep(0.02)
    await context.bot.send_message(update.effective_chat.id, "慢任务完成")


async def later(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id

    async def remind() -> None:
        await asyncio.sleep(0.02)
        await context.bot.send_message(chat_id, "后台提醒")

    context.application.create_task(remind(), update=update)
    await context.bot.send_message(chat_id, "稍后提醒你")


async def clean(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    await message.delete()
    await message.reply_text("已清理")  # in a group this quotes the deleted message


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    if message.migrate_to_chat_id:
        context.bot_data["migrated"] = (message.chat_id, message.migrate_to_chat_id)


async def on_my_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    assert change is not None
    if change.new_chat_member.status == ChatMemberStatus.MEMBER:
        await context.bot.send_message(change.chat.id, "大家好，我是物业品控助手")
    context.bot_data.setdefault("membership", []).append(change.new_chat_member.status)


async def on_new_members(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    context.bot_data["new_members"] = [member.id for member in message.new_chat_members]


def build_application(api: FakeBotApi) -> Application[Any, Any, Any, Any, Any, Any]:
    app = Application.builder().token(TOKEN).request(api).get_updates_request(api).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("ping", ping))
    app.add_handler(CommandHandler("slow", slow, block=False))
    app.add_handler(CommandHandler("later", later))
    app.add_handler(CommandHandler("clean", clean))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.CONTACT, on_contact))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_migrate))
    app.add_handler(MessageHandler(filters.StatusUpdate.NEW_CHAT_MEMBERS, on_new_members))
    app.add_handler(ChatMemberHandler(on_my_member, ChatMemberHandler.MY_CHAT_MEMBER))
    return app


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def harness(api: FakeBotApi) -> AsyncIterator[Harness]:
    async with Harness(build_application(api), api) as running:
        yield running


# --------------------------------------------------------------------------------------------
# Script helpers
# --------------------------------------------------------------------------------------------


async def test_initialize_calls_get_me(harness: Harness, api: FakeBotApi) -> None:
    bot = harness.application.bot
    assert bot.username == "wuye_test_bot"
    assert bot.id == 123456
    assert [call.method for call in api.calls] == ["getMe"]


async def test_start_shows_inline_menu_and_contact_keyboard(
    harness: Harness, api: FakeBotApi
) -> None:
    alice = harness.person(1001, "Alice", phone="+8613800000001")
    await alice.send("/start")

    assert alice.texts() == [WELCOME, "请分享您的手机号完成验证"]
    assert alice.last_text == "请分享您的手机号完成验证"
    assert alice.buttons() == ["📋 查看任务", "帮助", "官网"]
    assert alice.reply_keyboard() == [[{"text": "📱 分享手机号", "request_contact": True}]]
    first, second = api.messages(alice.private_chat_id)
    # Telegram echoes inline keyboards only; reply keyboards are not part of the Message.
    assert "reply_markup" in first
    assert "reply_markup" not in second
    sent = api.calls_of("sendMessage")
    assert sent[1].params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert sent[0].params["chat_id"] == 1001


async def test_user_and_bot_messages_share_message_ids(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice")
    await alice.send("/start")
    await alice.send("/start")
    assert [message["message_id"] for message in api.messages(1001)] == [2, 3, 5, 6]
    mark = alice.mark()
    await alice.send("/ping")
    assert alice.texts(since=mark) == ["pong"]


async def test_command_entity_makes_command_handler_match(harness: Harness) -> None:
    alice = harness.person(1001, "Alice")
    group = harness.group(-4001, "一号楼物业群")

    await alice.send("/ping@wuye_test_bot", chat=group)
    await alice.send("/ping@another_bot", chat=group)
    await alice.send("ping", chat=group)
    await alice.send("/ping extra args", chat=group)

    assert group.texts() == ["pong", "pong"]
    assert group.last_message["chat"] == {"id": -4001, "type": "group", "title": "一号楼物业群"}


def test_bot_command_entities_follow_telegram_rules() -> None:
    assert bot_command_entities("/start") == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert bot_command_entities("/start@wuye_test_bot x") == [
        {"type": "bot_command", "offset": 0, "length": 20}
    ]
    assert bot_command_entities("/开始") == []
    assert bot_command_entities("请 /help") == [{"type": "bot_command", "offset": 2, "length": 5}]
    assert bot_command_entities("a/b") == []


async def test_tap_edits_the_message_in_place(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice")
    await alice.send("/start")
    menu_id = api.messages(1001)[0]["message_id"]

    await alice.tap("查看任务")  # substring of "📋 查看任务", on an older message

    edited = api.messages(1001)[0]
    assert edited["message_id"] == menu_id
    assert edited["text"] == "今日任务：巡检 3 项"
    assert "edit_date" in edited
    assert alice.buttons() == ["返回"]
    assert api.unanswered_callback_queries() == []

    await alice.tap("返回")
    await alice.tap("帮助")
    assert api.messages(1001)[0]["text"] == "帮助：发送 /start 开始"
    assert "reply_markup" not in api.messages(1001)[0]  # edit without markup drops it
    assert alice.buttons() == []


async def test_tap_reports_visible_buttons(harness: Harness) -> None:
    alice = harness.person(1001, "Alice")
    await alice.send("/start")
    with pytest.raises(AssertionError, match=r"(?s)no inline button '不存在'.*查看任务"):
        await alice.tap("不存在")
    with pytest.raises(AssertionError, match="has no callback_data"):
        await alice.tap("官网")


async def test_tap_data_sends_forged_data(harness: Harness) -> None:
    alice = harness.person(1001, "Alice")
    await alice.send("/start")
    await alice.tap_data("delete_everything")
    assert alice.last_text == "无效操作：delete_everything"


async def test_message_not_modified(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice")
    await alice.send("/start")
    # PTB strips "Bad Request: " and capitalize()s the rest: match case-insensitively.
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await alice.tap_data("same", message_id=api.messages(1001)[0]["message_id"])
    failed = api.calls_of("editMessageText")[-1]
    assert failed.error == MESSAGE_NOT_MODIFIED
    assert failed.error_code == 400
    assert api.messages(1001)[0]["text"] == WELCOME


async def test_answering_a_callback_query_twice_fails(harness: Harness) -> None:
    alice = harness.person(1001, "Alice")
    await alice.send("/start")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await alice.tap_data("twice")


async def test_contact_sharing(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice", phone="8613800000001")
    bob = harness.person(1002, "Bob", phone="8613900000002")
    await alice.send("/start")

    await alice.share_contact(of_user_id=bob.user_id)
    assert alice.last_text == "请分享您本人的手机号"

    await alice.press("📱 分享手机号")
    assert alice.last_text == "已验证：8613800000001"
    assert alice.reply_keyboard() is None


async def test_document_download_returns_registered_bytes(
    harness: Harness, api: FakeBotApi
) -> None:
    alice = harness.person(1001, "Alice")
    content = "房号,姓名\n1-101,张三\n".encode()
    await alice.send_document(content, "业主名单.csv")

    assert alice.last_text == f"已收到 业主名单.csv（{len(content)} 字节）首行：房号,姓名"
    (get_file,) = api.calls_of("getFile")
    file_path = get_file.result["file_path"]
    assert file_path.startswith("documents/") and file_path.endswith(".csv")
    assert api.downloads == [file_path]


async def test_bot_uploads_are_recorded_and_downloadable(harness: Harness, api: FakeBotApi) -> None:
    bot = harness.application.bot
    harness.person(1001, "Alice")
    sent = await bot.send_document(1001, document=b"a,b\n1,2\n", filename="report.csv")
    assert sent.document is not None
    assert sent.document.file_name == "report.csv"
    upload = api.calls_of("sendDocument")[0].files["document"]
    assert (upload.filename, upload.content) == ("report.csv", b"a,b\n1,2\n")

    again = await bot.send_document(1001, document=sent.document.file_id)
    assert again.document is not None and again.document.file_id == sent.document.file_id
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"a,b\n1,2\n"

    photo = await bot.send_photo(1001, photo=PNG, caption="现场照片")
    assert photo.photo and photo.caption == "现场照片"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (1, 1)
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(1001, photo=b"not really a jpeg")


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


async def test_fail_next_forbidden_raises_in_handler(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice")
    api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await alice.send("/ping")
    assert alice.messages() == []
    assert harness.take_errors() != []

    await alice.send("/ping")  # only the next call failed
    assert alice.last_text == "pong"


async def test_fail_next_retry_after(
    harness: Harness, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading RetryAfter.retry_after warns (PTBDeprecationWarning) unless PTB_TIMEDELTA is set.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    harness.person(1001, "Alice")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await harness.application.bot.send_message(1001, "hi")
        assert caught.value.retry_after == dt.timedelta(seconds=7)
    await harness.application.bot.send_message(1001, "hi")


async def test_blocked_user(harness: Harness, api: FakeBotApi) -> None:
    harness.person(1001, "Alice")
    api.block_chat(1001)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await harness.application.bot.send_message(1001, "hi")


async def test_errors_can_be_collected_instead_of_raised(harness: Harness, api: FakeBotApi) -> None:
    harness.raise_errors = False
    alice = harness.person(1001, "Alice")
    api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await alice.send("/ping")
    (error,) = harness.take_errors()
    assert isinstance(error, Forbidden)


async def test_chat_migrated(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice")
    group = harness.group(-4001, "一号楼物业群")
    await alice.send("/ping", chat=group)
    assert group.texts() == ["pong"]

    await group.migrate_to_supergroup(-1001234567890, by=alice)

    assert harness.application.bot_data["migrated"] == (-4001, -1001234567890)
    assert group.chat_id == -1001234567890
    with pytest.raises(ChatMigrated) as caught:
        await harness.application.bot.send_message(-4001, "还在吗")
    assert caught.value.new_chat_id == -1001234567890

    await alice.send("/ping", chat=group)
    assert group.texts() == ["pong"]
    assert group.last_message["chat"]["type"] == "supergroup"
    assert group.last_message["chat"]["title"] == "一号楼物业群"


async def test_bot_added_to_and_removed_from_group(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice")
    group = harness.group(-4001, "一号楼物业群")
    await group.add_bot(by=alice)
    assert group.last_text == "大家好，我是物业品控助手"
    assert harness.application.bot_data["new_members"] == [123456]

    await group.remove_bot(by=alice)
    assert harness.application.bot_data["membership"] == ["member", "kicked"]
    with pytest.raises(Forbidden, match="kicked from the group chat"):
        await harness.application.bot.send_message(group.chat_id, "hi")


async def test_unknown_method_answers_404(harness: Harness, api: FakeBotApi) -> None:
    # PTB turns the 404 of do_api_request into EndPointNotFound.
    with pytest.raises(EndPointNotFound, match="sendTelepathy"):
        await harness.application.bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    assert api.calls_of("sendTelepathy")[0].error_code == 404


async def test_invalid_html_is_rejected_like_telegram(harness: Harness) -> None:
    harness.person(1001, "Alice")
    bot = harness.application.bot
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unsupported start tag"):
        await bot.send_message(1001, "温度 < 5 度", parse_mode=ParseMode.HTML)
    sent = await bot.send_message(1001, "温度 &lt; 5 度 <b>注意</b>", parse_mode=ParseMode.HTML)
    # Stored as Telegram stores it: the visible text plus entities.
    assert sent.text == "温度 < 5 度 注意"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 9, 2)]
    assert sent.text_html == "温度 &lt; 5 度 <b>注意</b>"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<b>粗</b> &amp; <i>斜</i>", "粗 & 斜"),
        ('<a href="https://x.y/?a=1&b=2">链接</a>', "链接"),
        ("<tg-spoiler>秘</tg-spoiler>&#20013;", "秘中"),
        ("a & b", "a & b"),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
    ],
)
def test_html_errors(html: str, reason: str) -> None:
    with pytest.raises(Exception, match="can't parse entities") as caught:
        html_to_text(html)
    assert reason in str(caught.value)


async def test_message_limits(harness: Harness) -> None:
    harness.person(1001, "Alice")
    bot = harness.application.bot
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1001, "字" * 4097)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="长" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):  # 66 bytes > 64
        await bot.send_message(1001, "hi", reply_markup=markup)


async def test_reply_to_deleted_message_fails_in_groups(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice")
    group = harness.group(-4001, "一号楼物业群")
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await alice.send("/clean", chat=group)
    assert [message["text"] for message in api.deleted_messages(group.chat_id)] == ["/clean"]


# --------------------------------------------------------------------------------------------
# Settling and parsing
# --------------------------------------------------------------------------------------------


async def test_settle_waits_for_background_work(harness: Harness) -> None:
    alice = harness.person(1001, "Alice")
    await alice.send("/slow")
    assert alice.texts() == ["慢任务完成"]
    await alice.send("/later")
    assert alice.texts()[-2:] == ["稍后提醒你", "后台提醒"]


async def test_works_with_initialize_only(api: FakeBotApi) -> None:
    app = build_application(api)
    await app.initialize()
    try:
        alice = Harness(app, api).person(1001, "Alice")
        await alice.send("/ping")
        assert alice.last_text == "pong"
    finally:
        await app.shutdown()


async def test_custom_base_urls_and_restarted_application(api: FakeBotApi) -> None:
    def build() -> Application[Any, Any, Any, Any, Any, Any]:
        return (
            Application.builder()
            .token(TOKEN)
            .base_url("http://bot-api.local:8081/bot")
            .base_file_url("http://bot-api.local:8081/file/bot")
            .request(api)
            .get_updates_request(api)
            .build()
        )

    first = build()
    first.add_handler(MessageHandler(filters.Document.ALL, on_document))
    await first.initialize()
    harness = Harness(first, api)
    alice = harness.person(1001, "Alice")
    await alice.send_document(b"x,y\n", "a.csv")
    assert alice.last_text.endswith("首行：x,y")
    await first.shutdown()

    second = build()  # a "restarted" bot: same fake, same people
    second.add_handler(CommandHandler("ping", ping))
    await second.initialize()
    harness.application = second
    api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden):  # errors of the new application reach the harness too
        await alice.send("/ping")
    await second.shutdown()


async def test_every_answer_parses_with_ptb_types(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice", phone="8613800000001")
    group = harness.group(-4001, "一号楼物业群")
    await alice.send("/start")
    await alice.tap("查看任务")
    await alice.press("📱 分享手机号")
    await alice.send_document(b"a\n", "a.csv")
    await group.add_bot(by=alice)
    await alice.send("/ping", chat=group)
    await harness.application.bot.send_photo(1001, photo=PNG)
    await harness.application.bot.send_document(1001, document=b"x", filename="x.txt")

    bot = harness.application.bot
    parsers: dict[str, Any] = {
        "getMe": User,
        "sendMessage": Message,
        "editMessageText": Message,
        "sendDocument": Message,
        "sendPhoto": Message,
        "getFile": File,
    }
    checked = set()
    for call in api.calls:
        if call.method in parsers and call.ok:
            parsed = parsers[call.method].de_json(call.result, bot)
            assert parsed.api_kwargs == {}, (call.method, parsed.api_kwargs)
            checked.add(call.method)
    assert checked == set(parsers)


def test_factory_updates_parse_without_unknown_fields(api: FakeBotApi) -> None:
    factory = UpdateFactory(api)
    alice = factory.user(1001, "Alice", username="alice")
    updates = [
        factory.text_message(alice, 1001, "/start payload"),
        factory.contact_message(alice, 1001, phone_number="86138", first_name="A", user_id=1001),
        factory.document_message(
            alice, 1001, file_id="f1", file_name="a.csv", mime_type="text/csv", file_size=3
        ),
        factory.photo_message(alice, 1001, file_id="p1", width=10, height=20, file_size=30),
        factory.migrate_to_chat(alice, -4001, -1001234567890),
        factory.migrate_from_chat(alice, -1001234567890, -4001),
        factory.new_chat_members(alice, -4001, [api.bot_sender()]),
        factory.my_chat_member(alice, -4001, old_status="member", new_status="administrator"),
    ]
    bot_message = factory.message(api.bot_sender(), 1001, text="菜单")
    updates.append(factory.callback_query(alice, bot_message, "tasks"))

    ids = [update["update_id"] for update in updates]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for data in updates:
        update = Update.de_json(data, None)
        assert update.api_kwargs == {}
        message = update.effective_message
        if message is not None:
            assert message.api_kwargs == {}
        if update.my_chat_member is not None:
            assert isinstance(update.my_chat_member, ChatMemberUpdated)
            assert update.my_chat_member.new_chat_member.api_kwargs == {}
    private = Update.de_json(updates[0], None).effective_message
    assert private is not None and private.chat.type == ChatType.PRIVATE


async def test_raise_next_timed_out_after_delivery(harness: Harness, api: FakeBotApi) -> None:
    alice = harness.person(1001, "Alice")
    api.raise_next("sendMessage", TimedOut(), deliver=True)
    with pytest.raises(TimedOut):
        await alice.send("/ping")
    assert alice.last_text == "pong"  # Telegram got it although the bot saw a timeout
    api.raise_next("sendMessage", TimedOut())
    with pytest.raises(TimedOut):
        await alice.send("/ping")
    assert alice.texts() == ["pong"]
    assert [call.ok for call in api.calls_of("sendMessage")] == [False, False]


async def test_async_with_runs_post_init_like_run_polling(api: FakeBotApi) -> None:
    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await app.bot.set_my_commands([("start", "开始"), ("ping", "测试")])

    app = (
        Application.builder()
        .token(TOKEN)
        .request(api)
        .get_updates_request(api)
        .post_init(post_init)
        .build()
    )
    async with Harness(app, api):
        assert app.running
        assert [command["command"] for command in api.my_commands()] == ["start", "ping"]
    assert not app.running
