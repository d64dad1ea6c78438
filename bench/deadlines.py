"""Benchmark: how late deadlines fire, at the bot's own settings, with many open timers.

    python bench/deadlines.py [--open 100000 1000000] [--due 2000] [--window 5]
                              [--burst 1000] [--live 100] [--json]

For each ``--open`` (default: 100,000, then 1,000,000), on a fresh database made by
``Database.open`` (the migrations):

1. loads one estate, ``--open`` cases and one open deadline per case (bulk ``executemany`` in
   one ``db.write()``); most are due weeks ahead, a quarter of them with a warning time;
   reports the database's size, the time to close and re-open it, a first sweep with nothing
   due, :meth:`storage.deadlines.DeadlineStore.next_moment` and the query plans;
2. starts the bot's sweeper as the bot does (:meth:`bot.sweeper.Sweeper.start`: it sleeps
   until the next moment, woken by what is scheduled, at most :data:`bot.sweeper.MAX_SLEEP`
   apart, batches of :data:`bot.sweeper.BATCH`) with a reaction that queues one outbox
   message per firing, as the bot's does, on a clock shifted onto the loaded window (real
   elapsed time: what is measured is real lateness);
3. **spread**: ``--due`` timers fall due evenly over ``--window`` seconds, at moments with
   milliseconds (every fourth warned 2 s before); **burst**: ``--burst`` more all at one
   moment in the middle of the window; records how late each fired (firing time − due time)
   and, meanwhile, how late a 10-ms ticker on the event loop ran (what a person's answer
   would wait);
4. **live**: then, the sweeper asleep (nothing due for days), ``--live`` timers scheduled one
   at a time through :func:`storage.deadlines.schedule` (as a step does), each due 0.3 s
   later: each must wake the sweeper;
5. checks exactly-once: every due row fired, with one outbox message each (one per warning
   given), nothing else fired, and a sweep afterwards fires nothing; prints OK or FAIL and
   exits 1 on FAIL.

The goal (issue 12): lateness p99 ≤ 1 s with 1,000,000 open timers.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import json
import math
import random
import resource
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from bench.live import wait_until
from bot.sweeper import BATCH, MAX_SLEEP, Firing, Sweeper
from storage import deadlines
from storage.clock import SystemClock
from storage.db import Database, iso, precise_iso
from storage.deadlines import DeadlineStore
from storage.outbox import enqueue

utcnow = SystemClock().now  # a benchmark measures real lateness: the machine's clock

#: Where the reaction's messages go (a department group, as in the bot).
STAFF_CHAT = -1001234567890
#: The rule every loaded timer carries (Q-1: referral within 10 minutes, in the manual);
#: the live ones are Q-4's (another rule: scheduling one replaces no loaded timer).
RULE, LIVE_RULE = "Q-1", "Q-4"
#: The round's first due moment comes this long after the sweeper starts.
LEAD = 1.5
#: Live timers fall due this long after they are scheduled, one every LIVE_GAP seconds.
LIVE_AHEAD, LIVE_GAP = 0.3, 0.05
#: A round gives up (FAIL) when its timers are not all fired this long after the last is due.
GIVE_UP_AFTER = 120.0
GOAL_P99 = 1.0


@dataclass
class Lateness:
    """How late a set of firings came (seconds)."""

    count: int = 0
    p50: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    early: int = 0  # fired before their moment: must be 0

    @classmethod
    def of(cls, values: list[float]) -> Lateness:
        return cls(
            len(values),
            percentile(values, 0.5),
            percentile(values, 0.99),
            max(values, default=0.0),
            sum(v < 0 for v in values),
        )


@dataclass
class Size:
    """One ``--open``'s measurements."""

    open_timers: int
    load_s: float = 0.0
    db_bytes: int = 0
    wal_bytes: int = 0
    close_ms: float = 0.0
    open_ms: float = 0.0
    first_sweep_ms: float = 0.0
    next_moment_ms: float = 0.0
    plans: dict[str, str] = field(default_factory=dict)
    spread: Lateness = field(default_factory=Lateness)
    warnings: Lateness = field(default_factory=Lateness)
    burst: Lateness = field(default_factory=Lateness)
    live: Lateness = field(default_factory=Lateness)
    all_breaches: Lateness = field(default_factory=Lateness)
    loop_lag_p99_ms: float = 0.0
    loop_lag_max_ms: float = 0.0
    round_s: float = 0.0
    fired: int = 0
    expected: int = 0
    warned: int = 0
    outbox: int = 0
    extra_sweep_acted: int = 0
    rss_peak_mib: float = 0.0
    ok: bool = False
    problems: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def file_sizes(path: Path) -> tuple[int, int]:
    """The database file and its write-ahead log, in bytes."""
    wal = Path(f"{path}-wal")
    return path.stat().st_size, wal.stat().st_size if wal.exists() else 0


