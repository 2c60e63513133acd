"""`Database`: the service database's one async interface, the same for both engines.

Composed of one store per table group (snapshots, intents, audit, notifications); later issues
add their stores (e.g. the calendar mapping) the same way. Open it with `open_database(url)`:

    async with open_database(url) as db:       # or: db = await open_database(url) ... await db.close()
        await db.migrate()
"""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import Any

from .audit import AuditStore
from .bank_accounts import BankAccountStore
from .blocks import BlockStore
from .calendar import CalendarStore
from .clock import Clock, utc_now
from .driver import Driver
from .intents import IntentStore
from .migrations import Dialect, load_migrations
from .notifications import NotificationStore
from .run_state import PartyRunStateStore
from .snapshots import PartySnapshotStore


class Database(
    PartyRunStateStore,
    PartySnapshotStore,
    IntentStore,
    AuditStore,
    NotificationStore,
    BlockStore,
    CalendarStore,
    BankAccountStore,
):
    def __init__(self, driver: Driver, *, show_values: bool = False, clock: Clock = utc_now) -> None:
        self._driver = driver
        # Audit values in clear text only when the firm's operators asked for it (DECISIONS 17).
        self.show_values = show_values
        # Injectable so tests can age records without sleeping (DECISIONS 19).
        self.clock = clock
        self._open = False

    @property
    def dialect(self) -> Dialect:
        return self._driver.dialect

    @property
    def is_open(self) -> bool:
        return self._open

    async def connect(self) -> Database:
        """Open the connection (pool); idempotent."""
        if not self._open:
            await self._driver.open()
            self._open = True
        return self

    async def close(self) -> None:
        if self._open:
            self._open = False
            await self._driver.close()

    def __await__(self) -> Generator[Any, None, Database]:
        return self.connect().__await__()

    async def __aenter__(self) -> Database:
        return await self.connect()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def migrate(self) -> list[str]:
        """Apply pending migrations; returns their names ([] when up to date).

        Safe to run from several processes at once (advisory lock / BEGIN IMMEDIATE).
        """
        return await self._driver.apply_migrations(load_migrations(self.dialect), self._now())

    async def applied_migrations(self) -> list[str]:
        return await self._driver.applied_migrations()

    async def pending_migrations(self) -> list[str]:
        done = set(await self.applied_migrations())
        return [m.name for m in load_migrations(self.dialect) if m.name not in done]
