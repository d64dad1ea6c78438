"""An offline fake of the Telegram Bot API for python-telegram-bot, plus script-style helpers.

Typical use::

    api = FakeBotApi()
    app = (
        Application.builder().token("123456:TEST-TOKEN").request(api).get_updates_request(api)
        .build()
    )
    ...  # add the bot's handlers
    async with Harness(app, api) as harness:  # app.initialize() + app.start(), then stop/shutdown
        alice = harness.person(1001, "Alice", phone="+8613800000001")
        await alice.send("/start")
        assert "欢迎" in alice.last_text
        await alice.tap("查看")

``FakeBotApi`` is a :class:`telegram.request.BaseRequest`: every Bot API call PTB makes ends up in
:meth:`FakeBotApi.do_request`, is recorded as an :class:`ApiCall` and answered the way Telegram
answers it (including Telegram's error descriptions for the mistakes bots commonly make).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import io
import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

__all__ = [
    "GROUP_UPGRADED",
    "MESSAGE_NOT_MODIFIED",
    "ApiCall",
    "FakeApiError",
    "FakeBotApi",
    "Group",
    "Harness",
    "Person",
    "UpdateFactory",
    "UploadedFile",
]

JSONDict = dict[str, Any]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Responder = Callable[["ApiCall"], Any]

_LOGGER = logging.getLogger(__name__)

MESSAGE_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
GROUP_UPGRADED: Final = "Bad Request: group chat was upgraded to a supergroup chat"
CALLBACK_QUERY_INVALID: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
SUPERGROUP_ID_LIMIT: Final = -1_000_000_000_000
MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_DOWNLOAD_SIZE: Final = 20 * 1024 * 1024

# Parameters whose values are JSON objects/arrays; PTB may hand them over already encoded.
_JSON_VALUED: Final = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "reply_parameters",
        "link_preview_options",
        "media",
        "commands",
        "scope",
        "allowed_updates",
        "message_ids",
        "results",
        "options",
        "permissions",
        "menu_button",
    }
)
# PTB's own long-running tasks, which `Harness.settle` must not wait for.
_LONG_RUNNING_TASK_SUFFIXES: Final = (
    ":update_fetcher",
    ":persistence_updater",
    "Updater:start_polling:polling_task",
)
_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_ENTITY_RE: Final = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_COMMAND_RE: Final = re.compile(
    r"(?:^|(?<=\s))/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])"
)
_FILE_URL_RE: Final = re.compile(r"/file/bot[^/]+/(.+)")


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """A file PTB uploaded with multipart/form-data."""

    field: str
    filename: str
    content: bytes
    mime_type: str


@dataclass
class ApiCall:
    """One Bot API request: the method name and its JSON-decoded parameters.

    ``result`` is what the fake answered (``None`` when it answered with an error), ``error``
    Telegram's error description and ``error_code`` the HTTP status when it answered with an
    error.
    """

    method: str
    params: JSONDict
    files: dict[str, UploadedFile] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    error_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class FakeApiError(Exception):
    """Raise from a custom responder (see :meth:`FakeBotApi.on`) to answer with an error."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class _Failure:
    code: int = 0
    description: str = ""
    retry_after: int | None = None
    exception: Exception | None = None
    deliver: bool = False


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    file_name: str
    mime_type: str
    file_path: str
    width: int = 0
    height: int = 0

    def document(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": len(self.content),
        }

    def photo_sizes(self) -> list[JSONDict]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": len(self.content),
            }
        ]


