"""The evidence store (storage.evidence): originals kept byte for byte under their SHA-256,
display copies beside them, facts and links in the database, the hashes in the audit trail,
image work off the event loop, and check-audit catching a photo whose bytes changed."""

from __future__ import annotations

import asyncio
import hashlib
import io
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from PIL import Image

from bot.__main__ import main
from procedures.cases import Kind
from procedures.decisions import Decision
from procedures.subjects import Subject, case
from storage import audit, evidence
from storage import evidence_images as images
from storage.cases import CaseStore, NewCase
from storage.clock import ManualClock
from storage.db import Database
from storage.evidence import EvidenceStore, FileState, Kept, Reason, Refused
from storage.identity import IdentityStore
from tests.support.images import encoded, gps_jpeg, halves, png_header

LABEL = ["XQ-20261127-0003", "2026-11-27 09:00", "王伟（业主）"]


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "files")


async def a_case(db: Database, clock: ManualClock) -> int:
    estate = await IdentityStore(db).ensure_estate("阳光花园")
    filed = await CaseStore(db).file(
        NewCase(estate.id, Kind.REQUEST, "repairs", "厨房漏水"),
        clock.now(),
        lambda c: Decision(),
        actor="test",
    )
    return filed.id


# --- the files ------------------------------------------------------------------------------


def test_an_original_is_kept_once_byte_for_byte_under_its_sha256(store: EvidenceStore) -> None:
    data = gps_jpeg()
    sha = store.put_original(data)
    assert sha == hashlib.sha256(data).hexdigest()
    path = store.root / sha[:2] / sha[2:4] / sha
    assert store.path(sha) == path and path.read_bytes() == data
    assert store.read_original(sha) == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o400  # read-only for the bot itself
    assert store.put_original(data) == sha  # the same bytes again: the same file
    assert [p.name for p in path.parent.iterdir()] == [sha]  # no temporary file left
    assert store.verify(sha) is FileState.OK


def test_a_file_already_there_is_never_overwritten(store: EvidenceStore) -> None:
    data = gps_jpeg()
    sha = images.sha256(data)
    path = store.path(sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"something else")
    assert store.put_original(data) == sha
    assert path.read_bytes() == b"something else"
    assert store.verify(sha) is FileState.CHANGED


def test_display_copies_are_kept_under_their_own_hash_next_to_originals(
    store: EvidenceStore,
) -> None:
    copy = images.display_copy(gps_jpeg(), label_lines=LABEL)
    sha = store.put_display(copy)
    assert store.path(sha, display=True).name == f"{sha}.jpg"
    assert store.read_display(sha) == copy
    assert store.verify(sha, display=True) is FileState.OK
    assert store.verify(sha) is FileState.MISSING  # not an original
    with pytest.raises(FileNotFoundError):
        store.read_original(sha)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "AB" * 32, "ab" * 31, ""])
