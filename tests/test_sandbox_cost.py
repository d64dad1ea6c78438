"""The sandbox stays cheap however long it runs: each chat keeps its newest messages only,
and a world that keeps changing is not rewritten to disk every second."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.world import World

TOKEN = "123456:sandbox-cost"


def test_a_chat_keeps_its_newest_messages(tmp_path: Path) -> None:
    world = World(token=TOKEN, state_path=tmp_path / "world.json", max_messages=5)
    world.add_user(42, "王伟")
    for n in range(12):
        world.send_text(42, 42, f"消息 {n}")
    texts = [m["text"] for m in world.messages(42)]
    assert texts == [f"消息 {n}" for n in range(7, 12)]  # the newest five
    assert world.last_message_id(42) == 12  # ids go on; only old messages are forgotten
    world.save()
    state = json.loads((tmp_path / "world.json").read_text(encoding="utf-8"))
    (chat,) = [c for c in state["chats"] if c["id"] == 42]
    assert len(chat["messages"]) == 5
    smaller = World.load(token=TOKEN, state_path=tmp_path / "world.json", max_messages=3)
    assert [m["text"] for m in smaller.messages(42)] == ["消息 9", "消息 10", "消息 11"]


def test_the_bots_own_messages_are_bounded_too(tmp_path: Path) -> None:
    world = World(token=TOKEN, max_messages=4)
    world.add_user(42, "王伟")
    for n in range(10):
        world.call(TOKEN, "sendMessage", {"chat_id": 42, "text": f"回复 {n}"})
    assert [m["text"] for m in world.messages(42)] == [f"回复 {n}" for n in range(6, 10)]


def test_a_busy_world_is_saved_every_30_s_not_every_second(tmp_path: Path) -> None:
    now = [0.0]
    world = World(token=TOKEN, state_path=tmp_path / "world.json")
    world.save_clock = lambda: now[0]
    world.add_user(42, "王伟")
    saves = 0
    for tick in range(1, 241):  # two minutes of a message every half second
        now[0] = tick * 0.5
        world.send_text(42, 42, f"消息 {tick}")
        if tick % 2 == 0 and world.save_due():  # the server's saver looks every second
            world.save()
            saves += 1
    assert saves == 3  # at 30, 61 and 92 s of a busy two minutes: not 120 times
    assert world.dirty
    now[0] += 0.5
    assert not world.save_due()  # still changing a moment ago
    now[0] += 1.0
    assert world.save_due()  # a second of quiet: the last changes are written
    world.save()
    assert not world.dirty and not world.save_due()
