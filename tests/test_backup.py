"""Backups (``python -m bot backup``, the daily job), the snapshot a migration takes first, and
restore: a backup taken while the bot writes restores to a database and file store that
``check-audit`` passes, every photo re-hashed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from bot.__main__ import main
from bot.health import beat
from procedures.subjects import Subject
from storage import audit
from storage import db as db_module
from storage.backup import backups_in, referenced_files
from storage.clock import ManualClock
from storage.db import Database
from storage.evidence import Checked, EvidenceStore, link, receive
from tests.conftest import T0
from tests.support.images import encoded


def photo(number: int) -> bytes:
    """A small PNG of its own for each number."""
    return encoded(Image.new("RGB", (24, 16), (number % 256, number // 256 % 256, 90)), "PNG")


async def attach(db: Database, store: EvidenceStore, number: int) -> str:
    """What a photo's arrival writes: the file, its facts, a link and its audit event."""
    checked = await receive(store, db, photo(number))
    assert isinstance(checked, Checked)
    async with db.write() as conn:
        await link(conn, Subject("test", number), checked.sha256, actor="system")
        await audit.append(conn, event="test.step", subject=f"test:{number}", actor="system")
    return checked.sha256


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The bot's settings in the environment: database, files and backups under ``live/``."""
    monkeypatch.setenv("WUYE_DB", str(tmp_path / "live" / "wuye.db"))
    monkeypatch.setenv("WUYE_DATA_DIR", str(tmp_path / "live" / "files"))
    monkeypatch.setenv("WUYE_BACKUP_DIR", str(tmp_path / "backups"))
    return tmp_path


def cli(*args: str) -> int:
    return main(list(args))


async def test_a_backup_taken_while_the_bot_writes_restores_and_passes_check_audit(
    live: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = await Database.open(live / "live" / "wuye.db", clock=ManualClock(T0))
    store = EvidenceStore(live / "live" / "files")
    for number in range(5):
        await attach(db, store, number)
    stop = asyncio.Event()
    written: list[str] = []

    async def writer() -> None:
        number = 100
        while not stop.is_set():
            written.append(await attach(db, store, number))
            number += 1

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.2)
    assert await asyncio.to_thread(cli, "backup") == 0
    after_backup = len(written)
    await asyncio.sleep(0.2)  # the bot writes on after the copy
    stop.set()
    await task
    await db.close()
    out = capsys.readouterr().out
    assert out.startswith(f"Backup {live / 'backups'}/wuye-")
    (copy,) = backups_in(live / "backups")
    named = referenced_files(copy)
    assert len(written) > after_backup > 0  # the bot wrote during the backup and after it
    assert 5 < len(named) < 5 + len(written) + 1  # what was committed when it was copied
    assert f"{len(named)} evidence file(s) named, {len(named)} copied now" in out

    # Restore on another machine: an empty place, the backup folder copied there.
    monkeypatch.setenv("WUYE_DB", str(live / "restored" / "wuye.db"))
    monkeypatch.setenv("WUYE_DATA_DIR", str(live / "restored" / "files"))
    assert await asyncio.to_thread(cli, "restore", str(copy)) == 0
    out = capsys.readouterr().out
    assert f"{len(named)} evidence file(s) named, {len(named)} put back." in out
    assert "Audit trail intact:" in out
    assert f"Evidence files intact: {len(named)} files." in out

    # check-audit re-hashes every restored photo: one changed byte is found.
    sha, role = named[-1]
    damaged = EvidenceStore(live / "restored" / "files").path(sha, display=role == "display")
    damaged.chmod(0o600)
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\0")
    assert await asyncio.to_thread(cli, "check-audit") == 1
    assert f"Evidence file CHANGED: original {sha}" in capsys.readouterr().err


