"""Benchmark: the deadline sweeper over a large table of open timers.

    python bench/deadlines.py [--open 100000] [--due 2000] [--interval 2.0 0.5]
                              [--window 5] [--db PATH] [--json]

What it does, on a fresh database made by ``Database.open`` (the migrations):

1. loads one estate, ``--open`` cases and one open deadline per case (bulk ``executemany``
   in one ``db.write()``); most are due weeks ahead, a quarter of them with a warning time;
2. reports the database size (file + ``-wal``) after loading;
3. closes and re-opens the database and times that (WAL, migrations check), and the first
   sweep pass when nothing is due;
4. for each ``--interval`` (default: the bot's 2 s, then 0.5 s) makes ``--due`` timers fall
   due evenly over ``--window`` seconds (some warned 2 s before) and runs a
   :class:`bot.sweeper.Sweeper` every interval until all of them fired. Its reaction queues
   one outbox message per firing, as the bot's does. Records how late each fired (firing
   time - due_at), and how long each sweep pass took;
5. reports RSS (peak and current);
6. checks exactly-once: the fired rows are exactly the due ones, with one outbox message
   each (and one per warning given); prints OK or FAIL and exits 1 on FAIL.

Times are stored to the second (``storage.db.iso``), so "evenly over 5 s" means ``due / 5``
timers at each of five whole seconds. Each round's timers are placed a day or more after
loading and the sweeper is given a clock shifted onto that window (the ``clock`` the tests
use too); the shift is constant, so what is measured is real elapsed time. The passes tick
at a fixed rate, 0.3 s after the whole second, skipping ticks a slow pass overran (as the
bot's job queue does).
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
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from bot.sweeper import Firing, Sweeper
from storage.clock import SystemClock
from storage.db import Database, iso
from storage.deadlines import DeadlineStore
from storage.outbox import enqueue

utcnow = SystemClock().now  # a benchmark measures real lateness: the machine's clock

#: Where the reaction's messages go (a department group, as in the bot).
STAFF_CHAT = -1001234567890
#: The rule every benchmark timer carries (Q-1: referral within 10 minutes, in the manual).
RULE = "Q-1"
#: The first tick of a round comes this long after the round's start (a whole second).
PHASE = 0.3
#: A round gives up (FAIL) when its timers are not all fired this long after the last is due.
GIVE_UP_AFTER = 120.0


@dataclass
class Round:
    """One sweep interval's measurements."""

    interval: float
    open_timers: int
    due: int
    warnings_scheduled: int
    seconds: float = 0.0
    passes: int = 0
    pass_p50_ms: float = 0.0
    pass_max_ms: float = 0.0
    idle_pass_p50_ms: float | None = None  # passes that fired nothing: the queries alone
    firing_ms: float = 0.0  # busy passes' time per timer fired (transaction + reaction)
    latency_p50_s: float = 0.0
    latency_p99_s: float = 0.0
    latency_max_s: float = 0.0
    warning_latency_p50_s: float = 0.0
    warning_latency_max_s: float = 0.0
    fired: int = 0
    warned: int = 0
    warnings_skipped: int = 0
    marked_late: int = 0
    outbox_breaches: int = 0
    outbox_warnings: int = 0
    duplicate_firings: int = 0
    extra_sweep_acted: int = 0
    completed: bool = False
    ok: bool = False
    problems: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def file_sizes(path: Path) -> dict[str, int]:
    """The database file and its write-ahead log, in bytes."""
    wal = Path(f"{path}-wal")
    db_bytes = path.stat().st_size if path.exists() else 0
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    return {"db_bytes": db_bytes, "wal_bytes": wal_bytes, "total_bytes": db_bytes + wal_bytes}


