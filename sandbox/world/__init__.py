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
:meth:`World.save_due` says when a save is due (still for a second, or 30 s since the last one
while the world keeps changing: a save rewrites the whole file); the server's saver and
:meth:`World.autosave` save then. Each chat keeps its newest ``max_messages`` messages, so the
state and a save's cost stay bounded however long a benchmark runs. :meth:`World.load`
restores a saved world.

This package uses the standard library only. Its parts, one module each: :mod:`.model`
(types, Telegram's texts and limits, public records), :mod:`.helpers` (pure functions),
:mod:`.records` (the internal records), :mod:`.core` (state and shared bookkeeping),
:mod:`.api` (the Bot API methods), :mod:`.updates` (update queue and webhook),
:mod:`.people` (the people's side), :mod:`.files`, :mod:`.faults` and
:mod:`.persistence`; :class:`World` composes them.
"""

from __future__ import annotations

from .api import BotApi
from .core import MAX_MESSAGES
from .helpers import (
    bot_command_entities,
    chat_member,
    chat_type_for_id,
    file_unique_id,
    html_to_text,
    image_size,
    inline_buttons,
    make_user,
    message_text,
    parse_html,
    typed_phone,
)
from .model import (
    BLOCKED_BY_USER,
    CALLBACK_QUERY_INVALID,
    CHAT_NOT_FOUND,
    GROUP_UPGRADED,
    MESSAGE_NOT_MODIFIED,
    POLLING_CONFLICT,
    WEBHOOK_CONFLICT,
    ApiCall,
    ApiError,
    FaultKind,
    Handler,
    Upload,
)
from .people import People
from .persistence import Persistence

__all__ = [
    "BLOCKED_BY_USER",
    "CALLBACK_QUERY_INVALID",
    "CHAT_NOT_FOUND",
    "GROUP_UPGRADED",
    "MAX_MESSAGES",
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
    "typed_phone",
]


class World(BotApi, People, Persistence):
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
        max_messages: how many messages each chat keeps (its newest; as many deleted ones),
            so a long run's memory and state file stay bounded (default 5,000).
    """
