"""PIPL: personal data in the audit trail is kept out of the hash chain and can be erased
while the chain still verifies (storage/audit.py, migration 0010)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.settings import Settings
from storage import audit
from storage.clock import ManualClock
from storage.db import Database, migrations
from storage.identity import IdentityStore
from tests.conftest import World
from tests.support.cases import file_request, latest_case, referred_to_engineering
from tests.support.telegram import Group, Harness, Person

DESCRIPTION = "厨房水管漏水，地面已经积水"  # what file_request writes
PROGRESS = "已到现场，正在更换阀门"


async def raw_rows(db: Database, table: str) -> str:
    """Every column of every row of ``table`` as one text, as someone reading the file sees it."""
    rows = await db.fetchall(f"SELECT * FROM {table}")
    return "\n".join("|".join(str(v) for v in tuple(r)) for r in rows)


async def everything(db: Database) -> str:
    """Every row of every table."""
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return "\n".join([await raw_rows(db, t["name"]) for t in tables])


def file_bytes(path: Path) -> bytes:
    """The database file and its WAL, byte for byte."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def person_id(world: World, tg_user_id: int) -> int:
    found = await IdentityStore(world.db).person_by_tg(tg_user_id)
    assert found is not None
    return found.id


# --- through the bot ----------------------------------------------------------------------


async def test_a_filed_description_is_not_in_the_audit_table_but_in_the_trail(
    world: World, bot: Harness, owner: Person
) -> None:
    await file_request(owner)
    case = await latest_case(world)
    assert case.description == DESCRIPTION
    assert DESCRIPTION not in await raw_rows(world.db, "audit")
    assert "漏水" not in await raw_rows(world.db, "audit")
    filed = (await audit.trail(world.db, f"case:{case.id}"))[0]
    assert filed["event"] == "case.filed" and filed["data"]["description"] == DESCRIPTION
    assert filed["erased"] == []
    stored = await world.db.fetchone(
        "SELECT data FROM audit WHERE subject = ? AND event = 'case.filed'", (f"case:{case.id}",)
    )
    assert stored is not None
    mark = json.loads(stored["data"])["description"]
    assert set(mark) == {"ref", "digest"}
    assert await audit.matches(world.db, mark["ref"], DESCRIPTION)
    assert not await audit.matches(world.db, mark["ref"], "别的内容")
    assert (await audit.verify(world.db)).ok


