"""The sandbox's Telegram: one bot's world, its Bot API semantics and the people's side of it.

:class:`World` is the single source of truth for how the local Telegram behaves. The HTTP
sandbox server (``sandbox/server.py``) answers the bot's Bot API requests with :meth:`World.call`
and :meth:`World.get_updates`; the web chat page and tests act as people with the people-side
methods (:meth:`World.send_text`, :meth:`World.press_button`, ...); the offline test fake
(``tests.support.telegram.FakeBotApi``) is a thin adapter over it.

Semantics follow Telegram's Bot API, including its error texts for the mistakes bots commonly
make (message is not modified, message is too long, BUTTON_DATA_INVALID, chat not found, bot
was blocked by the user / kicked, group upgraded to a supergroup, can't parse entities, query is
too old, ...). Simplifications are documented where they are made; the main ones: only
photos and documents are media; ``parse_mode`` HTML is parsed into entities like Telegram does
while Markdown texts are kept as sent; Telegram's automatic entities (links, mentions) are not
detected in the bot's texts; a bot may message any known person (no "bot can't initiate
conversation" check); callback queries never time out.

Threading: a :class:`World` is not thread-safe. Use it from one thread (the event loop's);
every method returns quickly (file bytes are written to disk synchronously when they arrive, and
:meth:`World.save` serialises the state in one go, which is milliseconds for a sandbox's worth).

Persistence: every mutation marks the world dirty (:attr:`World.dirty`); :meth:`World.save`
writes the state file atomically, :meth:`World.save_if_dirty` only when something changed, and
:meth:`World.autosave` is a coroutine the server runs as a background task to save at most every
``interval`` seconds. :meth:`World.load` restores a saved world.

This module uses the standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import hashlib
import json
import mimetypes
import os
import re
import struct
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import urlsplit

__all__ = [
    "BLOCKED_BY_USER",
    "CALLBACK_QUERY_INVALID",
    "CHAT_NOT_FOUND",
    "GROUP_UPGRADED",
    "MESSAGE_NOT_MODIFIED",
    "POLLING_CONFLICT",
    "WEBHOOK_CONFLICT",
    "ApiCall",
    "ApiError",
    "FaultKind",
    "Handler",
    "Upload",
    "World",
    "bot_command_entities",
    "chat_member",
    "chat_type_for_id",
    "file_unique_id",
    "html_to_text",
    "image_size",
    "inline_buttons",
    "make_user",
    "message_text",
    "parse_html",
]

JSONDict: TypeAlias = dict[str, Any]
FaultKind: TypeAlias = Literal["429", "500", "403", "400", "delay"]
Handler: TypeAlias = Callable[[JSONDict, Mapping[str, "Upload"]], Any]

# --------------------------------------------------------------------------------------------
# Telegram's texts and limits
# --------------------------------------------------------------------------------------------

MESSAGE_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
GROUP_UPGRADED: Final = "Bad Request: group chat was upgraded to a supergroup chat"
CALLBACK_QUERY_INVALID: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
CHAT_NOT_FOUND: Final = "Bad Request: chat not found"
BLOCKED_BY_USER: Final = "Forbidden: bot was blocked by the user"
WEBHOOK_CONFLICT: Final = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
POLLING_CONFLICT: Final = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
_KICKED: Final = {
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
}
_NOT_MEMBER: Final = {
    "group": "Forbidden: bot is not a member of the group chat",
    "supergroup": "Forbidden: bot is not a member of the supergroup chat",
}

SUPERGROUP_ID_LIMIT: Final = -1_000_000_000_000
MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
MAX_DOWNLOAD_SIZE: Final = 20 * 1024 * 1024
MAX_UPLOAD_SIZE: Final = 50 * 1024 * 1024
MAX_PHOTO_SIZE: Final = 10 * 1024 * 1024
MAX_MEDIA_GROUP: Final = 10
FIRST_USER_ID: Final = 100001
FALLBACK_PHOTO_SIZE: Final = (800, 600)

# Parameters whose values are JSON objects/arrays; HTTP clients send them JSON-encoded.
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
# Update kinds Telegram leaves out unless a bot asks for them by name.
_OPT_IN_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_INLINE_BUTTON_ACTIONS: Final = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
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
_SIMPLE_ENTITIES: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_HTML_ENTITY_RE: Final = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_COMMAND_RE: Final = re.compile(
    r"(?:^|(?<=\s))/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])"
)
_BOT_COMMAND_NAME_RE: Final = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TOKEN_RE: Final = re.compile(r"(\d+):[A-Za-z0-9_-]+")
_PLACEHOLDER_OWNER: Final = {"id": 1, "is_bot": False, "first_name": "群主"}

# Which fault, if any, the current task already took with World.take_delay (see there).
_CLAIMED_FAULT: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar(
    "sandbox_world_claimed_fault", default=None
)


# --------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A Bot API error answer: HTTP status ``code``, Telegram's ``description`` and optional
    ``parameters`` (``retry_after``, ``migrate_to_chat_id``)."""

    def __init__(
        self, code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code} {description}")
        self.code = int(code)
        self.description = description
        self.parameters: JSONDict | None = dict(parameters) if parameters else None

    def payload(self) -> JSONDict:
        """The JSON body Telegram answers with."""
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


@dataclass(frozen=True)
class Upload:
    """A file a bot uploaded with ``multipart/form-data`` (``field`` is the part's name)."""

    field: str
    filename: str
    content: bytes
    mime_type: str | None = None


