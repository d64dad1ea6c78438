"""Benchmark: the renovation control sheet and the patrol list of an estate with 2,000 active
renovations, while an owner's /help is timed alongside.

    python bench/renovation.py [--renovations 2000] [--count 20] [--help-gap 0.25] [--json]

What it does:

1. runs the sandbox's Telegram in this process and the real bot as its own process
   (``python -m bot run`` polling it over HTTP, as in production), on a fresh database with
   the demo estate (``seed-demo``); then, with the bot stopped, puts ``--renovations``
   active renovations straight into its database (each with its unit, its owner, its three
   patrol duties and its deposit; every third patrolled by engineering, every tenth with an
   open rectification notice) in one transaction;
2. warm-up: each command once;
3. the project manager (9008) sends ``/renovations`` ``--count`` times and a guard (9005)
   ``/patrol`` ``--count`` times, one after the other, each waiting for the answer (and the
   sheet's spreadsheet) before the next; meanwhile an owner (8001) sends /help every
   ``--help-gap`` seconds;
4. from the world's own log (its clock, ``time.time``): each command's time from the world
   taking it to the first message Telegram accepted for that chat (the answer), and each
   /help's, the k-th /help answered by the k-th message to the owner.

It prints the medians, p95s and maxima, and whether the medians of /renovations and
/patrol are under the goal (300 ms). Exit status 1 when an answer is missing (the goal only
decides the verdict).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import contextlib
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.live import (
    START_PATIENCE,
    answers,
    bot_command,
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
from sandbox.world import World

MANAGER, GUARD, OWNER = 9008, 9005, 8001
GOAL_MS = 300.0
#: Seconds one command may take to be answered (the sheet's spreadsheet included).
PATIENCE = 60.0
ZONE = ZoneInfo("Asia/Shanghai")


def seed(db: Path, count: int) -> None:
    """``count`` active renovations of the demo estate in its database, in one transaction:
    units in buildings of 100, owners, the renovations with their patrol duties, a deposit
    each; engineering patrolled every third on the next four local days (whichever is the
    patrol day now), every tenth has an open notice."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    local = datetime.now(ZONE).date()
    days = [(local + timedelta(days=d)).isoformat() for d in range(4)]
    conn = sqlite3.connect(db)
    try:
        with conn:
            (estate,) = conn.execute("SELECT id FROM estates ORDER BY id LIMIT 1").fetchone()
            (by,) = conn.execute("SELECT id FROM people ORDER BY id LIMIT 1").fetchone()
            for n in range(count):
                building, unit = f"{20 + n // 100}栋", f"{1 + n % 100 // 4:02d}0{1 + n % 4}"
                unit_id = conn.execute(
                    "INSERT INTO units(estate_id, building, number, area_m2, owner_name,"
                    " owner_phone, updated_at) VALUES (?, ?, ?, '95', ?, ?, ?)",
                    (estate, building, unit, f"业主{n}", f"+86139{n:08d}", now),
                ).lastrowid
                owner = conn.execute(
                    "INSERT INTO people(tg_user_id, name, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (5_000_000 + n, f"业主{n}", now, now),
                ).lastrowid
                ren = conn.execute(
                    "INSERT INTO renovations(number, estate_id, unit_id, owner_id, status,"
                    " period_from, period_to, contractor, head_name, head_phone, committed_at,"
                    " created_at, updated_at, works_at) VALUES (?, ?, ?, ?, 'active',"
                    " '2026-01-01', '2027-12-31', ?, '李工', '13800138000', ?, ?, ?, ?)",
                    (f"ZX-20260101-{n + 1:04d}", estate, unit_id, owner, f"施工队{n % 37}",
                     now, now, now, now),
                ).lastrowid  # fmt: skip
                for department in ("customer_service", "engineering", "security"):
                    conn.execute(
                        "INSERT INTO renovation_patrol_duties(renovation_id, department)"
                        " VALUES (?, ?)",
                        (ren, department),
                    )
                conn.execute(
                    "INSERT INTO renovation_deposit(renovation_id, kind, amount_fen, reference,"
                    " by_id, at) VALUES (?, 'collected', 300000, ?, ?, ?)",
                    (ren, f"SJ-{n}", by, now),
                )
                if n % 3 == 0:
                    for day in days:
                        conn.execute(
                            "INSERT INTO renovation_patrols(renovation_id, department, day,"
                            " result, by_id, at) VALUES (?, 'engineering', ?, 'ok', ?, ?)",
                            (ren, day, by, now),
                        )
                if n % 10 == 0:
                    conn.execute(
                        "INSERT INTO renovation_notices(renovation_id, department, note, due,"
                        " created_by, created_at) VALUES (?, 'engineering', '拆改墙体',"
                        " '2027-01-01', ?, ?)",
                        (ren, by, now),
                    )
    finally:
        conn.close()


