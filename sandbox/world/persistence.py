"""Persistence: the dirty flag, the world's state as JSON-ready data, saving it atomically to
``state_path`` (now, when dirty, or when due) and loading a saved world.

A save writes the whole state, so it is not made every second while the world keeps changing
(a benchmark's 50 owners change it all the time): :meth:`Persistence.save_due` waits until
the world has been still for :data:`SAVE_QUIET` seconds, or the last save is
:data:`SAVE_LONGEST` seconds old; with each chat's messages bounded (``max_messages``) a save
costs a bounded time, at most every :data:`SAVE_LONGEST` seconds under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self

from .core import MAX_MESSAGES, WorldCore
from .model import (
    JSONDict,
)
from .records import _Chat, _File, _Person, _Query

#: Seconds without a change after which a changed world is saved.
SAVE_QUIET = 1.0
#: Seconds after which a world that keeps changing is saved all the same.
SAVE_LONGEST = 30.0


class Persistence(WorldCore):
    """Saving and loading the world's state."""

    @property
    def dirty(self) -> bool:
        """Whether anything changed since the last :meth:`save`."""
        return self._dirty

    def mark_dirty(self) -> None:
        """Note a change made behind the world's back (the next save writes)."""
        self._touch()

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

    def save_due(self, *, quiet: float = SAVE_QUIET, longest: float = SAVE_LONGEST) -> bool:
        """Whether a save is due: something changed, and since then nothing for ``quiet``
        seconds (a burst is written once, after it), or the oldest change not saved is
        ``longest`` seconds old (a world that never rests is written that often, never every
        second)."""
        if not self._dirty or self.state_path is None:
            return False
        now = self.save_clock()
        return now - self._changed_at >= quiet or now - self._dirty_since >= longest

    def save_if_dirty(self) -> bool:
        """Save when something changed; return whether it saved."""
        if self._dirty and self.state_path is not None:
            self.save()
            return True
        return False

    async def autosave(self, interval: float = 1.0) -> None:
        """Look every ``interval`` seconds and save when due (:meth:`save_due`), until
        cancelled (then save once more if anything changed)."""
        try:
            while True:
                await asyncio.sleep(interval)
                if self.save_due():
                    self.save()
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
        max_messages: int = MAX_MESSAGES,
    ) -> Self:
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
            max_messages=max_messages,
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
        for chat in self._chats.values():  # a file saved with a larger bound: trimmed now
            while len(chat.messages) > self.max_messages:
                del chat.messages[min(chat.messages)]
        self._files = {f["file_id"]: _File(**f) for f in data["files"]}
        self._paths = {stored.file_path: stored.file_id for stored in self._files.values()}
        self._photo_sets = {key: list(value) for key, value in data["photo_sets"].items()}
        self._queries = {q["id"]: _Query(**q) for q in data["queries"]}
        self._commands = {key: list(value) for key, value in data["commands"].items()}
        self._updates = list(data["updates"])
        self._allowed_updates = data["allowed_updates"]
        self._webhook = data["webhook"]
        self._dirty = False


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
