"""The world's internal records: a person, a chat (with its messages), a stored file, a
callback query and an injected fault. They are what :meth:`World.save` persists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .helpers import make_user
from .model import ApiError, JSONDict


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
    # ForceReply: whose app shows the reply interface, by user id: {"message_id",
    # "input_field_placeholder"?}. Telegram keeps this on the people's side: the Bot API's
    # Message never carries a ForceReply markup.
    force_replies: dict[int, JSONDict] = field(default_factory=dict)

    def state(self) -> JSONDict:
        data = asdict(self)
        data["messages"] = [self.messages[key] for key in sorted(self.messages)]
        data["force_replies"] = [
            {"user_id": user_id, **self.force_replies[user_id]}
            for user_id in sorted(self.force_replies)
        ]
        return data

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> _Chat:
        values = dict(data)
        messages = values.pop("messages", [])
        asked = values.pop("force_replies", [])
        chat = cls(**values)
        chat.messages = {int(message["message_id"]): message for message in messages}
        for entry in asked:
            record = dict(entry)
            chat.force_replies[int(record.pop("user_id"))] = record
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
    chat_id: int | None = None  # only calls to this chat take it (None: any call)
    order: int = 0  # when it was injected, among all the world's faults

    def error(self) -> ApiError:
        parameters = {"retry_after": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.code, self.description, parameters)

    def record(self, method: str) -> JSONDict:
        data = asdict(self)
        del data["order"]
        return {"method": method, **data}
