"""Storage: migrations, transactions and the hash-chained audit trail (check-audit)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import main
from storage import audit
from storage.db import Database, migrations
from storage.identity import IdentityStore


async def test_migrations_apply_once_and_rerun_is_a_no_op(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "w.db")
    try:
        assert await db.migrate() == []
        row = await db.fetchone("SELECT COUNT(*) AS n FROM schema_migrations")
        assert row is not None and row["n"] >= 1
        mode = await db.fetchone("PRAGMA journal_mode")
        fks = await db.fetchone("PRAGMA foreign_keys")
        assert mode is not None and mode[0] == "wal"
        assert fks is not None and fks[0] == 1
    finally:
        await db.close()
    again = await Database.open(tmp_path / "w.db")  # a restart: nothing re-applied
    await again.close()


async def test_deadlines_survive_the_migration_that_adds_waiting_clocks(tmp_path: Path) -> None:
    """0008 and 0011 rebuild the deadlines table: a database of the version before keeps its
    timers (states, warnings, lateness) and their ids, which now name their case as their
    subject, and accepts the new 'waiting' state."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    for version, name, sql in migrations():
        if version < 8:
            conn.executescript(sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, '2026-11-01')", (version, name)
            )
    conn.execute("INSERT INTO estates(name, created_at) VALUES ('阳光花园', '2026-11-01')")
    conn.execute(
        "INSERT INTO cases(id, number, estate_id, kind, description, status, accepted_at,"
        " created_at, updated_at) VALUES (7, 'XQ-20261101-0001', 1, 'request', '漏水', 'new',"
        " '2026-11-01T01:00:00+00:00', '2026-11-01', '2026-11-01')"
    )
    conn.execute(
        "INSERT INTO deadlines(id, case_id, rule, due_at, warn_at, state, late, created_at)"
        " VALUES (41, 7, 'Q-4', '2026-11-02T01:00:00+00:00', NULL, 'fired', 1, '2026-11-01')"
    )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        row = await db.fetchone("SELECT id, rule, state, late FROM deadlines")
        assert row is not None and tuple(row) == (41, "Q-4", "fired", 1)
        # 0011: the timer now names its subject, the case it belonged to.
        row = await db.fetchone("SELECT subject_kind, subject_id, case_id FROM deadlines")
        assert row is not None and tuple(row) == ("case", 7, 7)
        async with db.write() as w:
            await w.execute(
                "INSERT INTO deadlines(subject_kind, subject_id, case_id, rule, due_at, state,"
                " created_at) VALUES ('case', 7, 7, 'Q-1', '2026-11-01', 'waiting', '2026-11-01')"
            )
    finally:
        await db.close()


async def _insert_then_fail(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute("INSERT INTO estates(name, created_at) VALUES ('半途', '2026-01-01')")
        raise RuntimeError("crash half-way")


async def test_a_failed_write_rolls_back_everything(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "w.db")
    try:
        with pytest.raises(RuntimeError):
            await _insert_then_fail(db)
        assert await IdentityStore(db).estates() == []
    finally:
        await db.close()


async def test_audit_rows_cannot_be_updated_or_deleted(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "w.db")
    try:
        await IdentityStore(db).ensure_estate("阳光花园")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with db.write() as conn:
                await conn.execute("UPDATE audit SET actor = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with db.write() as conn:
                await conn.execute("DELETE FROM audit")
    finally:
        await db.close()


def _tamper(path: Path, sql: str) -> None:
    """What someone with the database file could do: drop the guard, then edit."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute(sql)
    conn.commit()
    conn.close()


async def _three_events(path: Path) -> None:
    db = await Database.open(path)
    identity = IdentityStore(db)
    await identity.ensure_estate("阳光花园")
    await identity.ensure_estate("翠湖苑")
    estate = await identity.ensure_estate("金色家园")
    person = await identity.touch_person(42, "王伟", None, "zh-hans")
    await identity.grant_role(person.id, estate.id, "admin", actor="cli")
    assert (await audit.verify(db)).ok
    await db.close()


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ('UPDATE audit SET data = \'{"role":"leadership"}\' WHERE id = 4', "edited"),
        ("DELETE FROM audit WHERE id = 2", "removed"),
    ],
)
async def test_check_audit_catches_tampering(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sql: str,
    problem: str,
) -> None:
    path = tmp_path / "w.db"
    await _three_events(path)
    monkeypatch.setenv("WUYE_DB", str(path))
    assert await _cli(["check-audit"]) == 0
    assert "intact: 4 events" in capsys.readouterr().out
    _tamper(path, sql)
    assert await _cli(["check-audit"]) == 1
    err = capsys.readouterr().err
    assert "BROKEN" in err and problem in err


async def _cli(argv: list[str]) -> int:
    """Run the command line in a worker thread (it starts its own event loop)."""
    import asyncio

    return await asyncio.to_thread(main, argv)


async def test_audit_trail_of_a_subject(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "w.db")
    try:
        identity = IdentityStore(db)
        estate = await identity.ensure_estate("阳光花园")
        person = await identity.touch_person(42, "王伟", None, "zh-hans")
        await identity.grant_role(person.id, estate.id, "cashier", actor="cli")
        await identity.revoke_role(person.id, estate.id, "cashier", actor="cli", actor_id=None)
        events = [e["event"] for e in await audit.trail(db, f"person:{person.id}")]
        assert events == ["role.granted", "role.revoked"]
    finally:
        await db.close()


async def test_reads_inside_a_write_see_it_and_do_not_deadlock(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "w.db")
    try:
        async with db.write() as conn:
            await conn.execute("INSERT INTO estates(name, created_at) VALUES ('甲', '2026')")
            row = await db.fetchone("SELECT COUNT(*) FROM estates")  # same task: no wait
            assert row is not None and row[0] == 1
        with pytest.raises(RuntimeError, match="one transaction"):
            await _nested(db)
    finally:
        await db.close()


async def _nested(db: Database) -> None:
    async with db.write(), db.write():
        pass
