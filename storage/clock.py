"""The one clock of the application.

Every domain time — a case's acceptance, a deadline's due moment, an audit event's stamp,
the moment the outbox may retry — is read from the :class:`Clock` the process was started
with, never from ``datetime.now()``. The database carries it (``Database.clock``) and the
services hand the same object to handlers, the sweeper and the outbox, so a test moves one
clock and the whole bot follows.

* :class:`SystemClock` — production: the machine's time, in UTC.
* :class:`ManualClock` — unit tests: stands still until the test moves it.
* :class:`OffsetClock` — the bot started as a process by end-to-end tests: the machine's
  time plus an offset read from a file the test helper rewrites, so days can pass in
  seconds (a 15-day complaint, a 3-month deposit wait). Only in test mode
  (``WUYE_TEST_MODE``; see ``bot.settings``).

This module is the only place that reads the wall clock for domain time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """Tells the current moment, as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current moment (UTC)."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The machine's time, in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until it is moved (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock keeps aware times")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The moment the clock was last set to."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (forwards or back)."""
        if moment.tzinfo is None:
            raise ValueError("a clock keeps aware times")
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta | float = 0.0, **units: float) -> datetime:
        """Move forward by ``delta`` (seconds or a timedelta) plus ``units`` (``days=3``);
        returns the new moment."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self._now += step + timedelta(**units)
        return self._now


class OffsetClock:
    """The machine's time plus an offset (seconds) kept in a file.

    The file holds one number; a missing or empty file means no offset. It is re-read only
    when its modification time changes, so :meth:`now` costs one ``stat``. The writer
    replaces the file atomically (see :func:`write_offset`), so a reader never sees half a
    number.

    Its time can jump whenever the file changes: whoever sleeps until a moment by it (the
    deadline sweeper) looks at it again every :attr:`recheck` seconds.
    """

    #: How often a sleeper on this clock looks at it again (seconds): a moved clock is noticed
    #: this promptly (one ``stat`` each time).
    recheck = 0.25

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The machine's time moved by the file's offset."""
        try:
            status = os.stat(self.path)
            stamp = (status.st_ino, status.st_mtime_ns)  # a rename gives a new inode
        except FileNotFoundError:
            stamp = (-1, -1)
        if stamp != self._stamp:
            self._offset = timedelta(seconds=read_offset(self.path))
            self._stamp = stamp
        return SystemClock().now() + self._offset


def read_offset(path: Path) -> float:
    """The offset in seconds a clock file holds (0 when there is none)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return 0.0
    return float(text) if text else 0.0


def write_offset(path: Path, seconds: float) -> None:
    """Replace a clock file's offset atomically (write a sibling, then rename it over)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".new")
    scratch.write_text(f"{seconds:.6f}\n", encoding="ascii")
    os.replace(scratch, path)
