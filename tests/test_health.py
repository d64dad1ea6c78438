"""``python -m bot health``, the image's HEALTHCHECK: the database opens (read-only, nothing
migrated) and the heartbeats of polling, the deadline sweeper and the outbox sender are
recent (in webhook mode: the webhook server answers instead of polling); one line says why
not."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import build_application
from bot.health import POLLING, SENDER, SWEEPER, beat, check
from bot.settings import Settings
from bot.sweeper import Sweeper
from storage.db import Database
from tests.support.sandbox import BotProcess, SandboxProcess, wait_for
from tests.support.telegram import FakeBotApi, Harness

LOOPS = (SWEEPER, SENDER, POLLING)


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
    for name in LOOPS:
        beat(env / "files" / name)
    assert await health() == 0
    assert capsys.readouterr().out.startswith("ok: database opens")
    beat(heartbeat, at=time.time() - 600)  # ten minutes without a sweep
    assert await health() == 1
    assert "the deadline sweeper last ran 600 s ago" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("stopped", "named"),
    [(SENDER, "the outbox sender"), (POLLING, "polling"), (SWEEPER, "the deadline sweeper")],
)
async def test_each_loop_that_stops_is_named(
    env: Path, capsys: pytest.CaptureFixture[str], stopped: str, named: str
) -> None:
    db = await Database.open(env / "wuye.db")
    await db.close()
    for name in LOOPS:
        beat(env / "files" / name, at=time.time() - (120 if name == stopped else 1))
    assert await health() == 1
    assert capsys.readouterr().err.startswith(f"{named} last ran 120 s ago (limit 60 s)")


async def test_the_limit_is_a_setting(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = await Database.open(env / "wuye.db")
    await db.close()
    for name in LOOPS:
        beat(env / "files" / name, at=time.time() - 30)
    assert await health() == 0
    capsys.readouterr()
    monkeypatch.setenv("WUYE_HEALTH_MAX_AGE", "20")
    assert await health() == 1
    assert "last ran 30 s ago (limit 20 s)" in capsys.readouterr().err


async def test_health_fails_when_the_sweeper_is_stopped(settings: Settings, db: Database) -> None:
    """The running bot (post_init: its jobs and its sender; polled by hand, as the Updater
    does) is healthy; once its sweeper task is stopped, only the sweeper's beat goes stale."""
    settings = settings.model_copy(update={"health_max_age": 2.0})
    api = FakeBotApi()
    app = build_application(settings, db=db, request=api, rate_limit=False)
    sweeper: Sweeper = app.bot_data["sweeper"]
    sweeper.max_sleep = 0.2  # nothing is due: it wakes (and beats) at least this often
    async with Harness(app, api):

        async def run_for(seconds: float) -> None:
            """Poll as the Updater would, for ``seconds``."""
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                await app.bot.get_updates(timeout=0)
                await asyncio.sleep(0.1)

        await run_for(0.5)
        ok, line = await check(settings)
        assert ok, line
        assert re.fullmatch(
            r"ok: database opens, deadline sweeper \d s ago, outbox sender \d s ago, "
            r"polling \d s ago",
            line,
        ), line
        await sweeper.stop()
        await run_for(2.3)
        ok, line = await check(settings)
        assert not ok
        assert re.fullmatch(r"the deadline sweeper last ran \d s ago \(limit 2 s\)", line), line


async def test_in_webhook_mode_the_webhook_server_must_answer(env: Path) -> None:
    """No polling beat in webhook mode (a quiet bot is not called): the check calls the
    webhook server's port instead, and any HTTP answer will do."""
    db = await Database.open(env / "wuye.db")
    await db.close()
    for name in (SWEEPER, SENDER):
        beat(env / "files" / name)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = Settings(
        db=env / "wuye.db", data_dir=env / "files", webhook_url="https://bot.example.org/tg",
        webhook_secret="x" * 32, webhook_listen="0.0.0.0", webhook_port=port,
        _env_file=None,  # type: ignore[call-arg]
    )  # fmt: skip
    async with server:
        ok, line = await check(settings)
    assert ok, line
    assert line.endswith("the webhook server answers")
    ok, line = await check(settings)  # closed now
    assert not ok
    assert line.startswith(f"the webhook server does not answer on 127.0.0.1:{port}")


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
        files = tmp_path / "data" / "files"
        wait_for(lambda: all((files / name).exists() for name in LOOPS), what="every beat")
        assert process.cli("health").stdout.startswith("ok: database opens")
    finally:
        process.stop()
        sandbox.stop()
    beat(tmp_path / "data" / "files" / "heartbeat", at=time.time() - 600)
    with pytest.raises(subprocess.CalledProcessError) as failed:
        process.cli("health")
    assert failed.value.returncode == 1
