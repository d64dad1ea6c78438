"""Benchmark: another person's /help while a 429 (retry after 8 s) hits one owner.

    python bench/latency.py [--count 50] [--gap 0.35] [--owner-gap 2.0] [--retry-after 8]
                            [--json]

What it does:

1. runs the sandbox's Telegram in this process (:class:`sandbox.world.World` served by
   ``sandbox.server`` on a free port) and the real bot as its own process
   (``python -m bot run``, polling it over HTTP as in production, on a fresh database);
   two people, owner A (8001) and B (8002), each send /help once to warm up;
2. **quiet**: B sends /help ``--count`` times, ``--gap`` seconds apart, while A sends
   /help every ``--owner-gap`` seconds; until every message of both is answered;
3. **429 on A**: the same, but from B's first /help to B's last the sandbox answers every
   ``sendMessage`` to A's chat with 429 "Too Many Requests: retry after ``--retry-after``"
   (its fault API, for that chat only); then the faults stop, and the run waits until
   A's answers have arrived too;
4. reads the sandbox's own log: each of B's /help is timed from the moment the world took
   it (the world's clock, ``time.time``, read as the benchmark hands it the message) to the
   ``sendMessage`` to B that Telegram accepted (``ApiCall.time``, the same clock); the
   k-th /help of a person in a phase is answered by the k-th message to them (one answer
   each, in order). It prints B's median, p95 and max in each phase, the ratio of the
   p95s against the goal (≤ 2×), and how A fared: answers arrived, how late, the 429s
   Telegram gave A's chat.

B's /help comes faster than a private chat's second (0.35 s by default): a direct answer
takes its turn in the overall second but does not wait out its chat's second (README,
Telegram's limits), so what is measured is the answer's way through the bot, not pacing.
Fifty make the p95 the third slowest: one of the bot's full garbage collections (40-60 ms,
at the same point of every run) does not decide it alone.
Exit status 1 when an answer is missing or comes twice (the goal decides only the verdict).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from bench.live import (
    START_PATIENCE,
    answers,
    bot_env,
    bot_log,
    new_world,
    sends_to,
    served,
    spread,
    start_bot,
    stop_bot,
    wait_until,
)
from sandbox.world import ApiCall, World

#: Owner A, whose chat the 429s hit, and B, the other person whose /help is timed.
OWNER_A, OWNER_B = 8001, 8002
GOAL_RATIO = 2.0
#: Seconds a phase's answers may take after its last message (A's: after the faults end).
PATIENCE = 60.0
#: 429s injected for A's chat: more than it is sent in a phase (the rest are cleared).
FAULTS = 1000


@dataclass
class Phase:
    """One phase: when each person's /help went in, and where the world's log stood."""

    name: str
    first_call: int  # index in world.calls when the phase began
    sent: dict[int, list[float]] = field(default_factory=lambda: {OWNER_A: [], OWNER_B: []})
    fault_from: float | None = None  # the 429s on A's chat, from … until
    fault_until: float | None = None


def answered(world: World, phase: Phase) -> bool:
    """Whether every /help of the phase has had its answer."""
    return all(
        len(answers(world, person, phase.first_call)) >= len(sent)
        for person, sent in phase.sent.items()
    )


async def play(world: World, phase: Phase, args: argparse.Namespace) -> None:
    """B's /help ``count`` times, ``gap`` seconds apart, and A's every ``owner_gap`` seconds
    meanwhile (A's first with B's first)."""
    done = asyncio.Event()

    def say(person: int) -> None:
        phase.sent[person].append(time.time())  # the world's clock, as it takes the message
        world.send_text(person, person, "/help")

    async def owner() -> None:
        while not done.is_set():
            say(OWNER_A)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=args.owner_gap)

    for k in range(args.count):
        if k:
            await asyncio.sleep(args.gap)
        say(OWNER_B)
        if not k:
            other = asyncio.create_task(owner())
    done.set()
    await other


def figures(world: World, phase: Phase, problems: list[str]) -> dict[str, Any]:
    """Each person's lateness in one phase, and what Telegram answered them, from the
    world's log: the k-th /help is answered by the k-th message Telegram accepted."""
    report: dict[str, Any] = {"name": phase.name}
    for person, key in ((OWNER_B, "b"), (OWNER_A, "a")):
        sent = phase.sent[person]
        got = answers(world, person, phase.first_call)
        if len(got) != len(sent):
            problems.append(f"{phase.name}: {person} sent {len(sent)} /help, got {len(got)}")
        late = [(answer - asked) * 1000 for asked, answer in zip(sent, got, strict=False)]
        tries = sends_to(world, person, phase.first_call)
        report[key] = {
            "sent": len(sent),
            "answered": len(got),
            **spread(late),
            "refused_429": sum(call.error_code == 429 for call in tries),
        }
    if phase.fault_from is None or phase.fault_until is None:
        return report
    a, start, end = report["a"], phase.fault_from, phase.fault_until
    tries = sends_to(world, OWNER_A, phase.first_call)
    a["fault_s"] = round(end - start, 2)
    a["through_during_fault"] = sum(call.ok for call in tries if start <= call.time <= end)
    a["retry_after"] = sorted({retry_after(call) for call in tries if call.error_code == 429})
    # After a 429, how long until the bot tried A's chat again (Telegram said 8 s).
    again = [
        later.time - earlier.time
        for earlier, later in itertools.pairwise(tries)
        if earlier.error_code == 429
    ]
    a["next_try_after_429_s"] = round(min(again), 2) if again else None
    got = answers(world, OWNER_A, phase.first_call)
    a["first_after_fault_s"] = round(min(got) - end, 2) if got else None
    a["last_after_fault_s"] = round(max(got) - end, 2) if got else None
    return report


