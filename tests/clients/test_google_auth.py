"""Google credentials over real HTTP: google-auth signs the service-account JWT, the simulator
verifies it; delegation per subject (owner and employee mode), calendar sharing by ACL, refused
grants, the token call under our retry policy and call counting, `from_settings`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from config import Settings
from services.clients import (
    BadRequest,
    GoogleCalendarClient,
    InMemoryTokenCache,
    ServiceAccount,
    SessionHolder,
    Unauthorized,
    count_calls,
)
from tests.clients.conftest import FAST_RETRY, count, make_google_client, set_faults
from tests.fixtures.google_sim import OWNER, GoogleSim, google_sim, sim_key_info  # noqa: F401

SB = "sb@kanzlei.example"


async def test_owner_mode_shares_the_calendar_with_its_employee(
    google_sim: GoogleSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    owner = make_google_client(google_sim, holder, subject=OWNER)
    employee = owner.delegate(SB)
    calendar = await owner.insert_calendar("SB", "Europe/Berlin")
    assert calendar["id"] not in [c["id"] for c in await employee.list_calendars()]
    rule = await owner.insert_acl(calendar["id"], SB)
    assert rule["id"] == f"user:{SB}" and rule["role"] == "writer"
    await owner.insert_acl(calendar["id"], SB)  # sharing again changes nothing
    assert [(r["id"], r["role"]) for r in await owner.list_acl(calendar["id"])] == [
        (f"user:{OWNER}", "owner"),
        (f"user:{SB}", "writer"),
    ]
    (seen,) = [c for c in await employee.list_calendars() if c["id"] == calendar["id"]]
    assert seen["accessRole"] == "writer"
    body = {
        "id": "adv0000100",
        "start": {"dateTime": "2026-03-02T10:00:00+01:00"},
        "end": {"dateTime": "2026-03-02T11:00:00+01:00"},
    }
    await employee.insert_event(calendar["id"], body)
    assert (await owner.get_event(calendar["id"], "adv0000100"))["id"] == "adv0000100"
    assert await owner.find_calendars("SB") == [
        c for c in await owner.list_calendars() if c["summary"] == "SB"
    ]
    assert await employee.find_calendars("SB") == []  # shared, not owned
    # One token per principal, each fetched once.
    principals = sorted(t.principal for t in google_sim.state.issued_tokens.values())
    assert principals == sorted([OWNER, SB, google_sim.config.service_account_email])  # + the fixture's own


async def test_employee_mode_calendar_lives_in_the_employees_account(
    google_sim: GoogleSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    service = make_google_client(google_sim, holder)
    employee = service.delegate("SB@Kanzlei.example")
    calendar = await employee.insert_calendar("SB", "Europe/Berlin")
    stored = google_sim.state.calendar(calendar["id"])
    assert stored is not None and stored.owner == SB
    (seen,) = await employee.list_calendars()
    assert seen["accessRole"] == "owner"
    assert await service.delegate(OWNER).list_calendars() == []


async def test_unknown_subject_is_refused_without_retries(
    google_sim: GoogleSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    client = make_google_client(google_sim, holder, subject="weg@kanzlei.example")
    with count_calls() as calls, pytest.raises(Unauthorized) as info:
        await client.list_calendars()
    assert info.value.reason == "invalid_grant" and info.value.status == 400
    assert calls.count(include_non_data=True) == 1  # the token request only; no data call made
    assert "weg@" not in str(info.value)


async def test_a_key_the_simulator_does_not_know_is_refused(
    google_sim: GoogleSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    stranger = ServiceAccount.from_info(sim_key_info("stranger"), token_uri=google_sim.token_url)
    client = make_google_client(google_sim, holder, service_account=stranger)
    with pytest.raises(Unauthorized) as info:
        await client.list_calendars()
    assert info.value.reason == "invalid_grant"


async def test_token_endpoint_errors_follow_our_retry_policy(
    google_sim: GoogleSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    await set_faults(google_sim.root, {"method": "POST", "route": "/token", "status": 503, "count": 2})
    client = make_google_client(google_sim, holder)
    started = time.monotonic()
    with count_calls() as calls:
        await client.list_calendars()
    # google-auth's own loop would sleep 1 s + 2 s; ours retries within milliseconds.
    assert time.monotonic() - started < 2.5
    assert count(google_sim.calls(), "POST", "/token") == 3
    assert [r.status for r in calls.records if not r.data] == ["503", "503", "200"]
    assert calls.count(system="google") == 1  # token calls are not data calls (DECISIONS 11)


async def test_token_endpoint_outage_gives_up_after_max_tries(
    google_sim: GoogleSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    await set_faults(google_sim.root, {"method": "POST", "route": "/token", "status": 503})
    client = make_google_client(google_sim, holder)
    from services.clients import ServerError

    with pytest.raises(ServerError):
        await client.list_calendars()
    assert count(google_sim.calls(), "POST", "/token") == FAST_RETRY.max_tries


def test_key_file_problems_are_clear_and_reveal_no_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        ServiceAccount.from_file(tmp_path / "missing.json")
    (tmp_path / "garbage.json").write_text("{nope", "utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        ServiceAccount.from_file(tmp_path / "garbage.json")
    (tmp_path / "user.json").write_text(json.dumps({"type": "authorized_user"}), "utf-8")
    with pytest.raises(ValueError, match="not a service-account key"):
        ServiceAccount.from_file(tmp_path / "user.json")
    broken = {
        **sim_key_info(),
        "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    }
    (tmp_path / "broken.json").write_text(json.dumps(broken), "utf-8")
    with pytest.raises(ValueError) as info:
        ServiceAccount.from_file(tmp_path / "broken.json")
    assert "AAAA" not in str(info.value)


async def test_from_settings_owner_mode(
    google_sim: GoogleSim,  # noqa: F811
    holder: SessionHolder,
    tmp_path: Path,
) -> None:
    key = google_sim.key_file(tmp_path)
    settings = Settings(
        _env_file=None,
        GOOGLE_API_BASE_URL=google_sim.url,
        GOOGLE_TOKEN_URL=google_sim.token_url,
        GOOGLE_SERVICE_ACCOUNT_FILE=str(key),
        GOOGLE_CALENDAR_OWNER=OWNER,
    )  # type: ignore[call-arg]
    caches: list[str] = []

    def cache_for(principal: str) -> InMemoryTokenCache:
        caches.append(principal)
        return InMemoryTokenCache()

    client = GoogleCalendarClient.from_settings(settings, holder, cache_for, retry=FAST_RETRY)
    assert client.subject == OWNER and client.service_account.email == google_sim.key_info["client_email"]
    created = await client.insert_calendar("AI", "Europe/Berlin")
    assert google_sim.state.calendar(created["id"]).owner == OWNER  # type: ignore[union-attr]
    await client.delegate(SB).list_calendars()
    assert caches == [OWNER, SB]


def test_from_settings_needs_a_key_file(holder: SessionHolder) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="GOOGLE_SERVICE_ACCOUNT_FILE"):
        GoogleCalendarClient.from_settings(settings, holder, lambda _p: InMemoryTokenCache())


async def test_bad_request_for_a_refused_scope(
    google_sim: GoogleSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    # A key whose grants the simulator refuses as a malformed request (empty scope).
    account = ServiceAccount.from_info(google_sim.key_info, token_uri=google_sim.token_url)
    account._base = account._base.with_scopes([])  # no scope at all
    client = make_google_client(google_sim, holder, service_account=account)
    with pytest.raises(BadRequest) as info:
        await client.list_calendars()
    assert info.value.reason == "invalid_scope"
