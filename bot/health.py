"""Liveness: the sweeper's heartbeat, and ``python -m bot health`` that reads it.

The running bot writes the machine's time into ``WUYE_DATA_DIR/heartbeat`` after every
deadline sweep (every couple of seconds). ``python -m bot health`` — the Docker
``HEALTHCHECK`` — exits 0 when the database opens and that heartbeat is recent, 1
otherwise, printing one line either way. The heartbeat is the machine's time, not the
application's clock: it says whether the process is alive, not what time it is in the
estate. It is written in the file rather than read from the file's modification time, so
that the bot and the check compare one clock (a file system stamps files with its own,
which a process run under a moved date, such as ``make test-dates``, does not share).
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


def beat(path: Path, at: float | None = None) -> None:
    """Write the heartbeat: the machine's time now (or ``at``, in seconds since the epoch),
    replacing the file at once so the check never reads half of it (its folder is made on
    the first beat)."""
    stamp = SystemClock().now().timestamp() if at is None else at
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(f"{stamp:.3f}\n", encoding="ascii")
    os.replace(fresh, path)


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
