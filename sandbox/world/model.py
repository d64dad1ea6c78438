"""The world's shared vocabulary: type aliases, Telegram's texts and limits (error
descriptions, sizes, the parameters and names the Bot API knows) and the public records
(:class:`ApiError`, :class:`Upload`, :class:`ApiCall`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, TypeAlias

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
_MENTION_RE: Final = re.compile(r"(?<![A-Za-z0-9_])@([A-Za-z0-9_]{3,32})")
_BOT_COMMAND_NAME_RE: Final = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TOKEN_RE: Final = re.compile(r"(\d+):[A-Za-z0-9_-]+")
_PLACEHOLDER_OWNER: Final = {"id": 1, "is_bot": False, "first_name": "群主"}


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
