"""The party sync service against both simulators over real HTTP, with a SQLite service database
in tmp_path, an in-memory lock and a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from services.beteiligte.ports import SyncSettings
from services.beteiligte.service import BeteiligteSyncService
from services.clients import (
    AdvowareClient,
    AdvowareCredentials,
    EspoCrmClient,
    InMemoryTokenCache,
    RetryPolicy,
    SessionHolder,
)
from services.db import Database, open_database
from tests.fixtures.advoware_sim import AdvowareSim, advoware_sim  # noqa: F401
from tests.fixtures.espocrm_sim import EspoSimHandle, espocrm_sim  # noqa: F401

FAST_RETRY = RetryPolicy(max_tries=4, base_delay=0.001, max_delay=0.005)
ENTITY = "CBeteiligte"
ADMIN = "1"


class FakeClock:
    """Timezone-aware UTC; `advance` moves it (DECISIONS 19: no sleeping)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class MemoryLock:
    """The Lock port in memory: owner tokens and TTLs (against the fake clock)."""

    clock: FakeClock
    held: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    acquired: int = 0
    fail_release: bool = False

    async def acquire(self, key: str, ttl: float, owner: str | None = None) -> str | None:
        current = self.held.get(key)
        if current is not None and current[1] > self.clock():
            return None
        token = owner or uuid.uuid4().hex
        self.held[key] = (token, self.clock() + timedelta(seconds=ttl))
        self.acquired += 1
        return token

    async def extend(self, key: str, owner: str, ttl: float) -> bool:
        if self.held.get(key, ("",))[0] != owner:
            return False
        self.held[key] = (owner, self.clock() + timedelta(seconds=ttl))
        return True

    async def release(self, key: str, token: str) -> bool:
        if self.fail_release:
            raise ConnectionError("lock backend gone")
        if self.held.get(key, ("",))[0] != token:
            return False
        del self.held[key]
        return True


def advoware_client(sim: AdvowareSim, holder: SessionHolder) -> AdvowareClient:
    cfg = sim.config
    creds = AdvowareCredentials(
        app_id=cfg.app_id,
        api_key_b64=SecretStr(cfg.api_key_b64),
        kanzlei=cfg.kanzlei,
        database=cfg.database,
        user=cfg.user,
        password=SecretStr(cfg.password),
        role=cfg.role,
        product=cfg.product,
    )
    return AdvowareClient(
        base_url=sim.url,
        token_url=sim.url + "api/v1/Token",
        credentials=creds,
        session=holder,
        token_cache=InMemoryTokenCache(),
        retry=FAST_RETRY,
        max_requests_per_second=0,
        timeout_s=5.0,
    )


def espocrm_client(sim: EspoSimHandle, holder: SessionHolder) -> EspoCrmClient:
    return EspoCrmClient(
        base_url=sim.url,
        api_key=SecretStr(sim.config.api_key),
        session=holder,
        retry=FAST_RETRY,
        max_requests_per_second=0,
        timeout_s=5.0,
    )


