"""No secret (proxy keys, Advoware password / HMAC key / access tokens, webhook secrets and
signatures) and no personal data from query strings or bodies appears in any log record of the
proxy and webhook steps — neither in the formatted message nor in an extra field — nor in a
response (SYNC_RULES §6, DECISIONS 14, 17)."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import pytest

from engine.logs import JsonFormatter
from tests.steps.conftest import PROXY_KEY, advoware_settings, start_service
from tests.steps.test_beteiligte_webhook import sign_legacy, sign_new

pytestmark = pytest.mark.timeout(60)
PERSONAL = ("Geheimname", "Vertraulich", "1961-02-03", "geheim@example.org", "DE02120300000000202051")
WEBHOOK_SECRET = "default-hook-secret"
MAP_SECRET = "per-webhook-secret"


def logged_text(records: list[logging.LogRecord]) -> str:
    """Every record as message + every attribute (extra fields included) + its JSON line."""
    formatter = JsonFormatter()
    parts: list[str] = []
    for r in records:
        parts.append(r.getMessage())
        parts.extend(f"{k}={v!r}" for k, v in vars(r).items() if k not in ("msg", "args"))
        parts.append(repr(r.args))
        parts.append(formatter.format(r))
    return "\n".join(parts)


def assert_clean(text: str, secrets: list[str], personal: bool = True) -> None:
    for secret in [*secrets, *(PERSONAL if personal else ())]:
        assert secret not in text, secret


async def call(session: aiohttp.ClientSession, method: str, **kwargs: Any) -> tuple[int, str]:
    """Status and everything the caller sees: body and headers."""
    async with session.request(method, "/advoware/proxy", **kwargs) as r:
        return r.status, json.dumps(dict(r.headers)) + "\n" + await r.text()


async def test_proxy_flows_leak_no_secret_or_personal_data(tmp_path, advoware_sim, caplog):
    caplog.set_level(logging.DEBUG)
    engine = await start_service(tmp_path, **advoware_settings(advoware_sim))
    answers: list[str] = []
    party = {"name": "Geheimname", "vorname": "Vertraulich", "geburtsdatum": "1961-02-03"}
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as s:
            path = {"path": "api/v1/advonet/Beteiligte"}
            bearer = {"Authorization": f"Bearer {PROXY_KEY}"}
            for headers in ({}, {"X-API-Key": PROXY_KEY + "x"}, {"apikey": "second-key "}, bearer):
                answers.append((await call(s, "GET", params=path, headers=headers))[1])
            status, body = await call(s, "POST", params=path, json=party, headers={"X-API-Key": PROXY_KEY})
            assert status in (200, 201)
            answers.append(body)
            betnr = json.loads(body.split("\n", 1)[1])["result"]["betNr"]
            search = {**path, "name": "Geheimname", "vorname": "Vertraulich"}
            answers.append((await call(s, "GET", params=search, headers={"apikey": "second-key"}))[1])
            async with s.post(f"{advoware_sim.url}_admin/expire-tokens", json={}) as r:
                assert r.status == 200  # the next call gets a 401 and refreshes the token
            one = {"path": f"api/v1/advonet/Beteiligte/{betnr}", "email": "geheim@example.org"}
            answers.append((await call(s, "GET", params=one, headers=bearer))[1])
            hostile = {"path": "../Geheimname", "iban": "DE02120300000000202051"}
            answers.append((await call(s, "GET", params=hostile, headers=bearer))[1])
            async with s.post(
                f"{advoware_sim.url}_admin/faults",
                json={"rules": [{"route": "*Beteiligte*", "status": 500, "count": 1}]},
            ) as r:
                assert r.status == 200
            answers.append((await call(s, "PUT", params=one, json=party, headers=bearer))[1])
    finally:
        await engine.stop()
    tokens = list(advoware_sim.state.tokens._tokens)
    assert len(tokens) == 2  # one refresh happened
    cfg = advoware_sim.config
    secrets = [PROXY_KEY, "second-key", cfg.api_key_b64, cfg.password, *tokens]
    assert any(r.getMessage() == "proxied" for r in caplog.records)
    assert_clean(logged_text(caplog.records), secrets)
    # Answers carry Advoware's data to an authorised caller, but never a secret.
    assert_clean("\n".join(answers), secrets, personal=False)


async def test_webhook_flows_leak_no_secret_or_personal_data(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secrets_map: Any = {"wh-map": MAP_SECRET}
    engine = await start_service(
        tmp_path, ESPOCRM_WEBHOOK_SECRET=WEBHOOK_SECRET, ESPOCRM_WEBHOOK_SECRETS=secrets_map
    )
    signatures: list[str] = []
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as s:
            body = json.dumps(
                [
                    {
                        "id": "p1",
                        "lastName": "Geheimname",
                        "firstName": "Vertraulich",
                        "emailAddress": PERSONAL[3],
                    }
                ]
            ).encode()
            cases = [
                ({"Signature": sign_new("wh-any", WEBHOOK_SECRET, body)}, 200),
                ({"X-Signature": sign_legacy("wh-map", MAP_SECRET, body)}, 200),
                ({"Signature": sign_new("wh-map", WEBHOOK_SECRET, body)}, 401),  # map wins for its id
                ({"Signature": sign_new("wh-any", "wrong", body)}, 401),
                ({"Signature": ""}, 401),
            ]
            for headers, expected in cases:
                signatures.extend(headers.values())
                async with s.post(
                    "/vmh/webhook/beteiligte/update",
                    data=body,
                    headers={"Content-Type": "application/json", **headers},
                ) as r:
                    answer = await r.text()
                    assert r.status == expected, (headers, answer)
                    assert_clean(answer, [WEBHOOK_SECRET, MAP_SECRET, *filter(None, signatures)])
            bad = json.dumps([{"id": "Geheimname Vertraulich"}]).encode()
            async with s.post(
                "/vmh/webhook/beteiligte/update",
                data=bad,
                headers={"Content-Type": "application/json", "Signature": sign_new("x", WEBHOOK_SECRET, bad)},
            ) as r:
                assert r.status == 422
                assert "Geheimname" not in await r.text()  # the 422 names the field, not the value
    finally:
        await engine.stop()
    assert any(r.getMessage() == "webhook received" for r in caplog.records)
    assert_clean(logged_text(caplog.records), [WEBHOOK_SECRET, MAP_SECRET, *filter(None, signatures)])
