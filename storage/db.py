"""The SQLite connection: WAL, foreign keys, busy timeout, migrations, one writer at a time."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from storage.clock import Clock, SystemClock

Params = Sequence[Any] | dict[str, Any]

log = logging.getLogger(__name__)


#: The clock of each open connection's Database, for the functions of a unit of work that are
#: handed the connection only (``audit.append``, ``outbox.enqueue``…).
_CLOCKS: weakref.WeakKeyDictionary[aiosqlite.Connection, Clock] = weakref.WeakKeyDictionary()


def now_of(conn: aiosqlite.Connection) -> datetime:
    """The current moment by the clock of the database ``conn`` belongs to (UTC)."""
    clock = _CLOCKS.get(conn)
    if clock is None:
        raise RuntimeError("this connection was not opened by storage.db.Database")
    return clock.now()


def iso(moment: datetime) -> str:
    """A UTC timestamp as stored: ISO 8601 with seconds and the +00:00 offset."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def precise_iso(moment: datetime) -> str:
    """A UTC timestamp to the microsecond, for moments that fire (a deadline's due and
    warning times): ``…T10:00:00.250000+00:00``, or exactly :func:`iso`'s text when the
    fraction is zero.

    Both forms sort as the moments they stand for (``+`` sorts before ``.``: a whole second
    before any fraction of it), so rows written to the second and rows written to the
    microsecond compare correctly with each other and with either kind of parameter; old
    rows stay readable and no migration is needed."""
    return moment.astimezone(UTC).isoformat(timespec="auto")


def parse_iso(text: str) -> datetime:
    """The inverse of :func:`iso` and :func:`precise_iso`."""
    return datetime.fromisoformat(text)


@dataclass
class UpdateScope:
    """What the handling of one update keeps while it runs (``bot.app`` opens one around each
    update): how many transactions it has committed so far, and what was read for it with
    that count (``handlers.common.who``'s person and roles). A memo read before the update's
    own latest commit is stale; one read after it is what the database holds for the update
    (other people's updates running meanwhile are not waited for: as read at the start)."""

    commits: int = 0
    memo: dict[str, tuple[int, Any]] = field(default_factory=dict)

    def recall(self, key: str) -> Any:
        """What was noted under ``key`` since this update's last commit, or None."""
        found = self.memo.get(key)
        return found[1] if found is not None and found[0] == self.commits else None

    def note(self, key: str, value: Any) -> None:
        """Remember ``value`` until this update commits again."""
        self.memo[key] = (self.commits, value)


#: The update being handled, in its task (and the tasks it starts); None outside one.
SCOPE: ContextVar[UpdateScope | None] = ContextVar("wuye_update_scope", default=None)


@contextmanager
def update_scope() -> Iterator[UpdateScope]:
    """Open a fresh :class:`UpdateScope` for the update handled inside."""
    token = SCOPE.set(scope := UpdateScope())
    try:
        yield scope
    finally:
        SCOPE.reset(token)


#: How long a statement waits for another process's write lock before "database is locked"
#: (seconds): SQLite's ``busy_timeout`` as it was, now waited for without holding the loop.
BUSY_TIMEOUT = 5.0