async def test_backups_copy_only_new_photos_and_keep_the_newest(
    live: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = ManualClock(T0)
    db = await Database.open(live / "live" / "wuye.db", clock=clock)
    store = EvidenceStore(live / "live" / "files")
    monkeypatch.setenv("WUYE_BACKUP_KEEP", "2")
    for number in range(3):
        await attach(db, store, number)
    assert await asyncio.to_thread(cli, "backup") == 0
    assert "3 evidence file(s) named, 3 copied now" in capsys.readouterr().out
    (first,) = backups_in(live / "backups")
    await attach(db, store, 3)
    assert await asyncio.to_thread(cli, "backup") == 0
    assert "4 evidence file(s) named, 1 copied now" in capsys.readouterr().out
    assert await asyncio.to_thread(cli, "backup", str(live / "backups")) == 0
    out = capsys.readouterr().out
    assert "4 evidence file(s) named, 0 copied now (0.0 MB); 1 older copy(ies) removed." in out
    kept = backups_in(live / "backups")
    assert len(kept) == 2 and first not in kept and not first.exists()
    await db.close()


async def test_a_photo_missing_from_the_store_makes_the_backup_fail_loudly(
    live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = await Database.open(live / "live" / "wuye.db", clock=ManualClock(T0))
    store = EvidenceStore(live / "live" / "files")
    kept = await attach(db, store, 1)
    lost = await attach(db, store, 2)
    await db.close()
    store.path(lost).unlink()
    assert await asyncio.to_thread(cli, "backup") == 1
    captured = capsys.readouterr()
    assert f"Evidence file MISSING in the store, not copied: original {lost}" in captured.err
    assert EvidenceStore(live / "backups").verify(kept).value == "ok"


async def test_restore_is_refused_while_the_bot_runs(
    live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = await Database.open(live / "live" / "wuye.db", clock=ManualClock(T0))
    await db.close()
    assert await asyncio.to_thread(cli, "backup") == 0
    (copy,) = backups_in(live / "backups")
    beat(live / "live" / "files" / "heartbeat")
    assert await asyncio.to_thread(cli, "restore", str(copy)) == 2
    assert "The bot seems to be running" in capsys.readouterr().err
    assert await asyncio.to_thread(cli, "restore", str(live / "nothing.db"), "--force") == 1
    assert "Cannot restore" in capsys.readouterr().err
    assert await asyncio.to_thread(cli, "restore", str(copy), "--force") == 0
    out = capsys.readouterr().out
    assert "The database it replaces was kept as" in out and "Audit trail intact" in out
    assert len(list((live / "live").glob("wuye.db.replaced-*Z"))) == 1


async def test_a_snapshot_is_taken_before_pending_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = db_module.migrations()
    path = tmp_path / "wuye.db"
    monkeypatch.setattr(db_module, "migrations", lambda: shipped[:-1])
    db = await Database.open(path, clock=ManualClock(T0))  # new: nothing to keep
    async with db.write() as conn:
        await audit.append(conn, event="test.before", subject="test:1", actor="system")
    await db.close()
    assert not (tmp_path / "snapshots").exists()

    monkeypatch.setattr(db_module, "migrations", lambda: shipped)  # an upgrade ships one more
    db = await Database.open(path, clock=ManualClock(T0))
    await db.close()
    version = shipped[-1][0]
    (snapshot,) = (tmp_path / "snapshots").iterdir()
    assert snapshot.name == f"wuye-before-{version:04d}-20261127T010000Z.db"
    copy = sqlite3.connect(snapshot)
    try:
        versions = {row[0] for row in copy.execute("SELECT version FROM schema_migrations")}
        events = copy.execute("SELECT COUNT(*) FROM audit WHERE event = 'test.before'")
        assert versions == {v for v, _, _ in shipped[:-1]}
        assert events.fetchone()[0] == 1
    finally:
        copy.close()

    db = await Database.open(path, clock=ManualClock(T0))  # nothing pending: no copy
    await db.close()
    assert len(list((tmp_path / "snapshots").iterdir())) == 1