def remove(path: Path) -> None:
    """A database and its -wal and -shm files (the next size needs the disk)."""
    for leftover in path.parent.glob(f"{path.name}*"):
        leftover.unlink()


def plan(rows: list[Any]) -> str:
    """EXPLAIN QUERY PLAN rows as one line."""
    return "; ".join(str(row[3]) for row in rows)


class Layout:
    """Which loaded timers fall due when: the spread and the burst in a window a day after
    loading, the rest from a day later over a month."""

    def __init__(self, args: argparse.Namespace, size: int, loaded_at: datetime) -> None:
        self.start = loaded_at.replace(microsecond=0) + timedelta(days=1)
        rng = random.Random(20261205)
        picked = rng.sample(range(1, size + 1), args.due + args.burst)
        #: deadline id -> (due_at, warn_at, kind) for the timers of the round
        self.round: dict[int, tuple[datetime, datetime | None, str]] = {}
        for j, deadline_id in enumerate(picked[: args.due]):
            offset = LEAD + j * args.window / args.due
            due_at = self.start + timedelta(seconds=round(offset, 3))
            warned = j % 4 == 0 and offset > LEAD + 2  # warned 2 s before, within the window
            warn_at = due_at - timedelta(seconds=2) if warned else None
            self.round[deadline_id] = (due_at, warn_at, "spread")
        burst_at = self.start + timedelta(seconds=LEAD + args.window / 2 + 0.0005)
        for deadline_id in picked[args.due :]:
            self.round[deadline_id] = (burst_at, None, "burst")
        self.far_from = self.start + timedelta(days=1)
        self.rng = rng

    def times(self, deadline_id: int) -> tuple[datetime, datetime | None]:
        """due_at and warn_at of one loaded timer."""
        if deadline_id in self.round:
            due_at, warn_at, _ = self.round[deadline_id]
            return due_at, warn_at
        due_at = self.far_from + timedelta(seconds=self.rng.randrange(30 * 86400))
        warn_at = due_at - timedelta(hours=2) if deadline_id % 4 == 0 else None
        return due_at, warn_at


async def load(db: Database, layout: Layout, size: int, now: datetime) -> None:
    """One estate, one case per timer, one open timer per case, in one transaction."""
    stamp = iso(now)

    def cases() -> Iterator[tuple[Any, ...]]:
        for i in range(1, size + 1):
            yield (i, f"BM-{i:07d}", stamp)

    def timers() -> Iterator[tuple[Any, ...]]:
        for i in range(1, size + 1):
            due_at, warn_at = layout.times(i)
            yield (i, RULE, precise_iso(due_at), precise_iso(warn_at) if warn_at else None, stamp)

    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO estates(id, name, created_at) VALUES (1, '基准花园', ?)", (stamp,)
        )
        await conn.executemany(
            "INSERT INTO cases(id, number, estate_id, kind, status, accepted_at, created_at,"
            " updated_at) VALUES (?1, ?2, 1, 'request', 'new', ?3, ?3, ?3)",
            cases(),
        )
        await conn.executemany(
            "INSERT INTO deadlines(id, subject_kind, subject_id, case_id, rule, due_at, warn_at,"
            " created_at) VALUES (?1, 'case', ?1, ?1, ?2, ?3, ?4, ?5)",
            timers(),
        )


