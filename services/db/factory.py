"""Opening the service database from its URL (`DATABASE_URL`), and `bitbylaw db migrate`.

- `postgresql://user@host:5432/db` (also `postgres://`; query parameters go to asyncpg)
- `sqlite:///data/service.db`: relative to the working directory (parent dir is created)
- `sqlite:////var/lib/bitbylaw/service.db`: absolute (four slashes)
- `sqlite:///:memory:`: a private in-memory database (tests)
"""

from __future__ import annotations

from .clock import Clock, utc_now
from .database import Database
from .driver import Driver
from .postgres import PostgresDriver
from .sqlite import SqliteDriver

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_SQLITE_PREFIX = "sqlite:///"


def make_driver(
    url: str, *, pool_min_size: int = 1, pool_max_size: int = 5, sqlite_busy_timeout: float = 30.0
) -> Driver:
    """The driver for `url`; raises ValueError for an unknown scheme."""
    if url.startswith(_POSTGRES_SCHEMES):
        if not 1 <= pool_min_size <= pool_max_size:
            raise ValueError(f"need 1 <= pool_min_size <= pool_max_size, got {pool_min_size}/{pool_max_size}")
        return PostgresDriver(url, min_size=pool_min_size, max_size=pool_max_size)
    if url.startswith(_SQLITE_PREFIX):
        path = url.removeprefix(_SQLITE_PREFIX)
        if not path:
            raise ValueError(f"no file path in database URL {url!r}")
        return SqliteDriver(path, busy_timeout=sqlite_busy_timeout)
    raise ValueError(
        "unsupported database URL: expected postgresql://user@host:port/db or sqlite:///path.db, "
        f"got {_redact(url)!r}"
    )


def open_database(
    url: str,
    *,
    show_values: bool = False,
    pool_min_size: int = 1,
    pool_max_size: int = 5,
    sqlite_busy_timeout: float = 30.0,
    clock: Clock = utc_now,
) -> Database:
    """A `Database` for `url`, connected by `await` or `async with` (not yet by this call)."""
    driver = make_driver(
        url,
        pool_min_size=pool_min_size,
        pool_max_size=pool_max_size,
        sqlite_busy_timeout=sqlite_busy_timeout,
    )
    return Database(driver, show_values=show_values, clock=clock)


async def migrate_url(url: str) -> list[str]:
    """`bitbylaw db migrate`: apply pending migrations to `url`; returns the applied names."""
    async with open_database(url, pool_max_size=1) as db:
        return await db.migrate()


def _redact(url: str) -> str:
    # A URL may carry a password (user:secret@host); never echo it in an error.
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