@dataclass
class _ChatState:
    chat: JSONDict
    next_message_id: int = 1
    # Every message known in the chat (the users' and the bot's), by message_id.
    messages: dict[int, JSONDict] = field(default_factory=dict)
    bot_message_ids: list[int] = field(default_factory=list)
    deleted: list[JSONDict] = field(default_factory=list)
    reply_keyboard: JSONDict | None = None
    blocked: str | None = None
    migrated_to: int | None = None

    @property
    def chat_id(self) -> int:
        chat_id: int = self.chat["id"]
        return chat_id


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _dump(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _unique_id(file_id: str) -> str:
    return "AgAD" + hashlib.sha1(file_id.encode()).hexdigest()[:16]


def _as_chat_id(value: object) -> int | str:
    if isinstance(value, bool):
        raise FakeApiError(400, "Bad Request: chat not found")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def chat_type_for_id(chat_id: int) -> str:
    """The chat type Telegram uses for an id: private > 0, supergroup <= -10^12, else group."""
    if chat_id > 0:
        return "private"
    if chat_id < SUPERGROUP_ID_LIMIT:
        return "supergroup"
    return "group"


def _normalise(params: Mapping[str, object]) -> JSONDict:
    out: JSONDict = {}
    for key, value in params.items():
        if key in _JSON_VALUED and isinstance(value, str) and value.lstrip().startswith(("{", "[")):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    # A JSON round trip gives a deep copy made only of JSON types (tuples become lists).
    normalised: JSONDict = json.loads(json.dumps(out, default=str))
    return normalised


def _uploads(request_data: RequestData | None) -> dict[str, UploadedFile]:
    if request_data is None or not request_data.contains_files:
        return {}
    uploads: dict[str, UploadedFile] = {}
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        uploads[name] = UploadedFile(name, filename, bytes(data), mime_type)
    return uploads


def _image_size(content: bytes) -> tuple[int, int]:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            return int(width), int(height)
    except Exception:
        return 800, 600


def html_to_text(text: str) -> str:
    """Parse Telegram-flavoured HTML like Telegram does and return the visible text.

    Raises :class:`FakeApiError` with Telegram's "can't parse entities" description for markup
    Telegram rejects (unsupported or unclosed tags, a bare ``<``, mismatched end tags).
    """

    def fail(reason: str) -> FakeApiError:
        return FakeApiError(400, f"Bad Request: can't parse entities: {reason}")

    def byte_offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    out: list[str] = []
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match:
                decimal, hexadecimal, named = match.groups()
                if named:
                    out.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[named])
                else:
                    code = int(decimal) if decimal else int(hexadecimal, 16)
                    out.append(chr(code) if code <= 0x10FFFF else "\ufffd")
                i = match.end()
                continue
        if char != "<":
            out.append(char)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            i += 1
            start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            name = text[start:i].lower()
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            close = text.find(">", i)
            if close == -1:
                raise fail(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            if name and name != stack[-1]:
                raise fail(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, expected "
                    f'"</{stack[-1]}>", found "</{name}>"'
                )
            stack.pop()
            i = close + 1
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        name = text[start:i].lower()
        if name not in _HTML_TAGS:
            raise fail(f'Unsupported start tag "{name}" at byte offset {byte_offset(begin)}')
        attributes: dict[str, str] = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if text[i] == ">":
                i += 1
                break
            start = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attribute = text[start:i].lower()
            value = ""
            if i < n and text[i] == "=":
                i += 1
                if i < n and text[i] in "\"'":
                    close = text.find(text[i], i + 1)
                    if close == -1:
                        raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                    value = text[i + 1 : close]
                    i = close + 1
                else:
                    start = i
                    while i < n and not text[i].isspace() and text[i] != ">":
                        i += 1
                    value = text[start:i]
            attributes[attribute] = value
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"')
        stack.append(name)
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def bot_command_entities(text: str) -> list[JSONDict]:
    """The ``bot_command`` entities Telegram attaches to a text message.

    Like Telegram, only ``/`` followed by 1-32 latin letters, digits or underscores (optionally
    ``@botusername``) at the start of the text or after whitespace counts as a command; so
    ``/开始`` is *not* a command.
    """
    return [
        {
            "type": "bot_command",
            "offset": _utf16_len(text[: match.start()]),
            "length": _utf16_len(match.group()),
        }
        for match in _COMMAND_RE.finditer(text)
    ]


def inline_buttons(message: Mapping[str, Any]) -> list[JSONDict]:
    """All inline keyboard buttons of a message dict, row by row."""
    markup = message.get("reply_markup") or {}
    rows: list[list[JSONDict]] = markup.get("inline_keyboard") or []
    return [button for row in rows for button in row]


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message dict, or its caption for media messages."""
    value = message.get("text")
    if value is None:
        value = message.get("caption")
    return str(value) if value is not None else ""


# --------------------------------------------------------------------------------------------
# The fake Bot API
# --------------------------------------------------------------------------------------------


class FakeBotApi(BaseRequest):
    """A recording, in-memory fake of the Telegram Bot API (no network).

    Pass it to ``ApplicationBuilder.request()`` *and* ``.get_updates_request()``.

    Args:
        bot_id / bot_username / bot_first_name: what ``getMe`` answers. The default id matches
            the test token ``"123456:TEST-TOKEN"``.
        clock: seconds since the epoch, used for ``date``/``edit_date`` (default
            :func:`time.time`); pass a callable to control time.
        strict_chats: when true, sending to a chat that was never registered (by a
            :class:`Person`, a :class:`Group`, :meth:`register_chat` or an incoming update)
            answers ``400 Bad Request: chat not found`` as Telegram does for users who never
            started the bot. Default false: unknown ids get a chat made up from the id.
        check_html: when true (default), texts and captions sent with ``parse_mode="HTML"`` are
            parsed like Telegram does and rejected with Telegram's "can't parse entities" error.
            The stored text is still the text as sent (tags included).
    """

    def __init__(
        self,
        *,
        bot_id: int = 123456,
        bot_username: str = "wuye_test_bot",
        bot_first_name: str = "物业品控测试",
        clock: Callable[[], float] = time.time,
        strict_chats: bool = False,
        check_html: bool = True,
    ) -> None:
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[ApiCall] = []
        self.downloads: list[str] = []
        self.strict_chats = strict_chats
        self.check_html = check_html
        self.initialize_count = 0
        self.shutdown_count = 0
        self._clock = clock
        self._chats: dict[int, _ChatState] = {}
        self._files: dict[str, _StoredFile] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._responders: dict[str, Responder] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._callback_queries: dict[str, bool] = {}
        self._file_counter = itertools.count(1)
        self._methods: dict[str, Responder] = {
            "getme": lambda call: copy.deepcopy(self.bot_user),
            "getupdates": lambda call: [],
            "setwebhook": lambda call: True,
            "deletewebhook": lambda call: True,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._answer_callback_query,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "getfile": self._get_file,
        }

    # -- BaseRequest ---------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        self.initialize_count += 1

    async def shutdown(self) -> None:
        self.shutdown_count += 1

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        await asyncio.sleep(0)  # a real request yields to the event loop, so does the fake
        if method.upper() == "GET":
            return self._download(url)
        api_method = urlsplit(url).path.rsplit("/", 1)[-1]
        call = ApiCall(
            method=api_method,
            params=_normalise(request_data.parameters if request_data else {}),
            files=_uploads(request_data),
        )
        self.calls.append(call)
        queue = self._failures.get(api_method.lower())
        failure = queue.pop(0) if queue else None
        if failure is not None and failure.exception is not None and not failure.deliver:
            call.error = repr(failure.exception)
            raise failure.exception
        try:
            if failure is not None and failure.exception is None:
                parameters = {"retry_after": failure.retry_after} if failure.retry_after else None
                raise FakeApiError(failure.code, failure.description, parameters)
            responder = self._responders.get(api_method.lower()) or self._methods.get(
                api_method.lower()
            )
            if responder is None:
                raise FakeApiError(HTTPStatus.NOT_FOUND, "Not Found")
            result = responder(call)
        except FakeApiError as error:
            call.error = error.description
            call.error_code = int(error.code)
            return int(error.code), _dump(error.payload())
        call.result = copy.deepcopy(result)
        if failure is not None and failure.exception is not None:  # delivered, then it fails
            call.error = repr(failure.exception)
            raise failure.exception
        return HTTPStatus.OK, _dump({"ok": True, "result": result})

    # -- configuration -------------------------------------------------------------------------

    def on(self, method: str, responder: Responder) -> None:
        """Answer ``method`` with ``responder(call)`` (its return value becomes ``result``).

        Overrides the built-in behaviour; raise :class:`FakeApiError` to answer with an error.
        """
        self._responders[method.lower()] = responder

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``error_code``/``description``.

        PTB raises ``Forbidden`` for 403, ``BadRequest`` for 400, ``InvalidToken`` for 401/404,
        ``Conflict`` for 409 and ``NetworkError`` otherwise; with ``retry_after`` it raises
        ``RetryAfter`` whatever the status (Telegram uses 429 "Too Many Requests: retry after N").
        """
        queue = self._failures.setdefault(method.lower(), [])
        failure = _Failure(error_code, description, retry_after)
        queue.extend(copy.copy(failure) for _ in range(times))

    def raise_next(
        self, method: str, exception: Exception, *, times: int = 1, deliver: bool = False
    ) -> None:
        """Make the next ``times`` calls of ``method`` raise ``exception`` in the HTTP layer,
        e.g. ``telegram.error.TimedOut()``. With ``deliver=True`` the call takes effect first
        (the message is sent) and only then fails, as a timed-out request often does.

        PTB passes ``TelegramError`` subclasses through and wraps anything else in
        ``NetworkError``.
        """
        queue = self._failures.setdefault(method.lower(), [])
        queue.extend(
            _Failure(exception=copy.copy(exception), deliver=deliver) for _ in range(times)
        )

    def clear_failures(self) -> None:
        self._failures.clear()

    def register_chat(self, chat: JSONDict) -> None:
        """Make a chat known (a Chat dict: ``id``, ``type`` and ``title``/``first_name``...)."""
        state = self._chats.get(chat["id"])
        if state is None:
            self._chats[chat["id"]] = _ChatState(chat=copy.deepcopy(chat))
        else:
            state.chat = copy.deepcopy(chat)

    def block_chat(self, chat_id: int, description: str | None = None) -> None:
        """From now on every call addressed to ``chat_id`` answers 403 like Telegram does when
        the user blocked the bot or the bot was removed from the group."""
        state = self._state(chat_id)
        if description is None:
            description = {
                "private": "Forbidden: bot was blocked by the user",
                "group": "Forbidden: bot was kicked from the group chat",
                "supergroup": "Forbidden: bot was kicked from the supergroup chat",
            }.get(state.chat["type"], "Forbidden: bot is not a member of the channel chat")
        state.blocked = description

    def unblock_chat(self, chat_id: int) -> None:
        self._state(chat_id).blocked = None

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """The group ``old_id`` became the supergroup ``new_id``: calls addressed to ``old_id``
        now answer 400 with ``parameters.migrate_to_chat_id`` (PTB raises ``ChatMigrated``)."""
        old = self._state(old_id)
        old.migrated_to = new_id
        title = old.chat.get("title") or f"Supergroup {new_id}"
        if new_id in self._chats:
            self._chats[new_id].chat.update({"type": "supergroup", "title": title})
        else:
            self.register_chat({"id": new_id, "type": "supergroup", "title": title})

    def add_file(
        self,
        file_id: str,
        content: bytes,
        file_name: str = "file.bin",
        *,
        mime_type: str | None = None,
        kind: str = "document",
    ) -> None:
        """Register a file users can send: ``getFile`` and the download will find it."""
        directory = "photos" if kind == "photo" else "documents"
        width, height = _image_size(content) if kind == "photo" else (0, 0)
        self._files[file_id] = _StoredFile(
            file_id=file_id,
            file_unique_id=_unique_id(file_id),
            content=bytes(content),
            file_name=file_name,
            mime_type=mime_type or "application/octet-stream",
            file_path=f"{directory}/{file_id}",
            width=width,
            height=height,
        )

    def new_file_id(self, kind: str = "document") -> str:
        prefix = {"document": "BQACAgUAAxkBAAI", "photo": "AgACAgUAAxkBAAI"}.get(kind, "CAAC")
        return f"{prefix}{next(self._file_counter):06d}"

    def file_info(self, file_id: str) -> JSONDict:
        """The Document dict of a registered file."""
        return self._files[file_id].document()

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a registered or uploaded file."""
        return self._files[file_id].content

    def expect_callback_query(self, query_id: str) -> None:
        """Tell the fake a callback query with this id was delivered (so it can be answered)."""
        self._callback_queries.setdefault(query_id, False)

    def unanswered_callback_queries(self) -> list[str]:
        return [query_id for query_id, done in self._callback_queries.items() if not done]

    # -- counters and incoming messages --------------------------------------------------------

    def now(self) -> int:
        return int(self._clock())

    def bot_sender(self) -> JSONDict:
        """The bot as a plain User (as in ``from`` of its messages; no getMe-only fields)."""
        return {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}

    def chat(self, chat_id: int) -> JSONDict:
        """The Chat dict Telegram would use for ``chat_id`` (registered or made up from the id)."""
        return copy.deepcopy(self._state(chat_id).chat)

    def next_message_id(self, chat_id: int) -> int:
        """Allocate a message_id in a chat; users' and the bot's messages share the sequence."""
        state = self._state(chat_id)
        message_id = state.next_message_id
        state.next_message_id += 1
        return message_id

    def last_message_id(self, chat_id: int) -> int:
        """The newest message_id allocated in a chat (0 if none): a watermark for ``since``."""
        state = self._chats.get(chat_id)
        return state.next_message_id - 1 if state else 0

    def record_incoming(self, message: JSONDict) -> None:
        """Remember a message a user sent (so replies to it and deleting it work)."""
        chat = message["chat"]
        state = self._chats.get(chat["id"])
        if state is None:
            self.register_chat(chat)
            state = self._chats[chat["id"]]
        message_id = int(message["message_id"])
        state.messages[message_id] = copy.deepcopy(message)
        state.next_message_id = max(state.next_message_id, message_id + 1)

    def record_incoming_update(self, update: Mapping[str, Any]) -> None:
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            if isinstance(update.get(key), dict):
                self.record_incoming(update[key])
        query = update.get("callback_query")
        if isinstance(query, dict):
            self.expect_callback_query(str(query["id"]))

    # -- inspection ----------------------------------------------------------------------------

    def calls_of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def messages(self, chat_id: int) -> list[JSONDict]:
        """Every message the bot sent to a chat, oldest first, edits applied, deleted ones left
        out."""
        state = self._chats.get(chat_id)
        if state is None:
            return []
        return [
            copy.deepcopy(state.messages[message_id])
            for message_id in state.bot_message_ids
            if message_id in state.messages
        ]

    def last_message(self, chat_id: int) -> JSONDict | None:
        messages = self.messages(chat_id)
        return messages[-1] if messages else None

    def deleted_messages(self, chat_id: int) -> list[JSONDict]:
        state = self._chats.get(chat_id)
        return copy.deepcopy(state.deleted) if state else []

    def reply_keyboard(self, chat_id: int) -> JSONDict | None:
        """The ReplyKeyboardMarkup dict the bot last sent to a chat (None if never/removed)."""
        state = self._chats.get(chat_id)
        return copy.deepcopy(state.reply_keyboard) if state else None

    def my_commands(self, scope_type: str = "default", language_code: str = "") -> list[JSONDict]:
        """Commands set with setMyCommands for a scope without chat/user (default, all_*)."""
        key = (json.dumps({"type": scope_type}, sort_keys=True), language_code)
        return copy.deepcopy(self._commands.get(key, []))

    # -- internals -----------------------------------------------------------------------------

    def _state(self, chat_id: int) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            chat_type = chat_type_for_id(chat_id)
            chat: JSONDict = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = f"User {chat_id}"
            else:
                chat["title"] = f"Chat {chat_id}"
            state = self._chats[chat_id] = _ChatState(chat=chat)
        return state

    def _target(self, params: Mapping[str, Any]) -> _ChatState:
        if "chat_id" not in params:
            raise FakeApiError(400, "Bad Request: chat_id is empty")
        chat_id = _as_chat_id(params["chat_id"])
        if isinstance(chat_id, str):
            username = chat_id.lstrip("@").lower()
            found = [
                state
                for state in self._chats.values()
                if str(state.chat.get("username", "")).lower() == username
            ]
            if not found:
                raise FakeApiError(400, "Bad Request: chat not found")
            state = found[0]
        elif chat_id not in self._chats and self.strict_chats:
            raise FakeApiError(400, "Bad Request: chat not found")
        else:
            state = self._state(chat_id)
        if state.migrated_to is not None:
            raise FakeApiError(400, GROUP_UPGRADED, {"migrate_to_chat_id": state.migrated_to})
        if state.blocked:
            raise FakeApiError(403, state.blocked)
        return state

    def _download(self, url: str) -> tuple[int, bytes]:
        # PTB GETs ``{base_file_url}/{file_path}`` (default base: .../file/bot<token>).
        path = unquote(urlsplit(url).path)
        match = _FILE_URL_RE.fullmatch(path)
        wanted = match.group(1) if match else None
        for stored in self._files.values():
            if stored.file_path == wanted or path.endswith("/" + stored.file_path):
                self.downloads.append(stored.file_path)
                return HTTPStatus.OK, stored.content
        self.downloads.append(wanted or path)
        not_found = {"ok": False, "error_code": 404, "description": "Not Found"}
        return HTTPStatus.NOT_FOUND, _dump(not_found)

    def _visible(self, text: str, parse_mode: object) -> str:
        if self.check_html and isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
            return html_to_text(text)
        return text

    def _checked_text(self, params: Mapping[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FakeApiError(400, "Bad Request: message text is empty")
        visible = self._visible(text, params.get("parse_mode"))
        if not visible.strip():
            raise FakeApiError(400, "Bad Request: message text is empty")
        if len(visible) > MAX_TEXT_LENGTH:
            raise FakeApiError(400, "Bad Request: message is too long")
        return text

    def _checked_caption(self, params: Mapping[str, Any]) -> str | None:
        caption = params.get("caption")
        if caption is None:
            return None
        caption = str(caption)
        if len(self._visible(caption, params.get("parse_mode"))) > MAX_CAPTION_LENGTH:
            raise FakeApiError(400, "Bad Request: message caption is too long")
        return caption

    @staticmethod
    def _checked_markup(markup: object) -> JSONDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise FakeApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not (
                    1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise FakeApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _inline_only(markup: JSONDict | None) -> JSONDict | None:
        if markup and "inline_keyboard" in markup:
            return {"inline_keyboard": copy.deepcopy(markup["inline_keyboard"])}
        return None

    @staticmethod
    def _reply_to(state: _ChatState, params: Mapping[str, Any]) -> JSONDict | None:
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            message_id = reply_parameters.get("message_id")
            allow = bool(reply_parameters.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
            allow = bool(params.get("allow_sending_without_reply"))
        else:
            return None
        target = state.messages.get(int(message_id)) if message_id is not None else None
        if target is None:
            if allow:
                return None
            raise FakeApiError(400, "Bad Request: message to be replied not found")
        reply = copy.deepcopy(target)
        reply.pop("reply_to_message", None)
        return reply

    def _store_sent(
        self, state: _ChatState, params: Mapping[str, Any], content: JSONDict
    ) -> JSONDict:
        """Validate the shared send* parameters, then store and return the new message."""
        markup = self._checked_markup(params.get("reply_markup"))
        reply = self._reply_to(state, params)
        message: JSONDict = {
            "message_id": self.next_message_id(state.chat_id),
            "from": self.bot_sender(),
            "chat": copy.deepcopy(state.chat),
            "date": self.now(),
            **content,
        }
        if reply is not None:
            message["reply_to_message"] = reply
        inline = self._inline_only(markup)
        if inline is not None:
            message["reply_markup"] = inline
        elif markup and "keyboard" in markup:
            state.reply_keyboard = copy.deepcopy(markup)
        elif markup and markup.get("remove_keyboard"):
            state.reply_keyboard = None
        state.messages[message["message_id"]] = message
        state.bot_message_ids.append(message["message_id"])
        return copy.deepcopy(message)

    def _bot_message(self, state: _ChatState, params: Mapping[str, Any]) -> JSONDict:
        message_id = params.get("message_id")
        message = state.messages.get(int(message_id)) if message_id is not None else None
        if message is None:
            raise FakeApiError(400, "Bad Request: message to edit not found")
        if message["message_id"] not in state.bot_message_ids:
            raise FakeApiError(400, "Bad Request: message can't be edited")
        return message

    def _apply_edit(self, message: JSONDict, changes: JSONDict, markup: JSONDict | None) -> None:
        new_state = {key: changes.get(key) for key in changes}
        old_state = {key: message.get(key) for key in changes}
        if new_state == old_state and message.get("reply_markup") == markup:
            raise FakeApiError(400, MESSAGE_NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = copy.deepcopy(value)
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = self.now()

    def _stored_input_file(self, call: ApiCall, field_name: str) -> _StoredFile:
        value = call.params.get(field_name)
        upload: UploadedFile | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = call.files.get(value.removeprefix("attach://"))
        elif value is None:
            upload = call.files.get(field_name)
        if upload is not None:
            file_id = self.new_file_id(field_name)
            self.add_file(
                file_id,
                upload.content,
                upload.filename,
                mime_type=upload.mime_type,
                kind=field_name,
            )
            return self._files[file_id]
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            file_id = self.new_file_id(field_name)
            name = urlsplit(value).path.rsplit("/", 1)[-1] or "file"
            self.add_file(file_id, b"", name, kind=field_name)
            return self._files[file_id]
        if value is None:
            raise FakeApiError(400, f"Bad Request: there is no {field_name} in the request")
        raise FakeApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    # -- Bot API methods -----------------------------------------------------------------------

    @staticmethod
    def _commands_key(params: Mapping[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, call: ApiCall) -> bool:
        self._commands[self._commands_key(call.params)] = list(call.params.get("commands") or [])
        return True

    def _delete_my_commands(self, call: ApiCall) -> bool:
        self._commands.pop(self._commands_key(call.params), None)
        return True

    def _get_my_commands(self, call: ApiCall) -> list[JSONDict]:
        return copy.deepcopy(self._commands.get(self._commands_key(call.params), []))

    def _send_chat_action(self, call: ApiCall) -> bool:
        self._target(call.params)
        return True

    def _answer_callback_query(self, call: ApiCall) -> bool:
        query_id = str(call.params.get("callback_query_id", ""))
        if self._callback_queries.get(query_id, True):  # unknown or already answered
            raise FakeApiError(400, CALLBACK_QUERY_INVALID)
        self._callback_queries[query_id] = True
        return True

    def _delete_message(self, call: ApiCall) -> bool:
        state = self._target(call.params)
        message = state.messages.pop(int(call.params.get("message_id", 0)), None)
        if message is None:
            raise FakeApiError(400, "Bad Request: message to delete not found")
        state.deleted.append(message)
        return True

    def _delete_messages(self, call: ApiCall) -> bool:
        state = self._target(call.params)
        for message_id in call.params.get("message_ids") or []:
            message = state.messages.pop(int(message_id), None)
            if message is not None:
                state.deleted.append(message)
        return True

    def _send_message(self, call: ApiCall) -> JSONDict:
        state = self._target(call.params)
        content: JSONDict = {"text": self._checked_text(call.params)}
        if call.params.get("entities"):
            content["entities"] = call.params["entities"]
        return self._store_sent(state, call.params, content)

    def _send_document(self, call: ApiCall) -> JSONDict:
        state = self._target(call.params)
        caption = self._checked_caption(call.params)
        self._checked_markup(call.params.get("reply_markup"))
        self._reply_to(state, call.params)
        stored = self._stored_input_file(call, "document")
        content: JSONDict = {"document": stored.document()}
        if caption is not None:
            content["caption"] = caption
        return self._store_sent(state, call.params, content)

    def _send_photo(self, call: ApiCall) -> JSONDict:
        state = self._target(call.params)
        caption = self._checked_caption(call.params)
        self._checked_markup(call.params.get("reply_markup"))
        self._reply_to(state, call.params)
        stored = self._stored_input_file(call, "photo")
        content: JSONDict = {"photo": stored.photo_sizes()}
        if caption is not None:
            content["caption"] = caption
        return self._store_sent(state, call.params, content)

    def _edit_message_text(self, call: ApiCall) -> JSONDict | bool:
        if call.params.get("inline_message_id"):
            return True
        state = self._target(call.params)
        message = self._bot_message(state, call.params)
        if "text" not in message:
            raise FakeApiError(400, "Bad Request: there is no text in the message to edit")
        text = self._checked_text(call.params)
        markup = self._inline_only(self._checked_markup(call.params.get("reply_markup")))
        # Like Telegram: editing the text without reply_markup removes the inline keyboard.
        self._apply_edit(
            message, {"text": text, "entities": call.params.get("entities") or None}, markup
        )
        return copy.deepcopy(message)

    def _edit_message_caption(self, call: ApiCall) -> JSONDict | bool:
        if call.params.get("inline_message_id"):
            return True
        state = self._target(call.params)
        message = self._bot_message(state, call.params)
        if "text" in message:
            raise FakeApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = self._checked_caption(call.params)
        markup = self._inline_only(self._checked_markup(call.params.get("reply_markup")))
        self._apply_edit(message, {"caption": caption}, markup)
        return copy.deepcopy(message)

    def _edit_message_reply_markup(self, call: ApiCall) -> JSONDict | bool:
        if call.params.get("inline_message_id"):
            return True
        state = self._target(call.params)
        message = self._bot_message(state, call.params)
        markup = self._inline_only(self._checked_markup(call.params.get("reply_markup")))
        self._apply_edit(message, {}, markup)
        return copy.deepcopy(message)

    def _get_file(self, call: ApiCall) -> JSONDict:
        stored = self._files.get(str(call.params.get("file_id", "")))
        if stored is None:
            raise FakeApiError(400, "Bad Request: invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_SIZE:
            raise FakeApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }


# --------------------------------------------------------------------------------------------
# Update builders
# --------------------------------------------------------------------------------------------


class UpdateFactory:
    """Builds Bot API Update dicts (feed them to ``telegram.Update.de_json(data, bot)``).

    update_ids increase monotonically; message_ids come from the :class:`FakeBotApi` so that
    users' and the bot's messages share one sequence per chat, as in Telegram. Every message
    built here is also recorded in the fake (so the bot can reply to it or delete it).
    """

    def __init__(self, api: FakeBotApi, *, first_update_id: int = 100_000_001) -> None:
        self.api = api
        self._update_ids: Iterator[int] = itertools.count(first_update_id)
        self._query_ids: Iterator[int] = itertools.count(4_000_000_000_000_001)

    def next_update_id(self) -> int:
        return next(self._update_ids)

    @staticmethod
    def user(
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    @staticmethod
    def private_chat(user: Mapping[str, Any]) -> JSONDict:
        chat: JSONDict = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if user.get(key):
                chat[key] = user[key]
        return chat

    @staticmethod
    def group_chat(chat_id: int, title: str, *, supergroup: bool = False) -> JSONDict:
        return {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}

    def wrap(self, kind: str, payload: JSONDict) -> JSONDict:
        """An Update dict carrying ``payload`` under ``kind`` ("message", "callback_query"...)."""
        return {"update_id": self.next_update_id(), kind: payload}

    def message(self, sender: Mapping[str, Any], chat_id: int, **fields: Any) -> JSONDict:
        """A Message dict from ``sender`` in ``chat_id`` (recorded in the fake)."""
        message: JSONDict = {
            "message_id": self.api.next_message_id(chat_id),
            "from": copy.deepcopy(dict(sender)),
            "chat": self.api.chat(chat_id),
            "date": self.api.now(),
            **fields,
        }
        self.api.record_incoming(message)
        return message

    def text_message(self, sender: Mapping[str, Any], chat_id: int, text: str) -> JSONDict:
        fields: JSONDict = {"text": text}
        entities = bot_command_entities(text)
        if entities:
            fields["entities"] = entities
        return self.wrap("message", self.message(sender, chat_id, **fields))

    def contact_message(
        self,
        sender: Mapping[str, Any],
        chat_id: int,
        *,
        phone_number: str,
        first_name: str,
        user_id: int | None = None,
        last_name: str | None = None,
    ) -> JSONDict:
        contact: JSONDict = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if user_id is not None:
            contact["user_id"] = user_id
        return self.wrap("message", self.message(sender, chat_id, contact=contact))

    def document_message(
        self,
        sender: Mapping[str, Any],
        chat_id: int,
        *,
        file_id: str,
        file_name: str,
        mime_type: str,
        file_size: int,
        caption: str | None = None,
    ) -> JSONDict:
        fields: JSONDict = {
            "document": {
                "file_id": file_id,
                "file_unique_id": _unique_id(file_id),
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": file_size,
            }
        }
        if caption is not None:
            fields["caption"] = caption
        return self.wrap("message", self.message(sender, chat_id, **fields))

    def photo_message(
        self,
        sender: Mapping[str, Any],
        chat_id: int,
        *,
        file_id: str,
        width: int,
        height: int,
        file_size: int,
        caption: str | None = None,
    ) -> JSONDict:
        photo = {
            "file_id": file_id,
            "file_unique_id": _unique_id(file_id),
            "width": width,
            "height": height,
            "file_size": file_size,
        }
        fields: JSONDict = {"photo": [photo]}
        if caption is not None:
            fields["caption"] = caption
        return self.wrap("message", self.message(sender, chat_id, **fields))

    def callback_query(
        self, sender: Mapping[str, Any], message: Mapping[str, Any], data: str
    ) -> JSONDict:
        """A callback query from pressing a button with ``data`` on the bot's ``message``."""
        query_id = str(next(self._query_ids))
        self.api.expect_callback_query(query_id)
        chat_id = int(message["chat"]["id"])
        query: JSONDict = {
            "id": query_id,
            "from": copy.deepcopy(dict(sender)),
            "message": copy.deepcopy(dict(message)),
            "chat_instance": str(abs(chat_id) * 7919 % 10**18 + 10**17),
            "data": data,
        }
        return self.wrap("callback_query", query)

    def migrate_to_chat(
        self, sender: Mapping[str, Any], old_chat_id: int, new_chat_id: int
    ) -> JSONDict:
        """The service message in the old group: it became supergroup ``new_chat_id``."""
        return self.wrap(
            "message", self.message(sender, old_chat_id, migrate_to_chat_id=new_chat_id)
        )

    def migrate_from_chat(
        self, sender: Mapping[str, Any], new_chat_id: int, old_chat_id: int
    ) -> JSONDict:
        """The service message in the new supergroup: it was migrated from ``old_chat_id``."""
        return self.wrap(
            "message", self.message(sender, new_chat_id, migrate_from_chat_id=old_chat_id)
        )

    def new_chat_members(
        self, sender: Mapping[str, Any], chat_id: int, members: list[JSONDict]
    ) -> JSONDict:
        return self.wrap(
            "message", self.message(sender, chat_id, new_chat_members=copy.deepcopy(members))
        )

    def left_chat_member(
        self, sender: Mapping[str, Any], chat_id: int, member: JSONDict
    ) -> JSONDict:
        return self.wrap(
            "message", self.message(sender, chat_id, left_chat_member=copy.deepcopy(member))
        )

    def chat_member(self, user: Mapping[str, Any], status: str) -> JSONDict:
        """A ChatMember dict (statuses: creator, administrator, member, left, kicked)."""
        member: JSONDict = {"user": copy.deepcopy(dict(user)), "status": status}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                dict.fromkeys(
                    (
                        "is_anonymous",
                        "can_promote_members",
                        "can_change_info",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    ),
                    False,
                )
            )
            member.update(
                dict.fromkeys(
                    (
                        "can_be_edited",
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_invite_users",
                        "can_pin_messages",
                    ),
                    True,
                )
            )
        elif status == "kicked":
            member["until_date"] = 0
        elif status not in ("member", "left"):
            raise ValueError(f"unsupported chat member status {status!r}")
        return member

    def my_chat_member(
        self, sender: Mapping[str, Any], chat_id: int, *, old_status: str, new_status: str
    ) -> JSONDict:
        """The bot's own membership changed in a chat (e.g. left -> member when added)."""
        payload: JSONDict = {
            "chat": self.api.chat(chat_id),
            "from": copy.deepcopy(dict(sender)),
            "date": self.api.now(),
            "old_chat_member": self.chat_member(self.api.bot_sender(), old_status),
            "new_chat_member": self.chat_member(self.api.bot_sender(), new_status),
        }
        return self.wrap("my_chat_member", payload)


