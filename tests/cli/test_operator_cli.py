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
    contacts = {
        "emailAddressData": [{"emailAddress": "otto@example.org", "primary": True}],
        "phoneNumberData": [{"phoneNumber": "+49 221 123", "type": "Mobile", "primary": True}],
    }
    other = await espo.create_as_user("CBeteiligte", {**PERSON, "firstName": "Otto", **contacts})
    await espo.create_as_user(
        "CAdressen", {"beteiligteId": other["id"], "strasse": "Ring 5", "plz": "50667", "ort": "Köln"}
    )
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
    # the new party's entries and address, by kind, and their totals; never a value
    assert "Kommunikation: POST new entry (kind 4)" in preview.stdout
    assert "Kommunikation: POST new entry (kind 3)" in preview.stdout
    assert (  # the address POST, its CAdressen bookkeeping write, the two entry POSTs
        "entries and addresses: address writes to Advoware 1, address writes to EspoCRM 1, "
        "entry writes to Advoware 2" in preview.stdout
    )
    assert "otto@example.org" not in preview.stdout and "Ring 5" not in preview.stdout
    assert (
        len(advo.state.parties) == 1
        and espo.state.get("CBeteiligte", other["id"])["syncStatus"] == "pending_sync"
    )

    unasked = await cli(values, "sync", "beteiligte", "--all")
    assert unasked.returncode == 1 and "totals:" in unasked.stdout
    assert (
        unasked.stderr.splitlines()[-1]
        == "error: not syncing without a yes: run with --yes (or answer on a terminal)"
    )
    assert espo.state.get("CBeteiligte", other["id"])["syncStatus"] == "pending_sync"

    synced = await cli(values, "sync", "beteiligte", "--all", "--yes")
    assert synced.returncode == 0, synced.stderr
    assert (
        "totals: create 1, update 1" in synced.stdout
        and synced.stdout.splitlines()[-1] == "synced: created 1, noop 1"
    )
    assert synced.stderr.split() == ["preview", "sync"]  # the progress bars (off a terminal: their labels)
    assert (
        espo.state.get("CBeteiligte", other["id"])["syncStatus"] == "clean" and len(advo.state.parties) == 2
    )


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
        assert listed.stdout.splitlines()[1].split()[:2] == ["beteiligte:abc", "owner=owner-1"]
        as_json = json.loads((await cli(values, "locks", "list", "--json")).stdout)
        assert [(lock["key"], lock["owner"]) for lock in as_json] == [("beteiligte:abc", "owner-1")]
        released = await cli(values, "locks", "release", "beteiligte:abc")
        assert released.returncode == 0 and await backend.list_locks() == []
        missing = await cli(values, "locks", "release", "beteiligte:abc")
        assert missing.returncode == 1 and missing.stderr.strip() == "error: no lock beteiligte:abc"
    finally:
        await backend.close()
    first = await cli(values, "db", "migrate")
    second = await cli(values, "db", "migrate")
    assert first.returncode == 0 and "0001_init" in first.stdout
    assert second.returncode == 0 and "up to date" in second.stdout
    await backend.connect()
    try:
        assert await backend.acquire_lock("beteiligte:abc", "owner-2", ttl=300)
        locked = await cli(values, "sync", "beteiligte", "abc")
        assert locked.returncode == 1
        assert locked.stderr.strip() == (
            "error: CBeteiligte abc is being synced by another process (lock beteiligte:abc); "
            "try again in a moment, or see `bitbylaw locks list`"
        )
    finally:
        await backend.close()


