"""Crash trials: the real bot process SIGKILLed at random moments under a mixed load.

    python bench/crash.py [--kills 30] [--seed N] [--owners 6] [--quick] [--json] [--keep DIR]

What it does:

1. starts the sandbox Telegram and ``python -m bot run`` against it as the end-to-end tests
   do (``tests/support/sandbox.py``: polling over HTTP, test mode, the test clock), seeds
   the demo estate and binds the customer-service and engineering groups;
2. plays people through the sandbox's JSON API, each in a thread of their own, as they would
   in the web page: owners join during the run and register (share their contact), then
   file requests and complaints, some with a photo (a small JPEG or PNG made with Pillow,
   sent by ``/photo``, its caption the description, or sent first and described after),
   normal or urgent; the customer assistant refers the cards to engineering (or resolves
   one on the spot), the engineer takes them, sometimes promises a time, and finishes
   them, the project supervisor classifies complaints; the bot's clock is moved on every
   few seconds (minutes, sometimes hours), so deadlines warn and fall due during the run;
3. meanwhile SIGKILLs the bot ``--kills`` times, each a random moment after it was started
   (its start-up included), and starts it again at once, as a supervisor would. The seed is
   printed; ``--seed`` repeats every choice (who does what, when to kill), not the machine's
   timing;
4. lets everything settle (the clock a day on, the outbox drained, nothing new for a few
   seconds), stops the bot and counts, from the sandbox's own record of what the bot sent
   (its live events: each message as it was sent, before any edit; each person's steps) and
   from the database:

   * cases: every case number the bot told an owner exists; no filing became two cases (each
     filing's description is unique, and so is a draft's key); every case filed was told to
     its owner;
   * notices: no identical message about a case twice in one chat, except for an outbox row
     in flight at a kill (its attempt recorded, its outcome not: Telegram may have it, and it
     is sent once more after the restart). Those are read at each kill, the bot down, from
     the outbox's own record (``OutboxStore.in_flight``), and at the end
     (``storage.outbox.crashed_sends``), and counted apart: at most one per chat at a kill
     is the goal, and none given up (found in flight at a second kill). Not one per kill:
     the sender sends to different chats at once (up to 30 a second over a real line need
     that; one send at a time would cap the rate at one round trip), so a kill can catch one
     send per chat under way; the figures print both;
   * clocks: no deadline still open past its due time, none recorded missed twice;
   * stuck: every step an owner took (a message, a contact, a tap) had an answer before their
     next step, and every owner's last step had one;
   * audit: ``python -m bot check-audit`` passes.

``--quick``: 3 kills, 3 owners (a test runs it). Exit status 1 when a goal fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import html
import io
import json
import os
import random
import re
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from bot.demo import GIVEN, SURNAMES
from storage.clock import SystemClock
from storage.db import Database
from storage.outbox import CrashedSend, OutboxStore, crashed_sends
from tests.support.sandbox import BotProcess, SandboxProcess, wait_for

ADMIN = 500
ASSISTANT, ENGINEER, SUPERVISOR = 9001, 9003, 9007
#: The demo's staff (bot.demo.DEMO_STAFF): all exist in the sandbox, so a notice to any of
#: them has a chat to go to.
STAFF = {
    9001: "周晓梅", 9002: "吴建国", 9003: "郑海", 9004: "冯立", 9005: "陈保华", 9006: "何小芸",
    9007: "孙志远", 9008: "钱振东", 9009: "林慧", 9010: "赵总", 9011: "韩立新",
}  # fmt: skip
#: A case's number as the bot writes it (procedures.cases.case_number).
NUMBER = re.compile(r"\b(?:XQ|TS|HF|FW)-\d{8}-\d{4}\b")
#: What an owner's step may be answered with when the bot is not where the person thinks
#: (a step it lost track of): an answer all the same, though not the one expected.
OTHER_ANSWERS = (
    "请点击上方的按钮", "这个按钮已失效", "请描述情况", "当前没有进行中的操作", "已取消",
    "需要先完成业主登记", "系统处理时出了点问题", "您好，",
)  # fmt: skip
PROBLEMS = (
    "楼道灯不亮", "厨房水管漏水", "电梯按钮失灵", "单元门禁坏了", "楼上噪音很大", "车库积水",
    "垃圾没有及时清运", "窗户关不严", "热水器不出热水", "绿化带有积水",
)  # fmt: skip
#: How long an owner waits for an answer before trying again (the bot restarts in about
#: a second; an acknowledgement through the outbox waits its chat's turn).
PATIENCE = 20.0


def text_of(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


def shown(outbox_text: str) -> str:
    """An outbox row's text as the chat shows it (HTML tags read as formatting)."""
    return html.unescape(re.sub(r"<[^>]+>", "", outbox_text))


def from_bot(message: dict[str, Any]) -> bool:
    return bool((message.get("from") or {}).get("is_bot"))