def test_only_a_sha256_names_a_file(store: EvidenceStore, bad: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.read_original(bad)


# --- kept, with the database ----------------------------------------------------------------


async def test_a_gps_jpeg_is_kept_whole_while_its_display_copy_has_no_gps(
    db: Database, store: EvidenceStore
) -> None:
    sent = gps_jpeg()
    kept = await evidence.keep(store, db, sent, label_lines=LABEL, filename="IMG_0001.JPG")
    assert isinstance(kept, Kept)
    assert kept.original.sha256 == hashlib.sha256(sent).hexdigest()
    assert hashlib.sha256(store.read_original(kept.original.sha256)).digest() == (
        hashlib.sha256(sent).digest()
    )
    display = store.read_display(kept.display.sha256)
    assert b"Exif" not in display and b"GPS" not in display
    shown = Image.open(io.BytesIO(display))
    assert not shown.getexif() and shown.size == (kept.display.width, kept.display.height)
    rows = await db.fetchall("SELECT sha256, role, original, format, size FROM evidence")
    assert {(r["role"], r["sha256"], r["original"], r["format"], r["size"]) for r in rows} == {
        ("original", kept.original.sha256, None, "JPEG", len(sent)),
        ("display", kept.display.sha256, kept.original.sha256, "JPEG", len(display)),
    }


async def test_a_refused_file_keeps_nothing(
    db: Database, store: EvidenceStore, tmp_path: Path
) -> None:
    for data, reason in [
        (png_header(30000, 30000), Reason.TOO_MANY_PIXELS),
        (b"\x7fELF\x02\x01\x01" + bytes(500), Reason.NOT_AN_IMAGE),
        (bytes(21 * 1024 * 1024), Reason.TOO_BIG),
    ]:
        result = await evidence.keep(store, db, data, label_lines=LABEL, filename="x.jpg")
        assert isinstance(result, Refused) and result.reason is reason
        received = await evidence.receive(store, db, data, filename="x.jpg")
        assert isinstance(received, Refused) and received.reason is reason
    assert not store.root.exists() or not any(store.root.rglob("*"))
    assert await db.fetchall("SELECT * FROM evidence") == []


async def test_image_work_runs_in_a_worker_thread(
    db: Database, store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking, hashing, stripping and watermarking never block the event loop: they run
    in another thread, and the loop keeps answering meanwhile."""
    loop_thread = threading.get_ident()
    seen: list[int] = []
    release = threading.Event()
    real = images.prepare

    def slow_prepare(*args: object, **kwargs: object) -> object:
        seen.append(threading.get_ident())
        assert release.wait(timeout=10)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(images, "prepare", slow_prepare)
    task = asyncio.create_task(evidence.keep(store, db, gps_jpeg(), label_lines=LABEL))
    for _ in range(100):  # the loop turns while the photo is in the worker
        await asyncio.sleep(0)
        if seen:
            break
    assert seen and seen[0] != loop_thread and not task.done()
    release.set()
    assert isinstance(await task, Kept)
    prepared = await evidence.prepare(gps_jpeg(), label_lines=LABEL)
    assert not isinstance(prepared, Refused) and seen[-1] != loop_thread


async def test_a_photo_is_linked_to_its_subject_with_its_hash_in_the_audit_trail(
    db: Database, store: EvidenceStore, clock: ManualClock
) -> None:
    case_id = await a_case(db, clock)
    data = gps_jpeg()
    kept = await evidence.keep(store, db, data, label_lines=LABEL)
    assert isinstance(kept, Kept)
    async with db.write() as conn:
        first = await evidence.link(
            conn, case(case_id), kept.original.sha256, actor="person:3",
            display_sha256=kept.display.sha256, file_id="AgAD-telegram",
        )  # fmt: skip
        again = await evidence.link(conn, case(case_id), kept.original.sha256, actor="person:3")
    assert first.new and not again.new and first.id == again.id
    assert (first.subject, first.format, first.size) == (case(case_id), "JPEG", len(data))
    [attached] = [
        e for e in await audit.trail(db, f"case:{case_id}") if e["event"] == "evidence.attached"
    ]
    assert attached["data"] == {
        "sha256": kept.original.sha256,
        "display_sha256": kept.display.sha256,
        "format": "JPEG",
        "size": len(data),
        "width": 640,
        "height": 480,
    }
    assert attached["erased"] == []  # nothing personal in it: no name, no label
    assert [link.sha256 for link in await evidence.links(db, case(case_id))] == [
        kept.original.sha256
    ]
    assert (await audit.verify(db)).ok


async def test_any_subject_holds_evidence_and_the_same_bytes_are_one_file(
    db: Database, store: EvidenceStore, clock: ManualClock
) -> None:
    """A renovation's violation photo links like a case's; the same photo for two
    records is one original with two display copies (each names its record)."""
    data = gps_jpeg()
    one = await evidence.keep(store, db, data, label_lines=["ZX-1", "王伟"])
    two = await evidence.keep(store, db, data, label_lines=["WG-7", "李娜"])
    assert isinstance(one, Kept) and isinstance(two, Kept)
    assert one.original == two.original and one.display.sha256 != two.display.sha256
    async with db.write() as conn:
        await evidence.link(conn, Subject("renovation", 5), one.original.sha256, actor="system",
                            display_sha256=one.display.sha256)  # fmt: skip
        await evidence.link(conn, Subject("violation", 7), two.original.sha256, actor="system",
                            display_sha256=two.display.sha256)  # fmt: skip
    row = await db.fetchone("SELECT COUNT(*) FROM evidence WHERE role = 'original'")
    assert row is not None and row[0] == 1
    [renovation] = await evidence.links(db, Subject("renovation", 5))
    assert renovation.display_sha256 == one.display.sha256
    links = await db.fetchall("SELECT case_id FROM evidence_links")
    assert [r["case_id"] for r in links] == [None, None]


async def test_a_display_copy_made_once_the_record_has_its_number(
    db: Database, store: EvidenceStore, clock: ManualClock
) -> None:
    """A photo that came with a new request is kept when it arrives; its display copy
    is made once filing gave the case its number, and set on the link once."""
    received = await evidence.receive(store, db, encoded(halves((800, 400)), "PNG"))
    assert not isinstance(received, Refused)
    assert received.format == "PNG"
    case_id = await a_case(db, clock)
    async with db.write() as conn:
        attached = await evidence.link(conn, case(case_id), received.sha256, actor="person:3")
    assert attached.display_sha256 is None
    shown = await evidence.render(store, db, received.sha256, label_lines=LABEL)
    assert (shown.width, shown.height) == (800, 400)
    async with db.write() as conn:
        assert await evidence.set_display(conn, attached.id, shown.sha256, actor="system")
        assert not await evidence.set_display(conn, attached.id, shown.sha256, actor="system")
    [linked] = await evidence.links(db, case(case_id))
    assert linked.display_sha256 == shown.sha256
    events = [e for e in await audit.trail(db, f"case:{case_id}") if e["event"] != "case.filed"]
    assert [(e["event"], e["data"].get("display_sha256")) for e in events] == [
        ("evidence.attached", None),
        ("evidence.displayed", shown.sha256),
    ]
    assert Image.open(io.BytesIO(store.read_display(shown.sha256))).format == "JPEG"


async def test_facts_and_links_are_records(db: Database, store: EvidenceStore) -> None:
    kept = await evidence.keep(store, db, gps_jpeg(), label_lines=LABEL)
    assert isinstance(kept, Kept)
    async with db.write() as conn:
        attached = await evidence.link(conn, Subject("renovation", 1), kept.original.sha256,
                                       actor="system")  # fmt: skip
    for sql in (
        "UPDATE evidence SET size = 1",
        "UPDATE evidence SET sha256 = 'x'",
        f"UPDATE evidence_links SET sha256 = '{kept.display.sha256}'",
        "UPDATE evidence_links SET subject_id = 2",
    ):
        with pytest.raises(sqlite3.IntegrityError):
            async with db.write() as conn:
                await conn.execute(sql)
    await evidence.remember_file_id(db, kept.display.sha256, "AgAD-first")
    await evidence.remember_file_id(db, kept.display.sha256, "AgAD-second")
    row = await db.fetchone("SELECT file_id FROM evidence WHERE sha256 = ?", (kept.display.sha256,))
    assert row is not None and row["file_id"] == "AgAD-first"
    async with db.write() as conn:
        assert await evidence.set_display(conn, attached.id, kept.display.sha256, actor="x")
        with pytest.raises(sqlite3.IntegrityError):
            await conn.execute("UPDATE evidence_links SET display_sha256 = NULL")
    with pytest.raises(sqlite3.IntegrityError):  # a link names a registered file
        async with db.write() as conn:
            await evidence.link(conn, Subject("renovation", 1), "ab" * 32, actor="system")


# --- check-audit ----------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    db, data_dir = tmp_path / "cli.db", tmp_path / "files"
    monkeypatch.setenv("WUYE_DB", str(db))
    monkeypatch.setenv("WUYE_DATA_DIR", str(data_dir))
    return db, data_dir


async def _cli(*argv: str) -> int:
    """Run ``python -m bot …`` in a worker thread (it starts its own event loop)."""
    return await asyncio.to_thread(main, list(argv))


async def _kept_and_linked(path: Path, data_dir: Path) -> Kept:
    db = await Database.open(path)
    try:
        kept = await evidence.keep(EvidenceStore(data_dir), db, gps_jpeg(), label_lines=LABEL)
        assert isinstance(kept, Kept)
        async with db.write() as conn:
            await evidence.link(conn, Subject("renovation", 1), kept.original.sha256,
                                actor="system", display_sha256=kept.display.sha256)  # fmt: skip
        return kept
    finally:
        await db.close()


def _flip_a_byte(path: Path) -> None:
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


async def test_check_audit_catches_a_stored_photo_whose_bytes_changed(
    cli_env: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, data_dir = cli_env
    kept = await _kept_and_linked(db, data_dir)
    assert await _cli("check-audit") == 0
    assert "Evidence files intact: 2 files." in capsys.readouterr().out
    store = EvidenceStore(data_dir)
    _flip_a_byte(store.path(kept.original.sha256))
    assert await _cli("check-audit") == 1
    captured = capsys.readouterr()
    assert f"Evidence file CHANGED: original {kept.original.sha256}" in captured.err
    assert "Audit trail intact" in captured.out  # the chain itself is fine
    store.path(kept.display.sha256, display=True).unlink()
    assert await _cli("check-audit") == 1
    assert f"Evidence file MISSING: display {kept.display.sha256}" in capsys.readouterr().err


async def test_check_audit_catches_a_photo_removed_with_its_rows(
    cli_env: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows and file deleted together: the audit event still names the hash."""
    db, data_dir = cli_env
    kept = await _kept_and_linked(db, data_dir)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM evidence_links")
    conn.execute("DELETE FROM evidence WHERE role = 'display'")
    conn.execute("DELETE FROM evidence")
    conn.commit()
    conn.close()
    EvidenceStore(data_dir).path(kept.original.sha256).unlink()
    assert await _cli("check-audit") == 1
    err = capsys.readouterr().err
    assert f"Evidence file UNREGISTERED: original {kept.original.sha256}" in err
    assert f"Evidence file UNREGISTERED: display {kept.display.sha256}" in err
