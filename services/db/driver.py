"""The engine-neutral driver interface the repository is written against.

SQL is written once, in PostgreSQL's `$1, $2` placeholder style; the SQLite driver rewrites the
placeholders. Column values cross the boundary through four codecs (JSON and timestamps), so the
repository hands the same Python values to both engines and gets the same values back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from .migrations import Dialect, Migration

Row = dict[str, Any]

# Created by the drivers before the first migration; not part of any migration file.
SCHEMA_MIGRATIONS_TABLE = "schema_migrations"


class Executor(Protocol):
    """Runs SQL: the driver itself, or one open transaction."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; returns the number of rows it affected."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...


class Driver(ABC):
    """One database engine: connection handling, SQL execution, codecs, migrations."""

    dialect: Dialect

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int: ...

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    @abstractmethod
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """All statements run through the yielded executor commit or roll back together.

        Inside the block use only the yielded executor: on SQLite the driver itself waits for
        the transaction to end, so calling it there would deadlock.
        """

    @abstractmethod
    async def apply_migrations(self, migrations: Sequence[Migration], now: datetime) -> list[str]:
        """Apply the migrations not yet recorded, safely against concurrent callers."""

    @abstractmethod
    async def applied_migrations(self) -> list[str]: ...

    # -- codecs: Python value <-> column value ------------------------------------------------

    @abstractmethod
    def dump_json(self, value: Any) -> Any: ...

    @abstractmethod
    def load_json(self, raw: Any) -> Any: ...

    @abstractmethod
    def dump_ts(self, value: datetime) -> Any:
        """`value` must already be UTC (see clock.require_utc)."""

    @abstractmethod
    def load_ts(self, raw: Any) -> datetime: ...
