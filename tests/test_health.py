"""``python -m bot health``, the image's HEALTHCHECK: the database opens (read-only, nothing
migrated) and the deadline sweeper's heartbeat is recent; one line says why not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.health import beat
from storage.db import Database
from tests.support.sandbox import BotProcess, SandboxProcess, wait_for


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("WUYE_DB", str(tmp_path / "wuye.db"))
    monkeypatch.setenv("WUYE_DATA_DIR", str(tmp_path / "files"))
    return tmp_path


async def health() -> int:
    """Run the command in-process (it runs its own event loop, so in a thread)."""
    return await asyncio.to_thread(main, ["health"])


async def test_no_database_is_unhealthy(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await health() == 1
    assert "no database at" in capsys.readouterr().err
    assert not (env / "wuye.db").exists()  # the check created nothing


async def test_healthy_only_while_the_sweeper_beats(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = await Database.open(env / "wuye.db")
    await db.close()
    assert await health() == 1
    assert "no heartbeat yet" in capsys.readouterr().err
    heartbeat = env / "files" / "heartbeat"
    beat(heartbeat)
    assert await health() == 0
    assert capsys.readouterr().out.startswith("ok: database opens")
    beat(heartbeat, at=time.time() - 600)  # ten minutes without a sweep
    assert await health() == 1
    assert "the deadline sweeper last ran 600 s ago" in capsys.readouterr().err


async def test_an_older_bots_touched_heartbeat_is_dated_by_the_file(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = await Database.open(env / "wuye.db")
    await db.close()
    heartbeat = env / "files" / "heartbeat"
    heartbeat.parent.mkdir()
    heartbeat.touch()
    old = os.stat(heartbeat).st_mtime - 600
    os.utime(heartbeat, (old, old))
    assert await health() == 1
    assert "the deadline sweeper last ran" in capsys.readouterr().err


async def test_a_file_that_is_not_a_database_is_unhealthy(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "wuye.db").write_text("not sqlite", encoding="utf-8")
    assert await health() == 1
    assert "the database does not open" in capsys.readouterr().err


def test_the_running_bot_is_healthy(tmp_path: Path) -> None:
    """The real process beats after its sweeps; once it is stopped the beat goes stale."""
    sandbox = SandboxProcess(tmp_path / "sandbox").start()
    process = BotProcess(sandbox, tmp_path / "wuye.db")
    try:
        process.start()
        wait_for(lambda: (tmp_path / "data" / "files" / "heartbeat").exists(), what="a beat")
        assert process.cli("health").stdout.startswith("ok: database opens")
    finally:
        process.stop()
        sandbox.stop()
    beat(tmp_path / "data" / "files" / "heartbeat", at=time.time() - 600)
    with pytest.raises(subprocess.CalledProcessError) as failed:
        process.cli("health")
    assert failed.value.returncode == 1