async def measure(db: Database, layout: Layout, args: argparse.Namespace, result: Size) -> None:
    """The round: the running sweeper, the spread and the burst, then the live timers."""
    shift = layout.start - utcnow()  # the sweeper's clock reads layout.start right now

    def clock() -> datetime:
        return utcnow() + shift

    seen: Counter[tuple[int, bool]] = Counter()
    late: dict[str, list[float]] = {"spread": [], "burst": [], "live": [], "warnings": []}
    live_ids: set[int] = set()

    async def react(conn: aiosqlite.Connection, firing: Firing) -> None:
        at = clock()
        timer = firing.deadline
        seen[(timer.id, firing.warning)] += 1
        if firing.warning:
            assert timer.warn_at is not None
            late["warnings"].append((at - timer.warn_at).total_seconds())
        else:
            kind = "live" if timer.id in live_ids else layout.round[timer.id][2]
            late[kind].append((at - timer.due_at).total_seconds())
        kind = "warning" if firing.warning else "breach"
        await enqueue(conn, STAFF_CHAT, f"{kind} {timer.rule} #{timer.id}", case_id=timer.case_id)

    lags: list[float] = []
    ticking = True

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while ticking:
            began = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - began - 0.01)

    sweeper = Sweeper(db, react, clock=clock)
    assert sweeper.max_sleep == MAX_SLEEP  # the bot's settings
    loop = asyncio.get_running_loop()
    began = loop.time()
    tick = asyncio.create_task(ticker())
    sweeper.start()
    try:
        expected = len(layout.round)
        give_up = began + LEAD + args.window + GIVE_UP_AFTER

        def breaches() -> int:
            return len(late["spread"]) + len(late["burst"])

        await wait_until(lambda: breaches() >= expected, give_up - loop.time())
        await asyncio.sleep(0.5)  # the sweeper is asleep again: the next timer is days away
        ids = iter(range(1, args.open_max + 1))
        for _ in range(args.live):
            case_id = next(i for i in ids if i not in layout.round)
            async with db.write() as conn:
                live_id = await deadlines.schedule(
                    conn, case_id, LIVE_RULE, clock() + timedelta(seconds=LIVE_AHEAD)
                )
            live_ids.add(live_id)
            await asyncio.sleep(LIVE_GAP)
        await wait_until(lambda: len(late["live"]) >= args.live, GIVE_UP_AFTER)
    finally:
        await sweeper.stop()
        ticking = False
        await tick
    result.round_s = loop.time() - began
    result.extra_sweep_acted = await sweeper.sweep()  # all fired: nothing may fire again

    for name in ("spread", "burst", "live", "warnings"):
        setattr(result, name, Lateness.of(late[name]))
    result.all_breaches = Lateness.of(late["spread"] + late["burst"] + late["live"])
    result.loop_lag_p99_ms = percentile(lags, 0.99) * 1000
    result.loop_lag_max_ms = max(lags, default=0.0) * 1000

    # Exactly once, from the database.
    due_ids = set(layout.round) | live_ids
    warn_ids = {i for i, (_, warn_at, _) in layout.round.items() if warn_at is not None}
    fired = {r[0] for r in await db.fetchall("SELECT id FROM deadlines WHERE state = 'fired'")}
    warned = {
        r[0] for r in await db.fetchall("SELECT id FROM deadlines WHERE warned_at IS NOT NULL")
    }
    messages = Counter(
        (row[0], row[1].split()[0])
        for row in await db.fetchall(
            "SELECT case_id, text FROM outbox WHERE chat_id = ?", (STAFF_CHAT,)
        )
    )
    result.expected = len(due_ids)
    result.fired = len(fired)
    result.warned = len(warned)
    result.outbox = sum(messages.values())
    problems = result.problems
    if fired != due_ids:
        problems.append(
            f"fired rows: {len(fired - due_ids)} unexpected, {len(due_ids - fired)} missing"
        )
    if warned != warn_ids:
        problems.append(f"warned {len(warned)} of {len(warn_ids)} warning times")
    if any(n != 1 for n in messages.values()):
        problems.append("a timer's message was queued more than once")
    if result.outbox != len(due_ids) + len(warn_ids):
        problems.append(f"{result.outbox} messages for {len(due_ids) + len(warn_ids)} firings")
    if any(n != 1 for n in seen.values()):
        problems.append("a timer fired more than once")
    if result.extra_sweep_acted:
        problems.append(f"a sweep after the round fired {result.extra_sweep_acted} again")
    for name in ("spread", "burst", "live", "warnings"):
        if getattr(result, name).early:
            problems.append(f"{getattr(result, name).early} {name} timers fired early")


async def one_size(args: argparse.Namespace, size: int, path: Path) -> Size:
    result = Size(size)
    db = await Database.open(path)
    now = utcnow()
    layout = Layout(args, size, now)
    started = time.perf_counter()
    await load(db, layout, size, now)
    result.load_s = time.perf_counter() - started
    await db.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
    result.db_bytes, result.wal_bytes = file_sizes(path)

    started = time.perf_counter()
    await db.close()
    result.close_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    db = await Database.open(path)
    result.open_ms = (time.perf_counter() - started) * 1000

    async def nothing(conn: aiosqlite.Connection, firing: Firing) -> None:
        raise AssertionError(f"nothing is due yet, but {firing.deadline.id} fired")

    started = time.perf_counter()
    assert await Sweeper(db, nothing).sweep() == 0
    result.first_sweep_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    await DeadlineStore(db).next_moment()
    result.next_moment_ms = (time.perf_counter() - started) * 1000
    moment = precise_iso(now)
    result.plans = {
        "due_breaches": plan(
            await db.fetchall(
                "EXPLAIN QUERY PLAN SELECT * FROM deadlines WHERE state IN ('pending', 'warned')"
                " AND due_at <= ? ORDER BY due_at LIMIT 500",
                (moment,),
            )
        ),
        "next_moment": plan(
            await db.fetchall(
                "EXPLAIN QUERY PLAN SELECT (SELECT MIN(warn_at) FROM deadlines WHERE"
                " state = 'pending' AND warn_at IS NOT NULL), (SELECT MIN(due_at) FROM"
                " deadlines WHERE state IN ('pending', 'warned'))"
            )
        ),
    }
    try:
        await measure(db, layout, args, result)
    finally:
        await db.close()
    result.rss_peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.ok = not result.problems
    return result


