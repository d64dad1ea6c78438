"""Backups: the database copied while the bot writes, then the evidence files the copy names.

**A backup folder** (``python -m bot backup [DIR]``, the daily backup job, ``WUYE_BACKUP_DIR``)
holds copies of the database side by side with one evidence store they share::

    DIR/wuye-20261127T013000Z.db        a whole database, one file (no -wal to forget)
    DIR/wuye-20261128T013000Z.db
    DIR/evidence/ab/cd/<sha256>         the photos, laid out as in WUYE_DATA_DIR/evidence
    DIR/evidence/ab/cd/<sha256>.jpg     (display copies)

**Consistent with each other**: the database is copied first, with SQLite's online backup
API in one step (a read transaction: in WAL mode the bot's writers go on meanwhile, and the
copy is the database as of one commit); then exactly the files *that copy* registers are
copied. A file is written before its row is committed (``storage.evidence``), so every file
the copy names exists in the store. Files are content-addressed and never change, so a file
already in the folder is not copied again (a backup after the first copies only the new
photos), and each one copied is re-hashed on the way: a stored file that no longer hashes to
its name is reported and not copied over a good one.

**Retention**: after each backup only the newest ``keep`` database copies stay. Evidence
files are never pruned: no row of ``evidence`` is ever deleted, so every file an older copy
names is named by the newest too.

**The snapshot before a migration** (:func:`snapshot`, called by ``Database.migrate`` when a
database that exists has migrations pending) is the same copy of the database alone, kept
in ``snapshots/`` beside it; the evidence store is not touched by migrations.

**Restore** (:func:`restore`, ``python -m bot restore``): the copy becomes the database (the
one it replaces moved aside, never deleted), and every file it names is put back into the
evidence store from the folder. ``check-audit`` then proves both: the audit chain, and every
stored photo re-hashed.

Blocking file and SQLite work: call these functions in a worker thread from async code.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from storage.evidence import sync_dir

__all__ = [
    "BackupReport",
    "RestoreReport",
    "backup",
    "backups_in",
    "copy_database",
    "referenced_files",
    "restore",
    "snapshot",
]

#: The name of a database copy in a backup folder: ``wuye-<UTC time>.db``.
NAME = re.compile(r"wuye-(\d{8}T\d{6}Z)(-\d+)?\.db")


@dataclass(frozen=True)
class BackupReport:
    """What :func:`backup` did."""

    database: Path  # the copy made
    files: int  # evidence files the copy names
    copied: int  # of them, copied this time (the others were there already)
    copied_bytes: int
    #: Files the copy names that the live store could not give intact: (sha256, role, what:
    #: ``missing`` | ``changed``). The backup is still made (the database is the record), and
    #: the command exits non-zero so the operator looks.
    problems: tuple[tuple[str, str, str], ...] = ()
    removed: tuple[Path, ...] = ()  # older copies removed by the retention count

    @property
    def ok(self) -> bool:
        """True when every file the copy names is in the backup folder, intact."""
        return not self.problems


@dataclass(frozen=True)
class RestoreReport:
    """What :func:`restore` did."""

    database: Path  # the database now in place
    moved_aside: Path | None  # the database it replaced, kept under another name
    files: int  # evidence files the restored database names
    restored: int  # of them, put back into the store
    problems: tuple[tuple[str, str, str], ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when every file the restored database names is in the store, intact."""
        return not self.problems


def stamp(moment: datetime) -> str:
    """A moment as backup names carry it: ``20261127T013000Z`` (UTC)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def copy_database(source: str | Path, target: Path) -> Path:
    """Copy the live database ``source`` to ``target`` (a single file, rollback journal, so
    no ``-wal`` belongs to it) while others may be writing; returns ``target``.

    SQLite's backup API in one step: one read transaction, so the copy is the database as of
    one commit and writers are not held up (WAL). Written to a temporary name and renamed
    into place once complete and synced: a crash leaves no half copy under the final name.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    src = sqlite3.connect(f"{Path(source).absolute().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: everything in one step, one snapshot of the source
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            row = dst.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"the copy fails SQLite's quick_check: {row}")
        finally:
            dst.close()
    finally:
        src.close()
    with partial.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(partial, target)
    sync_dir(target.parent)
    return target


def referenced_files(database: Path) -> list[tuple[str, str]]:
    """The evidence files a database copy registers, as (sha256, role), oldest first (not
    those erased on purpose: their bytes are gone, ``storage.evidence.erase``)."""
    conn = sqlite3.connect(f"{database.absolute().as_uri()}?mode=ro", uri=True)
    try:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'evidence'"
        ).fetchone()
        if not exists:
            return []
        columns = {str(c[1]) for c in conn.execute("PRAGMA table_info(evidence)").fetchall()}
        kept = " WHERE erased_at IS NULL" if "erased_at" in columns else ""  # not tombstones
        rows = conn.execute(f"SELECT sha256, role FROM evidence{kept} ORDER BY rowid").fetchall()
    finally:
        conn.close()
    return [(str(sha), str(role)) for sha, role in rows]


