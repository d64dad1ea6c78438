"""Crashes at chosen moments (bot.crashpoints): the real bot process kills itself (SIGKILL)
where a test asks, is started again, and nothing is lost or doubled.

1. a filing: the case saved and the person's message edited, the update not finished;
2. an outbox send: Telegram has the message, the row is not marked sent;
3. deadlines falling due: a timer marked inside the sweeper's transaction, nothing
   committed.

The random kills under load are bench/crash.py's (tests/test_bench.py runs it small).
"""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.crashpoints import POINTS, VARIABLE, crashpoint
from bot.settings import ConfigError, load_settings
from storage.clock import SystemClock
from storage.db import Database
from storage.outbox import crashed_sends
from tests.support.sandbox import BotProcess, Player, SandboxProcess, wait_for

ROOT = Path(__file__).resolve().parents[1]
ADMIN = 500
NUMBER = re.compile(r"(?:XQ|TS)-\d{8}-\d{4}")


# --- the crash points themselves ------------------------------------------------------------


def test_a_crash_point_is_refused_outside_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "outbox.sent")
    with pytest.raises(ConfigError, match="WUYE_TEST_CRASH_AT is for tests only"):
        load_settings(_env_file=None)
    crashpoint("outbox.sent")  # not in test mode: nothing happens
    monkeypatch.setenv("WUYE_TEST_MODE", "1")
    assert load_settings(_env_file=None).test_crash_at == "outbox.sent"
    monkeypatch.setenv(VARIABLE, "outbox.sned")
    with pytest.raises(ConfigError, match=r"no crash point 'outbox\.sned'"):
        load_settings(_env_file=None)


@pytest.mark.parametrize(
    ("mode", "point", "dies"),
    [("1", "outbox.sent", True), ("", "outbox.sent", False), ("1", "filing.edited", False)],
)
def test_a_crash_point_kills_only_when_named_in_test_mode(
    mode: str, point: str, dies: bool
) -> None:
    code = "from bot.crashpoints import crashpoint; crashpoint('outbox.sent'); print('alive')"
    env = {"PYTHONPATH": str(ROOT), "WUYE_TEST_MODE": mode, VARIABLE: point}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == ((-signal.SIGKILL, "") if dies else (0, "alive\n"))
    assert {"filing.edited", "outbox.sent", "deadline.marked"} == POINTS


# --- the bot killed at each -----------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    server = SandboxProcess(tmp_path / "sandbox").start()
    yield server
    server.stop()


