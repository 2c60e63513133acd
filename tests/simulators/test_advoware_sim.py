"""The Advoware simulator over real HTTP: token flow, one test per quirk A1-A19, search, seed,
snapshot. Quirk ids refer to EXTERNAL_SYSTEMS.md 1.6."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulators.advoware import AdvowareSimConfig
from tests.fixtures.advoware_sim import AdvowareSim, sign_token_request

pytest_plugins = ["tests.fixtures.advoware_sim"]

BET = "api/v1/advonet/Beteiligte"


@pytest.fixture
async def api(advoware_sim: AdvowareSim) -> AsyncIterator[aiohttp.ClientSession]:
    headers = await advoware_sim.auth_headers()
    async with aiohttp.ClientSession(advoware_sim.url, headers=headers) as session:
        yield session


async def call(session: aiohttp.ClientSession, method: str, path: str, body: Any = None, **kw: Any):
    async with session.request(method, path, json=body, **kw) as resp:
        data = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, data


async def create_party(api: aiohttp.ClientSession, **fields: Any) -> dict:
    body = {"name": "Müller", "vorname": "Jörg", "anrede": "Herr", **fields}
    status, data = await call(api, "POST", BET, body)
    assert status == 201, data
    return data


async def get_party(api: aiohttp.ClientSession, bet_nr: int) -> dict:
    status, data = await call(api, "GET", f"{BET}/{bet_nr}")
    assert status == 200, data
    assert isinstance(data, list) and len(data) == 1
    return data[0]


# -- token flow ----------------------------------------------------------------------------------


async def test_token_issued_and_used(advoware_sim: AdvowareSim, api: aiohttp.ClientSession) -> None:
    status, data = await call(api, "GET", f"{BET}?name=x")
    assert status == 200 and data == []
    assert advoware_sim.calls()[("POST", "/api/v1/Token", 200)] == 1


async def test_no_token_is_401(advoware_sim: AdvowareSim) -> None:
    async with aiohttp.ClientSession(advoware_sim.url) as session:
        status, data = await call(session, "GET", f"{BET}/1")
        assert status == 401 and "message" in data
        status, _ = await call(session, "GET", f"{BET}/1", headers={"Authorization": "Bearer nope"})
        assert status == 401
