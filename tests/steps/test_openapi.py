"""The OpenAPI document is generated from the step configs: every http trigger with its method,
body model, query parameters, answers and auth scheme; `bitbylaw openapi` prints what the service
serves at `GET /openapi.json`."""

from __future__ import annotations

import json

import aiohttp
import pytest

from engine.triggers import HttpTrigger
from tests.fixtures.service_process import base_env, run_cli
from tests.steps.conftest import start_service

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def served(tmp_path):
    engine = await start_service(tmp_path)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as s, s.get("/openapi.json") as r:
            assert r.status == 200
            yield engine, await r.json()
    finally:
        await engine.stop()


async def test_every_http_trigger_is_described(served):
    engine, doc = served
    triggers = [(s, t) for s in engine.steps for t in s.triggers_of(HttpTrigger)]
    assert len(triggers) >= 7
    for step, trigger in triggers:
        op = doc["paths"][trigger.path][trigger.method.lower()]
        assert op["summary"] == step.description
        assert "500" in op["responses"] and "X-Trace-Id" in op["responses"]["500"]["headers"]
        if trigger.auth is not None:
            assert op["security"] == [{name: []} for name in trigger.auth.schemes]
            assert "401" in op["responses"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["scheme"] == "bearer" and schemes["EspoSignature"]["name"] == "Signature"


async def test_webhook_and_proxy_operations_come_from_their_models(served):
    _, doc = served
    webhook = doc["paths"]["/vmh/webhook/beteiligte/update"]["post"]
    assert webhook["requestBody"]["required"] is True
    body_ref = webhook["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    batch = doc["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    item = doc["components"]["schemas"]["WebhookItem"]
    assert batch["type"] == "array" and item["properties"]["id"]["pattern"] == "^[A-Za-z0-9_-]+$"
    answer = webhook["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert answer.endswith("/WebhookAnswer") and {"400", "415", "422"} <= set(webhook["responses"])
    proxy = doc["paths"]["/advoware/proxy"]
    assert set(proxy) == {"get", "post", "put", "delete"}
    assert {p["name"] for p in proxy["get"]["parameters"]} == {"path", "endpoint", "raw"}
    assert "requestBody" not in proxy["get"] and proxy["post"]["requestBody"]["required"] is False
    assert "default" in proxy["get"]["responses"]  # Advoware's own status passes through
    assert set(doc["paths"]) >= {"/health", "/metrics", "/openapi.json"}


async def test_cli_prints_the_served_document(served, tmp_path):
    _, doc = served
    result = run_cli(["openapi"], base_env())
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["openapi"] == "3.1.0" and printed["info"]["title"] == "bitbylaw"
    assert printed["paths"] == doc["paths"] and printed["components"] == doc["components"]
