"""The Google simulator's auth and sharing over real HTTP: the token endpoint verifies the
service-account JWT (signature against the configured public key, iss, aud, scope, exp, a known
`sub`), the API accepts only tokens it issued and acts for their principal, and calendars are
visible to their owner and to whoever an ACL rule shares them with (SYNC_RULES §5, DECISIONS 45)."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from tests.fixtures.google_sim import (
    JWT_GRANT,
    OWNER,
    GoogleSim,
    google_sim,
    make_assertion,
    sim_key_info,
)

__all__ = ["google_sim"]

SB = "sb@kanzlei.example"
BERLIN = "Europe/Berlin"


async def grant(sim: GoogleSim, assertion: str, grant_type: str = JWT_GRANT) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        form = {"grant_type": grant_type, "assertion": assertion}
        async with session.post(sim.token_url, data=form) as r:
            return r.status, await r.json()


async def call(sim: GoogleSim, token: str | None, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.request(method, sim.url + path, **kwargs) as r:
            return r.status, await r.json() if r.content_type == "application/json" else None


def reason(body: dict[str, Any]) -> str:
    return str(body["error"]["errors"][0]["reason"])


async def test_signed_grant_issues_a_token_the_api_accepts(google_sim: GoogleSim) -> None:
    status, body = await grant(google_sim, make_assertion(google_sim.key_info, SB))
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert (await call(google_sim, body["access_token"], "GET", "/users/me/calendarList"))[0] == 200
    assert google_sim.state.issued_tokens[body["access_token"]].principal == SB


@pytest.mark.parametrize(
    ("case", "claims", "error"),
    [
        ("audience", {"aud": "https://example.org/token"}, "invalid_grant"),
        ("expired", {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, "invalid_grant"),
        ("too long", {"exp": int(time.time()) + 7200}, "invalid_grant"),
        ("no exp", {"exp": None}, "invalid_grant"),
        ("no scope", {"scope": None}, "invalid_scope"),
        ("foreign scope", {"scope": "https://www.googleapis.com/auth/drive"}, "unauthorized_client"),
        ("unknown user", {"sub": "nobody@kanzlei.example"}, "invalid_grant"),
        ("unknown issuer", {"iss": "other@evil.iam.gserviceaccount.com"}, "invalid_grant"),
    ],
)
async def test_grant_claims_are_checked(
    google_sim: GoogleSim, case: str, claims: dict[str, Any], error: str
) -> None:
    status, body = await grant(google_sim, make_assertion(google_sim.key_info, **claims))
    assert status in (400, 401) and body["error"] == error, case
    assert not google_sim.state.issued_tokens or all(
        t.principal != "nobody@kanzlei.example" for t in google_sim.state.issued_tokens.values()
    )


async def test_jwt_signed_with_another_key_is_refused(google_sim: GoogleSim) -> None:
    # Same service-account address and key id, but another private key: only the signature differs.
    impostor = {**sim_key_info("impostor"), "client_email": google_sim.key_info["client_email"]}
    impostor["private_key_id"] = google_sim.key_info["private_key_id"]
    status, body = await grant(google_sim, make_assertion(impostor))
    assert status == 400 and body == {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    tampered = make_assertion(google_sim.key_info).split(".")
    tampered[1] = make_assertion(google_sim.key_info, SB).split(".")[1]  # claims swapped after signing
    assert (await grant(google_sim, ".".join(tampered)))[1]["error"] == "invalid_grant"


@pytest.mark.parametrize("assertion", ["", "a.b.c", "not-a-jwt", "e30.e30.e30"])
async def test_malformed_assertions_are_refused(google_sim: GoogleSim, assertion: str) -> None:
    status, body = await grant(google_sim, assertion)
    assert status == 400 and body["error"] in ("invalid_request", "invalid_grant")


async def test_other_grant_types_are_refused(google_sim: GoogleSim) -> None:
    status, body = await grant(google_sim, make_assertion(google_sim.key_info), grant_type="password")
    assert status == 400 and body["error"] == "unsupported_grant_type"


async def test_api_refuses_tokens_it_did_not_issue_and_expired_ones(google_sim: GoogleSim) -> None:
    status, body = await call(google_sim, "ya29.made-up", "GET", "/users/me/calendarList")
    assert status == 401 and reason(body) == "authError"
    token = await google_sim.token_for(SB)
    assert (await call(google_sim, token, "GET", "/users/me/calendarList"))[0] == 200
    async with aiohttp.ClientSession() as session:
        async with session.post(google_sim.root + "/_admin/expire-tokens") as r:
            assert (await r.json())["expired"] >= 1
    assert (await call(google_sim, token, "GET", "/users/me/calendarList"))[0] == 401


async def test_users_can_be_added_by_admin(google_sim: GoogleSim) -> None:
    new = "neu@kanzlei.example"
    assert (await grant(google_sim, make_assertion(google_sim.key_info, new)))[0] == 400
    async with aiohttp.ClientSession() as session:
        async with session.post(
            google_sim.root + "/_admin/users", json={"users": ["Neu@Kanzlei.example"]}
        ) as r:
            assert new in (await r.json())["users"]
    assert (await grant(google_sim, make_assertion(google_sim.key_info, new)))[0] == 200


# -- owner mode: calendars in the owner's account, shared by ACL ------------------------------


async def owner_calendar(sim: GoogleSim, owner_token: str) -> str:
    status, body = await call(
        sim, owner_token, "POST", "/calendars", json={"summary": "SB", "timeZone": BERLIN}
    )
    assert status == 200, body
    return str(body["id"])


def event_body(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": "Termin",
        "start": {"dateTime": "2026-03-02T10:00:00", "timeZone": BERLIN},
        "end": {"dateTime": "2026-03-02T11:00:00", "timeZone": BERLIN},
    }


async def test_owner_calendar_is_invisible_to_the_employee_until_shared(google_sim: GoogleSim) -> None:
    owner, sb = await google_sim.token_for(OWNER), await google_sim.token_for(SB)
    cal = await owner_calendar(google_sim, owner)
    assert (await call(google_sim, sb, "GET", f"/calendars/{cal}"))[0] == 404
    assert (await call(google_sim, sb, "GET", f"/calendars/{cal}/events"))[0] == 404
    assert cal not in [
        c["id"] for c in (await call(google_sim, sb, "GET", "/users/me/calendarList"))[1]["items"]
    ]
    rule = {"role": "writer", "scope": {"type": "user", "value": SB}}
    status, created = await call(google_sim, owner, "POST", f"/calendars/{cal}/acl", json=rule)
    assert status == 200 and created["id"] == f"user:{SB}" and created["role"] == "writer"
    # Sharing again is harmless: one rule, same role.
    assert (await call(google_sim, owner, "POST", f"/calendars/{cal}/acl", json=rule))[0] == 200
    status, acl = await call(google_sim, owner, "GET", f"/calendars/{cal}/acl")
    assert [(r["id"], r["role"]) for r in acl["items"]] == [
        (f"user:{OWNER}", "owner"),
        (f"user:{SB}", "writer"),
    ]
    (entry,) = [
        c for c in (await call(google_sim, sb, "GET", "/users/me/calendarList"))[1]["items"] if c["id"] == cal
    ]
    assert entry["accessRole"] == "writer"
    # The employee sees and edits events, reads the ACL, but may not change it or the calendar.
    assert (await call(google_sim, sb, "POST", f"/calendars/{cal}/events", json=event_body("adv1001")))[
        0
    ] == 200
    assert (await call(google_sim, owner, "GET", f"/calendars/{cal}/events/adv1001"))[1][
        "summary"
    ] == "Termin"
    assert (await call(google_sim, sb, "GET", f"/calendars/{cal}/acl"))[0] == 200
    status, body = await call(google_sim, sb, "POST", f"/calendars/{cal}/acl", json=rule)
    assert status == 403 and reason(body) == "requiredAccessLevel"
    assert (await call(google_sim, sb, "DELETE", f"/calendars/{cal}"))[0] == 403
    # Unsharing hides it again.
    assert (await call(google_sim, owner, "DELETE", f"/calendars/{cal}/acl/user:{SB}"))[0] == 204
    assert (await call(google_sim, sb, "GET", f"/calendars/{cal}/events"))[0] == 404


async def test_reader_may_read_but_not_write(google_sim: GoogleSim) -> None:
    owner, sb = await google_sim.token_for(OWNER), await google_sim.token_for(SB)
    cal = await owner_calendar(google_sim, owner)
    rule = {"role": "reader", "scope": {"type": "user", "value": SB}}
    assert (await call(google_sim, owner, "POST", f"/calendars/{cal}/acl", json=rule))[0] == 200
    assert (await call(google_sim, sb, "GET", f"/calendars/{cal}/events"))[0] == 200
    status, body = await call(google_sim, sb, "POST", f"/calendars/{cal}/events", json=event_body("adv1002"))
    assert status == 403 and reason(body) == "requiredAccessLevel"


@pytest.mark.parametrize(
    "rule",
    [
        {"role": "admin", "scope": {"type": "user", "value": SB}},
        {"role": "writer", "scope": {"type": "user"}},
        {"role": "writer", "scope": {"type": "user", "value": "not an address"}},
        {"role": "writer", "scope": {"type": "planet", "value": SB}},
        {"role": "writer", "scope": {"type": "user", "value": OWNER}},
    ],
)
async def test_invalid_acl_rules_are_400(google_sim: GoogleSim, rule: dict[str, Any]) -> None:
    owner = await google_sim.token_for(OWNER)
    cal = await owner_calendar(google_sim, owner)
    assert (await call(google_sim, owner, "POST", f"/calendars/{cal}/acl", json=rule))[0] == 400


# -- employee mode: the calendar lives in the employee's own account -----------------------------


async def test_employee_calendar_belongs_to_the_employee(google_sim: GoogleSim) -> None:
    owner, sb = await google_sim.token_for(OWNER), await google_sim.token_for(SB)
    cal = await owner_calendar(google_sim, sb)
    (entry,) = [
        c for c in (await call(google_sim, sb, "GET", "/users/me/calendarList"))[1]["items"] if c["id"] == cal
    ]
    assert entry["accessRole"] == "owner"
    assert (await call(google_sim, owner, "GET", f"/calendars/{cal}"))[0] == 404
    await call(google_sim, sb, "POST", f"/calendars/{cal}/events", json=event_body("adv1003"))
    status, event = await call(google_sim, sb, "GET", f"/calendars/{cal}/events/adv1003")
    assert status == 200 and event["creator"]["email"] == SB
    # The service account acting as itself sees neither calendar.
    own = (
        await call(
            google_sim, google_sim.headers["Authorization"].split()[1], "GET", "/users/me/calendarList"
        )
    )[1]
    assert own["items"] == []


async def test_state_dump_keeps_owner_acl_and_users(google_sim: GoogleSim) -> None:
    owner = await google_sim.token_for(OWNER)
    cal = await owner_calendar(google_sim, owner)
    rule = {"role": "writer", "scope": {"type": "user", "value": SB}}
    await call(google_sim, owner, "POST", f"/calendars/{cal}/acl", json=rule)
    dumped = google_sim.state.dump()
    google_sim.state.reset()
    google_sim.state.load(dumped)
    restored = google_sim.state.calendar(cal)
    assert restored is not None and restored.owner == OWNER and f"user:{SB}" in restored.acl
    assert SB in google_sim.state.users
