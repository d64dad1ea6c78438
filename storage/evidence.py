"""The evidence store: photos kept by their SHA-256 in ``WUYE_DATA_DIR``, their facts and
what they are evidence of in the database (migration 0012), all checked by ``check-audit``.

**Files.** :class:`EvidenceStore` keeps an original exactly as received, byte for byte,
at ``<data_dir>/evidence/ab/cd/<sha256>`` (its hash's first two bytes, in hex, as
folders), and a display copy under its own hash next to it, ``…/<sha256>.jpg``. A file is
written to a temporary name, flushed to disk and linked into place in one step, so a crash
leaves a whole file or none; a file already there is never overwritten (the same bytes are
one file). Files are made read-only for the bot's user. Nothing here decodes images: that
is :mod:`storage.evidence_images`, run in a worker thread by :func:`receive`,
:func:`keep` and :func:`render` (never on the event loop).

**Tables.** ``evidence``: one row per stored file, keyed by its SHA-256 (role original or
display, format, size, upright width and height, a display copy's original; Telegram's id
once uploaded). ``evidence_links``: a file attached to a subject (``kind``, ``id``: a case
today, a renovation's violation or a handover's defect later), with its display copy, the
sender's Telegram file id, who and when. A table keyed by hash plus a link table, rather
than more columns on ``case_photos``: ``case_photos`` belongs to cases only (its
``case_id`` is NOT NULL) while evidence attaches to any subject, as clocks do since 0011;
the same bytes sent for two records are one file and one row with two links; and a file's
facts (size, pixels) belong to the bytes, not to a record. ``case_photos`` stays for the
Telegram ids of photos filed before evidence was kept.

**Display copies are per link.** The watermark names the record, the estate's time and
the sender, so the same original attached to two records has two display copies, each
stored under its own hash; ``read_display`` takes the copy's hash.

**The order of a photo's arrival** (for the handler's glue):

1. :func:`receive` (or :func:`keep` when the record's number is known): checked,
   hashed and written in a worker thread, its facts registered; a refusal (a
   :class:`~storage.evidence_images.Refused` with its reason code) changes nothing;
2. the step's own transaction calls :func:`link`, which attaches the original to the
   subject and appends an ``evidence.attached`` audit event naming its SHA-256 (and the
   display copy's, when there is one already);
3. :func:`render` makes the display copy once the record's number exists (a new case's
   number comes from the filing transaction), and :func:`set_display` links it, with an
   ``evidence.displayed`` event naming both hashes.

A file written whose transaction then fails is an orphan: harmless (content-addressed, it
is reused if the same bytes come again), never a link to a missing file.

**The audit trail** names only hashes and facts: nothing personal (the watermark's lines
hold the sender's name, so they are never put in an event; see ``audit.PERSONAL_KEYS``).
:func:`verify_files` re-hashes every stored file and looks up every hash these events
name, so an edited, replaced or deleted photo is reported even when its row went too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Final

import aiosqlite

from procedures.subjects import CASE, Subject
from storage import audit
from storage import evidence_images as images
from storage.db import Database, iso, now_of
from storage.evidence_images import Checked, Prepared, Reason, Refused
from storage.fonts import cjk_font

__all__ = [
    "ATTACHED",
    "DISPLAYED",
    "Checked",
    "EvidenceStore",
    "FileState",
    "FilesReport",
    "Kept",
    "Link",
    "Reason",
    "Refused",
    "Shown",
    "file_ids",
    "keep",
    "link",
    "links",
    "prepare",
    "receive",
    "register",
    "remember_file_id",
    "render",
    "set_display",
    "subjects_without_display",
    "sync_dir",
    "verify_files",
]

#: The audit event of a photo attached to a subject (its data: hashes and facts).
ATTACHED: Final = "evidence.attached"
#: The audit event of a display copy set on a link later (its data: both hashes).
DISPLAYED: Final = "evidence.displayed"

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _valid(sha: str) -> str:
    if not _SHA256.fullmatch(sha):
        raise ValueError(f"not a SHA-256 in hex: {sha!r}")
    return sha


class FileState(StrEnum):
    """What :meth:`EvidenceStore.verify` found."""

    OK = "ok"
    MISSING = "missing"
    CHANGED = "changed"  # the bytes no longer hash to the name they are kept under


class EvidenceStore:
    """Files kept by their SHA-256 under ``<data_dir>/evidence`` (blocking file I/O: the
    async helpers of this module call it in a worker thread)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir) / "evidence"

    def path(self, sha: str, *, display: bool = False) -> Path:
        """Where the file with this hash is (``display``: a display copy, ``.jpg``)."""
        _valid(sha)
        name = f"{sha}.jpg" if display else sha
        return self.root / sha[:2] / sha[2:4] / name

    def put_original(self, data: bytes) -> str:
        """Keep ``data`` byte for byte under its SHA-256 (once); return the hash."""
        return self._put(data, display=False)

    def put_display(self, data: bytes) -> str:
        """Keep a display copy under its own SHA-256 (once); return the hash."""
        return self._put(data, display=True)

    def read_original(self, sha: str) -> bytes:
        """The original's bytes (FileNotFoundError when there is no such file)."""
        return self.path(sha).read_bytes()

    def read_display(self, sha: str) -> bytes:
        """A display copy's bytes, by the copy's own hash."""
        return self.path(sha, display=True).read_bytes()

    def verify(self, sha: str, *, display: bool = False) -> FileState:
        """Re-hash the stored file: still the bytes its name says?"""
        try:
            data = self.path(sha, display=display).read_bytes()
        except FileNotFoundError:
            return FileState.MISSING
        return FileState.OK if images.sha256(data) == sha else FileState.CHANGED

    def _put(self, data: bytes, *, display: bool) -> str:
        sha = images.sha256(data)
        target = self.path(sha, display=display)
        if target.exists():
            return sha  # the same bytes are kept once; an existing file is never replaced
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o400)
            with contextlib.suppress(FileExistsError):  # written meanwhile: the same bytes
                _place(temp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        sync_dir(target.parent)
        return sha


def _place(temp: str, target: Path) -> None:
    """Put a written file in place: a hard link, which is atomic and fails rather than
    replace a file; a rename where the file system has no hard links."""
    try:
        os.link(temp, target)
    except FileExistsError:
        raise
    except OSError:
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(temp, target)


def sync_dir(folder: Path) -> None:
    """Make a new directory entry durable (where the platform allows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Shown:
    """A display copy kept: its hash and facts (the bytes are in the store)."""

    sha256: str
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class Kept:
    """A photo kept: the original's facts and its display copy's."""

    original: Checked
    display: Shown


# --- off the event loop ---------------------------------------------------------------------


async def prepare(
    data: bytes,
    *,
    label_lines: Sequence[str],
    filename: str | None = None,
    font_path: str | None = None,
) -> Prepared | Refused:
    """:func:`storage.evidence_images.prepare` (check, hash, strip, watermark) in a worker
    thread. ``font_path`` is the configured font (``WUYE_CHART_FONT``), else one found."""
    return await asyncio.to_thread(_prepare, data, label_lines, filename, font_path)


def _prepare(
    data: bytes, label_lines: Sequence[str], filename: str | None, font_path: str | None
) -> Prepared | Refused:
    font = cjk_font(font_path) if label_lines else None
    return images.prepare(data, label_lines=label_lines, filename=filename, font_path=font)


async def receive(
    store: EvidenceStore, db: Database, data: bytes, *, filename: str | None = None
) -> Checked | Refused:
    """Check ``data`` and keep the original (worker thread), and register its facts; or
    say why it is refused, keeping nothing."""

    def work() -> Checked | Refused:
        checked = images.inspect(data, filename)
        if isinstance(checked, Checked):
            store.put_original(data)
        return checked

    checked = await asyncio.to_thread(work)
    if isinstance(checked, Checked):
        async with db.write() as conn:
            await register(conn, checked)
    return checked


async def keep(
    store: EvidenceStore,
    db: Database,
    data: bytes,
    *,
    label_lines: Sequence[str],
    filename: str | None = None,
    font_path: str | None = None,
) -> Kept | Refused:
    """Check ``data``, keep the original and its display copy (one decode, in a worker
    thread), and register both; or say why it is refused, keeping nothing."""

    def work() -> Kept | Refused:
        prepared = _prepare(data, label_lines, filename, font_path)
        if isinstance(prepared, Refused):
            return prepared
        store.put_original(data)
        shown = prepared.display
        store.put_display(shown.data)
        facts = Shown(shown.sha256, shown.width, shown.height, shown.size)
        return Kept(prepared.original, facts)

    kept = await asyncio.to_thread(work)
    if isinstance(kept, Kept):
        async with db.write() as conn:
            await register(conn, kept.original, kept.display)
    return kept


async def render(
    store: EvidenceStore,
    db: Database,
    sha: str,
    *,
    label_lines: Sequence[str],
    font_path: str | None = None,
) -> Shown:
    """Make and keep a display copy of a stored original (worker thread) and register it:
    for a photo received before its record had a number (FileNotFoundError when the
    original is not stored)."""
    _valid(sha)

    def work() -> tuple[Checked, Shown]:
        prepared = _prepare(store.read_original(sha), label_lines, None, font_path)
        if isinstance(prepared, Refused):  # it was checked when it came: the file changed
            raise ValueError(f"stored original {sha} no longer decodes: {prepared.detail}")
        shown = prepared.display
        store.put_display(shown.data)
        return prepared.original, Shown(shown.sha256, shown.width, shown.height, shown.size)

    original, shown = await asyncio.to_thread(work)
    async with db.write() as conn:
        await register(conn, original, shown)
    return shown


# --- in the caller's transaction ------------------------------------------------------------


async def register(
    conn: aiosqlite.Connection, original: Checked, shown: Shown | None = None
) -> None:
    """Record the facts of files just stored (an original, maybe its display copy); files
    already registered are left as they are."""
    at = iso(now_of(conn))
    await conn.execute(
        "INSERT INTO evidence(sha256, role, original, format, size, width, height, created_at)"
        " VALUES (?, 'original', NULL, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING",
        (original.sha256, original.format, original.size, original.width, original.height, at),
    )
    if shown is not None:
        await conn.execute(
            "INSERT INTO evidence(sha256, role, original, format, size, width, height,"
            " created_at) VALUES (?, 'display', ?, 'JPEG', ?, ?, ?, ?)"
            " ON CONFLICT(sha256) DO NOTHING",
            (shown.sha256, original.sha256, shown.size, shown.width, shown.height, at),
        )


@dataclass(frozen=True)
class Link:
    """A photo attached to a subject."""

    id: int
    subject: Subject
    sha256: str
    display_sha256: str | None
    file_id: str | None
    added_by: int | None
    added_at: str
    format: str
    size: int
    width: int
    height: int
    new: bool = True  # False when the subject already held these bytes


async def link(
    conn: aiosqlite.Connection,
    subject: Subject,
    sha: str,
    *,
    actor: str,
    display_sha256: str | None = None,
    file_id: str | None = None,
    added_by: int | None = None,
    estate_id: int | None = None,
) -> Link:
    """Attach a registered original (and maybe its display copy) to ``subject`` inside
    the caller's transaction, with an ``evidence.attached`` audit event naming the hashes.
    The same bytes attached twice to one subject are one link and one event."""
    _valid(sha)
    cur = await conn.execute(
        "INSERT INTO evidence_links(subject_kind, subject_id, case_id, sha256, display_sha256,"
        " file_id, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(subject_kind, subject_id, sha256) DO NOTHING",
        (
            subject.kind,
            subject.id,
            subject.id if subject.kind == CASE else None,
            sha,
            display_sha256,
            file_id,
            added_by,
            iso(now_of(conn)),
        ),
    )
    new = cur.rowcount == 1
    found = await _links(conn, "l.subject_kind = ? AND l.subject_id = ? AND l.sha256 = ?",
                         (subject.kind, subject.id, sha))  # fmt: skip
    attached = found[0]
    if new:
        data: dict[str, object] = {
            "sha256": sha,
            "format": attached.format,
            "size": attached.size,
            "width": attached.width,
            "height": attached.height,
        }
        if display_sha256:
            data["display_sha256"] = display_sha256
        await audit.append(
            conn,
            event=ATTACHED,
            subject=str(subject),
            actor=actor,
            actor_id=added_by,
            estate_id=estate_id,
            data=data,
        )
    return replace(attached, new=new)


async def set_display(
    conn: aiosqlite.Connection,
    link_id: int,
    display_sha256: str,
    *,
    actor: str,
    actor_id: int | None = None,
    estate_id: int | None = None,
) -> bool:
    """Give a link its display copy (registered by :func:`render`) inside the caller's
    transaction, once, with an ``evidence.displayed`` audit event; False when it has one
    already."""
    cur = await conn.execute(
        "UPDATE evidence_links SET display_sha256 = ? WHERE id = ? AND display_sha256 IS NULL",
        (_valid(display_sha256), link_id),
    )
    if cur.rowcount != 1:
        return False
    [linked] = await _links(conn, "l.id = ?", (link_id,))
    await audit.append(
        conn,
        event=DISPLAYED,
        subject=str(linked.subject),
        actor=actor,
        actor_id=actor_id,
        estate_id=estate_id,
        data={"sha256": linked.sha256, "display_sha256": display_sha256},
    )
    return True


async def links(db: Database, subject: Subject) -> list[Link]:
    """A subject's photos, in the order they came."""
    where = " WHERE l.subject_kind = ? AND l.subject_id = ? ORDER BY l.id"
    rows = await db.fetchall(_LINKS + where, (subject.kind, subject.id))
    return [_link(r) for r in rows]


async def subjects_without_display(db: Database, kind: str) -> list[int]:
    """The subjects of ``kind`` with a photo that has no display copy yet (the bot stopped
    between attaching it and making the copy)."""
    rows = await db.fetchall(
        "SELECT DISTINCT subject_id FROM evidence_links WHERE subject_kind = ?"
        " AND display_sha256 IS NULL ORDER BY subject_id",
        (kind,),
    )
    return [int(r[0]) for r in rows]


async def remember_file_id(db: Database, sha: str, file_id: str) -> None:
    """Telegram's id of a stored file once it was uploaded (a display copy sent to staff),
    for sending it again without uploading; the first one stays."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE evidence SET file_id = ? WHERE sha256 = ? AND file_id IS NULL",
            (file_id, _valid(sha)),
        )


async def file_ids(db: Database, shas: Sequence[str]) -> dict[str, str]:
    """Telegram's ids of the stored files among ``shas`` that were uploaded (by
    :func:`remember_file_id`): these are sent by id, the others uploaded."""
    rows = await db.fetchall(
        "SELECT sha256, file_id FROM evidence WHERE file_id IS NOT NULL"
        " AND sha256 IN (SELECT value FROM json_each(?))",
        (json.dumps([_valid(sha) for sha in shas]),),
    )
    return {str(row["sha256"]): str(row["file_id"]) for row in rows}


_LINKS: Final = (
    "SELECT l.id, l.subject_kind, l.subject_id, l.sha256, l.display_sha256, l.file_id,"
    " l.added_by, l.added_at, e.format, e.size, e.width, e.height"
    " FROM evidence_links l JOIN evidence e ON e.sha256 = l.sha256"
)


def _link(row: sqlite3.Row) -> Link:
    return Link(
        id=row["id"],
        subject=Subject(row["subject_kind"], row["subject_id"]),
        sha256=row["sha256"],
        display_sha256=row["display_sha256"],
        file_id=row["file_id"],
        added_by=row["added_by"],
        added_at=row["added_at"],
        format=row["format"],
        size=row["size"],
        width=row["width"],
        height=row["height"],
    )


async def _links(conn: aiosqlite.Connection, where: str, params: Sequence[object]) -> list[Link]:
    async with conn.execute(f"{_LINKS} WHERE {where} ORDER BY l.id", params) as cur:
        return [_link(r) for r in await cur.fetchall()]


# --- check-audit ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FilesReport:
    """What :func:`verify_files` found: how many files were re-hashed, and every problem
    as (hash, role, what: ``missing`` | ``changed`` | ``unregistered``)."""

    files: int
    problems: tuple[tuple[str, str, str], ...]

    @property
    def ok(self) -> bool:
        """True when every stored file still has its bytes."""
        return not self.problems


async def erase(conn: aiosqlite.Connection, store: EvidenceStore, shas: Sequence[str]) -> list[str]:
    """Delete stored files on purpose (personal data past its retention), inside the
    caller's transaction: each row marked erased (a tombstone: the audit events naming the
    hash still verify, :func:`verify_files` no longer looks for the bytes) and the file
    removed, with the display copies made from it. Returns the hashes erased. (A file is
    removed before the transaction commits: should the commit fail, check-audit reports it
    missing; it never keeps bytes that should be gone.)"""
    erased: list[str] = []
    at = iso(now_of(conn))
    for sha in dict.fromkeys(shas):
        _valid(sha)
        async with conn.execute(
            "SELECT sha256, role FROM evidence WHERE (sha256 = ? OR original = ?)"
            " AND erased_at IS NULL",
            (sha, sha),
        ) as cur:
            found = [(str(r["sha256"]), str(r["role"])) for r in await cur.fetchall()]
        for each, role in found:
            await conn.execute("UPDATE evidence SET erased_at = ? WHERE sha256 = ?", (at, each))
            with contextlib.suppress(FileNotFoundError):
                store.path(each, display=role == "display").unlink()
            erased.append(each)
    return erased


async def verify_files(db: Database, store: EvidenceStore) -> FilesReport:
    """Re-hash every registered file (in a worker thread), and check that every hash an
    ``evidence.attached`` or ``evidence.displayed`` event names is still registered (a row
    deleted with its file). A file erased on purpose (:func:`erase`) keeps its row, and is
    not looked for."""
    rows = await db.fetchall("SELECT sha256, role, erased_at FROM evidence ORDER BY rowid")
    registered = {r["sha256"] for r in rows}
    rows = [r for r in rows if r["erased_at"] is None]  # deleted on purpose: a tombstone
    named: list[tuple[str, str]] = []
    for event in await db.fetchall(
        "SELECT data FROM audit WHERE event IN (?, ?) ORDER BY id", (ATTACHED, DISPLAYED)
    ):
        data = json.loads(event["data"])
        for key, role in (("sha256", "original"), ("display_sha256", "display")):
            value = data.get(key)
            if isinstance(value, str) and value not in registered:
                named.append((value, role))

    def work() -> list[tuple[str, str, str]]:
        found = []
        for row in rows:
            state = store.verify(row["sha256"], display=row["role"] == "display")
            if state is not FileState.OK:
                found.append((row["sha256"], row["role"], state.value))
        return found

    problems = await asyncio.to_thread(work)
    problems += [(sha, role, "unregistered") for sha, role in dict.fromkeys(named)]
    return FilesReport(len(rows), tuple(problems))