@dataclass
class ApiCall:
    """One Bot API request as :class:`World` saw it.

    ``uploads`` holds each uploaded part's ``filename``, ``size`` and ``mime_type`` (not the
    bytes). ``result`` is what was answered (``None`` on error); ``error``/``error_code`` are
    Telegram's description and the HTTP status of an error answer. ``time`` is the clock's time.
    """

    method: str
    params: JSONDict
    uploads: dict[str, JSONDict] = field(default_factory=dict)
    time: float = 0.0
    result: Any = None
    error: str | None = None
    error_code: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the call was answered successfully."""
        return self.error is None

    def as_dict(self) -> JSONDict:
        """The record as JSON-ready data (with ``ok``)."""
        return {**asdict(self), "ok": self.ok}


# --------------------------------------------------------------------------------------------
# Helpers (pure functions, also used by the test adapter)
# --------------------------------------------------------------------------------------------


def chat_type_for_id(chat_id: int) -> str:
    """The chat type Telegram uses for an id: private > 0, supergroup <= -10^12, else group."""
    if chat_id > 0:
        return "private"
    if chat_id <= SUPERGROUP_ID_LIMIT:
        return "supergroup"
    return "group"


def make_user(
    user_id: int,
    first_name: str,
    *,
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = None,
    is_bot: bool = False,
) -> JSONDict:
    """A Bot API User dict (optional fields only when set)."""
    user: JSONDict = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def chat_member(user: Mapping[str, Any], status: str) -> JSONDict:
    """A ChatMember dict (statuses: creator, administrator, member, left, kicked)."""
    member: JSONDict = {"user": copy.deepcopy(dict(user)), "status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        for name in (
            "is_anonymous",
            "can_promote_members",
            "can_change_info",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
        ):
            member[name] = False
        for name in (
            "can_be_edited",
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_invite_users",
            "can_pin_messages",
        ):
            member[name] = True
    elif status == "kicked":
        member["until_date"] = 0
    elif status not in ("member", "left"):
        raise ValueError(f"unsupported chat member status {status!r}")
    return member


def file_unique_id(file_id: str) -> str:
    """The ``file_unique_id`` that goes with a ``file_id``."""
    return "AgAD" + hashlib.sha1(file_id.encode()).hexdigest()[:16]


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


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


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        decimal, hexadecimal, named = match.groups()
        if named:
            return {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[named]
        code = int(decimal) if decimal else int(hexadecimal, 16)
        return chr(code) if code <= 0x10FFFF else "\ufffd"

    return _HTML_ENTITY_RE.sub(replace, text)


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML like Telegram does: the visible text and its entities
    (offsets and lengths in UTF-16 code units, sorted by offset).

    Raises :class:`ApiError` with Telegram's "can't parse entities" description for markup
    Telegram rejects (unsupported or unclosed tags, a bare ``<``, mismatched end tags).
    ``<a href="tg://user?id=N">`` becomes a ``text_link`` here; :class:`World` turns it into
    a ``text_mention``.
    """

    def fail(reason: str) -> ApiError:
        return ApiError(400, f"Bad Request: can't parse entities: {reason}")

    def byte_offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    out: list[str] = []
    position = 0  # UTF-16 length of the output so far
    entities: list[JSONDict] = []
    stack: list[tuple[str, int, dict[str, str]]] = []
    i, n = 0, len(text)

    def emit(chunk: str) -> None:
        nonlocal position
        out.append(chunk)
        position += _utf16_len(chunk)

    def close(name: str, start: int, attributes: dict[str, str]) -> None:
        length = position - start
        if length <= 0:
            return
        entity: JSONDict = {"offset": start, "length": length}
        if name in _SIMPLE_ENTITIES:
            entity["type"] = _SIMPLE_ENTITIES[name]
        elif name == "a":
            href = attributes.get("href")
            if not href:
                return
            entity.update(type="text_link", url=href)
        elif name == "code":
            if stack and stack[-1][0] == "pre":
                language = attributes.get("class", "")
                if language.startswith("language-"):
                    stack[-1][2]["language"] = language.removeprefix("language-")
                    return
            entity["type"] = "code"
        elif name == "pre":
            entity["type"] = "pre"
            if attributes.get("language"):
                entity["language"] = attributes["language"]
        elif name == "blockquote":
            expandable = "expandable" in attributes
            entity["type"] = "expandable_blockquote" if expandable else "blockquote"
        elif name == "tg-emoji":
            if not attributes.get("emoji-id"):
                return
            entity.update(type="custom_emoji", custom_emoji_id=attributes["emoji-id"])
        elif name == "tg-time":
            unix = attributes.get("unix", "")
            if not unix.isdigit():
                return
            entity.update(type="date_time", unix_time=int(unix))
            if attributes.get("format"):
                entity["date_time_format"] = attributes["format"]
        else:  # pragma: no cover - every supported tag is handled above
            return
        entities.append({"type": entity.pop("type"), **entity})

    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match:
                emit(_unescape(match.group()))
                i = match.end()
                continue
        if char != "<":
            start = i
            while i < n and text[i] not in "<&":
                i += 1
            if i == start:  # a bare "&"
                i += 1
            emit(text[start:i])
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
            end = text.find(">", i)
            if end == -1:
                raise fail(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            if name and name != stack[-1][0]:
                raise fail(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, expected "
                    f'"</{stack[-1][0]}>", found "</{name}>"'
                )
            open_name, open_start, open_attributes = stack.pop()
            close(open_name, open_start, open_attributes)
            i = end + 1
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
                    end = text.find(text[i], i + 1)
                    if end == -1:
                        raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                    value = text[i + 1 : end]
                    i = end + 1
                else:
                    start = i
                    while i < n and not text[i].isspace() and text[i] != ">":
                        i += 1
                    value = text[start:i]
            attributes[attribute] = _unescape(value)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"')
        stack.append((name, position, attributes))
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(out), entities


def html_to_text(text: str) -> str:
    """The visible text of Telegram-flavoured HTML (see :func:`parse_html`)."""
    return parse_html(text)[0]


def image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF, WebP or BMP image from its header, else None."""
    width = height = 0
    if content[:8] == b"\x89PNG\r\n\x1a\n" and content[12:16] == b"IHDR" and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
    elif content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
    elif content[:2] == b"BM" and len(content) >= 26:
        width, height = struct.unpack("<ii", content[18:26])
        height = abs(height)
    elif content[:4] == b"RIFF" and content[8:12] == b"WEBP" and len(content) >= 30:
        chunk = content[12:16]
        if chunk == b"VP8 ":
            width, height = (value & 0x3FFF for value in struct.unpack("<HH", content[26:30]))
        elif chunk == b"VP8L":
            bits = int.from_bytes(content[21:25], "little")
            width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        elif chunk == b"VP8X":
            width = int.from_bytes(content[24:27], "little") + 1
            height = int.from_bytes(content[27:30], "little") + 1
    elif content[:2] == b"\xff\xd8":
        i = 2
        while i + 9 <= len(content):
            if content[i] != 0xFF:
                i += 1
                continue
            marker = content[i + 1]
            if marker == 0xFF:
                i += 1
                continue
            if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", content[i + 5 : i + 9])
                break
            (length,) = struct.unpack(">H", content[i + 2 : i + 4])
            i += 2 + max(length, 2)
    if width > 0 and height > 0:
        return int(width), int(height)
    return None


def _photo_dimensions(width: int, height: int) -> list[tuple[int, int]]:
    """The PhotoSize dimensions Telegram makes of an image: thumbnails of 90, 320 and 800
    pixels on the longer side when it is larger, then the photo itself (at most 1280)."""
    longest = max(width, height)

    def scaled(limit: int) -> tuple[int, int]:
        factor = limit / longest
        return max(1, round(width * factor)), max(1, round(height * factor))

    sizes = [scaled(limit) for limit in (90, 320, 800) if longest > limit]
    sizes.append(scaled(1280) if longest > 1280 else (width, height))
    return sizes


def _normalise(params: Mapping[str, Any]) -> JSONDict:
    """Decode JSON-valued parameters sent as strings and deep-copy into plain JSON types."""
    out: JSONDict = {}
    for key, value in params.items():
        if key in _JSON_VALUED and isinstance(value, str) and value.lstrip().startswith(("{", "[")):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    normalised: JSONDict = json.loads(json.dumps(out, default=str))
    return normalised


def _json_param(params: Mapping[str, Any], key: str) -> Any:
    value = params.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _int_param(params: Mapping[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ApiError(400, f'Bad Request: field "{key}" must be of type Integer') from None


def _bool_param(params: Mapping[str, Any], key: str) -> bool:
    value = params.get(key)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _float_param(params: Mapping[str, Any], key: str) -> float:
    value = params.get(key)
    if value is None or value == "":
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f'Bad Request: field "{key}" must be of type Number') from None


def _image_mime(content: bytes) -> str:
    signatures = {
        b"\x89PNG": "image/png",
        b"GIF8": "image/gif",
        b"BM": "image/bmp",
        b"RIFF": "image/webp",
    }
    for signature, mime in signatures.items():
        if content.startswith(signature):
            return mime
    return "image/jpeg"


def _mime_for(file_name: str) -> str:
    guessed, _ = mimetypes.guess_type(file_name)
    return guessed or "application/octet-stream"


def _bot_id_of(token: str) -> int:
    match = _TOKEN_RE.fullmatch(token)
    if not match:
        raise ValueError(f"not a bot token: {token[:12]}…")
    return int(match.group(1))


# --------------------------------------------------------------------------------------------
# Internal state
# --------------------------------------------------------------------------------------------


@dataclass
class _Person:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "zh-hans"
    phone: str | None = None
    label: str = ""
    blocked: bool = False

    def user(self) -> JSONDict:
        return make_user(
            self.id,
            self.first_name,
            last_name=self.last_name,
            username=self.username,
            language_code=self.language_code,
        )

    def record(self) -> JSONDict:
        return asdict(self)


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    members: list[int] = field(default_factory=list)
    creator: int | None = None
    next_message_id: int = 1
    messages: dict[int, JSONDict] = field(default_factory=dict)
    deleted: list[JSONDict] = field(default_factory=list)
    reply_keyboard: JSONDict | None = None
    bot_status: str = "member"  # member, administrator, left, kicked (groups only)
    forbidden: str | None = None  # an explicit 403 description (set by tests)
    migrated_to: int | None = None
    migrated_from: int | None = None
    pinned: int | None = None

    def state(self) -> JSONDict:
        data = asdict(self)
        data["messages"] = [self.messages[key] for key in sorted(self.messages)]
        return data

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> _Chat:
        values = dict(data)
        messages = values.pop("messages", [])
        chat = cls(**values)
        chat.messages = {int(message["message_id"]): message for message in messages}
        return chat


@dataclass
class _File:
    file_id: str
    unique_id: str
    sha256: str
    size: int
    kind: str  # "photo" or "document"
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    photo_set: str | None = None  # the file_id of the largest size, for photos

    def document(self) -> JSONDict:
        doc: JSONDict = {"file_id": self.file_id, "file_unique_id": self.unique_id}
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        doc["file_size"] = self.size
        return doc

    def photo_size(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.size,
        }

    def telegram_file(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


@dataclass
class _Query:
    id: str
    user_id: int
    chat_id: int | None = None
    message_id: int | None = None
    data: str | None = None
    answered: bool = False
    answer: JSONDict | None = None


@dataclass
class _Fault:
    kind: str
    code: int = 0
    description: str = ""
    retry_after: int | None = None
    delay: float = 0.0

    def error(self) -> ApiError:
        parameters = {"retry_after": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.code, self.description, parameters)

    def record(self, method: str) -> JSONDict:
        return {"method": method, **asdict(self)}


# --------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------


class World:
    """One bot's Telegram: people, chats, messages, files, the bot's update queue and settings.

    Args:
        token: the bot's token (``"<bot id>:<secret>"``); calls with any other token answer 401
            Unauthorized. ``None`` accepts every token (the offline test adapter uses this);
            the bot id then comes from ``bot_id``.
        bot_id: the bot's user id when ``token`` is None (default 123456).
        bot_username / bot_first_name: what ``getMe`` answers.
        state_path: where :meth:`save` writes the state (JSON) and :meth:`load` reads it.
        files_dir: where file bytes are kept, one file per SHA-256. Default: ``files`` beside
            ``state_path``; with neither, bytes are kept in memory.
        clock: seconds since the epoch for message dates (default :func:`time.time`).
        privacy_mode: Telegram's group privacy mode (on by default, as for new bots): the bot
            receives only commands, replies to its messages, messages mentioning it and service
            messages from groups. ``getMe`` reports it as ``can_read_all_group_messages``.
        check_html: parse ``parse_mode=HTML`` texts like Telegram (default). When false, such
            texts are stored as sent, without entities.
        max_calls: how many :class:`ApiCall` records :attr:`calls` keeps (oldest dropped).
    """

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
        self._clock = clock

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

        self._faults: dict[str, list[_Fault]] = {}
        self._overrides: dict[str, Handler] = {}
        self._subscribers: set[asyncio.Queue[JSONDict]] = set()
        self._waiters: set[asyncio.Future[str]] = set()
        self._poller: asyncio.Future[str] | None = None
        self._dirty = False
        self._methods: dict[str, Handler] = {
            "getme": lambda p, u: self.me(),
            "getupdates": lambda p, u: self._poll(p),
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": lambda p, u: self.webhook_info(),
            "logout": lambda p, u: True,
            "close": lambda p, u: True,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendmediagroup": self._send_media_group,
            "getfile": self._get_file,
            "sendchataction": self._send_chat_action,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "getchatmembercount": self._get_chat_member_count,
            "leavechat": self._leave_chat,
            "pinchatmessage": self._pin_chat_message,
            "unpinchatmessage": self._unpin_chat_message,
        }

    # ========================================================================================
    # The Bot API
    # ========================================================================================

    def call(
        self,
        token: str,
        method: str,
        params: Mapping[str, Any],
        uploads: Mapping[str, Upload] | None = None,
    ) -> Any:
        """Answer one Bot API request; return its ``result`` or raise :class:`ApiError`.

        ``method`` is case-insensitive; ``params`` may hold JSON-valued parameters as JSON
        strings or decoded, and numbers/booleans as strings (form encoding). Unknown methods
        answer 404 Not Found. ``getUpdates`` answers at once here, without waiting (use
        :meth:`get_updates` for long polling). Injected faults (:meth:`inject`) apply first.
        """
        self._check_token(token)
        name = method.strip().lower()
        normalised = _normalise(params)
        record = ApiCall(
            method=method,
            params=copy.deepcopy(normalised),
            uploads={
                key: {"filename": up.filename, "size": len(up.content), "mime_type": up.mime_type}
                for key, up in (uploads or {}).items()
            },
            time=self._clock(),
        )
        self._record_call(record)
        try:
            self._apply_fault(name)
            handler = self._overrides.get(name) or self._methods.get(name)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(normalised, dict(uploads or {}))
        except ApiError as error:
            record.error = error.description
            record.error_code = error.code
            raise
        record.result = copy.deepcopy(result)
        return result

    async def get_updates(self, token: str, params: Mapping[str, Any]) -> list[JSONDict]:
        """``getUpdates`` with long polling: answer at once when updates are queued, else wait
        up to ``timeout`` seconds for one. ``offset`` confirms (drops) older updates; a negative
        offset keeps only the last ``-offset``; ``limit`` is clamped to 1-100 (default 100);
        ``allowed_updates`` is remembered for later updates. A newer ``getUpdates`` ends a
        waiting one with 409 Conflict, as Telegram does when two bot instances poll.

        Faults apply as for :meth:`call` (callers await :meth:`take_delay` first)."""
        self._check_token(token)
        normalised = _normalise(params)
        updates = self.call(token, "getUpdates", normalised)
        assert isinstance(updates, list)
        timeout = _float_param(normalised, "timeout")
        if updates or timeout <= 0:
            return updates
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        previous, self._poller = self._poller, waiter
        if previous is not None:
            self._resolve(previous, "conflict")
        try:
            done, _ = await asyncio.wait({waiter}, timeout=timeout)
        finally:
            if self._poller is waiter:
                self._poller = None
        reason = waiter.result() if done else "timeout"
        if reason == "conflict":
            raise ApiError(409, POLLING_CONFLICT)
        follow_up = {key: value for key, value in normalised.items() if key != "offset"}
        return self._poll(follow_up)

    def download(self, token: str, file_path: str) -> bytes:
        """The bytes behind a ``file_path`` from ``getFile``; 404 Not Found if unknown."""
        self._check_token(token)
        file_id = self._paths.get(file_path.lstrip("/"))
        if file_id is None:
            raise ApiError(404, "Not Found")
        return self.file_content(file_id)

    def take_delay(self, method: str) -> float:
        """Take the next fault of ``method`` if it is a "delay" and return its seconds (else 0).

        The HTTP server awaits ``asyncio.sleep(world.take_delay(method))`` before
        :meth:`call`; the following :meth:`call` from the same task then takes no fault, so each
        request consumes exactly one injected fault even when requests overlap.
        """
        name = method.strip().lower()
        queue = self._faults.get(name)
        if not queue or queue[0].kind != "delay":
            return 0.0
        fault = queue.pop(0)
        _CLAIMED_FAULT.set((id(self), name))
        return fault.delay

    def override(self, method: str, handler: Handler | None) -> None:
        """Answer ``method`` with ``handler(params, uploads)`` instead (None restores it).

        The handler's return value is the result; raise :class:`ApiError` to answer an error.
        Faults still apply first.
        """
        if handler is None:
            self._overrides.pop(method.lower(), None)
        else:
            self._overrides[method.lower()] = handler

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

    # -- webhook and update queue ------------------------------------------------------------

    @property
    def webhook(self) -> JSONDict | None:
        """The webhook set with ``setWebhook`` (url, secret_token, max_connections,
        allowed_updates), or None while the bot polls."""
        return copy.deepcopy(self._webhook)

    def webhook_info(self) -> JSONDict:
        """What ``getWebhookInfo`` answers."""
        info: JSONDict = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._allowed_updates is not None:
                info["allowed_updates"] = list(self._allowed_updates)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    def webhook_failed(self, message: str) -> None:
        """Record a failed webhook delivery (shown by ``getWebhookInfo``)."""
        self._webhook_error = (self.now(), message)

    def pending_updates(self) -> list[JSONDict]:
        """The updates queued for the bot, oldest first (copies; nothing is confirmed)."""
        return copy.deepcopy(self._updates)

    def confirm_updates(self, through_update_id: int) -> None:
        """Drop queued updates up to and including ``through_update_id`` (as delivered)."""
        kept = [u for u in self._updates if u["update_id"] > through_update_id]
        if len(kept) != len(self._updates):
            self._updates = kept
            self._touch()

    def take_update(self) -> JSONDict | None:
        """Remove and return the oldest queued update (None if none): for a deliverer that is
        not the bot's ``getUpdates``, e.g. a webhook pusher or the offline test harness."""
        if not self._updates:
            return None
        update = self._updates.pop(0)
        self._touch()
        return update

    async def wait_for_updates(self, seconds: float) -> bool:
        """Wait until an update is queued (True) or ``seconds`` pass (False)."""
        if self._updates:
            return True
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            self._waiters.discard(waiter)
        return bool(self._updates)

    def emit(self, kind: str, payload: Mapping[str, Any]) -> JSONDict:
        """Queue an update of ``kind`` ("message", "callback_query", ...) for the bot and return
        it. Kinds the bot's ``allowed_updates`` exclude get an update_id but are not queued."""
        update: JSONDict = {"update_id": self._next("update"), kind: copy.deepcopy(dict(payload))}
        if self._allows(kind):
            self._updates.append(update)
            self._touch()
            self._wake()
        return copy.deepcopy(update)

    # ========================================================================================
    # The people's side
    # ========================================================================================

    def add_user(
        self,
        user_id: int | None = None,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        phone: str | None = None,
        label: str = "",
    ) -> JSONDict:
        """Add a person (or replace the fields of an existing one; ``blocked`` is kept) and
        return their record {"id", "first_name", "last_name", "username", "language_code",
        "phone", "label", "blocked"}. ``user_id`` None takes the next free id (from 100001);
        ``first_name`` None makes "用户<id>". Their private chat with the bot exists at once."""
        if user_id is None:
            user_id = self._counters["user"]
            while user_id in self._people or user_id == self.bot_id:
                user_id += 1
            self._counters["user"] = user_id + 1
        if user_id <= 0:
            raise ValueError("user ids are positive")
        if user_id == self.bot_id:
            raise ValueError(f"{user_id} is the bot's id")
        previous = self._people.get(user_id)
        person = _Person(
            id=user_id,
            first_name=first_name or f"用户{user_id}",
            last_name=last_name or None,
            username=username or None,
            language_code=language_code or None,
            phone=phone,
            label=label,
            blocked=previous.blocked if previous else False,
        )
        self._people[user_id] = person
        if user_id not in self._chats:
            self._chats[user_id] = _Chat(id=user_id, type="private", members=[user_id])
        self._touch()
        record = person.record()
        self._event({"type": "person", "person": copy.deepcopy(record)})
        return record

    def person(self, user_id: int) -> JSONDict:
        """A person's record (KeyError if unknown)."""
        return self._people[user_id].record()

    def user(self, user_id: int) -> JSONDict:
        """A person as a Bot API User dict (KeyError if unknown)."""
        return self._people[user_id].user()

    def people(self) -> list[JSONDict]:
        """Every person's record, by id."""
        return [self._people[key].record() for key in sorted(self._people)]

    def add_group(
        self,
        title: str,
        member_ids: Sequence[int],
        *,
        chat_id: int | None = None,
        supergroup: bool = False,
        by: int | None = None,
        announce: bool = True,
    ) -> JSONDict:
        """Create a group (or supergroup) with these people and the bot as members and return
        its chat record. With ``announce`` the bot receives what Telegram sends when a user
        (``by``, default the first member) adds a bot: a ``my_chat_member`` update (left ->
        member) and a ``new_chat_members`` service message. An existing ``chat_id`` only gets
        its title updated and the members added (silently)."""
        if not title.strip():
            raise ValueError("a group needs a title")
        for user_id in member_ids:
            self._person(user_id)
        if by is not None:
            self._person(by)
        kind = "supergroup" if supergroup else "group"
        if chat_id is None:
            chat_id = self._free_group_id(kind)
        elif chat_id >= 0 or chat_type_for_id(chat_id) != kind:
            raise ValueError(
                f"chat id {chat_id} does not fit a {kind}: groups are negative, supergroups are "
                f"{SUPERGROUP_ID_LIMIT} or below"
            )
        existing = self._chats.get(chat_id)
        if existing is not None:
            existing.title = title
            for user_id in member_ids:
                if user_id not in existing.members:
                    existing.members.append(user_id)
            self._touch()
            self._event({"type": "chat", "chat": self._chat_record(existing)})
            return self._chat_record(existing)
        members = list(dict.fromkeys([*member_ids, *([by] if by is not None else [])]))
        chat = _Chat(id=chat_id, type=kind, title=title, members=members)
        chat.creator = by if by is not None else (members[0] if members else None)
        self._chats[chat_id] = chat
        self._touch()
        self._event({"type": "chat", "chat": self._chat_record(chat)})
        if announce:
            self.add_bot(chat_id, by=by)
        return self._chat_record(chat)

    def add_bot(self, chat_id: int, *, by: int | None = None, announce: bool = True) -> None:
        """A user (``by``, default the group's creator) adds the bot to a group: it becomes a
        member again and, with ``announce``, receives ``my_chat_member`` (old status -> member)
        and the ``new_chat_members`` service message."""
        chat = self._group(chat_id)
        old_status = chat.bot_status if chat.bot_status in ("left", "kicked") else "left"
        chat.bot_status = "member"
        chat.forbidden = None
        self._touch()
        if announce:
            actor = self._actor(chat, by)
            self._emit_my_chat_member(chat, actor, old_status, "member")
            message = self._new_message(chat, actor, {"new_chat_members": [self.bot_user()]})
            self._deliver(chat, message)

    def remove_bot(self, chat_id: int, *, by: int | None = None, announce: bool = True) -> None:
        """A user removes (bans) the bot from a group: ``my_chat_member`` (-> kicked) and from
        then on 403 "bot was kicked from the group chat"."""
        chat = self._group(chat_id)
        old_status = chat.bot_status
        chat.bot_status = "kicked"
        self._touch()
        if announce:
            actor = self._actor(chat, by)
            self._emit_my_chat_member(chat, actor, old_status, "kicked")
            self._new_message(chat, actor, {"left_chat_member": self.bot_user()})

    def add_member(self, chat_id: int, user_id: int, *, announce: bool = True) -> None:
        """A person joins a group; with ``announce`` a ``new_chat_members`` service message."""
        chat = self._group(chat_id)
        person = self._person(user_id)
        if user_id in chat.members:
            return
        chat.members.append(user_id)
        self._touch()
        self._event({"type": "chat", "chat": self._chat_record(chat)})
        if announce:
            message = self._new_message(chat, person.user(), {"new_chat_members": [person.user()]})
            self._deliver(chat, message)

    def remove_member(self, chat_id: int, user_id: int, *, announce: bool = True) -> None:
        """A person leaves a group; with ``announce`` a ``left_chat_member`` service message."""
        chat = self._group(chat_id)
        person = self._person(user_id)
        if user_id not in chat.members:
            return
        chat.members.remove(user_id)
        self._touch()
        self._event({"type": "chat", "chat": self._chat_record(chat)})
        if announce:
            message = self._new_message(chat, person.user(), {"left_chat_member": person.user()})
            self._deliver(chat, message)

    def upgrade_group(
        self,
        chat_id: int,
        *,
        new_chat_id: int | None = None,
        by: int | None = None,
        announce: bool = True,
    ) -> JSONDict:
        """Upgrade a group to a supergroup (new id ``new_chat_id``, default -100…) and return
        the new chat's record. With ``announce`` the bot receives both service messages:
        ``migrate_to_chat_id`` in the old group, then ``migrate_from_chat_id`` in the new one.
        Afterwards calls to the old id answer 400 "group chat was upgraded to a supergroup
        chat" with ``parameters.migrate_to_chat_id``."""
        old = self._group(chat_id)
        if old.type != "group":
            raise ValueError(f"chat {chat_id} is a {old.type}, not a group")
        if new_chat_id is None:
            new_chat_id = SUPERGROUP_ID_LIMIT + chat_id
            while new_chat_id in self._chats:
                new_chat_id -= 1
        if chat_type_for_id(new_chat_id) != "supergroup":
            raise ValueError(
                f"{new_chat_id} is not a supergroup id ({SUPERGROUP_ID_LIMIT} or below)"
            )
        existing = self._chats.get(new_chat_id)
        if existing is not None and (existing.messages or existing.type != "supergroup"):
            raise ValueError(f"chat {new_chat_id} already exists")
        new = _Chat(
            id=new_chat_id,
            type="supergroup",
            title=old.title,
            members=list(old.members),
            creator=old.creator,
            bot_status=old.bot_status,
            forbidden=old.forbidden,
            migrated_from=chat_id,
        )
        self._chats[new_chat_id] = new
        old.migrated_to = new_chat_id
        self._touch()
        self._event({"type": "chat", "chat": self._chat_record(old)})
        self._event({"type": "chat", "chat": self._chat_record(new)})
        if announce:
            actor = self._actor(old, by)
            to_message = self._new_message(old, actor, {"migrate_to_chat_id": new_chat_id})
            self._deliver(old, to_message)
            from_message = self._new_message(new, actor, {"migrate_from_chat_id": chat_id})
            self._deliver(new, from_message)
        return self._chat_record(new)

    def chats_of(self, user_id: int) -> list[JSONDict]:
        """The chats a person sees: the private chat with the bot, then the groups they are in
        (upgraded groups only under their new id); each {"id", "type", "title",
        "last_message"}."""
        self._person(user_id)
        chats = [self._chats[user_id]]
        chats += [
            chat
            for chat in self._chats.values()
            if chat.type != "private" and user_id in chat.members and chat.migrated_to is None
        ]
        out = []
        for chat in chats:
            visible = [chat.messages[key] for key in sorted(chat.messages)]
            out.append(
                {
                    "id": chat.id,
                    "type": chat.type,
                    "title": self.bot_first_name if chat.type == "private" else chat.title,
                    "last_message": copy.deepcopy(visible[-1]) if visible else None,
                }
            )
        return out

    def chat(self, chat_id: int) -> JSONDict:
        """The Chat dict Telegram puts in messages for ``chat_id`` (KeyError if unknown)."""
        return self._chat_dict(self._chats[chat_id])

    def chat_record(self, chat_id: int) -> JSONDict:
        """A chat's record: {"id", "type", "title", "members", "bot_status", "migrated_to",
        "migrated_from"} (KeyError if unknown)."""
        return self._chat_record(self._chats[chat_id])

    def ensure_chat(self, chat_id: int) -> None:
        """Make an unknown chat id known with made-up details ("User N" / "Chat N")."""
        if chat_id in self._chats or chat_id == 0:
            return
        if chat_id > 0:
            if chat_id != self.bot_id:
                self.add_user(chat_id, f"User {chat_id}", language_code=None)
            return
        kind = chat_type_for_id(chat_id)
        self.add_group(f"Chat {chat_id}", [], chat_id=chat_id, supergroup=kind == "supergroup")

    def send_text(
        self, user_id: int, chat_id: int, text: str, *, reply_to: int | None = None
    ) -> JSONDict:
        """A person sends a text message (``reply_to``: as a reply to that message); returns
        the Update (bot_command entities as Telegram makes them). Raises ValueError if they
        cannot write there."""
        if not text.strip():
            raise ValueError("a message needs text")
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(f"a message has at most {MAX_TEXT_LENGTH} characters")
        chat, person = self._speaker(user_id, chat_id)
        fields: JSONDict = {"text": text}
        entities = bot_command_entities(text)
        if entities:
            fields["entities"] = entities
        self._reply_fields(chat, fields, reply_to)
        return self._deliver(chat, self._new_message(chat, person.user(), fields))

    def _reply_fields(self, chat: _Chat, fields: JSONDict, reply_to: int | None) -> None:
        """Attach the replied-to message as Telegram does (without its own reply)."""
        if reply_to is None:
            return
        original = chat.messages.get(reply_to)
        if original is None:
            raise ValueError(f"no message {reply_to} in chat {chat.id} to reply to")
        quoted = copy.deepcopy(original)
        quoted.pop("reply_to_message", None)
        fields["reply_to_message"] = quoted

    def send_contact(
        self,
        user_id: int,
        chat_id: int,
        *,
        phone: str | None = None,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> JSONDict:
        """A person shares a contact; returns the Update.

        By default their own (what the ``request_contact`` button sends: their phone, their
        user_id; ``phone`` overrides the number). With ``contact_user_id`` another person's card
        (their details when known, else ``phone`` and ``first_name``, default "联系人"). With
        only ``first_name`` (and ``phone``) a card of someone not on Telegram (no user_id).
        """
        chat, person = self._speaker(user_id, chat_id)
        contact: JSONDict
        if contact_user_id is None and first_name is None:
            number = phone or person.phone
            if not number:
                raise ValueError(f"no phone number known for user {user_id}; pass one")
            contact = {"phone_number": number, "first_name": person.first_name}
            if person.last_name:
                contact["last_name"] = person.last_name
            contact["user_id"] = person.id
        else:
            other = self._people.get(contact_user_id) if contact_user_id is not None else None
            number = phone or (other.phone if other else None)
            if not number:
                raise ValueError(f"no phone number known for user {contact_user_id}; pass one")
            contact = {
                "phone_number": number,
                "first_name": first_name or (other.first_name if other else "联系人"),
            }
            surname = last_name or (other.last_name if other else None)
            if surname:
                contact["last_name"] = surname
            if contact_user_id is not None:
                contact["user_id"] = contact_user_id
        return self._deliver(chat, self._new_message(chat, person.user(), {"contact": contact}))

    def send_photo(
        self,
        user_id: int,
        chat_id: int,
        content: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        """A person sends a photo (PhotoSizes from the image's header; 800x600 when it cannot
        be read); returns the Update. Photos sharing ``media_group_id`` form an album."""
        if not content:
            raise ValueError("a photo needs content")
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise ValueError(f"a caption has at most {MAX_CAPTION_LENGTH} characters")
        chat, person = self._speaker(user_id, chat_id)
        fields: JSONDict = {"photo": self._store_photo(content, strict=False)}
        if media_group_id is not None:
            fields["media_group_id"] = str(media_group_id)
        if caption:
            fields["caption"] = caption
        self._reply_fields(chat, fields, reply_to)
        return self._deliver(chat, self._new_message(chat, person.user(), fields))

    def send_document(
        self,
        user_id: int,
        chat_id: int,
        content: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> JSONDict:
        """A person sends a file (MIME type guessed from the name unless given); returns the
        Update. The bot can ``getFile`` and download it. (Empty files are let through, though
        Telegram's apps refuse them, so bots' handling of them can be tested.)"""
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise ValueError(f"a caption has at most {MAX_CAPTION_LENGTH} characters")
        chat, person = self._speaker(user_id, chat_id)
        stored = self._store_file(
            content,
            kind="document",
            file_name=file_name,
            mime_type=mime_type or _mime_for(file_name),
        )
        fields: JSONDict = {"document": stored.document()}
        if caption:
            fields["caption"] = caption
        return self._deliver(chat, self._new_message(chat, person.user(), fields))

    def press_button(
        self, user_id: int, chat_id: int, message_id: int, callback_data: str, *, check: bool = True
    ) -> JSONDict:
        """A person presses an inline button; returns the ``callback_query`` Update (not queued
        when the bot has left the group).

        With ``check`` the message must be the bot's and carry a button with this data
        (ValueError otherwise); ``check=False`` lets tests forge data."""
        chat, person = self._speaker(user_id, chat_id, pressing=True)
        message = chat.messages.get(message_id)
        if message is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        if check:
            if not self._is_bots(message):
                raise ValueError(f"message {message_id} in chat {chat_id} is not the bot's")
            data = [button.get("callback_data") for button in inline_buttons(message)]
            if callback_data not in data:
                raise ValueError(
                    f"message {message_id} has no button with callback data {callback_data!r}"
                )
        query = self.callback_query(person.user(), message, callback_data)
        if chat.type != "private" and chat.bot_status in ("left", "kicked"):
            return {"update_id": self._next("update"), "callback_query": query}
        return self.emit("callback_query", query)

    def callback_query(
        self, sender: Mapping[str, Any], message: Mapping[str, Any], data: str
    ) -> JSONDict:
        """Make (and register, so it can be answered) a CallbackQuery dict for pressing a button
        with ``data`` on ``message``. :meth:`press_button` also queues it for the bot."""
        query_id = str(4_000_000_000_000_000 + self._next("query"))
        chat_id = int(message["chat"]["id"])
        self._queries[query_id] = _Query(
            id=query_id,
            user_id=int(sender["id"]),
            chat_id=chat_id,
            message_id=int(message["message_id"]),
            data=data,
        )
        self._touch()
        return {
            "id": query_id,
            "from": copy.deepcopy(dict(sender)),
            "message": copy.deepcopy(dict(message)),
            "chat_instance": str(abs(chat_id) * 7919 % 10**18 + 10**17),
            "data": data,
        }

    def expect_callback_query(self, query_id: str, *, user_id: int = 0) -> None:
        """Register a callback query made elsewhere (so ``answerCallbackQuery`` accepts it)."""
        if query_id not in self._queries:
            self._queries[query_id] = _Query(id=query_id, user_id=user_id)
            self._touch()

    def callback_answer(self, query_id: str) -> JSONDict | None:
        """What ``answerCallbackQuery`` said for a query ({"text", "show_alert", "url",
        "cache_time"}), once answered; None before."""
        query = self._queries.get(query_id)
        return copy.deepcopy(query.answer) if query and query.answered else None

    def unanswered_callback_queries(self) -> list[str]:
        """Ids of callback queries the bot has not answered yet."""
        return [query.id for query in self._queries.values() if not query.answered]

    def block_bot(self, user_id: int, blocked: bool = True, *, announce: bool = True) -> None:
        """A person blocks (or unblocks) the bot. Blocked: calls to their chat answer 403 "bot
        was blocked by the user". With ``announce`` the bot receives ``my_chat_member``
        (member -> kicked, or back), as Telegram sends it."""
        person = self._person(user_id)
        if person.blocked == blocked:
            return
        person.blocked = blocked
        self._touch()
        self._event({"type": "person", "person": person.record()})
        if announce:
            chat = self._chats[user_id]
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            self._emit_my_chat_member(chat, person.user(), old, new)

    def forbid(self, chat_id: int, description: str | None) -> None:
        """Make every call addressed to ``chat_id`` answer 403 ``description`` (None lifts it)."""
        self._chats[chat_id].forbidden = description
        self._touch()

    def messages(self, chat_id: int, *, after: int = 0) -> list[JSONDict]:
        """Every message of a chat with a message_id above ``after``, oldest first: people's,
        the bot's and service messages, edits applied, deleted ones left out."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [copy.deepcopy(chat.messages[key]) for key in sorted(chat.messages) if key > after]

    def deleted_messages(self, chat_id: int) -> list[JSONDict]:
        """Messages deleted from a chat, in the order they were deleted."""
        chat = self._chats.get(chat_id)
        return copy.deepcopy(chat.deleted) if chat else []

    def last_message_id(self, chat_id: int) -> int:
        """The newest message_id allocated in a chat (0 if none)."""
        chat = self._chats.get(chat_id)
        return chat.next_message_id - 1 if chat else 0

    def reply_keyboard(self, chat_id: int) -> JSONDict | None:
        """The ReplyKeyboardMarkup the bot last sent to a chat (None if never sent/removed)."""
        chat = self._chats.get(chat_id)
        return copy.deepcopy(chat.reply_keyboard) if chat else None

    def commands(
        self,
        scope_type: str = "default",
        language_code: str = "",
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> list[JSONDict]:
        """The bot's commands for a scope (as set with ``setMyCommands``; no fallback)."""
        scope: JSONDict = {"type": scope_type}
        if chat_id is not None:
            scope["chat_id"] = chat_id
        if user_id is not None:
            scope["user_id"] = user_id
        return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    # -- low-level access (for the test adapter and the server) ------------------------------

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

    def incoming(
        self, sender: Mapping[str, Any], chat_id: int, fields: Mapping[str, Any]
    ) -> JSONDict:
        """Store a message from ``sender`` (any User dict) in a chat and return it; no update
        is queued (see :meth:`emit`). The people-side methods use this plus :meth:`emit`."""
        return self._new_message(self._chats[chat_id], dict(sender), dict(fields))

    def record_message(self, message: Mapping[str, Any], *, replace: bool = True) -> None:
        """Store a complete Message dict built elsewhere (its chat becomes known). With
        ``replace`` false an already known message_id is left alone."""
        chat_data = message["chat"]
        chat_id = int(chat_data["id"])
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_data.get("type") == "private":
                self.add_user(
                    chat_id,
                    str(chat_data.get("first_name") or f"User {chat_id}"),
                    last_name=chat_data.get("last_name"),
                    username=chat_data.get("username"),
                )
            else:
                self.add_group(
                    str(chat_data.get("title") or f"Chat {chat_id}"),
                    [],
                    chat_id=chat_id,
                    supergroup=chat_type_for_id(chat_id) == "supergroup",
                    announce=False,
                )
            chat = self._chats[chat_id]
        message_id = int(message["message_id"])
        if not replace and message_id in chat.messages:
            return
        chat.messages[message_id] = copy.deepcopy(dict(message))
        chat.next_message_id = max(chat.next_message_id, message_id + 1)
        self._touch()
        self._event({"type": "message", "chat_id": chat_id, "message": chat.messages[message_id]})

    # -- files --------------------------------------------------------------------------------

    def new_file_id(self, kind: str = "document") -> str:
        """A fresh file_id for a file of ``kind`` ("document" or "photo")."""
        prefix = {"document": "BQACAgUAAxkBAAI", "photo": "AgACAgUAAxkBAAI"}.get(kind, "CAACAgUAAI")
        while True:
            file_id = f"{prefix}{self._next('file'):06d}"
            if file_id not in self._files:
                return file_id

    def add_file(
        self,
        content: bytes,
        file_name: str | None = None,
        *,
        mime_type: str | None = None,
        kind: str = "document",
        file_id: str | None = None,
    ) -> JSONDict:
        """Store a file (one PhotoSize for a photo) and return its Document/PhotoSize dict;
        ``getFile`` and :meth:`download` find it."""
        stored = self._store_file(
            content,
            kind=kind,
            file_name=file_name,
            mime_type=mime_type or (_mime_for(file_name) if file_name else None),
            file_id=file_id,
        )
        return stored.photo_size() if kind == "photo" else stored.document()

    def file_info(self, file_id: str) -> JSONDict:
        """A stored file as a Document dict (KeyError if unknown)."""
        return self._files[file_id].document()

    def file_by_id(self, file_id: str) -> tuple[bytes, str | None, str | None]:
        """A stored file's bytes, file name and MIME type (KeyError if unknown); photos are
        ``image/…`` by their header."""
        stored = self._files[file_id]
        content = self.file_content(file_id)
        mime = stored.mime_type
        if stored.kind == "photo":
            mime = _image_mime(content)
        return content, stored.file_name, mime

    def file_content(self, file_id: str) -> bytes:
        """A stored file's bytes (KeyError if unknown)."""
        stored = self._files[file_id]
        if stored.sha256 in self._blobs:
            return self._blobs[stored.sha256]
        if self.files_dir is None:
            raise KeyError(file_id)
        return (self.files_dir / stored.sha256).read_bytes()

    # -- faults -------------------------------------------------------------------------------

    def inject(
        self,
        method: str,
        kind: FaultKind | int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (or wait) as Telegram might.

        ``kind``: "429" (Too Many Requests: retry after N, ``parameters.retry_after``; N is
        ``retry_after``, default 1), "500" (Internal Server Error), "403" (default "Forbidden:
        bot was blocked by the user"), "400" (``description``), "delay" (``delay`` seconds before
        answering normally; see :meth:`take_delay`), or any other HTTP status as an int (with
        ``description``; ``retry_after`` adds the parameter).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if kind == "429":
            seconds = 1 if retry_after is None else retry_after
            fault = _Fault(
                "429", 429, description or f"Too Many Requests: retry after {seconds}", seconds
            )
        elif kind == "500":
            fault = _Fault("500", 500, description or "Internal Server Error")
        elif kind == "403":
            fault = _Fault("403", 403, description or BLOCKED_BY_USER)
        elif kind == "400":
            fault = _Fault("400", 400, description or "Bad Request: injected error")
        elif kind == "delay":
            fault = _Fault("delay", delay=float(delay))
        elif isinstance(kind, int):
            if description is None:
                raise ValueError("a fault with a custom status needs a description")
            fault = _Fault(str(kind), kind, description, retry_after)
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
        queue = self._faults.setdefault(method.strip().lower(), [])
        queue.extend(copy.copy(fault) for _ in range(times))

    def faults(self) -> list[JSONDict]:
        """The pending faults, per method in the order they will hit."""
        return [fault.record(method) for method, queue in self._faults.items() for fault in queue]

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    # -- live events --------------------------------------------------------------------------

    def subscribe(self, maxsize: int = 1000) -> asyncio.Queue[JSONDict]:
        """A queue of live events: {"type": "message"|"edit"|"delete", "chat_id", "message"},
        {"type": "answer", "query_id", "text", "show_alert", "chat_id", "user_id"},
        {"type": "action", "chat_id", "action"}, {"type": "chat", "chat"} and
        {"type": "person", "person"}. A full queue drops its oldest event."""
        queue: asyncio.Queue[JSONDict] = asyncio.Queue(maxsize)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JSONDict]) -> None:
        """Stop delivering events to a queue from :meth:`subscribe`."""
        self._subscribers.discard(queue)

    # -- persistence --------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """Whether anything changed since the last :meth:`save`."""
        return self._dirty

    def mark_dirty(self) -> None:
        """Note a change made behind the world's back (the next save writes)."""
        self._dirty = True

    def state(self) -> JSONDict:
        """The whole persistent state as JSON-ready data (what :meth:`save` writes; a copy)."""
        return copy.deepcopy(self._state())

    def _state(self) -> JSONDict:
        return {
            "version": 1,
            "bot": {"id": self.bot_id, "username": self.bot_username},
            "counters": dict(self._counters),
            "people": [person.record() for person in self._people.values()],
            "chats": [chat.state() for chat in self._chats.values()],
            "files": [asdict(stored) for stored in self._files.values()],
            "photo_sets": self._photo_sets,
            "queries": [asdict(query) for query in self._queries.values()],
            "commands": self._commands,
            "updates": self._updates,
            "allowed_updates": self._allowed_updates,
            "webhook": self._webhook,
        }

    def save(self) -> None:
        """Write the state file atomically (temporary file + rename). File bytes are already
        in ``files_dir``; in-memory bytes are written there now. Needs ``state_path``."""
        if self.state_path is None:
            raise ValueError("this world has no state_path")
        data = json.dumps(self._state(), ensure_ascii=False, separators=(",", ":"))
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.state_path, data.encode("utf-8"))
        self._dirty = False

    def save_if_dirty(self) -> bool:
        """Save when something changed; return whether it saved."""
        if self._dirty and self.state_path is not None:
            self.save()
            return True
        return False

    async def autosave(self, interval: float = 1.0) -> None:
        """Save every ``interval`` seconds when dirty, until cancelled (then save once more)."""
        try:
            while True:
                await asyncio.sleep(interval)
                self.save_if_dirty()
        finally:
            self.save_if_dirty()

    @classmethod
    def load(
        cls,
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
    ) -> World:
        """A world restored from ``state_path`` (a new one when there is no such file)."""
        world = cls(
            token=token,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            state_path=state_path,
            files_dir=files_dir,
            clock=clock,
            bot_id=bot_id,
            privacy_mode=privacy_mode,
            check_html=check_html,
            max_calls=max_calls,
        )
        if state_path is None or not Path(state_path).exists():
            return world
        data = json.loads(Path(state_path).read_text(encoding="utf-8"))
        world._restore(data)
        return world

    def _restore(self, data: Mapping[str, Any]) -> None:
        self._counters.update({key: int(value) for key, value in data["counters"].items()})
        self._people = {int(p["id"]): _Person(**p) for p in data["people"]}
        self._chats = {int(c["id"]): _Chat.from_state(c) for c in data["chats"]}
        self._files = {f["file_id"]: _File(**f) for f in data["files"]}
        self._paths = {stored.file_path: stored.file_id for stored in self._files.values()}
        self._photo_sets = {key: list(value) for key, value in data["photo_sets"].items()}
        self._queries = {q["id"]: _Query(**q) for q in data["queries"]}
        self._commands = {key: list(value) for key, value in data["commands"].items()}
        self._updates = list(data["updates"])
        self._allowed_updates = data["allowed_updates"]
        self._webhook = data["webhook"]
        self._dirty = False

    # ========================================================================================
    # Internals: bookkeeping
    # ========================================================================================

    def _check_token(self, token: str) -> None:
        if self._token is not None and token != self._token:
            raise ApiError(401, "Unauthorized")

    def _next(self, counter: str) -> int:
        value = self._counters[counter]
        self._counters[counter] = value + 1
        self._dirty = True
        return value

    def _touch(self) -> None:
        self._dirty = True

    def _record_call(self, record: ApiCall) -> None:
        self.calls.append(record)
        if len(self.calls) > self.max_calls:
            del self.calls[: len(self.calls) - self.max_calls * 9 // 10]

    def _apply_fault(self, name: str) -> None:
        claimed = _CLAIMED_FAULT.get()
        if claimed is not None:
            _CLAIMED_FAULT.set(None)
            if claimed == (id(self), name):
                return  # this request already took its fault (a delay) in take_delay
        queue = self._faults.get(name)
        if not queue:
            return
        fault = queue.pop(0)
        if fault.kind != "delay":  # a delay nobody awaited is simply used up
            raise fault.error()

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

    def _set_allowed_updates(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            value = _json_param({"v": value}, "v")
        if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
            raise ApiError(400, "Bad Request: can't parse allowed updates JSON array")
        self._allowed_updates = list(value) or None
        self._touch()

    def _free_group_id(self, kind: str) -> int:
        while True:
            if kind == "supergroup":
                chat_id = SUPERGROUP_ID_LIMIT - 2_000_000_000 - self._next("supergroup")
            else:
                chat_id = -4_000_000_000 - self._next("group")
            if chat_id not in self._chats:
                return chat_id

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

    def _speaker(
        self, user_id: int, chat_id: int, *, pressing: bool = False
    ) -> tuple[_Chat, _Person]:
        person = self._person(user_id)
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ValueError(f"no chat with id {chat_id}")
        if chat.type == "private":
            if chat_id != user_id:
                raise ValueError(f"user {user_id} cannot write in {chat_id}'s private chat")
            if person.blocked and not pressing:
                self.block_bot(user_id, False)  # writing to a blocked bot unblocks it
        else:
            if chat.migrated_to is not None:
                raise ValueError(f"group {chat_id} was upgraded; use {chat.migrated_to}")
            if user_id not in chat.members:
                raise ValueError(f"user {user_id} is not a member of {chat_id}")
        return chat, person

    def _new_message(self, chat: _Chat, sender: Mapping[str, Any], fields: JSONDict) -> JSONDict:
        message: JSONDict = {
            "message_id": self.new_message_id(chat.id),
            "from": copy.deepcopy(dict(sender)),
            "chat": self._chat_dict(chat),
            "date": self.now(),
            **fields,
        }
        chat.messages[message["message_id"]] = message
        self._touch()
        self._event({"type": "message", "chat_id": chat.id, "message": message})
        return copy.deepcopy(message)

    def _bot_receives(self, chat: _Chat, message: Mapping[str, Any]) -> bool:
        if chat.type == "private":
            return True
        if chat.bot_status in ("left", "kicked"):
            return False
        if not self.privacy_mode:
            return True
        if not ("text" in message or "caption" in message):
            return not any(key in message for key in ("photo", "document", "contact"))
        text = message_text(message)
        for match in _COMMAND_RE.finditer(text):
            target = match.group().partition("@")[2]
            if not target or target.lower() == self.bot_username.lower():
                return True
        reply = message.get("reply_to_message")
        if isinstance(reply, dict) and self._is_bots(reply):
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

    # ========================================================================================
    # Internals: Bot API helpers
    # ========================================================================================

    def _target(self, params: Mapping[str, Any], key: str = "chat_id") -> _Chat:
        value = params.get(key)
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: {key} is empty")
        chat: _Chat | None = None
        if isinstance(value, bool):
            raise ApiError(400, CHAT_NOT_FOUND)
        if isinstance(value, int) or re.fullmatch(r"\s*-?\d+\s*", str(value)):
            chat = self._chats.get(int(value))
        else:
            username = str(value).strip().lstrip("@").lower()
            for candidate in self._chats.values():
                if candidate.type != "private" and (candidate.username or "").lower() == username:
                    chat = candidate
                    break
        if chat is None:
            raise ApiError(400, CHAT_NOT_FOUND)
        if chat.migrated_to is not None:
            raise ApiError(400, GROUP_UPGRADED, {"migrate_to_chat_id": chat.migrated_to})
        forbidden = self._forbidden(chat)
        if forbidden:
            raise ApiError(403, forbidden)
        return chat

    def _forbidden(self, chat: _Chat) -> str | None:
        if chat.forbidden:
            return chat.forbidden
        if chat.type == "private":
            person = self._people.get(chat.id)
            return BLOCKED_BY_USER if person is not None and person.blocked else None
        if chat.bot_status == "kicked":
            return _KICKED[chat.type]
        if chat.bot_status == "left":
            return _NOT_MEMBER[chat.type]
        return None

    def _formatted(
        self, text: str, parse_mode: Any, entities: Any, *, entities_key: str
    ) -> tuple[str, JSONDict]:
        """The stored text and its entities field for a text or caption as sent."""
        mode = str(parse_mode).strip().lower() if parse_mode else ""
        parsed: list[JSONDict] = []
        if mode == "html" and self.check_html:
            text, parsed = parse_html(text)
        elif mode not in ("", "html", "markdown", "markdownv2"):
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        elif not mode and isinstance(entities, list):
            parsed = [dict(entity) for entity in entities if isinstance(entity, dict)]
        for entity in parsed:
            url = str(entity.get("url", ""))
            if entity.get("type") == "text_link" and url.startswith("tg://user?id="):
                user_id = url.removeprefix("tg://user?id=")
                person = self._people.get(int(user_id)) if user_id.isdigit() else None
                if person is not None:
                    entity.pop("url")
                    entity.update(type="text_mention", user=person.user())
        return text, ({entities_key: parsed} if parsed else {})

    def _checked_text(self, params: Mapping[str, Any]) -> tuple[str, JSONDict]:
        text = params.get("text")
        if text is None or not str(text).strip():
            raise ApiError(400, "Bad Request: message text is empty")
        visible, extra = self._formatted(
            str(text), params.get("parse_mode"), params.get("entities"), entities_key="entities"
        )
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(visible) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return visible, extra

    def _checked_caption(self, params: Mapping[str, Any]) -> tuple[str | None, JSONDict]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None, {}
        visible, extra = self._formatted(
            str(caption),
            params.get("parse_mode"),
            params.get("caption_entities"),
            entities_key="caption_entities",
        )
        if len(visible) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        return visible or None, extra if visible else {}

    @staticmethod
    def _checked_markup(value: Any) -> JSONDict | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if not isinstance(value, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        markup = copy.deepcopy(value)
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise ApiError(400, "Bad Request: can't parse inline keyboard markup JSON object")
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise ApiError(
                            400, "Bad Request: can't parse inline keyboard button: Text expected"
                        )
                    if not _INLINE_BUTTON_ACTIONS & set(button):
                        raise ApiError(
                            400,
                            "Bad Request: can't parse inline keyboard button: Text buttons are "
                            "unallowed in the inline keyboard",
                        )
                    data = button.get("callback_data")
                    if data is not None and not (
                        1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise ApiError(400, "Bad Request: can't parse keyboard markup JSON object")
            markup["keyboard"] = [
                [{"text": button} if isinstance(button, str) else button for button in row]
                for row in rows
            ]
        return markup

    @staticmethod
    def _inline_only(markup: JSONDict | None) -> JSONDict | None:
        if markup and "inline_keyboard" in markup:
            return {"inline_keyboard": copy.deepcopy(markup["inline_keyboard"])}
        return None

    @staticmethod
    def _reply_to(chat: _Chat, params: Mapping[str, Any]) -> JSONDict | None:
        reply_parameters = _json_param(params, "reply_parameters")
        if isinstance(reply_parameters, dict):
            message_id = _int_param(reply_parameters, "message_id")
            allow = _bool_param(reply_parameters, "allow_sending_without_reply")
        elif params.get("reply_to_message_id") not in (None, ""):
            message_id = _int_param(params, "reply_to_message_id")
            allow = _bool_param(params, "allow_sending_without_reply")
        else:
            return None
        target = chat.messages.get(message_id) if message_id is not None else None
        if target is None:
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        reply = copy.deepcopy(target)
        reply.pop("reply_to_message", None)
        return reply

    def _store_bot_message(
        self,
        chat: _Chat,
        content: JSONDict,
        markup: JSONDict | None,
        reply: JSONDict | None,
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": self.new_message_id(chat.id),
            "from": self.bot_user(),
            "chat": self._chat_dict(chat),
            "date": self.now(),
            **content,
        }
        if reply is not None:
            message["reply_to_message"] = reply
        inline = self._inline_only(markup)
        if inline is not None:
            message["reply_markup"] = inline
        elif markup and "keyboard" in markup:
            chat.reply_keyboard = copy.deepcopy(markup)
        elif markup and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        chat.messages[message["message_id"]] = message
        self._touch()
        self._event({"type": "message", "chat_id": chat.id, "message": message})
        return copy.deepcopy(message)

    def _bot_message(self, chat: _Chat, params: Mapping[str, Any]) -> JSONDict:
        message_id = _int_param(params, "message_id")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not self._is_bots(message):
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _apply_edit(
        self, chat: _Chat, message: JSONDict, changes: JSONDict, markup: JSONDict | None
    ) -> JSONDict:
        old_state = {key: message.get(key) for key in changes}
        if changes == old_state and message.get("reply_markup") == markup:
            raise ApiError(400, MESSAGE_NOT_MODIFIED)
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
        self._touch()
        self._event({"type": "edit", "chat_id": chat.id, "message": message})
        return copy.deepcopy(message)

    def _store_file(
        self,
        content: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_id: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> _File:
        digest = hashlib.sha256(content).hexdigest()
        if self.files_dir is not None:
            self._write_blob(digest, content)
        else:
            self._blobs[digest] = bytes(content)
        file_id = file_id or self.new_file_id(kind)
        if kind == "photo":
            directory, suffix = "photos", ".jpg"
        else:
            directory = "documents"
            suffix = Path(file_name).suffix.lower() if file_name else ""
            if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
                suffix = ""
        file_path = f"{directory}/file_{self._next('path')}{suffix}"
        stored = _File(
            file_id=file_id,
            unique_id=file_unique_id(file_id),
            sha256=digest,
            size=len(content),
            kind=kind,
            file_path=file_path,
            file_name=file_name if kind != "photo" else None,
            mime_type=mime_type if kind != "photo" else None,
            width=width,
            height=height,
        )
        if kind == "photo" and not (width and height):
            stored.width, stored.height = image_size(content) or FALLBACK_PHOTO_SIZE
        previous = self._files.get(file_id)
        if previous is not None:
            self._paths.pop(previous.file_path, None)
        self._files[file_id] = stored
        self._paths[file_path] = file_id
        self._touch()
        return stored

    def _write_blob(self, digest: str, content: bytes) -> None:
        assert self.files_dir is not None
        path = self.files_dir / digest
        if not path.exists():
            self.files_dir.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, content)

    def _store_photo(self, content: bytes, *, strict: bool) -> list[JSONDict]:
        """Store a photo as Telegram does (several PhotoSizes of one image) and return them.
        With ``strict`` (bot uploads) unreadable or oddly shaped images fail like Telegram."""
        if len(content) > MAX_PHOTO_SIZE:
            raise ApiError(
                400,
                f"Bad Request: file of size {len(content)} bytes is too big for a photo; the "
                f"maximum size is {MAX_PHOTO_SIZE} bytes",
            )
        size = image_size(content)
        if size is None:
            if strict:
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            size = FALLBACK_PHOTO_SIZE
        width, height = size
        if strict and (width + height > 10_000 or max(width, height) > 20 * min(width, height)):
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        stored = [
            self._store_file(content, kind="photo", width=w, height=h)
            for w, h in _photo_dimensions(width, height)
        ]
        ids = [item.file_id for item in stored]
        for item in stored:
            item.photo_set = ids[-1]
        self._photo_sets[ids[-1]] = ids
        return [item.photo_size() for item in stored]

    def _photo_sizes_of(self, file_id: str) -> list[JSONDict]:
        stored = self._files[file_id]
        ids = self._photo_sets.get(stored.photo_set or "", [file_id])
        return [self._files[item].photo_size() for item in ids if item in self._files]

    def _input_file(
        self, value: Any, uploads: Mapping[str, Upload], field_name: str, kind: str
    ) -> JSONDict:
        """Resolve a file parameter (upload, ``attach://`` part, file_id or URL) to the
        message's ``document`` dict or ``photo`` list (as {"document": …} / {"photo": […]})."""
        upload: Upload | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, "Bad Request: can't parse InputMedia: media not found")
        elif value is None or value == "":
            upload = uploads.get(field_name)
            if upload is None:
                raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
        if upload is not None:
            if not upload.content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(upload.content) > MAX_UPLOAD_SIZE:
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo":
                return {"photo": self._store_photo(upload.content, strict=True)}
            name = upload.filename or "document"
            stored = self._store_file(
                upload.content, kind="document", file_name=name, mime_type=_mime_for(name)
            )
            return {"document": stored.document()}
        text = str(value).strip()
        known = self._files.get(text)
        if known is not None:
            if known.kind != kind:
                raise ApiError(
                    400,
                    f"Bad Request: can't use file of type {known.kind.capitalize()} as "
                    f"{kind.capitalize()}",
                )
            if kind == "photo":
                return {"photo": self._photo_sizes_of(text)}
            return {"document": known.document()}
        if text.startswith(("http://", "https://")):
            # The sandbox is offline: Telegram's servers could not fetch it either.
            raise ApiError(400, "Bad Request: failed to get HTTP URL content")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

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
    # Internals: Bot API methods
    # ========================================================================================

    def _poll(
        self, params: Mapping[str, Any], uploads: Mapping[str, Upload] | None = None
    ) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        if "allowed_updates" in params:
            self._set_allowed_updates(params.get("allowed_updates"))
        offset = _int_param(params, "offset") or 0
        limit = _int_param(params, "limit")
        limit = 100 if limit is None else min(max(limit, 1), 100)
        before = len(self._updates)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if len(self._updates) != before:
            self._touch()
        return copy.deepcopy(self._updates[:limit])

    def _set_webhook(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        url = str(params.get("url") or "").strip()
        if not url:
            return self._delete_webhook(params, uploads)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret not in (None, "") and not _SECRET_TOKEN_RE.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = _int_param(params, "max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise ApiError(
                400, "Bad Request: bad webhook: max_connections must be between 1 and 100"
            )
        if "allowed_updates" in params:
            self._set_allowed_updates(params.get("allowed_updates"))
        if _bool_param(params, "drop_pending_updates"):
            self._updates.clear()
        self._webhook = {
            "url": url,
            "secret_token": str(secret) if secret else None,
            "max_connections": max_connections,
            "allowed_updates": self._allowed_updates,
        }
        self._webhook_error = None
        self._touch()
        self._wake()
        return True

    def _delete_webhook(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        if _bool_param(params, "drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        self._webhook_error = None
        self._touch()
        return True

    def _set_my_commands(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        commands = _json_param(params, "commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        cleaned: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            name = str(command.get("command", "")).strip().lstrip("/")
            description = str(command.get("description", "")).strip()
            if not _BOT_COMMAND_NAME_RE.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
            cleaned.append({"command": name, "description": description})
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        self._touch()
        return True

    def _get_my_commands(self, params: JSONDict, uploads: Mapping[str, Upload]) -> list[JSONDict]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        if self._commands.pop(key, None) is not None:
            self._touch()
        return True

    def _send_message(self, params: JSONDict, uploads: Mapping[str, Upload]) -> JSONDict:
        chat = self._target(params)
        text, extra = self._checked_text(params)
        markup = self._checked_markup(params.get("reply_markup"))
        reply = self._reply_to(chat, params)
        return self._store_bot_message(chat, {"text": text, **extra}, markup, reply)

    def _send_photo(self, params: JSONDict, uploads: Mapping[str, Upload]) -> JSONDict:
        return self._send_media(params, uploads, "photo")

    def _send_document(self, params: JSONDict, uploads: Mapping[str, Upload]) -> JSONDict:
        return self._send_media(params, uploads, "document")

    def _send_media(self, params: JSONDict, uploads: Mapping[str, Upload], kind: str) -> JSONDict:
        chat = self._target(params)
        caption, extra = self._checked_caption(params)
        markup = self._checked_markup(params.get("reply_markup"))
        reply = self._reply_to(chat, params)
        content = self._input_file(params.get(kind), uploads, kind, kind)
        if caption is not None:
            content.update(caption=caption, **extra)
        return self._store_bot_message(chat, content, markup, reply)

    def _send_media_group(self, params: JSONDict, uploads: Mapping[str, Upload]) -> list[JSONDict]:
        chat = self._target(params)
        media = _json_param(params, "media")
        if media is None or media == []:
            raise ApiError(400, "Bad Request: there are no messages to send")
        if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
            raise ApiError(400, "Bad Request: can't parse media JSON object")
        if len(media) > MAX_MEDIA_GROUP:
            raise ApiError(400, "Bad Request: too many messages to send as an album")
        kinds = [str(item.get("type", "")) for item in media]
        for kind in kinds:
            if kind not in ("photo", "document"):
                raise ApiError(
                    400, f'Bad Request: can\'t parse InputMedia: type "{kind}" is unsupported'
                )
        if "document" in kinds and "photo" in kinds:
            raise ApiError(400, "Bad Request: document can't be mixed with other media types")
        reply = self._reply_to(chat, params)
        captions = [self._checked_caption(item) for item in media]
        contents = [
            self._input_file(item.get("media"), uploads, kind, kind)
            for item, kind in zip(media, kinds, strict=True)
        ]
        group_id = (
            str(13_000_000_000_000_000 + self._next("media_group")) if len(media) > 1 else None
        )
        sent = []
        for content, (caption, extra) in zip(contents, captions, strict=True):
            if group_id is not None:
                content["media_group_id"] = group_id
            if caption is not None:
                content.update(caption=caption, **extra)
            sent.append(self._store_bot_message(chat, content, None, reply))
        return sent

    def _edit_message_text(
        self, params: JSONDict, uploads: Mapping[str, Upload]
    ) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        chat = self._target(params)
        message = self._bot_message(chat, params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, extra = self._checked_text(params)
        markup = self._inline_only(self._checked_markup(params.get("reply_markup")))
        # Like Telegram: editing the text without reply_markup removes the inline keyboard.
        changes = {"text": text, "entities": extra.get("entities")}
        return self._apply_edit(chat, message, changes, markup)

    def _edit_message_caption(
        self, params: JSONDict, uploads: Mapping[str, Upload]
    ) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        chat = self._target(params)
        message = self._bot_message(chat, params)
        if "text" in message or not ("photo" in message or "document" in message):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, extra = self._checked_caption(params)
        markup = self._inline_only(self._checked_markup(params.get("reply_markup")))
        changes = {"caption": caption, "caption_entities": extra.get("caption_entities")}
        return self._apply_edit(chat, message, changes, markup)

    def _edit_message_reply_markup(
        self, params: JSONDict, uploads: Mapping[str, Upload]
    ) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        chat = self._target(params)
        message = self._bot_message(chat, params)
        markup = self._inline_only(self._checked_markup(params.get("reply_markup")))
        return self._apply_edit(chat, message, {}, markup)

    def _answer_callback_query(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        query = self._queries.get(str(params.get("callback_query_id", "")))
        if query is None or query.answered:
            raise ApiError(400, CALLBACK_QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query.answered = True
        query.answer = {
            "text": str(text) if text is not None else None,
            "show_alert": _bool_param(params, "show_alert"),
            "url": params.get("url"),
            "cache_time": _int_param(params, "cache_time") or 0,
        }
        self._touch()
        self._event(
            {
                "type": "answer",
                "query_id": query.id,
                "text": query.answer["text"],
                "show_alert": query.answer["show_alert"],
                "chat_id": query.chat_id,
                "user_id": query.user_id,
            }
        )
        return True

    def _delete_one(self, chat: _Chat, message_id: int) -> bool:
        message = chat.messages.pop(message_id, None)
        if message is None:
            return False
        chat.deleted.append(message)
        self._touch()
        self._event({"type": "delete", "chat_id": chat.id, "message": message})
        return True

    def _delete_message(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        chat = self._target(params)
        message_id = _int_param(params, "message_id")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        if not self._delete_one(chat, message_id):
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _delete_messages(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        chat = self._target(params)
        ids = _json_param(params, "message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids must contain 1-100 message identifiers")
        for message_id in ids:
            self._delete_one(chat, _int_param({"id": message_id}, "id") or 0)
        return True

    def _get_file(self, params: JSONDict, uploads: Mapping[str, Upload]) -> JSONDict:
        stored = self._files.get(str(params.get("file_id", "")).strip())
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.size > MAX_DOWNLOAD_SIZE:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.telegram_file()

    def _send_chat_action(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        chat = self._target(params)
        action = str(params.get("action", ""))
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self._event({"type": "action", "chat_id": chat.id, "action": action})
        return True

    def _get_chat(self, params: JSONDict, uploads: Mapping[str, Upload]) -> JSONDict:
        chat = self._target(params)
        info = self._chat_dict(chat)
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return info

    def _member_status(self, chat: _Chat, user_id: int) -> str:
        if user_id == self.bot_id:
            return chat.bot_status if chat.type != "private" else "member"
        if chat.type == "private":
            return "member" if user_id == chat.id else "left"
        if user_id == chat.creator and user_id in chat.members:
            return "creator"
        return "member" if user_id in chat.members else "left"

    def _get_chat_member(self, params: JSONDict, uploads: Mapping[str, Upload]) -> JSONDict:
        chat = self._target(params)
        user_id = _int_param(params, "user_id")
        if user_id is None:
            raise ApiError(400, "Bad Request: user_id is empty")
        if user_id == self.bot_id:
            user = self.bot_user()
        elif user_id in self._people:
            user = self._people[user_id].user()
        else:
            raise ApiError(400, "Bad Request: user not found")
        return chat_member(user, self._member_status(chat, user_id))

    def _get_chat_administrators(
        self, params: JSONDict, uploads: Mapping[str, Upload]
    ) -> list[JSONDict]:
        chat = self._target(params)
        if chat.type == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        admins = []
        if chat.creator is not None and chat.creator in chat.members:
            admins.append(chat_member(self._people[chat.creator].user(), "creator"))
        if chat.bot_status == "administrator":
            admins.append(chat_member(self.bot_user(), "administrator"))
        return admins

    def _get_chat_member_count(self, params: JSONDict, uploads: Mapping[str, Upload]) -> int:
        chat = self._target(params)
        if chat.type == "private":
            return 2
        return len(chat.members) + (1 if chat.bot_status in ("member", "administrator") else 0)

    def _leave_chat(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        chat = self._target(params)
        if chat.type == "private":
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        old_status = chat.bot_status
        chat.bot_status = "left"
        self._touch()
        self._emit_my_chat_member(chat, self.bot_user(), old_status, "left")
        self._event({"type": "chat", "chat": self._chat_record(chat)})
        return True

    def _pin_chat_message(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        chat = self._target(params)
        message_id = _int_param(params, "message_id")
        if message_id is None or message_id not in chat.messages:
            raise ApiError(400, "Bad Request: message to pin not found")
        chat.pinned = message_id
        self._touch()
        return True

    def _unpin_chat_message(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        chat = self._target(params)
        chat.pinned = None
        self._touch()
        return True


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
