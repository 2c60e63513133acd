"""The CAdressen webhooks: signed like the party's, each address event becomes a sync_check of
the party that holds the address — named by the item, else known to the service database."""

from __future__ import annotations

import pytest

from engine.backends.base import queue_name
from services.db import open_database
from tests.steps.webhooks import paused_service, post_webhook

pytestmark = pytest.mark.timeout(30)
CHECKS = queue_name("vmh.beteiligte.sync_check", "vmh-beteiligte-sync")


@pytest.fixture
async def svc(tmp_path):
    async with open_database(f"sqlite:///{tmp_path}/service.db") as db:
        await db.migrate()
        await db.save_snapshot("party1", 1001, {"party": {}}, addresses=["addr1", "addr2"])
    async with paused_service(tmp_path) as running:
        yield running


async def post(session, action: str, items: list[dict], signed: bool = True):
    return await post_webhook(session, f"adressen/{action}", items, signed)


async def queued(engine) -> list[tuple[str, str | None]]:
    jobs = await engine.backend.fetch(CHECKS, 50, 30, "w")
    return sorted((j.data["id"], j.dedup_key) for j in jobs)


async def test_create_names_its_party(svc):
    session, engine = svc
    status, answer = await post(session, "create", [{"id": "new1", "beteiligteId": "party9", "strasse": "X"}])
    assert status == 200 and answer["enqueued"] == 1
    assert await queued(engine) == [("party9", "sync_check:party9")]


async def test_update_and_delete_find_the_party_in_the_database(svc):
    session, engine = svc
    assert (await post(session, "update", [{"id": "addr1", "ort": "Bonn"}]))[1]["enqueued"] == 1
    # a second address of the same party before the job starts: the one pending job covers it
    assert (await post(session, "delete", [{"id": "addr2"}]))[1] == {
        "status": "received", "action": "delete", "received": 1, "enqueued": 0, "duplicates": 1,
    }  # fmt: skip
    assert await queued(engine) == [("party1", "sync_check:party1")]


async def test_an_address_moved_to_another_party_syncs_both(svc):
    session, engine = svc
    await post(session, "update", [{"id": "addr1", "beteiligteId": "party2"}])
    assert [p for p, _ in await queued(engine)] == ["party1", "party2"]


async def test_delete_of_an_address_never_synced_enqueues_nothing(svc):
    session, engine = svc
    status, answer = await post(session, "delete", [{"id": "stranger"}])
    assert status == 200 and answer["enqueued"] == 0
    assert await queued(engine) == []


async def test_unsigned_address_webhook_is_refused(svc):
    session, engine = svc
    status, answer = await post(session, "create", [{"id": "a", "beteiligteId": "p"}], signed=False)
    assert status == 401 and answer["error"] == "invalid_signature"
    assert await queued(engine) == []