# --------------------------------------------------------------------------------------------
# Script-style helpers
# --------------------------------------------------------------------------------------------


def _describe_buttons(messages: list[JSONDict]) -> str:
    lines = [
        f"  message {message['message_id']}: {[button.get('text') for button in buttons]}"
        for message in reversed(messages)
        if (buttons := inline_buttons(message))
    ]
    return "\n".join(lines) if lines else "  (no message with inline buttons)"


class _ChatView:
    """Read access to what the bot sent to one chat."""

    harness: Harness

    def _view_chat_id(self, chat: Group | None = None) -> int:
        raise NotImplementedError

    def messages(self, chat: Group | None = None) -> list[JSONDict]:
        """The bot's messages in the chat, oldest first (edits applied, deleted left out)."""
        return self.harness.api.messages(self._view_chat_id(chat))

    @property
    def last_message(self) -> JSONDict:
        messages = self.messages()
        if not messages:
            raise AssertionError(f"the bot has sent nothing to chat {self._view_chat_id()}")
        return messages[-1]

    @property
    def last_text(self) -> str:
        """Text (or caption) of the bot's newest message in the chat."""
        return message_text(self.last_message)

    def mark(self, chat: Group | None = None) -> int:
        """The newest message_id in the chat so far; pass it as ``texts(since=...)``."""
        return self.harness.api.last_message_id(self._view_chat_id(chat))

    def texts(self, since: int = 0, *, chat: Group | None = None) -> list[str]:
        """Texts (or captions) of the bot's messages with a message_id greater than ``since``
        (a value from :meth:`mark`), oldest first."""
        return [
            message_text(message)
            for message in self.messages(chat)
            if message["message_id"] > since
        ]

    def buttons(self, chat: Group | None = None) -> list[str]:
        """Inline button texts on the bot's newest message that has inline buttons."""
        for message in reversed(self.messages(chat)):
            buttons = inline_buttons(message)
            if buttons:
                return [str(button.get("text")) for button in buttons]
        return []


