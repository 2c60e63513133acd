"""The CBeteiligte webhook step: signatures (both EspoCRM formats), validation, dedup until the
job starts, one job per record, counts in the answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import aiohttp
import pytest

from engine.backends.base import queue_name
from services.webhooks import WebhookSecrets, verify_signature
from tests.steps.conftest import start_service

pytestmark = pytest.mark.timeout(30)
SYNC_Q = lambda action: queue_name(f"vmh.beteiligte.{action}", "vmh-beteiligte-sync")  # noqa: E731


def sign_new(webhook_id: str, secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return base64.b64encode(f"{webhook_id}:{digest}".encode()).decode()


def sign_legacy(webhook_id: str, secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(webhook_id.encode() + b":" + digest).decode()


BODY = json.dumps([{"id": "68e4af00172be7924", "name": "M\\u00fcller"}], separators=(",", ":")).encode()


def test_signature_formats_and_secret_map():
    one = WebhookSecrets("s3cret")
    assert verify_signature(BODY, {"signature": sign_new("wh1", "s3cret", BODY)}, one)
    assert verify_signature(BODY, {"x-signature": sign_legacy("wh1", "s3cret", BODY)}, one)
    assert not verify_signature(BODY, {"signature": sign_new("wh1", "wrong", BODY)}, one)
    assert not verify_signature(BODY + b" ", {"signature": sign_new("wh1", "s3cret", BODY)}, one)
    assert not verify_signature(BODY, {}, one)
    assert not verify_signature(BODY, {"signature": "not base64!!"}, one)
    by_id = WebhookSecrets("", {"wh1": "a", "wh2": "b"})
    assert verify_signature(BODY, {"signature": sign_new("wh2", "b", BODY)}, by_id)
    assert not verify_signature(BODY, {"signature": sign_new("wh2", "a", BODY)}, by_id)
    assert not verify_signature(BODY, {"signature": sign_new("wh3", "a", BODY)}, by_id)
    assert verify_signature(BODY, {}, WebhookSecrets())  # no secret configured: signing is optional


@pytest.fixture
async def svc(tmp_path):
    engine = await start_service(tmp_path, ESPOCRM_WEBHOOK_SECRET="hook-secret")
    # Only the HTTP edge runs here: stop the worker so the jobs stay queued for inspection.
    await engine.worker.stop(1)
    await engine.cron.stop(1)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as session:
        yield session, engine
    await engine.stop()


async def post(session, action, body: bytes, headers=None):
    async with session.post(
        f"/vmh/webhook/beteiligte/{action}",
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    ) as r:
        return r.status, await r.json()


async def depth(engine, action) -> int:
    (stats,) = await engine.backend.queue_stats([SYNC_Q(action)])
    return stats.depth


async def test_signed_batch_enqueues_one_job_per_record(svc):
    session, engine = svc
    body = json.dumps([{"id": "a1"}, {"id": "a2", "firstName": "X"}, {"id": "a1"}]).encode()
    status, answer = await post(
        session, "update", body, {"X-Signature": sign_legacy("wh", "hook-secret", body)}
    )
    assert status == 200 and answer == {
        "status": "received",
        "action": "update",
        "received": 3,
        "enqueued": 2,
        "duplicates": 1,
    }
    assert await depth(engine, "update") == 2


async def test_duplicate_webhook_is_deduplicated_until_the_job_starts(svc):
    session, engine = svc
    body = json.dumps([{"id": "b1"}]).encode()
    headers = {"Signature": sign_new("wh", "hook-secret", body)}
    assert (await post(session, "create", body, headers))[1]["enqueued"] == 1
    assert (await post(session, "create", body, headers))[1]["duplicates"] == 1
    assert (await post(session, "update", body, headers))[1]["enqueued"] == 1  # other action: own job
    (job,) = await engine.backend.fetch(SYNC_Q("create"), 1, 30, "w")
    await engine.backend.release_dedup(job.queue, job.dedup_key)  # what the worker does at job start
    assert (await post(session, "create", body, headers))[1]["enqueued"] == 1


@pytest.mark.parametrize(
    "headers", [{}, {"Signature": "d2g6YmFk"}, {"X-Signature": sign_legacy("wh", "other", b"[]")}]
)
async def test_bad_or_missing_signature_is_401_and_nothing_enqueued(svc, headers):
    session, engine = svc
    status, answer = await post(session, "delete", json.dumps([{"id": "c1"}]).encode(), headers)
    assert status == 401 and answer["error"] == "invalid_signature"
    assert await depth(engine, "delete") == 0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"id": "x"}',
        b'[{"name": "no id"}]',
        b'[{"id": NaN}]',
        b"[" * 5000 + b"]" * 5000,
        b"[" + b"1" * 5000 + b"]",
        b"\xff\xfe",
        b"",
    ],
)
@pytest.mark.parametrize("signature", [None, "d2g6YmFk", sign_new("wh", "other", b"[]")])
async def test_unsigned_request_is_401_whatever_its_body(svc, body, signature):
    """The signature is checked over the raw bytes before anything is parsed (DECISIONS 47)."""
    session, engine = svc
    headers = {"Signature": signature} if signature else {}
    status, answer = await post(session, "create", body, headers)
    assert status == 401 and answer["error"] == "invalid_signature"
    assert await depth(engine, "create") == 0


@pytest.mark.parametrize(
    "body,status",
    [
        (b"{not json", 400),
        (b'[{"id": NaN}]', 400),
        (b"[" * 100 + b"]" * 100, 400),
        (b'{"id": "x"}', 422),  # an object, not EspoCRM's array
        (b'[{"name": "no id"}]', 422),
        (b'[{"id": ""}]', 422),
        (b'[{"id": "../../x"}]', 422),
        (b"[]", 200),
    ],
)
async def test_bad_bodies_get_4xx_and_enqueue_nothing(svc, body, status):
    session, engine = svc
    got, _ = await post(session, "update", body, {"Signature": sign_new("wh", "hook-secret", body)})
    assert got == status
    assert await depth(engine, "update") == 0
