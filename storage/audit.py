"""The append-only, hash-chained audit trail, with its personal data erasable (PIPL).

Each event stores the SHA-256 of the previous event's hash plus its own canonical content,
so editing, deleting or reordering any row breaks the chain from that row on. SQLite
triggers refuse UPDATE and DELETE; :func:`verify` catches whatever got past them.

Personal data stays out of the chain. :func:`append` looks for the keys of
:data:`PERSONAL_KEYS` in the event's data (nested dicts and lists included): each such
value goes to the ``audit_personal`` table with a random salt, and the hashed data holds
``{"ref": …, "digest": sha256(salt + value)}`` in its place (``value`` being its canonical
JSON). :func:`trail` joins the values back, so timelines read as before. :func:`erase_personal`
(a person's values) and :func:`erase_refs` (chosen ones) clear value and salt, keep a
tombstone, record the erasure as an event without personal data, and checkpoint the WAL so
the text leaves the database file (``secure_delete`` zeroes the freed bytes). The chain
never hashed the text, so :func:`verify` still passes; it also checks every stored value
against its digest. While a value is not erased, :func:`matches` tells whether a value
someone presents is the one recorded; once erased, nobody can tell (the salt is gone).

Events written before migration 0010 keep their data as it was, text included: rewriting
them would mean rewriting the chain, so they are left alone and still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import aiosqlite

from storage.db import Database, iso, now_of

GENESIS = "0" * 64

#: The data keys whose values are personal (who a person is, what they wrote): kept out of
#: the chain, erasable. Found in the call sites: ``description`` (case.filed), ``note``
#: (case steps: progress, promises, comments), ``opinion`` (C-11, a step's changes),
#: ``name`` (estate.created today; a person's name tomorrow); the rest are the names such
#: data will come under. ``reason`` is not here: today it is always a code
#: (``not_owner``, ``visit_office``…), never free text.
PERSONAL_KEYS: Final = frozenset(
    {
        "description", "note", "opinion", "comment", "text", "message",
        "name", "caller_name", "username", "phone", "caller_phone", "id_number",
        "address", "email", "plate",
    }
)  # fmt: skip

#: What :func:`trail` shows for an erased value (the event's ``erased`` lists where).
ERASED: Final = "[erased]"

#: The event that records an erasure (its data: how many values, their refs).
ERASURE_EVENT: Final = "audit.personal_erased"


def _digest(
    prev_hash: str,
    at: str,
    actor_id: int | None,
    actor: str,
    estate_id: int | None,
    event: str,
    subject: str,
    data: str,
) -> str:
    canonical = json.dumps(
        [prev_hash, at, actor_id, actor, estate_id, event, subject, data],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _value_digest(salt: str, value_json: str) -> str:
    return hashlib.sha256((salt + value_json).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Sealed:
    """One personal value taken out of an event's data."""

    ref: str
    path: str
    salt: str
    value: str  # canonical JSON


def _is_personal(key: object, value: Any) -> bool:
    return key in PERSONAL_KEYS and value is not None and value != ""


def _seal(value: Any, sealed: list[_Sealed], path: str) -> Any:
    """``value`` with every personal value replaced by its ref and digest (kept in
    ``sealed``)."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _is_personal(key, item):
                ref, salt, text = secrets.token_hex(16), secrets.token_hex(16), _canonical(item)
                sealed.append(_Sealed(ref, where, salt, text))
                out[key] = {"ref": ref, "digest": _value_digest(salt, text)}
            else:
                out[key] = _seal(item, sealed, where)
        return out
    if isinstance(value, list | tuple):
        return [_seal(item, sealed, f"{path}.{i}") for i, item in enumerate(value)]
    return value


def _is_mark(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"ref", "digest"}
        and isinstance(value["ref"], str)
        and isinstance(value["digest"], str)
    )


def _marks(value: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Every personal value's (path, ref, digest) in stored data."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in PERSONAL_KEYS and _is_mark(item):
                yield where, item["ref"], item["digest"]
            else:
                yield from _marks(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _marks(item, f"{path}.{i}")


def _unseal(value: Any, values: dict[str, Any], erased: list[str], path: str) -> Any:
    """Stored data with its personal values back (:data:`ERASED` where they are gone)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in PERSONAL_KEYS and _is_mark(item):
                if item["ref"] in values:
                    out[key] = values[item["ref"]]
                else:
                    out[key] = ERASED
                    erased.append(where)
            else:
                out[key] = _unseal(item, values, erased, where)
        return out
    if isinstance(value, list):
        return [_unseal(item, values, erased, f"{path}.{i}") for i, item in enumerate(value)]
    return value


