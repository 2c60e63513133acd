"""The calendar sync against the three simulators over real HTTP (Advoware, Google, EspoCRM for
the notices), a SQLite service database in tmp_path, an in-memory lock and a clock the tests
move by hand. `CalEnv` is what a test drives: the service, the users of both systems (an
Advoware user editing Termine, the employee editing his Google calendar) and what to look at."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
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
from tests.fixtures.advoware_sim import AdvowareSim, advoware_sim  # noqa: F401
from tests.fixtures.espocrm_sim import EspoSimHandle, espocrm_sim  # noqa: F401
from tests.fixtures.google_sim import OWNER, GoogleSim, google_sim  # noqa: F401

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
        every retry delay between runs)."""
        outcome = await self.sync(kuerzel, **kw)
        for _ in range(runs):
            waiting = [m for m in await self.mappings(kuerzel) if m.status != "synced"]
            if outcome.status == "noop" and not waiting:
                return outcome
            self.clock.advance(minutes=10)
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


@pytest.fixture
async def holder() -> AsyncIterator[SessionHolder]:
    h = SessionHolder()
    yield h
    await h.close()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(f"sqlite:///{tmp_path}/s.db") as database:
        await database.migrate()
        yield database


@pytest.fixture
def cal_settings() -> CalendarSettings:
    return make_settings()


@pytest.fixture
async def cal(
    advoware_sim: AdvowareSim,  # noqa: F811
    google_sim: GoogleSim,  # noqa: F811
    espocrm_sim: EspoSimHandle,  # noqa: F811
    holder: SessionHolder,
    db: Database,
    cal_settings: CalendarSettings,
) -> CalEnv:
    for kuerzel, name in (("SB", "Beispiel"), ("AI", "Illing")):
        advoware_sim.state.add_employee(kuerzel, name, "Test")
    clock = FakeClock(START)
    lock = MemoryLock(clock)
    google = make_google_client(google_sim, holder, subject=OWNER)
    advoware = advoware_client(advoware_sim, holder)
    service = CalendarSyncService(
        google, advoware, espocrm_client(espocrm_sim, holder), db, lock, cal_settings, clock
    )
    user = advoware_client(advoware_sim, holder)
    return CalEnv(service, advoware_sim, google_sim, espocrm_sim, db, lock, clock, user, google)


async def until(predicate: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")