async def test_unknown_ids_are_one_line_with_exit_1(env):
    values, _, _ = env
    for args in (
        ["beteiligte", "unlink", "nope"],
        ["sync", "beteiligte", "nope"],
        ["sync", "beteiligte", "nope", "--dry-run"],
    ):
        result = await cli(values, *args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.strip() == "error: CBeteiligte nope not found in EspoCRM", args


async def test_systems_unreachable_or_refusing_the_key_are_one_line_with_exit_3(env):
    values, _, _ = env
    refused = await cli({**values, "ESPOCRM_API_KEY": "wrong"}, "failed")
    assert refused.returncode == 3
    assert refused.stderr.strip() == (
        "error: EspoCRM refused the credentials (HTTP 401 on GET CBeteiligte): check ESPOCRM_API_KEY / ESPOCRM_SECRET_KEY"
    )
    gone = await cli({**values, "ESPOCRM_API_BASE_URL": f"http://127.0.0.1:{free_port()}/api/v1"}, "failed")
    assert gone.returncode == 3
    assert gone.stderr.strip() == (
        "error: EspoCRM unreachable (connection failed on GET CBeteiligte): check ESPOCRM_API_BASE_URL"
    )
    advo_gone = await cli(
        {**values, "ADVOWARE_TOKEN_URL": f"http://127.0.0.1:{free_port()}/api/v1/Token"},
        "sync",
        "beteiligte",
        "x1",
    )
    assert advo_gone.returncode in (1, 3) and "Traceback" not in advo_gone.stderr


async def test_failed_lists_records_needing_attention_without_personal_data(env):
    values, espo, _ = env
    bad = await espo.create_as_user("CBeteiligte", PERSON)
    await espo.update(
        "CBeteiligte",
        bad["id"],
        {
            "syncStatus": "failed",
            "syncErrorMessage": "advoware POST Beteiligte: HTTP 503",
            "syncRetryCount": 2,
        },
    )
    await espo.create_as_user("CBeteiligte", {**PERSON, "firstName": "Fine"})
    table = await cli(values, "failed")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["entity", "id", "status", "tries", "next_retry", "error"]
    assert table.stdout.splitlines()[1].split()[:4] == ["CBeteiligte", bad["id"], "failed", "2"]
    assert "Olga" not in table.stdout and "Operator" not in table.stdout
    rows = json.loads((await cli(values, "failed", "--entity", "CBeteiligte", "--json")).stdout)
    assert [(r["id"], r["status"], r["error"]) for r in rows] == [
        (bad["id"], "failed", "advoware POST Beteiligte: HTTP 503")
    ]
    wrong = await cli(values, "failed", "--entity", "Nope")
    assert (
        wrong.returncode == 2
        and wrong.stderr.strip() == "error: --entity must be one of CBeteiligte, not Nope"
    )


def hooks_of(espo) -> list[dict]:
    return sorted(espo.state.tables["Webhook"].values(), key=lambda h: h["event"])


async def test_webhooks_register_is_idempotent_updates_rotates_lists_and_deletes(env):
    values, espo, _ = env
    from services.webhook_subscriptions import wanted_subscriptions

    n = len(wanted_subscriptions("x"))  # the service's one table: parties, addresses, bank accounts

    def urls(base: str) -> set[str]:
        return {w.url for w in wanted_subscriptions(base)}

    values = {**values, "SERVICE_PUBLIC_URL": "http://svc.example:3000"}
    first = await cli(values, "espocrm", "webhooks", "register")
    assert first.returncode == 0, first.stderr
    secrets = json.loads(first.stdout.split("ESPOCRM_WEBHOOK_SECRETS=")[1])
    hooks = hooks_of(espo)
    assert len(hooks) == n and secrets == {h["id"]: h["secretKey"] for h in hooks}
    assert {h["url"] for h in hooks} == urls("http://svc.example:3000")
    assert all(h["skipOwn"] for h in hooks)

    again = await cli(values, "espocrm", "webhooks", "register")
    assert again.returncode == 0 and hooks_of(espo) == hooks  # nothing added, nothing changed
    assert again.stdout.count(": unchanged (webhook id ") == n
    assert json.loads(again.stdout.split("ESPOCRM_WEBHOOK_SECRETS=")[1]) == secrets

    # What older versions left behind: the same events subscribed twice more.
    for h in hooks[:2]:
        await espo.create("Webhook", {"event": h["event"], "url": h["url"], "skipOwn": True})
    moved = await cli(
        {
            **values,
            "SERVICE_PUBLIC_URL": "https://new.example",
            "ESPOCRM_WEBHOOK_SECRETS": json.dumps(secrets),
        },
        "espocrm",
        "webhooks",
        "register",
    )
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.count("removed duplicate") == 2 and moved.stdout.count(": updated (webhook id ") == n
    now = hooks_of(espo)
    assert [h["id"] for h in now] == [h["id"] for h in hooks]  # the same subscriptions, moved
    assert {h["url"] for h in now} == urls("https://new.example")

    listed = json.loads(
        (
            await cli(
                {**values, "ESPOCRM_WEBHOOK_SECRETS": json.dumps(secrets)},
                "espocrm",
                "webhooks",
                "list",
                "--json",
            )
        ).stdout
    )
    assert sorted(r["id"] for r in listed) == sorted(secrets) and all(r["secret_in_settings"] for r in listed)
    assert all(r["secret"] is None for r in listed)

    rotated = await cli(values, "espocrm", "webhooks", "register", "--rotate-secrets", "--json")
    assert rotated.returncode == 0, rotated.stderr
    body = json.loads(rotated.stdout)
    assert [s["change"] for s in body["subscriptions"]] == ["rotated"] * n
    new_secrets = body["ESPOCRM_WEBHOOK_SECRETS"]
    assert len(new_secrets) == n and not set(new_secrets) & set(secrets)
    assert not set(new_secrets.values()) & set(secrets.values())

    unknown = await cli(values, "espocrm", "webhooks", "delete", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no webhook subscription of this service with id nope"
    deleted = await cli(values, "espocrm", "webhooks", "delete", "--all")
    assert deleted.returncode == 0 and deleted.stdout.count("deleted ") == n and hooks_of(espo) == []


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


async def test_delayed_jobs_with_their_last_error_and_dead_letters_with_their_record_id(env, tmp_path):
    values, _, _ = env
    from engine.backends.base import EnqueueRequest
    from engine.backends.embedded import EmbeddedBackend

    queue = "vmh.beteiligte.sync_check::vmh-beteiligte-sync"
    backend = EmbeddedBackend(tmp_path / "engine.db")
    await backend.connect()
    try:
        await backend.enqueue(
            [
                EnqueueRequest(queue, {"id": "rec-retry"}, "t-1"),
                EnqueueRequest(queue, {"id": "rec-dead"}, "t-2"),
            ]
        )
        first, second = await backend.fetch(queue, 2, 30, "w")
        await backend.retry(first, 600, "TransportError: espocrm GET CBeteiligte/{id}: no response")
        await backend.dead_letter(second, "ServerError: advoware POST Beteiligte: HTTP 503")
    finally:
        await backend.close()
    delayed = json.loads((await cli(values, "queues", "--delayed", "--json")).stdout)
    assert [(d["queue"], d["record_id"], d["attempts"], d["error"]) for d in delayed] == [
        (queue, "rec-retry", 1, "TransportError: espocrm GET CBeteiligte/{id}: no response")
    ]
    table = await cli(values, "queues", "--delayed")
    assert table.stdout.splitlines()[0].split() == ["runs_at", "queue", "record", "runs", "last_error"]
    assert "rec-retry" in table.stdout and "TransportError" in table.stdout
    dead = json.loads((await cli(values, "dlq", "list", "--json")).stdout)
    assert [(d["record_id"], d["trace_id"], d["error"]) for d in dead] == [
        ("rec-dead", "t-2", "ServerError: advoware POST Beteiligte: HTTP 503")
    ]
    assert "rec-dead" in (await cli(values, "dlq", "list")).stdout
