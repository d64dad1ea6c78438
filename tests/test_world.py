"""The sandbox's Telegram (``sandbox.world.World``) on its own: no PTB application, no HTTP.

Every Bot API method the sandbox serves is checked for its happy path and Telegram's error,
the people's side for the updates Telegram would send, long polling, faults, persistence and
live events; a contract check parses every result with PTB's own types.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import (
    ChatFullInfo,
    ChatMember,
    ChatMemberOwner,
    File,
    Message,
    TelegramObject,
    Update,
    User,
    WebhookInfo,
)

from sandbox.world import (
    BLOCKED_BY_USER,
    CALLBACK_QUERY_INVALID,
    CHAT_NOT_FOUND,
    GROUP_UPGRADED,
    MESSAGE_NOT_MODIFIED,
    POLLING_CONFLICT,
    WEBHOOK_CONFLICT,
    ApiError,
    Upload,
    World,
    bot_command_entities,
    image_size,
    parse_html,
)

TOKEN = "7100000001:world-test-secret"
BOT_ID = 7100000001
NOW = 1_750_000_000
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def big_png(width: int, height: int) -> bytes:
    """A PNG header for an image of this size (enough for Telegram's size reading)."""
    return PNG[:16] + width.to_bytes(4, "big") + height.to_bytes(4, "big") + PNG[24:]


def jpeg(width: int, height: int) -> bytes:
    """A JPEG header with an APP0 segment and a baseline SOF0 for this size."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return b"\xff\xd8" + app0 + sof0 + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\xff\xd9"


@pytest.fixture
def world() -> World:
    return World(token=TOKEN, bot_username="wuye_sandbox_bot", clock=lambda: NOW)


@pytest.fixture
def alice(world: World) -> int:
    person = world.add_user(None, "王伟", phone="+8613900000001", label="业主")
    return int(person["id"])


@pytest.fixture
def bob(world: World) -> int:
    return int(world.add_user(None, "李娜", username="lina", phone="+8613900000002")["id"])


def api(world: World, method: str, **params: Any) -> Any:
    """Call the world's Bot API with the right token."""
    return world.call(TOKEN, method, params)


def api_error(world: World, method: str, **params: Any) -> ApiError:
    """Call the Bot API and return the ApiError it must raise."""
    with pytest.raises(ApiError) as caught:
        world.call(TOKEN, method, params)
    return caught.value


def uploads(**files: bytes) -> dict[str, Upload]:
    return {name: Upload(name, f"{name}.bin", content) for name, content in files.items()}


def drain(world: World) -> list[dict[str, Any]]:
    """Take every queued update (as a deliverer would)."""
    taken = []
    while (update := world.take_update()) is not None:
        taken.append(update)
    return taken


def walk(obj: object) -> Iterator[TelegramObject]:
    """Every TelegramObject inside a parsed object, itself included."""
    if isinstance(obj, TelegramObject):
        yield obj
        for value in obj._get_attrs(recursive=False).values():
            yield from walk(value)
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from walk(item)


def assert_parses(kind: type[TelegramObject], data: dict[str, Any]) -> Any:
    """Parse ``data`` with PTB's type; no field may end up in ``api_kwargs`` (unknown)."""
    parsed = kind.de_json(data, None)
    for inner in walk(parsed):
        assert inner.api_kwargs == {}, (type(inner).__name__, inner.api_kwargs)
    return parsed


# --------------------------------------------------------------------------------------------
# Helpers of the module
# --------------------------------------------------------------------------------------------


def test_parse_html_gives_telegrams_text_and_entities() -> None:
    text, entities = parse_html(
        '<b>粗</b> <a href="https://x.y/?a=1&amp;b=2">链</a> <pre><code class="language-py">x'
        "</code></pre> &lt;5 <tg-spoiler>秘</tg-spoiler>"
    )
    assert text == "粗 链 x <5 秘"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "text_link", "offset": 2, "length": 1, "url": "https://x.y/?a=1&b=2"},
        {"type": "pre", "offset": 4, "length": 1, "language": "py"},
        {"type": "spoiler", "offset": 9, "length": 1},
    ]
    # Offsets count UTF-16 code units, as Telegram's do.
    assert parse_html("😀<i>x</i>")[1] == [{"type": "italic", "offset": 2, "length": 1}]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
    ],
)
def test_parse_html_errors(html: str, reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_html(html)
    assert caught.value.code == 400
    assert caught.value.description.startswith("Bad Request: can't parse entities: ")
    assert reason in caught.value.description


def test_image_size_reads_headers_without_pillow() -> None:
    assert image_size(PNG) == (1, 1)
    assert image_size(big_png(1600, 1200)) == (1600, 1200)
    assert image_size(jpeg(640, 480)) == (640, 480)
    assert image_size(b"GIF89a\x20\x00\x10\x00") == (32, 16)
    assert image_size(b"\xff\xd8\xff" + bytes(64)) is None
    assert image_size(b"not an image") is None


def test_bot_command_entities() -> None:
    assert bot_command_entities("请 /help@wuye_sandbox_bot 谢谢") == [
        {"type": "bot_command", "offset": 2, "length": 22}
    ]
    assert bot_command_entities("/开始") == []


def test_api_error_payload() -> None:
    error = ApiError(400, GROUP_UPGRADED, {"migrate_to_chat_id": -1001})
    assert error.payload() == {
        "ok": False,
        "error_code": 400,
        "description": GROUP_UPGRADED,
        "parameters": {"migrate_to_chat_id": -1001},
    }
    assert "parameters" not in ApiError(404, "Not Found").payload()


# --------------------------------------------------------------------------------------------
# People and groups
# --------------------------------------------------------------------------------------------


def test_people_get_ids_from_100001_and_upserts_keep_the_block(world: World) -> None:
    first = world.add_user(None, "王伟", phone="+8613900000001")
    second = world.add_user(None, "李娜")
    assert (first["id"], second["id"]) == (100001, 100002)
    assert first == {
        "id": 100001,
        "first_name": "王伟",
        "last_name": None,
        "username": None,
        "language_code": "zh-hans",
        "phone": "+8613900000001",
        "label": "",
        "blocked": False,
    }
    world.block_bot(100001)
    again = world.add_user(100001, "王伟伟", language_code="en")
    assert again["first_name"] == "王伟伟" and again["blocked"] is True
    assert [person["id"] for person in world.people()] == [100001, 100002]
    assert world.add_user(None)["first_name"] == "用户100003"
    with pytest.raises(ValueError, match="bot"):
        world.add_user(BOT_ID, "冒充")


def test_add_group_sends_what_telegram_sends_when_a_user_adds_the_bot(
    world: World, alice: int, bob: int
) -> None:
    group = world.add_group("一号楼物业群", [alice, bob])
    chat_id = group["id"]
    assert -999_999_999_999 <= chat_id < 0 and group["type"] == "group"
    assert group["members"] == [alice, bob]
    added, joined = drain(world)
    assert added["my_chat_member"]["from"]["id"] == alice
    assert added["my_chat_member"]["old_chat_member"]["status"] == "left"
    assert added["my_chat_member"]["new_chat_member"]["status"] == "member"
    assert joined["message"]["new_chat_members"] == [world.bot_user()]
    assert joined["message"]["chat"] == {"id": chat_id, "type": "group", "title": "一号楼物业群"}
    supergroup = world.add_group("大群", [alice], supergroup=True, announce=False)
    assert supergroup["id"] <= -1_000_000_000_000 and supergroup["type"] == "supergroup"
    with pytest.raises(ValueError, match="does not fit"):
        world.add_group("错", [alice], chat_id=-100, supergroup=True)
    with pytest.raises(ValueError, match="no person"):
        world.add_group("错", [424242])


def test_add_member_and_chats_of(world: World, alice: int, bob: int) -> None:
    group = world.add_group("客服群", [alice], announce=False)
    assert [chat["id"] for chat in world.chats_of(bob)] == [bob]
    world.add_member(group["id"], bob)
    (update,) = drain(world)
    assert update["message"]["new_chat_members"][0]["id"] == bob
    world.send_text(bob, bob, "你好")
    chats = world.chats_of(bob)
    assert [(chat["id"], chat["type"]) for chat in chats] == [
        (bob, "private"),
        (group["id"], "group"),
    ]
    assert chats[0]["title"] == "物业助手" and chats[0]["last_message"]["text"] == "你好"
    assert chats[1]["title"] == "客服群"
    with pytest.raises(ValueError, match="not a member"):
        world.send_text(alice, world.add_group("别的群", [bob], announce=False)["id"], "hi")
    with pytest.raises(ValueError, match="private chat"):
        world.send_text(alice, bob, "hi")


def test_send_text_queues_a_message_with_command_entities(world: World, alice: int) -> None:
    update = world.send_text(alice, alice, "/start inv_abc")
    message = update["message"]
    assert message["message_id"] == 1 and message["date"] == NOW
    assert message["from"] == {
        "id": alice,
        "is_bot": False,
        "first_name": "王伟",
        "language_code": "zh-hans",
    }
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert world.pending_updates() == [update]


def test_privacy_mode_in_groups(world: World, alice: int) -> None:
    chat_id = world.add_group("群", [alice], announce=False)["id"]
    world.send_text(alice, chat_id, "大家好")
    world.send_text(alice, chat_id, "/ping@another_bot")
    command = world.send_text(alice, chat_id, "/ping")
    mention = world.send_text(alice, chat_id, "@wuye_sandbox_bot 在吗")
    sent = api(world, "sendMessage", chat_id=chat_id, text="我在")
    reply = world.incoming(world.user(alice), chat_id, {"text": "谢谢", "reply_to_message": sent})
    world.emit("message", reply)
    queued = [update["message"]["text"] for update in drain(world)]
    assert queued == [command["message"]["text"], mention["message"]["text"], "谢谢"]
    # A photo (or a file) reaches the bot only as a reply to it, with a caption or without.
    world.send_photo(alice, chat_id, PNG)
    world.send_photo(alice, chat_id, PNG, caption="现场")
    world.send_document(alice, chat_id, b"a,b\n", "表.csv")
    answer = world.send_photo(alice, chat_id, PNG, reply_to=sent["message_id"])["message"]
    captioned = world.send_photo(alice, chat_id, PNG, caption="修好了", reply_to=sent["message_id"])
    file = world.send_document(alice, chat_id, b"a,b\n", "表.csv", reply_to=sent["message_id"])
    queued = [update["message"]["message_id"] for update in drain(world)]
    assert queued == [m["message_id"] for m in (answer, captioned["message"], file["message"])]
    # Every message is in the chat all the same.
    assert len(world.messages(chat_id)) == 12
    open_world = World(token=TOKEN, privacy_mode=False)
    person = open_world.add_user(None, "A")["id"]
    group = open_world.add_group("群", [person], announce=False)["id"]
    open_world.send_text(person, group, "大家好")
    assert len(open_world.pending_updates()) == 1
    assert open_world.me()["can_read_all_group_messages"] is True
    assert world.me()["can_read_all_group_messages"] is False


def test_contacts(world: World, alice: int, bob: int) -> None:
    own = world.send_contact(alice, alice)["message"]["contact"]
    assert own == {"phone_number": "+8613900000001", "first_name": "王伟", "user_id": alice}
    other = world.send_contact(alice, alice, contact_user_id=bob)["message"]["contact"]
    assert other == {"phone_number": "+8613900000002", "first_name": "李娜", "user_id": bob}
    card = world.send_contact(alice, alice, phone="+8613700000000", first_name="物业")
    assert card["message"]["contact"] == {"phone_number": "+8613700000000", "first_name": "物业"}
    nobody = world.add_user(None, "无号")["id"]
    with pytest.raises(ValueError, match="no phone number"):
        world.send_contact(nobody, nobody)


def test_people_send_photos_and_documents(world: World, alice: int) -> None:
    photo = world.send_photo(alice, alice, jpeg(1600, 1200), caption="漏水")["message"]
    sizes = [(size["width"], size["height"]) for size in photo["photo"]]
    assert sizes == [(90, 68), (320, 240), (800, 600), (1280, 960)]
    assert photo["caption"] == "漏水"
    unreadable = world.send_photo(alice, alice, b"\xff\xd8\xff" + bytes(10))["message"]
    assert (unreadable["photo"][-1]["width"], unreadable["photo"][-1]["height"]) == (800, 600)
    album = [world.send_photo(alice, alice, PNG, media_group_id="g1")["message"] for _ in range(2)]
    assert {message["media_group_id"] for message in album} == {"g1"}
    document = world.send_document(alice, alice, b"a,b\n", "名单.csv")["message"]["document"]
    assert document["file_name"] == "名单.csv" and document["mime_type"] == "text/csv"
    assert document["file_size"] == 4
    assert world.file_content(document["file_id"]) == b"a,b\n"


def test_a_persons_album_arrives_whole(world: World, alice: int) -> None:
    """As Telegram's apps send an album (one request): consecutive messages sharing a new
    media_group_id, the caption on the first, each answering the message replied to, their
    updates queued together; a refused photo or caption sends none of them."""
    asked = api(world, "sendMessage", chat_id=alice, text="请描述情况")
    drain(world)
    photos = [jpeg(800, 600), jpeg(600, 800), PNG]
    updates = world.send_album(alice, alice, photos, caption="渗水", reply_to=asked["message_id"])
    album = [update["message"] for update in updates]
    assert [m["message_id"] for m in album] == [asked["message_id"] + n for n in (1, 2, 3)]
    assert len({m["media_group_id"] for m in album}) == 1 and album[0]["media_group_id"]
    assert [m.get("caption") for m in album] == ["渗水", None, None]
    assert {m["reply_to_message"]["message_id"] for m in album} == {asked["message_id"]}
    assert [u["message"]["message_id"] for u in drain(world)] == [m["message_id"] for m in album]
    for message in album:
        assert_parses(Message, message)
    another = world.send_album(alice, alice, [PNG, PNG])
    assert another[0]["message"]["media_group_id"] != album[0]["media_group_id"]
    drain(world)
    before = world.messages(alice)
    for contents, caption, refusal in (
        ([PNG], None, "2 to 10 photos"),
        ([PNG] * 11, None, "2 to 10 photos"),
        ([PNG, b""], None, "photo 2 of the album is empty"),
        ([PNG, PNG], "长" * 1025, "at most 1024"),
    ):
        with pytest.raises(ValueError, match=refusal):
            world.send_album(alice, alice, contents, caption=caption)
    assert world.messages(alice) == before and drain(world) == []


def test_press_button_checks_the_button_unless_forged(world: World, alice: int) -> None:
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    sent = api(world, "sendMessage", chat_id=alice, text="选择", reply_markup=markup)
    drain(world)
    update = world.press_button(alice, alice, sent["message_id"], "ok")
    query = update["callback_query"]
    assert query["data"] == "ok" and query["from"]["id"] == alice
    assert query["message"]["message_id"] == sent["message_id"]
    with pytest.raises(ValueError, match="no button"):
        world.press_button(alice, alice, sent["message_id"], "forged")
    forged = world.press_button(alice, alice, sent["message_id"], "forged", check=False)
    assert forged["callback_query"]["data"] == "forged"
    mine = world.send_text(alice, alice, "hi")["message"]
    with pytest.raises(ValueError, match="not the bot's"):
        world.press_button(alice, alice, mine["message_id"], "ok")
    assert world.unanswered_callback_queries() == [query["id"], forged["callback_query"]["id"]]


def test_messages_lists_everyones_in_order_with_edits_and_without_deleted(
    world: World, alice: int
) -> None:
    world.send_text(alice, alice, "/start")
    first = api(world, "sendMessage", chat_id=alice, text="欢迎")
    second = api(world, "sendMessage", chat_id=alice, text="请选择")
    api(world, "editMessageText", chat_id=alice, message_id=first["message_id"], text="欢迎！")
    api(world, "deleteMessage", chat_id=alice, message_id=second["message_id"])
    messages = world.messages(alice)
    assert [message.get("text") for message in messages] == ["/start", "欢迎！"]
    assert messages[1]["edit_date"] == NOW
    assert world.messages(alice, after=1) == messages[1:]
    assert [message["text"] for message in world.deleted_messages(alice)] == ["请选择"]
    assert world.last_message_id(alice) == 3


# --------------------------------------------------------------------------------------------
# Bot API: identity, tokens, methods
# --------------------------------------------------------------------------------------------


def test_get_me_and_tokens(world: World) -> None:
    me = api(world, "getMe")
    assert me["id"] == BOT_ID and me["username"] == "wuye_sandbox_bot"
    assert me["first_name"] == "物业助手" and me["is_bot"] is True
    assert world.call(TOKEN, "GETME", {}) == me  # method names are case-insensitive
    with pytest.raises(ApiError) as caught:
        world.call("7100000001:wrong", "getMe", {})
    assert (caught.value.code, caught.value.description) == (401, "Unauthorized")
    error = api_error(world, "sendTelepathy")
    assert (error.code, error.description) == (404, "Not Found")
    assert api(world, "close") is True and api(world, "logOut") is True
    with pytest.raises(ValueError, match="not a bot token"):
        World(token="nonsense")


def test_calls_are_recorded(world: World, alice: int) -> None:
    api(world, "sendMessage", chat_id=alice, text="hi")
    api_error(world, "sendMessage", chat_id=alice, text="")
    world.call(
        TOKEN, "sendDocument", {"chat_id": alice}, {"document": Upload("document", "a.txt", b"abc")}
    )
    ok, failed, upload = world.calls
    assert ok.ok and ok.result["text"] == "hi" and ok.time == NOW
    assert (failed.ok, failed.error_code, failed.error) == (
        False,
        400,
        "Bad Request: message text is empty",
    )
    assert upload.uploads == {"document": {"filename": "a.txt", "size": 3, "mime_type": None}}
    assert upload.as_dict()["ok"] is True


def test_send_message_with_keyboards_and_replies(world: World, alice: int) -> None:
    inline = {"inline_keyboard": [[{"text": "查看", "callback_data": "view"}]]}
    sent = api(world, "sendMessage", chat_id=alice, text="菜单", reply_markup=inline)
    assert sent["reply_markup"] == inline and sent["from"]["id"] == BOT_ID
    keyboard = {
        "keyboard": [[{"text": "📱 分享手机号", "request_contact": True}]],
        "one_time_keyboard": True,
    }
    asked = api(world, "sendMessage", chat_id=alice, text="请分享", reply_markup=keyboard)
    assert "reply_markup" not in asked  # Telegram echoes inline keyboards only
    assert world.reply_keyboard(alice) == keyboard
    api(world, "sendMessage", chat_id=alice, text="好", reply_markup={"remove_keyboard": True})
    assert world.reply_keyboard(alice) is None
    # Form-encoded parameters arrive as strings.
    reply = world.call(
        TOKEN,
        "sendMessage",
        {
            "chat_id": str(alice),
            "text": "回复",
            "reply_parameters": json.dumps({"message_id": sent["message_id"]}),
            "reply_markup": json.dumps({"keyboard": [["是", "否"]]}),
        },
    )
    assert reply["reply_to_message"]["message_id"] == sent["message_id"]
    assert world.reply_keyboard(alice) == {"keyboard": [[{"text": "是"}, {"text": "否"}]]}
    error = api_error(
        world, "sendMessage", chat_id=alice, text="x", reply_parameters={"message_id": 999}
    )
    assert error.description == "Bad Request: message to be replied not found"
    lenient = api(
        world,
        "sendMessage",
        chat_id=alice,
        text="x",
        reply_parameters={"message_id": 999, "allow_sending_without_reply": True},
    )
    assert "reply_to_message" not in lenient


FORCE_REPLY = {"force_reply": True, "input_field_placeholder": "您的意见或建议（可选）"}


def test_force_reply_is_remembered_for_the_person_until_they_send(world: World, alice: int) -> None:
    """Telegram's Message carries no ForceReply: the person's app keeps it, opening the
    reply interface (with the placeholder) until the next message they send."""
    events = world.subscribe()
    asked = api(
        world, "sendMessage", chat_id=alice, text="还有其他意见吗？", reply_markup=FORCE_REPLY
    )
    assert "reply_markup" not in asked  # only inline keyboards appear in Message
    assert_parses(Message, asked)
    expected = {
        "message_id": asked["message_id"],
        "input_field_placeholder": "您的意见或建议（可选）",
    }
    assert world.force_reply(alice, alice) == expected
    assert world.chats_of(alice)[0]["force_reply"] == expected
    assert world.messages(alice)[-1] == asked  # the stored message has no markup either
    got = [events.get_nowait() for _ in range(events.qsize())]
    assert [event["type"] for event in got] == ["message", "force_reply"]
    assert got[1] == {
        "type": "force_reply",
        "chat_id": alice,
        "user_id": alice,
        "force_reply": expected,
    }
    # A later message without a keyboard leaves the reply interface open, as in the apps.
    api(world, "sendMessage", chat_id=alice, text="（提示）")
    assert world.force_reply(alice, alice) == expected
    # The person answers as a reply: the bot gets the reply; the interface closes.
    update = world.send_text(alice, alice, "希望改成感应灯", reply_to=asked["message_id"])
    assert update["message"]["reply_to_message"]["message_id"] == asked["message_id"]
    assert world.force_reply(alice, alice) is None
    assert world.chats_of(alice)[0]["force_reply"] is None
    got = [events.get_nowait() for _ in range(events.qsize())]
    assert [event["type"] for event in got] == ["message", "message", "force_reply"]
    assert got[2]["force_reply"] is None
    # Any next message ends it too (a photo, a contact, a text that is not a reply).
    api(world, "sendMessage", chat_id=alice, text="再问", reply_markup={"force_reply": True})
    assert world.force_reply(alice, alice) == {"message_id": asked["message_id"] + 3}
    world.send_contact(alice, alice)
    assert world.force_reply(alice, alice) is None


def test_force_reply_takes_the_keyboards_place_and_can_be_dismissed(
    world: World, alice: int
) -> None:
    keyboard = {"keyboard": [[{"text": "是"}]]}
    api(world, "sendMessage", chat_id=alice, text="选", reply_markup=keyboard)
    asked = api(world, "sendMessage", chat_id=alice, text="写", reply_markup=FORCE_REPLY)
    assert world.reply_keyboard(alice) is None
    assert world.force_reply(alice, alice) is not None
    api(world, "sendMessage", chat_id=alice, text="选", reply_markup=keyboard)
    assert world.force_reply(alice, alice) is None  # a reply keyboard takes its place
    asked = api(world, "sendMessage", chat_id=alice, text="写", reply_markup=FORCE_REPLY)
    assert world.dismiss_force_reply(alice, alice) is True
    assert world.dismiss_force_reply(alice, alice) is False
    assert world.force_reply(alice, alice) is None
    asked = api(world, "sendMessage", chat_id=alice, text="写", reply_markup=FORCE_REPLY)
    api(world, "deleteMessage", chat_id=alice, message_id=asked["message_id"])
    assert world.force_reply(alice, alice) is None  # its message is gone
    asked = api(world, "sendMessage", chat_id=alice, text="写", reply_markup=FORCE_REPLY)
    api(world, "sendMessage", chat_id=alice, text="好", reply_markup={"remove_keyboard": True})
    assert world.force_reply(alice, alice) is None


def test_force_reply_in_groups_everyone_or_the_selected(world: World, alice: int, bob: int) -> None:
    carol = int(world.add_user(None, "张敏")["id"])
    group = world.add_group("群", [alice, bob, carol], announce=False)["id"]
    asked = api(world, "sendMessage", chat_id=group, text="请大家回复", reply_markup=FORCE_REPLY)
    for person in (alice, bob, carol):
        assert world.force_reply(group, person) == {
            "message_id": asked["message_id"],
            "input_field_placeholder": "您的意见或建议（可选）",
        }
    world.send_text(bob, group, "收到", reply_to=asked["message_id"])
    assert world.force_reply(group, bob) is None
    assert world.force_reply(group, alice) is not None  # each person's app on its own
    assert world.force_reply(alice, alice) is None  # not in other chats
    # selective: the people @mentioned, and the sender of the message replied to.
    question = world.send_text(carol, group, "/ask")["message"]
    picked = api(
        world,
        "sendMessage",
        chat_id=group,
        text="@lina 请写明原因",
        reply_parameters={"message_id": question["message_id"]},
        reply_markup={"force_reply": True, "selective": True},
    )
    assert world.force_reply(group, bob) == {"message_id": picked["message_id"]}
    assert world.force_reply(group, carol) == {"message_id": picked["message_id"]}
    assert world.force_reply(group, alice) == {
        "message_id": asked["message_id"],
        "input_field_placeholder": "您的意见或建议（可选）",
    }
    mention = {"type": "text_mention", "offset": 0, "length": 2, "user": world.user(alice)}
    api(
        world,
        "sendMessage",
        chat_id=group,
        text="王伟 请确认",
        entities=[mention],
        reply_markup={"force_reply": True, "selective": True},
    )
    assert world.force_reply(group, alice) is not None
    assert world.force_reply(group, alice) != world.force_reply(group, bob)
    world.remove_member(group, alice, announce=False)
    assert world.force_reply(group, alice) is None


def test_send_message_html(world: World, alice: int) -> None:
    sent = api(
        world,
        "sendMessage",
        chat_id=alice,
        text=f'<b>注意</b> <a href="tg://user?id={alice}">王伟</a>',
        parse_mode="HTML",
    )
    assert sent["text"] == "注意 王伟"
    assert sent["entities"][0] == {"type": "bold", "offset": 0, "length": 2}
    assert sent["entities"][1]["type"] == "text_mention"
    assert sent["entities"][1]["user"]["id"] == alice
    error = api_error(world, "sendMessage", chat_id=alice, text="1 < 2", parse_mode="HTML")
    assert error.description == (
        'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2'
    )
    raw = World(token=TOKEN, check_html=False)
    person = raw.add_user(None, "A")["id"]
    kept = raw.call(TOKEN, "sendMessage", {"chat_id": person, "text": "<b>", "parse_mode": "HTML"})
    assert kept["text"] == "<b>"


@pytest.mark.parametrize(
    ("params", "code", "description"),
    [
        ({"text": ""}, 400, "Bad Request: message text is empty"),
        ({"text": "<b> </b>", "parse_mode": "HTML"}, 400, "Bad Request: message text is empty"),
        ({"text": "长" * 4097}, 400, "Bad Request: message is too long"),
        ({"chat_id": 424242, "text": "x"}, 400, CHAT_NOT_FOUND),
        ({"chat_id": "@nobody", "text": "x"}, 400, CHAT_NOT_FOUND),
        ({"chat_id": None, "text": "x"}, 400, "Bad Request: chat_id is empty"),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "x"}]]}},
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in "
            "the inline keyboard",
        ),
        (
            {
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "长" * 22}]]},
            },
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "x", "reply_markup": "not json"},
            400,
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        ({"text": "x", "parse_mode": "BBCode"}, 400, "Bad Request: unsupported parse_mode BBCode"),
    ],
)
def test_send_message_errors(
    world: World, alice: int, params: dict[str, Any], code: int, description: str
) -> None:
    error = api_error(world, "sendMessage", **{"chat_id": alice, **params})
    assert (error.code, error.description) == (code, description)