def _legacy(value: Any) -> bool:
    """Whether stored data holds personal text in the clear (an event from before 0010)."""
    if isinstance(value, dict):
        return any(
            (_is_personal(k, v) and not _is_mark(v)) or (k not in PERSONAL_KEYS and _legacy(v))
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_legacy(item) for item in value)
    return False


async def append(
    conn: aiosqlite.Connection,
    *,
    event: str,
    subject: str,
    actor: str,
    actor_id: int | None = None,
    estate_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> str:
    """Append one event inside the caller's write transaction; returns its hash.

    ``actor`` says who acted as text (``person:12``, ``cli``, ``system``); ``subject`` what
    the event is about (``person:12``, ``unit:7``, ``department:3``…). The values of
    :data:`PERSONAL_KEYS` in ``data`` are stored apart, the chain hashing only their
    salted digests (see the module's docstring).
    """
    async with conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1") as cur:
        row = await cur.fetchone()
    prev_hash = row[0] if row else GENESIS
    at = iso(now_of(conn))
    sealed: list[_Sealed] = []
    body = _canonical(_seal(data or {}, sealed, ""))
    digest = _digest(prev_hash, at, actor_id, actor, estate_id, event, subject, body)
    cur = await conn.execute(
        "INSERT INTO audit(at, actor_id, actor, estate_id, event, subject, data, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (at, actor_id, actor, estate_id, event, subject, body, prev_hash, digest),
    )
    if sealed:
        await conn.executemany(
            "INSERT INTO audit_personal(ref, audit_id, path, salt, value) VALUES (?, ?, ?, ?, ?)",
            [(s.ref, cur.lastrowid, s.path, s.salt, s.value) for s in sealed],
        )
    return digest


@dataclass(frozen=True)
class AuditReport:
    """What :func:`verify` found: how many events, and the first broken one if any."""

    events: int
    broken_at: int | None
    problem: str | None
    head: str = GENESIS

    @property
    def ok(self) -> bool:
        """True when the whole chain is intact."""
        return self.broken_at is None


async def verify(db: Database) -> AuditReport:
    """Recompute the chain from the first event; report the first row that does not fit.

    An event's personal values must be in ``audit_personal`` (erased or not), and those
    not erased must match the digest the chain holds."""
    rows = await db.fetchall(
        "SELECT id, at, actor_id, actor, estate_id, event, subject, data, prev_hash, hash"
        " FROM audit ORDER BY id"
    )
    personal = {
        r["ref"]: r
        for r in await db.fetchall("SELECT ref, audit_id, salt, value FROM audit_personal")
    }
    expected_prev = GENESIS
    for count, row in enumerate(rows, start=1):
        if row["prev_hash"] != expected_prev:
            return AuditReport(count, row["id"], "previous-hash link broken (row removed?)")
        digest = _digest(
            row["prev_hash"],
            row["at"],
            row["actor_id"],
            row["actor"],
            row["estate_id"],
            row["event"],
            row["subject"],
            row["data"],
        )
        if digest != row["hash"]:
            return AuditReport(count, row["id"], "content does not match its hash (row edited)")
        if '"ref"' in row["data"]:
            for _, ref, value_digest in _marks(json.loads(row["data"])):
                kept = personal.get(ref)
                if kept is None or kept["audit_id"] != row["id"]:
                    return AuditReport(count, row["id"], "personal value missing (row deleted?)")
                if kept["value"] is not None and not hmac.compare_digest(
                    value_digest, _value_digest(kept["salt"], kept["value"])
                ):
                    return AuditReport(
                        count, row["id"], "personal value does not match its digest (edited)"
                    )
        expected_prev = row["hash"]
    return AuditReport(len(rows), None, None, expected_prev)


async def trail(db: Database, subject: str) -> list[dict[str, Any]]:
    """Every event about one subject, oldest first (for timelines).

    ``data`` has its personal values back; an erased one reads :data:`ERASED`, and the
    event's ``erased`` lists where (``note``, ``items.0.name``…)."""
    rows = await db.fetchall(
        "SELECT id, at, actor, event, data FROM audit WHERE subject = ? ORDER BY id", (subject,)
    )
    kept = await db.fetchall(
        "SELECT p.ref, p.value FROM audit_personal p JOIN audit a ON a.id = p.audit_id"
        " WHERE a.subject = ? AND p.value IS NOT NULL",
        (subject,),
    )
    values = {r["ref"]: json.loads(r["value"]) for r in kept}
    events = []
    for r in rows:
        erased: list[str] = []
        data = _unseal(json.loads(r["data"]), values, erased, "")
        events.append(
            {
                "id": r["id"],
                "at": r["at"],
                "actor": r["actor"],
                "event": r["event"],
                "data": data,
                "erased": erased,
            }
        )
    return events


async def matches(db: Database, ref: str, value: Any) -> bool:
    """Whether ``value`` is the personal value recorded under ``ref``, checked against the
    digest the chain holds; False once it is erased (or for an unknown ref)."""
    row = await db.fetchone(
        "SELECT p.salt, a.data FROM audit_personal p JOIN audit a ON a.id = p.audit_id"
        " WHERE p.ref = ?",
        (ref,),
    )
    if row is None or row["salt"] is None:
        return False
    for _, found, digest in _marks(json.loads(row["data"])):
        if found == ref:
            return hmac.compare_digest(digest, _value_digest(row["salt"], _canonical(value)))
    return False


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: the values erased (their refs), and how many events of the
    person from before migration 0010 still hold personal text in the chain."""

    refs: tuple[str, ...]
    legacy_events: int = 0

    @property
    def values(self) -> int:
        """How many values were erased."""
        return len(self.refs)


async def erase_personal(
    db: Database,
    person_id: int,
    *,
    actor: str,
    actor_id: int | None = None,
    subjects: Iterable[str] = (),
) -> Erasure:
    """Erase a person's personal data from the audit trail: every personal value of the
    events about them (subject ``person:<id>``), of the events they acted in (``actor_id``
    or ``actor``), and of the events about ``subjects`` (their cases: ``case:7``…).

    One transaction, recorded as an :data:`ERASURE_EVENT` about ``person:<id>``; then the
    WAL is checkpointed so the text leaves the database file."""
    who = f"person:{person_id}"
    about = [who, *subjects]
    marks = ",".join("?" * len(about))
    where = f"(a.subject IN ({marks}) OR a.actor_id = ? OR a.actor = ?)"
    params = [*about, person_id, who]
    async with db.write() as conn:
        async with conn.execute(
            "SELECT p.ref FROM audit_personal p JOIN audit a ON a.id = p.audit_id"
            f" WHERE p.erased_at IS NULL AND {where} ORDER BY p.audit_id, p.ref",
            params,
        ) as cur:
            refs = [r[0] for r in await cur.fetchall()]
        async with conn.execute(f"SELECT a.data FROM audit a WHERE {where}", params) as cur:
            legacy = sum(1 for r in await cur.fetchall() if _legacy(json.loads(r[0])))
        done = await _erase(
            conn, refs, subject=who, actor=actor, actor_id=actor_id, legacy_events=legacy
        )
    await _purge(db)
    return Erasure(done, legacy)


async def erase_refs(
    db: Database,
    refs: Iterable[str],
    *,
    subject: str,
    actor: str,
    actor_id: int | None = None,
) -> Erasure:
    """Erase chosen personal values (by their refs; unknown or erased ones are skipped),
    recorded as an :data:`ERASURE_EVENT` about ``subject``; then checkpoint the WAL."""
    wanted = sorted(set(refs))
    async with db.write() as conn:
        found: list[str] = []
        for chunk in _chunks(wanted):
            async with conn.execute(
                "SELECT ref FROM audit_personal WHERE erased_at IS NULL"
                f" AND ref IN ({','.join('?' * len(chunk))}) ORDER BY ref",
                chunk,
            ) as cur:
                found += [r[0] for r in await cur.fetchall()]
        done = await _erase(conn, found, subject=subject, actor=actor, actor_id=actor_id)
    await _purge(db)
    return Erasure(done)


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _erase(
    conn: aiosqlite.Connection,
    refs: list[str],
    *,
    subject: str,
    actor: str,
    actor_id: int | None,
    legacy_events: int = 0,
) -> tuple[str, ...]:
    """Clear the values and salts of ``refs`` (not yet erased) and record it."""
    async with conn.execute("PRAGMA secure_delete") as cur:
        row = await cur.fetchone()
    before = int(row[0]) if row else 0
    await conn.execute("PRAGMA secure_delete = ON")  # the freed bytes are zeroed
    try:
        at = iso(now_of(conn))
        for chunk in _chunks(refs):
            await conn.execute(
                "UPDATE audit_personal SET salt = NULL, value = NULL, erased_at = ?"
                f" WHERE erased_at IS NULL AND ref IN ({','.join('?' * len(chunk))})",
                [at, *chunk],
            )
    finally:
        await conn.execute(f"PRAGMA secure_delete = {('OFF', 'ON', 'FAST')[before]}")
    data: dict[str, Any] = {"values": len(refs), "refs": refs}
    if legacy_events:
        data["legacy_events"] = legacy_events
    await append(
        conn, event=ERASURE_EVENT, subject=subject, actor=actor, actor_id=actor_id, data=data
    )
    return tuple(refs)


async def _purge(db: Database) -> None:
    """Move the erased pages into the database file and empty the WAL, whose older frames
    still hold the text (best effort: a reader elsewhere may keep it until the next
    checkpoint)."""
    await db.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