async def command(world: World, person: int, text: str, done: str) -> tuple[float, float]:
    """``person`` sends ``text``; waits until Telegram accepted a ``done`` call to their chat
    (the sheet's spreadsheet, or the list); returns when the world took it and when the
    first answer was accepted."""
    first = len(world.calls)
    sent = time.time()
    world.send_text(person, person, text)

    def finished() -> bool:
        return any(c.ok and c.method == done for c in sends_to(world, person, first))

    if not await wait_until(finished, PATIENCE):
        raise SystemExit(f"{text} from {person} was not answered in {PATIENCE:.0f} s")
    return sent, answers(world, person, first)[0]


async def bench(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    world = new_world()
    world.add_user(MANAGER, "钱振东")
    world.add_user(GUARD, "陈保华")
    world.add_user(OWNER, "王伟", phone="+8613900000001")
    problems: list[str] = []
    report: dict[str, Any] = {
        "renovations": args.renovations,
        "count": args.count,
        "help_gap_s": args.help_gap,
        "goal_ms": GOAL_MS,
        "problems": problems,
    }
    started = time.monotonic()
    async with served(world) as base:
        env = bot_env(base, folder)
        await bot_command(env, folder, "seed-demo")
        seeding = time.monotonic()
        seed(folder / "wuye.db", args.renovations)
        report["seed_s"] = round(time.monotonic() - seeding, 2)
        process = await start_bot(env, folder)
        try:
            first = len(world.calls)
            world.send_text(OWNER, OWNER, "/help")
            if not await wait_until(lambda: bool(answers(world, OWNER, first)), START_PATIENCE):
                raise SystemExit(f"the bot did not answer; its log:\n{bot_log(folder)}")
            report["start_s"] = round(time.monotonic() - started, 2)
            await command(world, MANAGER, "/renovations", "sendDocument")  # warm-up
            await command(world, GUARD, "/patrol", "sendMessage")
            helped_from = len(world.calls)
            helps: list[float] = []
            stop = asyncio.Event()

            async def owner() -> None:
                while not stop.is_set():
                    helps.append(time.time())
                    world.send_text(OWNER, OWNER, "/help")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=args.help_gap)

            helper = asyncio.create_task(owner())
            timed: dict[str, list[float]] = {"/renovations": [], "/patrol": []}
            try:
                for _ in range(args.count):
                    sent, got = await command(world, MANAGER, "/renovations", "sendDocument")
                    timed["/renovations"].append((got - sent) * 1000)
                    sent, got = await command(world, GUARD, "/patrol", "sendMessage")
                    timed["/patrol"].append((got - sent) * 1000)
            finally:
                stop.set()
                await helper
            await wait_until(lambda: len(answers(world, OWNER, helped_from)) >= len(helps), 30)
            got = answers(world, OWNER, helped_from)
            if len(got) != len(helps):
                problems.append(f"the owner sent {len(helps)} /help, got {len(got)} answers")
            late = [(b - a) * 1000 for a, b in zip(helps, got, strict=False)]
            report["renovations_cmd"] = spread(timed["/renovations"])
            report["patrol_cmd"] = spread(timed["/patrol"])
            report["help"] = {"sent": len(helps), "answered": len(got), **spread(late)}
        finally:
            await stop_bot(process)
    report["run_s"] = round(time.monotonic() - started, 1)
    report["goal_met"] = (
        report["renovations_cmd"]["median_ms"] < GOAL_MS
        and report["patrol_cmd"]["median_ms"] < GOAL_MS
    )
    report["ok"] = not problems
    return report


def table(report: dict[str, Any]) -> str:
    lines = [
        f"  estate       {report['renovations']} active renovations (seeded in"
        f" {report['seed_s']:.1f} s); the bot answered its first /help in {report['start_s']:.1f} s"
    ]
    for key, name in (("renovations_cmd", "/renovations"), ("patrol_cmd", "/patrol")):
        row = report[key]
        lines.append(
            f"  {name:<12} median {row['median_ms']:6.1f} ms   p95 {row['p95_ms']:6.1f} ms"
            f"   max {row['max_ms']:6.1f} ms   ({report['count']}×)"
        )
    help_ = report["help"]
    lines.append(
        f"  owner /help  median {help_['median_ms']:6.1f} ms   p95 {help_['p95_ms']:6.1f} ms"
        f"   max {help_['max_ms']:6.1f} ms   ({help_['answered']}/{help_['sent']} answered,"
        f" one every {report['help_gap_s']:g} s meanwhile)"
    )
    lines.append(
        f"  goal         medians under {report['goal_ms']:.0f} ms:"
        f" {'OK' if report['goal_met'] else 'MISSED'}; run {report['run_s']:.1f} s"
    )
    lines += [f"  FAIL: {problem}" for problem in report["problems"]]
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--renovations", type=int, default=2000, help="active ones (2000)")
    parser.add_argument("--count", type=int, default=20, help="times each command (20)")
    parser.add_argument("--help-gap", type=float, default=0.25, help="between /help (0.25 s)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.renovations < 1 or args.count < 1 or args.help_gap <= 0:
        parser.error("--renovations, --count and --help-gap must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    with tempfile.TemporaryDirectory(prefix="wuye-renovation-") as folder:
        report = asyncio.run(bench(args, Path(folder)))
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
