"""The bank account steps as the engine runs them (their handlers with real contexts, the
simulators behind): the cron enqueues `vmh.bankverbindungen.sync_check` for exactly the accounts
that need one, once; the account step, finding the party without a `betnr`, enqueues the party's
check and runs the account again later — at most BANK_PARTY_WAIT_MAX_TRIES times, then the
account is `failed` "party not yet in Advoware" and nothing more is queued (SYNC_RULES §4)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from engine.backends.base import queue_name
from engine.backends.embedded import EmbeddedBackend
from engine.context import ContextFactory
from engine.registry import load_steps
from engine.triggers import CronTrigger, QueueTrigger
from services.clients.session import close_shared_session
from tests.fixtures.espocrm_sim import start_espocrm_sim
from tests.steps.conftest import advoware_settings

ROOT = Path(__file__).resolve().parents[2]
BANK = "CBankverbindungen"
STEP = "vmh-bankverbindungen-sync"
IBAN = "DE89370400440532013000"
pytestmark = pytest.mark.timeout(60)


@contextlib.asynccontextmanager
async def world(tmp_path: Path, advoware_sim: Any) -> AsyncIterator[tuple[Any, Any, Any, Any]]:
    steps = [s for s in load_steps([ROOT / "steps"]) if s.flows == ["vmh"]]
    async with start_espocrm_sim() as espo:
        settings = Settings(
            _env_file=None,
            ESPOCRM_API_BASE_URL=espo.url,
            ESPOCRM_API_KEY=espo.config.api_key,  # type: ignore[call-arg]
            DATABASE_URL=f"sqlite:///{tmp_path}/s.db",
            BANK_PARTY_WAIT_SECONDS=0.1,
            BANK_PARTY_WAIT_MAX_TRIES=2,
            **advoware_settings(advoware_sim),
        )
        backend = EmbeddedBackend(tmp_path / "engine.db")
        await backend.connect()
        resources: dict[str, Any] = {"settings": settings}
        try:
            yield espo, backend, {s.name: s for s in steps}, ContextFactory(backend, steps, resources)
        finally:
            await backend.close()
            if "db" in resources:
                await resources["db"].close()
            await close_shared_session()


async def jobs(backend: Any, topic: str, step: str) -> list[Any]:
    """The due jobs, started as the worker starts them (their dedup key released), and acked."""
    fetched = list(await backend.fetch(queue_name(topic, step), 100, 30, "w"))
    for job in fetched:
        if job.dedup_key:
            await backend.release_dedup(job.queue, job.dedup_key)
    await backend.ack(fetched)
    return fetched


async def test_the_cron_enqueues_the_accounts_that_need_a_sync_once(tmp_path, advoware_sim):
    async with world(tmp_path, advoware_sim) as (espo, backend, steps, contexts):
        party = await espo.create("CBeteiligte", {"lastName": "Konto", "syncStatus": "clean",
                                                   "advowareLastSync": "2099-01-01 00:00:00"})  # fmt: skip
        states = {
            "pending": {"syncStatus": "pending_sync"},
            "dirty": {"syncStatus": "dirty"},
            "failed_due": {"syncStatus": "failed", "syncRetryCount": 1, "syncNextRetry": "2000-01-01 00:00:00"},
            "failed_later": {"syncStatus": "failed", "syncRetryCount": 1, "syncNextRetry": "2099-01-01 00:00:00"},
            "clean": {"syncStatus": "clean", "advowareLastSync": "2099-01-01 00:00:00"},
        }  # fmt: skip
        ids = {}
        for name, fields in states.items():
            record = await espo.create(BANK, {"iban": IBAN, "beteiligteId": party["id"], **fields})
            ids[record["id"]] = name
        cron = steps["vmh-beteiligte-cron"]
        for _ in range(2):  # a second tick while they are queued adds none
            ctx = contexts.make(cron, cron.triggers_of(CronTrigger)[0], "tick")
            await cron.handler({"tick": 0, "catch_up": False}, ctx)
        queued = await jobs(backend, "vmh.bankverbindungen.sync_check", STEP)
        assert sorted(ids[j.data["id"]] for j in queued) == ["dirty", "failed_due", "pending"]
        assert {j.dedup_key for j in queued} == {f"bank-sync_check:{j.data['id']}" for j in queued}


async def test_a_party_not_yet_in_advoware_is_checked_first_then_the_account_waits_bounded(
    tmp_path, advoware_sim
):
    async with world(tmp_path, advoware_sim) as (espo, backend, steps, contexts):
        party = await espo.create("CBeteiligte", {"lastName": "Wartend", "syncStatus": "pending_sync"})
        account = await espo.create(BANK, {"iban": IBAN, "beteiligteId": party["id"]})
        step = steps[STEP]
        (trigger,) = [t for t in step.triggers_of(QueueTrigger) if t.topic == "vmh.bankverbindungen.create"]
        data: dict[str, Any] = {"id": account["id"]}
        for tries in range(3):  # as the engine runs it: the job, then the job it queued
            await step.handler(trigger.input(**data), contexts.make(step, trigger, f"t{tries}"))
            parties = await jobs(backend, "vmh.beteiligte.sync_check", "vmh-beteiligte-sync")
            assert [j.data for j in parties] == ([{"id": party["id"]}] if tries < 2 else [])
            await asyncio.sleep(0.15)  # BANK_PARTY_WAIT_SECONDS
            again = await jobs(backend, trigger.topic, STEP)
            if tries < 2:
                (job,) = again
                assert job.data == {"id": account["id"], "waits": 0, "party_waits": tries + 1}
                assert job.dedup_key == f"bank-wait:{trigger.topic}:{account['id']}"
                data = job.data
            else:  # BANK_PARTY_WAIT_MAX_TRIES reached: failed, nothing more queued
                assert again == []
        record = espo.state.get(BANK, account["id"])
        assert record["syncStatus"] == "failed" and "party not yet in Advoware" in record["syncErrorMessage"]
        assert advoware_sim.state.parties == {}  # the account job never syncs the party inline