def retry_after(call: ApiCall) -> int:
    """The seconds a 429 in the log asked for ("Too Many Requests: retry after N")."""
    tail = (call.error or "").rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def bench(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    world = new_world()
    world.add_user(OWNER_A, "王伟", phone="+8613900000001")
    world.add_user(OWNER_B, "李娜", phone="+8613900000002")
    problems: list[str] = []
    report: dict[str, Any] = {
        "count": args.count,
        "gap_s": args.gap,
        "owner_gap_s": args.owner_gap,
        "retry_after_s": args.retry_after,
        "problems": problems,
    }
    started = time.monotonic()
    async with served(world) as base:
        process = await start_bot(bot_env(base, folder), folder)
        try:
            warm = Phase("warm-up", first_call=len(world.calls))
            for person in (OWNER_A, OWNER_B):
                warm.sent[person].append(time.time())
                world.send_text(person, person, "/help")
            if not await wait_until(functools.partial(answered, world, warm), START_PATIENCE):
                raise SystemExit(
                    f"the bot did not answer in {START_PATIENCE:.0f} s; its log:\n{bot_log(folder)}"
                )
            report["start_s"] = round(time.monotonic() - started, 2)
            report["phases"] = []
            for name, faulty in (("quiet", False), ("429 on A", True)):
                phase = Phase(name, first_call=len(world.calls))
                if faulty:  # every send to A's chat answers 429 until cleared (after B's last)
                    world.inject(
                        "sendMessage", "429", times=FAULTS, retry_after=args.retry_after,
                        chat_id=OWNER_A,
                    )  # fmt: skip
                    phase.fault_from = time.time()
                await play(world, phase, args)
                if faulty:
                    world.clear_faults()
                    phase.fault_until = time.time()
                await wait_until(
                    functools.partial(answered, world, phase), PATIENCE + args.retry_after
                )
                await asyncio.sleep(0.5)  # an answer sent twice would come by now
                report["phases"].append(figures(world, phase, problems))
        finally:
            stopping = time.monotonic()
            await stop_bot(process)
            report["stop_s"] = round(time.monotonic() - stopping, 2)
    report["run_s"] = round(time.monotonic() - started, 1)
    verdict(report)
    return report


def verdict(report: dict[str, Any]) -> None:
    """The ratio of B's p95s against the goal, and whether the run measured what it says."""
    quiet, faulty = report["phases"]
    problems: list[str] = report["problems"]
    if not faulty["a"]["refused_429"]:
        problems.append("no send to A's chat was answered 429: the fault never hit")
    if faulty["a"]["through_during_fault"]:
        problems.append("a send to A's chat got through while every one should be a 429")
    if faulty["b"]["refused_429"] or quiet["b"]["refused_429"] or quiet["a"]["refused_429"]:
        problems.append("a 429 hit a chat it was not meant for")
    base = quiet["b"]["p95_ms"]
    report["ratio"] = round(faulty["b"]["p95_ms"] / base, 2) if base else None
    report["goal_ratio"] = GOAL_RATIO
    report["goal_met"] = report["ratio"] is not None and report["ratio"] <= GOAL_RATIO
    report["ok"] = not problems


def table(report: dict[str, Any]) -> str:
    quiet, faulty = report["phases"]
    lines = [
        f"  people       B sends /help {report['count']}× every {report['gap_s']:g} s,"
        f" A every {report['owner_gap_s']:g} s meanwhile (the bot answered its first in"
        f" {report['start_s']:.1f} s)"
    ]
    for phase in (quiet, faulty):
        b = phase["b"]
        lines.append(
            f"  B, {phase['name']:<9} median {b['median_ms']:6.1f} ms   p95 {b['p95_ms']:6.1f} ms"
            f"   max {b['max_ms']:6.1f} ms   ({b['answered']}/{b['sent']} answered)"
        )
    ratio = report["ratio"]
    lines.append(
        f"  goal         p95 with 429s on A ≤ {report['goal_ratio']:g}× the quiet p95:"
        + (f" {ratio:.2f}× {'OK' if report['goal_met'] else 'MISSED'}" if ratio else " -")
    )
    a = quiet["a"]
    lines.append(
        f"  A, quiet     {a['answered']}/{a['sent']} answered, median {a['median_ms']:.1f} ms,"
        f" max {a['max_ms']:.1f} ms"
    )
    a = faulty["a"]
    again = a["next_try_after_429_s"]
    lines += [
        f"  A, 429 on A  {a['refused_429']} sends refused 429 (retry after"
        f" {report['retry_after_s']} s) in {a['fault_s']:.1f} s of faults; soonest try after a"
        " 429: " + (f"{again:.1f} s" if again is not None else "-"),
        f"{'':15}{a['answered']}/{a['sent']} answered, median {a['median_ms'] / 1000:.1f} s,"
        f" max {a['max_ms'] / 1000:.1f} s late; first {a['first_after_fault_s']:.1f} s, last"
        f" {a['last_after_fault_s']:.1f} s after the faults ended",
        f"  run          {report['run_s']:.1f} s; every /help answered once:"
        f" {'OK' if report['ok'] else 'FAIL'}",
    ]
    lines += [f"  FAIL: {problem}" for problem in report["problems"]]
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=50, help="B's /help in each phase (50)")
    parser.add_argument("--gap", type=float, default=0.35, help="seconds between B's (0.35)")
    parser.add_argument("--owner-gap", type=float, default=2.0, help="between A's /help (2)")
    parser.add_argument("--retry-after", type=int, default=8, help="the 429's retry_after (8)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.count < 1 or args.gap < 0 or args.owner_gap <= 0 or args.retry_after < 1:
        parser.error("--count, --owner-gap and --retry-after must be positive, --gap not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    with tempfile.TemporaryDirectory(prefix="wuye-latency-") as folder:
        report = asyncio.run(bench(args, Path(folder)))
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
