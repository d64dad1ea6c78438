"""Benchmark: time to the first answer, the bot against a bare PTB echo bot, in one run.

    python bench/startup.py [--cases 100000] [--rounds 5] [--json]

What it does:

1. runs the sandbox's Telegram in this process (as ``bench/latency.py`` does) and prepares
   two databases with every migration applied, as a restarted bot finds them: an **empty**
   one and a **large** one with ``--cases`` open cases, each with an open deadline (due
   weeks ahead) and its resident;
2. for ``--rounds`` rounds, in turn: PTB's own echo bot (``bench/echobot.py``), the bot on
   the empty database, the bot on the large one. Each is started as its own process with a
   person's /help already waiting in Telegram; timed from just before the process is
   spawned (``time.time``, the world's clock) to the moment Telegram accepted its answer
   (``ApiCall.time``); also when its first request arrived (its imports and set-up) and its
   first ``getUpdates``. Then the process is stopped (SIGINT) before the next one starts;
3. prints the median and best of each, the bot's overhead over the echo bot (median −
   median; goal ≤ 0.3 s) and against the absolute goal (≤ 1 s: on an idle machine); the
   machine's load average is printed with them (2 cores shared: a loaded machine is slower
   for both). Exit status 1 when a start gave no answer.

Python's bytecode is cached for both, as in the image (its ``compileall`` step): each
program starts once unmeasured with ``PYTHONPYCACHEPREFIX`` pointing into the run's folder,
which fills the cache (this machine's ``PYTHONDONTWRITEBYTECODE=1`` would otherwise make the
bot compile its 150 modules at every start, some 0.15 s). ``--no-bytecode-cache`` measures
that instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

from bench.live import (
    START_PATIENCE,
    TOKEN,
    bot_env,
    bot_log,
    new_world,
    served,
    stop_bot,
    wait_until,
)
from sandbox.world import World
from storage.clock import SystemClock
from storage.db import Database, iso, precise_iso

ECHOBOT = Path(__file__).resolve().parent / "echobot.py"
GOAL_OVER_ECHO = 0.3
GOAL_ABSOLUTE = 1.0
#: The first of the people who send /help (one new person per start).
FIRST_PERSON = 8100


async def prepare(path: Path, cases: int) -> float:
    """A migrated database with ``cases`` open cases (a deadline and a resident each);
    returns the seconds it took."""
    began = time.perf_counter()
    db = await Database.open(path)
    now = SystemClock().now()
    stamp = iso(now)
    if cases:
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO estates(id, name, created_at) VALUES (1, '基准花园', ?)", (stamp,)
            )
            await conn.executemany(
                "INSERT INTO people(id, tg_user_id, name, created_at, updated_at)"
                " VALUES (?1, ?2, ?3, ?4, ?4)",
                ((i, 10_000_000 + i, f"业主{i}", stamp) for i in range(1, cases + 1)),
            )
            await conn.executemany(
                "INSERT INTO cases(id, number, estate_id, kind, status, resident_id,"
                " accepted_at, created_at, updated_at) VALUES (?1, ?2, 1, 'request', 'new',"
                " ?1, ?3, ?3, ?3)",
                ((i, f"BM-{i:07d}", stamp) for i in range(1, cases + 1)),
            )
            await conn.executemany(
                "INSERT INTO deadlines(subject_kind, subject_id, case_id, rule, due_at,"
                " created_at) VALUES ('case', ?1, ?1, 'Q-4', ?2, ?3)",
                (
                    (i, precise_iso(now + timedelta(days=7, seconds=i)), stamp)
                    for i in range(1, cases + 1)
                ),
            )
    await db.close()
    return time.perf_counter() - began


def bytecode_env(folder: Path, cached: bool) -> dict[str, str]:
    """The environment's bytecode settings: a cache of its own in ``folder``, or none."""
    if not cached:
        return {"PYTHONDONTWRITEBYTECODE": "1"}
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(folder / "pycache")}


