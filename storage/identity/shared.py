"""What the identity repositories share: their base (the database), one-row reads inside a
transaction, and the department lookup that role grants and invites both need.

Every change of identity is one write transaction that also appends its audit event, so the
trail and the data can never disagree.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

from storage.db import Database


class StoreBase:
    """The database an identity repository works on; every part of ``IdentityStore`` is one."""

    def __init__(self, db: Database) -> None:
        self.db = db


async def fetch_one(
    conn: aiosqlite.Connection, sql: str, params: Sequence[Any]
) -> sqlite3.Row | None:
    """The first row ``sql`` returns inside the caller's transaction, or None."""
    async with conn.execute(sql, params) as cur:
        row: sqlite3.Row | None = await cur.fetchone()
        return row


async def department_id_of(
    conn: aiosqlite.Connection, estate_id: int, code: str | None
) -> int | None:
    """The id of department ``code`` of an estate (None for no department); LookupError if
    the estate has no such department."""
    if code is None:
        return None
    row = await fetch_one(
        conn, "SELECT id FROM departments WHERE estate_id = ? AND code = ?", [estate_id, code]
    )
    if row is None:
        raise LookupError(code)
    return int(row["id"])
