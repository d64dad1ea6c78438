"""An offline Telegram for python-telegram-bot tests, plus script-style helpers.

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
:meth:`FakeBotApi.do_request`, is recorded as an :class:`ApiCall` and answered by a
:class:`sandbox.world.World`, the sandbox's Telegram, which holds every Telegram semantic
(messages, edits, files, keyboards, Telegram's error texts...). This module only adapts it to
PTB's request interface and adds test conveniences: recording the uploaded bytes, raising
transport exceptions (:meth:`FakeBotApi.raise_next`), custom responders and the script helpers
(:class:`Harness`, :class:`Person`, :class:`Group`), which act through the world's people side
and deliver the updates it queues straight to ``Application.process_update``.
"""

from __future__ import annotations

import asyncio
import copy
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

from sandbox.world import (
    GROUP_UPGRADED,
    MESSAGE_NOT_MODIFIED,
    ApiError,
    Upload,
    World,
    bot_command_entities,
    chat_member,
    chat_type_for_id,
    file_unique_id,
    html_to_text,
    inline_buttons,
    make_user,
    message_text,
)

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
    "bot_command_entities",
    "chat_type_for_id",
    "html_to_text",
    "inline_buttons",
    "message_text",
]

JSONDict = dict[str, Any]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Responder = Callable[["ApiCall"], Any]

#: Raise from a custom responder (see :meth:`FakeBotApi.on`) to answer with an error.
FakeApiError = ApiError
#: A file PTB uploaded with multipart/form-data.
UploadedFile = Upload

_LOGGER = logging.getLogger(__name__)