def picture(rng: random.Random) -> tuple[bytes, str]:
    """A small real photo: JPEG or PNG, made with Pillow."""
    size = (rng.randint(48, 160), rng.randint(48, 120))
    image = Image.new("RGB", size, tuple(rng.randint(0, 255) for _ in range(3)))
    image.paste(tuple(rng.randint(0, 255) for _ in range(3)), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    fmt = rng.choice(["JPEG", "PNG"])
    image.save(out, fmt)
    return out.getvalue(), "photo.jpg" if fmt == "JPEG" else "photo.png"


# --- the sandbox's record -------------------------------------------------------------------


class Record:
    """The sandbox's live events (``GET /api/events``), read in a thread as they come: every
    message as sent (person or bot), each edit, each callback answer. Kept per chat, with the
    moment each came, and the latest version of each message (for the buttons to press)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.events: list[dict[str, Any]] = []
        self.by_chat: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.latest: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self.cond = threading.Condition()
        self.reconnects = 0
        self.connected = threading.Event()
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="record", daemon=True)

    def start(self) -> Record:
        self.thread.start()
        if not self.connected.wait(15):
            raise RuntimeError("the sandbox's event stream did not open")
        return self

    def _run(self) -> None:
        while not self.closed:
            try:
                with urllib.request.urlopen(self.base + "/api/events", timeout=60) as response:
                    self.connected.set()
                    for raw in response:
                        line = raw.decode("utf-8").rstrip("\r\n")
                        if line.startswith("data: "):
                            self._add(json.loads(line[6:]))
            except (OSError, ValueError):
                if self.closed:
                    return
                self.reconnects += 1  # events may be missing: reported
                time.sleep(0.2)

    def _add(self, event: dict[str, Any]) -> None:
        event["at"] = time.time()
        with self.cond:
            self.events.append(event)
            chat = event.get("chat_id")
            if isinstance(chat, int):
                self.by_chat[chat].append(event)
                if event["type"] in ("message", "edit"):
                    message = event["message"]
                    self.latest[chat][int(message["message_id"])] = message
                elif event["type"] == "delete":
                    self.latest[chat].pop(int(event["message"]["message_id"]), None)
            self.cond.notify_all()

    def last_at(self) -> float:
        with self.cond:
            return self.events[-1]["at"] if self.events else 0.0

    def wait(
        self, chat: int, since: float, fragments: Iterable[str], timeout: float
    ) -> dict[str, Any] | None:
        """The first message or edit by the bot in ``chat`` since ``since`` whose text holds
        one of ``fragments`` (waiting up to ``timeout`` seconds for it)."""
        wanted = tuple(fragments)
        end = time.monotonic() + timeout
        seen = 0
        with self.cond:
            while True:
                events = self.by_chat[chat]
                for event in events[seen:]:
                    if event["type"] not in ("message", "edit") or event["at"] < since:
                        continue
                    message = event["message"]
                    if from_bot(message) and any(f in text_of(message) for f in wanted):
                        return event
                seen = len(events)
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def buttons(
        self, chat: int, label: str, message_id: int | None = None
    ) -> list[tuple[int, str]]:
        """(message id, callback data) of the bot's messages in ``chat`` now carrying a button
        ``label`` (only that message's, with ``message_id``), oldest first."""
        found: list[tuple[int, str]] = []
        with self.cond:
            messages = list(self.latest[chat].items())
        for mid, message in sorted(messages):
            if (message_id is not None and mid != message_id) or not from_bot(message):
                continue
            for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
                for button in row:
                    if button.get("text") == label and "callback_data" in button:
                        found.append((mid, str(button["callback_data"])))
        return found

    def wait_button(
        self, chat: int, label: str, message_id: int, timeout: float
    ) -> tuple[int, str] | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = self.buttons(chat, label, message_id)
            if found:
                return found[0]
            with self.cond:
                self.cond.wait(0.2)
        return None

    def bot_messages(self) -> list[dict[str, Any]]:
        """Every message the bot sent, as sent (``chat_id``, ``message``, ``at``)."""
        with self.cond:
            return [e for e in self.events if e["type"] == "message" and from_bot(e["message"])]

    def close(self) -> None:
        self.closed = True


# --- the trial ------------------------------------------------------------------------------


@dataclass
class Step:
    """One thing a person did."""

    who: int
    kind: str
    at: float
    expected: tuple[str, ...]
    answer: str | None = None  # the text that answered it (None: nothing yet)
    as_expected: bool = False
    refused: str | None = None  # the sandbox refused it (a button gone): never reached the bot


@dataclass
class Kill:
    """One SIGKILL: when, how long after the bot's start, and the rows in flight then."""

    number: int
    at: float
    uptime: float
    in_flight: list[tuple[int, int, str]] = field(default_factory=list)  # row, chat, text
    restarted_at: float = 0.0


@dataclass
class Owner:
    uid: int
    n: int  # the demo roster's owner number (phone +86 139 0000 NNNN)
    name: str
    units: list[str]
    joins_after: float
    registered: bool = False
    filings: list[tuple[str, str | None]] = field(default_factory=list)  # (description, number)


class Trial:
    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args = args
        self.seed: int = args.seed
        self.rng = random.Random(self.seed)
        self.folder = folder
        self.sandbox = SandboxProcess(folder / "sandbox")
        self.db_path = folder / "wuye.db"
        self.bot: BotProcess | None = None
        self.record: Record | None = None
        self.steps: list[Step] = []
        self.kills: list[Kill] = []
        self.lock = threading.Lock()
        self.load_over = threading.Event()
        self.staff_over = threading.Event()
        self.clock_moves: list[float] = []  # minutes
        self.staff_taps = Counter[str]()
        self.errors: list[str] = []
        self.started_at = 0.0
        self.cs = self.eng = 0
        self.owners: list[Owner] = []
        self.threads: list[threading.Thread] = []
        self.marked: set[tuple[int, int]] = set()  # (row, attempts) in flight at the last kill

    # -- plumbing ----------------------------------------------------------------------------

    def rng_for(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{name}")

    def post(self, path: str, body: Any = None) -> Any:
        assert self.sandbox is not None
        return self.sandbox.post(path, body)

    def send(self, uid: int, text: str, chat: int | None = None) -> None:
        self.post(f"/api/chats/{chat or uid}/text", {"as": uid, "text": text})

    def tap(self, uid: int, chat: int, message_id: int, data: str) -> Any:
        return self.post(
            f"/api/chats/{chat}/tap", {"as": uid, "message_id": message_id, "data": data}
        )

    def photo(self, uid: int, content: bytes, filename: str, caption: str) -> None:
        fields = {"as": str(uid), **({"caption": caption} if caption else {})}
        self.sandbox.upload(f"/api/chats/{uid}/photo", fields, content, filename)

    def step(
        self,
        who: int,
        kind: str,
        act: Callable[[], Any],
        expected: tuple[str, ...],
        timeout: float = PATIENCE,
    ) -> str | None:
        """Do one step as a person and wait for its answer; the answer's text, or None (no
        answer, or not the one expected: the person starts over)."""
        assert self.record is not None
        step = Step(who, kind, time.time(), expected)
        with self.lock:
            self.steps.append(step)
        try:
            act()
        except (urllib.error.HTTPError, urllib.error.URLError, TimeoutError) as exc:
            step.refused = str(exc)
            return None
        event = self.record.wait(who, step.at, expected + OTHER_ANSWERS, timeout)
        if event is None:
            return None
        step.answer = text_of(event["message"])
        step.as_expected = any(f in step.answer for f in expected)
        return step.answer if step.as_expected else None

    def pause(self, rng: random.Random, low: float, high: float, stop: threading.Event) -> bool:
        """Sleep a while; False once ``stop`` is set."""
        return not stop.wait(rng.uniform(low, high))

    # -- setting up --------------------------------------------------------------------------

    def set_up(self) -> None:
        self.sandbox.start()
        self.record = Record(self.sandbox.base).start()
        self.bot = BotProcess(self.sandbox, self.db_path, admins=str(ADMIN))
        self.bot.cli("seed-demo")
        self.sandbox.player(ADMIN, "管理员")
        for uid, name in STAFF.items():
            self.sandbox.player(uid, name)
        self.cs = self.sandbox.group("客服中心", [ADMIN, 9001, 9002])
        self.eng = self.sandbox.group("工程部", [ADMIN, 9003, 9004])
        self.bot.start()
        self.started_at = time.time()
        for chat, name in ((self.cs, "客服中心"), (self.eng, "工程部")):
            self.send(ADMIN, f"/bind {name}", chat=chat)
            self.sandbox.wait_text(chat, "本群已绑定")
        spread = self.args.kills * 3.0 * 0.6  # owners join over the first part of the run
        for k in range(self.args.owners):
            n = k + 1  # owner 1 has two units (1栋 101, 2栋 101): asked which
            name = SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)]
            units = ["1栋 101", "2栋 101"] if n == 1 else []
            joins = 0.0 if k < 2 else self.rng.uniform(0, spread)
            owner = Owner(8000 + n, n, name, units, joins)
            self.sandbox.player(owner.uid, name, phone=f"+861390000{n:04d}")
            self.owners.append(owner)

    # -- people ------------------------------------------------------------------------------

    def owner_life(self, owner: Owner) -> None:
        rng = self.rng_for(f"owner{owner.uid}")
        if self.load_over.wait(owner.joins_after):
            return
        try:
            k = 0
            while not self.load_over.is_set():
                if not owner.registered:
                    self.register(owner)
                else:
                    k += 1
                    self.file(owner, k, rng)
                if not self.pause(rng, 2.0, 8.0, self.load_over):
                    return
        except Exception as exc:
            self.errors.append(f"owner {owner.uid}: {exc!r}")

    def register(self, owner: Owner) -> None:
        answer = self.step(owner.uid, "start", lambda: self.send(owner.uid, "/start"),
                           ("分享您的手机号码", "您好，"))  # fmt: skip
        if answer is None:
            return
        if "您好，" in answer:
            owner.registered = True
            return
        contact = f"/api/chats/{owner.uid}/contact"
        answer = self.step(owner.uid, "contact", lambda: self.post(contact, {"as": owner.uid}),
                           ("身份验证成功",))  # fmt: skip
        owner.registered = answer is not None

    def file(self, owner: Owner, k: int, rng: random.Random) -> None:
        """One filing, step by step; any step unanswered ends it (the owner starts again)."""
        assert self.record is not None
        uid = owner.uid
        kind = "complain" if rng.random() < 0.25 else "request"
        description = f"{rng.choice(PROBLEMS)}（{uid}-{k}）"
        owner.filings.append((description, None))
        if self.step(uid, kind, lambda: self.send(uid, f"/{kind}"), ("请选择类别",)) is None:
            return
        if not self.press(uid, "报修", ("请描述情况", "是哪一套房屋"), "category"):
            return
        if owner.units and self.last_answer(uid).startswith("是哪一套房屋"):
            label = "阳光花园 · " + rng.choice(owner.units)
            if not self.press(uid, label, ("请描述情况",), "unit"):
                return
        time.sleep(rng.uniform(0.2, 1.5))  # typing
        how = rng.random()
        if how < 0.35:
            data, name = picture(rng)
            act: Callable[[], Any] = lambda: self.photo(uid, data, name, description)  # noqa: E731
            if self.step(uid, "photo", act, ("紧急吗",)) is None:
                return
        else:
            if how < 0.5:
                data, name = picture(rng)
                act = lambda: self.photo(uid, data, name, "")  # noqa: E731
                if self.step(uid, "photo", act, ("已收到照片",)) is None:
                    return
            act = lambda: self.send(uid, description)  # noqa: E731
            if self.step(uid, "describe", act, ("紧急吗",)) is None:
                return
        time.sleep(rng.uniform(0.2, 1.0))
        label = "🚨 紧急" if rng.random() < 0.2 else "普通"
        answer = self.press(uid, label, ("已受理",), "urgency")
        if answer:
            found = NUMBER.search(answer)
            owner.filings[-1] = (description, found.group(0) if found else None)

    def last_answer(self, uid: int) -> str:
        with self.lock:
            mine = [s for s in self.steps if s.who == uid]
        return mine[-1].answer or "" if mine else ""

    def press(self, uid: int, label: str, expected: tuple[str, ...], kind: str) -> str | None:
        """Tap the newest button ``label`` in the owner's chat and wait for the answer."""
        assert self.record is not None
        found = self.record.buttons(uid, label)
        if not found:
            return None
        message_id, data = found[-1]
        return self.step(uid, kind, lambda: self.tap(uid, uid, message_id, data), expected)

    def staff_tap(self, uid: int, chat: int, message_id: int, data: str, what: str) -> bool:
        try:
            answer = self.tap(uid, chat, message_id, data)
        except (urllib.error.HTTPError, urllib.error.URLError, TimeoutError):
            return False  # the button went meanwhile (someone else pressed, an edit)
        self.staff_taps[what] += 1
        return answer.get("answer") is not None

    def assistant_life(self) -> None:
        """Customer service: refer each new card to engineering, or resolve one on the spot."""
        assert self.record is not None
        rng = self.rng_for("assistant")
        while self.pause(rng, 0.3, 2.5, self.staff_over):
            if rng.random() < 0.08 and not self.pause(rng, 8.0, 20.0, self.staff_over):
                return  # a break: the cards wait, their clocks warn and fall due
            cards = self.record.buttons(self.cs, "➡️ 转交部门")
            if not cards:
                continue
            message_id, data = rng.choice(cards)
            if rng.random() < 0.15:
                resolve = self.record.buttons(self.cs, "✅ 当场解决", message_id)
                if resolve:
                    self.staff_tap(ASSISTANT, self.cs, message_id, resolve[0][1], "resolve")
                continue
            if not self.staff_tap(ASSISTANT, self.cs, message_id, data, "refer"):
                continue
            menu = self.record.wait_button(self.cs, "工程部", message_id, 5.0)
            if menu is not None:
                self.staff_tap(ASSISTANT, self.cs, message_id, menu[1], "to engineering")

    def engineer_life(self) -> None:
        """Engineering: take each card, sometimes promise a time, finish it."""
        assert self.record is not None
        rng = self.rng_for("engineer")
        while self.pause(rng, 0.3, 2.5, self.staff_over):
            labels = ["🙋 接单", "✅ 已完成", "⏰ 约定完成时间"]
            label = rng.choices(labels, weights=[5, 4, 1])[0]
            cards = self.record.buttons(self.eng, label)
            if not cards:
                continue
            message_id, data = rng.choice(cards)
            if not self.staff_tap(ENGINEER, self.eng, message_id, data, label[2:]):
                continue
            if label.startswith("⏰"):
                when = self.record.wait_button(self.eng, "明天 12:00 前", message_id, 5.0)
                if when is not None:
                    self.staff_tap(ENGINEER, self.eng, message_id, when[1], "promise")

    def supervisor_life(self) -> None:
        """The project supervisor classifies each new complaint (C-4)."""
        assert self.record is not None
        rng = self.rng_for("supervisor")
        while self.pause(rng, 0.5, 3.0, self.staff_over):
            label = "重要" if rng.random() < 0.2 else "轻微"
            cards = self.record.buttons(SUPERVISOR, label)
            if cards:
                message_id, data = rng.choice(cards)
                self.staff_tap(SUPERVISOR, SUPERVISOR, message_id, data, "classify")

    def clock_life(self) -> None:
        """Time passes for the bot: a few minutes every few seconds, now and then hours."""
        assert self.bot is not None
        rng = self.rng_for("clock")
        while self.pause(rng, 3.0, 7.0, self.load_over):
            minutes = rng.uniform(2, 8) if rng.random() < 0.85 else rng.uniform(60, 300)
            self.advance(minutes)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> None:
        assert self.bot is not None and self.record is not None
        lives: list[tuple[str, Callable[[], None]]] = [
            ("assistant", self.assistant_life),
            ("engineer", self.engineer_life),
            ("supervisor", self.supervisor_life),
            ("clock", self.clock_life),
        ]
        lives += [(f"owner{o.uid}", lambda o=o: self.owner_life(o)) for o in self.owners]  # type: ignore[misc]
        for name, life in lives:
            thread = threading.Thread(target=life, name=name, daemon=True)
            thread.start()
            self.threads.append(thread)
        self.load_began = time.time()
        low, high = self.args.uptime
        for number in range(1, self.args.kills + 1):
            uptime = self.rng.uniform(low, high)
            time.sleep(max(0.0, self.started_at + uptime - time.time()))
            kill = Kill(number, time.time(), time.time() - self.started_at)
            self.bot.kill()
            time.sleep(0.3)  # the sandbox's last events reach the record
            kill.in_flight = self.in_flight()
            time.sleep(self.rng.uniform(0.0, 0.5))  # the supervisor restarts it
            self.bot.start()
            self.started_at = kill.restarted_at = time.time()
            self.kills.append(kill)
            if not self.args.json:
                print(f"  kill {number:>2} at {kill.uptime:4.1f} s up;"
                      f" in flight {len(kill.in_flight)}", file=sys.stderr, flush=True)  # fmt: skip
        time.sleep(self.rng.uniform(low, high))
        self.load_ended = time.time()
        self.load_over.set()
        for thread in self.threads:
            if thread.name.startswith("owner"):
                thread.join(PATIENCE * 8)
        self.staff_over.set()
        for thread in self.threads:
            thread.join(15)
        self.settle()

    def in_flight(self) -> list[tuple[int, int, str]]:
        """The outbox rows in flight now, the bot down: its own record of the attempts under
        way (``OutboxStore.in_flight``), as (row, chat, text shown). A mark left from the
        kill before (the bot killed again before its sender started and cleared it) is the
        same attempt, not counted twice."""

        async def read() -> list[tuple[int, int, str, int]]:
            db = await Database.open(self.db_path, clock=SystemClock())
            try:
                found = []
                for row_id in await OutboxStore(db).in_flight():
                    row = await db.fetchone(
                        "SELECT chat_id, text, attempts FROM outbox WHERE id = ?", (row_id,)
                    )
                    if row is not None:
                        text = shown(row["text"] or "")
                        found.append((row_id, int(row["chat_id"]), text, int(row["attempts"])))
                return found
            finally:
                await db.close()

        marked = asyncio.run(read())
        already, self.marked = self.marked, {(r[0], r[3]) for r in marked}
        return [
            (row, chat, text) for row, chat, text, tries in marked if (row, tries) not in already
        ]

    def advance(self, minutes: float) -> None:
        assert self.bot is not None
        self.bot.advance(minutes=minutes)
        self.clock_moves.append(minutes)

    def settle(self) -> None:
        """The clock a day on, then wait: no pending outbox row, no open deadline past due,
        nothing new in the sandbox for a few seconds."""
        assert self.bot is not None and self.record is not None
        self.advance(24 * 60.0)
        began = time.time()

        def quiet() -> bool:
            conn = sqlite3.connect(self.db_path, timeout=10)
            try:
                pending = conn.execute(
                    "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"
                ).fetchone()[0]
            finally:
                conn.close()
            assert self.record is not None
            return (
                not pending and not self.open_past_due() and time.time() - self.record.last_at() > 4
            )

        wait_for(quiet, timeout=600, what="the bot to settle")
        self.settled_in = time.time() - began
        self.bot.stop()

    def open_past_due(self) -> list[tuple[Any, ...]]:
        assert self.bot is not None
        now = self.bot.now().isoformat()
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            return conn.execute(
                "SELECT id, case_id, rule, state, due_at FROM deadlines"
                " WHERE state IN ('pending', 'warned') AND due_at <= ?",
                (now,),
            ).fetchall()
        finally:
            conn.close()

    # -- counting ----------------------------------------------------------------------------

    def count(self) -> dict[str, Any]:
        assert self.bot is not None and self.record is not None
        report: dict[str, Any] = {"seed": self.seed, "problems": []}
        problems: list[str] = report["problems"]
        conn = sqlite3.connect(self.db_path)
        try:
            report.update(self.count_cases(conn, problems))
            report.update(self.count_notices(problems))
            report.update(self.count_clocks(conn, problems))
        finally:
            conn.close()
        report.update(self.count_steps(problems))
        done = subprocess.run(
            [sys.executable, "-m", "bot", "check-audit"], env=self.bot.env, cwd=self.bot.cwd,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        report["audit"] = {
            "ok": done.returncode == 0,
            "output": (done.stdout + done.stderr).strip().splitlines()[:3],
        }
        if done.returncode:
            problems.append("check-audit: " + " ".join(report["audit"]["output"]))
        report["run"] = {
            "kills": len(self.kills),
            "uptime_s": [round(k.uptime, 2) for k in self.kills],
            "load_s": round(self.load_ended - self.load_began, 1),
            "settle_s": round(self.settled_in, 1),
            "owners": len(self.owners),
            "clock_moves": len(self.clock_moves),
            "clock_minutes": round(sum(self.clock_moves)),
            "record_reconnects": self.record.reconnects,
            "errors": self.errors,
        }
        if self.errors:
            problems += self.errors
        if self.record.reconnects:
            problems.append(f"the event stream broke {self.record.reconnects} time(s)")
        report["goals"] = {
            "cases": report["cases"]["ok"],
            "notices": report["notices"]["ok"],
            "in_flight": report["in_flight"]["ok"],
            "clocks": report["clocks"]["ok"],
            "stuck": report["stuck"]["ok"],
            "audit": report["audit"]["ok"],
        }
        report["ok"] = all(report["goals"].values()) and not self.errors
        return report

    def owner_chats(self) -> dict[int, Owner]:
        return {o.uid: o for o in self.owners}

    def count_cases(self, conn: sqlite3.Connection, problems: list[str]) -> dict[str, Any]:
        assert self.record is not None
        owners = self.owner_chats()
        rows = conn.execute(
            "SELECT c.number, c.description, c.draft_key, p.tg_user_id, c.kind FROM cases c"
            " LEFT JOIN people p ON p.id = c.resident_id"
        ).fetchall()
        numbers = {row[0] for row in rows}
        told: dict[str, set[int]] = defaultdict(set)
        acknowledged: set[tuple[int, str]] = set()
        for event in self.record.events:
            if event["type"] not in ("message", "edit") or event.get("chat_id") not in owners:
                continue
            message = event["message"]
            if not from_bot(message):
                continue
            text = text_of(message)
            for number in NUMBER.findall(text):
                told[number].add(int(event["chat_id"]))
                if "已受理" in text:
                    acknowledged.add((int(event["chat_id"]), number))
        missing = sorted(n for n in told if n not in numbers)
        by_description = Counter(row[1] for row in rows)
        twice = sorted(d for d, n in by_description.items() if n > 1)
        keys = Counter(row[2] for row in rows if row[2])
        twice_keys = sorted(k for k, n in keys.items() if n > 1)
        untold = sorted(row[0] for row in rows if (row[3], row[0]) not in acknowledged)
        for number in missing:
            problems.append(f"case {number} told to {sorted(told[number])} is not in the database")
        for description in twice:
            problems.append(f"one filing became {by_description[description]} cases: {description}")
        for key in twice_keys:
            problems.append(f"draft {key} filed {keys[key]} times")
        for number in untold:
            problems.append(f"case {number} was never told to its owner")
        filings = [f for o in self.owners for f in o.filings]
        return {
            "cases": {
                "in_database": len(rows),
                "complaints": sum(row[4] == "complaint" for row in rows),
                "filings_begun": len(filings),
                "acknowledged_to_owner": sum(1 for f in filings if f[1]),
                "told_numbers": len(told),
                "told_but_missing": missing,
                "filed_twice": twice + twice_keys,
                "never_told": untold,
                "ok": not (missing or twice or twice_keys or untold),
            }
        }

    def count_notices(self, problems: list[str]) -> dict[str, Any]:
        """Identical messages about a case in one chat, and the outbox rows in flight at the
        kills: read at each kill (``OutboxStore.in_flight``) and at the end
        (``storage.outbox.crashed_sends``: each such row, how often found so, how it ended)."""
        assert self.record is not None
        copies: dict[tuple[int, str], list[float]] = defaultdict(list)
        total = 0
        for event in self.record.bot_messages():
            text = text_of(event["message"])
            copies[(int(event["chat_id"]), text)].append(event["at"])
            total += bool(NUMBER.search(text))
        in_flight = Counter((chat, text) for k in self.kills for _, chat, text in k.in_flight)
        duplicates = explained = 0
        unexplained: list[dict[str, Any]] = []
        for key, times in copies.items():
            extra = len(times) - 1
            if extra <= 0 or not NUMBER.search(key[1]):
                continue
            duplicates += extra
            ok = min(extra, in_flight[key])
            explained += ok
            if extra > ok:
                kills = [k.number for k in self.kills if times[0] <= k.at <= times[-1]]
                unexplained.append(
                    {"chat": key[0], "text": key[1][:80], "copies": len(times),
                     "in_flight": in_flight[key], "kills_between": kills}
                )  # fmt: skip
        for item in unexplained:
            problems.append(
                f"chat {item['chat']} got {item['copies']} copies ({item['in_flight']} in flight"
                f" at a kill; kills between them: {item['kills_between']}): {item['text']}"
            )
        # A row in flight reached its chat before the kill (Telegram had it) when a copy
        # came just before; the restart's send is then a second copy.
        seen: list[dict[str, Any]] = [
            {"kill": k.number, "row": row, "chat": chat, "text": text[:60],
             "before_kill": any(k.at - 2.0 <= t <= k.at + 0.5 for t in copies[(chat, text)]),
             "after_restart": any(t >= k.restarted_at for t in copies[(chat, text)])}
            for k in self.kills
            for row, chat, text in k.in_flight
        ]  # fmt: skip
        per_kill = [len(k.in_flight) for k in self.kills]
        per_chat = max(
            (n for k in self.kills for n in Counter(c for _, c, _ in k.in_flight).values()),
            default=0,
        )
        for k in self.kills:  # the goal: at most one row in flight per chat at a kill
            busiest = max(Counter(c for _, c, _ in k.in_flight).values(), default=0)
            if busiest > 1:
                twice = [i for i in seen if i["kill"] == k.number and i["before_kill"]]
                problems.append(
                    f"kill {k.number} ({k.uptime:.1f} s after a start): {busiest} rows in flight"
                    f" to one chat, {len(twice)} already delivered, so sent twice"
                    f" (rows {[r for r, _, _ in k.in_flight]})"
                )
        crashed = asyncio.run(self.crashed())
        given_up = [
            (c.id, len(copies[(c.chat_id, text)])) for c, text in crashed if c.state == "failed"
        ]
        for row_id, delivered in given_up:
            if not delivered:  # (delivered once before: nothing lost)
                problems.append(f"outbox row {row_id}, in flight at two kills, never arrived")
        reached_twice = sum(1 for item in seen if item["before_kill"] and item["after_restart"])
        return {
            "notices": {
                "about_cases": total,
                "duplicates": duplicates,
                "explained_by_in_flight": explained,
                "unexplained": unexplained,
                "ok": not unexplained,
            },
            "in_flight": {
                "rows": sum(per_kill),
                "kills_with_any": sum(1 for n in per_kill if n),
                "most_at_one_kill": max(per_kill, default=0),
                "most_to_one_chat_at_one_kill": per_chat,
                "reached_twice": reached_twice,
                "crashed_sends": len(crashed),
                "resent_once": sum(1 for c, _ in crashed if c.crashed_sends == 1),
                "given_up": given_up,
                "rows_seen": seen,
                "ok": max(per_kill, default=0) <= 1 and all(n for _, n in given_up),
            },
        }

    async def crashed(self) -> list[tuple[CrashedSend, str]]:
        """The rows found in flight after a kill (``crashed_sends``), with their text shown."""
        db = await Database.open(self.db_path, clock=SystemClock())
        try:
            found = []
            for crash in await crashed_sends(db):
                row = await db.fetchone("SELECT text FROM outbox WHERE id = ?", (crash.id,))
                found.append((crash, shown(row["text"] or "") if row else ""))
            return found
        finally:
            await db.close()

    def count_clocks(self, conn: sqlite3.Connection, problems: list[str]) -> dict[str, Any]:
        assert self.bot is not None
        now = self.bot.now().isoformat()
        states = Counter(
            dict(conn.execute("SELECT state, COUNT(*) FROM deadlines GROUP BY state").fetchall())
        )
        warned = conn.execute(
            "SELECT COUNT(*) FROM deadlines WHERE warned_at IS NOT NULL"
        ).fetchone()[0]
        late = conn.execute("SELECT COUNT(*) FROM deadlines WHERE late = 1").fetchone()[0]
        open_past = conn.execute(
            "SELECT id, case_id, rule, state, due_at FROM deadlines"
            " WHERE state IN ('pending', 'warned') AND due_at <= ?",
            (now,),
        ).fetchall()
        fired = Counter(
            (case_id, rule)
            for case_id, rule in conn.execute(
                "SELECT case_id, rule FROM deadlines WHERE state = 'fired'"
            ).fetchall()
        )
        missed: Counter[tuple[int, str]] = Counter()
        for subject, data in conn.execute(
            "SELECT subject, data FROM audit WHERE event = 'case.deadline_missed'"
        ).fetchall():
            rule = json.loads(data).get("rule")
            missed[(int(subject.split(":", 1)[1]), str(rule))] += 1
        twice = sorted((k, n) for k, n in missed.items() if n > fired[k])
        for row in open_past:
            problems.append(
                f"deadline {row[0]} (case {row[1]}, {row[2]}) still {row[3]}, due {row[4]}"
            )
        for (case_id, rule), n in twice:
            problems.append(
                f"case {case_id}'s {rule} recorded missed {n} times, fired {fired[(case_id, rule)]}"
            )
        return {
            "clocks": {
                "deadlines": sum(states.values()),
                "fell_due": states.get("fired", 0) + len(open_past),
                "fired": states.get("fired", 0),
                "warned": warned,
                "late": late,
                "met": states.get("met", 0),
                "cancelled": states.get("cancelled", 0),
                "open_past_due": len(open_past),
                "missed_events": sum(missed.values()),
                "fired_twice": len(twice),
                "ok": not open_past and not twice,
            }
        }

    def count_steps(self, problems: list[str]) -> dict[str, Any]:
        """Each owner step answered before their next one (an answer that came late counts);
        each owner's last step answered."""
        assert self.record is not None
        with self.lock:
            steps = [s for s in self.steps if s.refused is None]
        by_owner: dict[int, list[Step]] = defaultdict(list)
        for step in steps:
            by_owner[step.who].append(step)
        unanswered: list[Step] = []
        otherwise = 0
        for owner_steps in by_owner.values():
            for step, following in zip(owner_steps, [*owner_steps[1:], None], strict=True):
                if step.answer is None:  # perhaps it came after the owner gave up waiting
                    until = following.at if following else float("inf")
                    late = self.record.wait(step.who, step.at, step.expected + OTHER_ANSWERS, 0)
                    if late is not None and late["at"] < until:
                        step.answer = text_of(late["message"])
                        step.as_expected = any(f in step.answer for f in step.expected)
                if step.answer is None:
                    unanswered.append(step)
                elif not step.as_expected:
                    otherwise += 1
        last_unanswered = [s[-1].who for s in by_owner.values() if s[-1].answer is None]
        for step in unanswered:
            kills = [k.number for k in self.kills if step.at - 0.5 <= k.at <= step.at + 3.0]
            problems.append(
                f"owner {step.who}'s {step.kind} at {step.at - self.load_began:.1f} s was never"
                f" answered (kills near it: {kills})"
            )
        return {
            "steps": {
                "by_owners": len(steps),
                "by_staff": sum(self.staff_taps.values()),
                "staff": dict(self.staff_taps),
                "answered_otherwise": otherwise,
            },
            "stuck": {
                "unanswered_steps": len(unanswered),
                "owners_last_step_unanswered": len(last_unanswered),
                "ok": not unanswered and not last_unanswered,
            },
        }

    def dump(self, path: Path) -> None:
        """The record, the steps and the kills, for a closer look (``--keep``)."""
        assert self.record is not None
        data = {
            "events": self.record.events,
            "steps": [s.__dict__ for s in self.steps],
            "kills": [k.__dict__ for k in self.kills],
            "load_began": self.load_began,
        }
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    def tear_down(self) -> None:
        if self.record is not None:
            self.record.close()
        if self.bot is not None:
            self.bot.stop()
        self.sandbox.stop()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(report: dict[str, Any]) -> str:
    run, cases, notices = report["run"], report["cases"], report["notices"]
    flight, clocks, steps, stuck = (
        report["in_flight"], report["clocks"], report["steps"], report["stuck"]
    )  # fmt: skip
    uptimes = run["uptime_s"] or [0.0]
    lost = sum(1 for _, n in flight["given_up"] if not n)
    hours, minutes = divmod(run["clock_minutes"], 60)
    lines = [
        f"  seed         {report['seed']}",
        f"  run          {run['kills']} kills (each {min(uptimes):.1f}–{max(uptimes):.1f} s after a"
        f" start), load {run['load_s']:.0f} s, settled in {run['settle_s']:.0f} s",
        f"  steps        {steps['by_owners'] + steps['by_staff']}: {steps['by_owners']} by"
        f" {run['owners']} owners, {steps['by_staff']} staff taps"
        f" ({', '.join(f'{k} {v}' for k, v in sorted(steps['staff'].items()))});"
        f" clock moved {run['clock_moves']} times (+{hours} h {minutes} min)",
        f"  cases        {cases['in_database']} in the database ({cases['complaints']} complaints),"
        f" {cases['told_numbers']} numbers told to owners; told but missing"
        f" {len(cases['told_but_missing'])}, filed twice {len(cases['filed_twice'])},"
        f" never told {len(cases['never_told'])}"
        f"  {verdict(cases['ok'])}",
        f"  notices      {notices['about_cases']} about cases; duplicates {notices['duplicates']}"
        f" ({notices['explained_by_in_flight']} rows in flight at a kill,"
        f" {len(notices['unexplained'])} unexplained)  {verdict(notices['ok'])}",
        f"  in flight    {flight['rows']} rows at {flight['kills_with_any']} of {run['kills']}"
        f" kills (most at one kill {flight['most_at_one_kill']}, to one chat"
        f" {flight['most_to_one_chat_at_one_kill']}), sent again once {flight['resent_once']};"
        f" {flight['reached_twice']} reached the chat twice; given up after a second kill"
        f" {len(flight['given_up'])} (never arrived {lost})"
        f"  {verdict(flight['ok'])}",
        f"  clocks       {clocks['fell_due']} fell due: fired {clocks['fired']}"
        f" ({clocks['late']} late), warned {clocks['warned']}, met {clocks['met']}; open past due"
        f" {clocks['open_past_due']}, fired twice {clocks['fired_twice']}"
        f"  {verdict(clocks['ok'])}",
        f"  stuck        {stuck['unanswered_steps']} owner steps unanswered"
        f" ({steps['answered_otherwise']} answered otherwise), owners whose last step went"
        f" unanswered {stuck['owners_last_step_unanswered']}  {verdict(stuck['ok'])}",
        f"  audit        {'; '.join(report['audit']['output'][:1])}"
        f"  {verdict(report['audit']['ok'])}",
    ]
    lines += [f"  FAIL: {problem}" for problem in report["problems"]]
    lines.append(f"  {'PASS' if report['ok'] else 'FAIL'}")
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=30, help="SIGKILLs (30)")
    parser.add_argument("--owners", type=int, default=6, help="owners (6)")
    parser.add_argument("--seed", type=int, default=None, help="the choices' seed (random)")
    parser.add_argument("--quick", action="store_true", help="3 kills, 3 owners")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--keep", type=Path, help="keep the databases and logs in this folder")
    args = parser.parse_args(argv)
    if args.quick:
        args.kills, args.owners = 3, 3
    if args.kills < 1 or args.owners < 1:
        parser.error("at least one kill and one owner")
    if args.seed is None:
        args.seed = int.from_bytes(os.urandom(4), "big")
    args.uptime = (0.4, 5.0)  # seconds from a start to its kill
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if not args.json:
        print(f"  seed {args.seed}: {args.kills} kills, {args.owners} owners", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="wuye-crash-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        trial = Trial(args, folder)
        try:
            trial.set_up()
            trial.run()
            report = trial.count()
            if args.keep:
                trial.dump(folder / "record.json")
        finally:
            trial.tear_down()
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
