"""PostgreSQL driver (production) on an asyncpg connection pool.

JSONB columns get a json codec on every pooled connection, so Python dicts/lists go in and come
out; TIMESTAMPTZ columns take and return aware datetimes (asyncpg returns them in UTC).
Concurrent `migrate()` calls, also from different processes or hosts, are serialised by a
session-level advisory lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from . import jsontext
from .driver import SCHEMA_MIGRATIONS_TABLE, Driver, Executor, Row
from .migrations import Dialect, Migration

# Arbitrary but fixed: "bitbylaw" in ASCII, as a signed 64-bit advisory lock key.
MIGRATION_LOCK_KEY = 0x62697462796C6177

_CREATE_SCHEMA_MIGRATIONS = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA_MIGRATIONS_TABLE} (
    name TEXT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL
)"""


def _passthrough(text: str) -> str:
    return text


async def _init_connection(conn: asyncpg.Connection) -> None:
    # The repository serialises (dump_json) so both engines raise the same error for bad input;
    # the codec only passes the JSON text through and parses it on the way out.
    await conn.set_type_codec("jsonb", encoder=_passthrough, decoder=jsontext.loads, schema="pg_catalog")


def _rows_affected(status: str) -> int:
    # asyncpg returns the command tag, e.g. "DELETE 3" or "INSERT 0 1".
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _ConnectionExecutor:
    """Executor over one connection (used inside a transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        return _rows_affected(await self._conn.execute(sql, *args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(r) for r in await self._conn.fetch(sql, *args)]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._conn.fetchrow(sql, *args)
        return dict(row) if row is not None else None


class PostgresDriver(Driver):
    dialect: Dialect = "postgres"

    def __init__(
        self, dsn: str, *, min_size: int = 1, max_size: int = 5, command_timeout: float = 60.0
    ) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            command_timeout=self._command_timeout,
            init=_init_connection,
        )

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    async def execute(self, sql: str, *args: Any) -> int:
        return _rows_affected(await self.pool.execute(sql, *args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(r) for r in await self.pool.fetch(sql, *args)]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self.pool.fetchrow(sql, *args)
        return dict(row) if row is not None else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield _ConnectionExecutor(conn)

    async def apply_migrations(self, migrations: Sequence[Migration], now: datetime) -> list[str]:
        async with self.pool.acquire() as conn:
            # Session lock: held across the per-migration transactions below.
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            try:
                return await self._apply_locked(conn, migrations, now)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)

    async def _apply_locked(
        self, conn: asyncpg.Connection, migrations: Sequence[Migration], now: datetime
    ) -> list[str]:
        await conn.execute(_CREATE_SCHEMA_MIGRATIONS)
        done = {r["name"] for r in await conn.fetch(f"SELECT name FROM {SCHEMA_MIGRATIONS_TABLE}")}
        applied: list[str] = []
        for migration in migrations:
            if migration.name in done:
                continue
            async with conn.transaction():
                # No arguments: asyncpg uses the simple protocol, which runs a whole script.
                await conn.execute(migration.sql)
                await conn.execute(
                    f"INSERT INTO {SCHEMA_MIGRATIONS_TABLE} (name, applied_at) VALUES ($1, $2)",
                    migration.name,
                    now,
                )
            applied.append(migration.name)
        return applied

    async def applied_migrations(self) -> list[str]:
        exists = await self.pool.fetchval("SELECT to_regclass($1) IS NOT NULL", SCHEMA_MIGRATIONS_TABLE)
        if not exists:
            return []
        rows = await self.pool.fetch(f"SELECT name FROM {SCHEMA_MIGRATIONS_TABLE} ORDER BY name")
        return [r["name"] for r in rows]

    def dump_json(self, value: Any) -> Any:
        return jsontext.dumps(value)

    def load_json(self, raw: Any) -> Any:
        return raw

    def dump_ts(self, value: datetime) -> Any:
        return value

    def load_ts(self, raw: Any) -> datetime:
        value: datetime = raw
        return value.astimezone(UTC)
