"""What the metrics read from the database when they are scraped: the outbox's depth and
age, and the clocks past due. A read-only connection of its own (plain ``sqlite3``, in the
metrics server's worker thread): a scrape never waits for the bot's connection, and WAL
lets it read while the bot writes."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storage.db import iso, parse_iso


@dataclass(frozen=True)
class Gauges:
    """The database's state at one moment."""

    outbox_pending: int  # rows waiting to be sent (messages and edits)
    outbox_oldest_age: float  # seconds the oldest of them has waited (0: none)
    clocks_open: int  # deadlines running (pending or warned)
    clocks_overdue: int  # of them, due already and not yet fired by the sweeper


def read(database: str | Path, now: datetime) -> Gauges:
    """Read the gauges at ``now`` (the application's time)."""
    uri = f"{Path(database).absolute().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=5)
    try:
        pending, oldest = conn.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'"
        ).fetchone()
        open_clocks, overdue = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(due_at <= ?), 0) FROM deadlines"
            " WHERE state IN ('pending', 'warned')",
            (iso(now),),
        ).fetchone()
    finally:
        conn.close()
    age = max(0.0, (now - parse_iso(oldest)).total_seconds()) if oldest else 0.0
    return Gauges(int(pending), age, int(open_clocks), int(overdue))
