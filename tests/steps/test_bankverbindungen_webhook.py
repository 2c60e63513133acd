"""The CBankverbindungen webhooks: more triggers of the one signed webhook step, each account event
one job on `vmh.bankverbindungen.*`, deduplicated until the job starts."""

from __future__ import annotations

import pytest

from engine.backends.base import queue_name
from tests.steps.webhooks import paused_service, post_webhook

pytestmark = pytest.mark.timeout(30)
STEP = "vmh-bankverbindungen-sync"


@pytest.fixture
async def svc(tmp_path):
    async with paused_service(tmp_path) as running:
        yield running


async def post(session, action: str, items: list[dict], signed: bool = True):
    return await post_webhook(session, f"bankverbindungen/{action}", items, signed)


async def queued(engine, action: str) -> list[tuple[str, str | None]]:
    jobs = await engine.backend.fetch(queue_name(f"vmh.bankverbindungen.{action}", STEP), 200, 30, "w")
    return sorted((j.data["id"], j.dedup_key) for j in jobs)


@pytest.mark.parametrize("action", ["create", "update", "delete"])
async def test_each_account_event_is_one_job_on_its_topic(svc, action):
    session, engine = svc
    status, answer = await post(
        session, action, [{"id": "acc1", "iban": "x"}, {"id": "acc2"}, {"id": "acc1"}]
    )
    assert status == 200 and answer == {
        "status": "received", "action": action, "received": 3, "enqueued": 2, "duplicates": 1,
    }  # fmt: skip
    status, answer = await post(session, action, [{"id": "acc1"}])  # still pending: absorbed
    assert answer["enqueued"] == 0
    assert await queued(engine, action) == [("acc1", f"bank-{action}:acc1"), ("acc2", f"bank-{action}:acc2")]


async def test_unsigned_account_webhook_is_refused(svc):
    session, engine = svc
    status, _ = await post(session, "update", [{"id": "acc1"}], signed=False)
    assert status == 401 and await queued(engine, "update") == []


async def test_100_webhooks_for_100_accounts_enqueue_100_jobs(svc):
    session, engine = svc
    for n in range(0, 100, 10):  # EspoCRM batches up to 50 items per POST; here ten POSTs of ten
        status, _ = await post(session, "create", [{"id": f"acc{n + i}"} for i in range(10)])
        assert status == 200
    assert len(await queued(engine, "create")) == 100