class Person(_ChatView):
    """A Telegram user talking to the bot, in their private chat or in a :class:`Group`."""

    def __init__(
        self,
        harness: Harness,
        user_id: int,
        first_name: str,
        *,
        language_code: str = "zh-hans",
        phone: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
    ) -> None:
        if user_id <= 0:
            raise ValueError("user ids are positive")
        self.harness = harness
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.phone = phone
        harness.api.register_chat(UpdateFactory.private_chat(self.user))

    def __repr__(self) -> str:
        return f"Person({self.user_id}, {self.first_name!r})"

    @property
    def user(self) -> JSONDict:
        return UpdateFactory.user(
            self.user_id,
            self.first_name,
            last_name=self.last_name,
            username=self.username,
            language_code=self.language_code,
        )

    @property
    def private_chat_id(self) -> int:
        return self.user_id

    def _view_chat_id(self, chat: Group | None = None) -> int:
        return chat.chat_id if chat is not None else self.user_id

    async def send(self, text: str, *, chat: Group | None = None) -> None:
        """Send a text message (``/command`` texts carry a bot_command entity)."""
        factory = self.harness.factory
        await self.harness.process(factory.text_message(self.user, self._view_chat_id(chat), text))

    async def share_contact(
        self, phone: str | None = None, *, of_user_id: int | None = None
    ) -> None:
        """Share a contact in the private chat: by default one's own (as the request_contact
        button does); with ``of_user_id`` someone else's contact card."""
        if of_user_id is None:
            number, owner_id = phone or self.phone, self.user_id
            first_name, last_name = self.first_name, self.last_name
        else:
            other = self.harness.persons.get(of_user_id)
            number, owner_id = phone or (other.phone if other else None), of_user_id
            first_name = other.first_name if other else "联系人"
            last_name = other.last_name if other else None
        if number is None:
            raise ValueError(f"no phone number known for user {owner_id}; pass one")
        update = self.harness.factory.contact_message(
            self.user,
            self.user_id,
            phone_number=number,
            first_name=first_name,
            last_name=last_name,
            user_id=owner_id,
        )
        await self.harness.process(update)

    async def send_document(
        self,
        content: bytes,
        file_name: str,
        *,
        mime_type: str = "text/csv",
        caption: str | None = None,
        chat: Group | None = None,
    ) -> None:
        """Send a file; the bot can getFile and download it."""
        api = self.harness.api
        file_id = api.new_file_id("document")
        api.add_file(file_id, content, file_name, mime_type=mime_type)
        update = self.harness.factory.document_message(
            self.user,
            self._view_chat_id(chat),
            file_id=file_id,
            file_name=file_name,
            mime_type=mime_type,
            file_size=len(content),
            caption=caption,
        )
        await self.harness.process(update)

    async def send_photo(
        self, content: bytes, *, caption: str | None = None, chat: Group | None = None
    ) -> None:
        """Send a photo (one PhotoSize; width/height read from the image when Pillow can)."""
        api = self.harness.api
        file_id = api.new_file_id("photo")
        api.add_file(file_id, content, "photo.jpg", mime_type="image/jpeg", kind="photo")
        width, height = _image_size(content)
        update = self.harness.factory.photo_message(
            self.user,
            self._view_chat_id(chat),
            file_id=file_id,
            width=width,
            height=height,
            file_size=len(content),
            caption=caption,
        )
        await self.harness.process(update)

    async def tap(self, button_text: str, *, chat: Group | None = None) -> None:
        """Tap an inline button on the newest bot message that has one with this text (exact
        text preferred, else a unique substring match)."""
        messages = self.messages(chat)
        for message in reversed(messages):
            buttons = inline_buttons(message)
            matches = [button for button in buttons if button.get("text") == button_text]
            if not matches:
                matches = [button for button in buttons if button_text in str(button.get("text"))]
                if len(matches) > 1:
                    texts = [button.get("text") for button in matches]
                    raise AssertionError(
                        f"{button_text!r} matches several buttons on message "
                        f"{message['message_id']}: {texts}"
                    )
            if matches:
                button = matches[0]
                if "callback_data" not in button:
                    raise AssertionError(
                        f"button {button.get('text')!r} has no callback_data "
                        f"(it is a {sorted(set(button) - {'text'})} button)"
                    )
                await self._press(message, str(button["callback_data"]))
                return
        raise AssertionError(
            f"no inline button {button_text!r} in chat {self._view_chat_id(chat)}; "
            f"visible buttons (newest first):\n{_describe_buttons(messages)}"
        )

    async def tap_data(
        self, callback_data: str, *, chat: Group | None = None, message_id: int | None = None
    ) -> None:
        """Press arbitrary (even forged) callback data on a bot message (default: the newest)."""
        messages = self.messages(chat)
        if message_id is not None:
            messages = [message for message in messages if message["message_id"] == message_id]
        if not messages:
            raise AssertionError(
                f"no bot message {message_id or ''} in chat {self._view_chat_id(chat)} to press on"
            )
        await self._press(messages[-1], callback_data)

    async def _press(self, message: JSONDict, data: str) -> None:
        update = self.harness.factory.callback_query(self.user, message, data)
        await self.harness.process(update)
        query_id = update["callback_query"]["id"]
        if (
            self.harness.require_callback_answers
            and query_id in self.harness.api.unanswered_callback_queries()
        ):
            raise AssertionError(f"the bot did not answer the callback query for {data!r}")

    def reply_keyboard(self) -> list[list[JSONDict]] | None:
        """Rows of the reply keyboard the bot last sent to the private chat (None if removed)."""
        markup = self.harness.api.reply_keyboard(self.user_id)
        if markup is None:
            return None
        rows: list[list[JSONDict]] = markup.get("keyboard") or []
        return rows

    async def press(self, button_text: str) -> None:
        """Press a reply-keyboard button: shares the contact for a request_contact button,
        otherwise sends the button's text."""
        rows = self.reply_keyboard() or []
        for row in rows:
            for button in row:
                if button.get("text") == button_text:
                    if button.get("request_contact"):
                        await self.share_contact()
                    else:
                        await self.send(button_text)
                    return
        texts = [[button.get("text") for button in row] for row in rows]
        raise AssertionError(f"no reply keyboard button {button_text!r}; keyboard: {texts}")