async def test_the_timeline_shows_notes_and_an_erased_note_as_erased(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await referred_to_engineering(bot, groups, owner)
    engineer = bot.person(9003, "郑海")
    card = groups["eng"].messages()[-1]["message_id"]
    await engineer.reply_to(card, PROGRESS, chat=groups["eng"])
    case = await latest_case(world)
    assert PROGRESS not in await raw_rows(world.db, "audit")
    assistant = bot.person(9001, "周晓梅")
    await assistant.send(f"/case {case.number}")
    assert PROGRESS in assistant.last_text  # the timeline reads as before
    # The engineer asks for their data to be erased: their note goes, the rest stays.
    done = await audit.erase_personal(world.db, await person_id(world, 9003), actor="cli")
    assert done.values == 1 and done.legacy_events == 0
    await assistant.send(f"/case {case.number}")
    assert PROGRESS not in assistant.last_text and "进展：（已按要求删除）" in assistant.last_text
    trail = await audit.trail(world.db, f"case:{case.id}")
    assert trail[0]["data"]["description"] == DESCRIPTION  # the owner's, not erased
    assert [e["erased"] for e in trail if e["erased"]] == [["note"]]
    # The owner asks too: every personal value of their events and of their case goes.
    done = await audit.erase_personal(
        world.db, await person_id(world, 2001), actor="cli", subjects=[f"case:{case.id}"]
    )
    assert done.values >= 1
    left = await world.db.fetchone(
        "SELECT COUNT(*) FROM audit_personal p JOIN audit a ON a.id = p.audit_id"
        " WHERE a.subject = ? AND p.value IS NOT NULL",
        (f"case:{case.id}",),
    )
    assert left is not None and left[0] == 0
    trail = await audit.trail(world.db, f"case:{case.id}")
    assert trail[0]["data"]["description"] == audit.ERASED
    await assistant.send(f"/case {case.number}")
    assert case.number in assistant.last_text  # the timeline still shows every event
    assert (await audit.verify(world.db)).ok


# --- the store itself ---------------------------------------------------------------------

SECRET_NOTE = "业主李雷说明天下午在家，门禁密码 4711。" * 150  # longer than a page
PHONE = "13812345678"
ID_NUMBER = "110101199003071234"


async def _events(db: Database) -> str:
    """Person 7 comments (a long note, nested callers); person 8 comments too."""
    async with db.write() as conn:
        await audit.append(
            conn, event="case.comment", subject="case:1", actor="person:7", actor_id=7,
            estate_id=1,
            data={"note": SECRET_NOTE, "callers": [{"name": "李雷", "phone": PHONE}], "n": 1},
        )  # fmt: skip
        await audit.append(
            conn, event="person.checked", subject="person:7", actor="cli",
            data={"id_number": ID_NUMBER, "note": None, "reason": "not_owner"},
        )  # fmt: skip
        return await audit.append(
            conn, event="case.comment", subject="case:1", actor="person:8", actor_id=8,
            estate_id=1, data={"note": "韩梅梅的意见"},
        )  # fmt: skip


async def test_the_chain_hashes_refs_and_digests_never_the_text(db: Database) -> None:
    await _events(db)
    raw = await raw_rows(db, "audit")
    for text in (SECRET_NOTE[:20], "李雷", PHONE, ID_NUMBER, "韩梅梅"):
        assert text not in raw
    assert "not_owner" in raw and '"note":null' in raw  # codes and empty values stay
    trail = await audit.trail(db, "case:1")
    assert trail[0]["data"] == {
        "note": SECRET_NOTE, "callers": [{"name": "李雷", "phone": PHONE}], "n": 1,
    }  # fmt: skip
    paths = [r["path"] for r in await db.fetchall("SELECT path FROM audit_personal")]
    assert sorted(paths) == ["callers.0.name", "callers.0.phone", "id_number", "note", "note"]
    row = await db.fetchone("SELECT ref, salt FROM audit_personal WHERE path = 'callers.0.phone'")
    assert row is not None
    stored = await db.fetchone("SELECT data FROM audit WHERE id = 1")
    assert stored is not None
    mark = json.loads(stored["data"])["callers"][0]["phone"]
    salted = hashlib.sha256((row["salt"] + json.dumps(PHONE)).encode()).hexdigest()
    assert mark == {"ref": row["ref"], "digest": salted}
    assert await audit.matches(db, row["ref"], PHONE)
    assert not await audit.matches(db, row["ref"], "13812345679")
    assert not await audit.matches(db, "no-such-ref", PHONE)


async def test_erasing_a_person_keeps_the_chain_and_removes_the_text_from_the_file(
    db: Database, settings: Settings
) -> None:
    await _events(db)
    await db.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
    assert PHONE.encode() in file_bytes(settings.db)  # the file held it before
    phone_ref = await db.fetchone("SELECT ref FROM audit_personal WHERE path = 'callers.0.phone'")
    assert phone_ref is not None
    done = await audit.erase_personal(db, 7, actor="person:1", actor_id=1)
    assert done.values == 4 and done.legacy_events == 0
    assert (await audit.verify(db)).ok
    everything_now = await everything(db)
    for text in (SECRET_NOTE[:20], "李雷", PHONE, ID_NUMBER):
        assert text not in everything_now
        left = text.encode() in file_bytes(settings.db)
        assert not left, f"{text[:10]}… is still in the database file"
    assert "韩梅梅的意见" in everything_now  # person 8's note stays
    trail = await audit.trail(db, "case:1")
    assert trail[0]["data"] == {
        "note": audit.ERASED, "callers": [{"name": audit.ERASED, "phone": audit.ERASED}], "n": 1,
    }  # fmt: skip
    assert trail[0]["erased"] == ["callers.0.name", "callers.0.phone", "note"]  # stored order
    assert trail[1]["data"] == {"note": "韩梅梅的意见"} and trail[1]["erased"] == []
    assert not await audit.matches(db, phone_ref["ref"], PHONE)  # the salt is gone
    erasure = (await audit.trail(db, "person:7"))[-1]
    assert erasure["event"] == audit.ERASURE_EVENT and erasure["actor"] == "person:1"
    assert erasure["data"]["values"] == 4 and phone_ref["ref"] in erasure["data"]["refs"]
    # Erasing again finds nothing more; the values stay erased.
    again = await audit.erase_personal(db, 7, actor="cli")
    assert again.values == 0
    assert (await audit.verify(db)).ok


async def test_erasing_chosen_refs(db: Database) -> None:
    await _events(db)
    ref = await db.fetchone("SELECT ref FROM audit_personal WHERE path = 'id_number'")
    assert ref is not None
    done = await audit.erase_refs(db, [ref["ref"], "no-such-ref"], subject="person:7", actor="cli")
    assert done.refs == (ref["ref"],)
    data = (await audit.trail(db, "person:7"))[0]["data"]
    assert data["id_number"] == audit.ERASED
    assert (await audit.trail(db, "case:1"))[0]["data"]["note"] == SECRET_NOTE
    assert (await audit.verify(db)).ok


async def test_personal_values_are_erased_never_deleted_or_rewritten(db: Database) -> None:
    await _events(db)
    with pytest.raises(sqlite3.IntegrityError, match="erased, not deleted"):
        async with db.write() as conn:
            await conn.execute("DELETE FROM audit_personal")
    with pytest.raises(sqlite3.IntegrityError, match="only be erased"):
        async with db.write() as conn:
            await conn.execute("UPDATE audit_personal SET value = '\"13800000000\"'")
    await audit.erase_personal(db, 7, actor="cli")
    with pytest.raises(sqlite3.IntegrityError, match="only be erased"):  # no un-erasing
        async with db.write() as conn:
            await conn.execute(
                "UPDATE audit_personal SET erased_at = NULL WHERE erased_at IS NOT NULL"
            )


def _tamper(path: Path, sql: str) -> None:
    """What someone with the database file could do: drop the guards, then edit."""
    conn = sqlite3.connect(path)
    for trigger in ("audit_personal_no_delete", "audit_personal_erase_only", "audit_no_update"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        (
            "UPDATE audit_personal SET value = '\"13800000000\"' WHERE path = 'callers.0.phone'",
            "personal value does not match its digest",
        ),
        ("DELETE FROM audit_personal WHERE path = 'id_number'", "personal value missing"),
        (
            "UPDATE audit SET data = replace(data, '\"n\":1', '\"n\":2') WHERE id = 1",
            "content does not match its hash",
        ),
    ],
)
async def test_tampering_is_still_caught_after_an_erasure(
    settings: Settings, clock: ManualClock, sql: str, problem: str
) -> None:
    db = await Database.open(settings.db, clock=clock)
    try:
        await _events(db)
        await audit.erase_refs(
            db,
            [
                r["ref"]
                for r in await db.fetchall("SELECT ref FROM audit_personal WHERE path = 'note'")
            ],
            subject="case:1",
            actor="cli",
        )
        assert (await audit.verify(db)).ok
    finally:
        await db.close()
    _tamper(settings.db, sql)
    db = await Database.open(settings.db, clock=clock)
    try:
        report = await audit.verify(db)
        assert not report.ok and report.problem is not None and problem in report.problem
    finally:
        await db.close()


