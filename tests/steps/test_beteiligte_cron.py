"""The 15-minute cron step: every matching party gets a sync_check job — no cap, in batches —
and a second tick while they are still queued adds none (dedup key per party)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Settings
from engine.backends.base import queue_name
from engine.backends.embedded import EmbeddedBackend
from engine.context import ContextFactory
from engine.registry import load_steps
from engine.triggers import CronTrigger
from services.clients.session import close_shared_session
from tests.fixtures.espocrm_sim import start_espocrm_sim

ROOT = Path(__file__).resolve().parents[2]
QUEUE = queue_name("vmh.beteiligte.sync_check", "vmh-beteiligte-sync")
pytestmark = pytest.mark.timeout(60)


async def test_cron_enqueues_every_candidate_once(tmp_path):
    steps = [s for s in load_steps([ROOT / "steps"]) if s.flows == ["vmh"]]
    (cron_step,) = [s for s in steps if s.name == "vmh-beteiligte-cron"]
    async with start_espocrm_sim() as espo:
        await espo.seed(
            parties=1200, seed=3, status="pending_sync", with_addresses=False, with_bank_accounts=False
        )
        clean = await espo.create(
            "CBeteiligte",
            {"lastName": "Fertig", "syncStatus": "clean", "advowareLastSync": "2099-01-01 00:00:00"},
        )
        settings = Settings(
            _env_file=None,
            ESPOCRM_API_BASE_URL=espo.url,
            ESPOCRM_API_KEY=espo.config.api_key,  # type: ignore[call-arg]
            DATABASE_URL=f"sqlite:///{tmp_path}/s.db",
            ESPOCRM_MAX_REQUESTS_PER_SECOND=1000,
        )
        backend = EmbeddedBackend(tmp_path / "engine.db")
        await backend.connect()
        resources: dict = {"settings": settings}
        contexts = ContextFactory(backend, steps, resources)
        try:
            for _ in range(2):
                ctx = contexts.make(cron_step, cron_step.triggers_of(CronTrigger)[0], "tick")
                await cron_step.handler({"tick": 0, "catch_up": False}, ctx)
                (stats,) = await backend.queue_stats([QUEUE])
                assert stats.depth == 1200
            jobs = await backend.fetch(QUEUE, 2000, 30, "w")
            assert len({j.data["id"] for j in jobs}) == 1200 and clean["id"] not in {
                j.data["id"] for j in jobs
            }
        finally:
            await backend.close()
            await resources["db"].close()
            await close_shared_session()