def _evidence_path(root: Path, sha: str, role: str) -> Path:
    """Where a file lives under an evidence root (as ``storage.evidence.EvidenceStore``)."""
    name = f"{sha}.jpg" if role == "display" else sha
    return root / sha[:2] / sha[2:4] / name


def _copy_files(
    files: list[tuple[str, str]], source_root: Path, target_root: Path, *, replace_bad: bool
) -> tuple[int, int, list[tuple[str, str, str]]]:
    """Copy each file missing at ``target_root`` from ``source_root``, re-hashing it on the
    way; (copied, bytes, problems). With ``replace_bad`` a target file whose bytes no longer
    match its name is replaced too (a restore repairs the store); a backup trusts its own
    folder's files (they were hashed when copied) and only adds."""
    copied = copied_bytes = 0
    problems: list[tuple[str, str, str]] = []
    for sha, role in files:
        target = _evidence_path(target_root, sha, role)
        if target.exists() and (not replace_bad or _hash_of(target) == sha):
            continue
        source = _evidence_path(source_root, sha, role)
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            problems.append((sha, role, "missing"))
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            problems.append((sha, role, "changed"))
            continue
        _write(target, data)
        copied += 1
        copied_bytes += len(data)
    return copied, copied_bytes, problems


def _hash_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _write(target: Path, data: bytes) -> None:
    """Write a file whole (temporary name, fsync, rename), read-only as the store keeps it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".incoming-{target.name}")
    with temp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(temp, 0o400)
    if target.exists():  # a damaged file being repaired: the store made it read-only
        os.chmod(target, 0o600)
    os.replace(temp, target)


def backups_in(folder: Path) -> list[Path]:
    """The database copies in a backup folder, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = NAME.fullmatch(path.name)
        if match:  # (the second, then -2, -3… for more within one second)
            found.append((match[1], int(match[2][1:]) if match[2] else 1, path))
    return [path for _, _, path in sorted(found)]


def backup(
    database: str | Path,
    data_dir: Path,
    folder: Path,
    *,
    keep: int,
    now: datetime,
    before_files: Callable[[Path], None] | None = None,
) -> BackupReport:
    """Copy the database, then the evidence files the copy names, into ``folder``; keep the
    newest ``keep`` copies. ``before_files`` (tests) runs between the two steps."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    name = f"wuye-{stamp(now)}.db"
    target = folder / name
    number = 1
    while target.exists() or target.with_name(target.name + ".partial").exists():
        number += 1  # two backups within one second
        target = folder / f"wuye-{stamp(now)}-{number}.db"
    copy_database(database, target)
    if before_files is not None:
        before_files(target)
    files = referenced_files(target)
    copied, copied_bytes, problems = _copy_files(
        files, Path(data_dir) / "evidence", folder / "evidence", replace_bad=False
    )
    removed = []
    for old in backups_in(folder)[:-keep]:
        old.unlink()
        removed.append(old)
    return BackupReport(target, len(files), copied, copied_bytes, tuple(problems), tuple(removed))


def snapshot(database: str | Path, version: int, now: datetime) -> Path:
    """Copy the database before migration ``version`` is applied to it, into
    ``snapshots/`` beside it; returns the copy's path."""
    path = Path(database)
    folder = path.parent / "snapshots"
    target = folder / f"{path.stem}-before-{version:04d}-{stamp(now)}.db"
    number = 1
    while target.exists():
        number += 1
        target = folder / f"{path.stem}-before-{version:04d}-{stamp(now)}-{number}.db"
    return copy_database(path, target)


def restore(
    copy: Path,
    database: str | Path,
    data_dir: Path,
    *,
    now: datetime,
    evidence_from: Path | None = None,
) -> RestoreReport:
    """Make the database copy ``copy`` the database at ``database`` and put the evidence
    files it names back into ``data_dir``'s store, from ``evidence_from`` (a backup folder;
    by default the one ``copy`` is in). The bot must be stopped. A database already at
    ``database`` is moved aside (with its ``-wal`` and ``-shm``, named after ``now``), never
    deleted."""
    if not copy.is_file():
        raise FileNotFoundError(f"no database copy at {copy}")
    target = Path(database)
    target.parent.mkdir(parents=True, exist_ok=True)
    moved = None
    if target.exists():
        moved = target.with_name(f"{target.name}.replaced-{stamp(now)}")
        os.replace(target, moved)
        for suffix in ("-wal", "-shm"):
            companion = target.with_name(target.name + suffix)
            if companion.exists():
                os.replace(companion, moved.with_name(moved.name + suffix))
    copy_database(copy, target)
    files = referenced_files(target)
    source = (evidence_from or copy.parent) / "evidence"
    restored, _, problems = _copy_files(
        files, source, Path(data_dir) / "evidence", replace_bad=True
    )
    return RestoreReport(target, moved, len(files), restored, tuple(problems))
