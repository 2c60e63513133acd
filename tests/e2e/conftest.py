"""The whole service in one process against the simulators over real HTTP: EspoCRM's own
webhook sender calls the service, the service calls Advoware and EspoCRM."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from engine.context import Emit, Subscriptions, enqueue_emits
from engine.runtime import Engine
from services.webhook_subscriptions import wanted_subscriptions
from tests.fixtures.espocrm_sim import EspoSimHandle, start_espocrm_sim
from tests.fixtures.service_process import free_port
from tests.steps.conftest import advoware_settings, start_service

HOOK_SECRET = "e2e-hook-secret"


@dataclass
class World:
    engine: Engine
    espo: EspoSimHandle
    advo: Any
    session: aiohttp.ClientSession
    own_espo_calls: int = 0  # calls the test itself made as a human user (not the service's)

    async def user_create(self, data: dict[str, Any]) -> dict[str, Any]:
        self.own_espo_calls += 1
        return await self.espo.create_as_user("CBeteiligte", data)

    async def user_update(self, entity_id: str, data: dict[str, Any]) -> dict[str, Any]:
        self.own_espo_calls += 1
        return await self.espo.update_as_user("CBeteiligte", entity_id, data)

    async def user_delete(self, entity_id: str) -> None:
        self.own_espo_calls += 1
        await self.espo.delete_as_user("CBeteiligte", entity_id)

    def record(self, entity_id: str) -> dict[str, Any]:
        return dict(self.espo.state.get("CBeteiligte", entity_id) or {})

    def advo_parties(self) -> list[dict[str, Any]]:
        return [{"betNr": p.betNr, "rowId": p.rowId, **p.values} for p in self.advo.state.parties.values()]

    async def advo_get(self, betnr: int) -> tuple[int, Any]:
        headers = await self.advo.auth_headers()
        async with self.session.get(
            f"{self.advo.url}api/v1/advonet/Beteiligte/{betnr}", headers=headers
        ) as r:
            return r.status, await r.json()

    async def advo_put(self, betnr: int, changes: dict[str, Any]) -> dict[str, Any]:
        _, body = await self.advo_get(betnr)
        headers = await self.advo.auth_headers()
        async with self.session.put(
            f"{self.advo.url}api/v1/advonet/Beteiligte/{betnr}", json={**body[0], **changes}, headers=headers
        ) as r:
            assert r.status == 200
            return (await r.json())[0]

    async def sync_check(self, entity_id: str) -> None:
        """What the 15-minute cron does for one record."""
        subs = Subscriptions(self.engine.steps)
        await enqueue_emits(
            self.engine.backend, subs, [Emit("vmh.beteiligte.sync_check", {"id": entity_id})], "e2e"
        )

    async def wait(self, predicate, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("condition not met in time")

    async def drained(self, timeout: float = 15.0) -> None:
        from engine.runtime import all_queues

        names = all_queues(self.engine.steps)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stats = await self.engine.backend.queue_stats(names)
            if all(s.depth == 0 and s.in_flight == 0 and s.delayed == 0 for s in stats):
                if not (await self.espo.webhooks()).get("queue"):
                    return
            await asyncio.sleep(0.05)
        raise AssertionError("queues did not drain")

    def data_calls(self) -> dict[str, int]:
        adv = sum(n for (m, route, s), n in self.advo.calls().items() if "Token" not in route)
        espo = sum(n for (m, route, s), n in self.espo.calls().items() if "Notification" not in route)
        return {"advoware": adv, "espocrm": espo - self.own_espo_calls}

    def notifications(self) -> list[dict[str, Any]]:
        table = self.espo.state.tables.get("Notification", {})
        return list(table.values())


@pytest.fixture
async def world(tmp_path, advoware_sim):
    port = free_port()
    # the service's own subscription table: CBeteiligte and CAdressen, each create/update/delete
    hooks = [(w.event, w.url, HOOK_SECRET) for w in wanted_subscriptions(f"http://127.0.0.1:{port}")]
    async with start_espocrm_sim(subscriptions=hooks, webhook_delay_s=0.02) as espo:
        engine = await start_service(
            tmp_path,
            port=port,
            ESPOCRM_API_BASE_URL=espo.url,
            ESPOCRM_API_KEY=espo.config.api_key,
            ESPOCRM_WEBHOOK_SECRET=HOOK_SECRET,
            DATABASE_URL=f"sqlite:///{tmp_path}/service.db",
            ESPOCRM_ADMIN_USER_ID=espo.config.admin_user_id,
            **advoware_settings(advoware_sim),
        )
        try:
            async with aiohttp.ClientSession() as session:
                yield World(engine, espo, advoware_sim, session)
        finally:
            await engine.stop()
