"""Benchmark: the outbox sender draining a backlog under Telegram's limits.

    python bench/outbox.py [--private 480] [--each 3] [--groups 2] [--group-each 30]
                           [--latency 0.0] [--jitter 0.0] [--no-limiter] [--json]

What it does:

1. opens a fresh database (``Database.open``: the migrations) and queues ``--each``
   messages to each of ``--private`` private chats and ``--group-each`` to each of
   ``--groups`` groups (default 1,500: 3 to each of 480 people, 30 to each of 2 groups),
   in one transaction, round by round (every chat's first message, then every chat's
   second…), as a burst of notices would come;
2. runs the bot's :class:`bot.outbox.OutboxSender` as the bot does (``run``: its own task,
   pacing on real time) against an in-process sandbox :class:`sandbox.world.World` (the
   sandbox's Telegram), through PTB's ``ExtBot`` with the bot's ``AIORateLimiter``
   (``--no-limiter``: without it), until every message is sent;
3. reads the world's own call log (when each ``sendMessage`` reached Telegram; not the
   sender's bookkeeping) and reports:

   * the rate until the last private message: messages delivered by then / seconds from the
     sender's start to it (goal ≥ 29 msg/s), and the time until the last message (the
     groups' last ten wait for their second minute);
   * violations of Telegram's limits (goal 0 of each): windows of 1 s holding more than 30
     messages, two messages to one private chat less than 1.0 s apart, windows of 60 s
     holding more than 20 messages to one group. A window starts at a message and runs up
     to, not including, 1 s (60 s) later; "windows" counts the messages whose window is
     over the limit;
   * delivery: each queued message delivered once, in order per chat, every row ``sent``;
   * the in-flight window: how long after its attempt was recorded (the mark committed,
     ``storage.outbox``: a row in flight when the process dies is resent once) each
     request reached the HTTP layer; the shorter, the fewer rows a crash leaves in doubt.

``--latency`` makes each request take that long (half before Telegram sees it, half for
the answer), ``--jitter`` adds up to that much at random to the first half: a slow, uneven
line. Exit status 1 when a message is lost, repeated or out of order, or a limit was broken.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import itertools
import json
import random
import re
import tempfile
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import BaseRequest, RequestData

from bot.outbox import OutboxSender
from bot.pacing import GROUP_PER_MINUTE, PER_SECOND, PRIVATE_GAP
from sandbox.world import ApiError, World
from storage.clock import SystemClock
from storage.db import Database
from storage.outbox import OutboxStore, Recovered, enqueue

TOKEN = "7000000001:bench-outbox-token"
#: The first private chat's id; the groups are supergroups, -1000000001000 and down
FIRST_PERSON = 100_001
GROUP_BASE = -1_000_000_001_000
#: Give up (FAIL) when the backlog is not sent this long after the time it needs at best.
GIVE_UP_AFTER = 120.0
_METHOD = re.compile(r"/bot[^/]*/([^/]+)$")


class WorldRequest(BaseRequest):
    """PTB's HTTP layer replaced by a call into the in-process world, optionally slow."""

    def __init__(self, world: World, latency: float, jitter: float, seed: int = 1) -> None:
        self.world = world
        self.latency = latency
        self.jitter = jitter
        self.random = random.Random(seed)
        #: chat -> when (perf_counter) each sendMessage to it reached this layer, in order
        self.reached: dict[int, list[float]] = defaultdict(list)

    @property
    def read_timeout(self) -> float | None:
        return 10.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and url.endswith("/sendMessage"):
            self.reached[int(request_data.parameters["chat_id"])].append(time.perf_counter())
        there = self.latency / 2 + self.random.uniform(0, self.jitter)
        await asyncio.sleep(there)  # (0: still a turn of the loop, as a real request)
        match = _METHOD.search(urlsplit(url).path)
        name = match.group(1) if match else url
        params = json.loads(json.dumps(request_data.parameters if request_data else {}))
        try:
            result = self.world.call(TOKEN, name, params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.code, error.payload()
        if self.latency:
            await asyncio.sleep(self.latency / 2)
        return status, json.dumps(body, ensure_ascii=False).encode()


class MarkedStore(OutboxStore):
    """The sender's store, noting when each row's attempt was recorded (its mark
    committed): chat -> those moments (perf_counter), in order."""

    def __init__(self, db: Database, chat_of: dict[int, int]) -> None:
        super().__init__(db)
        self.chat_of = chat_of
        self.marked: dict[int, list[float]] = defaultdict(list)

    async def begin(self, ids: Collection[int]) -> tuple[list[int], Recovered]:
        marked, recovered = await super().begin(ids)
        now = time.perf_counter()
        for row in marked:
            self.marked[self.chat_of[row]].append(now)
        return marked, recovered


def over(times: list[float], seconds: float, limit: int) -> tuple[int, int]:
    """The most messages in any window of ``seconds`` starting at a message (up to, not
    including, ``seconds`` later), and how many such windows hold more than ``limit``."""
    best = windows = 0
    for i, start in enumerate(times):
        count = bisect_left(times, start + seconds) - i
        best = max(best, count)
        windows += count > limit
    return best, windows


def expected_plan(args: argparse.Namespace) -> dict[int, list[str]]:
    """The texts each chat must receive, in order."""
    plan: dict[int, list[str]] = {}
    for n in range(args.private):
        chat = FIRST_PERSON + n
        plan[chat] = [f"通知 {chat} #{k + 1}" for k in range(args.each)]
    for g in range(args.groups):
        chat = GROUP_BASE - g
        plan[chat] = [f"卡片 {chat} #{k + 1}" for k in range(args.group_each)]
    return plan


async def bench(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    world = World(token=TOKEN, bot_username="wuye_bench_bot", max_calls=10**7)
    plan = expected_plan(args)
    for chat in plan:
        if chat > 0:
            world.add_user(chat, f"业主{chat}")
        else:
            world.add_group(f"部门群 {-chat}", [], chat_id=chat, supergroup=True, announce=False)
    db = await Database.open(folder / "bench.db", clock=SystemClock())
    request = WorldRequest(world, args.latency, args.jitter)
    limiter = None if args.no_limiter else AIORateLimiter(max_retries=0)  # as the bot's
    bot: ExtBot[Any] = ExtBot(TOKEN, request=request, get_updates_request=request,
                              rate_limiter=limiter)  # fmt: skip
    total = sum(len(texts) for texts in plan.values())
    report: dict[str, Any] = {
        "messages": total,
        "private_chats": args.private,
        "each": args.each,
        "groups": args.groups,
        "group_each": args.group_each,
        "latency_s": args.latency,
        "jitter_s": args.jitter,
        "rate_limiter": limiter is not None,
        "problems": [],
    }
    try:
        await bot.initialize()
        started = time.perf_counter()
        chat_of: dict[int, int] = {}
        async with db.write() as conn:
            for k in range(max(args.each, args.group_each)):
                for chat, texts in plan.items():
                    if k < len(texts):
                        chat_of[await enqueue(conn, chat, texts[k])] = chat
        report["queue_s"] = time.perf_counter() - started
        store = OutboxStore(db)
        sender = OutboxSender(db, bot)
        sender.store = marks = MarkedStore(db, chat_of)
        stop = asyncio.Event()
        # Telegram's log is the world's: its clock is time.time; so is the start.
        begun = time.time()
        running = asyncio.create_task(sender.run(stop))
        groups_need = 60.0 * ((args.group_each - 1) // GROUP_PER_MINUTE) if args.groups else 0
        patience = max(total / PER_SECOND, groups_need) + GIVE_UP_AFTER
        for _ in range(int(patience / 0.2)):  # (polling: the sender has no "empty" event)
            if not await store.pending_count():
                break
            await asyncio.sleep(0.2)
        stop.set()
        await running
        report["pending_left"] = await store.pending_count()
        counts = await db.fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        report["rows"] = {row[0]: row[1] for row in counts}
    finally:
        await bot.shutdown()
        await db.close()
    measure(report, world, plan, begun)
    report["in_flight_window_ms"] = window(marks.marked, request.reached)
    return report


def window(marked: dict[int, list[float]], reached: dict[int, list[float]]) -> dict[str, Any]:
    """From each attempt recorded to its request reaching the HTTP layer (ms): p50, p99,
    max (a chat's marks and requests pair up in order; the bench has no retries)."""
    gaps = sorted(
        (sent - mark) * 1000
        for chat, marks in marked.items()
        for mark, sent in zip(marks, reached.get(chat, []), strict=False)
    )
    if not gaps:
        return {"count": 0, "p50": None, "p99": None, "max": None}

    def at(share: float) -> float:
        return gaps[min(int(share * len(gaps)), len(gaps) - 1)]

    return {"count": len(gaps), "p50": at(0.5), "p99": at(0.99), "max": gaps[-1]}


def measure(report: dict[str, Any], world: World, plan: dict[int, list[str]], begun: float) -> None:
    """Figures and violations from the world's call log."""
    sends = [
        (call.time, int(call.params["chat_id"]), str(call.params["text"]))
        for call in world.calls
        if call.method == "sendMessage" and call.ok
    ]
    sends.sort(key=lambda send: send[0])
    times = [t for t, _, _ in sends]
    problems: list[str] = report["problems"]
    per_chat: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for t, chat, text in sends:
        per_chat[chat].append((t, text))
    private_times = [t for t, chat, _ in sends if chat > 0]
    last_private = max(private_times) if private_times else begun
    by_then = bisect_left(times, last_private) + 1 if private_times else 0
    elapsed = last_private - begun
    report["delivered"] = len(sends)
    report["first_send_s"] = (times[0] - begun) if times else None
    report["until_last_private_s"] = elapsed
    report["delivered_by_last_private"] = by_then
    report["rate_until_last_private"] = by_then / elapsed if elapsed > 0 else 0.0
    report["until_last_s"] = (times[-1] - begun) if times else None
    # Telegram's limits, from Telegram's side.
    most, windows = over(times, 1.0, PER_SECOND)
    report["overall"] = {"most_in_1s": most, "windows_over_30": windows}
    gaps = [
        later - earlier
        for chat, got in per_chat.items()
        if chat > 0
        for (earlier, _), (later, _) in itertools.pairwise(got)
    ]
    report["private"] = {
        "closest_s": min(gaps) if gaps else None,
        "pairs_under_1s": sum(gap < PRIVATE_GAP for gap in gaps),
    }
    group_report: dict[str, Any] = {}
    for chat, got in per_chat.items():
        if chat < 0:
            most_g, windows_g = over([t for t, _ in got], 60.0, GROUP_PER_MINUTE)
            group_report[str(chat)] = {"most_in_60s": most_g, "windows_over_20": windows_g}
    report["groups_seen"] = group_report
    report["group_windows_over_20"] = sum(g["windows_over_20"] for g in group_report.values())
    # Delivery: once each, in order.
    wrong = [chat for chat, texts in plan.items() if [x for _, x in per_chat[chat]] != texts]
    if wrong:
        problems.append(f"{len(wrong)} chat(s) got their messages missing, twice or out of order")
    if report["pending_left"]:
        problems.append(f"{report['pending_left']} message(s) still pending")
    if report["rows"].get("sent", 0) != report["messages"]:
        problems.append(f"rows sent {report['rows'].get('sent', 0)} of {report['messages']}")
    if windows:
        problems.append(f"{windows} window(s) of 1 s over {PER_SECOND} messages")
    if report["private"]["pairs_under_1s"]:
        problems.append(f"{report['private']['pairs_under_1s']} private pair(s) under 1 s apart")
    if report["group_windows_over_20"]:
        problems.append(f"{report['group_windows_over_20']} group window(s) of 60 s over 20")
    report["ok"] = not problems


def table(report: dict[str, Any]) -> str:
    private, overall = report["private"], report["overall"]
    closest = private["closest_s"]
    most_g = max((g["most_in_60s"] for g in report["groups_seen"].values()), default=0)
    line = (
        f"  line         latency {report['latency_s'] * 1000:.0f} ms,"
        f" jitter {report['jitter_s'] * 1000:.0f} ms;"
        f" AIORateLimiter {'on' if report['rate_limiter'] else 'off'}"
    )
    lines = [
        f"  backlog      {report['messages']:,} messages: {report['each']} to each of"
        f" {report['private_chats']:,} private chats, {report['group_each']} to each of"
        f" {report['groups']} groups (queued in {report['queue_s'] * 1000:.0f} ms)",
        line,
        f"  rate         {report['rate_until_last_private']:.2f} msg/s until the last private"
        f" message ({report['delivered_by_last_private']:,} in"
        f" {report['until_last_private_s']:.2f} s); all {report['delivered']:,} in"
        f" {report['until_last_s'] or 0:.2f} s",
        f"  overall      most in any 1 s: {overall['most_in_1s']};"
        f" windows over 30: {overall['windows_over_30']}",
        "  private      closest two to one chat: "
        + (f"{closest:.3f} s" if closest is not None else "-")
        + f"; pairs under 1.0 s: {private['pairs_under_1s']}",
        f"  groups       most to one group in any 60 s: {most_g};"
        f" windows over 20: {report['group_windows_over_20']}",
        f"  delivery     {'OK' if not report['problems'] else 'FAIL'}: rows {report['rows']}",
    ]
    gap = report["in_flight_window_ms"]
    if gap["count"]:
        lines.append(
            f"  in flight    attempt recorded → request: p50 {gap['p50']:.2f} ms,"
            f" p99 {gap['p99']:.2f} ms, max {gap['max']:.2f} ms ({gap['count']:,} sends)"
        )
    lines += [f"  FAIL: {problem}" for problem in report["problems"]]
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--private", type=int, default=480, help="private chats (480)")
    parser.add_argument("--each", type=int, default=3, help="messages to each private chat (3)")
    parser.add_argument("--groups", type=int, default=2, help="groups (2)")
    parser.add_argument("--group-each", type=int, default=30, help="messages to each group (30)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds a request takes")
    parser.add_argument("--jitter", type=float, default=0.0, help="up to this much more, at random")
    parser.add_argument("--no-limiter", action="store_true", help="without PTB's AIORateLimiter")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if min(args.private, args.each, args.groups, args.group_each) < 0 or not (
        args.private * args.each + args.groups * args.group_each
    ):
        parser.error("nothing to send")
    if args.latency < 0 or args.jitter < 0:
        parser.error("--latency and --jitter cannot be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    with tempfile.TemporaryDirectory(prefix="wuye-bench-") as folder:
        report = asyncio.run(bench(args, Path(folder)))
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