@dataclass
class Env:
    """Everything a test needs: the service and handles on both simulators, DB, lock, clock."""

    service: BeteiligteSyncService
    espo_sim: EspoSimHandle
    advo_sim: AdvowareSim
    db: Database
    lock: MemoryLock
    clock: FakeClock

    async def handle(self, entity_id: str, action: str = "sync_check", **kw: Any) -> Any:
        trigger = kw.pop("trigger", "vmh.beteiligte.sync_check" if action == "sync_check" else "webhook")
        return await self.service.handle(entity_id, action, trigger=trigger, trace_id="t-" + entity_id, **kw)  # type: ignore[arg-type]

    async def record(self, entity_id: str) -> dict[str, Any]:
        return await self.espo_sim.get(ENTITY, entity_id)

    async def new_person(self, **fields: Any) -> str:
        data = {
            "firstName": "Max",
            "lastName": "Mustermann",
            "anrede": "Herr",
            "rechtsform": "Privatperson",
            "dateOfBirth": "1980-05-17",
            "assignedUserId": "user-anna",
            **fields,
        }
        return str((await self.espo_sim.create(ENTITY, data))["id"])

    async def new_company(self, **fields: Any) -> str:
        data = {
            "firmenname": "Beispiel Bau GmbH",
            "rechtsform": "GmbH",
            "handelsregisterNummer": "HRB 4711",
            "registergericht": "AG Köln",
            "assignedUserId": "user-bernd",
            **fields,
        }
        return str((await self.espo_sim.create(ENTITY, data))["id"])

    def advo_calls(self) -> dict[tuple[str, str], int]:
        """Data calls the Advoware simulator saw, per (method, route); token requests left out."""
        out: dict[tuple[str, str], int] = {}
        for (m, r, _s), n in self.advo_sim.calls().items():
            if not r.endswith("/Token"):
                out[(m, r)] = out.get((m, r), 0) + n
        return out

    def espo_calls(self) -> dict[tuple[str, str], int]:
        """EspoCRM data calls; POSTs are left out: the service POSTs only notifications (not data
        calls, DECISIONS 11), and the simulator counts them under the generic `{entity}` route."""
        out: dict[tuple[str, str], int] = {}
        for (m, r, _s), n in self.espo_sim.calls().items():
            if m != "POST":
                out[(m, r)] = out.get((m, r), 0) + n
        return out

    def data_calls(self) -> dict[str, int]:
        """{"advoware_read": n, …} from both simulators' counters."""
        out = {"advoware_read": 0, "advoware_write": 0, "espocrm_read": 0, "espocrm_write": 0}
        for system, calls in (("advoware", self.advo_calls()), ("espocrm", self.espo_calls())):
            for (m, _r), n in calls.items():
                out[f"{system}_{'read' if m == 'GET' else 'write'}"] += n
        return out

    def reset_counters(self) -> None:
        self.advo_sim.core.calls.clear()
        self.espo_sim.app["core"].calls.clear()

    async def notifications(self, user: str | None = None) -> list[dict[str, Any]]:
        params = None
        if user:
            params = {"where[0][type]": "equals", "where[0][attribute]": "userId", "where[0][value]": user}
        body = await self.espo_sim.list("Notification", params=params)
        return list(body["list"])

    def advo_parties(self) -> dict[int, Any]:
        return dict(self.advo_sim.state.parties)

    async def advo_party(self, betnr: int) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as s,
            s.get(
                f"{self.advo_sim.url}api/v1/advonet/Beteiligte/{betnr}",
                headers=await self.advo_sim.auth_headers(),
            ) as r,
        ):
            assert r.status == 200
            body = await r.json()
            return body[0] if isinstance(body, list) else body

    async def advo_put(self, betnr: int, fields: dict[str, Any]) -> dict[str, Any]:
        """An edit by a user of Advoware (through the API; the rowId changes)."""
        async with (
            aiohttp.ClientSession() as s,
            s.put(
                f"{self.advo_sim.url}api/v1/advonet/Beteiligte/{betnr}",
                json=fields,
                headers=await self.advo_sim.auth_headers(),
            ) as r,
        ):
            assert r.status == 200, await r.text()
            return (await r.json())[0]

    async def advo_post(self, fields: dict[str, Any]) -> int:
        async with (
            aiohttp.ClientSession() as s,
            s.post(
                f"{self.advo_sim.url}api/v1/advonet/Beteiligte",
                json=fields,
                headers=await self.advo_sim.auth_headers(),
            ) as r,
        ):
            assert r.status in (200, 201), await r.text()
            return int((await r.json())["betNr"])

    async def faults(self, sim: str, body: dict[str, Any]) -> None:
        root = self.advo_sim.url.rstrip("/") if sim == "advoware" else self.espo_sim.root
        async with aiohttp.ClientSession() as s, s.post(root + "/_admin/faults", json=body) as r:
            assert r.status < 300


def make_settings(**overrides: Any) -> SyncSettings:
    return SyncSettings(**{"admin_user_id": ADMIN, **overrides})


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
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sync_settings() -> SyncSettings:
    return make_settings()


@pytest.fixture
async def env(
    advoware_sim: AdvowareSim,  # noqa: F811
    espocrm_sim: EspoSimHandle,  # noqa: F811
    holder: SessionHolder,
    db: Database,
    clock: FakeClock,
    sync_settings: SyncSettings,
) -> Env:
    lock = MemoryLock(clock)
    service = BeteiligteSyncService(
        espocrm_client(espocrm_sim, holder),
        advoware_client(advoware_sim, holder),
        db,
        lock,
        sync_settings,
        clock,
    )
    return Env(service, espocrm_sim, advoware_sim, db, lock, clock)


async def gather_limited(limit: int, coros: list[Any]) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros), return_exceptions=True)