def test_edit_message_text(world: World, alice: int) -> None:
    menu = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    sent = api(world, "sendMessage", chat_id=alice, text="菜单", reply_markup=menu)
    message_id = sent["message_id"]
    error = api_error(
        world,
        "editMessageText",
        chat_id=alice,
        message_id=message_id,
        text="菜单",
        reply_markup=menu,
    )
    assert (error.code, error.description) == (400, MESSAGE_NOT_MODIFIED)
    edited = api(world, "editMessageText", chat_id=alice, message_id=message_id, text="菜单")
    assert "reply_markup" not in edited  # editing without markup drops the keyboard
    assert edited["edit_date"] == NOW
    with_keyboard = api(
        world, "editMessageReplyMarkup", chat_id=alice, message_id=message_id, reply_markup=menu
    )
    assert with_keyboard["reply_markup"] == menu
    mine = world.send_text(alice, alice, "我的消息")["message"]
    cases = [
        ({"message_id": 999, "text": "x"}, "Bad Request: message to edit not found"),
        ({"message_id": mine["message_id"], "text": "x"}, "Bad Request: message can't be edited"),
        ({"text": "x"}, "Bad Request: message identifier is not specified"),
        ({"message_id": message_id, "text": ""}, "Bad Request: message text is empty"),
    ]
    for params, description in cases:
        assert api_error(world, "editMessageText", chat_id=alice, **params).description == (
            description
        )
    assert api(world, "editMessageText", inline_message_id="abc", text="x") is True


