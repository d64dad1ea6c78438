"""Contract: the sandbox answers like Telegram. PTB's own types parse every reply, and each
error comes with the status and the text Telegram sends.

The sandbox runs in-process on a free port (aiohttp); a plain ``telegram.Bot`` talks to it
over HTTP, as the bot does in production.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut

from procedures.phone import mask_phone, normalise_phone
from sandbox.__main__ import main as sandbox_main
from sandbox.server import TIMEZONE, make_app
from sandbox.world import World
from tests.support.sandbox import free_port

TOKEN = "7200000001:contract-token"
USER = 8001
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


class Sandbox:
    """The world, its HTTP address, and a raw client for checking exact answers."""

    def __init__(self, world: World, base: str, session: aiohttp.ClientSession) -> None:
        self.world = world
        self.base = base
        self.session = session

    async def raw(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """Call the Bot API directly; the status and the JSON body, untouched."""
        async with self.session.post(f"{self.base}/bot{TOKEN}/{method}", json=params) as r:
            return r.status, await r.json()


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    world = World(token=TOKEN, state_path=tmp_path / "world.json", files_dir=tmp_path / "files")
    world.add_user(USER, "王伟", phone="+8613900000001")
    runner = web.AppRunner(make_app(world))
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    async with aiohttp.ClientSession() as session:
        yield Sandbox(world, f"http://127.0.0.1:{port}", session)
    await runner.cleanup()


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    async with Bot(
        TOKEN, base_url=f"{sandbox.base}/bot", base_file_url=f"{sandbox.base}/file/bot"
    ) as b:
        yield b


async def test_get_me_and_commands(bot: Bot) -> None:
    assert bot.username == "wuye_sandbox_bot"
    assert await bot.set_my_commands([BotCommand("start", "开始")], language_code="en")
    commands = await bot.get_my_commands(language_code="en")
    assert [c.command for c in commands] == ["start"]
    assert await bot.delete_webhook()


async def test_messages_keyboards_and_edits_parse(bot: Bot, sandbox: Sandbox) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="c:ok:1")]])
    sent = await bot.send_message(USER, "<b>你好</b>", parse_mode="HTML", reply_markup=markup)
    assert isinstance(sent, Message) and sent.text == "你好"
    assert sent.reply_markup == markup
    contact = ReplyKeyboardMarkup([[KeyboardButton("分享", request_contact=True)]])
    await bot.send_message(USER, "请分享", reply_markup=contact)
    assert sandbox.world.reply_keyboard(USER) is not None
    await bot.send_message(USER, "好的", reply_markup=ReplyKeyboardRemove())
    assert sandbox.world.reply_keyboard(USER) is None
    # ForceReply: not in the Message Telegram answers; the person's app keeps it.
    asked = await bot.send_message(
        USER, "请回复", reply_markup=ForceReply(input_field_placeholder="处理意见")
    )
    assert isinstance(asked, Message) and asked.reply_markup is None
    assert sandbox.world.force_reply(USER, USER) == {
        "message_id": asked.message_id,
        "input_field_placeholder": "处理意见",
    }
    edited = await bot.edit_message_text("已确认", USER, sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    assert edited.reply_markup is None  # editing text without markup drops the keyboard
    again = await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=markup)
    assert isinstance(again, Message) and again.reply_markup == markup
    assert await bot.send_chat_action(USER, "typing")
    assert await bot.delete_message(USER, sent.message_id)


async def test_the_json_api_shows_and_dismisses_a_force_reply(bot: Bot, sandbox: Sandbox) -> None:
    """What the page reads: the person's chats carry the ForceReply; ✕ dismisses it."""
    asked = await bot.send_message(USER, "请回复", reply_markup=ForceReply())
    async with sandbox.session.get(f"{sandbox.base}/api/people/{USER}/chats") as r:
        (chat,) = await r.json()
    assert chat["force_reply"] == {"message_id": asked.message_id}
    url = f"{sandbox.base}/api/chats/{USER}/force_reply?as={USER}"
    for dismissed in (True, False):
        async with sandbox.session.delete(url) as r:
            assert (r.status, await r.json()) == (200, {"dismissed": dismissed})
    assert sandbox.world.force_reply(USER, USER) is None