def rss() -> dict[str, int]:
    """Peak RSS (getrusage) and current RSS (/proc/self/status VmRSS), in KiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    current = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1])
    except OSError:
        pass
    return {"max_kib": int(peak), "current_kib": current}


def plan(rows: list[Any]) -> str:
    """EXPLAIN QUERY PLAN rows as one line."""
    return "; ".join(str(row[3]) for row in rows)


class Layout:
    """Which timers are due when: rounds in hour-apart windows a day after loading, the
    rest spread over the following month."""

    def __init__(self, args: argparse.Namespace, loaded_at: datetime) -> None:
        self.open: int = args.open
        self.due: int = args.due
        self.window: int = args.window
        self.intervals: list[float] = args.interval
        base = loaded_at.replace(microsecond=0) + timedelta(days=1)
        self.starts = [base + timedelta(hours=r) for r in range(len(self.intervals))]
        rng = random.Random(20261127)
        picked = rng.sample(range(1, self.open + 1), self.due * len(self.intervals))
        #: deadline id -> (round, due_at, warn_at) for the timers that fall due in a round
        self.round_of: dict[int, tuple[int, datetime, datetime | None]] = {}
        self.ids: list[list[int]] = []
        for r, start in enumerate(self.starts):
            ids = picked[r * self.due : (r + 1) * self.due]
            self.ids.append(ids)
            for j, deadline_id in enumerate(ids):
                offset = 1 + j * self.window // self.due
                due_at = start + timedelta(seconds=offset)
                # Every fourth, when its warning time is inside the window: warned 2 s before.
                warned = j % 4 == 0 and offset > 2
                warn_at = due_at - timedelta(seconds=2) if warned else None
                self.round_of[deadline_id] = (r, due_at, warn_at)
        self.far_from = self.starts[-1] + timedelta(days=1)
        self.rng = rng

    def times(self, deadline_id: int) -> tuple[datetime, datetime | None]:
        """due_at and warn_at of one timer."""
        if deadline_id in self.round_of:
            _, due_at, warn_at = self.round_of[deadline_id]
            return due_at, warn_at
        due_at = self.far_from + timedelta(seconds=self.rng.randrange(30 * 86400))
        warn_at = due_at - timedelta(hours=2) if deadline_id % 4 == 0 else None
        return due_at, warn_at


async def load(db: Database, layout: Layout, now: datetime) -> None:
    """One estate, one case per timer, one open timer per case, in one transaction."""
    stamp = iso(now)
    cases = [
        (i, f"BM-{i:07d}", 1, "request", "new", stamp, stamp, stamp)
        for i in range(1, layout.open + 1)
    ]
    timers = []
    for i in range(1, layout.open + 1):
        due_at, warn_at = layout.times(i)
        timers.append((i, i, RULE, iso(due_at), iso(warn_at) if warn_at else None, stamp))
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO estates(id, name, created_at) VALUES (1, '基准花园', ?)", (stamp,)
        )
        await conn.executemany(
            "INSERT INTO cases(id, number, estate_id, kind, status, accepted_at, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            cases,
        )
        await conn.executemany(
            "INSERT INTO deadlines(id, subject_kind, subject_id, case_id, rule, due_at, warn_at,"
            " created_at) VALUES (?, 'case', ?2, ?2, ?3, ?4, ?5, ?6)",
            timers,
        )


async def run_round(db: Database, layout: Layout, r: int) -> Round:
    """Sweep every interval until the round's timers all fired; check exactly-once."""
    interval = layout.intervals[r]
    ids = layout.ids[r]
    warn_ids = {i for i in ids if layout.round_of[i][2] is not None}
    result = Round(interval, await DeadlineStore(db).open_count(), len(ids), len(warn_ids))
    # The sweeper's clock: real time, shifted so that it reads start + PHASE right now.
    shift = layout.starts[r] + timedelta(seconds=PHASE) - utcnow()

    def clock() -> datetime:
        return utcnow() + shift

    seen: Counter[tuple[int, bool]] = Counter()
    breach_late: list[float] = []
    warn_late: list[float] = []

    async def react(conn: aiosqlite.Connection, firing: Firing) -> None:
        at = clock()
        timer = firing.deadline
        seen[(timer.id, firing.warning)] += 1
        if firing.warning:
            assert timer.warn_at is not None
            warn_late.append((at - timer.warn_at).total_seconds())
        else:
            breach_late.append((at - timer.due_at).total_seconds())
        result.marked_late += firing.late
        kind = "warning" if firing.warning else "breach"
        await enqueue(conn, STAFF_CHAT, f"{kind} {timer.rule} #{timer.id}", case_id=timer.case_id)

    sweeper = Sweeper(db, react, clock=clock)
    loop = asyncio.get_running_loop()
    began = loop.time()
    give_up = began + layout.window + GIVE_UP_AFTER
    durations: list[float] = []
    idle: list[float] = []
    busy = 0.0
    acted_total = 0
    tick = 0
    while len(breach_late) < len(ids) and loop.time() < give_up:
        await asyncio.sleep(max(0.0, began + tick * interval - loop.time()))
        started = time.perf_counter()
        acted = await sweeper.sweep()
        took = time.perf_counter() - started
        durations.append(took)
        if acted:
            busy += took
            acted_total += acted
        else:
            idle.append(took)
        tick = max(tick + 1, math.ceil((loop.time() - began) / interval))
    result.seconds = loop.time() - began
    result.completed = len(breach_late) >= len(ids)
    result.extra_sweep_acted = await sweeper.sweep()  # all fired: nothing may fire again

    result.passes = len(durations)
    result.pass_p50_ms = percentile(durations, 0.5) * 1000
    result.pass_max_ms = max(durations, default=0.0) * 1000
    result.idle_pass_p50_ms = percentile(idle, 0.5) * 1000 if idle else None
    result.firing_ms = busy / acted_total * 1000 if acted_total else 0.0
    result.latency_p50_s = percentile(breach_late, 0.5)
    result.latency_p99_s = percentile(breach_late, 0.99)
    result.latency_max_s = max(breach_late, default=0.0)
    result.warning_latency_p50_s = percentile(warn_late, 0.5)
    result.warning_latency_max_s = max(warn_late, default=0.0)
    result.duplicate_firings = sum(n - 1 for n in seen.values() if n > 1)

    # Exactly once, from the database: the round's rows, and nothing else, fired.
    in_round = set(ids)
    fired = {row[0] for row in await db.fetchall("SELECT id FROM deadlines WHERE state = 'fired'")}
    warned = {
        row[0] for row in await db.fetchall("SELECT id FROM deadlines WHERE warned_at IS NOT NULL")
    }
    earlier = {i for k in range(r) for i in layout.ids[k]}
    fired_now = fired - earlier
    warned_now = warned - earlier
    messages = Counter(
        (row[0], row[1].split()[0])
        for row in await db.fetchall(
            "SELECT case_id, text FROM outbox WHERE chat_id = ?", (STAFF_CHAT,)
        )
    )
    breaches = {case: n for (case, kind), n in messages.items() if kind == "breach"}
    warnings = {case: n for (case, kind), n in messages.items() if kind == "warning"}
    result.fired = len(fired_now)
    result.warned = len(warned_now)
    result.warnings_skipped = len(warn_ids - warned_now)
    result.outbox_breaches = sum(n for case, n in breaches.items() if case in in_round)
    result.outbox_warnings = sum(n for case, n in warnings.items() if case in in_round)

    problems = result.problems
    if not result.completed:
        problems.append(f"only {len(breach_late)} of {len(ids)} fired in time")
    if fired_now != in_round:
        problems.append(
            f"fired rows: {len(fired_now - in_round)} unexpected, {len(in_round - fired_now)}"
            " missing"
        )
    if not warned_now <= warn_ids:
        problems.append(f"{len(warned_now - warn_ids)} rows warned without a warning time")
    if result.outbox_breaches != result.due or set(breaches) & in_round != in_round:
        problems.append(f"{result.outbox_breaches} breach messages for {result.due} timers")
    if any(n != 1 for case, n in breaches.items() if case in in_round):
        problems.append("a timer's breach was queued more than once")
    if result.outbox_warnings != result.warned or any(
        n != 1 for case, n in warnings.items() if case in in_round
    ):
        problems.append(f"{result.outbox_warnings} warning messages for {result.warned} warned")
    if result.duplicate_firings:
        problems.append(f"{result.duplicate_firings} duplicate firings")
    if result.extra_sweep_acted:
        problems.append(f"a sweep after the round fired {result.extra_sweep_acted} again")
    result.ok = not problems
    return result


