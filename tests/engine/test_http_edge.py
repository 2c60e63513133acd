"""The HTTP edge: 4xx bodies for each kind of bad input, the size limit, health and metrics."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from engine.backends.embedded import EmbeddedBackend
from engine.registry import load_steps
from engine.runtime import Engine, EngineOptions

EXAMPLES = Path(__file__).parent / "example_steps"
pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def client(tmp_path, monkeypatch):
    monkeypatch.setenv("EXAMPLE_RECORD_FILE", str(tmp_path / "rec.jsonl"))
    engine = Engine(
        EmbeddedBackend(tmp_path / "engine.db"),
        load_steps([EXAMPLES]),
        EngineOptions(port=0, poll_block=0.05, grace=2, max_body=4096, request_timeout=0.5),
    )
    await engine.start()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as session:
        yield session
    await engine.stop()


async def call(session, method, path, **kw):
    async with session.request(method, path, **kw) as r:
        return r.status, await r.json(), r.headers


async def test_happy_path_returns_json_and_trace_id(client):
    status, body, headers = await call(client, "POST", "/ingest", json={"items": [{"n": 1}]})
    assert status == 202 and body == {"enqueued": 1, "deduplicated": 0}
    assert len(headers["X-Trace-Id"]) == 32


async def test_path_params_and_trigger(client):
    status, body, _ = await call(client, "GET", "/echo/anna")
    assert status == 200 and body == {"name": "anna", "trigger": "http GET /echo/{name}"}


async def test_malformed_json_is_400(client):
    status, body, _ = await call(
        client, "POST", "/ingest", data=b'{"items": [', headers={"Content-Type": "application/json"}
    )
    assert status == 400 and body["error"] == "invalid_json" and "detail" in body


async def test_wrong_content_type_is_415(client):
    status, body, _ = await call(
        client,
        "POST",
        "/ingest",
        data=b"items=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 415 and body["error"] == "unsupported_media_type"


async def test_failed_validation_is_422_with_field(client):
    status, body, _ = await call(client, "POST", "/ingest", json={"items": [{"n": "not a number"}]})
    assert status == 422 and body["error"] == "validation_failed"
    assert body["detail"][0]["loc"] == ["items", 0, "n"]


async def test_missing_body_is_400(client):
    status, body, _ = await call(client, "POST", "/ingest")
    assert status == 400 and body["error"] == "missing_body"


async def test_unknown_route_is_404(client):
    status, body, _ = await call(client, "GET", "/nope")
    assert status == 404 and body == {"error": "not_found", "detail": "no route for GET /nope"}


async def test_wrong_method_is_405(client):
    status, body, headers = await call(client, "GET", "/ingest")
    assert status == 405 and body["error"] == "method_not_allowed" and "POST" in headers["Allow"]


async def test_body_over_limit_is_413(client):
    big = {"items": [{"n": i} for i in range(1000)]}
    status, body, _ = await call(client, "POST", "/ingest", json=big)
    assert status == 413 and body["error"] == "body_too_large" and "4096" in body["detail"]


async def test_chunked_body_over_limit_is_413(client):
    """No Content-Length: the limit still applies while the body streams in."""

    async def chunks():
        yield b'{"items": ['
        for _ in range(1000):
            yield b'{"n": 1},'
        yield b'{"n": 1}]}'

    status, body, _ = await call(
        client, "POST", "/ingest", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert status == 413 and body["error"] == "body_too_large"


async def test_handler_crash_is_500_without_details(client):
    status, body, _ = await call(client, "GET", "/boom")
    assert status == 500 and body["error"] == "internal_error"
    assert "secret detail" not in str(body) and "Traceback" not in str(body)


async def test_slow_handler_is_504(client):
    status, body, _ = await call(client, "GET", "/sleep", params={"s": "3"})
    assert status == 504 and body["error"] == "timeout"


async def test_health_reports_backend_and_queues(client):
    await call(client, "POST", "/ingest", json={"items": [{"n": 1, "delay": 60}]})
    status, body, _ = await call(client, "GET", "/health")
    assert status == 200 and body["status"] == "ok"
    assert body["backend"]["name"] == "embedded" and body["backend"]["reachable"] is True
    assert body["queues"]["delayed"] == 2 and body["queues"]["dead"] == 0


async def test_metrics_exposes_prometheus_text(client):
    await call(client, "POST", "/ingest", json={"items": [{"n": 1}]})
    await call(client, "GET", "/nope")
    async with client.get("/metrics") as r:
        text = await r.text()
        assert r.status == 200 and r.content_type == "text/plain"
    assert 'bitbylaw_jobs_enqueued_total{step="example-record",topic="demo.item"}' in text
    assert 'bitbylaw_http_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert "bitbylaw_handler_seconds_bucket" in text and "bitbylaw_queue_depth" in text
