"""Different people's updates at once, each person's in order (bot/updates.py): one slow
step holds back only its own chat and person."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update

from bot.updates import PerChatUpdateProcessor, update_key


def message(update_id: int, chat: int, user: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id, "date": 0, "text": "hi",
                "chat": {"id": chat, "type": "private" if chat > 0 else "group", "title": "g"},
                "from": {"id": user, "is_bot": False, "first_name": "p"},
            },
        },
        None,
    )  # fmt: skip


async def test_another_persons_update_does_not_wait_for_a_slow_one() -> None:
    processor = PerChatUpdateProcessor()
    release = asyncio.Event()
    done: list[str] = []

    async def slow() -> None:
        await release.wait()
        done.append("slow")

    async def quick() -> None:
        done.append("quick")

    first = asyncio.create_task(processor.process_update(message(1, 101, 101), slow()))
    second = asyncio.create_task(processor.process_update(message(2, 102, 102), quick()))
    await asyncio.wait_for(second, timeout=5)
    assert done == ["quick"]  # the other person was served while the first step waited
    release.set()
    await asyncio.wait_for(first, timeout=5)
    assert done == ["quick", "slow"]


async def test_one_persons_updates_keep_their_order() -> None:
    processor = PerChatUpdateProcessor()
    release = asyncio.Event()
    done: list[int] = []

    async def step(n: int, wait: bool = False) -> None:
        if wait:
            await release.wait()
        done.append(n)

    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(processor.process_update(message(1, 101, 101), step(1, wait=True))),
        asyncio.create_task(processor.process_update(message(2, 101, 101), step(2))),
        asyncio.create_task(processor.process_update(message(3, 101, 101), step(3))),
    ]
    await asyncio.sleep(0.01)
    assert done == []  # the second and third wait for the first
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
    assert done == [1, 2, 3]


def test_the_key_is_the_chat_and_the_person() -> None:
    assert update_key(message(1, -300, 7)) == (-300, 7)
    assert update_key(message(1, -300, 8)) != update_key(message(2, -300, 7))
    assert update_key(object()) == (None, None)
