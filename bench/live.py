"""What the benchmarks that run the real bot share (``bench/latency.py``,
``bench/evidence_chat.py``): the sandbox's Telegram served inside the benchmark's own process,
the bot as its own process (``python -m bot run``, polling it over HTTP as in production, on
a fresh database, its output in ``bot.log``), and the world's log read for the figures.

The world's clock is ``time.time``, read in the benchmark's process: a benchmark stamps
what it hands the world with the same clock as the world's log stamps the bot's calls
(:attr:`sandbox.world.ApiCall.time`, when the request reached the world).
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from sandbox.server import make_app
from sandbox.world import ApiCall, World

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7000000002:bench-latency-token"
BOT_USERNAME = "wuye_bench_bot"
#: Seconds the bot may take to start and answer a first message.
START_PATIENCE = 60.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def spread(values: list[float]) -> dict[str, float]:
    """Median, p95 (nearest rank) and max, rounded to 0.1 (zeros for no values)."""
    return {
        "median_ms": round(statistics.median(values), 1) if values else 0.0,
        "p95_ms": round(percentile(values, 0.95), 1),
        "max_ms": round(max(values, default=0.0), 1),
    }


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_world() -> World:
    """A world for the bench bot, on the machine's clock (``time.time``)."""
    return World(token=TOKEN, bot_username=BOT_USERNAME, max_calls=10**6, clock=time.time)


@asynccontextmanager
async def served(world: World) -> AsyncIterator[str]:
    """Serve ``world`` on a free port in this process; yields its base URL."""
    # As `python -m sandbox` serves: a long poll whose client went away ends with it.
    runner = web.AppRunner(make_app(world), handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port := free_port()).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def wait_until(check: Callable[[], bool], patience: float, every: float = 0.02) -> bool:
    """Poll ``check()`` every ``every`` seconds until true or ``patience`` seconds passed."""
    deadline = time.monotonic() + patience
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True


def bot_env(base: str, folder: Path, **settings: str) -> dict[str, str]:
    """The bot's environment against the sandbox at ``base``, its database and files in
    ``folder``; ``settings`` add or override ``WUYE_*`` (``log_level="INFO"``…)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "WUYE_TOKEN": TOKEN,
        "WUYE_API_URL": f"{base}/bot",
        "WUYE_FILE_URL": f"{base}/file/bot",
        "WUYE_DB": str(folder / "wuye.db"),
        "WUYE_DATA_DIR": str(folder / "files"),
        "WUYE_BOT_USERNAME": BOT_USERNAME,
        "WUYE_LOG_LEVEL": "WARNING",
    }
    return env | {f"WUYE_{key.upper()}": value for key, value in settings.items()}


async def bot_command(env: dict[str, str], folder: Path, *args: str) -> None:
    """``python -m bot <args>`` (seed-demo, import-roster…) with the bot's settings; its
    output goes to ``bot.log``. SystemExit when it fails."""
    with (folder / "bot.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=folder, env=env, stdout=log, stderr=log
        )  # fmt: skip
    if await process.wait():
        raise SystemExit(f"python -m bot {' '.join(args)} failed; its log:\n{bot_log(folder)}")


async def start_bot(env: dict[str, str], folder: Path) -> asyncio.subprocess.Process:
    """``python -m bot run`` with ``env`` (:func:`bot_env`), its output in ``bot.log``."""
    with (folder / "bot.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=folder, env=env, stdout=log, stderr=log
        )  # fmt: skip


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    """SIGINT, as Ctrl-C; killed if it has not stopped in 20 s."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), timeout=20)
    except TimeoutError:
        process.kill()
        await process.wait()


def bot_log(folder: Path, tail: int = 3000) -> str:
    """The end of the bot's output (for a failure's message)."""
    return (folder / "bot.log").read_text(errors="replace")[-tail:]


def sends_to(world: World, chat: int, first_call: int) -> list[ApiCall]:
    """Every ``send*`` call to ``chat`` since ``first_call``, whatever Telegram answered."""
    return [
        call
        for call in world.calls[first_call:]
        if call.method.startswith("send") and str(call.params.get("chat_id")) == str(chat)
    ]


def answers(world: World, chat: int, first_call: int) -> list[float]:
    """When Telegram accepted each message to ``chat`` since ``first_call``, in order."""
    return [call.time for call in sends_to(world, chat, first_call) if call.ok]
