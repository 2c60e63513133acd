"""Crash between the Advoware POST and the EspoCRM write: the service process is killed after
Advoware stored the party; after a restart there is exactly one Advoware party for the record."""

from __future__ import annotations

import asyncio
import json
import signal

import aiohttp
import pytest

from tests.fixtures.espocrm_sim import start_espocrm_sim
from tests.fixtures.service_process import ServiceProcess, base_env, free_port, service_processes  # noqa: F401
from tests.steps.conftest import advoware_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def wait(predicate, timeout=30.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_killed_after_advoware_post_leaves_exactly_one_party(tmp_path, advoware_sim, service_processes):
    port = free_port()
    hooks = [
        (f"CBeteiligte.{a}", f"http://127.0.0.1:{port}/vmh/webhook/beteiligte/{a}", "crash-secret")
        for a in ("create", "update", "delete")
    ]
    async with start_espocrm_sim(subscriptions=hooks, webhook_delay_s=0.02) as espo:
        env = base_env(
            HTTP_PORT=str(port),
            ENGINE_DB_PATH=str(tmp_path / "engine.db"),
            DATABASE_URL=f"sqlite:///{tmp_path}/service.db",
            ESPOCRM_API_BASE_URL=espo.url,
            ESPOCRM_API_KEY=espo.config.api_key,
            ESPOCRM_WEBHOOK_SECRET="crash-secret",
            STEPS_DIRS=json.dumps(["steps"]),
            BETEILIGTE_LOCK_TTL_SECONDS="3",
            **advoware_settings(advoware_sim),
        )
        # Advoware stores the party, then holds the answer back long enough to kill the service.
        async with aiohttp.ClientSession() as s:
            rule = {
                "method": "POST",
                "route": "/api/v1/advonet/Beteiligte",
                "status": None,
                "count": 1,
                "latency_after_ms": 20000,
            }
            async with s.post(f"{advoware_sim.url}_admin/faults", json={"rules": [rule]}) as r:
                assert r.status == 200
        first = ServiceProcess(["run"], env, tmp_path / "first.log").start()
        service_processes.append(first)
        await asyncio.to_thread(first.wait_http, port)
        rec = await espo.create_as_user(
            "CBeteiligte", {"firstName": "Karl", "lastName": "Absturz", "assignedUserId": "user-anna"}
        )
        await wait(lambda: len(advoware_sim.state.parties) == 1)
        first.signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 10)
        assert not espo.state.get("CBeteiligte", rec["id"]).get("betnr")  # the link was never written

        second = ServiceProcess(["run"], env, tmp_path / "second.log").start()
        service_processes.append(second)
        await asyncio.to_thread(second.wait_http, port)
        await wait(lambda: espo.state.get("CBeteiligte", rec["id"]).get("syncStatus") == "clean", timeout=60)
        second.signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0
        (party,) = advoware_sim.state.parties.values()
        assert espo.state.get("CBeteiligte", rec["id"])["betnr"] == party.betNr