async def one_start(
    world: World,
    base: str,
    folder: Path,
    kind: str,
    database: Path | None,
    person: int,
    cached: bool,
) -> dict[str, float]:
    """Start one bot with ``person``'s /help waiting; the times from spawn (seconds)."""
    world.add_user(person, f"访客{person}", language_code="zh-hans")
    world.send_text(person, person, "/help")
    first_call = len(world.calls)
    log = (folder / "bot.log").open("ab")
    began = time.time()
    if kind == "echo":
        env = {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}
        env |= {"ECHO_TOKEN": TOKEN, "ECHO_API_URL": f"{base}/bot"}
        command = [sys.executable, str(ECHOBOT)]
    else:
        assert database is not None
        env = bot_env(base, folder) | {"WUYE_DB": str(database)}
        command = [sys.executable, "-m", "bot", "run"]
    env |= bytecode_env(folder, cached)
    if not env["PYTHONDONTWRITEBYTECODE"]:
        del env["PYTHONDONTWRITEBYTECODE"]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=folder, env=env, stdout=log, stderr=log
    )
    log.close()

    def answered() -> bool:
        return any(
            c.method == "sendMessage" and str(c.params.get("chat_id")) == str(person) and c.ok
            for c in world.calls[first_call:]
        )

    try:
        if not await wait_until(answered, START_PATIENCE, every=0.005):
            raise SystemExit(f"{kind}: no answer in {START_PATIENCE:.0f} s:\n{bot_log(folder)}")
    finally:
        await stop_bot(process)
    calls = world.calls[first_call:]
    answer = next(
        c.time
        for c in calls
        if c.method == "sendMessage" and str(c.params.get("chat_id")) == str(person)
    )
    polled = next((c.time for c in calls if c.method == "getUpdates"), answer)
    return {
        "first_request_s": calls[0].time - began,
        "first_poll_s": polled - began,
        "answer_s": answer - began,
    }


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Median and best of each figure."""
    return {
        key: {
            "median": round(statistics.median(r[key] for r in runs), 3),
            "best": round(min(r[key] for r in runs), 3),
        }
        for key in runs[0]
    } | {"runs": runs}


async def bench(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    empty, large = folder / "empty.db", folder / "large.db"
    report: dict[str, Any] = {
        "cases": args.cases,
        "rounds": args.rounds,
        "prepare_s": {
            "empty": round(await prepare(empty, 0), 2),
            "large": round(await prepare(large, args.cases), 2),
        },
        "large_db_mb": round(large.stat().st_size / 1e6, 1),
        "load_before": os.getloadavg(),
    }
    world = new_world()
    kinds = [("echo", None), ("bot, 0 cases", empty), (f"bot, {args.cases:,} cases", large)]
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind, _ in kinds}
    person = FIRST_PERSON
    cached = not args.no_bytecode_cache
    report["bytecode_cached"] = cached
    async with served(world) as base:
        if cached:  # fills the bytecode cache: as the image is built
            for kind, database in kinds[:2]:
                person += 1
                await one_start(world, base, folder, kind, database, person, cached)
        for _ in range(args.rounds):
            for kind, database in kinds:
                person += 1
                runs[kind].append(
                    await one_start(world, base, folder, kind, database, person, cached)
                )
    report["load_after"] = os.getloadavg()
    report["starts"] = {kind: summary(r) for kind, r in runs.items()}
    echo = report["starts"]["echo"]["answer_s"]["median"]
    report["over_echo_s"] = {
        kind: round(s["answer_s"]["median"] - echo, 3)
        for kind, s in report["starts"].items()
        if kind != "echo"
    }
    report["ok"] = True
    return report


def table(report: dict[str, Any]) -> str:
    load = " ".join(f"{x:.2f}" for x in report["load_before"])
    lines = [
        f"start-up to the first answer: {report['rounds']} starts each, in turn"
        f" (load average before {load}; bytecode"
        f" {'cached' if report['bytecode_cached'] else 'compiled at each start'})",
        f"  databases     empty, and {report['cases']:,} open cases with a deadline each"
        f" ({report['large_db_mb']} MB)",
        f"  {'':<24}{'first request':>18}{'first getUpdates':>20}{'first answer':>18}",
    ]
    for kind, s in report["starts"].items():
        cells = "".join(
            f"{s[key]['median']:>10.2f} s ({s[key]['best']:.2f})"
            for key in ("first_request_s", "first_poll_s", "answer_s")
        )
        lines.append(f"  {kind:<24}{cells}")
    lines.append("  (median, best in brackets)")
    for kind, over in report["over_echo_s"].items():
        answer = report["starts"][kind]["answer_s"]["median"]
        lines.append(
            f"  {kind:<24}first answer {answer:.2f} s: echo bot {over:+.2f} s"
            f" (goal ≤ +{GOAL_OVER_ECHO} s: {'OK' if over <= GOAL_OVER_ECHO else 'over'});"
            f" ≤ {GOAL_ABSOLUTE:g} s on an idle machine:"
            f" {'OK' if answer <= GOAL_ABSOLUTE else 'over'}"
        )
    load = " ".join(f"{x:.2f}" for x in report["load_after"])
    lines.append(f"  load average after {load}")
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000, help="open cases in the large db")
    parser.add_argument("--rounds", type=int, default=5, help="starts of each bot")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true",
        help="compile every module at each start (PYTHONDONTWRITEBYTECODE=1, no cache)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.cases < 0 or args.rounds < 1:
        parser.error("--cases must be ≥ 0 and --rounds ≥ 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    with tempfile.TemporaryDirectory(prefix="wuye-startup-") as folder:
        report = asyncio.run(bench(args, Path(folder)))
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
