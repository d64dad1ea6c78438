"""Pure functions of the world (no state): chat types and ids, User/ChatMember dicts, bot
command entities, Telegram-flavoured HTML, image sizes, parameter decoding and MIME types.
The public ones are also used by the test adapter.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import mimetypes
import re
import struct
import unicodedata
from collections.abc import Mapping
from typing import Any

from .model import (
    _COMMAND_RE,
    _HTML_ENTITY_RE,
    _HTML_TAGS,
    _JSON_VALUED,
    _SIMPLE_ENTITIES,
    _TOKEN_RE,
    SUPERGROUP_ID_LIMIT,
    ApiError,
    JSONDict,
)

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


#: What people put inside a phone number for readability (after NFKC).
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/\u2010-\u2015\u2212]+")


def typed_phone(raw: str | None) -> str | None:
    """A phone number typed for a new person, as Telegram keeps it: with its country code.

    Telegram's apps ask for the country first; the sandbox's people are in China, so a
    number typed without one is Chinese: ``138 0013 8000`` is ``+8613800138000`` (not +1…).
    ``+…`` and ``00…`` keep the code typed; ``86…`` of 13 digits has it already; a trunk
    ``0`` goes. What is not a number at all is kept as typed (the bot refuses it)."""
    if raw is None or not raw.strip():
        return None
    text = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if text.startswith("+") and text[1:].isascii() and text[1:].isdigit():
        return text
    if text.startswith("00") and text.isascii() and text.isdigit():
        return "+" + text[2:]
    if not (text.isascii() and text.isdigit()):
        return raw.strip()
    if len(text) == 13 and text.startswith("86"):
        return "+" + text
    return "+86" + text.removeprefix("0")


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