@pytest.fixture
def bot(sandbox: SandboxProcess, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(sandbox, tmp_path / "wuye.db", admins=str(ADMIN))
    process.cli("seed-demo")
    yield process
    process.stop()


def starts(bot: BotProcess) -> int:
    """How often the bot started polling (its log says so each time)."""
    return (
        bot.log.read_text(encoding="utf-8").count("Application started") if bot.log.exists() else 0
    )


def start(bot: BotProcess, crash_at: str | None = None) -> None:
    """(Re)start the bot, dying at ``crash_at`` if given; return once it polls."""
    bot.stop()
    if crash_at:
        bot.env[VARIABLE] = crash_at
    else:
        bot.env.pop(VARIABLE, None)
    before = starts(bot)
    bot.start()
    wait_for(lambda: starts(bot) > before, what="the bot to start")


def died(bot: BotProcess) -> None:
    """The bot killed itself at its crash point."""
    assert bot.process is not None
    assert bot.process.wait(timeout=60) == -signal.SIGKILL


def query(bot: BotProcess, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(bot.env["WUYE_DB"])
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def in_flight_ids(bot: BotProcess) -> set[int]:
    """The outbox rows found in flight after a crash (storage.outbox.crashed_sends)."""

    async def read() -> set[int]:
        db = await Database.open(Path(bot.env["WUYE_DB"]), clock=SystemClock())
        try:
            return {c.id for c in await crashed_sends(db)}
        finally:
            await db.close()

    return asyncio.run(read())


def shown(html: str) -> str:
    return (
        re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def assert_each_once(sandbox: SandboxProcess, bot: BotProcess) -> Counter[int]:
    """Every outbox row sent reached its chat once; a row in flight at the crash at most
    twice (sent once more after it: Telegram may have had it). Returns, per row in flight,
    how many copies its chat holds."""
    flying = in_flight_ids(bot)
    copies: Counter[int] = Counter()
    rows = query(bot, "SELECT id, chat_id, text, state FROM outbox WHERE kind = 'message'")
    chats: dict[int, Counter[str]] = {}
    for row_id, chat, text, state in rows:
        assert state == "sent", (row_id, state, text)
        if chat not in chats:
            chats[chat] = Counter(sandbox.bot_texts(chat))
        found = chats[chat][shown(text)]
        if row_id in flying:
            assert 1 <= found <= 2, (row_id, found, text)
            copies[row_id] = found
        else:
            assert found >= 1, (row_id, text)
    for chat, texts in chats.items():
        twice = {t: n for t, n in texts.items() if n > 1 and NUMBER.search(t)}
        allowed = {shown(t) for i, c, t, _ in rows if c == chat and i in flying}
        assert set(twice) <= allowed, (chat, twice)
    return copies


def groups(sandbox: SandboxProcess) -> int:
    admin = sandbox.player(ADMIN, "管理员")
    for uid, name in ((9001, "周晓梅"), (9002, "吴建国"), (9007, "孙志远")):
        sandbox.player(uid, name)
    cs = sandbox.group("客服中心", [ADMIN, 9001, 9002])
    admin.send("/bind 客服中心", chat=cs)
    sandbox.wait_text(cs, "本群已绑定")
    return cs


def register(sandbox: SandboxProcess, uid: int, n: int) -> Player:
    owner = sandbox.player(uid, f"业主{n}", phone=f"+861390000{n:04d}")
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    owner.share_contact()
    owner.wait_text("身份验证成功")
    return owner


def describe(owner: Player, text: str) -> None:
    """/request up to the urgency question (a one-unit owner: no unit asked)."""
    owner.send("/request")
    owner.tap("报修")
    owner.wait_text("请描述情况")
    owner.send(text)
    owner.wait_text("紧急吗")


def count(sandbox: SandboxProcess, chat: int, *fragments: str) -> int:
    return sum(all(f in t for f in fragments) for t in sandbox.bot_texts(chat))


def test_killed_after_the_urgency_message_is_edited_the_case_is_filed_once(
    sandbox: SandboxProcess, bot: BotProcess
) -> None:
    start(bot, crash_at="filing.edited")
    cs = groups(sandbox)
    owner = register(sandbox, 8002, 2)
    describe(owner, "楼道灯不亮（崩溃一）")
    owner.tap("普通")
    died(bot)
    assert "紧急程度：普通" in sandbox.bot_texts(owner.uid)  # the edit was made
    start(bot)
    number = NUMBER.findall(owner.wait_text("已受理"))[0]
    sandbox.wait_text(cs, number)
    assert query(bot, "SELECT number FROM cases WHERE description = '楼道灯不亮（崩溃一）'") == [
        (number,)
    ]
    # The person goes on: the conversation ended, a new filing starts.
    describe(owner, "窗户关不严（崩溃一之后）")
    owner.tap("普通")
    wait_for(lambda: count(sandbox, owner.uid, "已受理") == 2, what="the second filing")
    time.sleep(2.5)  # a few outbox passes: nothing may come twice
    assert query(bot, "SELECT COUNT(*) FROM cases") == [(2,)]
    assert count(sandbox, owner.uid, "已受理", number) <= 1 + len(in_flight_ids(bot))
    assert_each_once(sandbox, bot)


def test_killed_between_an_outbox_send_and_its_mark_the_row_is_sent_once_more(
    sandbox: SandboxProcess, bot: BotProcess
) -> None:
    start(bot)
    cs = groups(sandbox)
    owner = register(sandbox, 8003, 3)
    describe(owner, "厨房水管漏水（崩溃二）")
    start(bot, crash_at="outbox.sent")  # the next row Telegram takes kills it
    owner.tap("普通")
    died(bot)
    flying = query(bot, "SELECT id, chat_id FROM outbox WHERE sending_at IS NOT NULL")
    assert flying, "the row Telegram took is still marked in flight"
    start(bot)
    number = NUMBER.findall(owner.wait_text("已受理"))[0]
    sandbox.wait_text(cs, number)
    wait_for(lambda: not query(bot, "SELECT 1 FROM outbox WHERE state = 'pending'"), what="sent")
    time.sleep(2.5)
    copies = assert_each_once(sandbox, bot)
    assert set(copies) == {row for row, _ in flying}
    assert 2 in copies.values()  # the one that killed it: Telegram had it, sent once more
    assert query(bot, "SELECT COUNT(*) FROM cases") == [(1,)]


def test_killed_while_deadlines_fall_due_each_fires_once(
    sandbox: SandboxProcess, bot: BotProcess
) -> None:
    start(bot)
    cs = groups(sandbox)
    numbers = []
    for uid, n in ((8004, 4), (8005, 5)):
        owner = register(sandbox, uid, n)
        describe(owner, f"电梯按钮失灵（{uid}）")
        owner.tap("普通")
        numbers.append(NUMBER.findall(owner.wait_text("已受理"))[0])
        sandbox.wait_text(cs, numbers[-1])
    start(bot, crash_at="deadline.marked")
    bot.advance(minutes=11)  # Q-1's ten minutes and V-1's five: both cases, at once
    died(bot)
    assert not query(bot, "SELECT 1 FROM deadlines WHERE state IN ('fired', 'warned')")
    start(bot)
    supervisor = 9002
    breaches = [("超时", number, "10 分钟内转交") for number in numbers]
    wait_for(lambda: all(count(sandbox, supervisor, *b) for b in breaches), what="Q-1's breaches")
    wait_for(lambda: not query(bot, "SELECT 1 FROM outbox WHERE state = 'pending'"), what="sent")
    time.sleep(2.5)  # a few sweeps: nothing may fire twice
    now = bot.now().isoformat()
    assert not query(
        bot, "SELECT id FROM deadlines WHERE state IN ('pending', 'warned') AND due_at <= ?", now
    )
    fired = query(bot, "SELECT case_id, rule, late FROM deadlines WHERE state = 'fired'")
    assert len(fired) >= 2 and all(late == 1 for _, _, late in fired)  # fell due while down
    missed = Counter(
        (subject, data)
        for subject, data in query(
            bot, "SELECT subject, data FROM audit WHERE event = 'case.deadline_missed'"
        )
    )
    assert sum(missed.values()) == len(fired) and max(missed.values()) == 1
    for number in numbers:
        assert count(sandbox, supervisor, "超时", number, "10 分钟内转交") == 1
    assert_each_once(sandbox, bot)
