"""Operator commands as real subprocesses against the simulators: sync one party, preview all,
audit, unlink, locks, db migrate; and /health's sync status."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from config import Settings
from services.clients.espocrm import EspoCrmClient
from services.clients.retry import RetryPolicy
from services.health import SyncHealth
from tests.fixtures.espocrm_sim import start_espocrm_sim
from tests.fixtures.service_process import base_env, free_port, run_cli
from tests.steps.conftest import advoware_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PERSON = {"firstName": "Olga", "lastName": "Operator", "assignedUserId": "user-anna"}


@pytest.fixture
async def env(tmp_path, advoware_sim):
    async with start_espocrm_sim() as espo:
        values = base_env(
            ENGINE_DB_PATH=str(tmp_path / "engine.db"),
            DATABASE_URL=f"sqlite:///{tmp_path}/s.db",
            ESPOCRM_API_BASE_URL=espo.url,
            ESPOCRM_API_KEY=espo.config.api_key,
            **advoware_settings(advoware_sim),
        )
        yield values, espo, advoware_sim


async def cli(env, *args: str):
    return await asyncio.to_thread(run_cli, list(args), env)


async def test_sync_one_party_then_audit_then_preview_all(env):
    values, espo, advo = env
    rec = await espo.create_as_user("CBeteiligte", PERSON)
    other = await espo.create_as_user("CBeteiligte", {**PERSON, "firstName": "Otto"})
    result = await cli(values, "sync", "beteiligte", rec["id"])
    assert result.returncode == 0, result.stderr
    assert f"{rec['id']}: created" in result.stdout and "plan: create" in result.stdout
    assert "Olga" not in result.stdout  # no values without --show-values
    assert espo.state.get("CBeteiligte", rec["id"])["syncStatus"] == "clean" and len(advo.state.parties) == 1

    audit = await cli(values, "audit", "beteiligte", rec["id"])
    assert audit.returncode == 0 and "created" in audit.stdout and "trigger=cli" in audit.stdout

    preview = await cli(values, "sync", "beteiligte", "--all", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert "totals:" in preview.stdout and f"{other['id']}: dry_run" in preview.stdout
    assert (
        len(advo.state.parties) == 1
        and espo.state.get("CBeteiligte", other["id"])["syncStatus"] == "pending_sync"
    )

    bad = await cli(values, "sync", "beteiligte", "--all")
    assert bad.returncode == 2 and "--dry-run" in bad.stderr


async def test_unlink_after_deleted_in_advoware(env):
    values, espo, advo = env
    rec = await espo.create_as_user("CBeteiligte", PERSON)
    assert (await cli(values, "sync", "beteiligte", rec["id"])).returncode == 0
    betnr = espo.state.get("CBeteiligte", rec["id"])["betnr"]
    async with aiohttp.ClientSession() as s, s.delete(f"{advo.url}_admin/parties/{betnr}") as r:
        assert r.status < 300
    await cli(values, "sync", "beteiligte", rec["id"])
    assert espo.state.get("CBeteiligte", rec["id"])["syncStatus"] == "deleted_in_advoware"
    unlink = await cli(values, "beteiligte", "unlink", rec["id"])
    assert unlink.returncode == 0 and "unlinked" in unlink.stdout
    assert not espo.state.get("CBeteiligte", rec["id"]).get("betnr")
    assert (await cli(values, "sync", "beteiligte", rec["id"])).returncode == 0
    assert espo.state.get("CBeteiligte", rec["id"])["betnr"] not in (None, betnr)


async def test_locks_list_and_release_and_db_migrate(env, tmp_path):
    values, _, _ = env
    from engine.backends.embedded import EmbeddedBackend

    backend = EmbeddedBackend(tmp_path / "engine.db")
    await backend.connect()
    try:
        assert await backend.acquire_lock("beteiligte:abc", "owner-1", ttl=300)
        listed = await cli(values, "locks", "list")
        assert "beteiligte:abc  owner=owner-1" in listed.stdout
        released = await cli(values, "locks", "release", "beteiligte:abc")
        assert released.returncode == 0 and await backend.list_locks() == []
        missing = await cli(values, "locks", "release", "beteiligte:abc")
        assert missing.returncode == 1
    finally:
        await backend.close()
    first = await cli(values, "db", "migrate")
    second = await cli(values, "db", "migrate")
    assert first.returncode == 0 and "0001_init" in first.stdout
    assert second.returncode == 0 and "up to date" in second.stdout


async def test_register_webhooks_prints_secrets(env):
    values, espo, _ = env
    result = await cli(
        {**values, "SERVICE_PUBLIC_URL": "http://svc.example:3000"}, "espocrm", "register-webhooks"
    )
    assert result.returncode == 0, result.stderr
    secrets = json.loads(result.stdout.split("ESPOCRM_WEBHOOK_SECRETS=")[1])
    assert len(secrets) == 3
    hooks = espo.state.tables["Webhook"].values()
    assert {h["url"] for h in hooks} == {
        f"http://svc.example:3000/vmh/webhook/beteiligte/{a}" for a in ("create", "update", "delete")
    }
    assert all(h.get("skipOwn") for h in hooks)


async def test_health_reports_permanently_failed_parties(env):
    _, espo, _ = env
    settings = Settings(_env_file=None, ESPOCRM_API_BASE_URL=espo.url, ESPOCRM_API_KEY=espo.config.api_key)  # type: ignore[call-arg]
    async with aiohttp.ClientSession() as session:
        crm = EspoCrmClient.from_settings(settings, session, retry=RetryPolicy(max_tries=1))
        ok = await SyncHealth(crm, threshold=2, ttl_s=0)()
        assert ok == {"sync": {"permanently_failed": 0, "threshold": 2}, "degraded": False}
        for _ in range(2):
            rec = await espo.create("CBeteiligte", PERSON)
            await espo.update("CBeteiligte", rec["id"], {"syncStatus": "permanently_failed"})
        bad = await SyncHealth(crm, threshold=2, ttl_s=0)()
        assert bad["degraded"] is True and bad["sync"]["permanently_failed"] == 2
        dead = EspoCrmClient.from_settings(
            Settings(_env_file=None, ESPOCRM_API_BASE_URL=f"http://127.0.0.1:{free_port()}/api/v1"),  # type: ignore[call-arg]
            session,
            retry=RetryPolicy(max_tries=1),
        )
        down = await SyncHealth(dead, threshold=2)()
        assert down["degraded"] is True and down["sync"]["espocrm"] == "unreachable"