async def test_check_audit_after_an_erasure(
    settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import asyncio

    db = await Database.open(settings.db, clock=clock)
    try:
        await _events(db)
        await audit.erase_personal(db, 7, actor="cli")
    finally:
        await db.close()
    monkeypatch.setenv("WUYE_DB", str(settings.db))
    assert await asyncio.to_thread(main, ["check-audit"]) == 0
    assert "intact: 4 events" in capsys.readouterr().out


# --- databases from before migration 0010 -------------------------------------------------


def _old_append(conn: sqlite3.Connection, prev: str, n: int, data: dict[str, Any]) -> str:
    """An event as the trail wrote it before 0010: its data, text included, in the chain."""
    at = f"2026-11-0{n}T01:00:00+00:00"
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    fields = [prev, at, 7, "person:7", 1, "case.comment", "case:1", body]
    digest = hashlib.sha256(
        json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    conn.execute(
        "INSERT INTO audit(at, actor_id, actor, estate_id, event, subject, data, prev_hash, hash)"
        " VALUES (?, 7, 'person:7', 1, 'case.comment', 'case:1', ?, ?, ?)",
        (at, body, prev, digest),
    )
    return digest


async def test_old_rows_stay_as_they_are_and_still_verify(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    for version, name, sql in migrations():
        if version < 10:
            conn.executescript(sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, '2026-11-01')", (version, name)
            )
    head = _old_append(conn, audit.GENESIS, 1, {"note": "旧的备注 13900000000"})
    _old_append(conn, head, 2, {"note": None, "satisfaction": 4})
    conn.commit()
    conn.close()
    db = await Database.open(path, clock=clock)
    try:
        assert (await audit.verify(db)).ok
        async with db.write() as w:
            await audit.append(
                w, event="case.comment", subject="case:1", actor="person:7", actor_id=7,
                data={"note": "新的备注"},
            )  # fmt: skip
        report = await audit.verify(db)
        assert report.ok and report.events == 3
        notes = [e["data"].get("note") for e in await audit.trail(db, "case:1")]
        assert notes == ["旧的备注 13900000000", None, "新的备注"]
        done = await audit.erase_personal(db, 7, actor="cli")
        assert done.values == 1 and done.legacy_events == 1  # the old text cannot go
        notes = [e["data"].get("note") for e in await audit.trail(db, "case:1")]
        assert notes == ["旧的备注 13900000000", None, audit.ERASED]
        assert (await audit.verify(db)).ok
    finally:
        await db.close()