async def bench(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    sizes = []
    for size in args.open:
        path = folder / f"bench-{size}.db"
        sizes.append(await one_size(args, size, path))
        remove(path)
    return {
        "due": args.due,
        "burst": args.burst,
        "live": args.live,
        "window_s": args.window,
        "max_sleep_s": MAX_SLEEP,
        "batch": BATCH,
        "sqlite": aiosqlite.sqlite_version,
        "sizes": [asdict(s) for s in sizes],
        "ok": all(s.ok for s in sizes),
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"deadline sweeper at the bot's settings (sleeps until the next moment, woken by a"
        f" nearer one, at most {report['max_sleep_s']:g} s; batches of {report['batch']})"
        f" — SQLite {report['sqlite']}",
        f"  per size: {report['due']:,} due over {report['window_s']} s (a quarter warned"
        f" 2 s before), a burst of {report['burst']:,} at one moment, then {report['live']}"
        f" scheduled live, each due {LIVE_AHEAD} s later",
        "",
    ]
    sizes = report["sizes"]

    def row(label: str, cell: Any) -> None:
        lines.append(f"  {label:<30}" + "".join(f"{cell(s):>26}" for s in sizes))

    def spread(d: dict[str, Any]) -> str:
        return f"{d['p50']:.3f} / {d['p99']:.3f} / {d['max']:.3f} s"

    row("open timers", lambda s: f"{s['open_timers']:,}")
    row("load", lambda s: f"{s['load_s']:.1f} s")
    row("database", lambda s: f"{s['db_bytes'] / 1e6:.0f} MB")
    row("re-open", lambda s: f"{s['open_ms']:.1f} ms")
    row("first sweep, nothing due", lambda s: f"{s['first_sweep_ms']:.2f} ms")
    row("next moment (two MINs)", lambda s: f"{s['next_moment_ms']:.2f} ms")
    lines.append("  lateness p50 / p99 / max:")
    row("  spread breaches", lambda s: spread(s["spread"]))
    row("  warnings", lambda s: spread(s["warnings"]))
    row("  burst (all at once)", lambda s: spread(s["burst"]))
    row("  live (woke the sweeper)", lambda s: spread(s["live"]))
    row("  every breach", lambda s: spread(s["all_breaches"]))
    row(
        f"  p99 ≤ {GOAL_P99:g} s",
        lambda s: "OK" if s["all_breaches"]["p99"] <= GOAL_P99 else "over",
    )
    row("event loop lag p99 / max", lambda s: f"{s['loop_lag_p99_ms']:.1f} / "
        f"{s['loop_lag_max_ms']:.1f} ms")  # fmt: skip
    row("fired / expected", lambda s: f"{s['fired']:,} / {s['expected']:,}")
    row("warned / outbox messages", lambda s: f"{s['warned']:,} / {s['outbox']:,}")
    row("rss peak", lambda s: f"{s['rss_peak_mib']:.0f} MiB")
    lines.append("")
    lines.append(f"  plans: breaches {sizes[0]['plans']['due_breaches']}")
    lines.append(f"         next moment {sizes[0]['plans']['next_moment']}")
    verdict = "OK" if report["ok"] else "FAIL"
    lines.append(f"  exactly-once {verdict}")
    for s in sizes:
        for problem in s["problems"]:
            lines.append(f"  FAIL ({s['open_timers']:,}): {problem}")
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--open", type=int, nargs="+", default=[100_000, 1_000_000],
        help="open timers, one round each (default: 100000 1000000)",
    )  # fmt: skip
    parser.add_argument("--due", type=int, default=2000, help="timers due over the window")
    parser.add_argument("--window", type=int, default=5, help="seconds the due timers spread over")
    parser.add_argument("--burst", type=int, default=1000, help="timers due at one moment")
    parser.add_argument("--live", type=int, default=100, help="timers scheduled while running")
    parser.add_argument("--dir", type=Path, help="folder for the databases (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.due < 1 or args.window < 1 or args.burst < 0 or args.live < 0:
        parser.error("--due and --window must be positive, --burst and --live not negative")
    if min(args.open) < 2 * (args.due + args.burst + args.live):
        parser.error("--open must hold the due, burst and live timers twice over")
    args.open_max = min(args.open)
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    with tempfile.TemporaryDirectory(prefix="wuye-bench-", dir=args.dir) as folder:
        report = asyncio.run(bench(args, Path(folder)))
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
