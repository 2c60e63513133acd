"""The HTTP edge: 4xx bodies for each kind of bad input (bounded JSON included), auth before the
body, the size limit, JSON 500s counted and logged once, health and metrics."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def client(example_engine):
    engine = await example_engine(max_body=16384, request_timeout=0.5)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as session:
        yield session


async def call(session, method, path, **kw):
    async with session.request(method, path, **kw) as r:
        return r.status, await r.json(), r.headers


def requests_counted(route: str, method: str, status: int) -> float:
    labels = {"route": route, "method": method, "status": str(status)}
    return REGISTRY.get_sample_value("bitbylaw_http_requests_total", labels) or 0.0


def post_raw(session, path, raw: bytes, **headers):
    return call(session, "POST", path, data=raw, headers={"Content-Type": "application/json", **headers})


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
    big = {"items": [{"n": i} for i in range(3000)]}
    status, body, _ = await call(client, "POST", "/ingest", json=big)
    assert status == 413 and body["error"] == "body_too_large" and "16384" in body["detail"]


async def test_chunked_body_over_limit_is_413(client):
    """No Content-Length: the limit still applies while the body streams in."""

    async def chunks():
        yield b'{"items": ['
        for _ in range(3000):
            yield b'{"n": 1},'
        yield b'{"n": 1}]}'

    status, body, _ = await call(
        client, "POST", "/ingest", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert status == 413 and body["error"] == "body_too_large"


@pytest.mark.parametrize(
    "raw,code",
    [
        (b'{"items": ' + b"[" * 1000 + b"]" * 1000 + b"}", "json_too_deep"),  # RecursionError once
        (b'{"items": ' + b"[" * 65 + b"]" * 65 + b"}", "json_too_deep"),  # over HTTP_JSON_MAX_DEPTH
        (b'{"items": [{"n": ' + b"9" * 5000 + b"}]}", "number_too_long"),  # ValueError once
        (b'{"items": [{"n": ' + b"9" * 101 + b"}]}", "number_too_long"),
        (b'{"items": [{"n": 1, "delay": NaN}]}', "invalid_json"),
        (b'{"items": [{"n": 1, "delay": Infinity}]}', "invalid_json"),
        (b'{"items": [{"n": 1, "delay": 1e999}]}', "invalid_json"),
        (b'{"items": [{"n": 1}], "x": "\xff"}', "invalid_json"),
    ],
)
async def test_hostile_json_is_400_with_trace_id_and_counted(client, raw, code):
    before = requests_counted("/ingest", "POST", 400)
    status, body, headers = await post_raw(client, "/ingest", raw)
    assert status == 400 and body["error"] == code and set(body) == {"error", "detail"}
    assert len(headers["X-Trace-Id"]) == 32
    assert requests_counted("/ingest", "POST", 400) == before + 1


async def test_deep_json_inside_strings_is_fine(client):
    deep_text = "[" * 500 + "9" * 500
    status, body, _ = await call(client, "POST", "/ingest", json={"items": [{"n": 1, "dedup": deep_text}]})
    assert status == 202, body


async def test_handler_crash_is_500_logged_once_and_counted(client, caplog):
    before = requests_counted("/boom", "GET", 500)
    with caplog.at_level(logging.INFO, logger="bitbylaw"):
        status, body, headers = await call(client, "GET", "/boom")
    assert status == 500 and body["error"] == "internal_error"
    assert "secret detail" not in str(body) and "Traceback" not in str(body)
    trace_id = headers["X-Trace-Id"]
    assert trace_id in body["detail"]
    (line,) = [r for r in caplog.records if getattr(r, "trace_id", None) == trace_id]
    assert line.levelno == logging.ERROR and line.error_type == "RuntimeError"
    assert any("http_misc_step.py" in frame and "in handler" in frame for frame in line.stack)
    assert "secret detail" not in line.getMessage() + json.dumps(line.stack)
    assert requests_counted("/boom", "GET", 500) == before + 1


async def test_a_crashing_auth_check_is_a_json_500_too(client):
    before = requests_counted("/broken-auth", "GET", 500)
    status, body, headers = await call(client, "GET", "/broken-auth")
    assert status == 500 and body["error"] == "internal_error" and headers["X-Trace-Id"] in body["detail"]
    assert requests_counted("/broken-auth", "GET", 500) == before + 1


@pytest.mark.parametrize("raw", [b"{not json", b'{"n": NaN}', b"[" * 2000, b'{"n": "x"}', b""])
async def test_key_auth_comes_before_parsing(client, raw):
    status, body, _ = await post_raw(client, "/keyed", raw)
    assert status == 401 and body == {"error": "unauthorized", "detail": "X-Key required"}
    status, body, _ = await post_raw(client, "/keyed", raw, **{"X-Key": "k1"})
    assert status in (400, 422)  # with the key, the body is looked at


async def test_key_auth_never_sees_the_body_and_the_handler_gets_it(client):
    status, body, _ = await post_raw(client, "/keyed", b'{"n": 7}', **{"X-Key": "k1"})
    assert status == 200 and body == {"n": 7, "auth_saw_body": False}


async def test_key_auth_answers_before_the_body_arrives(client):
    """401 at once for a request whose announced body never comes: the body is not waited for."""
    port = client._base_url.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /keyed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3000\r\n\r\n"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 401")
    writer.close()


async def test_signature_is_checked_over_the_raw_body_before_parsing(client):
    from tests.engine.example_steps.auth_step import signature

    for raw in (b"{not json", b'{"n": NaN}', b'{"n": "x"}', b'{"n": 1}'):
        status, body, _ = await post_raw(client, "/signed", raw, **{"X-Sig": signature(raw + b" ")})
        assert status == 401 and body["error"] == "invalid_signature", raw
    assert (await post_raw(client, "/signed", b"{not json", **{"X-Sig": signature(b"{not json")}))[0] == 400
    assert (await post_raw(client, "/signed", b'{"n": "x"}', **{"X-Sig": signature(b'{"n": "x"}')}))[0] == 422
    status, body, _ = await post_raw(client, "/signed", b'{"n": 3}', **{"X-Sig": signature(b'{"n": 3}')})
    assert status == 200 and body["n"] == 3


async def test_openapi_document_is_served(client):
    async with client.get("/openapi.json") as r:
        doc = await r.json()
        assert r.status == 200 and r.content_type == "application/json"
    assert doc["openapi"] == "3.1.0"
    keyed = doc["paths"]["/keyed"]["post"]
    assert keyed["security"] == [{"Key": []}]
    assert doc["components"]["securitySchemes"]["Key"] == {"type": "apiKey", "in": "header", "name": "X-Key"}
    assert keyed["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Doc"
    }
    assert {"200", "400", "401", "408", "413", "415", "422", "500", "504"} <= set(keyed["responses"])
    assert doc["paths"]["/echo/{name}"]["get"]["parameters"][0]["name"] == "name"


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


async def raw_exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    return head


@pytest.mark.parametrize("key,first", [("wrong", b"HTTP/1.1 401"), ("k1", b"HTTP/1.1 100 Continue")])
async def test_expect_100_continue_only_for_a_caller_with_a_good_key(client, key, first):
    head = await raw_exchange(
        client._base_url.port,
        b"POST /keyed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8\r\n"
        b"Expect: 100-continue\r\nX-Key: " + key.encode() + b"\r\n\r\n",
    )
    assert head.startswith(first), head


async def test_unknown_expectation_is_ignored_not_a_plain_text_417(client):
    status, body, _ = await call(client, "GET", "/health", headers={"Expect": "something-else"})
    assert status == 200 and body["status"] == "ok"
