"""One clock for the whole application (storage.clock): tests move it, the bot started as a
process follows a clock file in test mode only, and no module reads the wall clock itself."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings
from storage.clock import ManualClock, OffsetClock, write_offset
from storage.db import Database

ROOT = Path(__file__).resolve().parents[1]
#: Reads of the machine's time for domain time; only storage/clock.py may make them.
WALL_CLOCK = re.compile(
    r"datetime\.(now|utcnow|today)\(|date\.today\(|time\.time\(|CURRENT_(TIMESTAMP|DATE|TIME)"
    r"|'now'"
)


def test_nothing_outside_the_clock_reads_the_machines_time() -> None:
    """A stamp taken from the machine cannot be moved by a test: the suite would go red the
    day a fixed date passes. Every package of the application asks storage.clock instead."""
    found = []
    for package in ("bot", "handlers", "procedures", "storage", "templates"):
        for path in sorted((ROOT / package).rglob("*.*")):
            if path.suffix not in {".py", ".sql"} or path == ROOT / "storage" / "clock.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if WALL_CLOCK.search(line.split("#", 1)[0]):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


async def test_storage_stamps_with_the_injected_clock(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))
    db = await Database.open(tmp_path / "w.db", clock=clock)
    try:
        row = await db.fetchone("SELECT MAX(applied_at) FROM schema_migrations")
        assert row is not None and row[0] == "2031-05-06T07:08:09+00:00"
        clock.advance(days=2, hours=1)
        assert db.now() == datetime(2031, 5, 8, 8, 8, 9, tzinfo=UTC)
    finally:
        await db.close()


def test_a_manual_clock_keeps_aware_times_only() -> None:
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 1, 1))  # naive: the point of the test


def test_an_offset_clock_follows_its_file(tmp_path: Path) -> None:
    """End-to-end tests let days pass for the bot process by rewriting its clock file."""
    path = tmp_path / "clock"
    clock = OffsetClock(path)
    first = clock.now()
    write_offset(path, 15 * 86400)
    later = clock.now()
    assert timedelta(days=15) <= later - first < timedelta(days=15, minutes=1)
    write_offset(path, 0)
    assert clock.now() - first < timedelta(minutes=1)


def test_the_test_clock_is_refused_outside_test_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A production bot keeps the real time: the clock file needs WUYE_TEST_MODE."""
    monkeypatch.setenv("WUYE_TEST_CLOCK_FILE", str(tmp_path / "clock"))
    with pytest.raises(ConfigError, match="WUYE_TEST_CLOCK_FILE is for tests only"):
        load_settings()
    monkeypatch.setenv("WUYE_TEST_MODE", "1")
    assert load_settings().test_clock_file == tmp_path / "clock"
