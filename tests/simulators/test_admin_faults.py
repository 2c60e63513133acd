"""The shared admin/fault layer, on a tiny app with one write route."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web

from simulators.common.admin import SimulatorCore, make_simulator_app
from simulators.common.server import start_app


@pytest.fixture
async def sim():
    store: list[Any] = []
    core = SimulatorCore(
        "toy", reset=store.clear, seed=lambda b: {"n": len(store)}, dump=lambda: {"items": store}
    )
    app = make_simulator_app(core)

    async def create(request: web.Request) -> web.Response:
        store.append(await request.json())
        return web.json_response({"id": len(store), "secret": "x"}, status=201)

    async def get_item(request: web.Request) -> web.Response:
        return web.json_response({"id": int(request.match_info["id"]), "secret": "x"})

    app.router.add_post("/items", create)
    app.router.add_get("/items/{id}", get_item)
    running = await start_app(app)
    async with aiohttp.ClientSession(running.url) as session:
        yield session, store
    await running.stop()


async def calls(session) -> dict:
    async with session.get("/_admin/calls") as r:
        return {(c["method"], c["route"], c["status"]): c["count"] for c in (await r.json())["calls"]}


async def test_counts_by_route_template(sim):
    session, _ = sim
    for i in (1, 2, 3):
        async with session.get(f"/items/{i}") as r:
            assert r.status == 200
    assert (await calls(session)) == {("GET", "/items/{id}", 200): 3}


async def test_fail_next_n_then_succeed(sim):
    session, store = sim
    await session.post(
        "/_admin/faults", json={"rules": [{"method": "POST", "route": "/items", "status": 503, "count": 2}]}
    )
    statuses = []
    for _ in range(3):
        async with session.post("/items", json={"a": 1}) as r:
            statuses.append(r.status)
    assert statuses == [503, 503, 201]
    assert len(store) == 1


async def test_after_write_loses_response_but_keeps_write(sim):
    session, store = sim
    await session.post(
        "/_admin/faults",
        json={
            "rules": [{"method": "POST", "route": "/items", "status": 504, "count": 1, "after_write": True}]
        },
    )
    async with session.post("/items", json={"a": 1}) as r:
        assert r.status == 504
    assert store == [{"a": 1}]


async def test_drop_field_and_reset(sim):
    session, store = sim
    await session.post(
        "/_admin/faults",
        json={"rules": [{"route": "/items/{id}", "status": None, "drop_field": "secret", "count": 1}]},
    )
    async with session.get("/items/1") as r:
        assert await r.json() == {"id": 1}
    async with session.get("/items/1") as r:
        assert "secret" in await r.json()
    await session.post("/items", json={})
    async with session.post("/_admin/reset") as r:
        assert r.status == 200
    assert store == [] and (await calls(session)) == {}


async def test_error_rate_is_seeded_and_partial(sim):
    session, _ = sim
    await session.post("/_admin/faults", json={"error_rate": 0.5, "seed": 7})
    statuses = []
    for _ in range(40):
        async with session.get("/items/1") as r:
            statuses.append(r.status)
    assert 5 < statuses.count(503) < 35