def test_edit_message_caption(world: World, alice: int) -> None:
    photo = world.call(
        TOKEN,
        "sendPhoto",
        {"chat_id": alice, "caption": "旧"},
        {"photo": Upload("photo", "p.png", PNG)},
    )
    edited = api(
        world, "editMessageCaption", chat_id=alice, message_id=photo["message_id"], caption="新"
    )
    assert edited["caption"] == "新"
    text = api(world, "sendMessage", chat_id=alice, text="文字")
    error = api_error(
        world, "editMessageCaption", chat_id=alice, message_id=text["message_id"], caption="x"
    )
    assert error.description == "Bad Request: there is no caption in the message to edit"
    error = api_error(
        world, "editMessageText", chat_id=alice, message_id=photo["message_id"], text="x"
    )
    assert error.description == "Bad Request: there is no text in the message to edit"


def test_answer_callback_query(world: World, alice: int) -> None:
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    sent = api(world, "sendMessage", chat_id=alice, text="选择", reply_markup=markup)
    query_id = world.press_button(alice, alice, sent["message_id"], "ok")["callback_query"]["id"]
    assert world.callback_answer(query_id) is None
    error = api_error(world, "answerCallbackQuery", callback_query_id=query_id, text="长" * 201)
    assert error.description == "Bad Request: MESSAGE_TOO_LONG"
    assert api(
        world, "answerCallbackQuery", callback_query_id=query_id, text="收到", show_alert="true"
    )
    assert world.callback_answer(query_id) == {
        "text": "收到",
        "show_alert": True,
        "url": None,
        "cache_time": 0,
    }
    for unknown in (query_id, "123"):
        error = api_error(world, "answerCallbackQuery", callback_query_id=unknown)
        assert (error.code, error.description) == (400, CALLBACK_QUERY_INVALID)


