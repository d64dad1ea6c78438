"""The Bot API: what the bot calls (:meth:`BotApi.call` for every method, :meth:`BotApi.get_updates`
with long polling) and each method's semantics (sendMessage, editMessageText,
answerCallbackQuery, sendMediaGroup, getFile, getChatMember, ...) with Telegram's checks and
error texts.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from .faults import Faults
from .files import Files
from .helpers import (
    _bool_param,
    _float_param,
    _int_param,
    _json_param,
    _normalise,
    chat_member,
    message_text,
    parse_html,
)
from .model import (
    _BOT_COMMAND_NAME_RE,
    _CHAT_ACTIONS,
    _INLINE_BUTTON_ACTIONS,
    _KICKED,
    _MENTION_RE,
    _NOT_MEMBER,
    BLOCKED_BY_USER,
    CALLBACK_QUERY_INVALID,
    CHAT_NOT_FOUND,
    GROUP_UPGRADED,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_DOWNLOAD_SIZE,
    MAX_MEDIA_GROUP,
    MAX_TEXT_LENGTH,
    MESSAGE_NOT_MODIFIED,
    POLLING_CONFLICT,
    ApiCall,
    ApiError,
    Handler,
    JSONDict,
    Upload,
)
from .records import _Chat
from .updates import Updates


class BotApi(Updates, Faults, Files):
    """The Bot API methods the bot calls."""

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
            self._apply_fault(name, normalised)
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

    def override(self, method: str, handler: Handler | None) -> None:
        """Answer ``method`` with ``handler(params, uploads)`` instead (None restores it).

        The handler's return value is the result; raise :class:`ApiError` to answer an error.
        Faults still apply first.
        """
        if handler is None:
            self._overrides.pop(method.lower(), None)
        else:
            self._overrides[method.lower()] = handler

    def _method_table(self) -> dict[str, Handler]:
        """The Bot API methods :meth:`call` answers, by lower-case name."""
        return {
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
    # Internals: Bot API helpers
    # ========================================================================================

    def _target(
        self, params: Mapping[str, Any], key: str = "chat_id", *, blocked_ok: bool = False
    ) -> _Chat:
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
        if forbidden and not (blocked_ok and chat.type == "private"):
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
        self._keep(chat, message)
        self._touch()
        self._event({"type": "message", "chat_id": chat.id, "message": message})
        if markup and inline is None:
            self._keyboard_slot(chat, message, markup)
        return copy.deepcopy(message)

    def _keyboard_slot(self, chat: _Chat, message: JSONDict, markup: JSONDict) -> None:
        """What a reply keyboard, its removal or a ForceReply does on the people's side.

        The chat's reply keyboard is set or removed (a ForceReply for everyone takes its
        place too). Whom the markup addresses lose a ForceReply asked before, and a new
        ForceReply is remembered for them: the Bot API's Message does not carry it, and
        Telegram's apps open the reply interface to that message with its placeholder.
        """
        if "keyboard" in markup:
            chat.reply_keyboard = copy.deepcopy(markup)
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        elif markup.get("force_reply"):
            if chat.type == "private" or not markup.get("selective"):
                chat.reply_keyboard = None
        else:
            return
        asked: JSONDict | None = None
        if markup.get("force_reply"):
            asked = {"message_id": message["message_id"]}
            placeholder = markup.get("input_field_placeholder")
            if isinstance(placeholder, str) and placeholder:
                asked["input_field_placeholder"] = placeholder
        for user_id in self._keyboard_targets(chat, message, bool(markup.get("selective"))):
            self._set_force_reply(chat, user_id, asked)

    def _keyboard_targets(self, chat: _Chat, message: JSONDict, selective: bool) -> list[int]:
        """Whom a reply keyboard or ForceReply addresses: the person of a private chat; in a
        group everyone, or with ``selective`` only the people @mentioned in the text and the
        sender of the message it replies to (as Telegram's apps decide)."""
        if chat.type == "private":
            return [chat.id]
        if not selective:
            return list(chat.members)
        targets: list[int] = []
        entities = message.get("entities") or message.get("caption_entities") or []
        for entity in entities:
            user = entity.get("user") if entity.get("type") == "text_mention" else None
            if isinstance(user, dict) and isinstance(user.get("id"), int):
                targets.append(user["id"])
        text = message_text(message)
        names = {name.lower() for name in _MENTION_RE.findall(text)}
        for user_id in chat.members:
            person = self._people.get(user_id)
            if person is not None and (person.username or "").lower() in names:
                targets.append(user_id)
        original = message.get("reply_to_message")
        if isinstance(original, dict) and not self._is_bots(original):
            sender = (original.get("from") or {}).get("id")
            if isinstance(sender, int):
                targets.append(sender)
        return [user_id for user_id in dict.fromkeys(targets) if user_id in chat.members]

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

    # ========================================================================================
    # Internals: Bot API methods
    # ========================================================================================

    def _set_my_commands(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        # As the Bot API server: the commands are parsed first, then the scope, then the
        # scope's chat is looked up, then Telegram checks the scope, the language and each
        # command. No commands (or an empty list) clears the scope's list, as deleteMyCommands.
        commands = _json_param(params, "commands")
        if commands is None or commands == "":
            commands = []
        if isinstance(commands, str):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: expected an Array of BotCommand")
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand: expected an Object")
            for field_name in ("command", "description"):
                if field_name not in command:
                    missing = f'Can\'t find field "{field_name}"'
                    raise ApiError(400, f"Bad Request: can't parse BotCommand: {missing}")
        key = self._command_scope(params)
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        cleaned: list[JSONDict] = []
        for command in commands:
            name = str(command["command"]).strip().removeprefix("/")
            description = str(command["description"]).strip()
            if not name:
                raise ApiError(400, "Bad Request: command must be non-empty")
            if len(name) > 32:
                raise ApiError(400, "Bad Request: command length must not exceed 32")
            if not description:
                raise ApiError(400, "Bad Request: command description must be non-empty")
            if len(description) > 256:
                raise ApiError(400, "Bad Request: command description length must not exceed 256")
            if not _BOT_COMMAND_NAME_RE.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            cleaned.append({"command": name, "description": description})
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        self._touch()
        return True

    def _get_my_commands(self, params: JSONDict, uploads: Mapping[str, Upload]) -> list[JSONDict]:
        key = self._command_scope(params)
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        key = self._command_scope(params)
        if self._commands.pop(key, None) is not None:
            self._touch()
        return True

    def _command_scope(self, params: JSONDict) -> str:
        """The key of a BotCommandScope and language_code, checked as Telegram checks them:
        the scope's shape (the Bot API server's texts), its chat (it must exist and be
        reachable; a private chat takes only the ``chat`` scope) and the language (empty, or
        two lower-case letters: ISO 639-1)."""
        raw = params.get("scope")
        if raw is None or raw == "":
            scope: Any = {"type": "default"}
        elif isinstance(raw, str):
            try:
                scope = json.loads(raw)
            except ValueError:
                unparsed = "Bad Request: can't parse BotCommandScope JSON object"
                raise ApiError(400, unparsed) from None
        else:
            scope = raw
        if not isinstance(scope, dict):
            raise ApiError(400, _SCOPE_ERROR + "BotCommandScope must be an Object")
        kind = _scope_string(scope, "type")
        if kind not in _COMMAND_SCOPES:
            raise ApiError(400, _SCOPE_ERROR + "Unsupported type specified")
        normalised: JSONDict = {"type": kind}
        if kind in ("chat", "chat_administrators", "chat_member"):
            wanted = _scope_string(scope, "chat_id")
            if not wanted:
                raise ApiError(400, _SCOPE_ERROR + "Empty chat_id specified")
            if kind == "chat_member":
                user_id = _scope_long(scope, "user_id")
                if user_id <= 0:
                    raise ApiError(400, _SCOPE_ERROR + "Invalid user_id specified")
            # Looked up as any call's chat (an id or a @username; a group the bot left or
            # that was upgraded fails as usual), but a person who blocked the bot keeps theirs.
            chat = self._target({"chat_id": wanted}, blocked_ok=True)
            if chat.type == "private" and kind != "chat":
                raise ApiError(400, "Bad Request: can't use specified scope in private chats")
            normalised["chat_id"] = chat.id
            if kind == "chat_member":
                normalised["user_id"] = user_id
        language = params.get("language_code")
        language = "" if language is None else str(language)
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError(400, "Bad Request: invalid language code specified")
        return self._commands_key(normalised, language)

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
        del chat.deleted[: -self.max_messages]  # the newest deleted ones (see _keep)
        self._touch()
        self._event({"type": "delete", "chat_id": chat.id, "message": message})
        for user_id, asked in list(chat.force_replies.items()):
            if asked.get("message_id") == message_id:
                self._set_force_reply(chat, user_id, None)
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


# The scopes setMyCommands knows (BotCommandScope), and how the Bot API server prefixes what
# it finds wrong in one (its messages, the first letter lower-cased).
_COMMAND_SCOPES = (
    "default", "all_private_chats", "all_group_chats", "all_chat_administrators",
    "chat", "chat_administrators", "chat_member",
)  # fmt: skip
_SCOPE_ERROR = "Bad Request: can't parse BotCommandScope: "


def _scope_string(scope: Mapping[str, Any], name: str) -> str:
    """A BotCommandScope's string field (a number is taken as its digits, as the server does)."""
    if name not in scope:
        raise ApiError(400, f'{_SCOPE_ERROR}Can\'t find field "{name}"')
    value = scope[name]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ApiError(400, f'{_SCOPE_ERROR}Field "{name}" must be of type String')
    return value if isinstance(value, str) else str(value)


def _scope_long(scope: Mapping[str, Any], name: str) -> int:
    """A BotCommandScope's integer field (a number, or a string of one)."""
    if name not in scope:
        raise ApiError(400, f'{_SCOPE_ERROR}Can\'t find field "{name}"')
    value = scope[name]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ApiError(400, f'{_SCOPE_ERROR}Field "{name}" must be a Number')
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f'{_SCOPE_ERROR}Field "{name}" must be a valid Number') from None
