"""Liveness: the sweeper's heartbeat, and ``python -m bot health`` that reads it.

The running bot touches ``WUYE_DATA_DIR/heartbeat`` after every deadline sweep (every
couple of seconds). ``python -m bot health`` — the Docker ``HEALTHCHECK`` — exits 0 when the
database opens and that heartbeat is recent, 1 otherwise, printing one line either way.
The heartbeat is the machine's time (a file's modification time), not the application's
clock: it says whether the process is alive, not what time it is in the estate.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.settings import Settings
from storage.clock import SystemClock
from storage.db import probe

#: A heartbeat older than this many seconds means the sweeper has stopped.
HEARTBEAT_MAX_AGE = 60.0


def heartbeat_path(settings: Settings) -> Path:
    """Where the running bot leaves its heartbeat."""
    return settings.data_dir / "heartbeat"


def beat(path: Path) -> None:
    """Touch the heartbeat (created with its folder on the first beat)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def heartbeat_age(path: Path) -> float | None:
    """Seconds since the last beat, or None when there was none."""
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, SystemClock().now().timestamp() - stamp)


async def check(settings: Settings, max_age: float = HEARTBEAT_MAX_AGE) -> tuple[bool, str]:
    """Whether the bot is healthy, and one line saying why."""
    if not settings.db.exists():
        return False, f"no database at {settings.db}"
    try:
        await probe(settings.db)
    except Exception as exc:  # any failure to open is the answer, not a crash
        return False, f"the database does not open: {exc}"
    age = heartbeat_age(heartbeat_path(settings))
    if age is None:
        return False, "no heartbeat yet: the deadline sweeper has not run"
    if age > max_age:
        return False, f"the deadline sweeper last ran {age:.0f} s ago (limit {max_age:.0f} s)"
    return True, f"ok: database opens, sweeper ran {age:.0f} s ago"
