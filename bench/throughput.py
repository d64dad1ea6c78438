"""Benchmark: the full bot's throughput against a bare python-telegram-bot echo bot, both
polling the same sandbox in the same run.

    python bench/throughput.py [--owners 50] [--cycles 4] [--telegram-limits] [--json]

What it does:

1. serves the sandbox's Telegram in this process (:class:`sandbox.world.World` on a free
   port, as ``bench/latency.py`` does) with ``--owners`` owners;
2. **echo**: runs PTB's own ``examples/echobot.py`` (:data:`ECHOBOT`, unchanged but for the
   token and the base URL) as its own process; after a warm-up /start from every owner, each
   owner plays ``--cycles`` times the same six steps as against the full bot, one after
   another, each waiting for its answer: /help, then the button labels and the description
   typed as texts (the echo bot has no buttons: it echoes them), /start last;
3. **full bot**: stops the echo bot and runs ``python -m bot run`` on a fresh database with
   the demo estate and a roster of the owners (one unit each), its customer-service group
   bound; every owner registers (/start, shares their contact) to warm up; then each owner
   plays ``--cycles`` times: /help, /request, taps 报修, types the description, taps 普通
   (the request is filed: its card goes to the customer-service group), /my;
4. for each bot, over the measured steps only (start-up and warm-up left out): updates per
   second (steps ÷ the time from the first step to the last answer), the bot process's CPU
   per update (user + system time from ``/proc/<pid>/stat``, every thread of it), each
   step's latency p50/p99 (the world taking the message or press → the bot's answer
   reaching the world; the world's clock, in this process), and the sandbox's own CPU
   per update (this process: the world, its HTTP server and the 50 owners);
5. prints both, and the full bot's ratios: updates/s (goal ≥ 1.0×) and CPU per update
   (goal ≤ 1.5×).

The sandbox does not enforce Telegram's limits, and the echo bot keeps none; the full bot
keeps them (30 messages a second overall, a private chat's second: ``bot.pacing``, and
PTB's ``AIORateLimiter``), which would cap its answers at 30 a second whatever its speed.
So by default the full bot runs with those limits lifted (:func:`unpaced_bot`: the same code,
the pacer's and the rate limiter's figures set out of reach), and what is compared is what
each bot spends on an update. ``--telegram-limits`` keeps them (then the full bot cannot
pass 30 updates a second: its ratio says so).

Exit status 1 when a step went unanswered.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.live import (
    START_PATIENCE,
    TOKEN,
    bot_command,
    bot_env,
    bot_log,
    new_world,
    percentile,
    served,
    stop_bot,
)
from sandbox.world import World

ADMIN, ASSISTANT = 500, 9001
#: The estate the owners live in (imported for the benchmark; the demo estate's staff too).
ESTATE = "蓝湾公寓"
#: Owners' Telegram ids are FIRST_OWNER + k, their phones +86 139 1000 0kkk.
FIRST_OWNER = 8100
#: Seconds one step may take before the run gives up on it.
PATIENCE = 60.0
GOAL_RATIO = 1.0
GOAL_CPU = 1.5
#: Where the unpaced bot writes its main thread's cProfile statistics (``--profile FILE``).
PROFILE_ENV = "THROUGHPUT_PROFILE"

#: PTB's examples/echobot.py (v22), unchanged but for the token and the base URL (and the
#: log going to the process's output at WARNING: it would log every update at INFO).
ECHOBOT = '''\
import logging
import os

from telegram import ForceReply, Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

logging.basicConfig(
    format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.WARNING
)
logging.getLogger("httpx").setLevel(logging.WARNING)
logger = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a message when the command /start is issued."""
    user = update.effective_user
    await update.message.reply_html(
        rf"Hi {user.mention_html()}!",
        reply_markup=ForceReply(selective=True),
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a message when the command /help is issued."""
    await update.message.reply_text("Help!")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo the user message."""
    await update.message.reply_text(update.message.text)


def main() -> None:
    """Start the bot."""
    application = (
        Application.builder().token(os.environ["ECHO_TOKEN"])
        .base_url(os.environ["ECHO_API_URL"]).build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
'''

#: What the owners report, in turn.
PROBLEMS = ("楼道灯不亮", "厨房水管漏水", "电梯有异响", "门禁卡失灵", "卫生间下水慢", "窗户关不严")


@dataclass
class Step:
    """One thing an owner does (a text or a press) and what answers it."""

    text: str | None = None  # typed
    press: str | None = None  # the label of the bot's newest button to press
    expect: str = ""  # a fragment of the bot's answer ("" = any message or edit from it)


@dataclass
class Owner:
    uid: int
    k: int
    latencies: list[float] = field(default_factory=list)
    #: The bot's messages in this chat, newest last (message dicts, edits applied).
    seen: list[dict[str, Any]] = field(default_factory=list)
    waiting: tuple[str, asyncio.Future[float]] | None = None


class Listener:
    """The world's events, heard as they happen: each owner's waiting step is answered by
    the first message or edit from the bot in their chat holding the fragment it expects,
    stamped with the world's clock the moment the world takes it."""

    def __init__(self, world: World, owners: dict[int, Owner]) -> None:
        self.owners = owners
        self.original = world._event
        world._event = self.heard  # type: ignore[method-assign]

    def heard(self, event: dict[str, Any]) -> None:
        self.original(event)
        if event.get("type") not in ("message", "edit"):
            return
        owner = self.owners.get(int(event.get("chat_id") or 0))
        message = event.get("message") or {}
        if owner is None or not (message.get("from") or {}).get("is_bot"):
            return
        at = time.time()
        owner.seen = [m for m in owner.seen if m["message_id"] != message["message_id"]]
        owner.seen.append(message)
        if owner.waiting is None:
            return
        fragment, future = owner.waiting
        if fragment in str(message.get("text") or message.get("caption") or ""):
            owner.waiting = None
            if not future.done():
                future.set_result(at)


def button(owner: Owner, label: str) -> tuple[int, str]:
    """The newest button ``label`` the bot showed the owner: (message id, callback data)."""
    for message in reversed(owner.seen):
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        for found in (b for row in rows for b in row):
            if found.get("text") == label and "callback_data" in found:
                return int(message["message_id"]), str(found["callback_data"])
    raise LookupError(f"owner {owner.uid} has no button {label!r}")


async def act(world: World, owner: Owner, step: Step, measured: bool) -> None:
    """Do one step as the owner and wait for its answer (its latency kept when ``measured``)."""
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    owner.waiting = (step.expect, future)
    if step.press is not None:
        message_id, data = button(owner, step.press)
        asked = time.time()
        world.press_button(owner.uid, owner.uid, message_id, data)
    elif step.text == "<contact>":
        asked = time.time()
        world.send_contact(owner.uid, owner.uid)
    else:
        assert step.text is not None
        asked = time.time()
        world.send_text(owner.uid, owner.uid, step.text)
    try:
        answered = await asyncio.wait_for(future, PATIENCE)
    except TimeoutError:
        raise SystemExit(f"owner {owner.uid}: no answer to {step} in {PATIENCE:.0f} s") from None
    if measured:
        owner.latencies.append((answered - asked) * 1000)


def full_cycle(owner: Owner, n: int) -> list[Step]:
    """One round of the full bot's mix: a command, a request filed step by step, /my."""
    problem = f"{PROBLEMS[(owner.k + n) % len(PROBLEMS)]}（{owner.uid}-{n}）"
    return [
        Step("/help"),
        Step("/request", expect="请选择类别"),
        Step(press="报修", expect="请描述情况"),
        Step(problem, expect="紧急吗"),
        Step(press="普通", expect="已受理"),
        Step("/my"),
    ]


def echo_cycle(owner: Owner, n: int) -> list[Step]:
    """The same six steps for the echo bot: commands it knows, the rest typed as texts."""
    problem = f"{PROBLEMS[(owner.k + n) % len(PROBLEMS)]}（{owner.uid}-{n}）"
    return [
        Step("/help", expect="Help!"),
        Step("报修", expect="报修"),
        Step(problem, expect=problem),
        Step("普通", expect="普通"),
        Step("我的", expect="我的"),
        Step("/start", expect="Hi "),
    ]


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU of a process so far (every thread), or of one of its threads, from
    ``/proc``."""
    path = f"/proc/{pid}/task/{thread}/stat" if thread is not None else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    world: World,
    owners: list[Owner],
    cycle: Callable[[Owner, int], list[Step]],
    cycles: int,
    pid: int,
) -> dict[str, Any]:
    """Every owner plays ``cycles`` rounds at once, each step after the previous one's
    answer; the figures of the whole."""
    for owner in owners:
        owner.latencies.clear()

    async def play(owner: Owner) -> None:
        for n in range(cycles):
            for step in cycle(owner, n):
                await act(world, owner, step, measured=True)

    cpu_bot, cpu_sandbox = cpu_seconds(pid), time.process_time()
    cpu_loop = cpu_seconds(pid, pid)  # the main thread: the event loop, PTB, the handlers
    first_call = len(world.calls)
    began = time.monotonic()
    await asyncio.gather(*(play(owner) for owner in owners))
    elapsed = time.monotonic() - began
    cpu_bot, cpu_sandbox = cpu_seconds(pid) - cpu_bot, time.process_time() - cpu_sandbox
    cpu_loop = cpu_seconds(pid, pid) - cpu_loop
    latencies = [late for owner in owners for late in owner.latencies]
    updates = len(latencies)
    calls = Counter(call.method for call in world.calls[first_call:])
    return {
        "api_calls_per_update": round(sum(calls.values()) / updates, 2),
        "api_calls": dict(calls.most_common()),
        "updates": updates,
        "seconds": round(elapsed, 2),
        "updates_per_s": round(updates / elapsed, 1),
        "cpu_ms_per_update": round(cpu_bot * 1000 / updates, 2),
        "main_thread_cpu_ms_per_update": round(cpu_loop * 1000 / updates, 2),
        "sandbox_cpu_ms_per_update": round(cpu_sandbox * 1000 / updates, 2),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
    }


async def run_echo(
    world: World, owners: list[Owner], args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    """The echo bot's phase: started, warmed up, measured, stopped."""
    script = folder / "echobot.py"
    script.write_text(ECHOBOT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}
    env |= {"ECHO_TOKEN": TOKEN, "ECHO_API_URL": f"{args.base}/bot"}
    with (folder / "echo.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(script), cwd=folder, env=env, stdout=log, stderr=log
        )  # fmt: skip
    try:
        await asyncio.gather(*(act(world, o, Step("/start", expect="Hi "), False) for o in owners))
        return await measure(world, owners, echo_cycle, args.cycles, process.pid)
    finally:
        await stop_bot(process)


def roster(folder: Path, count: int) -> Path:
    """The owners' roster: owner k owns one unit (10 to a building), phone +86 139 1000 0kkk."""
    lines = ["楼栋,房号,业主姓名,手机号"]
    for k in range(count):
        building, unit = divmod(k, 10)
        lines.append(
            f"{building + 1}栋,{unit // 2 + 1}0{unit % 2 + 1},业主{k + 1:03d},+861391000{k:04d}"
        )
    path = folder / "roster.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def unpaced_bot() -> int:
    """``python -m bot run`` with Telegram's limits out of reach (the module docstring):
    the pacer's figures and the rate limiter's overall and group rates. Run as
    ``bench/throughput.py --as-unpaced-bot``, in the bot's environment."""
    import functools

    import bot.app
    import bot.pacing
    from bot.__main__ import main

    defaults = bot.pacing.Pacer.__init__.__kwdefaults__ or {}
    bot.pacing.Pacer.__init__.__kwdefaults__ = defaults | {
        "per_second": 10**6, "private_gap": 0.0, "group_per_minute": 10**6,
    }  # fmt: skip
    bot.pacing.ANSWER_ALLOWANCE = 0.0
    bot.app.AIORateLimiter = functools.partial(  # type: ignore[misc]
        bot.app.AIORateLimiter, overall_max_rate=0, group_max_rate=0
    )
    if profile := os.environ.get(PROFILE_ENV):
        import cProfile

        profiler = cProfile.Profile()
        try:
            return profiler.runcall(main, ["run"])
        finally:
            profiler.dump_stats(profile)
    return main(["run"])


async def run_full(
    world: World, owners: list[Owner], listener: Listener, args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    """The full bot's phase: seeded, started, groups bound, owners registered, measured."""
    env = bot_env(args.base, folder, admins=str(ADMIN))
    if args.profile:
        env[PROFILE_ENV] = args.profile
    await bot_command(env, folder, "seed-demo")
    await bot_command(
        env, folder, "import-roster", str(roster(folder, len(owners))), "--estate", ESTATE
    )
    command = (
        ["-m", "bot", "run"] if args.telegram_limits else [str(Path(__file__)), "--as-unpaced-bot"]
    )
    with (folder / "bot.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *command, cwd=folder, env=env, stdout=log, stderr=log
        )  # fmt: skip
    try:
        group = int(world.add_group(f"客服中心 {ESTATE}", [ADMIN, ASSISTANT])["id"])
        listener.owners[group] = binder = Owner(group, -1)  # its answers heard like an owner's
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        binder.waiting = ("本群已绑定", future)
        world.send_text(ADMIN, group, f"/bind 客服中心 {ESTATE}")
        try:
            await asyncio.wait_for(future, START_PATIENCE)
        except TimeoutError:
            raise SystemExit(
                f"the bot did not bind the group; its log:\n{bot_log(folder)}"
            ) from None
        await asyncio.gather(*(register(world, owner) for owner in owners))
        report = await measure(world, owners, full_cycle, args.cycles, process.pid)
        report["filed"] = sum("已受理" in str(m.get("text")) for o in owners for m in o.seen)
        return report
    finally:
        await stop_bot(process)


async def register(world: World, owner: Owner) -> None:
    """The owner opens the bot and shares their contact (the roster knows their phone)."""
    await act(world, owner, Step("/start", expect="分享您的手机号码"), False)
    await act(world, owner, Step("<contact>", expect="身份验证成功"), False)


async def bench(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    world = new_world()
    world.add_user(ADMIN, "管理员")
    world.add_user(ASSISTANT, "周晓梅")
    owners = []
    for k in range(args.owners):
        uid = FIRST_OWNER + k
        world.add_user(uid, f"业主{k + 1:03d}", phone=f"+861391000{k:04d}")
        owners.append(Owner(uid, k))
    listener = Listener(world, {owner.uid: owner for owner in owners})
    started = time.monotonic()
    report: dict[str, Any] = {
        "owners": args.owners, "cycles": args.cycles, "telegram_limits": args.telegram_limits,
        "load": os.getloadavg()[0],
    }  # fmt: skip
    async with served(world) as base:
        args.base = base
        report["echo"] = await run_echo(world, owners, args, folder / "echo")
        for owner in owners:
            owner.seen.clear()
        report["full"] = await run_full(world, owners, listener, args, folder)
    world._event = listener.original  # type: ignore[method-assign]
    report["run_s"] = round(time.monotonic() - started, 1)
    echo, full = report["echo"], report["full"]
    report["ratio"] = round(full["updates_per_s"] / echo["updates_per_s"], 2)
    report["cpu_ratio"] = round(full["cpu_ms_per_update"] / echo["cpu_ms_per_update"], 2)
    report["goal_met"] = report["ratio"] >= GOAL_RATIO and report["cpu_ratio"] <= GOAL_CPU
    report["ok"] = full["filed"] >= args.owners * args.cycles
    return report


def table(report: dict[str, Any]) -> str:
    lines = [
        f"  load         {report['owners']} owners × {report['cycles']} rounds of 6 steps each,"
        f" one after another per owner, all owners at once (load average {report['load']:.1f}"
        " at the start)",
        f"  {'':12} {'updates':>8} {'upd/s':>8} {'CPU/upd':>10} {'p50':>9} {'p99':>9}"
        f" {'sandbox CPU/upd':>16} {'API calls/upd':>14}",
    ]
    for name in ("echo", "full"):
        r = report[name]
        label = "echo bot" if name == "echo" else "full bot"
        lines.append(
            f"  {label:<12} {r['updates']:>8} {r['updates_per_s']:>8.1f}"
            f" {r['cpu_ms_per_update']:>7.2f} ms {r['p50_ms']:>6.1f} ms {r['p99_ms']:>6.1f} ms"
            f" {r['sandbox_cpu_ms_per_update']:>13.2f} ms {r['api_calls_per_update']:>14.2f}"
        )
    calls = ", ".join(f"{m} {n}" for m, n in report["full"]["api_calls"].items())
    lines.append(f"  full's calls {calls}")
    lines.append(
        "  main thread  CPU per update: echo"
        f" {report['echo']['main_thread_cpu_ms_per_update']:.2f} ms, full"
        f" {report['full']['main_thread_cpu_ms_per_update']:.2f} ms (the rest: worker threads;"
        " the full bot's SQLite statements run on its main thread)"
    )
    limits = "kept" if report["telegram_limits"] else "lifted (--telegram-limits keeps them)"
    lines += [
        f"  full / echo  updates/s {report['ratio']:.2f}× (goal ≥ {GOAL_RATIO:g}×),"
        f" CPU per update {report['cpu_ratio']:.2f}× (goal ≤ {GOAL_CPU:g}×):"
        f" {'MET' if report['goal_met'] else 'MISSED'}",
        f"  requests     {report['full']['filed']} filed; Telegram's limits for the full bot:"
        f" {limits}",
        f"  run          {report['run_s']:.1f} s; every step answered:"
        f" {'OK' if report['ok'] else 'FAIL'}",
    ]
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--owners", type=int, default=50, help="owners at once (50)")
    parser.add_argument("--cycles", type=int, default=4, help="rounds of 6 steps each (4)")
    parser.add_argument(
        "--telegram-limits", action="store_true", help="keep the full bot's pacing (30 msg/s)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="write the full bot's main-thread cProfile statistics to FILE (slows it down;"
        " read them with python -m pstats FILE)",
    )
    args = parser.parse_args(argv)
    if args.profile:
        args.profile = str(Path(args.profile).absolute())  # the bot runs in another folder
    if args.owners < 1 or args.owners > 1000 or args.cycles < 1:
        parser.error("--owners must be 1..1000 and --cycles positive")
    return args


def main(argv: list[str] | None = None) -> int:
    if (argv if argv is not None else sys.argv[1:]) == ["--as-unpaced-bot"]:
        return unpaced_bot()
    args = arguments(argv)
    with tempfile.TemporaryDirectory(prefix="wuye-throughput-") as folder:
        (Path(folder) / "echo").mkdir()
        report = asyncio.run(bench(args, Path(folder)))
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
