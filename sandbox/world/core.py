"""The world's core: its state (people, chats, files, updates, settings), the bot's identity,
the update queue and live events, and the bookkeeping every part shares (counters, the dirty
flag, building and delivering messages). The parts of :class:`~sandbox.world.World` build on
:class:`WorldCore`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .helpers import (
    _bot_id_of,
    _json_param,
    chat_member,
    make_user,
    message_text,
)
from .model import (
    _COMMAND_RE,
    _OPT_IN_UPDATES,
    _PLACEHOLDER_OWNER,
    FIRST_USER_ID,
    SUPERGROUP_ID_LIMIT,
    ApiCall,
    ApiError,
    Handler,
    JSONDict,
)
from .records import _Chat, _Fault, _File, _Person, _Query

#: Messages a chat keeps by default (its newest), enough for the web page and any test.
MAX_MESSAGES = 5_000
#: Callback queries kept (the newest), per message a chat keeps.
QUERIES_PER_MESSAGE = 4


class WorldCore:
    """The state of one bot's Telegram and what every part of :class:`~sandbox.world.World`
    shares. The constructor's arguments are documented on :class:`~sandbox.world.World`."""

    def __init__(
        self,
        *,
        token: str | None,
        bot_username: str = "wuye_sandbox_bot",
        bot_first_name: str = "物业助手",
        state_path: Path | None = None,
        files_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
        bot_id: int | None = None,
        privacy_mode: bool = True,
        check_html: bool = True,
        max_calls: int = 10_000,
        max_messages: int = MAX_MESSAGES,
    ) -> None:
        self._token = token
        if token is not None:
            self.bot_id = _bot_id_of(token)
        else:
            self.bot_id = bot_id if bot_id is not None else 123456
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.state_path = Path(state_path) if state_path is not None else None
        if files_dir is None and self.state_path is not None:
            files_dir = self.state_path.parent / "files"
        self.files_dir = Path(files_dir) if files_dir is not None else None
        self.privacy_mode = privacy_mode
        self.check_html = check_html
        self.max_calls = max_calls
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.max_messages = max_messages
        self._clock = clock
        #: The clock of saving (persistence): when the state last changed, and when the
        #: first change not yet saved was made.
        self.save_clock: Callable[[], float] = time.monotonic
        self._changed_at = self._dirty_since = 0.0

        self.calls: list[ApiCall] = []
        self._people: dict[int, _Person] = {}
        self._chats: dict[int, _Chat] = {}
        self._files: dict[str, _File] = {}
        self._paths: dict[str, str] = {}  # file_path -> file_id
        self._blobs: dict[str, bytes] = {}  # sha256 -> bytes, when there is no files_dir
        self._photo_sets: dict[str, list[str]] = {}
        self._queries: dict[str, _Query] = {}
        self._commands: dict[str, list[JSONDict]] = {}
        self._updates: list[JSONDict] = []
        self._allowed_updates: list[str] | None = None
        self._webhook: JSONDict | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._counters: dict[str, int] = {
            "update": 1,
            "user": FIRST_USER_ID,
            "group": 1,
            "supergroup": 1,
            "file": 1,
            "path": 1,
            "query": 1,
            "media_group": 1,
        }

        self._faults: dict[tuple[str, str], deque[_Fault]] = {}  # (method, chat or "")
        self._fault_order = itertools.count(1)
        self._overrides: dict[str, Handler] = {}
        self._subscribers: set[asyncio.Queue[JSONDict]] = set()
        self._waiters: set[asyncio.Future[str]] = set()
        self._poller: asyncio.Future[str] | None = None
        self._dirty = False
        self._methods: dict[str, Handler] = self._method_table()

    def _method_table(self) -> dict[str, Handler]:
        """The Bot API methods by lower-case name (:class:`.api.BotApi` names them)."""
        return {}

    # -- the bot -----------------------------------------------------------------------------

    def me(self) -> JSONDict:
        """What ``getMe`` answers."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def bot_user(self) -> JSONDict:
        """The bot as a plain User (as in ``from`` of its messages)."""
        return make_user(self.bot_id, self.bot_first_name, username=self.bot_username, is_bot=True)

    # -- update queue and live events --------------------------------------------------------

    def emit(self, kind: str, payload: Mapping[str, Any]) -> JSONDict:
        """Queue an update of ``kind`` ("message", "callback_query", ...) for the bot and return
        it. Kinds the bot's ``allowed_updates`` exclude get an update_id but are not queued."""
        update: JSONDict = {"update_id": self._next("update"), kind: copy.deepcopy(dict(payload))}
        if self._allows(kind):
            self._updates.append(update)
            self._touch()
            self._wake()
        return copy.deepcopy(update)

    def subscribe(self, maxsize: int = 1000) -> asyncio.Queue[JSONDict]:
        """A queue of live events: {"type": "message"|"edit"|"delete", "chat_id", "message"},
        {"type": "answer", "query_id", "text", "show_alert", "chat_id", "user_id"},
        {"type": "action", "chat_id", "action"}, {"type": "chat", "chat"},
        {"type": "person", "person"} and {"type": "force_reply", "chat_id", "user_id",
        "force_reply"} (a ForceReply asked of a person, or null once answered or dismissed).
        A full queue drops its oldest event."""
        queue: asyncio.Queue[JSONDict] = asyncio.Queue(maxsize)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JSONDict]) -> None:
        """Stop delivering events to a queue from :meth:`subscribe`."""
        self._subscribers.discard(queue)

    # -- clock and message ids ---------------------------------------------------------------

    def now(self) -> int:
        """The clock's time as Telegram dates are: whole seconds."""
        return int(self._clock())

    def new_message_id(self, chat_id: int) -> int:
        """Allocate a message_id in a chat (people's and the bot's messages share them)."""
        chat = self._chats[chat_id]
        message_id = chat.next_message_id
        chat.next_message_id += 1
        self._touch()
        return message_id

    # ========================================================================================
    # Internals: bookkeeping
    # ========================================================================================

    def _check_token(self, token: str) -> None:
        if self._token is not None and token != self._token:
            raise ApiError(401, "Unauthorized")

    def _next(self, counter: str) -> int:
        value = self._counters[counter]
        self._counters[counter] = value + 1
        self._touch()
        return value

    def _touch(self) -> None:
        self._changed_at = self.save_clock()
        if not self._dirty:
            self._dirty_since = self._changed_at
        self._dirty = True

    def _keep(self, chat: _Chat, message: JSONDict) -> None:
        """Store a message in its chat; a chat keeps its newest :attr:`max_messages` (and as
        many deleted ones), the oldest forgotten, so a long run's state stays bounded."""
        chat.messages[message["message_id"]] = message
        while len(chat.messages) > self.max_messages:
            del chat.messages[min(chat.messages)]

    def _keep_query(self, query: _Query) -> None:
        """Register a callback query; the newest :data:`QUERIES_PER_MESSAGE` ×
        :attr:`max_messages` are kept (an older one can no longer be answered)."""
        self._queries[query.id] = query
        if len(self._queries) > self.max_messages * QUERIES_PER_MESSAGE:
            for old in list(self._queries)[: len(self._queries) // 10]:  # the oldest tenth
                del self._queries[old]

    def _record_call(self, record: ApiCall) -> None:
        self.calls.append(record)
        if len(self.calls) > self.max_calls:
            del self.calls[: len(self.calls) - self.max_calls * 9 // 10]

    def _event(self, event: JSONDict) -> None:
        for queue in list(self._subscribers):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(copy.deepcopy(event))

    @staticmethod
    def _resolve(waiter: asyncio.Future[str], reason: str) -> None:
        def settle() -> None:
            if not waiter.done():
                waiter.set_result(reason)

        if waiter.done():
            return
        with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits any more
            waiter.get_loop().call_soon_threadsafe(settle)

    def _wake(self) -> None:
        if self._poller is not None:
            self._resolve(self._poller, "update")
        for waiter in list(self._waiters):
            self._resolve(waiter, "update")

    def _allows(self, kind: str) -> bool:
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    def _free_group_id(self, kind: str) -> int:
        while True:
            if kind == "supergroup":
                chat_id = SUPERGROUP_ID_LIMIT - 2_000_000_000 - self._next("supergroup")
            else:
                chat_id = -4_000_000_000 - self._next("group")
            if chat_id not in self._chats:
                return chat_id

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> str:
        if isinstance(scope, str):
            scope = _json_param({"scope": scope}, "scope")
        if not scope:
            scope = {"type": "default"}
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        normalised: JSONDict = {"type": scope["type"]}
        for key in ("chat_id", "user_id"):
            if key in scope:
                value = scope[key]
                normalised[key] = int(value) if re.fullmatch(r"-?\d+", str(value)) else value
        return json.dumps([normalised, str(language_code or "")], sort_keys=True)

    # ========================================================================================
    # Internals: chats and messages
    # ========================================================================================

    def _person(self, user_id: int) -> _Person:
        person = self._people.get(user_id)
        if person is None:
            raise ValueError(f"no person with id {user_id}")
        return person

    def _group(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None or chat.type == "private":
            raise ValueError(f"no group with id {chat_id}")
        return chat

    def _chat_dict(self, chat: _Chat) -> JSONDict:
        if chat.type == "private":
            person = self._people.get(chat.id)
            data: JSONDict = {"id": chat.id, "type": "private"}
            if person is None:
                data["first_name"] = f"User {chat.id}"
                return data
            data["first_name"] = person.first_name
            if person.last_name:
                data["last_name"] = person.last_name
            if person.username:
                data["username"] = person.username
            return data
        data = {"id": chat.id, "type": chat.type, "title": chat.title or f"Chat {chat.id}"}
        if chat.username:
            data["username"] = chat.username
        return data

    def _chat_record(self, chat: _Chat) -> JSONDict:
        return {
            "id": chat.id,
            "type": chat.type,
            "title": self.bot_first_name if chat.type == "private" else chat.title,
            "members": list(chat.members),
            "bot_status": chat.bot_status,
            "migrated_to": chat.migrated_to,
            "migrated_from": chat.migrated_from,
        }

    def _actor(self, chat: _Chat, by: int | None) -> JSONDict:
        for candidate in (by, chat.creator, *chat.members):
            if candidate is not None and candidate in self._people:
                return self._people[candidate].user()
        return dict(_PLACEHOLDER_OWNER)

    def _is_bots(self, message: Mapping[str, Any]) -> bool:
        sender = message.get("from") or {}
        return bool(sender.get("id") == self.bot_id and sender.get("is_bot"))

    def _new_message(self, chat: _Chat, sender: Mapping[str, Any], fields: JSONDict) -> JSONDict:
        message: JSONDict = {
            "message_id": self.new_message_id(chat.id),
            "from": copy.deepcopy(dict(sender)),
            "chat": self._chat_dict(chat),
            "date": self.now(),
            **fields,
        }
        self._keep(chat, message)
        self._touch()
        self._event({"type": "message", "chat_id": chat.id, "message": message})
        return copy.deepcopy(message)

    def _set_force_reply(self, chat: _Chat, user_id: int, asked: JSONDict | None) -> None:
        """Set (or with None clear) the ForceReply a person's app shows in a chat."""
        if chat.force_replies.get(user_id) == asked:
            return
        if asked is None:
            del chat.force_replies[user_id]
        else:
            chat.force_replies[user_id] = copy.deepcopy(asked)
        self._touch()
        self._event(
            {"type": "force_reply", "chat_id": chat.id, "user_id": user_id, "force_reply": asked}
        )

    def _bot_receives(self, chat: _Chat, message: Mapping[str, Any]) -> bool:
        if chat.type == "private":
            return True
        if chat.bot_status in ("left", "kicked"):
            return False
        if not self.privacy_mode:
            return True
        # Privacy mode: replies to the bot's messages, whatever they hold (a photo without a
        # caption too), commands meant for it, mentions of it and service messages.
        reply = message.get("reply_to_message")
        if isinstance(reply, dict) and self._is_bots(reply):
            return True
        if not ("text" in message or "caption" in message):
            return not any(key in message for key in ("photo", "document", "contact"))
        text = message_text(message)
        for match in _COMMAND_RE.finditer(text):
            target = match.group().partition("@")[2]
            if not target or target.lower() == self.bot_username.lower():
                return True
        return f"@{self.bot_username.lower()}" in text.lower()

    def _deliver(self, chat: _Chat, message: JSONDict) -> JSONDict:
        """Queue a message update when the bot receives it; return the update either way."""
        if self._bot_receives(chat, message):
            return self.emit("message", message)
        return {"update_id": self._next("update"), "message": message}

    def _emit_my_chat_member(
        self,
        chat: _Chat,
        actor: Mapping[str, Any],
        old_status: str,
        new_status: str,
    ) -> None:
        payload = {
            "chat": self._chat_dict(chat),
            "from": dict(actor),
            "date": self.now(),
            "old_chat_member": chat_member(self.bot_user(), old_status),
            "new_chat_member": chat_member(self.bot_user(), new_status),
        }
        self.emit("my_chat_member", payload)
