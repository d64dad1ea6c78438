"""Liveness: heartbeats of the bot's three loops, and ``python -m bot health`` that reads them.

The running bot writes the machine's time into a file per loop in ``WUYE_DATA_DIR``:

* ``heartbeat`` — at each wake-up of the deadline sweeper (at least every 5 s);
* ``heartbeat.sender`` — each turn of the outbox sender's loop (woken at least every second);
* ``heartbeat.polling`` — each time ``getUpdates`` is asked and each time it returns (a long
  poll returns at least every ten seconds, updates or not); polling mode only.

``python -m bot health`` — the Docker ``HEALTHCHECK`` — exits 0 when the database opens and
every one of them is younger than ``WUYE_HEALTH_MAX_AGE`` seconds (60), 1 otherwise, printing
one line either way, naming what stopped. In webhook mode Telegram calls the bot only when
there is an update (a quiet night has none), so instead of a polling beat the check calls
the webhook server itself: any HTTP answer on its port proves it is serving. The bot's HTTP
endpoint ``/healthz`` (beside ``/metrics``, ``bot.metrics``) answers the same check.

A heartbeat is the machine's time, not the application's clock: it says whether the process
is alive, not what time it is in the estate. It is written in the file rather than read from
the file's modification time, so that the bot and the check compare one clock (a file system
stamps files with its own, which a process run under a moved date, such as ``make
test-dates``, does not share). Each loop writes at most once a second (:class:`Heart`).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from bot.settings import Settings
from storage.clock import SystemClock
from storage.db import probe

#: A heartbeat older than this many seconds means its loop has stopped (the default of
#: ``WUYE_HEALTH_MAX_AGE``).
HEARTBEAT_MAX_AGE = 60.0
#: The loops that beat, and the file each writes in ``WUYE_DATA_DIR``.
SWEEPER, SENDER, POLLING = "heartbeat", "heartbeat.sender", "heartbeat.polling"
#: How each loop is named in the check's line.
WHAT = {SWEEPER: "the deadline sweeper", SENDER: "the outbox sender", POLLING: "polling"}


def heartbeat_path(settings: Settings, name: str = SWEEPER) -> Path:
    """Where the running bot leaves a loop's heartbeat (by default the sweeper's)."""
    return settings.data_dir / name


def beat(path: Path, at: float | None = None) -> None:
    """Write the heartbeat: the machine's time now (or ``at``, in seconds since the epoch),
    replacing the file at once so the check never reads half of it (its folder is made on
    the first beat)."""
    stamp = SystemClock().now().timestamp() if at is None else at
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(f"{stamp:.3f}\n", encoding="ascii")
    os.replace(fresh, path)


class Heart:
    """One loop's heartbeat file, written at most every ``every`` seconds however often the
    loop turns (a beat costs a small write and a rename)."""

    def __init__(self, path: Path, every: float = 1.0) -> None:
        self.path = path
        self.every = every
        self._last = -float("inf")

    def beat(self) -> None:
        """The loop turned: write the time, unless it was written less than ``every`` ago."""
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        try:
            beat(self.path)
        except OSError:  # a full disk must not stop the loop; the check will say it is stale
            self._last = -float("inf")


def heartbeat_age(path: Path) -> float | None:
    """Seconds since the last beat, or None when there was none. A heartbeat file without
    a time in it (an older bot's, which only touched it) is dated by its modification time."""
    try:
        text = path.read_text(encoding="ascii").strip()
        stamp = float(text) if text else path.stat().st_mtime
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError):
        stamp = path.stat().st_mtime
    return max(0.0, SystemClock().now().timestamp() - stamp)


async def webhook_answers(settings: Settings, wait: float = 5.0) -> str | None:
    """Call the webhook server on its port (a GET of its path: PTB's server answers it 405,
    which is an answer); None when it answered, else why not."""
    host = settings.webhook_listen
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, settings.webhook_port), wait
        )
    except (OSError, TimeoutError) as exc:
        return f"the webhook server does not answer on {host}:{settings.webhook_port}: {exc}"
    try:
        request = f"GET /{settings.webhook_path} HTTP/1.0\r\nHost: {host}\r\n\r\n"
        writer.write(request.encode("ascii"))
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), wait)
    except (OSError, TimeoutError) as exc:
        return f"the webhook server took the call but did not answer: {exc}"
    finally:
        writer.close()
    if not status.startswith(b"HTTP/"):
        return "the webhook server's port answers, but not HTTP"
    return None


async def check(settings: Settings, max_age: float | None = None) -> tuple[bool, str]:
    """Whether the bot is healthy, and one line saying why."""
    limit = settings.health_max_age if max_age is None else max_age
    if not settings.db.exists():
        return False, f"no database at {settings.db}"
    try:
        await probe(settings.db)
    except Exception as exc:  # any failure to open is the answer, not a crash
        return False, f"the database does not open: {exc}"
    loops = [SWEEPER, SENDER] + ([] if settings.webhook_url else [POLLING])
    ages: dict[str, float] = {}
    for name in loops:
        age = heartbeat_age(heartbeat_path(settings, name))
        if age is None:
            return False, f"no heartbeat yet: {WHAT[name]} has not run"
        if age > limit:
            return False, f"{WHAT[name]} last ran {age:.0f} s ago (limit {limit:.0f} s)"
        ages[name] = age
    said = ", ".join(f"{WHAT[name].removeprefix('the ')} {ages[name]:.0f} s ago" for name in loops)
    if settings.webhook_url:
        problem = await webhook_answers(settings)
        if problem is not None:
            return False, problem
        said += ", the webhook server answers"
    return True, f"ok: database opens, {said}"
