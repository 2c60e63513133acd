"""The calendar sync against the three simulators over real HTTP (Advoware, Google, EspoCRM for
the notices), a SQLite service database in tmp_path, an in-memory lock and a clock the tests
move by hand. `CalEnv` is what a test drives: the service, the users of both systems (an
Advoware user editing Termine, the employee editing his Google calendar) and what to look at."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.calendar.ports import CalendarSettings, EmployeeOutcome
from services.calendar.service import CalendarSyncService
from services.clients import AdvowareClient, GoogleCalendarClient, SessionHolder
from services.db import Database, open_database
from services.sync.policy import RetryPolicy
from tests.beteiligte_service.conftest import FakeClock, MemoryLock, advoware_client, espocrm_client
from tests.clients.conftest import make_google_client
from tests.fixtures.advoware_sim import AdvowareSim, start_advoware_sim
from tests.fixtures.espocrm_sim import EspoSimHandle, start_espocrm_sim
from tests.fixtures.google_sim import OWNER, GoogleSim, start_google_sim

ADMIN = "1"
SB_USER = "user-sabine"
# Monday 2 March 2026, 08:00 UTC: the window runs from 31 January 2026 to 2 March 2027.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def make_settings(**overrides: Any) -> CalendarSettings:
    values: dict[str, Any] = {
        "admin_user_id": ADMIN,
        "notify_users": {"SB": SB_USER},
        "owner": OWNER,
        "lock_retry_initial_s": 0.01,
        "lock_retry_max_s": 0.05,
        "retry": RetryPolicy(schedule_minutes=(1, 5), max_failures=3),
    }
    return CalendarSettings(**{**values, **overrides})


@dataclass
class CalEnv:
    service: CalendarSyncService
    advo_sim: AdvowareSim
    google_sim: GoogleSim
    espo_sim: EspoSimHandle
    db: Database
    lock: MemoryLock
    clock: FakeClock
    advoware: AdvowareClient  # an Advoware user (the same API the service uses)
    owner: GoogleCalendarClient  # the calendar owner's account (what a user with access sees)

    async def sync(self, kuerzel: str = "SB", **kw: Any) -> EmployeeOutcome:
        kw.setdefault("trigger", "test")
        kw.setdefault("trace_id", "t" * 32)
        return await self.service.sync_employee(kuerzel, **kw)

    async def converge(self, kuerzel: str = "SB", runs: int = 8, **kw: Any) -> EmployeeOutcome:
        """Sync until a run writes nothing and no mapping waits for a retry (the clock moved past
        every retry delay between runs; with nothing else to do, to the next retry time, which
        may be the auto-reset of a mapping that used up its tries)."""
        outcome = await self.sync(kuerzel, **kw)
        for _ in range(runs):
            waiting = [m for m in await self.mappings(kuerzel) if m.status != "synced"]
            if outcome.status == "noop" and not waiting:
                return outcome
            due = [m.next_retry_at for m in waiting if m.next_retry_at is not None]
            step = timedelta(minutes=10)
            if outcome.status == "noop" and due:
                step = max(step, min(due) - self.clock())
            self.clock.advance(seconds=step.total_seconds())
            outcome = await self.sync(kuerzel, **kw)
        return outcome

    # -- Advoware's side ----------------------------------------------------------------------
    async def termin(self, **fields: Any) -> int:
        created = await self.advoware.create_termin({"kuerzel": "SB", "text": "Besprechung", **fields})
        return int(created["frNr"])

    def termine(self, kuerzel: str = "SB") -> dict[int, dict[str, Any]]:
        return {
            f: t.to_api()
            for f, t in self.advo_sim.state.termine.items()
            if t.values.get("kuerzel") == kuerzel
        }

    # -- Google's side ------------------------------------------------------------------------
    async def calendar_id(self, kuerzel: str = "SB") -> str:
        state = await self.db.get_calendar_employee(kuerzel)
        assert state is not None and state.calendar_id
        return state.calendar_id

    async def events(self, kuerzel: str = "SB") -> dict[str, dict[str, Any]]:
        """The calendar's live events (masters and singles; no instances)."""
        listing = await self.owner.list_events(await self.calendar_id(kuerzel))
        return {e["id"]: e for e in listing.items if not e.get("recurringEventId")}

    def google_calls(self) -> Counter[str]:
        return _by_route(self.google_sim.calls())

    def advo_calls(self) -> Counter[str]:
        return _by_route(dict(self.advo_sim.core.calls))

    def writes(self) -> int:
        data = [*self.google_calls().items(), *self.advo_calls().items()]
        return sum(n for k, n in data if k.split()[0] in WRITES and "/token" not in k.lower())

    def reset_counters(self) -> None:
        self.google_sim.core.calls.clear()
        self.advo_sim.core.calls.clear()

    async def notices(self, kind: str | None = None) -> list[dict[str, Any]]:
        body = await self.espo_sim.list("Notification", params={"maxSize": 200})
        found = [n for n in body["list"] if (n.get("data") or {}).get("entity") == "Calendar"]
        return [n for n in found if kind is None or n["data"].get("kind") == kind]

    async def mappings(self, kuerzel: str = "SB") -> list[Any]:
        return await self.db.list_calendar_mappings(kuerzel)


def _by_route(calls: dict[tuple[str, str, int], int]) -> Counter[str]:
    out: Counter[str] = Counter()
    for (method, route, _status), n in calls.items():
        out[f"{method} {route}"] += n
    return out


@contextlib.asynccontextmanager
async def calendar_env(data_dir: Path, settings: CalendarSettings) -> AsyncIterator[CalEnv]:
    """The three simulators on free ports, a SQLite service database in `data_dir`, the service."""
    async with contextlib.AsyncExitStack() as stack:
        advo_sim = await stack.enter_async_context(start_advoware_sim())
        espo_sim = await stack.enter_async_context(start_espocrm_sim())
        google_sim = await start_google_sim()
        stack.push_async_callback(google_sim.running.stop)
        holder = SessionHolder()
        stack.push_async_callback(holder.close)
        db = await stack.enter_async_context(open_database(f"sqlite:///{data_dir}/s.db"))
        await db.migrate()
        for kuerzel, name in (("SB", "Beispiel"), ("AI", "Illing")):
            advo_sim.state.add_employee(kuerzel, name, "Test")
        clock = FakeClock(START)
        lock = MemoryLock(clock)
        google = make_google_client(google_sim, holder, subject=OWNER)
        espo = espocrm_client(espo_sim, holder)
        service = CalendarSyncService(
            google, advoware_client(advo_sim, holder), espo, db, lock, settings, clock
        )
        user = advoware_client(advo_sim, holder)
        yield CalEnv(service, advo_sim, google_sim, espo_sim, db, lock, clock, user, google)


@pytest.fixture
def cal_settings() -> CalendarSettings:
    return make_settings()


@pytest.fixture
async def cal(tmp_path: Path, cal_settings: CalendarSettings) -> AsyncIterator[CalEnv]:
    async with calendar_env(tmp_path, cal_settings) as env:
        yield env


async def until(predicate: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")