#: True in the task (and the tasks it starts) that asked for its statements on the
#: connection's own thread (:meth:`Database.on_thread`).
_THREADED: ContextVar[bool] = ContextVar("wuye_sqlite_threaded", default=False)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (or one of its extended codes): another connection holds the lock."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection (the same API: ``execute`` as an awaitable and an async
    context manager, cursors, ``row_factory``…) whose statements run on the event loop's
    own thread instead of a round trip to aiosqlite's thread per call.

    SQLite on a local file in WAL mode answers the bot's statements in microseconds; the
    hop cost more than the work (a future, a queue, a wake-up of the loop through its
    self-pipe, three of them for ``async with conn.execute(…) as cur: await cur.fetchone()``).
    What is kept:

    - **one statement at a time**: the connection is only ever used under
      :class:`Database`'s lock, in one task at a time, as before;
    - **no blocked loop when another process writes**: the connection's own
      ``busy_timeout`` is 0, and a statement refused with SQLITE_BUSY (another process —
      the command line's import, a backup — holds the lock) is tried again after an
      ``asyncio.sleep`` that lets everyone else run, for up to ``busy_timeout`` seconds, then
      raises "database is locked" as SQLite would have. Only ``execute`` is tried again: it
      fails before doing anything, whereas a fetch or an ``executemany`` that failed half
      way could not be repeated safely (and in WAL mode they do not meet the lock);
    - **long work off the loop**: a statement that may take long (a report's scan of an
      estate's cases) is run on aiosqlite's thread, as every statement was, inside
      :meth:`Database.on_thread`.

    The sqlite3 connection is opened on aiosqlite's thread (``check_same_thread=False``)
    and used from both; never from both at once, as the lock guarantees.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection], busy_timeout: float) -> None:
        super().__init__(connector, 64)
        self.busy_timeout = busy_timeout

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        threaded = _THREADED.get()
        retried = getattr(fn, "__name__", "") == "execute"
        began: float | None = None
        delay = 0.001
        while True:
            try:
                if threaded:
                    return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                if not retried or not _is_busy(error):
                    raise
                began = began if began is not None else time.monotonic()
                if time.monotonic() - began >= self.busy_timeout:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def run(self, sql: str) -> None:
        """A statement without rows or parameters (``BEGIN``, ``COMMIT``): no cursor kept."""
        if _THREADED.get():
            await self.execute(sql)
            return
        (await self._execute(self._conn.execute, sql)).close()

    async def fetch(self, sql: str, params: Params, *, every: bool) -> Any:
        """One statement's first row (or None), or ``every`` row: on the loop's thread one
        call to sqlite3 and no cursor object of aiosqlite's (whose fetch and close are two
        more trips through :meth:`_execute`); inside :meth:`Database.on_thread`, aiosqlite's
        way on its thread."""
        if _THREADED.get():
            async with self.execute(sql, params) as cur:
                return await (cur.fetchall() if every else cur.fetchone())
        cursor = await self._execute(self._conn.execute, sql, params)
        try:
            return cursor.fetchall() if every else cursor.fetchone()
        finally:
            cursor.close()


