"""SQLite driver (embedded mode): stdlib sqlite3 on one dedicated worker thread, WAL mode.

One connection, one thread: every call runs on that thread (so the event loop never blocks
on disk I/O) and an asyncio lock, held while a transaction is open, keeps other coroutines'
statements out of it on the shared connection. The thread is fed through a plain queue and
answers with one `call_soon_threadsafe`: a sync run makes about ten such round trips, and a
`ThreadPoolExecutor` hop costs a third more CPU (its own future, locks and callbacks).
`synchronous=FULL`: a create intent must survive a power cut, or a retry could POST the party
twice. Another process (the CLI next to a running service) may open the same file;
`busy_timeout` makes writers wait instead of failing, and `BEGIN IMMEDIATE` serialises
concurrent migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from . import jsontext
from .driver import SCHEMA_MIGRATIONS_TABLE, Driver, Executor, Row
from .migrations import Dialect, Migration, split_sqlite_statements

T = TypeVar("T")
MEMORY = ":memory:"
_PLACEHOLDER = re.compile(r"\$(\d+)")
# Fixed width (always microseconds, always +00:00): text order equals time order.
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"

_CREATE_SCHEMA_MIGRATIONS = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA_MIGRATIONS_TABLE} (
    name TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
)"""


@functools.lru_cache(maxsize=256)
def to_sqlite_placeholders(sql: str) -> str:
    """`$1` → `?1` (SQLite's numbered parameters bind by position like PostgreSQL's)."""
    return _PLACEHOLDER.sub(r"?\1", sql)


def _execute(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> int:
    return conn.execute(to_sqlite_placeholders(sql), tuple(args)).rowcount


def _fetch(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[Row]:
    cursor = conn.execute(to_sqlite_placeholders(sql), tuple(args))
    return [dict(row) for row in cursor.fetchall()]


def _rollback_if_open(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class _DatabaseThread:
    """One thread running functions for the event loop, one at a time, in submission order."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, fn, args))
        return future

    def shutdown(self) -> None:
        """Runs what was submitted, then ends the thread (blocks until it has)."""
        self._queue.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            loop, future, fn, args = item
            if future.cancelled():  # given up before it started: never run it
                continue
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn(*args)
            except BaseException as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _ThreadExecutor:
    """Executor bound to the driver's thread without taking its lock (inside a transaction)."""

    def __init__(self, driver: SqliteDriver) -> None:
        self._driver = driver

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._driver.run(_execute, sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._driver.run(_fetch, sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self._driver.run(_fetch, sql, args)
        return rows[0] if rows else None


class SqliteDriver(Driver):
    dialect: Dialect = "sqlite"

    def __init__(self, path: str, *, busy_timeout: float = 30.0) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._thread: _DatabaseThread | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def path(self) -> str:
        return self._path

    async def open(self) -> None:
        self._thread = _DatabaseThread("bitbylaw-sqlite")
        self._conn = await self._on_thread(self._connect)

    def _connect(self) -> sqlite3.Connection:
        if self._path != MEMORY:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit; transactions are explicit BEGIN/COMMIT.
        conn = sqlite3.connect(
            self._path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        if self._path != MEMORY:
            _enable_wal(conn)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    async def close(self) -> None:
        if self._thread is None:
            return
        thread, self._thread = self._thread, None
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                await thread.submit(conn.close)
        finally:
            thread.shutdown()

    async def _on_thread(self, fn: Callable[..., T], *args: Any) -> T:
        if self._thread is None:
            raise RuntimeError("database is not open")
        return await self._thread.submit(fn, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on the database thread."""
        if self._conn is None:
            raise RuntimeError("database is not open")
        return await self._on_thread(fn, self._conn, *args)

    async def _outside_transactions(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a statement that is no part of a transaction. It waits only while one is open:
        the thread runs what it is given in order, so a statement submitted now runs before any
        later BEGIN. (Holding the lock for every statement made each wait for the event loop to
        resume the previous caller; with four concurrent syncs that queue was most of a run's
        time in the database.)"""
        if self._lock.locked():
            async with self._lock:
                return await self.run(fn, *args)
        return await self.run(fn, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._outside_transactions(_execute, sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._outside_transactions(_fetch, sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._lock:
            try:
                await self.run(_execute, "BEGIN IMMEDIATE", ())
                yield _ThreadExecutor(self)
                await self.run(_execute, "COMMIT", ())
            except BaseException:
                # Also after a cancelled BEGIN/COMMIT: the thread may still have run it, and
                # the shared connection must never be left inside an open transaction.
                await self.run(_rollback_if_open)
                raise

    async def apply_migrations(self, migrations: Sequence[Migration], now: datetime) -> list[str]:
        async with self._lock:
            return await self.run(_apply_migrations, list(migrations), self.dump_ts(now))

    async def applied_migrations(self) -> list[str]:
        exists = await self.fetch(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", SCHEMA_MIGRATIONS_TABLE
        )
        if not exists:
            return []
        rows = await self.fetch(f"SELECT name FROM {SCHEMA_MIGRATIONS_TABLE} ORDER BY name")
        return [r["name"] for r in rows]

    def dump_json(self, value: Any) -> Any:
        return jsontext.dumps(value)

    def load_json(self, raw: Any) -> Any:
        return jsontext.loads(raw)

    def dump_ts(self, value: datetime) -> Any:
        return value.astimezone(UTC).strftime(_TS_FORMAT)

    def load_ts(self, raw: Any) -> datetime:
        return datetime.fromisoformat(raw).astimezone(UTC)


def _apply_migrations(conn: sqlite3.Connection, migrations: list[Migration], now: str) -> list[str]:
    """All pending migrations in one write transaction (runs on the database thread).

    BEGIN IMMEDIATE takes the write lock before reading `schema_migrations`, so a second process
    migrating at the same time waits (busy_timeout) and then sees everything already applied.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_CREATE_SCHEMA_MIGRATIONS)
        done = {row[0] for row in conn.execute(f"SELECT name FROM {SCHEMA_MIGRATIONS_TABLE}")}
        applied = []
        for migration in migrations:
            if migration.name in done:
                continue
            for statement in split_sqlite_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {SCHEMA_MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                (migration.name, now),
            )
            applied.append(migration.name)
        conn.execute("COMMIT")
    except BaseException:
        _rollback_if_open(conn)
        raise
    return applied


def _enable_wal(conn: sqlite3.Connection, tries: int = 100) -> None:
    """Switching a new file to WAL needs a moment of exclusive access, and SQLite answers a
    concurrent switch with `database is locked` at once instead of waiting on busy_timeout
    (two processes opening a fresh file together). Retry briefly."""
    for attempt in range(tries):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05)