class Group(_ChatView):
    """A group (or supergroup) chat the bot is in."""

    def __init__(
        self, harness: Harness, chat_id: int, title: str, *, supergroup: bool = False
    ) -> None:
        if chat_id >= 0 or (chat_type_for_id(chat_id) == "supergroup") != supergroup:
            raise ValueError(
                f"chat id {chat_id} does not fit a {'supergroup' if supergroup else 'group'}: "
                "groups are negative, supergroups are below -1000000000000"
            )
        self.harness = harness
        self.chat_id = chat_id
        self.title = title
        self.supergroup = supergroup
        harness.api.register_chat(UpdateFactory.group_chat(chat_id, title, supergroup=supergroup))

    def __repr__(self) -> str:
        return f"Group({self.chat_id}, {self.title!r})"

    def _view_chat_id(self, chat: Group | None = None) -> int:
        return chat.chat_id if chat is not None else self.chat_id

    def _actor(self, by: Person | None) -> JSONDict:
        if by is not None:
            return by.user
        return UpdateFactory.user(1, "群主", language_code=None)

    async def migrate_to_supergroup(self, new_chat_id: int, *, by: Person | None = None) -> None:
        """Upgrade to a supergroup as Telegram does: calls to the old id fail with
        ChatMigrated, the bot receives ``migrate_to_chat_id`` in the old group and
        ``migrate_from_chat_id`` in the new supergroup, and :attr:`chat_id` becomes the new id."""
        if self.supergroup:
            raise ValueError(f"{self!r} is already a supergroup")
        if chat_type_for_id(new_chat_id) != "supergroup":
            raise ValueError(f"{new_chat_id} is not a supergroup id (< -1000000000000)")
        old_chat_id = self.chat_id
        actor = self._actor(by)
        factory = self.harness.factory
        self.harness.api.migrate_chat(old_chat_id, new_chat_id)
        await self.harness.process(factory.migrate_to_chat(actor, old_chat_id, new_chat_id))
        self.chat_id = new_chat_id
        self.supergroup = True
        await self.harness.process(factory.migrate_from_chat(actor, new_chat_id, old_chat_id))

    async def add_bot(self, by: Person | None = None) -> None:
        """The bot is added to the group: a ``my_chat_member`` update (left -> member) then the
        ``new_chat_members`` service message, as Telegram sends them."""
        actor = self._actor(by)
        factory = self.harness.factory
        self.harness.api.unblock_chat(self.chat_id)
        await self.harness.process(
            factory.my_chat_member(actor, self.chat_id, old_status="left", new_status="member")
        )
        await self.harness.process(
            factory.new_chat_members(actor, self.chat_id, [self.harness.api.bot_sender()])
        )

    async def remove_bot(self, by: Person | None = None) -> None:
        """The bot is removed: a ``my_chat_member`` update (member -> kicked); afterwards calls
        to the group answer 403 "bot was kicked"."""
        self.harness.api.block_chat(self.chat_id)
        update = self.harness.factory.my_chat_member(
            self._actor(by), self.chat_id, old_status="member", new_status="kicked"
        )
        await self.harness.process(update)


