"""The Advoware proxy over real HTTP against the Advoware simulator: hostile paths and paths
outside the allow-list never reach Advoware, callers must authenticate (before their body is
read), the four methods forward status and body."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.steps.conftest import PROXY_KEY, advoware_settings, start_service

pytestmark = pytest.mark.timeout(60)
AUTH = {"X-API-Key": PROXY_KEY}

HOSTILE_PATHS = [
    "../etc/passwd",
    "api/v1/../../secret",
    "api/v1/advonet/Beteiligte/..",
    "./api/v1/advonet/Beteiligte",
    "http://evil.example/api",
    "https://evil.example",
    "//evil.example/api/v1",
    "api//v1/advonet",
    "/\\evil.example",
    "api\\v1\\advonet",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "C:/windows/win.ini",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2E%2E%2Fsecret",
    "api/%2e%2e/%2e%2e/x",
    "..%2fsecret",
    "..%5csecret",
    "%252e%252e/secret",
    "%25%32%65%25%32%65/secret",
    "api/v1%2f..%2f..%2fx",
    "%2f%2fevil.example",
    "api/v1/advonet/Beteiligte\r\nX-Injected: 1",
    "api/v1/advonet%0d%0aHost:%20evil",
    "api/v1/advonet/Beteiligte%00.json",
    "api/v1/advonet/\x00",
    "api/v1/advonet/\t",
    "api/v1/adv onet",
    "api/v1/advonet?x=1",
    "api/v1/advonet#frag",
    "@evil.example/api",
    "evil.example:80/api",
    "%",
    "%zz/api",
    "%c0%ae%c0%ae/secret",
    "..;/api/v1/Token",
    "api/v1/advonet/..;/..;/api/v1/Token",
    "api/v1/advonet/..;x/Mitarbeiter",
    "api/v1/.;/advonet/Mitarbeiter",
    "api/v1/advonet/%2e%2e%3b/Mitarbeiter",
    "api/v1/advonet/;/Mitarbeiter",
    "\uff0e\uff0e/api",  # fullwidth full stops
    "%EF%BC%8E%EF%BC%8E/api",
    "\uff41\uff50\uff49/v1/advonet/Mitarbeiter",  # fullwidth `api`: NFKC would make it ASCII
    "api/v1/advonet/\u2488\u2488",  # `⒈⒈` normalises to `1.1.`
    "%u002e%u002e/api",
    "a" * 600,
    "api/" + "x/" * 300,
    "",
    "   ",
    # outside the allow-list (DECISIONS 48): the simulator's admin API, the token endpoint, ...
    "_admin/reset",
    "_admin/calls",
    "_admin/faults",
    "api/v1/Token",
    "API/V1/TOKEN",
    "api/v1/token?x",
    "api/v1/Akten",
    "api/v1/advonetX/Mitarbeiter",
    "api/v2/advonet/Mitarbeiter",
    "Mitarbeiter",
    # ... and a leading slash, plain or encoded
    "/api/v1/advonet/Mitarbeiter",
    "%2Fapi/v1/advonet/Mitarbeiter",
    "%2fapi%2fv1%2fadvonet%2fMitarbeiter",
    "/_admin/reset",
]


def test_prefixes_match_whole_segments_without_case():
    from services.proxy import ProxyPathError, check_allowed, normalise_prefixes

    prefixes = normalise_prefixes(" /api/v1/advonet/ ,api/v1/other,, ")
    assert prefixes == ["api/v1/advonet", "api/v1/other"]
    for ok in ("api/v1/advonet/Mitarbeiter", "API/V1/ADVONET/x/y", "api/v1/advonet", "api/v1/other/1"):
        check_allowed(ok, prefixes)
    for refused in ("api/v1/advonetX/Mitarbeiter", "api/v1/Token", "api/v1", "_admin/reset", "api/v1/othe"):
        with pytest.raises(ProxyPathError):
            check_allowed(refused, prefixes)
    with pytest.raises(ProxyPathError, match="none configured"):
        check_allowed("api/v1/advonet/x", normalise_prefixes(""))


async def calls_total(sim) -> int:
    return sum(sim.core.calls.values())


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("param", ["path", "endpoint"])
async def test_hostile_paths_are_400_and_never_forwarded(service_with_advoware, param, method):
    session, sim, _ = service_with_advoware
    assert len(HOSTILE_PATHS) >= 30
    before = await calls_total(sim)
    parties = len(sim.state.parties)
    body = {"name": "x"} if method in ("POST", "PUT") else None
    for hostile in HOSTILE_PATHS:
        async with session.request(
            method, "/advoware/proxy", params={param: hostile}, json=body, headers=AUTH
        ) as r:
            answer = await r.json()
            assert r.status == 400, (hostile, r.status, answer)
            assert answer["error"] in ("invalid_path", "Endpoint required as query param"), hostile
    assert await calls_total(sim) == before  # not even a token request
    assert len(sim.state.parties) == parties  # `_admin/reset` reached nothing


async def test_allowed_prefixes_are_a_setting(tmp_path, advoware_sim):
    import aiohttp

    prefixes = "api/v1/advonet/Mitarbeiter, /api/v1/advonet/Termine"  # slashes are normalised
    engine = await start_service(tmp_path, PROXY_ALLOWED_PREFIXES=prefixes, **advoware_settings(advoware_sim))
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as s:
            async with s.get(
                "/advoware/proxy", params={"path": "api/v1/advonet/Mitarbeiter"}, headers=AUTH
            ) as r:
                assert r.status == 200
            before = sum(advoware_sim.core.calls.values())
            for refused in ("api/v1/advonet/Beteiligte/1", "api/v1/advonet/MitarbeiterX"):
                async with s.get("/advoware/proxy", params={"path": refused}, headers=AUTH) as r:
                    detail = (await r.json())["detail"]
                    assert r.status == 400 and "api/v1/advonet/Termine/" in detail, refused
            assert sum(advoware_sim.core.calls.values()) == before
    finally:
        await engine.stop()


@pytest.mark.parametrize(
    "raw", [b'{"name": NaN}', b"[Infinity]", b'{"a": -Infinity}', b"[1e999]", b"[" * 65 + b"]" * 65]
)
async def test_non_standard_json_bodies_are_400_and_never_forwarded(service_with_advoware, raw):
    session, sim, _ = service_with_advoware
    async with session.post(
        "/advoware/proxy",
        params={"path": "api/v1/advonet/Beteiligte"},
        data=raw,
        headers={**AUTH, "Content-Type": "application/json"},
    ) as r:
        answer = await r.json()
        assert r.status == 400 and answer["error"] in ("invalid_json", "json_too_deep"), answer
    assert await calls_total(sim) == 0


async def test_key_is_checked_before_the_body_is_read(service_with_advoware):
    """No key: 401 at once, although the announced body never comes (it is not waited for)."""
    session, sim, engine = service_with_advoware
    reader, writer = await asyncio.open_connection("127.0.0.1", engine.port)
    writer.write(
        b"POST /advoware/proxy?path=api/v1/advonet/Beteiligte HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 500000\r\n\r\n{"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 401"), head
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
    )
    assert json.loads(await reader.readexactly(length))["error"] == "unauthorized"
    writer.close()
    assert await calls_total(sim) == 0


async def test_missing_path_uses_old_error_text(service_with_advoware):
    session, _, _ = service_with_advoware
    async with session.get("/advoware/proxy", headers=AUTH) as r:
        assert r.status == 400 and (await r.json())["error"] == "Endpoint required as query param"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "wrong"},
        {"apikey": ""},
        {"Authorization": "Basic " + PROXY_KEY},
        {"Authorization": "Bearer nope"},
    ],
)
async def test_unauthenticated_calls_are_401_and_not_forwarded(service_with_advoware, headers):
    session, sim, _ = service_with_advoware
    async with session.get(
        "/advoware/proxy", params={"path": "api/v1/advonet/Mitarbeiter"}, headers=headers
    ) as r:
        assert r.status == 401 and (await r.json())["error"] == "unauthorized"
    assert await calls_total(sim) == 0


@pytest.mark.parametrize(
    "headers", [{"X-API-Key": PROXY_KEY}, {"apikey": "second-key"}, {"Authorization": f"Bearer {PROXY_KEY}"}]
)
async def test_every_key_header_is_accepted(service_with_advoware, headers):
    session, _, _ = service_with_advoware
    async with session.get(
        "/advoware/proxy", params={"path": "api/v1/advonet/Mitarbeiter"}, headers=headers
    ) as r:
        assert r.status == 200 and isinstance((await r.json())["result"], list)


async def test_four_methods_forward_status_and_body(service_with_advoware):
    session, sim, _ = service_with_advoware
    party = {"name": "Proxytest", "vorname": "Paula", "rechtsform": "Privatperson"}
    async with session.post(
        "/advoware/proxy", params={"path": "api/v1/advonet/Beteiligte"}, json=party, headers=AUTH
    ) as r:
        created = (await r.json())["result"]
        assert r.status in (200, 201) and created["name"] == "Proxytest"
    betnr = created["betNr"]
    async with session.get(
        "/advoware/proxy", params={"endpoint": f"api/v1/advonet/Beteiligte/{betnr}"}, headers=AUTH
    ) as r:
        assert r.status == 200 and (await r.json())["result"][0]["vorname"] == "Paula"
    async with session.put(
        "/advoware/proxy",
        params={"path": f"api/v1/advonet/Beteiligte/{betnr}"},
        json={**party, "vorname": "Paulina"},
        headers=AUTH,
    ) as r:
        assert r.status == 200 and (await r.json())["result"][0]["vorname"] == "Paulina"
    async with session.get(
        "/advoware/proxy", params={"path": f"api/v1/advonet/Beteiligte/{betnr}", "raw": "1"}, headers=AUTH
    ) as r:
        assert r.status == 200 and (await r.json())[0]["vorname"] == "Paulina"  # raw=1: unwrapped
    async with session.post(
        "/advoware/proxy",
        params={"path": f"api/v1/advonet/Beteiligte/{betnr}/Kommunikationen"},
        json={"tlf": "+49 30 1", "kommKz": 1, "bemerkung": "", "online": False},
        headers=AUTH,
    ) as r:
        komm_id = (await r.json())["result"]["id"]
    async with session.delete(
        "/advoware/proxy",
        params={"path": f"api/v1/advonet/Beteiligte/{betnr}/Kommunikationen/{komm_id}"},
        headers=AUTH,
    ) as r:
        assert r.status == 403  # Advoware's own answer (A8), passed through
    async with session.get(
        "/advoware/proxy", params={"path": "api/v1/advonet/Beteiligte/99999999"}, headers=AUTH
    ) as r:
        assert r.status == 404 and "result" in await r.json()
    counts = {(c[0], c[1]): n for c, n in sim.core.calls.items()}
    assert counts[("POST", "/api/v1/Token")] == 1  # one token for all calls


async def test_other_query_params_are_forwarded(service_with_advoware):
    session, sim, _ = service_with_advoware
    async with session.post(
        f"{sim.url}_admin/seed", json={"parties": 0, "employees": 2, "appointments_per_employee": 3}
    ) as r:
        assert r.status == 200
    async with session.get(
        "/advoware/proxy", params={"path": "api/v1/advonet/Mitarbeiter"}, headers=AUTH
    ) as r:
        employees = (await r.json())["result"]
    assert len(employees) == 2
    kuerzel = employees[0]["kuerzel"]
    async with session.get(
        "/advoware/proxy", params={"path": "api/v1/advonet/Termine", "kuerzel": kuerzel}, headers=AUTH
    ) as r:
        termine = (await r.json())["result"]
    assert termine and all(t["kuerzel"] == kuerzel for t in termine)


async def test_body_over_proxy_limit_is_413(tmp_path, advoware_sim):
    import aiohttp

    engine = await start_service(tmp_path, PROXY_MAX_BODY_BYTES="100", **advoware_settings(advoware_sim))
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as s:
            async with s.post(
                "/advoware/proxy",
                params={"path": "api/v1/advonet/Beteiligte"},
                json={"name": "x" * 200},
                headers=AUTH,
            ) as r:
                assert r.status == 413
        assert sum(advoware_sim.core.calls.values()) == 0
    finally:
        await engine.stop()


async def test_slow_upstream_is_504(tmp_path, advoware_sim):
    import aiohttp

    engine = await start_service(tmp_path, PROXY_TIMEOUT_SECONDS="0.3", **advoware_settings(advoware_sim))
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as s:
            async with s.post(
                f"{advoware_sim.url}_admin/faults",
                json={"rules": [{"route": "*Mitarbeiter*", "status": None, "latency_ms": 1500}]},
            ):
                pass
            async with s.get(
                "/advoware/proxy", params={"path": "api/v1/advonet/Mitarbeiter"}, headers=AUTH
            ) as r:
                assert r.status == 504 and (await r.json())["error"] == "upstream_timeout"
    finally:
        await engine.stop()


async def test_unreachable_upstream_is_502(tmp_path):
    import aiohttp

    from tests.fixtures.service_process import free_port

    dead = f"http://127.0.0.1:{free_port()}/"
    engine = await start_service(
        tmp_path,
        ADVOWARE_API_BASE_URL=dead,
        ADVOWARE_TOKEN_URL=dead + "api/v1/Token",
        ADVOWARE_API_KEY="a2V5",
    )
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as s:
            async with s.get(
                "/advoware/proxy", params={"path": "api/v1/advonet/Mitarbeiter"}, headers=AUTH
            ) as r:
                assert r.status == 502 and (await r.json())["error"] == "upstream_unreachable"
    finally:
        await engine.stop()


async def test_rejected_service_credentials_are_502_without_secrets(tmp_path, advoware_sim):
    import aiohttp

    settings = {**advoware_settings(advoware_sim), "ADVOWARE_PASSWORD": "wrong-password-xyz"}
    engine = await start_service(tmp_path, **settings)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as s:
            async with s.get(
                "/advoware/proxy", params={"path": "api/v1/advonet/Mitarbeiter"}, headers=AUTH
            ) as r:
                text = await r.text()
                assert r.status == 502 and (await r.json())["error"] == "upstream_auth_failed", text
        assert "wrong-password-xyz" not in text and advoware_sim.config.api_key_b64 not in text
    finally:
        await engine.stop()
