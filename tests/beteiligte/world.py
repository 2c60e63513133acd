"""The world a party state machine drives: the real sync service with a SQLite service database
in a temp dir, in-memory EspoCRM and Advoware sharing one `Faults`, a fake clock and lock, all on
the machine's own event loop. Both machines (parties; Kommunikation and addresses) use it."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from datetime import UTC, datetime
from typing import Any

from services.beteiligte.ports import SyncSettings
from services.beteiligte.service import BeteiligteSyncService
from services.db import open_database
from services.sync.policy import RetryPolicy
from tests.beteiligte.fakes import FakeAdvoware, FakeEspo, Faults
from tests.beteiligte_service.conftest import FakeClock, MemoryLock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class ServiceWorld:
    step_no: int

    def open_world(self, prefix: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.db = self._run(open_database(f"sqlite:///{self.dir}/s.db").connect())
        self._run(self.db.migrate())
        self.clock, self.faults, self.step_no = FakeClock(START), Faults(), 0
        self.espo = FakeEspo(self.faults, lambda: self.step_no)
        self.advo = FakeAdvoware(self.faults)
        self.lock = MemoryLock(self.clock)
        settings = SyncSettings(admin_user_id="admin", retry=RetryPolicy(max_failures=10_000), lock_ttl_s=60)
        self.service = BeteiligteSyncService(self.espo, self.advo, self.db, self.lock, settings, self.clock)

    def close_world(self) -> None:
        self._run(self.db.close())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)
