"""The people's side: what humans do in the world (become known, make and join groups, send
texts, contacts, photos and documents, press buttons, block the bot) and what they see (their
chats, messages, the reply keyboard, the bot's commands).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from .files import Files
from .helpers import (
    _mime_for,
    bot_command_entities,
    chat_type_for_id,
    inline_buttons,
)
from .model import (
    MAX_CAPTION_LENGTH,
    MAX_MEDIA_GROUP,
    MAX_PHOTO_SIZE,
    MAX_TEXT_LENGTH,
    SUPERGROUP_ID_LIMIT,
    JSONDict,
)
from .records import _Chat, _Person, _Query


class People(Files):
    """What the people of the world do and see."""

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
        if user_id in chat.force_replies:
            self._set_force_reply(chat, user_id, None)
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
        "last_message", "force_reply"} (``force_reply``: see :meth:`force_reply`)."""
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
                    "force_reply": copy.deepcopy(chat.force_replies.get(user_id)),
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
        return self._says(chat, person, fields)

    def _says(self, chat: _Chat, person: _Person, fields: JSONDict) -> JSONDict:
        """A person's message: stored, delivered to the bot, and the end of any ForceReply
        their app showed in that chat (the reply interface closes once they send)."""
        update = self._deliver(chat, self._new_message(chat, person.user(), fields))
        self._set_force_reply(chat, person.id, None)
        return update

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
        return self._says(chat, person, {"contact": contact})

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
        return self._says(chat, person, fields)

    def send_album(
        self,
        user_id: int,
        chat_id: int,
        contents: Sequence[bytes],
        *,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> list[JSONDict]:
        """A person sends 2 to 10 photos as one album, as Telegram's apps do (one
        ``messages.sendMultiMedia``): one message each, sharing a new media_group_id, with
        consecutive message ids and their updates queued together, the caption on the first
        (``reply_to``: each answers that message); returns the Updates. Nothing is sent when
        any photo or the caption is refused, and nobody (the bot included) can come between
        the album's photos, however long the uploads took."""
        if not 2 <= len(contents) <= MAX_MEDIA_GROUP:
            raise ValueError(f"an album has 2 to {MAX_MEDIA_GROUP} photos, not {len(contents)}")
        for index, content in enumerate(contents, 1):
            if not content:
                raise ValueError(f"photo {index} of the album is empty")
            if len(content) > MAX_PHOTO_SIZE:
                raise ValueError(f"photo {index} of the album is over {MAX_PHOTO_SIZE} bytes")
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise ValueError(f"a caption has at most {MAX_CAPTION_LENGTH} characters")
        chat, person = self._speaker(user_id, chat_id)
        quoted: JSONDict = {}
        self._reply_fields(chat, quoted, reply_to)
        group_id = str(13_000_000_000_000_000 + self._next("media_group"))
        updates = []
        for index, content in enumerate(contents):
            fields: JSONDict = {"photo": self._store_photo(content, strict=False)}
            fields["media_group_id"] = group_id
            if index == 0 and caption:
                fields["caption"] = caption
            fields.update(copy.deepcopy(quoted))
            updates.append(self._says(chat, person, fields))
        return updates

    def send_document(
        self,
        user_id: int,
        chat_id: int,
        content: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        """A person sends a file (MIME type guessed from the name unless given; ``reply_to``:
        as a reply to that message); returns the Update. The bot can ``getFile`` and download
        it. (Empty files are let through, though Telegram's apps refuse them, so bots'
        handling of them can be tested.)"""
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
        self._reply_fields(chat, fields, reply_to)
        return self._says(chat, person, fields)

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
        self._keep_query(
            _Query(
                id=query_id,
                user_id=int(sender["id"]),
                chat_id=chat_id,
                message_id=int(message["message_id"]),
                data=data,
            )
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

    def force_reply(self, chat_id: int, user_id: int) -> JSONDict | None:
        """The ForceReply a person's app shows in a chat: {"message_id",
        "input_field_placeholder"?} of the bot's message that asked for a reply, until the
        person sends their next message there or dismisses it; None when there is none.
        (The Bot API's Message never carries a ForceReply markup; Telegram's apps keep it.)"""
        chat = self._chats.get(chat_id)
        asked = chat.force_replies.get(user_id) if chat else None
        return copy.deepcopy(asked)

    def dismiss_force_reply(self, user_id: int, chat_id: int) -> bool:
        """A person closes the reply interface a ForceReply opened (✕ in Telegram's apps);
        returns whether there was one."""
        self._person(user_id)
        chat = self._chats.get(chat_id)
        if chat is None or user_id not in chat.force_replies:
            return False
        self._set_force_reply(chat, user_id, None)
        return True

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

    def menu(self, user_id: int, chat_id: int | None = None) -> list[JSONDict]:
        """The bot's commands as a person's app shows them in a chat (default: their private
        chat with the bot): the first list set, in the order the Bot API documents
        (BotCommandScope, "Determining list of commands"), each scope first for the person's
        language (their ``language_code``'s primary subtag: ``zh-hans`` → ``zh``), then for
        any. In a group the administrators' scopes count for its administrators only (here
        its creator)."""
        person = self._person(user_id)
        chat_id = user_id if chat_id is None else chat_id
        chat = self._chats.get(chat_id)
        if chat is None or (chat.type == "private" and chat_id != user_id):
            raise ValueError(f"{user_id} has no chat {chat_id} with the bot")
        if chat.type == "private":
            scopes: list[JSONDict] = [
                {"type": "chat", "chat_id": chat_id},
                {"type": "all_private_chats"},
                {"type": "default"},
            ]
        else:
            admin = user_id == chat.creator and user_id in chat.members
            scopes = [
                {"type": "chat_member", "chat_id": chat_id, "user_id": user_id},
                *([{"type": "chat_administrators", "chat_id": chat_id}] if admin else []),
                {"type": "chat", "chat_id": chat_id},
                *([{"type": "all_chat_administrators"}] if admin else []),
                {"type": "all_group_chats"},
                {"type": "default"},
            ]
        language = (person.language_code or "").split("-")[0].lower()
        languages = [language, ""] if language else [""]
        for scope in scopes:
            for code in languages:
                commands = self._commands.get(self._commands_key(scope, code))
                if commands:
                    return copy.deepcopy(commands)
        return []

    # -- low-level access (for the test adapter and the server) ------------------------------

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
        kept = copy.deepcopy(dict(message))
        self._keep(chat, kept)
        chat.next_message_id = max(chat.next_message_id, message_id + 1)
        self._touch()
        self._event({"type": "message", "chat_id": chat_id, "message": kept})

    # ========================================================================================
    # Internals: who may write where
    # ========================================================================================

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