# PTB's own long-running tasks, which `Harness.settle` must not wait for.
_LONG_RUNNING_TASK_SUFFIXES: Final = (
    ":update_fetcher",
    ":persistence_updater",
    "Updater:start_polling:polling_task",
)
_URL_RE: Final = re.compile(r"/bot([^/]*)/([^/]+)$")
_FILE_URL_RE: Final = re.compile(r"/file/bot([^/]+)/(.+)")


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class ApiCall:
    """One Bot API request: the method name and its JSON-decoded parameters.

    ``files`` holds the uploaded parts with their bytes. ``result`` is what was answered
    (``None`` when it answered with an error), ``error`` Telegram's error description (or the
    ``repr`` of an exception from :meth:`FakeBotApi.raise_next`) and ``error_code`` the HTTP
    status of an error answer.
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


@dataclass
class _Raise:
    exception: Exception
    deliver: bool = False


def _dump(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def _uploads(request_data: RequestData | None) -> dict[str, UploadedFile]:
    if request_data is None or not request_data.contains_files:
        return {}
    uploads: dict[str, UploadedFile] = {}
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        uploads[name] = UploadedFile(name, filename, bytes(data), mime_type)
    return uploads


def _parameters(request_data: RequestData | None) -> JSONDict:
    # A JSON round trip gives a deep copy made only of JSON types (tuples become lists).
    params: JSONDict = json.loads(
        json.dumps(request_data.parameters if request_data else {}, default=str)
    )
    return params


# --------------------------------------------------------------------------------------------
# The fake Bot API
# --------------------------------------------------------------------------------------------


class FakeBotApi(BaseRequest):
    """A recording, in-memory Telegram for PTB (no network), over a :class:`World`.

    Pass it to ``ApplicationBuilder.request()`` *and* ``.get_updates_request()``. Any token is
    accepted; the bot is :attr:`world`'s (``getMe`` answers ``bot_id``/``bot_username``/
    ``bot_first_name``). ``getUpdates`` long-polls the world's update queue.

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
            parsed like Telegram does: rejected with Telegram's "can't parse entities" error,
            else stored as their visible text plus entities. When false they are stored as sent.
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
        # Privacy mode off: the harness has always delivered every group message to the bot.
        self.world = World(
            token=None,
            bot_id=bot_id,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            clock=clock,
            privacy_mode=False,
            check_html=check_html,
        )
        self.calls: list[ApiCall] = []
        self.downloads: list[str] = []
        self.strict_chats = strict_chats
        self.initialize_count = 0
        self.shutdown_count = 0
        self._raises: dict[str, list[_Raise]] = {}
        self._current: ApiCall | None = None

    @property
    def bot_user(self) -> JSONDict:
        """What ``getMe`` answers."""
        return self.world.me()

    @property
    def check_html(self) -> bool:
        return self.world.check_html

    @check_html.setter
    def check_html(self, value: bool) -> None:
        self.world.check_html = value

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
        match = _URL_RE.search(urlsplit(url).path)
        token, api_method = (match.group(1), match.group(2)) if match else ("", url)
        call = ApiCall(
            method=api_method, params=_parameters(request_data), files=_uploads(request_data)
        )
        self.calls.append(call)
        queue = self._raises.get(api_method.lower())
        failure = queue.pop(0) if queue else None
        if failure is not None and not failure.deliver:
            call.error = repr(failure.exception)
            raise failure.exception
        if not self.strict_chats:
            self._make_up_chat(call.params.get("chat_id"))
        delay = self.world.take_delay(api_method)
        if delay:
            await asyncio.sleep(delay)
        try:
            if api_method.lower() == "getupdates":
                result = await self.world.get_updates(token, call.params)
            else:
                self._current = call
                try:
                    result = self.world.call(token, api_method, call.params, call.files)
                finally:
                    self._current = None
        except ApiError as error:
            call.error = error.description
            call.error_code = error.code
            return error.code, _dump(error.payload())
        call.result = copy.deepcopy(result)
        if failure is not None:  # delivered, then it fails
            call.error = repr(failure.exception)
            raise failure.exception
        return HTTPStatus.OK, _dump({"ok": True, "result": result})

    def _make_up_chat(self, chat_id: object) -> None:
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            self.world.ensure_chat(chat_id)
        elif isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id.strip()):
            self.world.ensure_chat(int(chat_id))

    def _download(self, url: str) -> tuple[int, bytes]:
        # PTB GETs ``{base_file_url}/{file_path}`` (default base: .../file/bot<token>).
        match = _FILE_URL_RE.search(unquote(urlsplit(url).path))
        token, wanted = (match.group(1), match.group(2)) if match else ("", url)
        self.downloads.append(wanted)
        try:
            return HTTPStatus.OK, self.world.download(token, wanted)
        except ApiError as error:
            return error.code, _dump(error.payload())

    # -- configuration -------------------------------------------------------------------------

    def on(self, method: str, responder: Responder) -> None:
        """Answer ``method`` with ``responder(call)`` (its return value becomes ``result``).

        Overrides the built-in behaviour; raise :class:`FakeApiError` to answer with an error.
        """

        def handler(params: JSONDict, uploads: Mapping[str, Upload]) -> Any:
            assert self._current is not None
            return responder(self._current)

        self.world.override(method, handler)

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
        self.world.inject(
            method, error_code, description=description, times=times, retry_after=retry_after
        )

    def raise_next(
        self, method: str, exception: Exception, *, times: int = 1, deliver: bool = False
    ) -> None:
        """Make the next ``times`` calls of ``method`` raise ``exception`` in the HTTP layer,
        e.g. ``telegram.error.TimedOut()``. With ``deliver=True`` the call takes effect first
        (the message is sent) and only then fails, as a timed-out request often does.

        PTB passes ``TelegramError`` subclasses through and wraps anything else in
        ``NetworkError``.
        """
        queue = self._raises.setdefault(method.lower(), [])
        queue.extend(_Raise(copy.copy(exception), deliver) for _ in range(times))

    def clear_failures(self) -> None:
        self._raises.clear()
        self.world.clear_faults()

    def register_chat(self, chat: JSONDict) -> None:
        """Make a chat known (a Chat dict: ``id``, ``type`` and ``title``/``first_name``...)."""
        chat_id = int(chat["id"])
        if chat.get("type", chat_type_for_id(chat_id)) == "private":
            known = {person["id"]: person for person in self.world.people()}.get(chat_id)
            self.world.add_user(
                chat_id,
                str(chat.get("first_name") or f"User {chat_id}"),
                last_name=chat.get("last_name"),
                username=chat.get("username"),
                language_code=known["language_code"] if known else None,
                phone=known["phone"] if known else None,
            )
        else:
            self.world.add_group(
                str(chat.get("title") or f"Chat {chat_id}"),
                [],
                chat_id=chat_id,
                supergroup=chat.get("type") == "supergroup",
                announce=False,
            )

    def block_chat(self, chat_id: int, description: str | None = None) -> None:
        """From now on every call addressed to ``chat_id`` answers 403 like Telegram does when
        the user blocked the bot or the bot was removed from the group (no update is sent)."""
        self.world.ensure_chat(chat_id)
        if description is not None:
            self.world.forbid(chat_id, description)
        elif chat_id > 0:
            self.world.block_bot(chat_id, announce=False)
        else:
            self.world.remove_bot(chat_id, announce=False)

    def unblock_chat(self, chat_id: int) -> None:
        self.world.ensure_chat(chat_id)
        self.world.forbid(chat_id, None)
        if chat_id > 0:
            self.world.block_bot(chat_id, False, announce=False)
        else:
            self.world.add_bot(chat_id, announce=False)

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """The group ``old_id`` became the supergroup ``new_id`` (no service messages): calls
        addressed to ``old_id`` now answer 400 with ``parameters.migrate_to_chat_id`` (PTB
        raises ``ChatMigrated``)."""
        self.world.ensure_chat(old_id)
        self.world.upgrade_group(old_id, new_chat_id=new_id, announce=False)

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
        self.world.add_file(
            content,
            file_name,
            mime_type=mime_type or "application/octet-stream",
            kind=kind,
            file_id=file_id,
        )

    def new_file_id(self, kind: str = "document") -> str:
        return self.world.new_file_id(kind)

    def file_info(self, file_id: str) -> JSONDict:
        """The Document dict of a registered file."""
        return self.world.file_info(file_id)

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a registered or uploaded file."""
        return self.world.file_content(file_id)

    def expect_callback_query(self, query_id: str) -> None:
        """Tell the fake a callback query with this id was delivered (so it can be answered)."""
        self.world.expect_callback_query(query_id)

    def unanswered_callback_queries(self) -> list[str]:
        return self.world.unanswered_callback_queries()

    # -- counters and incoming messages --------------------------------------------------------

    def now(self) -> int:
        return self.world.now()

    def bot_sender(self) -> JSONDict:
        """The bot as a plain User (as in ``from`` of its messages; no getMe-only fields)."""
        return self.world.bot_user()

    def chat(self, chat_id: int) -> JSONDict:
        """The Chat dict Telegram would use for ``chat_id`` (registered or made up from the id)."""
        self.world.ensure_chat(chat_id)
        return self.world.chat(chat_id)

    def next_message_id(self, chat_id: int) -> int:
        """Allocate a message_id in a chat; users' and the bot's messages share the sequence."""
        self.world.ensure_chat(chat_id)
        return self.world.new_message_id(chat_id)

    def last_message_id(self, chat_id: int) -> int:
        """The newest message_id allocated in a chat (0 if none): a watermark for ``since``."""
        return self.world.last_message_id(chat_id)

    def record_incoming(self, message: JSONDict, *, replace: bool = True) -> None:
        """Remember a message a user sent (so replies to it and deleting it work)."""
        self.world.record_message(message, replace=replace)

    def record_incoming_update(self, update: Mapping[str, Any]) -> None:
        """Remember what an update built outside the world carries (already known messages
        are left alone, edited ones replaced)."""
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            if isinstance(update.get(key), dict):
                self.record_incoming(update[key], replace=key.startswith("edited"))
        query = update.get("callback_query")
        if isinstance(query, dict):
            self.expect_callback_query(str(query["id"]))

    # -- inspection ----------------------------------------------------------------------------

    def calls_of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def messages(self, chat_id: int) -> list[JSONDict]:
        """Every message the bot sent to a chat, oldest first, edits applied, deleted ones left
        out. (``world.messages(chat_id)`` has everyone's.)"""
        bot_id = self.world.bot_id
        return [
            message
            for message in self.world.messages(chat_id)
            if (message.get("from") or {}).get("id") == bot_id
        ]

    def last_message(self, chat_id: int) -> JSONDict | None:
        messages = self.messages(chat_id)
        return messages[-1] if messages else None

    def deleted_messages(self, chat_id: int) -> list[JSONDict]:
        return self.world.deleted_messages(chat_id)

    def reply_keyboard(self, chat_id: int) -> JSONDict | None:
        """The ReplyKeyboardMarkup dict the bot last sent to a chat (None if never/removed)."""
        return self.world.reply_keyboard(chat_id)

    def my_commands(self, scope_type: str = "default", language_code: str = "") -> list[JSONDict]:
        """Commands set with setMyCommands for a scope without chat/user (default, all_*)."""
        return self.world.commands(scope_type, language_code)


# --------------------------------------------------------------------------------------------
# Update builders
# --------------------------------------------------------------------------------------------


class UpdateFactory:
    """Builds Bot API Update dicts from any sender (feed them to ``Harness.process``).

    Messages are stored in the fake's world (message_ids shared with the bot's messages, as in
    Telegram) but not queued for the bot; update_ids come from this factory. The script
    helpers act through the world's people side instead; this is for hand-made updates.
    """

    def __init__(self, api: FakeBotApi, *, first_update_id: int = 100_000_001) -> None:
        self.api = api
        self._update_ids: Iterator[int] = itertools.count(first_update_id)

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
        return make_user(
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )

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
        """A Message dict from ``sender`` in ``chat_id`` (stored in the world)."""
        self.api.world.ensure_chat(chat_id)
        return self.api.world.incoming(sender, chat_id, fields)

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
                "file_unique_id": file_unique_id(file_id),
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
            "file_unique_id": file_unique_id(file_id),
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
        return self.wrap("callback_query", self.api.world.callback_query(sender, message, data))

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

    @staticmethod
    def chat_member(user: Mapping[str, Any], status: str) -> JSONDict:
        """A ChatMember dict (statuses: creator, administrator, member, left, kicked)."""
        return chat_member(user, status)

    def my_chat_member(
        self, sender: Mapping[str, Any], chat_id: int, *, old_status: str, new_status: str
    ) -> JSONDict:
        """The bot's own membership changed in a chat (e.g. left -> member when added)."""
        payload: JSONDict = {
            "chat": self.api.chat(chat_id),
            "from": copy.deepcopy(dict(sender)),
            "date": self.api.now(),
            "old_chat_member": chat_member(self.api.bot_sender(), old_status),
            "new_chat_member": chat_member(self.api.bot_sender(), new_status),
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
    """A Telegram user talking to the bot, in their private chat or in a :class:`Group`.

    A person of the world (:meth:`sandbox.world.World.add_user`); name, language and phone are
    read from and written to the world's record.
    """

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
        harness.world.add_user(
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            phone=phone,
        )

    def __repr__(self) -> str:
        return f"Person({self.user_id}, {self.first_name!r})"

    def _record(self) -> JSONDict:
        return self.harness.world.person(self.user_id)

    def _update(self, **changes: Any) -> None:
        record = self._record()
        record.update(changes)
        self.harness.world.add_user(
            self.user_id,
            record["first_name"],
            last_name=record["last_name"],
            username=record["username"],
            language_code=record["language_code"],
            phone=record["phone"],
            label=record["label"],
        )

    @property
    def first_name(self) -> str:
        return str(self._record()["first_name"])

    @first_name.setter
    def first_name(self, value: str) -> None:
        self._update(first_name=value)

    @property
    def last_name(self) -> str | None:
        value: str | None = self._record()["last_name"]
        return value

    @last_name.setter
    def last_name(self, value: str | None) -> None:
        self._update(last_name=value)

    @property
    def username(self) -> str | None:
        value: str | None = self._record()["username"]
        return value

    @username.setter
    def username(self, value: str | None) -> None:
        self._update(username=value)

    @property
    def language_code(self) -> str | None:
        value: str | None = self._record()["language_code"]
        return value

    @language_code.setter
    def language_code(self, value: str | None) -> None:
        self._update(language_code=value)

    @property
    def phone(self) -> str | None:
        value: str | None = self._record()["phone"]
        return value

    @phone.setter
    def phone(self, value: str | None) -> None:
        self._update(phone=value)

    @property
    def user(self) -> JSONDict:
        """The person as a Bot API User dict."""
        return self.harness.world.user(self.user_id)

    @property
    def private_chat_id(self) -> int:
        return self.user_id

    def _view_chat_id(self, chat: Group | None = None) -> int:
        return chat.chat_id if chat is not None else self.user_id

    def _chat_to_write(self, chat: Group | None) -> int:
        """The chat id to act in; joins a group silently first (the harness's groups start
        without members)."""
        if chat is None:
            return self.user_id
        self.harness.world.add_member(chat.chat_id, self.user_id, announce=False)
        return chat.chat_id

    async def send(self, text: str, *, chat: Group | None = None) -> None:
        """Send a text message (``/command`` texts carry a bot_command entity)."""
        self.harness.world.send_text(self.user_id, self._chat_to_write(chat), text)
        await self.harness.deliver()

    async def share_contact(
        self, phone: str | None = None, *, of_user_id: int | None = None
    ) -> None:
        """Share a contact in the private chat: by default one's own (as the request_contact
        button does); with ``of_user_id`` someone else's contact card."""
        self.harness.world.send_contact(
            self.user_id, self.user_id, phone=phone, contact_user_id=of_user_id
        )
        await self.harness.deliver()

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
        self.harness.world.send_document(
            self.user_id,
            self._chat_to_write(chat),
            content,
            file_name,
            mime_type=mime_type,
            caption=caption,
        )
        await self.harness.deliver()

    async def send_photo(
        self, content: bytes, *, caption: str | None = None, chat: Group | None = None
    ) -> None:
        """Send a photo (PhotoSizes from the image's header; 800x600 when it cannot be read)."""
        self.harness.world.send_photo(
            self.user_id, self._chat_to_write(chat), content, caption=caption
        )
        await self.harness.deliver()

    async def send_album(
        self, contents: list[bytes], *, caption: str | None = None, chat: Group | None = None
    ) -> None:
        """Send photos as one album, as Telegram does: one message each, sharing a
        media_group_id, the caption on the first."""
        world, chat_id = self.harness.world, self._chat_to_write(chat)
        self._albums = getattr(self, "_albums", 0) + 1
        album = f"album-{self.user_id}-{self._albums}"
        for index, content in enumerate(contents):
            world.send_photo(
                self.user_id, chat_id, content, caption=caption if index == 0 else None,
                media_group_id=album,
            )  # fmt: skip
        await self.harness.deliver()

    async def reply_to(
        self,
        message_id: int,
        text: str | None,
        *,
        chat: Group | None = None,
        photo: bytes | None = None,
    ) -> None:
        """Reply to a message (a bot's card, say) with text or a photo (text as caption)."""
        world, chat_id = self.harness.world, self._chat_to_write(chat)
        if photo is not None:
            world.send_photo(self.user_id, chat_id, photo, caption=text, reply_to=message_id)
        else:
            assert text is not None
            world.send_text(self.user_id, chat_id, text, reply_to=message_id)
        await self.harness.deliver()

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
                await self._press(message, str(button["callback_data"]), check=True)
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
        await self._press(messages[-1], callback_data, check=False)

    async def _press(self, message: JSONDict, data: str, *, check: bool) -> None:
        chat_id = int(message["chat"]["id"])
        if chat_id != self.user_id:
            self.harness.world.add_member(chat_id, self.user_id, announce=False)
        update = self.harness.world.press_button(
            self.user_id, chat_id, int(message["message_id"]), data, check=check
        )
        await self.harness.deliver()
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
    """A group (or supergroup) chat the bot is in (a group of the world, with no updates sent
    for its creation: use :meth:`add_bot` for the bot's arrival)."""

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
        harness.world.add_group(title, [], chat_id=chat_id, supergroup=supergroup, announce=False)

    def __repr__(self) -> str:
        return f"Group({self.chat_id}, {self.title!r})"

    def _view_chat_id(self, chat: Group | None = None) -> int:
        return chat.chat_id if chat is not None else self.chat_id

    @staticmethod
    def _by(by: Person | None) -> int | None:
        return by.user_id if by is not None else None

    async def migrate_to_supergroup(self, new_chat_id: int, *, by: Person | None = None) -> None:
        """Upgrade to a supergroup as Telegram does: calls to the old id fail with
        ChatMigrated, the bot receives ``migrate_to_chat_id`` in the old group and
        ``migrate_from_chat_id`` in the new supergroup, and :attr:`chat_id` becomes the new id."""
        if self.supergroup:
            raise ValueError(f"{self!r} is already a supergroup")
        if chat_type_for_id(new_chat_id) != "supergroup":
            raise ValueError(f"{new_chat_id} is not a supergroup id (< -1000000000000)")
        self.harness.world.upgrade_group(self.chat_id, new_chat_id=new_chat_id, by=self._by(by))
        self.chat_id = new_chat_id
        self.supergroup = True
        await self.harness.deliver()

    async def add_bot(self, by: Person | None = None) -> None:
        """The bot is added to the group: a ``my_chat_member`` update (left -> member) then the
        ``new_chat_members`` service message, as Telegram sends them."""
        self.harness.world.add_bot(self.chat_id, by=self._by(by))
        await self.harness.deliver()

    async def remove_bot(self, by: Person | None = None) -> None:
        """The bot is removed: a ``my_chat_member`` update (member -> kicked); afterwards calls
        to the group answer 403 "bot was kicked"."""
        self.harness.world.remove_bot(self.chat_id, by=self._by(by))
        await self.harness.deliver()


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
        self.world = api.world
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

    async def deliver(self) -> None:
        """Deliver the updates the world queued for the bot, oldest first, as polling would:
        each through :meth:`process` (an error stops delivery; the rest stay queued)."""
        while (update := self.world.take_update()) is not None:
            await self.process(update)

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
