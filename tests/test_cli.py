"""The command line an operator uses: import-roster, invite, grant/revoke, seed-demo."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.__main__ import main
from procedures.identity import invite_hash
from storage import audit
from storage.db import Database
from storage.identity import IdentityStore

CSV_GBK = (
    "房号,业主姓名,手机,楼栋,面积\n"
    "502,王伟,138 0013 8000,3栋,89.5\n"
    "601,李娜,+86 139-0013-9000,3栋,120\n"
)


async def cli(*argv: str) -> int:
    """Run ``python -m bot …`` in-process (it runs its own event loop, so in a thread)."""
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("WUYE_DB", str(db))
    monkeypatch.setenv("WUYE_BOT_USERNAME", "wuye_test_bot")
    return db


async def test_import_roster_from_a_gbk_csv_creates_the_estate_and_units(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "清册.csv"
    roster.write_bytes(CSV_GBK.encode("gbk"))
    assert await cli("import-roster", str(roster), "--estate", "阳光花园") == 0
    assert "2 new" in capsys.readouterr().out
    db = await Database.open(env)
    try:
        units = await IdentityStore(db).units_for_phone("+8613800138000")
        assert [(u.estate_name, u.label, u.owner_name) for u in units] == [
            ("阳光花园", "3栋 502", "王伟")
        ]
    finally:
        await db.close()
    # Re-importing the same file updates in place: nothing new.
    assert await cli("import-roster", str(roster), "--estate", "阳光花园") == 0
    assert "0 new, 0 updated, 2 unchanged" in capsys.readouterr().out


async def test_a_bad_roster_lists_every_problem_and_imports_nothing(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "bad.csv"
    roster.write_text(
        "unit,owner_name,owner_phone\n101,A,12345\n101,B,13800138000\n102,,13900139000\n",
        encoding="utf-8",
    )
    assert await cli("import-roster", str(roster), "--estate", "阳光花园") == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err
    assert "row 2, column owner_phone" in err
    assert "row 3, column unit" in err
    assert "row 4, column owner_name" in err
    db = await Database.open(env)
    try:
        assert await IdentityStore(db).estates() == []
    finally:
        await db.close()


async def test_invite_prints_a_one_time_deep_link(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("seed-demo") == 0
    capsys.readouterr()
    assert await cli("invite", "--estate", "阳光花园", "--role", "engineering") == 0
    out = capsys.readouterr()
    link = out.out.strip()
    assert link.startswith("https://t.me/wuye_test_bot?start=inv_")
    assert "engineering" in out.err
    code = link.split("inv_", 1)[1]
    db = await Database.open(env)
    try:
        row = await db.fetchone(
            "SELECT role FROM invites WHERE code_hash = ?", (invite_hash(code),)
        )
        assert row is not None and row["role"] == "engineering"
        plain = await db.fetchone("SELECT COUNT(*) FROM invites WHERE code_hash = ?", (code,))
        assert plain is not None and plain[0] == 0  # only the hash is stored
    finally:
        await db.close()


async def test_invite_refuses_an_unknown_role_or_estate(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("seed-demo") == 0
    assert await cli("invite", "--estate", "阳光花园", "--role", "owner") == 2
    assert await cli("invite", "--estate", "没有的小区", "--role", "security") == 2


async def test_seed_demo_twice_changes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("seed-demo") == 0
    db = await Database.open(env)
    before = await db.fetchone("SELECT COUNT(*) FROM audit")
    await db.close()
    assert await cli("seed-demo") == 0
    db = await Database.open(env)
    try:
        after = await db.fetchone("SELECT COUNT(*) FROM audit")
        assert before is not None and after is not None
        assert after[0] == before[0] + 1  # only the (unchanged) roster import is recorded
        units = await db.fetchone("SELECT COUNT(*) FROM units")
        assert units is not None and units[0] == 36
        assert (await audit.verify(db)).ok
    finally:
        await db.close()


async def test_grant_and_revoke_are_audited(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("seed-demo") == 0
    assert await cli("grant", "--estate", "阳光花园", "--role", "archivist", "--user", "9001") == 0
    assert await cli("revoke", "--estate", "阳光花园", "--role", "archivist", "--user", "9001") == 0
    db = await Database.open(env)
    try:
        events = await db.fetchall(
            "SELECT event, data FROM audit WHERE event LIKE 'role.%' AND data LIKE '%archivist%'"
        )
        assert [e["event"] for e in events] == ["role.granted", "role.revoked"]
    finally:
        await db.close()


async def test_a_new_owner_on_the_roster_takes_the_unit_from_the_old_one(
    env: Path, tmp_path: Path
) -> None:
    """The roster is the authority: a sold unit leaves the old owner's account, and with the
    last unit of the estate the owner role goes too (both audited)."""
    roster = tmp_path / "r.csv"
    roster.write_text("unit,owner_name,owner_phone\n101,王伟,13800138000\n", encoding="utf-8")
    assert await cli("import-roster", str(roster), "--estate", "阳光花园") == 0
    db = await Database.open(env)
    try:
        identity = IdentityStore(db)
        person = await identity.touch_person(42, "王伟", None, "zh-hans")
        units = await identity.units_for_phone("+8613800138000")
        await identity.bind_owner(
            person, "+8613800138000", units, source="roster", actor="test", actor_id=None
        )
    finally:
        await db.close()
    roster.write_text("unit,owner_name,owner_phone\n101,李娜,13900139000\n", encoding="utf-8")
    assert await cli("import-roster", str(roster), "--estate", "阳光花园") == 0
    db = await Database.open(env)
    try:
        identity = IdentityStore(db)
        assert await identity.units_of(person.id) == []
        assert await identity.memberships(person.id) == []
        events = [e["event"] for e in await audit.trail(db, f"person:{person.id}")]
        assert events[-2:] == ["owner.unbound", "role.revoked"]
    finally:
        await db.close()