async def bench(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "open": args.open,
        "due": args.due,
        "window_s": args.window,
        "intervals_s": args.interval,
        "db": str(path),
        "sqlite": aiosqlite.sqlite_version,
    }
    db = await Database.open(path)
    now = utcnow()
    layout = Layout(args, now)
    started = time.perf_counter()
    await load(db, layout, now)
    report["load"] = {"seconds": time.perf_counter() - started, **file_sizes(path)}

    started = time.perf_counter()
    await db.close()
    closed = time.perf_counter() - started
    started = time.perf_counter()
    db = await Database.open(path)
    opened = time.perf_counter() - started

    async def nothing(conn: aiosqlite.Connection, firing: Firing) -> None:
        raise AssertionError(f"nothing is due yet, but {firing.deadline.id} fired")

    started = time.perf_counter()
    acted = await Sweeper(db, nothing).sweep()
    first = time.perf_counter() - started
    report["startup"] = {
        "close_ms": closed * 1000,
        "open_ms": opened * 1000,
        "first_sweep_ms": first * 1000,
        "first_sweep_acted": acted,
    }
    moment = iso(now)
    report["plans"] = {
        "due_warnings": plan(
            await db.fetchall(
                "EXPLAIN QUERY PLAN SELECT * FROM deadlines WHERE state = 'pending'"
                " AND warn_at IS NOT NULL AND warn_at <= ? AND due_at > ? ORDER BY warn_at"
                " LIMIT 200",
                (moment, moment),
            )
        ),
        "due_breaches": plan(
            await db.fetchall(
                "EXPLAIN QUERY PLAN SELECT * FROM deadlines WHERE state IN ('pending', 'warned')"
                " AND due_at <= ? ORDER BY due_at LIMIT 200",
                (moment,),
            )
        ),
    }

    rounds = [await run_round(db, layout, r) for r in range(len(layout.intervals))]
    report["rounds"] = [asdict(r) for r in rounds]
    totals = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM deadlines WHERE state = 'fired'),"
        " (SELECT COUNT(*) FROM outbox WHERE text LIKE 'breach %'),"
        " (SELECT COUNT(*) FROM outbox)"
    )
    assert totals is not None
    expected = args.due * len(rounds)
    ok = acted == 0 and all(r.ok for r in rounds) and totals[0] == totals[1] == expected
    report["exactly_once"] = {
        "ok": ok,
        "expected": expected,
        "fired": totals[0],
        "outbox_breaches": totals[1],
        "outbox": totals[2],
        "warned": sum(r.warned for r in rounds),
    }
    report["end"] = {"open_timers": await DeadlineStore(db).open_count(), **file_sizes(path)}
    await db.close()
    report["rss"] = rss()
    report["ok"] = ok
    return report


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def table(report: dict[str, Any]) -> str:
    load, start, once = report["load"], report["startup"], report["exactly_once"]
    lines = [
        f"deadline sweeper benchmark: {report['open']:,} open timers, {report['due']:,} due"
        f" over {report['window_s']} s per round (SQLite {report['sqlite']})",
        f"  load         {load['seconds']:.2f} s; db {mb(load['db_bytes'])}"
        f" + wal {mb(load['wal_bytes'])} = {mb(load['total_bytes'])}",
        f"  start-up     close {start['close_ms']:.1f} ms, re-open {start['open_ms']:.1f} ms,"
        f" first sweep (nothing due) {start['first_sweep_ms']:.2f} ms",
        f"  plans        breaches: {report['plans']['due_breaches']}",
        f"               warnings: {report['plans']['due_warnings']}",
        "",
    ]
    rounds = report["rounds"]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        lines.append(f"  {label:<30}" + "".join(f"{cell(r):>16}" for r in rounds))

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f} ms"

    row("sweep every", lambda r: f"{r['interval']:.2f} s")
    row("open timers at start", lambda r: f"{r['open_timers']:,}")
    row("fired / due", lambda r: f"{r['fired']:,} / {r['due']:,}")
    row("warnings given / scheduled", lambda r: f"{r['warned']:,} / {r['warnings_scheduled']:,}")
    row("sweep passes", lambda r: f"{r['passes']}")
    row("pass p50", lambda r: ms(r["pass_p50_ms"]))
    row("pass max", lambda r: ms(r["pass_max_ms"]))
    row("pass p50, nothing to fire", lambda r: ms(r["idle_pass_p50_ms"]))
    row("per timer fired", lambda r: ms(r["firing_ms"]))
    row("breach lateness p50", lambda r: f"{r['latency_p50_s']:.2f} s")
    row("breach lateness p99", lambda r: f"{r['latency_p99_s']:.2f} s")
    row("breach lateness max", lambda r: f"{r['latency_max_s']:.2f} s")
    row(
        "warning lateness p50 / max",
        lambda r: f"{r['warning_latency_p50_s']:.2f}/{r['warning_latency_max_s']:.2f} s",
    )
    row("marked late by the sweeper", lambda r: f"{r['marked_late']:,}")
    row("round took", lambda r: f"{r['seconds']:.1f} s")
    lines.append("")
    end, mem = report["end"], report["rss"]
    lines.append(
        f"  end          {end['open_timers']:,} open; db {mb(end['db_bytes'])}"
        f" + wal {mb(end['wal_bytes'])}"
    )
    lines.append(
        f"  rss          peak {mem['max_kib'] / 1024:.1f} MiB,"
        f" now {mem['current_kib'] / 1024:.1f} MiB"
    )
    verdict = "OK" if once["ok"] else "FAIL"
    lines.append(
        f"  exactly-once {verdict}: fired {once['fired']:,}, breach messages"
        f" {once['outbox_breaches']:,}, expected {once['expected']:,}"
        f" (+{once['warned']:,} warnings, outbox {once['outbox']:,})"
    )
    for r in report["rounds"]:
        for problem in r["problems"]:
            lines.append(f"  FAIL ({r['interval']} s): {problem}")
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--open", type=int, default=100_000, help="open timers (default 100000)")
    parser.add_argument("--due", type=int, default=2000, help="timers due per round")
    parser.add_argument(
        "--interval",
        type=float,
        nargs="+",
        default=[2.0, 0.5],
        help="sweep interval(s) in seconds, one round each (default: 2.0 as the bot, 0.5)",
    )
    parser.add_argument("--window", type=int, default=5, help="seconds the due timers spread over")
    parser.add_argument("--db", type=Path, help="database file to create (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.due < 1 or args.window < 1 or any(i <= 0 for i in args.interval):
        parser.error("--due, --window and --interval must be positive")
    if args.open < args.due * len(args.interval):
        parser.error("--open must hold --due timers for every interval")
    if args.db is not None and args.db.exists():
        parser.error(f"{args.db} exists; the benchmark creates a fresh database")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    with tempfile.TemporaryDirectory(prefix="wuye-bench-") as folder:
        path = args.db if args.db is not None else Path(folder) / "bench.db"
        report = asyncio.run(bench(args, path))
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