class Harness:
    """Drives a PTB :class:`~telegram.ext.Application` with fake updates against a
    :class:`FakeBotApi`.

    ``async with Harness(app, api) as harness`` initializes the application, runs its
    ``post_init`` and starts it (so ``block=False`` handlers and ``Application.create_task``
    work), and on exit stops it and shuts it down (with ``post_stop``/``post_shutdown``), as
    ``run_polling`` does. Without ``async with``, call ``await app.initialize()`` yourself (PTB
    then runs no ``post_init``, and non-blocking handlers fail: PTB warns that tasks created
    while the application is not running are not awaited, an error under ``-W error``).

    Errors raised by handlers are recorded in :attr:`errors` (via an error handler added to the
    application) and, with ``raise_errors`` (default), re-raised from the ``send``/``tap`` that
    caused them, after the bot's own error handlers have run. An error handler of the bot that
    raises ``ApplicationHandlerStop`` hides the error from the harness.
    """

    def __init__(
        self,
        application: AnyApplication,
        api: FakeBotApi,
        *,
        raise_errors: bool = True,
        settle_timeout: float = 5.0,
        require_callback_answers: bool = False,
    ) -> None:
        self._application = application
        self.api = api
        self.factory = UpdateFactory(api)
        self.raise_errors = raise_errors
        self.settle_timeout = settle_timeout
        self.require_callback_answers = require_callback_answers
        self.errors: list[BaseException] = []
        self.persons: dict[int, Person] = {}
        self.groups: dict[int, Group] = {}
        # Names of long-lived tasks the bot starts itself and settle() must not wait for.
        self.ignored_task_names: set[str] = set()
        self._baseline: set[asyncio.Task[Any]] = set()
        self._started_here = False
        application.add_error_handler(self._record_error)

    @property
    def application(self) -> AnyApplication:
        return self._application

    @application.setter
    def application(self, application: AnyApplication) -> None:
        """Drive another application (e.g. a restarted bot) with the same people and fake."""
        if application is not self._application:
            if self._record_error not in application.error_handlers:
                application.add_error_handler(self._record_error)
            self._application = application

    async def __aenter__(self) -> Harness:
        """Like ``run_polling`` minus the polling: initialize, ``post_init``, start."""
        app = self.application
        await app.initialize()
        if app.post_init:
            await app.post_init(app)
        if not app.running:
            await app.start()
            self._started_here = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Like ``run_polling`` on exit: stop, ``post_stop``, shutdown, ``post_shutdown``."""
        app = self.application
        if self._started_here and app.running:
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)

    async def _record_error(self, update: object, context: Any) -> None:
        error = getattr(context, "error", None)
        if isinstance(error, BaseException):
            _LOGGER.debug("handler error recorded by the harness", exc_info=error)
            self.errors.append(error)

    def take_errors(self) -> list[BaseException]:
        """Return and forget the recorded errors."""
        errors, self.errors = self.errors, []
        return errors

    def person(
        self,
        user_id: int,
        first_name: str,
        *,
        language_code: str = "zh-hans",
        phone: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
    ) -> Person:
        person = Person(
            self,
            user_id,
            first_name,
            language_code=language_code,
            phone=phone,
            username=username,
            last_name=last_name,
        )
        self.persons[user_id] = person
        return person

    def group(self, chat_id: int, title: str, *, supergroup: bool = False) -> Group:
        group = Group(self, chat_id, title, supergroup=supergroup)
        self.groups[chat_id] = group
        return group

    async def process(self, update_json: JSONDict) -> None:
        """Feed one Update dict through ``application.process_update`` and settle."""
        self._baseline = set(asyncio.all_tasks())
        errors_before = len(self.errors)
        self.api.record_incoming_update(update_json)
        update = Update.de_json(copy.deepcopy(update_json), self.application.bot)
        await self.application.process_update(update)
        await self.settle()
        if self.raise_errors and len(self.errors) > errors_before:
            raise self.errors[errors_before]

    def _is_ignored(self, task: asyncio.Task[Any]) -> bool:
        name = task.get_name()
        return name in self.ignored_task_names or name.endswith(_LONG_RUNNING_TASK_SUFFIXES)

    def _pending_tasks(self) -> list[asyncio.Task[Any]]:
        current = asyncio.current_task()
        return [
            task
            for task in asyncio.all_tasks()
            if task is not current and task not in self._baseline and not self._is_ignored(task)
        ]

    def _queue_busy(self) -> bool:
        if not self.application.running:
            return False
        unfinished = getattr(self.application.update_queue, "_unfinished_tasks", 0)
        return bool(unfinished)

    async def settle(self, max_wait: float | None = None) -> None:
        """Wait until the tasks started since the last update (non-blocking handlers,
        ``Application.create_task``, jobs due now, the bot's own ``asyncio`` tasks) are done.

        Raises AssertionError naming the tasks still running after ``max_wait`` seconds (default
        :attr:`settle_timeout`); add the
        names of intentionally long-lived tasks to :attr:`ignored_task_names`.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.settle_timeout if max_wait is None else max_wait)
        while True:
            for _ in range(5):
                await asyncio.sleep(0)
            pending = self._pending_tasks()
            if not pending and not self._queue_busy():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                names = sorted(task.get_name() for task in pending)
                raise AssertionError(f"the application did not settle; still running: {names}")
            if pending:
                done, _ = await asyncio.wait(
                    pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    self._collect_task_error(task)
            else:
                await asyncio.sleep(0.001)

    def _collect_task_error(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        coroutine_name = getattr(task.get_coro(), "__qualname__", "")
        # Application.create_task already passed its errors to the error handlers.
        if error is not None and not coroutine_name.endswith("__create_task_callback"):
            self.errors.append(error)
