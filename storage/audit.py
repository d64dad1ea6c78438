"""The append-only, hash-chained audit trail.

Each event stores the SHA-256 of the previous event's hash plus its own canonical content,
so editing, deleting or reordering any row breaks the chain from that row on. SQLite
triggers refuse UPDATE and DELETE; :func:`verify` catches whatever got past them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Database, iso, now_of

GENESIS = "0" * 64


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
    the event is about (``person:12``, ``unit:7``, ``department:3``…).
    """
    async with conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1") as cur:
        row = await cur.fetchone()
    prev_hash = row[0] if row else GENESIS
    at = iso(now_of(conn))
    body = json.dumps(data or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = _digest(prev_hash, at, actor_id, actor, estate_id, event, subject, body)
    await conn.execute(
        "INSERT INTO audit(at, actor_id, actor, estate_id, event, subject, data, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (at, actor_id, actor, estate_id, event, subject, body, prev_hash, digest),
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
    """Recompute the chain from the first event; report the first row that does not fit."""
    rows = await db.fetchall(
        "SELECT id, at, actor_id, actor, estate_id, event, subject, data, prev_hash, hash"
        " FROM audit ORDER BY id"
    )
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
        expected_prev = row["hash"]
    return AuditReport(len(rows), None, None, expected_prev)


async def trail(db: Database, subject: str) -> list[dict[str, Any]]:
    """Every event about one subject, oldest first (for timelines)."""
    rows = await db.fetchall(
        "SELECT id, at, actor, event, data FROM audit WHERE subject = ? ORDER BY id", (subject,)
    )
    return [
        {
            "id": r["id"],
            "at": r["at"],
            "actor": r["actor"],
            "event": r["event"],
            "data": json.loads(r["data"]),
        }
        for r in rows
    ]
