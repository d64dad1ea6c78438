"""The inbox as the crash trials met it: ``python -m bot run`` and the sandbox as processes;
the bot fetches a person's press, its next poll confirms it to Telegram while the step is
still under way, and a SIGKILL comes. Telegram has forgotten the press; the restarted bot
answers it all the same, once."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import BotProcess, SandboxProcess, wait_for

#: How long the sandbox holds the bot's answer to the press: the step waits on it, so the
#: process is killed inside the step (well before PTB's own 5 s read timeout).
HOLD = 8.0


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    server = SandboxProcess(tmp_path / "sandbox").start()
    yield server
    server.stop()


@pytest.fixture
def bot(sandbox: SandboxProcess, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(sandbox, tmp_path / "wuye.db")
    process.cli("seed-demo")
    process.start()
    yield process
    process.stop()


def offset(sandbox: SandboxProcess) -> int:
    """The highest offset the bot's polls gave: every update below it is confirmed, and the
    next update Telegram makes has this id."""
    return max(
        int(c["params"].get("offset") or 0) for c in sandbox.get("/api/calls?method=getUpdates")
    )


def cases(db: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute("SELECT number FROM cases"))
    finally:
        conn.close()


def test_a_press_confirmed_to_telegram_before_a_sigkill_is_answered_after_the_restart(
    sandbox: SandboxProcess, bot: BotProcess, tmp_path: Path
) -> None:
    owner = sandbox.player(8001, "王伟", phone="+8613900000001")
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    owner.share_contact()
    owner.wait_text("身份验证成功")
    owner.send("/request")
    owner.tap("报修")
    owner.tap("阳光花园 · 1栋 101")
    owner.send("楼道灯不亮")
    owner.wait_text("这件事紧急吗")
    press = offset(sandbox)  # the bot waits for the next update: the press will be this one
    # Telegram is slow to take the bot's answer to the next press: the step waits on it.
    sandbox.post("/api/faults", {"method": "answerCallbackQuery", "kind": "delay", "delay": HOLD})
    tapped: list[dict[str, Any]] = []  # the tap returns once answered, or after 5 s
    pressing = threading.Thread(target=lambda: tapped.append(owner.tap("普通")))
    pressing.start()
    wait_for(lambda: sandbox.get("/api/faults") == [], what="the bot inside the step")
    wait_for(lambda: offset(sandbox) > press, what="the press confirmed to Telegram")
    bot.kill()  # SIGKILL inside the step: no case yet, no answer
    assert cases(tmp_path / "wuye.db") == []
    assert not any("已受理" in t for t in sandbox.bot_texts(owner.uid))
    bot.start()
    text = owner.wait_text("已受理")
    (number,) = cases(tmp_path / "wuye.db")[0]
    assert number in text
    time.sleep(1.5)  # the restarted bot's first polls, sweeps and outbox passes: nothing twice
    assert sum("已受理" in t for t in sandbox.bot_texts(owner.uid)) == 1
    assert len(cases(tmp_path / "wuye.db")) == 1
    pressing.join(timeout=10)
    assert tapped[0]["update"]["update_id"] == press
    log = bot.log.read_text(encoding="utf-8")
    assert "inbox: 1 update(s) cut off by the last stop replayed" in log
