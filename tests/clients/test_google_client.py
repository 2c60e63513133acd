"""GoogleCalendarClient against the Google Calendar simulator over real HTTP: calendars, events,
etags, sync tokens (410), rate-limit answers (403/429), idempotent inserts with client ids.
Credentials are the real thing: a service-account key read by google-auth, whose signed JWT the
simulator verifies (tests/clients/test_google_auth.py covers delegation and sharing)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.clients import (
    FullSyncRequired,
    Gone,
    GoogleCalendarClient,
    InMemoryTokenCache,
    NotFound,
    OutcomeUnknown,
    PreconditionFailed,
    QuotaExceeded,
    RateLimited,
    ServiceAccount,
    SessionHolder,
    count_calls,
)
from tests.clients.conftest import FAST_RETRY, admin_post, count, make_google_client, set_faults
from tests.fixtures.google_sim import GoogleSim, google_sim  # noqa: F401

EVENTS = "/events"
EVENT = "/events/{eventId}"


@pytest.fixture
def client(google_sim: GoogleSim, holder: SessionHolder) -> GoogleCalendarClient:  # noqa: F811
    return make_google_client(google_sim, holder)


@pytest.fixture
async def calendar_id(client: GoogleCalendarClient) -> AsyncIterator[str]:
    calendar = await client.insert_calendar("SB", "Europe/Berlin")
    yield calendar["id"]


def timed(event_id: str | None, day: int, summary: str = "Termin") -> dict[str, object]:
    body: dict[str, object] = {
        "summary": summary,
        "start": {"dateTime": f"2026-03-{day:02d}T10:00:00+01:00"},
        "end": {"dateTime": f"2026-03-{day:02d}T11:00:00+01:00"},
    }
    return body | ({"id": event_id} if event_id else {})


async def test_calendars(client: GoogleCalendarClient, calendar_id: str) -> None:
    assert "@" in calendar_id
    assert (await client.get_calendar(calendar_id))["summary"] == "SB"
    assert calendar_id in [c["id"] for c in await client.list_calendars()]
    await client.delete_calendar(calendar_id)
    with pytest.raises(NotFound):
        await client.get_calendar(calendar_id)


async def test_event_lifecycle_with_etags(client: GoogleCalendarClient, calendar_id: str) -> None:
    created = await client.insert_event(calendar_id, timed("adv0000001", 2))
    assert created["id"] == "adv0000001"
    patched = await client.patch_event(calendar_id, "adv0000001", {"summary": "Neu"}, etag=created["etag"])
    assert patched["summary"] == "Neu" and patched["etag"] != created["etag"]
    with pytest.raises(PreconditionFailed):
        await client.update_event(calendar_id, "adv0000001", timed(None, 3), etag=created["etag"])
    replaced = await client.update_event(
        calendar_id, "adv0000001", timed(None, 3, "Voll"), etag=patched["etag"]
    )
    assert replaced["summary"] == "Voll"
    await client.delete_event(calendar_id, "adv0000001")
    with pytest.raises(Gone):
        await client.delete_event(calendar_id, "adv0000001")  # G8
    await client.delete_event(calendar_id, "adv0000001", missing_ok=True)


async def test_full_then_incremental_listing(client: GoogleCalendarClient, calendar_id: str) -> None:
    for day in range(1, 6):
        await client.insert_event(calendar_id, timed(f"adv000000{day}", day))
    full = await client.list_events(calendar_id, max_results=2)
    assert len(full.items) == 5 and full.next_sync_token
    await client.patch_event(calendar_id, "adv0000002", {"summary": "geändert"})
    await client.delete_event(calendar_id, "adv0000003")
    delta = await client.list_events(calendar_id, sync_token=full.next_sync_token)
    assert {e["id"]: e["status"] for e in delta.items} == {
        "adv0000002": "confirmed",
        "adv0000003": "cancelled",
    }
    assert delta.next_sync_token and delta.next_sync_token != full.next_sync_token


async def test_paging_follows_next_page_token(
    client: GoogleCalendarClient,
    calendar_id: str,
    google_sim: GoogleSim,  # noqa: F811
) -> None:
    for day in range(1, 6):
        await client.insert_event(calendar_id, timed(None, day))
    with count_calls() as calls:
        listed = await client.list_events(calendar_id, max_results=2)
    assert len(listed.items) == 5
    assert calls.count(system="google", kind="read") == 3


async def test_sync_token_with_filters_refused_before_sending(
    client: GoogleCalendarClient,
    google_sim: GoogleSim,  # noqa: F811
) -> None:
    with pytest.raises(ValueError):
        await client.list_events("x", sync_token="C1", time_min="2026-01-01T00:00:00Z")
    assert google_sim.total_calls() == 0


async def test_invalid_sync_token_raises_full_sync_required(
    client: GoogleCalendarClient, calendar_id: str
) -> None:
    with pytest.raises(FullSyncRequired) as info:
        await client.list_events(calendar_id, sync_token="Cbm90LWEtdG9rZW4")
    assert isinstance(info.value, Gone) and info.value.reason == "fullSyncRequired"


@pytest.mark.parametrize("kind", ["403", "userRateLimitExceeded", "429"])
async def test_rate_limit_answers_are_retried(
    client: GoogleCalendarClient,
    calendar_id: str,
    google_sim: GoogleSim,  # noqa: F811
    kind: str,
) -> None:
    await admin_post(google_sim.root, "/_admin/rate-limit", {"count": 2, "kind": kind})
    with count_calls() as calls:
        created = await client.insert_event(calendar_id, timed(None, 4))
    assert created["id"]
    assert calls.count(system="google", kind="write") == 3  # 2 refused, then created once
    assert len((await client.list_events(calendar_id)).items) == 1


async def test_quota_exceeded_is_not_retried(
    client: GoogleCalendarClient,
    calendar_id: str,
    google_sim: GoogleSim,  # noqa: F811
) -> None:
    await admin_post(google_sim.root, "/_admin/rate-limit", {"count": 3, "kind": "quotaExceeded"})
    with count_calls() as calls, pytest.raises(QuotaExceeded) as info:
        await client.list_events(calendar_id)
    assert not isinstance(info.value, RateLimited) and info.value.status == 403
    assert calls.count() == 1


async def test_insert_with_client_id_survives_lost_response(
    client: GoogleCalendarClient,
    calendar_id: str,
    google_sim: GoogleSim,  # noqa: F811
) -> None:
    await set_faults(
        google_sim.root,
        {"method": "POST", "route": "*" + EVENTS, "status": 503, "count": 1, "after_write": True},
    )
    created = await client.insert_event(calendar_id, timed("adv0000009", 9, "Einmal"))
    assert created["id"] == "adv0000009" and created["summary"] == "Einmal"
    calls = google_sim.calls()
    assert count(calls, "POST", EVENTS, 503) == 1 and count(calls, "POST", EVENTS, 409) == 1
    assert count(calls, "GET", EVENT, 200) == 1
    assert len((await client.list_events(calendar_id)).items) == 1


async def test_first_attempt_conflict_adopts_only_on_request(
    client: GoogleCalendarClient, calendar_id: str
) -> None:
    from services.clients import Conflict

    await client.insert_event(calendar_id, timed("adv0000007", 7))
    with pytest.raises(Conflict):
        await client.insert_event(calendar_id, timed("adv0000007", 7))
    adopted = await client.insert_event(calendar_id, timed("adv0000007", 7), adopt_existing=True)
    assert adopted["id"] == "adv0000007"


async def test_insert_without_id_after_503_is_outcome_unknown(
    client: GoogleCalendarClient,
    calendar_id: str,
    google_sim: GoogleSim,  # noqa: F811
) -> None:
    await set_faults(
        google_sim.root,
        {"method": "POST", "route": "*" + EVENTS, "status": 503, "count": 1, "after_write": True},
    )
    with pytest.raises(OutcomeUnknown):
        await client.insert_event(calendar_id, timed(None, 5))
    assert count(google_sim.calls(), "POST", EVENTS) == 1


async def test_get_retried_on_503(
    client: GoogleCalendarClient,
    calendar_id: str,
    google_sim: GoogleSim,  # noqa: F811
) -> None:
    await client.insert_event(calendar_id, timed("adv0000008", 8))
    await set_faults(google_sim.root, {"method": "GET", "route": "*" + EVENT, "status": 503, "count": 2})
    assert (await client.get_event(calendar_id, "adv0000008"))["id"] == "adv0000008"
    assert count(google_sim.calls(), "GET", EVENT) == 3


async def test_token_fetched_once_and_refreshed_after_401(
    client: GoogleCalendarClient,
    google_sim: GoogleSim,  # noqa: F811
) -> None:
    for _ in range(5):
        await client.list_calendars()
    assert count(google_sim.calls(), "POST", "/token") == 1
    await admin_post(google_sim.root, "/_admin/expire-tokens", {})
    with count_calls() as calls:
        await client.list_calendars()
    assert count(google_sim.calls(), "POST", "/token") == 2
    assert [(r.route, r.status, r.data) for r in calls.records] == [
        ("users/me/calendarList", "401", True),
        ("token", "200", False),
        ("users/me/calendarList", "200", True),
    ]


async def test_every_event_write_sends_no_updates_and_no_attendees(
    client: GoogleCalendarClient,
    calendar_id: str,
    google_sim: GoogleSim,  # noqa: F811
) -> None:
    await client.insert_event(calendar_id, timed("adv0000011", 11))
    await client.patch_event(calendar_id, "adv0000011", {"summary": "neu"})
    await client.update_event(calendar_id, "adv0000011", timed(None, 12))
    await client.delete_event(calendar_id, "adv0000011")
    writes = [(w.method, w.send_updates) for w in google_sim.state.event_writes]
    assert writes == [("POST", "none"), ("PATCH", "none"), ("PUT", "none"), ("DELETE", "none")]
    with pytest.raises(ValueError):
        await client.insert_event(calendar_id, timed("adv0000012", 12) | {"attendees": [{"email": "a@b.de"}]})
    with pytest.raises(ValueError):
        await client.patch_event(calendar_id, "adv0000011", {"attendees": []})
    assert len(google_sim.state.event_writes) == 4


async def test_instances_of_a_series(client: GoogleCalendarClient, calendar_id: str) -> None:
    series = {
        "id": "adv0000020",
        "summary": "Serie",
        "start": {"dateTime": "2026-03-23T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-23T11:00:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
    }
    await client.insert_event(calendar_id, series)
    instances = await client.list_instances(calendar_id, "adv0000020", max_results=2)
    # 10:00 local on both sides of the last Sunday of March: +01:00, then +02:00.
    assert [i["start"]["dateTime"] for i in instances] == [
        "2026-03-23T10:00:00+01:00",
        "2026-03-30T10:00:00+02:00",
        "2026-04-06T10:00:00+02:00",
    ]
    await client.delete_event(calendar_id, instances[1]["id"])
    kept = await client.list_instances(calendar_id, "adv0000020", show_deleted=True)
    assert [i["status"] for i in kept] == ["confirmed", "cancelled", "confirmed"]
    masters = await client.list_events(calendar_id, single_events=False, show_deleted=True)
    assert [e["id"] for e in masters.items] == ["adv0000020", instances[1]["id"]]
