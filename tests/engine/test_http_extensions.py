"""`EngineOptions.http_extensions`: routes the deployment mounts beside the steps run inside the
edge (trace id, metrics, JSON 500s) and read form bodies under its limits; worker processes do
not mount them, and the OpenAPI document leaves them out."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from engine.http_server import HttpApp

pytestmark = pytest.mark.timeout(30)
mounted: list[HttpApp] = []


def extension(edge: HttpApp) -> None:
    mounted.append(edge)

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f"<p>{len(edge.queues)} queues</p>", content_type="text/html")

    async def form(request: web.Request) -> web.StreamResponse:
        fields = await edge.read_form(request, max_fields=3)
        if isinstance(fields, web.Response):
            return fields
        return web.json_response(fields)

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    edge.app.router.add_get("/extra/page", page)
    edge.app.router.add_post("/extra/form", form)
    edge.app.router.add_get("/extra/crash", crash)


@pytest.fixture
async def client(example_engine):
    mounted.clear()
    engine = await example_engine(max_body=1024, http_extensions=[extension])
    async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as session:
        yield session


async def test_an_extension_route_answers_with_a_trace_id_and_is_counted(client):
    labels = {"route": "/extra/page", "method": "GET", "status": "200"}
    before = REGISTRY.get_sample_value("bitbylaw_http_requests_total", labels) or 0.0
    async with client.get("/extra/page") as r:
        assert r.status == 200 and "queues</p>" in await r.text() and len(r.headers["X-Trace-Id"]) == 32
    assert REGISTRY.get_sample_value("bitbylaw_http_requests_total", labels) == before + 1
    assert mounted[0].steps and mounted[0].queues  # it sees the step graph


async def test_a_crash_in_an_extension_is_the_edges_json_500(client):
    async with client.get("/extra/crash") as r:
        assert r.status == 500 and (await r.json())["error"] == "internal_error"


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("body", "headers", "status", "answer"),
    [
        (b"a=1&b=%C3%A4&a=2", FORM, 200, {"a": "1", "b": "ä"}),  # the first of a repeated name
        (b"", FORM, 200, {}),
        (b'{"a": 1}', {"Content-Type": "application/json"}, 415, "unsupported_media_type"),
        (b"a=%ff", FORM, 400, "invalid_form"),
        (b"\xff=1", FORM, 400, "invalid_form"),
        (b"a=1&b=2&c=3&d=4", FORM, 400, "invalid_form"),
        (b"a=" + b"x" * 2000, FORM, 413, "body_too_large"),
    ],
)
async def test_forms_are_read_under_the_edges_limits(client, body, headers, status, answer):
    async with client.post("/extra/form", data=body, headers=headers) as r:
        got = await r.json()
        assert r.status == status
        assert got == answer if status == 200 else got["error"] == answer


async def test_extensions_stay_out_of_the_openapi_document(client):
    async with client.get("/openapi.json") as r:
        assert not [p for p in (await r.json())["paths"] if p.startswith("/extra")]


async def test_a_worker_process_mounts_no_extension(example_engine):
    mounted.clear()
    from tests.fixtures.service_process import free_port

    engine = await example_engine(role="worker", metrics_port=free_port(), http_extensions=[extension])
    assert engine.http is not None and mounted == []  # its /metrics app has no extra routes