def migrations() -> list[tuple[int, str, str]]:
    """The numbered migrations shipped in ``storage/migrations``: (version, name, sql)."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    """One SQLite connection shared by the process (:class:`InlineConnection`: aiosqlite's
    interface, its statements run on the event loop's thread; :meth:`on_thread` for long
    ones; migrations run inline too, at start-up, before anything else is served).

    Writes go through :meth:`write` (``BEGIN IMMEDIATE``, commit or roll back); an asyncio
    lock keeps one unit of work at a time on the connection so two updates never interleave
    their statements inside one transaction. Reads from the task that holds a write see that
    transaction (they do not wait for the lock they already hold).
    """

    def now(self) -> datetime:
        """The current moment by the application's clock (UTC)."""
        return self.clock.now()

    def __init__(self, conn: aiosqlite.Connection, path: str, clock: Clock | None = None) -> None:
        self.conn = conn
        self.path = path
        #: The application's one clock (see storage.clock): every stamp storage writes.
        self.clock: Clock = clock or SystemClock()
        _CLOCKS[conn] = self.clock
        self._lock = asyncio.Lock()
        self._writer: asyncio.Task[Any] | None = None

    @classmethod
    async def open(cls, path: str | Path, *, clock: Clock | None = None) -> Database:
        """Open (creating folders as needed), configure and migrate the database.

        ``clock`` is the application's clock (default the machine's)."""
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        conn = await InlineConnection(
            lambda: sqlite3.connect(target, isolation_level=None, check_same_thread=False),
            BUSY_TIMEOUT,
        )
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=0")  # waited for by InlineConnection
        await conn.execute("PRAGMA synchronous=NORMAL")
        db = cls(conn, target, clock)
        await db.migrate()
        return db

    async def close(self) -> None:
        """Close the connection."""
        await self.conn.close()

    async def migrate(self) -> list[str]:
        """Apply every migration not yet applied; re-running is a no-op. Returns what ran."""
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        await self._snapshot_before(migrations())
        applied = []
        for version, name, sql in migrations():
            async with self.write() as conn:
                # Checked inside the write lock: two processes starting together apply once.
                async with conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ) as cur:
                    if await cur.fetchone():
                        continue
                for statement in _split_sql(sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, iso(self.clock.now())),
                )
            applied.append(name)
        return applied

    async def _snapshot_before(self, shipped: list[tuple[int, str, str]]) -> Path | None:
        """Copy the database (``storage.backup.snapshot``) before any migration touches it:
        only a database that exists (it has applied migrations) and has some pending; a new
        one has nothing to lose. Returns the copy's path, or None when none was needed."""
        if self.path == ":memory:":
            return None
        async with self.conn.execute("SELECT version FROM schema_migrations") as cur:
            done = {int(row[0]) for row in await cur.fetchall()}
        pending = [version for version, _, _ in shipped if version not in done]
        if not done or not pending:
            return None
        from storage.backup import snapshot

        copy = await asyncio.to_thread(snapshot, self.path, pending[0], self.clock.now())
        log.warning(
            "database %s: %d migration(s) pending (from %04d); its copy before them: %s",
            self.path, len(pending), pending[0], copy,
        )  # fmt: skip
        return copy

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on error."""
        if self._writer is not None and self._writer is asyncio.current_task():
            raise RuntimeError("write() inside write(): one transaction per unit of work")
        async with self._lock:
            await self._run("BEGIN IMMEDIATE")
            self._writer = asyncio.current_task()
            try:
                yield self.conn
            except BaseException:
                await self._run("ROLLBACK")
                raise
            else:
                await self._run("COMMIT")
                if (scope := SCOPE.get()) is not None:
                    scope.commits += 1
            finally:
                self._writer = None

    async def _run(self, sql: str) -> None:
        if isinstance(self.conn, InlineConnection):
            await self.conn.run(sql)
        else:
            await self.conn.execute(sql)

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[None]:
        if self._writer is not None and self._writer is asyncio.current_task():
            yield  # inside our own transaction: read it
            return
        async with self._lock:
            yield

    @contextmanager
    def on_thread(self) -> Iterator[None]:
        """Run this task's statements meanwhile on the connection's own thread, not the
        event loop's: for a statement that may take long (a report over an estate's cases),
        so that everyone else's updates go on while it runs."""
        token = _THREADED.set(True)
        try:
            yield
        finally:
            _THREADED.reset(token)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """One row of a read, or None."""
        async with self._reading():
            if isinstance(self.conn, InlineConnection):
                row: sqlite3.Row | None = await self.conn.fetch(sql, params, every=False)
                return row
            async with self.conn.execute(sql, params) as cur:
                return await cur.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Every row of a read."""
        async with self._reading():
            if isinstance(self.conn, InlineConnection):
                return list(await self.conn.fetch(sql, params, every=True))
            async with self.conn.execute(sql, params) as cur:
                return list(await cur.fetchall())


def _read_only_uri(path: str | Path) -> str:
    """SQLite's URI for opening ``path`` read-only."""
    return Path(path).absolute().as_uri() + "?mode=ro"


async def probe(path: str | Path) -> int:
    """Open the database read-only (no migration, no write) and return how many migrations
    it has applied: the health check's proof that the file is a readable Wuye database."""
    uri = _read_only_uri(path)
    async with aiosqlite.connect(uri, uri=True) as conn:
        await conn.execute("PRAGMA busy_timeout=5000")
        async with conn.execute("SELECT COUNT(*) FROM schema_migrations") as cur:
            row = await cur.fetchone()
    return int(row[0]) if row else 0


def _split_sql(script: str) -> Iterable[str]:
    """Split a migration into statements, keeping ``CREATE TRIGGER … END;`` whole."""
    buffer: list[str] = []
    for line in script.splitlines():
        if not buffer and (not line.strip() or line.strip().startswith("--")):
            continue
        buffer.append(line)
        statement = "\n".join(buffer)
        if sqlite3.complete_statement(statement):
            yield statement
            buffer = []
    if "".join(buffer).strip():
        yield "\n".join(buffer)
