"""PTB persistence in the bot's own SQLite file, so a flow half-way through survives restarts.

The application also calls :meth:`Application.update_persistence` after every update (see
``bot.app``), so even a killed process loses at most the update it was handling.

PTB hands over every user's and chat's data it marked, changed or not (each update marks its
person and chat), and every conversation state it looked at; what the file already holds is
remembered here, so only what changed is written: most updates write nothing.

While an update is being handled (``storage.inbox.HANDLING`` is set: the bot's update
processor), what changed is held back and written by :meth:`SQLitePersistence.write_pending`
in the transaction that marks the update handled in the inbox (``bot.inbox.Inbox.done``):
one transaction at the end of an update instead of one per row, and the flow's new state
and the update's mark are saved together or not at all (a crash between them replays the
update from the state it started in). Anywhere else (PTB's periodic run, the stop, a test
calling ``process_update`` directly) a change is written at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiosqlite
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from storage.db import Database
from storage.inbox import HANDLING

Data = dict[str, Any]

#: Each kind of row held back: how it is written, and how it is deleted.
_SQL = {
    "data": (
        "INSERT INTO ptb_data(kind, id, data) VALUES (?, ?, ?)"
        " ON CONFLICT(kind, id) DO UPDATE SET data = excluded.data",
        "DELETE FROM ptb_data WHERE kind = ? AND id = ?",
    ),
    "state": (
        "INSERT INTO ptb_conversations(name, key, state) VALUES (?, ?, ?)"
        " ON CONFLICT(name, key) DO UPDATE SET state = excluded.state",
        "DELETE FROM ptb_conversations WHERE name = ? AND key = ?",
    ),
}


class SQLitePersistence(BasePersistence[Data, Data, Data]):
    """Conversation states and per-user / per-chat data, stored as JSON rows.

    Values must be JSON-serialisable; flows keep only plain data (ids, text) in user_data.
    Bot data and callback data are not stored: nothing in the bot relies on them.
    """

    def __init__(self, db: Database, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, callback_data=False),
            update_interval=update_interval,
        )
        self.db = db
        #: What each ``ptb_data`` row holds (its JSON), as loaded or last written.
        self._stored: dict[tuple[str, int], str] = {}
        #: What each ``ptb_conversations`` row holds (its state's JSON), as loaded or written.
        self._states: dict[tuple[str, str], str] = {}
        #: Changes held back until the update's end (module docstring): a row's new JSON, or
        #: None to delete it. Keys: ("data", kind, id) and ("state", name, key).
        self._pending: dict[tuple[str, str, int | str], str | None] = {}

    @property
    def pending(self) -> bool:
        """Whether changes wait for :meth:`write_pending`."""
        return bool(self._pending)

    def _holds(self, key: tuple[str, str, int | str]) -> str | None:
        """What the row will hold once the changes held back are written."""
        if key in self._pending:
            return self._pending[key]
        kind, a, b = key
        if kind == "data":
            return self._stored.get((a, int(b)))
        return self._states.get((a, str(b)))

    async def _change(self, key: tuple[str, str, int | str], encoded: str | None) -> None:
        """Note a row's new JSON (None: gone), unless the file holds (or will hold) it;
        written at once outside an update's handling."""
        if self._holds(key) == encoded:
            return
        self._pending[key] = encoded
        if HANDLING.get() is None:
            await self.flush()

    async def write_pending(self, conn: aiosqlite.Connection) -> Callable[[], None]:
        """Write the changes held back, inside the caller's transaction; returns what to
        call once it committed (the rows are then what the file holds). Should the
        transaction roll back, the changes stay held back for the next try."""
        batch = dict(self._pending)
        for (kind, a, b), encoded in batch.items():
            upsert, delete = _SQL[kind]
            if encoded is not None:
                await conn.execute(upsert, (a, b, encoded))
            else:
                await conn.execute(delete, (a, b))

        def committed() -> None:
            for key, encoded in batch.items():
                kind, a, b = key
                if kind == "data":
                    stored: dict[Any, str] = self._stored
                    row: tuple[str, int | str] = (a, int(b))
                else:
                    stored, row = self._states, (a, str(b))
                if encoded is None:
                    stored.pop(row, None)
                else:
                    stored[row] = encoded
                if key in self._pending and self._pending[key] == encoded:
                    del self._pending[key]  # not changed again meanwhile

        return committed

    async def _load(self, kind: str) -> dict[int, Data]:
        rows = await self.db.fetchall("SELECT id, data FROM ptb_data WHERE kind = ?", (kind,))
        for r in rows:
            self._stored[(kind, int(r["id"]))] = r["data"]
        return {int(r["id"]): json.loads(r["data"]) for r in rows}

    async def _save(self, kind: str, key: int, data: Data) -> None:
        """One user's or chat's data, unless the file already holds exactly that."""
        encoded = json.dumps(data, ensure_ascii=False) if data else None
        await self._change(("data", kind, key), encoded)

    async def get_user_data(self) -> dict[int, Data]:
        """Every stored user's data."""
        return await self._load("user")

    async def get_chat_data(self) -> dict[int, Data]:
        """Every stored chat's data."""
        return await self._load("chat")

    async def get_bot_data(self) -> Data:
        """Bot data is not stored."""
        return {}

    async def get_callback_data(self) -> None:
        """Callback data is not stored."""
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        """The states of one conversation handler, keyed by (chat id, user id…)."""
        rows = await self.db.fetchall(
            "SELECT key, state FROM ptb_conversations WHERE name = ?", (name,)
        )
        for r in rows:
            self._states[(name, r["key"])] = r["state"]
        return {tuple(json.loads(r["key"])): json.loads(r["state"]) for r in rows}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Store (or, for an ended conversation, forget) one conversation's state, unless the
        file already holds it."""
        encoded = None if new_state is None else json.dumps(new_state)
        await self._change(("state", name, json.dumps(list(key))), encoded)

    async def update_user_data(self, user_id: int, data: Data) -> None:
        """Store one user's data."""
        await self._save("user", user_id, data)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        """Store one chat's data."""
        await self._save("chat", chat_id, data)

    async def update_bot_data(self, data: Data) -> None:
        """Bot data is not stored."""

    async def update_callback_data(self, data: Any) -> None:
        """Callback data is not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Forget a chat's data."""
        await self._save("chat", chat_id, {})

    async def drop_user_data(self, user_id: int) -> None:
        """Forget a user's data."""
        await self._save("user", user_id, {})

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        """Nothing to refresh: this process is the only writer."""

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        """Nothing to refresh: this process is the only writer."""

    async def refresh_bot_data(self, bot_data: Data) -> None:
        """Nothing to refresh: bot data is not stored."""

    async def flush(self) -> None:
        """Write the changes held back, in a transaction of their own (PTB calls this when
        the application stops)."""
        if not self._pending:
            return
        async with self.db.write() as conn:
            committed = await self.write_pending(conn)
        committed()
