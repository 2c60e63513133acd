"""The small pure parts of the clients: route templates, token signing, EspoCRM HMAC and
`where` encoding, token TTLs and the token bucket. Signatures are checked against the
simulators' own, independently written verification code."""

from __future__ import annotations

import asyncio
import base64

import pytest
from pydantic import SecretStr

from services.clients import InMemoryTokenCache, TokenBucket, advoware_paths, google_paths
from services.clients.advoware_auth import AdvowareCredentials, token_request_body, utc_timestamp
from services.clients.espocrm import hmac_header, nested_where
from services.clients.routes import template_for
from services.clients.tokens import cache_ttl
from simulators.advoware import AdvowareSimConfig
from tests.fixtures.advoware_sim import sign_token_request


def test_route_path_encodes_each_segment() -> None:
    path = google_paths.EVENT.path(calendar_id="abc@group.calendar.google.com", event_id="a/b")
    assert path == "calendars/abc%40group.calendar.google.com/events/a%2Fb"


def test_route_partial_keeps_other_placeholders() -> None:
    from services.clients import espocrm_paths

    assert espocrm_paths.ENTITY.partial(entity="CBeteiligte").template == "CBeteiligte/{id}"


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("api/v1/advonet/Beteiligte/17", "api/v1/advonet/Beteiligte/{betnr}"),
        ("/api/v1/advonet/Beteiligte/17/Adressen/", "api/v1/advonet/Beteiligte/{betnr}/Adressen"),
        ("api/v1/advonet/Beteiligte", "api/v1/advonet/Beteiligte"),
        ("api/v1/advonet/Beteiligte/1/2/3", "(other)"),
    ],
)
def test_template_for_concrete_paths(path: str, template: str) -> None:
    assert template_for(path, advoware_paths.ALL, advoware_paths.PROXY_FALLBACK) == template


def test_token_body_matches_the_simulators_signature() -> None:
    cfg = AdvowareSimConfig()
    creds = AdvowareCredentials(
        cfg.app_id, SecretStr(cfg.api_key_b64), cfg.kanzlei, cfg.database, cfg.user, SecretStr(cfg.password)
    )
    ours = token_request_body(creds, nonce="n-1", timestamp="2021-01-29T14:04:26.795554Z")
    assert ours == sign_token_request(cfg, nonce="n-1", timestamp="2021-01-29T14:04:26.795554Z")


def test_token_body_uses_fresh_nonce_and_utc_z_timestamp() -> None:
    creds = AdvowareCredentials(
        "a", SecretStr(base64.b64encode(b"k").decode()), "K", "D", "U", SecretStr("p")
    )
    first, second = token_request_body(creds), token_request_body(creds)
    assert first["Nonce"] != second["Nonce"]
    assert str(first["RequestTimeStamp"]).endswith("Z") and utc_timestamp().endswith("Z")


def test_espocrm_hmac_matches_the_simulator() -> None:
    from simulators.espocrm.auth import hmac_header as sim_header

    ours = hmac_header("key", "secret", "GET", "CBeteiligte/abc")
    assert ours == sim_header("key", "secret", "GET", "CBeteiligte/abc")
    assert base64.b64decode(ours).startswith(b"key:")


def test_nested_where_flattens_lists_and_groups() -> None:
    where = [
        {"type": "in", "attribute": "syncStatus", "value": ["dirty", "failed"]},
        {"type": "or", "value": [{"type": "isNull", "attribute": "betnr"}]},
        {"type": "equals", "attribute": "flag", "value": True},
    ]
    assert nested_where(where) == {
        "where[0][type]": "in",
        "where[0][attribute]": "syncStatus",
        "where[0][value][0]": "dirty",
        "where[0][value][1]": "failed",
        "where[1][type]": "or",
        "where[1][value][0][type]": "isNull",
        "where[1][value][0][attribute]": "betnr",
        "where[2][type]": "equals",
        "where[2][attribute]": "flag",
        "where[2][value]": "true",
    }


@pytest.mark.parametrize(
    ("reported", "configured", "expected"),
    [(3300, 3300, 3180), (None, 3300, 3180), (3600, 3300, 3180), (10, 3300, 5)],
)
def test_cache_ttl_keeps_a_margin(reported: float | None, configured: float, expected: float) -> None:
    assert cache_ttl(reported, configured, 120) == expected


async def test_in_memory_cache_expires() -> None:
    now = [100.0]
    cache = InMemoryTokenCache(clock=lambda: now[0])
    await cache.set("t", 10)
    assert await cache.get() == "t"
    now[0] = 111.0
    assert await cache.get() is None


async def test_token_bucket_paces_after_burst() -> None:
    bucket = TokenBucket(rate=50, burst=5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(5):
        await bucket.acquire()
    assert loop.time() - started < 0.05  # the burst passes at once
    for _ in range(10):
        await bucket.acquire()
    assert loop.time() - started >= 10 / 50 * 0.8


async def test_token_bucket_disabled_with_zero_rate() -> None:
    bucket = TokenBucket(rate=0)
    for _ in range(1000):
        await bucket.acquire()