def test_delete_messages(world: World, alice: int) -> None:
    ids = [api(world, "sendMessage", chat_id=alice, text=str(n))["message_id"] for n in range(3)]
    assert api(world, "deleteMessage", chat_id=alice, message_id=ids[0]) is True
    error = api_error(world, "deleteMessage", chat_id=alice, message_id=ids[0])
    assert error.description == "Bad Request: message to delete not found"
    assert api(world, "deleteMessages", chat_id=alice, message_ids=[ids[1], ids[2], 999]) is True
    assert world.messages(alice) == []


def test_send_photo_and_document(world: World, alice: int) -> None:
    photo = world.call(
        TOKEN, "sendPhoto", {"chat_id": alice}, {"photo": Upload("photo", "p.jpg", jpeg(400, 300))}
    )
    assert [(size["width"], size["height"]) for size in photo["photo"]] == [
        (90, 68),
        (320, 240),
        (400, 300),
    ]
    again = api(world, "sendPhoto", chat_id=alice, photo=photo["photo"][-1]["file_id"])
    assert again["photo"] == photo["photo"]  # sending a file_id again reuses the file
    document = world.call(
        TOKEN,
        "sendDocument",
        {
            "chat_id": alice,
            "document": "attach://file0",
            "caption": "<i>表</i>",
            "parse_mode": "HTML",
        },
        {"file0": Upload("file0", "报表.xlsx", b"PK\x03\x04")},
    )
    doc = document["document"]
    assert doc["file_name"] == "报表.xlsx"
    assert doc["mime_type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert document["caption"] == "表"
    assert document["caption_entities"] == [{"type": "italic", "offset": 0, "length": 1}]
    cases: list[tuple[str, dict[str, Any], dict[str, Upload], int, str]] = [
        ("sendPhoto", {}, uploads(photo=b"not an image"), 400, "Bad Request: IMAGE_PROCESS_FAILED"),
        (
            "sendPhoto",
            {},
            uploads(photo=big_png(9000, 2000)),
            400,
            "Bad Request: PHOTO_INVALID_DIMENSIONS",
        ),
        ("sendPhoto", {}, {}, 400, "Bad Request: there is no photo in the request"),
        ("sendDocument", {}, uploads(document=b""), 400, "Bad Request: file must be non-empty"),
        (
            "sendPhoto",
            {"photo": doc["file_id"]},
            {},
            400,
            "Bad Request: can't use file of type Document as Photo",
        ),
        (
            "sendDocument",
            {"document": "nonsense"},
            {},
            400,
            "Bad Request: wrong file identifier/HTTP URL specified",
        ),
        (
            "sendDocument",
            {"document": "https://example.com/a.pdf"},
            {},
            400,
            "Bad Request: failed to get HTTP URL content",
        ),
        (
            "sendDocument",
            {"document": "attach://nothing"},
            {},
            400,
            "Bad Request: can't parse InputMedia: media not found",
        ),
    ]
    for method, params, files, code, description in cases:
        with pytest.raises(ApiError) as caught:
            world.call(TOKEN, method, {"chat_id": alice, **params}, files)
        assert (caught.value.code, caught.value.description) == (code, description), method


def test_upload_limits(world: World, alice: int) -> None:
    with pytest.raises(ApiError) as caught:
        world.call(
            TOKEN,
            "sendDocument",
            {"chat_id": alice},
            uploads(document=b"\0" * (50 * 1024 * 1024 + 1)),
        )
    assert (caught.value.code, caught.value.description) == (413, "Request Entity Too Large")
    with pytest.raises(ApiError, match="too big for a photo"):
        world.call(TOKEN, "sendPhoto", {"chat_id": alice}, uploads(photo=b"\0" * (10 * 2**20 + 1)))


def test_send_media_group(world: World, alice: int) -> None:
    media = [
        {"type": "photo", "media": "attach://a", "caption": "一"},
        {"type": "photo", "media": "attach://b"},
    ]
    files = {"a": Upload("a", "a.png", PNG), "b": Upload("b", "b.jpg", jpeg(10, 20))}
    sent = world.call(
        TOKEN, "sendMediaGroup", {"chat_id": alice, "media": json.dumps(media)}, files
    )
    assert isinstance(sent, list) and len(sent) == 2
    assert sent[0]["media_group_id"] == sent[1]["media_group_id"]
    assert sent[0]["caption"] == "一" and "caption" not in sent[1]
    assert [message["message_id"] for message in sent] == [1, 2]
    documents = [
        {"type": "document", "media": "attach://a"},
        {"type": "document", "media": "attach://b"},
    ]
    assert (
        len(world.call(TOKEN, "sendMediaGroup", {"chat_id": alice, "media": documents}, files)) == 2
    )
    single = world.call(TOKEN, "sendMediaGroup", {"chat_id": alice, "media": media[:1]}, files)
    assert len(single) == 1 and "media_group_id" not in single[0]  # as Telegram: no album
    too_many = [{"type": "photo", "media": "attach://a"}] * 11
    cases = [
        ([], "Bad Request: there are no messages to send"),
        (too_many, "Bad Request: too many messages to send as an album"),
        ([media[0], documents[0]], "Bad Request: document can't be mixed with other media types"),
        (
            [media[0], {"type": "photo", "media": "attach://zzz"}],
            "Bad Request: can't parse InputMedia: media not found",
        ),
        (
            [media[0], {"type": "video", "media": "attach://b"}],
            'Bad Request: can\'t parse InputMedia: type "video" is unsupported',
        ),
    ]
    before = len(world.messages(alice))
    for items, description in cases:
        with pytest.raises(ApiError) as caught:
            world.call(TOKEN, "sendMediaGroup", {"chat_id": alice, "media": items}, files)
        assert caught.value.description == description
    assert len(world.messages(alice)) == before  # a refused album sends nothing


def test_get_file_and_download(world: World, alice: int) -> None:
    document = world.send_document(alice, alice, b"hello", "a.txt")["message"]["document"]
    info = api(world, "getFile", file_id=document["file_id"])
    assert info["file_id"] == document["file_id"] and info["file_size"] == 5
    assert info["file_path"].startswith("documents/") and info["file_path"].endswith(".txt")
    assert world.download(TOKEN, info["file_path"]) == b"hello"
    assert world.file_by_id(document["file_id"]) == (b"hello", "a.txt", "text/plain")
    with pytest.raises(ApiError) as caught:
        world.download(TOKEN, "documents/nothing.txt")
    assert (caught.value.code, caught.value.description) == (404, "Not Found")
    with pytest.raises(ApiError, match="Unauthorized"):
        world.download("1:x", info["file_path"])
    assert api_error(world, "getFile", file_id="nope").description == "Bad Request: invalid file_id"
    big = world.send_document(alice, alice, b"\0" * (20 * 1024 * 1024 + 1), "big.bin")
    error = api_error(world, "getFile", file_id=big["message"]["document"]["file_id"])
    assert error.description == "Bad Request: file is too big"


def test_chat_action_get_chat_and_members(world: World, alice: int, bob: int) -> None:
    assert api(world, "sendChatAction", chat_id=alice, action="typing") is True
    error = api_error(world, "sendChatAction", chat_id=alice, action="dancing")
    assert error.description == "Bad Request: wrong parameter action in request"
    group = world.add_group("群", [alice, bob], by=alice, announce=False)["id"]
    info = api(world, "getChat", chat_id=group)
    assert assert_parses(ChatFullInfo, info).title == "群"
    owner = api(world, "getChatMember", chat_id=group, user_id=alice)
    assert isinstance(assert_parses(ChatMember, owner), ChatMemberOwner)
    assert api(world, "getChatMember", chat_id=group, user_id=bob)["status"] == "member"
    assert api(world, "getChatMember", chat_id=group, user_id=BOT_ID)["status"] == "member"
    outsider = world.add_user(None, "外人")["id"]
    assert api(world, "getChatMember", chat_id=group, user_id=outsider)["status"] == "left"
    assert api_error(world, "getChatMember", chat_id=group, user_id=5).description == (
        "Bad Request: user not found"
    )
    assert [m["user"]["id"] for m in api(world, "getChatAdministrators", chat_id=group)] == [alice]
    assert api_error(world, "getChatAdministrators", chat_id=alice).description == (
        "Bad Request: there are no administrators in the private chat"
    )
    assert api(world, "getChatMemberCount", chat_id=group) == 3


def test_leave_chat(world: World, alice: int) -> None:
    group = world.add_group("群", [alice], announce=False)["id"]
    assert api(world, "leaveChat", chat_id=group) is True
    (update,) = drain(world)
    assert update["my_chat_member"]["new_chat_member"]["status"] == "left"
    error = api_error(world, "sendMessage", chat_id=group, text="x")
    assert (error.code, error.description) == (
        403,
        "Forbidden: bot is not a member of the group chat",
    )
    assert api_error(world, "leaveChat", chat_id=alice).code == 400


def test_commands_by_scope_and_language(world: World) -> None:
    commands = [
        {"command": "start", "description": "开始"},
        {"command": "help", "description": "帮助"},
    ]
    assert api(world, "setMyCommands", commands=json.dumps(commands)) is True
    english = [{"command": "start", "description": "Start"}]
    api(world, "setMyCommands", commands=english, language_code="en")
    groups = [{"command": "bind", "description": "绑定"}]
    api(world, "setMyCommands", commands=groups, scope={"type": "all_group_chats"})
    group = world.add_group("工程部", [], announce=False)["id"]
    chat_scope = {"type": "chat", "chat_id": str(group)}
    api(world, "setMyCommands", commands=groups, scope=json.dumps(chat_scope))
    assert api(world, "getMyCommands") == commands
    assert api(world, "getMyCommands", language_code="en") == english
    assert api(world, "getMyCommands", scope={"type": "chat", "chat_id": group}) == groups
    assert world.commands() == commands and world.commands(language_code="en") == english
    assert world.commands("all_group_chats") == groups
    assert world.commands("chat", chat_id=group) == groups
    assert api(world, "deleteMyCommands", language_code="en") is True
    assert api(world, "getMyCommands", language_code="en") == []
    bad = [{"command": "Start", "description": "大写"}]
    assert api_error(world, "setMyCommands", commands=bad).description == (
        "Bad Request: BOT_COMMAND_INVALID"
    )
    # No commands clears the scope's list, as Telegram's server does.
    assert api(world, "setMyCommands", scope={"type": "all_group_chats"}) is True
    assert world.commands("all_group_chats") == []


def test_command_scopes_are_checked_as_telegram_checks_them(world: World, alice: int) -> None:
    """Telegram's texts for a wrong scope, chat or language (the Bot API server's parsing,
    then TDLib's checks)."""
    one = [{"command": "start", "description": "开始"}]
    group = world.add_group("群", [alice], announce=False)["id"]

    def refused(scope: Any = None, language_code: str | None = None, **extra: Any) -> str:
        params: dict[str, Any] = {"commands": one, **extra}
        if scope is not None:
            params["scope"] = scope
        if language_code is not None:
            params["language_code"] = language_code
        error = api_error(world, "setMyCommands", **params)
        assert error.code == 400
        return error.description

    prefix = "Bad Request: can't parse BotCommandScope: "
    assert refused("{not json") == "Bad Request: can't parse BotCommandScope JSON object"
    assert refused([1]) == prefix + "BotCommandScope must be an Object"
    assert refused({"chat_id": alice}) == prefix + 'Can\'t find field "type"'
    assert refused({"type": "everyone"}) == prefix + "Unsupported type specified"
    assert refused({"type": "chat"}) == prefix + 'Can\'t find field "chat_id"'
    assert refused({"type": "chat", "chat_id": ""}) == prefix + "Empty chat_id specified"
    member = {"type": "chat_member", "chat_id": group, "user_id": 0}
    assert refused(member) == prefix + "Invalid user_id specified"
    assert refused({"type": "chat", "chat_id": 424242}) == CHAT_NOT_FOUND
    for kind in ("chat_administrators", "chat_member"):
        scope = {"type": kind, "chat_id": alice, "user_id": alice}
        assert refused(scope) == "Bad Request: can't use specified scope in private chats"
    for code in ("zh-hans", "EN", "eng", "z"):
        assert refused(language_code=code) == "Bad Request: invalid language code specified"
    assert api_error(world, "getMyCommands", language_code="zh-hant").description == (
        "Bad Request: invalid language code specified"
    )
    assert refused(commands=[{"command": "start"}]) == (
        "Bad Request: can't parse BotCommand: Can't find field \"description\""
    )
    assert refused(commands=[{"command": "start", "description": "x" * 257}]) == (
        "Bad Request: command description length must not exceed 256"
    )
    # A chat scope takes an id as a number or a string, and the chat of a person who blocked
    # the bot is still theirs.
    world.block_bot(alice)
    assert api(world, "setMyCommands", commands=one, scope={"type": "chat", "chat_id": alice})
    assert world.commands("chat", chat_id=alice) == one
    world.upgrade_group(group)
    error = api_error(world, "getMyCommands", scope={"type": "chat", "chat_id": group})
    assert error.description == GROUP_UPGRADED


def test_a_person_sees_the_first_list_set_in_telegrams_order(
    world: World, alice: int, bob: int
) -> None:
    """Bot API, BotCommandScope, "Determining list of commands": a private chat takes the
    chat's list, then all private chats', then the default, each first in the person's
    language; a group the member's, the chat's administrators' (administrators only), the
    chat's, all administrators' (administrators only), all groups', the default."""

    def commands(*names: str) -> list[dict[str, str]]:
        return [{"command": name, "description": name} for name in names]

    def put(names: list[dict[str, str]], scope: dict[str, Any], language: str = "") -> None:
        assert api(world, "setMyCommands", commands=names, scope=scope, language_code=language)

    english = world.add_user(None, "Ann", language_code="en-US")["id"]
    assert world.menu(alice) == []
    put(commands("default"), {"type": "default"})
    put(commands("default_en"), {"type": "default"}, "en")
    assert world.menu(alice) == commands("default")  # zh-hans: no "zh" list, the default
    assert world.menu(english) == commands("default_en")  # en-US takes "en"
    put(commands("private"), {"type": "all_private_chats"})
    assert world.menu(alice) == commands("private")
    assert world.menu(english) == commands("private")  # any language beats a wider scope
    put(commands("private_zh"), {"type": "all_private_chats"}, "zh")
    assert world.menu(alice) == commands("private_zh")
    put(commands("alice"), {"type": "chat", "chat_id": alice})
    assert world.menu(alice) == commands("alice")
    assert world.menu(bob) == commands("private_zh")  # another person's chat is not theirs
    assert world.menu(english) == commands("private")
    api(world, "deleteMyCommands", scope={"type": "chat", "chat_id": alice})
    assert world.menu(alice) == commands("private_zh")

    group = world.add_group("工程部", [alice, bob], announce=False)["id"]  # alice created it
    assert world.menu(bob, group) == commands("default")
    put(commands("groups"), {"type": "all_group_chats"})
    put(commands("admins"), {"type": "all_chat_administrators"})
    assert world.menu(bob, group) == commands("groups")
    assert world.menu(alice, group) == commands("admins")
    put(commands("here"), {"type": "chat", "chat_id": group})
    assert world.menu(bob, group) == commands("here")
    assert world.menu(alice, group) == commands("here")
    put(commands("here_admins"), {"type": "chat_administrators", "chat_id": group})
    assert world.menu(alice, group) == commands("here_admins")
    assert world.menu(bob, group) == commands("here")
    put(commands("bob"), {"type": "chat_member", "chat_id": group, "user_id": bob})
    assert world.menu(bob, group) == commands("bob")
    assert world.menu(alice, group) == commands("here_admins")
    assert world.menu(alice) == commands("private_zh")  # the private chat is untouched
    with pytest.raises(ValueError, match="has no chat"):
        world.menu(alice, bob)  # bob's private chat with the bot is not alice's


def test_webhook_blocks_get_updates_until_deleted(world: World, alice: int) -> None:
    world.send_text(alice, alice, "hi")
    assert api(world, "setWebhook", url="https://bot.example/hook", secret_token="s3cr3t") is True
    error = api_error(world, "getUpdates")
    assert (error.code, error.description) == (409, WEBHOOK_CONFLICT)
    info = api(world, "getWebhookInfo")
    assert info["url"] == "https://bot.example/hook" and info["pending_update_count"] == 1
    assert world.webhook is not None and world.webhook["secret_token"] == "s3cr3t"
    world.webhook_failed("Connection refused")
    assert api(world, "getWebhookInfo")["last_error_message"] == "Connection refused"
    assert_parses(WebhookInfo, api(world, "getWebhookInfo"))
    for params, description in [
        ({"url": "ftp://x"}, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
        (
            {"url": "https://x.y", "secret_token": "no spaces"},
            "Bad Request: secret token contains unallowed characters",
        ),
    ]:
        assert api_error(world, "setWebhook", **params).description == description
    assert api(world, "deleteWebhook") is True
    assert len(api(world, "getUpdates")) == 1
    assert api(world, "getWebhookInfo")["url"] == ""
    api(world, "setWebhook", url="http://127.0.0.1:9/hook", drop_pending_updates=True)
    assert world.pending_updates() == []


def test_blocked_user_and_unblocking_by_writing(world: World, alice: int) -> None:
    world.block_bot(alice)
    (blocked,) = drain(world)
    assert blocked["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    error = api_error(world, "sendMessage", chat_id=alice, text="x")
    assert (error.code, error.description) == (403, BLOCKED_BY_USER)
    world.send_text(alice, alice, "/start")  # writing to the bot unblocks it
    unblocked, message = drain(world)
    assert unblocked["my_chat_member"]["new_chat_member"]["status"] == "member"
    assert message["message"]["text"] == "/start"
    assert api(world, "sendMessage", chat_id=alice, text="欢迎回来")["text"] == "欢迎回来"


def test_bot_removed_from_groups(world: World, alice: int) -> None:
    group = world.add_group("群", [alice], announce=False)["id"]
    supergroup = world.add_group("大群", [alice], supergroup=True, announce=False)["id"]
    world.remove_bot(group, by=alice)
    world.remove_bot(supergroup)
    removed = drain(world)
    assert [u["my_chat_member"]["new_chat_member"]["status"] for u in removed] == ["kicked"] * 2
    assert api_error(world, "sendMessage", chat_id=group, text="x").description == (
        "Forbidden: bot was kicked from the group chat"
    )
    assert api_error(world, "sendMessage", chat_id=supergroup, text="x").description == (
        "Forbidden: bot was kicked from the supergroup chat"
    )
    world.send_text(alice, group, "/ping")
    assert drain(world) == []  # the bot is not there to receive it
    world.add_bot(group, by=alice)
    assert [next(iter(set(u) - {"update_id"})) for u in drain(world)] == [
        "my_chat_member",
        "message",
    ]
    assert api(world, "sendMessage", chat_id=group, text="回来了")["chat"]["id"] == group


def test_upgrade_group(world: World, alice: int) -> None:
    old = world.add_group("客服群", [alice], announce=False)["id"]
    api(world, "sendMessage", chat_id=old, text="早")
    new = world.upgrade_group(old, by=alice)
    assert new["type"] == "supergroup" and new["id"] <= -1_000_000_000_000
    assert new["migrated_from"] == old and new["members"] == [alice]
    to_update, from_update = drain(world)
    assert to_update["message"]["chat"]["id"] == old
    assert to_update["message"]["migrate_to_chat_id"] == new["id"]
    assert from_update["message"]["chat"] == {
        "id": new["id"],
        "type": "supergroup",
        "title": "客服群",
    }
    assert from_update["message"]["migrate_from_chat_id"] == old
    error = api_error(world, "sendMessage", chat_id=old, text="还在吗")
    assert (error.code, error.description, error.parameters) == (
        400,
        GROUP_UPGRADED,
        {"migrate_to_chat_id": new["id"]},
    )
    assert api(world, "sendMessage", chat_id=new["id"], text="在")["message_id"] == 2
    assert [chat["id"] for chat in world.chats_of(alice)] == [alice, new["id"]]
    with pytest.raises(ValueError, match="upgraded"):
        world.send_text(alice, old, "hi")
    with pytest.raises(ValueError, match="not a group"):
        world.upgrade_group(new["id"])
    chosen = world.upgrade_group(world.add_group("二", [alice])["id"], new_chat_id=-1001234567890)
    assert chosen["id"] == -1001234567890


# --------------------------------------------------------------------------------------------
# getUpdates and long polling
# --------------------------------------------------------------------------------------------


def test_offset_confirms_and_limit(world: World, alice: int) -> None:
    ids = [world.send_text(alice, alice, str(n))["update_id"] for n in range(5)]
    assert [u["update_id"] for u in api(world, "getUpdates", limit=2)] == ids[:2]
    assert len(api(world, "getUpdates", limit=0)) == 1  # clamped to 1..100
    assert [u["update_id"] for u in api(world, "getUpdates", offset=ids[2])] == ids[2:]
    assert [u["update_id"] for u in api(world, "getUpdates")] == ids[2:]  # confirmed are gone
    assert [u["update_id"] for u in api(world, "getUpdates", offset=-1)] == ids[-1:]
    assert [u["update_id"] for u in api(world, "getUpdates", offset="0")] == ids[-1:]
    assert api(world, "getUpdates", offset=ids[-1] + 1) == []


def test_allowed_updates_are_remembered(world: World, alice: int) -> None:
    sent = api(
        world,
        "sendMessage",
        chat_id=alice,
        text="选",
        reply_markup={"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]},
    )
    api(world, "getUpdates", allowed_updates=json.dumps(["callback_query"]))
    world.send_text(alice, alice, "被过滤")
    world.press_button(alice, alice, sent["message_id"], "ok")
    assert [set(u) - {"update_id"} for u in api(world, "getUpdates")] == [{"callback_query"}]
    api(world, "getUpdates", allowed_updates=[], offset=-1)  # empty: all the usual kinds again
    world.send_text(alice, alice, "收到")
    assert api(world, "getUpdates")[-1]["message"]["text"] == "收到"


async def test_long_polling_wakes_on_a_new_update(world: World, alice: int) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, world.send_text, alice, alice, "来了")
    started = loop.time()
    updates = await world.get_updates(TOKEN, {"timeout": 5})
    assert [u["message"]["text"] for u in updates] == ["来了"]
    assert loop.time() - started < 2
    started = loop.time()
    assert (
        await world.get_updates(TOKEN, {"timeout": "0.1", "offset": updates[0]["update_id"] + 1})
        == []
    )
    assert 0.08 <= loop.time() - started < 2
    # call() never waits, whatever the timeout.
    assert world.call(TOKEN, "getUpdates", {"timeout": 30}) == []


async def test_a_second_poller_ends_the_first_with_a_conflict(world: World, alice: int) -> None:
    first = asyncio.create_task(world.get_updates(TOKEN, {"timeout": 5}))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(world.get_updates(TOKEN, {"timeout": 5}))
    with pytest.raises(ApiError) as caught:
        await first
    assert (caught.value.code, caught.value.description) == (409, POLLING_CONFLICT)
    world.send_text(alice, alice, "hi")
    assert len(await second) == 1


async def test_wait_for_updates(world: World, alice: int) -> None:
    assert await world.wait_for_updates(0.01) is False
    asyncio.get_running_loop().call_later(0.02, world.send_text, alice, alice, "x")
    assert await world.wait_for_updates(5) is True
    update = world.take_update()
    assert update is not None and world.take_update() is None
    world.send_text(alice, alice, "y")
    world.send_text(alice, alice, "z")
    world.confirm_updates(world.pending_updates()[0]["update_id"])
    assert [u["message"]["text"] for u in world.pending_updates()] == ["z"]


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


def test_fault_kinds_and_times(world: World, alice: int) -> None:
    world.inject("sendMessage", "429", times=2, retry_after=7)
    for _ in range(2):
        error = api_error(world, "sendMessage", chat_id=alice, text="x")
        assert error.payload() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        }
    assert api(world, "sendMessage", chat_id=alice, text="x")["text"] == "x"
    world.inject("sendMessage", "500")
    world.inject("sendMessage", "403")
    world.inject("sendMessage", "400", description="Bad Request: chat not found")
    world.inject("getMe", 502, description="Bad Gateway")
    assert [fault["kind"] for fault in world.faults()] == ["500", "403", "400", "502"]
    expected = [
        (500, "Internal Server Error", None),
        (403, BLOCKED_BY_USER, None),
        (400, CHAT_NOT_FOUND, None),
    ]
    for code, description, parameters in expected:
        error = api_error(world, "sendMessage", chat_id=alice, text="x")
        assert (error.code, error.description, error.parameters) == (code, description, parameters)
    assert api_error(world, "getMe").code == 502
    assert world.faults() == []
    world.inject("getMe", "500", times=3)
    world.clear_faults()
    assert api(world, "getMe")["id"] == BOT_ID
    with pytest.raises(ValueError, match="description"):
        world.inject("getMe", 418)


async def test_delay_fault_is_taken_once_per_request(world: World, alice: int) -> None:
    world.inject("sendMessage", "delay", delay=0.05)
    world.inject("sendMessage", "500")

    async def request(text: str) -> Any:
        await asyncio.sleep(world.take_delay("sendMessage"))
        return world.call(TOKEN, "sendMessage", {"chat_id": alice, "text": text})

    slow = asyncio.create_task(request("slow"))
    await asyncio.sleep(0)  # slow took the delay and sleeps
    with pytest.raises(ApiError, match="Internal Server Error"):
        await request("fast")  # the next fault is the next request's
    assert (await slow)["text"] == "slow"
    assert world.faults() == []
    # A delay nobody awaited is used up by the call itself.
    world.inject("sendMessage", "delay", delay=10)
    assert api(world, "sendMessage", chat_id=alice, text="x")["text"] == "x"
    assert world.take_delay("sendMessage") == 0.0


def test_a_fault_for_one_chat_hits_only_calls_to_it(world: World, alice: int, bob: int) -> None:
    world.inject("sendMessage", "429", times=2, retry_after=8, chat_id=alice)
    world.inject("sendMessage", "500")  # any chat's: the next call that passes the first by
    assert world.faults()[0]["chat_id"] == alice and world.faults()[-1]["chat_id"] is None
    assert api_error(world, "sendMessage", chat_id=bob, text="x").code == 500
    assert api(world, "sendMessage", chat_id=bob, text="x")["text"] == "x"
    for _ in range(2):
        error = api_error(world, "sendMessage", chat_id=str(alice), text="x")
        assert (error.code, error.parameters) == (429, {"retry_after": 8})
    assert api(world, "sendMessage", chat_id=alice, text="x")["text"] == "x"
    assert world.faults() == []
    # A delay for one chat is taken only by a request to that chat.
    world.inject("sendMessage", "delay", delay=0.5, chat_id=alice)
    assert world.take_delay("sendMessage", {"chat_id": bob}) == 0.0
    assert world.take_delay("sendMessage", {"chat_id": alice}) == 0.5
    assert world.faults() == []
    assert api(world, "sendMessage", chat_id=alice, text="late")["text"] == "late"


def test_override(world: World) -> None:
    world.override("getMe", lambda params, files: {"id": 1})
    assert api(world, "getMe") == {"id": 1}
    world.override("getMe", None)
    assert api(world, "getMe")["id"] == BOT_ID


# --------------------------------------------------------------------------------------------
# Persistence
# --------------------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "sandbox" / "world.json"
    world = World.load(token=TOKEN, state_path=state, clock=lambda: NOW)
    assert world.people() == [] and not world.dirty
    alice = world.add_user(None, "王伟", phone="+8613900000001")["id"]
    group = world.add_group("群", [alice])["id"]
    document = world.send_document(alice, alice, b"roster", "r.csv")["message"]["document"]
    api(world, "sendMessage", chat_id=alice, text="<b>好</b>", parse_mode="HTML")
    api(world, "setMyCommands", commands=[{"command": "start", "description": "开始"}])
    api(world, "getUpdates", allowed_updates=["message", "my_chat_member"])
    asked = api(world, "sendMessage", chat_id=alice, text="写", reply_markup=FORCE_REPLY)
    world.block_bot(alice, announce=False)
    pending = world.pending_updates()
    assert world.dirty
    world.save()
    assert not world.dirty and world.save_if_dirty() is False
    assert sorted(path.name for path in state.parent.iterdir()) == ["files", "world.json"]
    assert [path.name for path in (state.parent / "files").iterdir()] == [
        __import__("hashlib").sha256(b"roster").hexdigest()
    ]

    again = World.load(token=TOKEN, state_path=state, clock=lambda: NOW)
    assert again.people() == world.people()
    assert again.messages(alice) == world.messages(alice)
    assert again.messages(group) == world.messages(group)
    assert again.pending_updates() == pending
    assert again.commands() == [{"command": "start", "description": "开始"}]
    assert again.force_reply(alice, alice) == {
        "message_id": asked["message_id"],
        "input_field_placeholder": "您的意见或建议（可选）",
    }
    info = again.call(TOKEN, "getFile", {"file_id": document["file_id"]})
    assert again.download(TOKEN, info["file_path"]) == b"roster"
    assert again.call(TOKEN, "getUpdates", {})[0] == pending[0]
    with pytest.raises(ApiError, match="blocked"):
        again.call(TOKEN, "sendMessage", {"chat_id": alice, "text": "x"})
    # Ids keep counting where they stopped.
    assert again.add_user(None, "新人")["id"] == alice + 1
    assert again.send_text(alice, group, "/ping")["update_id"] > pending[-1]["update_id"]


async def test_autosave(tmp_path: Path) -> None:
    state = tmp_path / "world.json"
    world = World(token=TOKEN, state_path=state)
    task = asyncio.create_task(world.autosave(0.01))
    world.add_user(None, "王伟")
    for _ in range(100):
        await asyncio.sleep(0.01)
        if state.exists():
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert json.loads(state.read_text())["people"][0]["first_name"] == "王伟"


def test_in_memory_files_without_a_state_path(world: World, alice: int) -> None:
    update = world.send_document(alice, alice, b"x", "x.txt")
    assert world.file_content(update["message"]["document"]["file_id"]) == b"x"
    with pytest.raises(ValueError, match="state_path"):
        world.save()


# --------------------------------------------------------------------------------------------
# Live events
# --------------------------------------------------------------------------------------------


async def test_subscribe_gets_messages_edits_deletes_and_answers(world: World, alice: int) -> None:
    events = world.subscribe()
    world.send_text(alice, alice, "/start")
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    sent = api(world, "sendMessage", chat_id=alice, text="选", reply_markup=markup)
    api(world, "editMessageText", chat_id=alice, message_id=sent["message_id"], text="已选")
    query = world.press_button(alice, alice, sent["message_id"], "ok", check=False)
    api(world, "answerCallbackQuery", callback_query_id=query["callback_query"]["id"], text="好")
    api(world, "sendChatAction", chat_id=alice, action="typing")
    api(world, "deleteMessage", chat_id=alice, message_id=sent["message_id"])
    got = []
    while not events.empty():
        got.append(events.get_nowait())
    assert [event["type"] for event in got] == [
        "message",
        "message",
        "edit",
        "answer",
        "action",
        "delete",
    ]
    assert got[0]["chat_id"] == alice and got[0]["message"]["text"] == "/start"
    assert got[2]["message"]["text"] == "已选"
    assert got[3] == {
        "type": "answer",
        "query_id": query["callback_query"]["id"],
        "text": "好",
        "show_alert": False,
        "chat_id": alice,
        "user_id": alice,
    }
    assert got[5]["message"]["message_id"] == sent["message_id"]
    world.unsubscribe(events)
    world.send_text(alice, alice, "x")
    assert events.empty()


async def test_a_full_subscriber_queue_drops_its_oldest_event(world: World, alice: int) -> None:
    events = world.subscribe(maxsize=2)
    for text in ("1", "2", "3"):
        world.send_text(alice, alice, text)
    assert [events.get_nowait()["message"]["text"] for _ in range(2)] == ["2", "3"]


# --------------------------------------------------------------------------------------------
# Contract: PTB's own types parse every result
# --------------------------------------------------------------------------------------------


def test_every_result_parses_with_ptb_types(world: World, alice: int, bob: int) -> None:
    group = world.add_group("群", [alice, bob], by=alice)["id"]
    world.send_text(alice, alice, "/start")
    world.send_contact(alice, alice)
    world.send_photo(alice, alice, jpeg(1000, 800), caption="照片")
    world.send_document(alice, group, b"a,b", "a.csv", caption="名单")
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    results: list[tuple[type[TelegramObject], Any]] = [
        (User, api(world, "getMe")),
        (
            Message,
            api(
                world,
                "sendMessage",
                chat_id=alice,
                text="<b>菜单</b>",
                parse_mode="HTML",
                reply_markup=markup,
            ),
        ),
        (
            Message,
            world.call(TOKEN, "sendPhoto", {"chat_id": alice, "caption": "c"}, uploads(photo=PNG)),
        ),
        (
            Message,
            world.call(
                TOKEN,
                "sendDocument",
                {"chat_id": group},
                {"document": Upload("document", "r.pdf", b"%PDF")},
            ),
        ),
    ]
    reply_to = results[1][1]["message_id"]
    results.append(
        (
            Message,
            api(
                world,
                "editMessageText",
                chat_id=alice,
                message_id=reply_to,
                text="<i>新</i>",
                parse_mode="HTML",
                reply_markup=markup,
            ),
        )
    )
    results.append(
        (
            Message,
            api(
                world,
                "sendMessage",
                chat_id=alice,
                text="回",
                reply_parameters={"message_id": reply_to},
            ),
        )
    )
    album = world.call(
        TOKEN,
        "sendMediaGroup",
        {"chat_id": alice, "media": [{"type": "photo", "media": "attach://a"}] * 2},
        {"a": Upload("a", "a.png", PNG)},
    )
    results += [(Message, message) for message in album]
    results.append((File, api(world, "getFile", file_id=album[0]["photo"][-1]["file_id"])))
    world.press_button(alice, alice, reply_to, "ok")
    world.upgrade_group(group, by=bob)
    world.block_bot(bob)
    updates = api(world, "getUpdates")
    kinds = {next(iter(set(update) - {"update_id"})) for update in updates}
    assert kinds == {"message", "my_chat_member", "callback_query"}
    results += [(Update, update) for update in updates]
    for kind, data in results:
        assert_parses(kind, data)
    album_messages = [Message.de_json(message, None) for message in album]
    assert album_messages[0].media_group_id == album_messages[1].media_group_id
    parsed = Message.de_json(results[1][1], None)
    assert parsed.text_html == "<b>菜单</b>"