async def test_photos_documents_media_groups_and_files(bot: Bot, sandbox: Sandbox) -> None:
    photo = await bot.send_photo(USER, PNG, caption="现场照片")
    assert photo.photo and photo.caption == "现场照片"
    recaptioned = await bot.edit_message_caption(USER, photo.message_id, caption="整改后")
    assert isinstance(recaptioned, Message) and recaptioned.caption == "整改后"
    document = await bot.send_document(USER, io.BytesIO(b"a,b\n1,2\n"), filename="表.csv")
    assert document.document and document.document.file_name == "表.csv"
    album = await bot.send_media_group(USER, [InputMediaPhoto(PNG), InputMediaPhoto(PNG)])
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    file = await bot.get_file(document.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"


async def test_an_album_through_the_json_api_reaches_the_bot_in_one_batch(
    bot: Bot, sandbox: Sandbox
) -> None:
    """The page sends an album in one request: the bot's next getUpdates has all of it, so
    its answer to the first photo cannot come between the album's photos."""
    form = aiohttp.FormData()
    form.add_field("as", str(USER))
    form.add_field("caption", "卫生间天花板渗水")
    for name in ("渗水-1.jpg", "渗水-2.jpg"):
        form.add_field("file", PNG, filename=name, content_type="image/jpeg")
    async with sandbox.session.post(f"{sandbox.base}/api/chats/{USER}/album", data=form) as r:
        assert r.status == 201
        sent = await r.json()
    updates = await bot.get_updates(timeout=1)
    assert [u.update_id for u in updates] == [u["update_id"] for u in sent]
    first, second = (u.message for u in updates)
    assert first is not None and second is not None
    assert first.media_group_id == second.media_group_id is not None
    assert (first.caption, second.caption) == ("卫生间天花板渗水", None)
    assert second.message_id == first.message_id + 1
    lone = aiohttp.FormData()
    lone.add_field("as", str(USER))
    lone.add_field("file", PNG, filename="一张.jpg", content_type="image/jpeg")
    async with sandbox.session.post(f"{sandbox.base}/api/chats/{USER}/album", data=lone) as r:
        assert r.status == 400 and "2 to 10 photos" in (await r.json())["error"]


async def test_the_page_is_told_the_estates_time_zone(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """/api/state (the sandbox's own API, not the Bot API) names the zone the page shows
    times in: the demo estate's Asia/Shanghai unless ``--timezone`` says otherwise; an unknown
    zone stops the sandbox with one line."""
    async with sandbox.session.get(f"{sandbox.base}/api/state") as r:
        assert (await r.json())["timezone"] == "Asia/Shanghai"
    app = make_app(World(token=TOKEN), timezone="Europe/London")
    assert app[TIMEZONE] == "Europe/London"
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        make_app(World(token=TOKEN), timezone="Mars/Olympus")
    assert sandbox_main(["--timezone", "Mars/Olympus", "--port", "1"]) == 2
    assert "--timezone: unknown time zone 'Mars/Olympus'" in capsys.readouterr().err


async def test_updates_long_polling_and_callback_answers(bot: Bot, sandbox: Sandbox) -> None:
    sandbox.world.send_text(USER, USER, "/start")
    updates = await bot.get_updates(timeout=1)
    assert isinstance(updates[0], Update) and updates[0].message is not None
    assert updates[0].message.text == "/start"
    assert updates[0].message.entities[0].type == "bot_command"
    offset = updates[-1].update_id + 1
    assert await bot.get_updates(offset=offset, timeout=0) == ()
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="x:1")]])
    sent = await bot.send_message(USER, "选择", reply_markup=markup)
    sandbox.world.press_button(USER, USER, sent.message_id, "x:1")
    (update,) = await bot.get_updates(offset=offset, timeout=1)
    assert update.callback_query is not None and update.callback_query.data == "x:1"
    assert await update.callback_query.answer("收到", show_alert=True)
    answer = sandbox.world.callback_answer(update.callback_query.id)
    assert answer is not None and answer["text"] == "收到"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(update.callback_query.id)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("８６１３８００１３８０００", "+8613800138000"),
        ("+852 9123 4567", "+85291234567"),
        ("0044 20 7946 0000", "+442079460000"),
    ],
)
async def test_sandbox_a_phone_typed_in_the_new_person_form_keeps_its_country_code(
    bot: Bot, sandbox: Sandbox, typed: str, kept: str
) -> None:
    """The page's new-person form: a number typed without a country code is Chinese, as the
    sandbox's people are, so the contact the bot gets reads +86 (it read +1 before)."""
    async with sandbox.session.post(
        f"{sandbox.base}/api/people", json={"first_name": "新业主", "phone": typed}
    ) as r:
        person = await r.json()
    assert person["phone"] == kept
    sandbox.world.send_contact(person["id"], person["id"])
    (update,) = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.contact is not None
    shared = normalise_phone(update.message.contact.phone_number, international=True)
    assert shared == kept
    if kept.startswith("+86"):  # what staff see on a verification card
        assert mask_phone(shared) == "+86 138****8000"


NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


async def test_telegram_error_texts(bot: Bot, sandbox: Sandbox) -> None:
    sent = await bot.send_message(USER, "一样")
    assert await sandbox.raw(
        "editMessageText", chat_id=USER, message_id=sent.message_id, text="一样"
    ) == (400, {"ok": False, "error_code": 400, "description": NOT_MODIFIED})
    status, body = await sandbox.raw("sendMessage", chat_id=USER, text="长" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]}
    status, body = await sandbox.raw("sendMessage", chat_id=USER, text="x", reply_markup=markup)
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    status, body = await sandbox.raw("sendMessage", chat_id=424242, text="x")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    status, body = await sandbox.raw("sendMessage", chat_id=USER, text="<b>x", parse_mode="HTML")
    assert status == 400 and body["description"].startswith("Bad Request: can't parse entities")


async def test_blocked_bot_is_403_and_ptb_raises_forbidden(bot: Bot, sandbox: Sandbox) -> None:
    sandbox.world.block_bot(USER)
    status, body = await sandbox.raw("sendMessage", chat_id=USER, text="x")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")


async def test_injected_faults(bot: Bot, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22 warns about RetryAfter's int otherwise
    sandbox.world.inject("sendMessage", "429", retry_after=7)
    status, body = await sandbox.raw("sendMessage", chat_id=USER, text="x")
    assert status == 429
    assert body["description"] == "Too Many Requests: retry after 7"
    assert body["parameters"] == {"retry_after": 7}
    sandbox.world.inject("sendMessage", "429", retry_after=3)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "x")
    sandbox.world.inject("sendMessage", "500", times=2)
    assert (await sandbox.raw("sendMessage", chat_id=USER, text="x"))[0] == 500
    assert (await sandbox.raw("sendMessage", chat_id=USER, text="x"))[0] == 500
    assert (await sandbox.raw("sendMessage", chat_id=USER, text="x"))[0] == 200
    sandbox.world.inject("sendMessage", "403")
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")


async def test_a_fault_for_one_chat_through_the_json_api(sandbox: Sandbox) -> None:
    other = int(sandbox.world.add_user(8002, "李娜")["id"])
    body = {"method": "sendMessage", "kind": "429", "retry_after": 8, "chat_id": USER}
    async with sandbox.session.post(f"{sandbox.base}/api/faults", json=body) as r:
        assert [fault["chat_id"] for fault in await r.json()] == [USER]
    assert (await sandbox.raw("sendMessage", chat_id=other, text="x"))[0] == 200
    status, answer = await sandbox.raw("sendMessage", chat_id=USER, text="x")
    assert (status, answer["parameters"]) == (429, {"retry_after": 8})


async def test_a_file_over_20_mb_cannot_be_fetched(bot: Bot, sandbox: Sandbox) -> None:
    update = sandbox.world.send_document(USER, USER, b"\0" * (20 * 1024 * 1024 + 1), "big.bin")
    file_id = update["message"]["document"]["file_id"]
    status, body = await sandbox.raw("getFile", file_id=file_id)
    assert (status, body["description"]) == (400, "Bad Request: file is too big")
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(file_id)


async def test_a_bad_token_is_unauthorized(sandbox: Sandbox) -> None:
    async with sandbox.session.post(f"{sandbox.base}/bot1:wrong/getMe") as r:
        assert r.status == 401
        assert json.loads(await r.text())["description"] == "Unauthorized"


async def test_a_delay_longer_than_the_clients_timeout(bot: Bot, sandbox: Sandbox) -> None:
    """The answer comes too late: PTB gives up with TimedOut; the next call is served."""
    sandbox.world.inject("sendMessage", "delay", delay=1.5)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "迟到", read_timeout=0.3)
    sent = await bot.send_message(USER, "准时")
    assert sent.text == "准时"
